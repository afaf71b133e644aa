"""The Test set tab: every test image's prediction at a glance, like Captum Insights' browser.

A model's confusion matrix (click a cell to list its images), filters (true and predicted
class, outcome, confidence range), three sort orders, a paginated grid of thumbnails (click
one to explain it in the Explain tab), a batch view (the page's first 8 images x the methods
chosen in the Explain tab, one picture), the images where two models disagree, and the class
strategies panel (ui/strategies_panel.py). Registers /models, /confusion, /browse and
/strategies (`register_api`; the functions and their docstrings are in ui/api.py).

Predictions are computed once per (weights, test set) and cached (`interpret.dataset.predictions`),
with a progress bar the first time; then every filter, sort or page is plain numpy.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
from matplotlib import colormaps

from interpret import CLASSES
from interpret.dataset.browse import (
    ANY,
    DISAGREEMENT_OUTCOMES,
    OUTCOMES,
    SORTS,
    BrowseError,
    browse,
    confusion,
)

from . import api, strategies_panel
from .config import RAW
from .errors import user_errors
from .files import request_folder, save_pictures
from .models import NO_COMPARISON, Models
from .pictures import batch_grid, thumbnails
from .strategies_panel import StrategiesPanel
from .views import (
    confusion_caption,
    confusion_rows,
    item_caption,
    page_text,
    percent,
    test_set_note,
)
from .zerogpu import batch_on_gpu

BATCH_IMAGES = 8


@dataclass
class TestSetTab:
    """The tab's components."""

    __test__ = False  # not a pytest test class

    note: gr.Markdown
    model: gr.Dropdown
    other: gr.Dropdown
    matrix: gr.Dataframe
    matrix_caption: gr.Markdown
    true_class: gr.Dropdown
    predicted_class: gr.Dropdown
    outcome: gr.Radio
    which: gr.Radio
    min_confidence: gr.Slider
    max_confidence: gr.Slider
    sort: gr.Radio
    previous: gr.Button
    page: gr.Number
    next: gr.Button
    status: gr.Markdown
    grid: gr.Gallery
    shown: gr.State
    batch_button: gr.Button
    batch: gr.Image
    strategies: StrategiesPanel

    @property
    def filters(self) -> list[Any]:
        """What a page depends on, in `show_page`'s order (the page number comes after)."""
        return [
            self.model,
            self.other,
            self.true_class,
            self.predicted_class,
            self.outcome,
            self.which,
            self.min_confidence,
            self.max_confidence,
            self.sort,
        ]

    @property
    def page_outputs(self) -> list[Any]:
        return [self.status, self.grid, self.shown, self.page]

    @property
    def comparison_only(self) -> list[Any]:
        """Filters that apply to one model's predictions, and the one for two models."""
        return [self.predicted_class, self.outcome, self.min_confidence, self.max_confidence]


