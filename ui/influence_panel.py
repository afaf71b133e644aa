""" "Training images behind it", a panel of the Explain tab: for the explained image and
target, the training images whose training steps most lowered (proponents) and most raised
(opponents) the model's loss there, 8 each, with their training labels and TracIn scores
(`interpret.influence`; ui/influence_api.py).

Computed when the panel is opened or its button pressed, and again after each explanation
while it is open; the first request per (weights, training set) builds the index with a
progress bar. A thumbnail clicked loads that training image into the Explain tab, large, and
explains it. Where influence cannot be had (no training set, a model without checkpoints)
the panel says what is missing and how to get it. Also registers /influence, whose trigger
is hidden here (it takes the Explain tab's image, an upload).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from interpret import CLASSES
from interpret.influence import Influence, InfluenceIndex, InfluenceUnavailable

from . import api, influence_api
from .config import INSTANT, RAW
from .errors import no_image, user_errors
from .files import request_folder, save_pictures
from .influence_views import READ_INFLUENCE, influence_heading, score_caption, unavailable
from .pictures import thumbnails
from .training_set import source, training_set

OUTPUTS = 8  # InfluencePanel.outputs
TOP = 8


@dataclass
class InfluencePanel:
    accordion: gr.Accordion
    button: gr.Button
    heading: gr.Markdown
    proponents: gr.Gallery
    opponents: gr.Gallery
    note: gr.Markdown
    npz_file: gr.File
    json_file: gr.File
    proponents_shown: gr.State  # the training index of each thumbnail, in the gallery's order
    opponents_shown: gr.State
    opened: gr.State  # whether the panel is open
    picked: gr.State  # the training image a click asks for
    train_index: gr.State  # the training index of the image the Explain tab shows, if any
    api_button: gr.Button
    api_k: gr.Number
    api_output: gr.JSON
    api_sample: gr.Button  # the trigger of /train_sample, its index, image and label
    api_index: gr.Number
    api_image: gr.Image
    api_label: gr.Textbox

    @property
    def outputs(self) -> list[Any]:
        return [
            self.heading,
            self.proponents,
            self.opponents,
            self.note,
            self.proponents_shown,
            self.opponents_shown,
            self.npz_file,
            self.json_file,
        ]


def _gallery(label: str, elem_id: str) -> gr.Gallery:
    return gr.Gallery(
        label=label,
        columns=TOP,
        rows=1,
        height=190,
        object_fit="contain",
        allow_preview=False,
        elem_id=elem_id,
    )


def build() -> InfluencePanel:
    """Lay out the panel (closed; under "Inside the network")."""
    with gr.Accordion(
        "Training images behind it: the training data that shaped this decision",
        open=False,
        elem_id="influence-panel",
    ) as accordion:
        gr.Markdown(READ_INFLUENCE)
        button = gr.Button("Show the training images", size="sm", elem_id="influence-button")
        heading = gr.Markdown(elem_id="influence-heading")
        proponents = _gallery("Proponents: lowered the loss", "influence-proponents")
        opponents = _gallery("Opponents: raised the loss", "influence-opponents")
        note = gr.Markdown(elem_id="influence-note")
        with gr.Row():
            npz_file = gr.File(label="Every training image's score (.npz)", interactive=False)
            json_file = gr.File(label="The answer and the index (.json)", interactive=False)
    api_button = gr.Button(visible=False)  # the trigger of /influence (API clients only)
    api_k = gr.Number(value=TOP, precision=0, visible=False, label="k")
    api_output = gr.JSON(visible=False, label="Influence")
    api_sample = gr.Button(visible=False)
    api_index = gr.Number(precision=0, visible=False, label="Training image index")
    api_image = gr.Image(type="filepath", format="png", visible=False, label="Training image")
    api_label = gr.Textbox(visible=False, label="Training label")
    return InfluencePanel(
        accordion,
        button,
        heading,
        proponents,
        opponents,
        note,
        npz_file,
        json_file,
        gr.State([]),
        gr.State([]),
        gr.State(False),
        gr.State(),
        gr.State(),
        api_button,
        api_k,
        api_output,
        api_sample,
        api_index,
        api_image,
        api_label,
    )


def items(examples: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[int]]:
    """Thumbnails of training images with their captions, and their indices."""
    data = training_set()
    pictures = [(thumbnails().path(data, e["index"]), score_caption(e)) for e in examples]
    return pictures, [int(e["index"]) for e in examples]


def downloads(found: Influence, index: InfluenceIndex, described: dict) -> tuple[str, str]:
    """Every training image's score with the labels and predictions (.npz), and the answer
    with what the index was computed from (.json)."""
    folder = request_folder("influence-")
    arrays, record = folder / "influence.npz", folder / "influence.json"
    np.savez(
        arrays,
        scores=found.scores,
        labels=np.asarray(index.labels),
        predicted=np.asarray(index.predicted),
        proponents=np.asarray([e.index for e in found.proponents], dtype=np.int64),
        opponents=np.asarray([e.index for e in found.opponents], dtype=np.int64),
    )
    record.write_text(json.dumps({**described, "index": index.describe()}, indent=2))
    return str(arrays), str(record)


def missing(error: InfluenceUnavailable) -> tuple[Any, ...]:
    """The panel when influence cannot be had: the reason in place of the thumbnails."""
    return (unavailable(str(error)), None, None, "", [], [], None, None)


def show(
    image: Any,
    target: Any,
    model: Any,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> tuple[Any, ...]:
    """The panel for the page's image, target and model."""
    if image is None:
        raise no_image()

    def report(done: int, total: int, what: str) -> None:
        if total:
            progress((done, total), desc=f"{what}: {done:,} of {total:,} images")
        else:
            progress(None, desc=what)

    with user_errors("find the training images behind it"):
        picture = api.read_upload(image)
        try:
            found, index, name = influence_api.influence_of(picture, target, model, TOP, report)
        except InfluenceUnavailable as error:
            return missing(error)
        described = influence_api.answer(found, index, name)
        proponents, proponent_indices = items(described["proponents"])
        opponents, opponent_indices = items(described["opponents"])
        return (
            influence_heading(described),
            proponents,
            opponents,
            described["note"],
            proponent_indices,
            opponent_indices,
            *downloads(found, index, described),
        )


