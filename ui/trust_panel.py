"""The section under the examples: how far to trust the maps (sanity verdict, ranking table,
deletion/insertion curves), the methods' agreement, and the downloads. It follows the details
JSON: shown with a result, hidden without one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from . import downloads as downloads_panel
from .config import INSTANT
from .downloads import Downloads
from .figures import agreement_figure, curves_figure
from .views import TRUST_HEADERS, TRUST_TYPES, trust_help, trust_note, trust_rows


@dataclass
class TrustPanel:
    analysis: gr.Column
    note: gr.Markdown
    table: gr.Dataframe
    table_help: gr.Markdown
    curves: gr.Plot
    agreement: gr.Plot
    downloads: Downloads

    @property
    def outputs(self) -> list[Any]:
        """What `show_analysis` updates, in its order."""
        return [
            self.analysis,
            self.note,
            self.table,
            self.table_help,
            self.curves,
            self.agreement,
            *self.downloads.files,
        ]


def build() -> TrustPanel:
    """Lay out the section, hidden until there is a result."""
    with gr.Column(visible=False, elem_id="analysis") as analysis:
        gr.Markdown("### How far to trust these maps")
        note = gr.Markdown(elem_id="trust-note")
        table = gr.Dataframe(
            headers=TRUST_HEADERS,
            datatype=TRUST_TYPES,
            label="Methods ranked for this image",
            interactive=False,
            wrap=True,
            visible=False,
            elem_id="trust-table",
        )
        table_help = gr.Markdown(trust_help(), visible=False, elem_id="trust-help")
        curves = gr.Plot(
            label="Deletion and insertion curves",
            show_label=False,
            format="png",
            visible=False,
            elem_id="curves",
        )
        agreement = gr.Plot(
            label="Method agreement", show_label=False, format="png", elem_id="agreement"
        )
        downloads = downloads_panel.build()
    return TrustPanel(analysis, note, table, table_help, curves, agreement, downloads)


def show_analysis(details: dict[str, Any] | None) -> tuple[Any, ...]:
    """The section for a new result (or none, on a new image).

    Outputs: section, note, table, table help, curves, agreement, npz file, json file. Hidden,
    files cleared, while there is no result; the files come from /download, chained after
    each explanation.
    """
    if not details:
        return gr.Column(visible=False), "", None, gr.skip(), None, None, None, None
    note, style = trust_note(details)
    rows = trust_rows(details)
    agreement = agreement_figure(details)
    return (
        gr.Column(visible=True),
        gr.Markdown(note, elem_classes=style),
        gr.Dataframe(value=rows or None, visible=bool(rows)),
        gr.Markdown(visible=bool(rows)),
        gr.Plot(value=curves_figure(details), visible=bool(rows)),
        gr.Plot(value=agreement, visible=agreement is not None),
        gr.skip(),
        gr.skip(),
    )


def wire(panel: TrustPanel, details: gr.JSON) -> None:
    """Every new result (or none, on a new image): the section follows the details."""
    details.change(
        show_analysis,
        inputs=details,
        outputs=panel.outputs,
        **INSTANT,
    )