def build(models: Models) -> TestSetTab:
    """Lay out the tab (inside its gr.Tab)."""
    classes = [ANY, *CLASSES]
    note = gr.Markdown("Loading the test set…", elem_id="testset-note")
    with gr.Row(equal_height=False):
        model = gr.Dropdown(
            choices=models.choices(), value=models.default, label="Model", elem_id="testset-model"
        )
        other = gr.Dropdown(
            choices=[("none", NO_COMPARISON), *models.choices()],
            value=NO_COMPARISON,
            label="Images where it disagrees with",
            elem_id="testset-other",
        )
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            matrix = gr.Dataframe(
                label="Confusion matrix (rows: true class, columns: predicted)",
                interactive=False,
                wrap=False,
                elem_id="confusion",
            )
            matrix_caption = gr.Markdown(elem_id="confusion-caption")
        with gr.Column(scale=2, min_width=240):
            true_class = gr.Dropdown(classes, value=ANY, label="True class", elem_id="true-class")
            predicted_class = gr.Dropdown(
                classes, value=ANY, label="Predicted class", elem_id="predicted-class"
            )
            outcome = gr.Radio(list(OUTCOMES), value="all", label="Outcome", elem_id="outcome")
            which = gr.Radio(
                list(DISAGREEMENT_OUTCOMES),
                value="all",
                label="Which model is right",
                visible=False,
                elem_id="which",
            )
            with gr.Row():
                min_confidence = gr.Slider(0, 1, value=0, step=0.05, label="Confidence from")
                max_confidence = gr.Slider(0, 1, value=1, step=0.05, label="to")
            sort = gr.Radio(list(SORTS), value=SORTS[0], label="Sort", elem_id="sort")
    with gr.Row(equal_height=False, elem_id="pager"):
        with gr.Column(scale=1, min_width=220):
            with gr.Row():
                previous = gr.Button("◀ Previous", size="sm", min_width=60)
                next_button = gr.Button("Next ▶", size="sm", min_width=60)
            page = gr.Number(
                value=1, precision=0, minimum=1, label="Page (Enter to go)", elem_id="page"
            )
        status = gr.Markdown(elem_id="testset-status")
    grid = gr.Gallery(
        label="Test images",
        show_label=False,
        columns=8,
        height="auto",
        object_fit="contain",
        allow_preview=False,
        elem_id="testset-grid",
    )
    shown = gr.State([])
    batch_title = "Batch view: this page's first 8 images × the Explain tab's methods"
    with gr.Accordion(batch_title, open=False, elem_id="batch-view"):
        batch_button = gr.Button("Explain the first 8 images of this page", size="sm")
        batch = gr.Image(
            label="Batch view", type="filepath", format="png", show_label=False, elem_id="batch"
        )
    strategies = strategies_panel.build()
    return TestSetTab(
        note,
        model,
        other,
        matrix,
        matrix_caption,
        true_class,
        predicted_class,
        outcome,
        which,
        min_confidence,
        max_confidence,
        sort,
        previous,
        page,
        next_button,
        status,
        grid,
        shown,
        batch_button,
        batch,
        strategies,
    )


# ------------------------------------------------------------------ event functions


def progress_reports(progress: Any) -> tuple[Callable[[str], None], Callable[..., None]]:
    """(waiting for the test set, predicting) in a Gradio progress bar."""

    def waiting(text: str) -> None:
        progress(None, desc=text)

    def predicting(done: int, total: int, _: str) -> None:
        progress((done, total), desc="Predicting every test image (once per model)")

    return waiting, predicting


def cell_style(share: float) -> str:
    """A matrix cell's CSS: darker blue for a larger share of its row, legible text."""
    r, g, b, _ = (np.array(colormaps["Blues"](0.05 + 0.9 * share)) * 255).astype(int)
    return f"background-color: rgb({r},{g},{b}); color: {'white' if share > 0.45 else 'black'}"


def matrix_value(confusion: dict[str, Any]) -> Any:
    """The matrix as a styled table: counts, each cell shaded by its share of the row."""
    headers, rows, shares = confusion_rows(confusion)
    frame = pd.DataFrame(rows, columns=headers)
    styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for i in range(len(rows)):
        for j, name in enumerate(CLASSES):
            styles.loc[i, name] = cell_style(shares[i, j])
    return frame.style.apply(lambda _: styles, axis=None)


def show_matrix(model: Any, progress: gr.Progress = gr.Progress()) -> tuple[Any, Any, str]:  # noqa: B008
    """The set's note, the model's confusion matrix and its caption (predictions computed
    the first time, with a progress bar)."""
    with user_errors("compute the confusion matrix"):
        waiting, predicting = progress_reports(progress)
        note = test_set_note(api.test_set(waiting).describe())
        name, predicted = api.predictions(model, predicting)
        result = confusion(predicted)
        return note, matrix_value(result), confusion_caption(name, result)


