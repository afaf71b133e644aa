"""The Gradio app's UI package; app.py is its entry point. docs/ARCHITECTURE.md maps it.

config (settings) · errors (the app's messages) · inputs (raw request values) · files (files
handed to Gradio) · models (the models offered) · dataset (the test set browsed) · api (the
named endpoints) · views, figures, pictures (what is shown, no Gradio) · explain_tab and
explain_wiring (its event chains), compare_panel, trust_panel, downloads, first_visit,
testset_tab, strategies_panel (layout and events per panel) · page (the whole page) ·
gradio_fixes (every Gradio workaround) · theme (CSS, theme, launch options).
"""