def show_if_open(
    opened: bool,
    image: Any,
    target: Any,
    model: Any,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> Iterator[tuple[Any, ...]]:
    """After each explanation: the open panel follows the page (a closed one waits)."""
    if not opened or image is None:
        yield tuple(gr.skip() for _ in range(OUTPUTS))
        return
    yield show(image, target, model, progress)


def show_on_open(
    image: Any,
    target: Any,
    model: Any,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> Iterator[tuple[Any, ...]]:
    """The panel opened: filled for the image on the page; without one, what it needs."""
    if image is None:
        yield (source().status(), *(gr.skip() for _ in range(OUTPUTS - 1)))
        return
    yield show(image, target, model, progress)


def picker(evt: gr.SelectData, shown: list[int]) -> int:
    """A click on a thumbnail: its training index, for the Explain chain."""
    return shown[evt.index]


def load_training_image(index: Any) -> tuple[str, str, str, int]:
    """A training image into the Explain tab: the picture, its true label, where it is from
    and its index (the explanation follows, as for any new image: its description says
    where the label comes from, as for a sampled test image)."""
    with user_errors("load a training image"):
        image, label, where, chosen = influence_api.training_sample(index)
        (path,) = save_pictures([image], request_folder("train-"))
        return path, CLASSES[label], f"{where}: true label {CLASSES[label]}", chosen


def explain_training(explain: Any, picked: Any, chosen: gr.State, train_index: gr.State) -> None:
    """After `picked` has put a training index in `chosen`: load that image and explain it."""
    tab = explain.tab
    explain.then_explain(
        picked.success(
            load_training_image,
            inputs=chosen,
            outputs=[tab.image, tab.truth, tab.source, train_index],
            show_progress="minimal",
            api_visibility="private",
            **RAW,
        ).success(**explain.new_image)
    )


def wire(panel: InfluencePanel, tab: Any, explain: Any, details: gr.JSON, concurrency: int) -> None:
    """The panel's events; `tab`: the Explain tab's components; `explain`: its wiring."""
    request = [tab.image, tab.target, tab.model]
    queued = {
        "outputs": panel.outputs,
        "api_visibility": "private",
        "trigger_mode": "always_last",
        "concurrency_id": "influence",
        "concurrency_limit": concurrency,
        **RAW,
    }
    panel.accordion.expand(lambda: True, outputs=panel.opened, **INSTANT)
    panel.accordion.collapse(lambda: False, outputs=panel.opened, **INSTANT)
    details.change(show_if_open, inputs=[panel.opened, *request], show_progress="minimal", **queued)
    panel.accordion.expand(show_on_open, inputs=request, **queued)
    panel.button.click(show, inputs=request, **queued)
    for gallery, shown in (
        (panel.proponents, panel.proponents_shown),
        (panel.opponents, panel.opponents_shown),
    ):
        picked = gallery.select(
            picker,
            inputs=shown,
            outputs=panel.picked,
            queue=False,
            api_visibility="private",
            **RAW,
        )
        explain_training(explain, picked, panel.picked, panel.train_index)


def register_api(panel: InfluencePanel, tab: Any) -> None:
    """/influence (the panel's request, one JSON answer) and /train_sample (a training image
    as a file the client downloads), after the frozen endpoints."""
    panel.api_button.click(
        influence_api.image_influence,
        inputs=[tab.image, tab.target, tab.model, panel.api_k],
        outputs=panel.api_output,
        api_name="influence",
        concurrency_id="influence",
        concurrency_limit=1,
        **RAW,
    )
    panel.api_sample.click(
        influence_api.train_sample,
        inputs=panel.api_index,
        outputs=[panel.api_image, panel.api_label],
        api_name="train_sample",
        **RAW,
    )