def _page_number(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value  # the library says what is wrong with it


def _browse(filters: tuple[Any, ...], page: Any) -> tuple[dict[str, Any], str, str | None]:
    """(the page, the model's name, the other model's name when comparing)."""
    model, other, true_class, predicted_class, outcome, which, low, high, sort = filters
    if other not in (None, "", NO_COMPARISON):
        name, other_name, found = api.model_disagreements(
            model, other, true_class, which, sort, _page_number(page)
        )
        return found, name, other_name
    name, predicted = api.predictions(model)
    found = browse(
        predicted,
        true_class,
        predicted_class,
        outcome,
        sort,
        _page_number(page),
        confidence=(low, high),
    )
    return found, name, None


def _shown(
    found: dict[str, Any], name: str, other: str | None, sort: Any
) -> tuple[str, list[tuple[str, str]], list[int], int]:
    data, store = api.test_set(), thumbnails()
    items = [(store.path(data, item["index"]), item_caption(item)) for item in found["items"]]
    indices = [item["index"] for item in found["items"]]
    return page_text(found, name, other, sort), items, indices, found["page"]


def show_page(*values: Any) -> tuple[str, list[tuple[str, str]], list[int], int]:
    """One page of thumbnails for the filters and page in `values` (TestSetTab.filters, then
    the page): the text above it, the gallery, the indices shown, the page number."""
    *filters, page = values
    with user_errors("browse the test set"):
        return _shown(*_browse(tuple(filters), page), sort=filters[-1])


def first_page(*filters: Any) -> tuple[Any, ...]:
    """After a filter changed: page 1."""
    return show_page(*filters, 1)


def kept_page(*values: Any) -> tuple[Any, ...]:
    """The tab opened: the page in `values` (the one it showed, or a link's), else page 1 when
    these filters have fewer pages."""
    try:
        return show_page(*values)
    except gr.Error:
        return first_page(*values[:-1])


def turned_page(step: int) -> Callable[..., tuple[Any, ...]]:
    """Previous (-1) or next (+1) page, kept within the pages there are."""

    def turn(*values: Any) -> tuple[Any, ...]:
        *filters, page = values
        current = _page_number(page)
        wanted = max(1, (current if isinstance(current, int) else 1) + step)
        with user_errors("browse the test set"):
            found, name, other = _browse(tuple(filters), 1)
            found, name, other = _browse(tuple(filters), min(wanted, found["pages"]))
            return _shown(found, name, other, filters[-1])

    return turn


def pick_cell(evt: gr.SelectData, *filters: Any) -> tuple[Any, ...]:
    """A click on the matrix: filter to that cell (its true class alone for the class names
    and the accuracy column), every outcome, page 1."""
    row, column = evt.index
    true_class = CLASSES[row]
    predicted = CLASSES[column - 1] if 1 <= column <= len(CLASSES) else ANY
    model, other, _, _, _, which, low, high, sort = filters
    page = show_page(model, other, true_class, predicted, "all", which, low, high, sort, 1)
    return true_class, predicted, "all", *page


def comparison_controls(other: Any) -> tuple[Any, ...]:
    """Comparing two models: only the true class and "which is right" apply."""
    comparing = other not in (None, "", NO_COMPARISON)
    one_model = gr.update(visible=not comparing)
    return one_model, one_model, one_model, one_model, gr.Radio(visible=comparing)


def pick_image(evt: gr.SelectData, shown: list[int]) -> tuple[int, gr.Tabs]:
    """A click on a thumbnail: its index for the Explain tab, which opens."""
    return shown[evt.index], gr.Tabs(selected="explain")


def batch_view(shown: list[int], model: Any, methods: Any, *settings: Any) -> str:
    """The page's first images x the chosen methods, one picture (each map is what the Explain
    tab shows for that image, predicted class as target)."""
    n_steps, nt_samples, stdevs, baseline, seed, opacity, window, stride = settings
    with user_errors("explain the page"):
        if not shown:
            raise BrowseError("no images on this page; change the filters first")
        data = api.test_set()
        chosen = list(shown)[:BATCH_IMAGES]
        results = batch_on_gpu(  # indices, not images: the GPU worker has the set
            api.backend().models.resolve(model),
            data.fingerprint,
            chosen,
            methods,
            {
                "alpha": opacity,
                "n_steps": n_steps,
                "nt_samples": nt_samples,
                "stdevs": stdevs,
                "baseline": baseline,
                "seed": seed,
                "occlusion_window": window,
                "occlusion_stride": stride,
            },
        )
        labels = [
            (
                f"#{index}",
                f"true {CLASSES[data.labels[index]]}\n"
                f"pred. {result.predicted_class}\n{percent(result.top(1)[0][1])}",
            )
            for index, result in zip(chosen, results, strict=True)
        ]
        picture = batch_grid(results, labels, float(opacity))
        (path,) = save_pictures([picture], request_folder("batch-"))
        return path


# ------------------------------------------------------------------ the API


def with_default_model(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    """`function` whose `model` parameter shows `name` as its default in the API page (the
    function itself takes None as the default too)."""
    signature = inspect.signature(function)
    parameters = [
        p.replace(default=name) if p.name == "model" else p for p in signature.parameters.values()
    ]

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    call.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return call


def register_api(models: Models, concurrency: int) -> None:
    """/models, /confusion, /browse and /strategies (see ui/api.py)."""
    gr.api(api.list_models, api_name="models")
    gr.api(with_default_model(api.confusion_matrix, models.default), api_name="confusion")
    gr.api(with_default_model(api.browse_images, models.default), api_name="browse")
    gr.api(
        with_default_model(api.find_strategies, models.default),
        api_name="strategies",
        concurrency_id="strategies",
        concurrency_limit=1,
    )


# ------------------------------------------------------------------ wiring


def wire(tab: TestSetTab, opened: Any, explain: Any, tabs: gr.Tabs, concurrency: int) -> None:
    """The tab's events. `opened`: the tab's select event; `explain`: the Explain tab's
    wiring (ui/explain_wiring.Wiring), which explains a clicked image."""
    quiet = {"api_visibility": "private", **RAW}
    page_event = {"outputs": tab.page_outputs, "show_progress": "minimal", **quiet}
    # Opening the tab (a click, or a link's `gr.Tabs(selected=...)`, which fires it too)
    # keeps its page; another model starts at page 1.
    for trigger, then, page in (
        (opened, kept_page, [tab.page]),
        (tab.model.select, first_page, []),
    ):
        trigger(
            show_matrix,
            inputs=tab.model,
            outputs=[tab.note, tab.matrix, tab.matrix_caption],
            **quiet,
        ).success(then, inputs=[*tab.filters, *page], **page_event)
    tab.other.select(
        comparison_controls,
        inputs=tab.other,
        outputs=[*tab.comparison_only, tab.which],
        queue=False,
        **quiet,
    ).success(first_page, inputs=tab.filters, **page_event)
    gr.on(
        triggers=[
            tab.true_class.select,
            tab.predicted_class.select,
            tab.outcome.input,
            tab.which.input,
            tab.sort.input,
            tab.min_confidence.release,
            tab.max_confidence.release,
        ],
        fn=first_page,
        inputs=tab.filters,
        trigger_mode="always_last",
        **page_event,
    )
    tab.page.submit(show_page, inputs=[*tab.filters, tab.page], **page_event)
    tab.previous.click(turned_page(-1), inputs=[*tab.filters, tab.page], **page_event)
    tab.next.click(turned_page(+1), inputs=[*tab.filters, tab.page], **page_event)
    tab.matrix.select(
        pick_cell,
        inputs=tab.filters,
        outputs=[tab.true_class, tab.predicted_class, tab.outcome, *tab.page_outputs],
        show_progress="minimal",
        **quiet,
    )
    explain.explain_index(
        tab.grid.select(
            pick_image, inputs=tab.shown, outputs=[explain.tab.index, tabs], queue=False, **quiet
        )
    )
    settings = explain.tab
    tab.batch_button.click(
        batch_view,
        inputs=[
            tab.shown,
            tab.model,
            settings.methods,
            settings.n_steps,
            settings.nt_samples,
            settings.stdevs,
            settings.baseline,
            settings.seed,
            settings.opacity,
            settings.occlusion_window,
            settings.occlusion_stride,
        ],
        outputs=tab.batch,
        concurrency_id="model",
        concurrency_limit=concurrency,
        **quiet,
    )
    strategies_panel.wire(tab.strategies, tab.model, explain, tabs)
