"""The explain panel: the image and its sources, the controls, the prediction, the gallery and
the examples; and the events that take a new image or a new setting to an explanation.

Event chain for a new image (upload, example, index, Random, a thumbnail of the Test set tab):
describe it (true label, target choices, old results cleared) -> a quick label -> /explain ->
summary, downloads (ui/downloads.py) and the second model's row (ui/compare_panel.py). A changed
setting, the model included, goes straight to /explain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from interpret import CLASSES, DEFAULT_METHODS, METHODS
from interpret.params import BASELINES, INT_BOUNDS, MAX_COST, STDEVS_BOUNDS
from interpret.samples import bundled_examples

from . import api, compare_panel
from .compare_panel import ComparePanel
from .config import DEFAULT_OPACITY, DEFAULTS, NO_CONTRAST, PREDICTED, RAW, TRUE_LABEL
from .downloads import Downloads, then_download
from .errors import no_image
from .gradio_fixes import UploadsOnlyBlocks
from .views import START_HINT, not_updated_text, summary_text, target_choices, truth_text, verdict


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


def not_updated(details: dict[str, Any] | None) -> Any:
    """After a refused or failed request: say that the results on the page are the old ones."""
    if not details:
        return gr.skip()
    return not_updated_text(details)


# ------------------------------------------------------------------ wiring


def after_explanation(
    explained: Any,
    tab: ExplainTab,
    details: gr.JSON,
    last_result: gr.State,
    downloads: Downloads,
    concurrency: int,
    public: bool = False,
) -> None:
    """After each explanation: the summary (or, when refused, a note that the page shows the
    previous result), the downloads, and the second model's row."""
    explained.success(
        summarize,
        inputs=details,
        outputs=[tab.summary, tab.label],
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    )
    explained.failure(
        not_updated,
        inputs=details,
        outputs=tab.summary,
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    )
    then_download(explained, tab.parameters, last_result, downloads, concurrency, public)
    compare_panel.then_compare(explained, tab.parameters, tab.compare, details, tab.second)


class Wiring:
    """The explain panel's event chains, for other panels that bring it a new image."""

    def __init__(
        self,
        tab: ExplainTab,
        details: gr.JSON,
        last_result: gr.State,
        downloads: Downloads,
        concurrency: int,
    ) -> None:
        self.tab, self.details, self.last_result = tab, details, last_result
        self.downloads, self.concurrency = downloads, concurrency
        self.results = [tab.gallery, tab.label, details, last_result]
        self.model_event = {"concurrency_id": "model", "concurrency_limit": concurrency, **RAW}
        self.sampled = [tab.image, tab.truth, tab.source, tab.index]
        self.new_image = {
            "fn": describe_new_image,
            "inputs": [tab.image, tab.target],
            "outputs": [
                tab.truth,
                tab.target,
                tab.gallery,
                details,
                tab.summary,
                tab.label,
                tab.index,
                *tab.second.outputs,
            ],
            "show_progress": "hidden",
            "api_visibility": "private",
            **RAW,
        }

    def then_explain(self, described: Any) -> None:
        """After a new image is described: a quick label (by the chosen model), then the
        explanation."""
        tab = self.tab
        after_explanation(
            described.success(
                api.predict_with_model,
                inputs=[tab.image, tab.model],
                outputs=tab.label,
                api_visibility="private",
                **self.model_event,
            ).success(
                api.explain_image,
                inputs=tab.parameters,
                outputs=self.results,
                api_visibility="private",
                **self.model_event,
            ),
            tab,
            self.details,
            self.last_result,
            self.downloads,
            self.concurrency,
        )

    def explain_index(self, chosen: Any) -> None:
        """After `chosen` has put a test-set index in the index box: load that image, with its
        true label, and explain it (as "Load this index" does)."""
        self.then_explain(
            chosen.success(
                api.sample_image,
                inputs=self.tab.index,
                outputs=self.sampled,
                show_progress="minimal",
                api_visibility="private",
                **RAW,
            ).success(**self.new_image)
        )


def wire(
    blocks: gr.Blocks,
    tab: ExplainTab,
    details: gr.JSON,
    last_result: gr.State,
    downloads: Downloads,
    concurrency: int,
) -> Wiring:
    """Every way to a new image or a new setting, each ending in an explanation. Registers the
    named endpoints /predict, /sample, /explain and /download."""
    chains = Wiring(tab, details, last_result, downloads, concurrency)
    new_image, sampled, model_event = chains.new_image, chains.sampled, chains.model_event

    # /predict, for API clients; the page's chains label with the chosen model instead.
    tab.predict_button.click(
        api.predict_image, inputs=tab.image, outputs=tab.label, api_name="predict", **model_event
    )
    # A new image: by upload, paste or webcam (`upload`: Gradio's `input` also fires on clear,
    # and `change` twice when an image replaces another), by example, or sampled.
    chains.then_explain(tab.image.upload(**new_image))
    chains.then_explain(tab.examples.load_input_event.then(**new_image))
    chains.then_explain(
        gr.on(
            triggers=[tab.load_button.click, tab.index.submit],
            fn=api.sample_image,
            inputs=tab.index,
            outputs=sampled,
            api_name="sample",
            show_progress="minimal",
            **RAW,
        ).success(**new_image)
    )
    chains.then_explain(
        tab.random_button.click(
            api.random_sample, outputs=sampled, show_progress="minimal", api_visibility="private"
        ).success(**new_image)
    )
    # On each page load: a Space's test-set download may have finished since start-up.
    blocks.load(
        sampling_note,
        outputs=tab.source,
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    )
    tab.image.clear(
        clear_results,
        outputs=[
            tab.truth,
            tab.target,
            tab.gallery,
            tab.label,
            details,
            tab.summary,
            *tab.second.outputs,
        ],
        api_visibility="private",
    )
    # The button, and any change to a setting, recomputes.
    after_explanation(
        gr.on(
            triggers=[tab.explain_button.click, *tab.settings],
            fn=api.explain_image,
            inputs=tab.parameters,
            outputs=chains.results,
            api_name="explain",
            trigger_mode="always_last",
            **model_event,
        ),
        tab,
        details,
        last_result,
        downloads,
        concurrency,
        public=True,
    )
    if isinstance(blocks, UploadsOnlyBlocks):  # /explain's `model`, appended: None = default
        blocks.appended["explain"] = [None]
    compare_panel.wire(tab.parameters, tab.compare, details, tab.second, concurrency)
    return chains
