"""The explain panel: the image and its sources, the controls, the prediction, the gallery and
the examples, and what its events show (their chains: ui/explain_wiring.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from interpret import CLASSES, DEFAULT_METHODS, METHODS
from interpret.core.params import BASELINES, INT_BOUNDS, MAX_COST, STDEVS_BOUNDS
from interpret.dataset.sources import bundled_examples

from . import api, compare_panel
from .compare_panel import ComparePanel
from .config import DEFAULT_OPACITY, DEFAULTS, NO_CONTRAST, PREDICTED, TRUE_LABEL
from .errors import no_image
from .gradio_fixes import UploadsOnlyBlocks
from .views import (
    START_HINT,
    TRUST_PENDING,
    not_updated_text,
    summary_text,
    target_choices,
    truth_text,
    verdict,
)


@dataclass
class ExplainTab:
    """The panel's components (the details JSON and the session's last result live further
    down the page and are attached by ui/page.py)."""

    image: gr.Image
    random_button: gr.Button
    index: gr.Number
    load_button: gr.Button
    source: gr.Markdown
    truth: gr.Textbox
    model: gr.Dropdown
    compare: gr.Dropdown
    methods: gr.CheckboxGroup
    target: gr.Dropdown
    contrast: gr.Dropdown
    trust_scores: gr.Checkbox
    n_steps: gr.Slider
    nt_samples: gr.Slider
    stdevs: gr.Slider
    baseline: gr.Dropdown
    occlusion_window: gr.Slider
    occlusion_stride: gr.Slider
    seed: gr.Number
    opacity: gr.Slider
    explain_button: gr.Button
    label: gr.Label
    summary: gr.Markdown
    gallery: gr.Gallery
    second: ComparePanel
    examples: gr.Examples
    predict_button: gr.Button
    explain_api_button: gr.Button

    @property
    def parameters(self) -> list[gr.components.Component]:
        """The /explain and /download inputs, in the API's order."""
        return [
            self.image,
            self.methods,
            self.target,
            self.n_steps,
            self.nt_samples,
            self.stdevs,
            self.baseline,
            self.seed,
            self.opacity,
            self.contrast,
            self.trust_scores,
            self.occlusion_window,
            self.occlusion_stride,
            self.model,
        ]

    @property
    def settings(self) -> list[Any]:
        """Every control whose change recomputes, with the event that says so."""
        return [
            self.methods.input,
            # Dropdowns: `select`, once per choice (Gradio's `input` fires again on blur).
            self.target.select,
            self.contrast.select,
            self.baseline.select,
            self.trust_scores.input,
            self.seed.input,
            self.n_steps.input,  # typing, dragging, arrow keys: `release` misses the last two
            self.nt_samples.input,
            self.stdevs.input,
            self.opacity.input,
            self.occlusion_window.input,
            self.occlusion_stride.input,
            self.model.select,
        ]


def sampling_note() -> str:
    """Which set Random and the index draw from (a Space's download may finish later)."""
    return f"Sampling from {api.backend().sampler.current.name}."


