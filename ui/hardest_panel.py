""" "Hardest training images", a panel of the Test set tab: a page of the training images with
the highest self-influence for the tab's model (`interpret.influence`), filtered by class,
each with its training label and the model's prediction. A thumbnail clicked explains that
training image in the Explain tab. Without a training set or checkpoints the panel says what
is missing and how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from interpret import CLASSES
from interpret.dataset.browse import ANY
from interpret.influence import InfluenceUnavailable

from . import influence_api
from .config import RAW
from .errors import user_errors
from .influence_panel import explain_training
from .influence_views import READ_HARDEST, hardest_caption, hardest_heading, unavailable
from .pictures import thumbnails
from .training_set import training_set


@dataclass
class HardestPanel:
    true_class: gr.Dropdown
    page: gr.Number
    button: gr.Button
    heading: gr.Markdown
    note: gr.Markdown
    images: gr.Gallery
    shown: gr.State  # the training index of each thumbnail
    picked: gr.State  # the training image a click asks for


def build() -> HardestPanel:
    """Lay out the panel (in the Test set tab, above the atlas)."""
    with gr.Accordion("Hardest training images", open=False, elem_id="hardest-panel"):
        gr.Markdown(READ_HARDEST)
        with gr.Row(equal_height=True):
            true_class = gr.Dropdown(
                [ANY, *CLASSES], value=ANY, label="Training label", elem_id="hardest-class"
            )
            page = gr.Number(value=1, precision=0, minimum=1, label="Page", elem_id="hardest-page")
            button = gr.Button(
                "Show the hardest training images", variant="primary", elem_id="hardest-button"
            )
        heading = gr.Markdown(elem_id="hardest-heading")
        images = gr.Gallery(
            label="Hardest training images",
            show_label=False,
            columns=12,
            height="auto",
            object_fit="contain",
            allow_preview=False,
            elem_id="hardest-images",
        )
        note = gr.Markdown(elem_id="hardest-note")
    return HardestPanel(true_class, page, button, heading, note, images, gr.State([]), gr.State())


def show(
    model: Any,
    true_class: Any,
    page: Any,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> tuple[Any, ...]:
    """A page of the hardest training images (the index built the first time, with
    progress); the page number as shown (past the last: the last)."""

    def report(done: int, total: int, what: str) -> None:
        if total:
            progress((done, total), desc=f"{what}: {done:,} of {total:,} images")
        else:
            progress(None, desc=what)

    with user_errors("list the hardest training images"):
        name = influence_api.api.backend().models.resolve(model)
        try:
            found = influence_api.hardest_of(true_class, page, name, report)
        except InfluenceUnavailable as error:
            return unavailable(str(error)), "", None, [], gr.skip()
        described = influence_api.hardest_answer(found, name)
        data = training_set()
        pictures = [
            (thumbnails().path(data, item["index"]), hardest_caption(item))
            for item in described["items"]
        ]
        shown = [item["index"] for item in described["items"]]
        return hardest_heading(described), described["note"], pictures, shown, found.page


def picker(evt: gr.SelectData, shown: list[int]) -> tuple[int, gr.Tabs]:
    """A click on a thumbnail: its training index, and the Explain tab opened."""
    return shown[evt.index], gr.Tabs(selected="explain")


def wire(panel: HardestPanel, model: gr.Dropdown, explain: Any, tabs: gr.Tabs, train_index: Any):
    """The panel's events; `model`: the Test set tab's model; `explain`: the Explain tab's
    wiring; `train_index`: where the Explain tab keeps a training image's index."""
    quiet = {"api_visibility": "private", **RAW}
    outputs = [panel.heading, panel.note, panel.images, panel.shown, panel.page]
    gr.on(
        triggers=[panel.button.click, panel.true_class.select, panel.page.submit],
        fn=show,
        inputs=[model, panel.true_class, panel.page],
        outputs=outputs,
        concurrency_id="influence",
        concurrency_limit=1,
        **quiet,
    )
    picked = panel.images.select(
        picker, inputs=panel.shown, outputs=[panel.picked, tabs], queue=False, **quiet
    )
    explain_training(explain, picked, panel.picked, train_index)
