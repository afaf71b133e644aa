"""The class x feature atlas in the Test set tab: for each class, each learned feature's mean
contribution over the class's correctly classified test images (`interpret.feature_atlas`),
as a 10 x 16 heat map of the tab's model.

Clicking a cell lists that class's images where that feature contributes most; clicking one
explains it in the Explain tab. The first request per model and test set computes the atlas
with a progress bar (about a minute over the full set); the library caches it on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd
from matplotlib import colormaps

from interpret import CLASSES

from . import api, features_api
from .config import RAW
from .errors import user_errors
from .features_views import READ_ATLAS
from .pictures import thumbnails

LISTED = 16  # images listed per cell
NO_IMAGES = "—"  # a class without a correctly classified image


@dataclass
class AtlasPanel:
    button: gr.Button
    caption: gr.Markdown
    matrix: gr.Dataframe
    heading: gr.Markdown
    images: gr.Gallery
    shown: gr.State  # the indices in the images gallery


def build() -> AtlasPanel:
    """Lay out the panel (at the bottom of the Test set tab)."""
    gr.Markdown(
        "### Class × feature atlas\nWhich of the 16 learned features (pool2 channels) each "
        "class relies on. " + READ_ATLAS,
        elem_id="atlas-intro",
    )
    button = gr.Button("Show the atlas", variant="primary", size="sm", elem_id="atlas-button")
    caption = gr.Markdown(elem_id="atlas-caption")
    matrix = gr.Dataframe(
        label="Mean contribution (rows: class, columns: feature)",
        interactive=False,
        wrap=False,
        elem_id="atlas",
    )
    heading = gr.Markdown(elem_id="atlas-heading")
    images = gr.Gallery(
        label="Images where the feature contributes most",
        show_label=False,
        columns=16,
        height="auto",
        object_fit="contain",
        allow_preview=False,
        elem_id="atlas-images",
    )
    return AtlasPanel(button, caption, matrix, heading, images, gr.State([]))


def cell_style(value: float, largest: float) -> str:
    """A cell's CSS: red against, blue for, by the size of its mean contribution."""
    if not np.isfinite(value):
        return ""
    share = 0.5 + 0.5 * value / largest
    r, g, b, _ = (np.array(colormaps["RdBu"](share)) * 255).astype(int)
    text = "white" if abs(share - 0.5) > 0.3 else "black"
    return f"background-color: rgb({r},{g},{b}); color: {text}"


def matrix_value(matrix: np.ndarray) -> Any:
    """The atlas as a styled table: one row per class, one column per channel."""
    headers = ["class", *(str(c) for c in range(matrix.shape[1]))]
    rows = [
        [CLASSES[i], *(None if not np.isfinite(v) else round(float(v), 2) for v in matrix[i])]
        for i in range(len(matrix))
    ]
    frame = pd.DataFrame(rows, columns=headers)
    largest = float(np.nanmax(np.abs(matrix))) if np.isfinite(matrix).any() else 1.0
    styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for i in range(len(rows)):
        for j in range(matrix.shape[1]):
            styles.iloc[i, j + 1] = cell_style(float(matrix[i, j]), largest or 1.0)
    return frame.style.apply(lambda _: styles, axis=None).format(na_rep=NO_IMAGES, precision=2)


def show(model: Any, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
    """The model's atlas over the app's test set (computed the first time, with progress)."""

    def report(done: int, total: int, what: str) -> None:
        progress((done, total), desc=f"{what}: {done:,} of {total:,} images")

    with user_errors("compute the feature atlas"):
        name = api.backend().models.resolve(model)
        data = api.test_set(lambda text: progress(None, desc=text))
        atlas = features_api.atlas_of(name, data, report)
        counts = atlas.counts()
        caption = (
            f"Model `{name}`, {sum(counts):,} correctly classified images of {data.name} "
            f"({min(counts):,} to {max(counts):,} per class)."
        )
        return caption, matrix_value(atlas.matrix), "", None, []


def pick_cell(evt: gr.SelectData, model: Any) -> tuple[Any, ...]:
    """A click on a cell: the class's images where that feature contributes most."""
    row, column = evt.index
    with user_errors("list the atlas cell's images"):
        if not 1 <= column <= 16:
            return gr.skip(), gr.skip(), gr.skip()
        name = api.backend().models.resolve(model)
        data = api.test_set()
        strongest = features_api.atlas_of(name, data).strongest(row, column - 1, LISTED)
        items = [
            (thumbnails().path(data, index), f"#{index} · {value:+.3f}")
            for index, value in strongest
        ]
        heading = (
            f"**{CLASSES[row]}**, feature {column - 1}: the images where it contributes most. "
            "Click one to explain it."
            if strongest
            else f"**{CLASSES[row]}**: the model classifies none of its test images correctly."
        )
        return heading, items, [index for index, _ in strongest]


def pick_image(evt: gr.SelectData, shown: list[int]) -> tuple[int, gr.Tabs]:
    """A click on an image: its index for the Explain tab, which opens."""
    return shown[evt.index], gr.Tabs(selected="explain")


def wire(panel: AtlasPanel, model: gr.Dropdown, explain: Any, tabs: gr.Tabs) -> None:
    """The panel's events; `explain`: the Explain tab's wiring, which explains an image."""
    quiet = {"api_visibility": "private", **RAW}
    panel.button.click(
        show,
        inputs=model,
        outputs=[panel.caption, panel.matrix, panel.heading, panel.images, panel.shown],
        concurrency_id="atlas",
        concurrency_limit=1,
        **quiet,
    )
    panel.matrix.select(
        pick_cell,
        inputs=model,
        outputs=[panel.heading, panel.images, panel.shown],
        show_progress="minimal",
        **quiet,
    )
    explain.explain_index(
        panel.images.select(
            pick_image,
            inputs=panel.shown,
            outputs=[explain.tab.index, tabs],
            queue=False,
            **quiet,
        )
    )