def build(blocks: UploadsOnlyBlocks) -> ExplainTab:
    """Lay out the panel inside `blocks`; the image takes uploads only."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            image = blocks.uploads_only(
                gr.Image(
                    label="Image",
                    placeholder="Upload, paste (Ctrl+V) or take a picture: any size, any format",
                    type="filepath",
                    format="png",
                    image_mode=None,
                    sources=["upload", "clipboard", "webcam"],
                    height=300,
                    elem_id="image",
                )
            )
            random_button = gr.Button("Random CIFAR-10 test image", variant="secondary")
            with gr.Row(equal_height=False):
                index = gr.Number(
                    label="Test image index",
                    precision=0,
                    minimum=0,
                    scale=3,
                    min_width=120,
                    elem_id="index",
                )
                load_button = gr.Button("Load this index", scale=2, min_width=100)
            source = gr.Markdown(sampling_note(), label="Source", elem_id="source")
            truth = gr.Textbox(
                label="True label",
                placeholder="unknown (not a CIFAR-10 test image the app knows)",
                interactive=False,
                elem_id="truth",
            )
        with gr.Column(scale=3, min_width=280):
            models = api.backend().models
            model = gr.Dropdown(
                choices=models.choices(), value=models.default, label="Model", elem_id="model"
            )
            compare = compare_panel.selector(models)
            methods = gr.CheckboxGroup(
                choices=[(method.label, key) for key, method in METHODS.items()],
                value=list(DEFAULT_METHODS),
                label="Methods",
            )
            target = gr.Dropdown(
                choices=target_choices(None),
                value=PREDICTED,
                label="Target class to explain",
                elem_id="target",
            )
            contrast = gr.Dropdown(
                choices=[(NO_CONTRAST, NO_CONTRAST)] + [(name, name) for name in CLASSES],
                value=NO_CONTRAST,
                label="…rather than",
                info="Optional: why the target and not this class (their score difference)",
                elem_id="contrast",
            )
            trust_scores = gr.Checkbox(
                value=False,
                label="Trust scores",
                info="Rank the maps by faithfulness and sanity-check each; several times slower",
                elem_id="trust-scores",
            )
            with gr.Accordion("Advanced", open=False):
                n_steps = gr.Slider(
                    *INT_BOUNDS["n_steps"],
                    value=DEFAULTS.n_steps,
                    step=1,
                    label="n_steps (Integrated Gradients steps)",
                    info=f"with IG + SmoothGrad²: n_steps × nt_samples ≤ {MAX_COST:,}",
                )
                nt_samples = gr.Slider(
                    *INT_BOUNDS["nt_samples"],
                    value=DEFAULTS.nt_samples,
                    step=1,
                    label="nt_samples (SmoothGrad noisy copies)",
                )
                stdevs = gr.Slider(
                    *STDEVS_BOUNDS, value=DEFAULTS.stdevs, step=0.05, label="stdevs (noise level)"
                )
                baseline = gr.Dropdown(
                    choices=[(f"{key}: {text}", key) for key, text in BASELINES.items()],
                    value=DEFAULTS.baseline,
                    label="Baseline (reference image of the methods that use one)",
                )
                occlusion_window = gr.Slider(
                    *INT_BOUNDS["occlusion_window"],
                    value=DEFAULTS.occlusion_window,
                    step=1,
                    label="Occlusion window (pixels, square)",
                )
                occlusion_stride = gr.Slider(
                    *INT_BOUNDS["occlusion_stride"],
                    value=DEFAULTS.occlusion_stride,
                    step=1,
                    label="Occlusion stride (pixels)",
                    info="at most the window, so every pixel gets occluded",
                )
                seed = gr.Number(
                    value=DEFAULTS.seed, precision=0, minimum=0, label="Seed (noise, baseline)"
                )
                opacity = gr.Slider(0, 1, value=DEFAULT_OPACITY, step=0.05, label="Overlay opacity")
            explain_button = gr.Button("Explain", variant="primary")
        with gr.Column(scale=4, min_width=300):
            label = gr.Label(num_top_classes=5, label=verdict(None), elem_id="label")
            summary = gr.Markdown(START_HINT, elem_id="summary")
    gr.Markdown("### Model input and attribution maps")
    gallery = gr.Gallery(
        label="Model input and attribution maps",
        show_label=False,
        format="png",
        columns=5,
        height="auto",
        object_fit="contain",
        allow_preview=True,
        buttons=["download", "fullscreen"],  # for the enlarged preview; none over the grid
        elem_id="gallery",
    )
    second = compare_panel.build()
    examples = gr.Examples(
        examples=[[str(path), CLASSES[label]] for path, label in bundled_examples()],
        inputs=[image, truth],
        label="CIFAR-10 test images with their true class: click one to explain it",
        examples_per_page=20,
        cache_examples=False,
        elem_id="examples",
    )
    predict_button = gr.Button(visible=False)  # the trigger of /predict (API clients only)
    explain_api_button = gr.Button(visible=False)  # the trigger of /explain (API clients only)
    return ExplainTab(**{k: v for k, v in locals().items() if k not in ("blocks", "models")})


# ------------------------------------------------------------------ event functions


def describe_image(image: Any, target: Any) -> tuple[str, gr.Dropdown, None, None, str, Any, Any]:
    """On a new image: its true label if known, the target choices, cleared old results, and
    for a bundled example its test-image index."""
    if image is None:  # no image to describe (a clear goes to `clear_results`)
        raise no_image()
    try:
        picture = api.read_upload(image)
    except Exception:
        picture = None  # the prediction step says what is wrong with it
    sampler = api.backend().sampler
    truth = None if picture is None else sampler.truth(picture)
    example = None if picture is None else sampler.bundled_index(picture)
    if target == TRUE_LABEL and truth is None:
        target = PREDICTED
    choices = gr.Dropdown(choices=target_choices(truth), value=target)
    index_shown = gr.skip() if example is None else example
    return truth_text(truth), choices, None, None, "", gr.Label(label=verdict(None)), index_shown


def describe_new_image(image: Any, target: Any) -> tuple[Any, ...]:
    """`describe_image`, and the second model's row cleared."""
    return (*describe_image(image, target), *compare_panel.clear())


def clear_results() -> tuple[Any, ...]:
    """The image removed: the page as it opens, without a result."""
    choices = gr.Dropdown(choices=target_choices(None), value=PREDICTED)
    cleared = gr.Label(value=None, label=verdict(None))
    return "", choices, None, cleared, None, START_HINT, *compare_panel.clear()


def summarize(details: dict[str, Any] | None) -> tuple[str, gr.Label]:
    """The label's heading, and the Markdown under it."""
    return summary_text(details), gr.Label(label=verdict(details))


def summarize_while_scoring(details: dict[str, Any] | None) -> tuple[Any, Any]:
    """The summary of maps already shown while their trust scores are computed; the finished
    explanation's own summary follows (`after_explanation`)."""
    if not details or not details.get(TRUST_PENDING):
        return gr.skip(), gr.skip()
    return summarize(details)


def not_updated(details: dict[str, Any] | None) -> Any:
    """After a refused or failed request: say that the results on the page are the old ones."""
    if not details:
        return gr.skip()
    return not_updated_text(details)
