""" "Inside the network", a panel of the Explain tab: the explained image's decision split by
learned feature (pool2's 16 channels; `interpret.concepts`).

For the image, target, contrast, model, baseline and steps on the page: the 16 signed bars
(largest |contribution| first) with their sum beside F(x) - F(baseline) and the delta; the top
channels' shares of the Integrated Gradients map; each top channel's most active test-image
windows, which explain that image when clicked; the raw numbers (.npz + .json). Computed when
the panel is opened or its button pressed, never with the plain Explain click. Also registers
/features, whose trigger is hidden here (it takes the Explain tab's image, an upload).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from interpret import CLASSES
from interpret.concepts import SHOWN, Features
from interpret.concepts.pictures import patch_cards, share_cards
from interpret.dataset.images import ImageSet

from . import api, features_api
from .config import INSTANT, RAW
from .errors import no_image, user_errors
from .features_views import (
    READ_BARS,
    READ_SHARES,
    READ_WINDOWS,
    bars_html,
    request_text,
    sum_text,
    windows_note,
)
from .files import request_folder, save_pictures

OUTPUTS = 9  # FeaturesPanel.outputs


@dataclass
class FeaturesPanel:
    accordion: gr.Accordion
    button: gr.Button
    heading: gr.Markdown
    bars: gr.HTML
    total: gr.Markdown
    shares: gr.Gallery
    note: gr.Markdown
    windows: gr.Gallery
    shown: gr.State  # the test-set index of each window, in the gallery's order
    opened: gr.State  # whether the panel is open
    npz_file: gr.File
    json_file: gr.File
    api_button: gr.Button
    api_output: gr.JSON

    @property
    def outputs(self) -> list[Any]:
        return [
            self.heading,
            self.bars,
            self.total,
            self.shares,
            self.note,
            self.windows,
            self.shown,
            self.npz_file,
            self.json_file,
        ]


def build() -> FeaturesPanel:
    """Lay out the panel (closed; under the maps)."""
    with gr.Accordion(
        "Inside the network: the learned features behind this decision",
        open=False,
        elem_id="features-panel",
    ) as accordion:
        gr.Markdown(
            "The CNN sees the image through 16 learned features (its `pool2` channels). "
            "Integrated Gradients, split by feature: how much each contributed, where in the "
            "image, and what each responds to across the test set."
        )
        button = gr.Button("Show the learned features", size="sm", elem_id="features-button")
        heading = gr.Markdown(elem_id="features-heading")
        gr.Markdown(READ_BARS)
        bars = gr.HTML(elem_id="features-bars")
        total = gr.Markdown(elem_id="features-total")
        gr.Markdown(READ_SHARES)
        shares = gr.Gallery(
            label="Where each top feature's evidence is",
            show_label=False,
            columns=SHOWN,
            rows=1,
            height=300,
            object_fit="contain",
            allow_preview=False,
            elem_id="features-shares",
        )
        gr.Markdown(READ_WINDOWS)
        note = gr.Markdown(elem_id="features-note")
        windows = gr.Gallery(
            label="What each top feature responds to",
            show_label=False,
            columns=8,
            height="auto",
            object_fit="contain",
            allow_preview=False,
            elem_id="features-windows",
        )
        with gr.Row():
            npz_file = gr.File(
                label="Share maps and contributions (.npz)", interactive=False, height=72
            )
            json_file = gr.File(label="The numbers (.json)", interactive=False, height=72)
    api_button = gr.Button(visible=False)  # the trigger of /features (API clients only)
    api_output = gr.JSON(visible=False)
    return FeaturesPanel(
        accordion,
        button,
        heading,
        bars,
        total,
        shares,
        note,
        windows,
        gr.State([]),
        gr.State(False),
        npz_file,
        json_file,
        api_button,
        api_output,
    )


def window_items(found: Features, data: ImageSet) -> tuple[list[tuple[str, str]], list[int]]:
    """The top channels' windows, a row of 8 per channel, captioned, and their indices."""
    assert found.top is not None
    pictures, captions, indices = [], [], []
    for channel in found.order[:SHOWN]:
        cards = patch_cards(found, data, channel)
        for rank, picture in enumerate(cards):
            index = int(found.top.indices[channel, rank])
            pictures.append(picture)
            captions.append(f"channel {channel} · #{index} {CLASSES[int(data.labels[index])]}")
            indices.append(index)
    paths = save_pictures(pictures, request_folder("windows-"))
    return list(zip(paths, captions, strict=True)), indices


def share_items(found: Features) -> list[tuple[str, str]]:
    """The top channels' share overlays, captioned with their contributions."""
    channels = found.order[:SHOWN]
    paths = save_pictures(share_cards(found, channels), request_folder("shares-"))
    contributions = found.shares.contributions.double().numpy()
    return [
        (path, f"channel {c}: {contributions[c]:+.3f}")
        for path, c in zip(paths, channels, strict=True)
    ]


def downloads(found: Features, described: dict[str, Any]) -> tuple[str, str]:
    """The raw numbers: the 16 share maps, the contributions and the top images (.npz), and the
    answer of /features (.json)."""
    folder = request_folder("features-")
    arrays, record = folder / "features.npz", folder / "features.json"
    top = {} if found.top is None else {"top_images": found.top.indices}
    np.savez(
        arrays,
        share_maps=found.shares.maps.float().numpy(),
        contributions=found.shares.contributions.double().numpy(),
        order=np.asarray(found.order),
        **top,
    )
    record.write_text(json.dumps(described, indent=2))
    return str(arrays), str(record)


def show(
    image: Any,
    target: Any,
    contrast: Any,
    model: Any,
    baseline: Any,
    n_steps: Any,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> Iterator[tuple[Any, ...]]:
    """The panel for the page's request: the bars, the sum and the maps first, then (once the
    test set has loaded) the windows and the downloads."""
    if image is None:
        raise no_image()
    with user_errors("split the decision by learned feature"):
        picture = api.read_upload(image)
        early = None
        if not api.backend().dataset.ready:  # the bars and maps now, the windows once loaded
            early, name = features_api.decision(picture, target, contrast, model, baseline, n_steps)
            described = {**early.to_dict(), "model": name}
            yield (
                request_text(described),
                bars_html(described),
                sum_text(described),
                share_items(early),
                windows_note(None, loading=True),
                None,
                [],
                None,
                None,
            )

        def report(done: int, total: int, what: str) -> None:
            progress((done, total), desc=f"{what}: {done:,} of {total:,} images")

        if early is None:
            found, data, name = features_api.compute(
                picture, target, contrast, model, baseline, n_steps, report
            )
        else:  # the decision already made: only the top images wait for the set
            found, data = features_api.with_top(early, name, report)
        described = features_api.answer(found, name)
        items, indices = window_items(found, data)
        yield (
            request_text(described),
            bars_html(described),
            sum_text(described),
            share_items(found),
            windows_note(described["top_images_from"]),
            items,
            indices,
            *downloads(found, described),
        )


def pick_window(evt: gr.SelectData, shown: list[int]) -> int:
    """A click on a window: its test image's index, for the Explain chain."""
    return shown[evt.index]


def show_if_open(
    opened: bool,
    image: Any,
    target: Any,
    contrast: Any,
    model: Any,
    baseline: Any,
    n_steps: Any,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> Iterator[tuple[Any, ...]]:
    """After each explanation: the open panel follows the page's request (a closed one waits
    until it is opened)."""
    if not opened or image is None:
        yield tuple(gr.skip() for _ in range(OUTPUTS))
        return
    yield from show(image, target, contrast, model, baseline, n_steps, progress)


def show_on_open(
    image: Any,
    target: Any,
    contrast: Any,
    model: Any,
    baseline: Any,
    n_steps: Any,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> Iterator[tuple[Any, ...]]:
    """The panel opened: filled for the image on the page; without one, it waits quietly for
    the next explanation (a link opens the panel before its image has come)."""
    if image is None:
        yield tuple(gr.skip() for _ in range(OUTPUTS))
        return
    yield from show(image, target, contrast, model, baseline, n_steps, progress)


def wire(panel: FeaturesPanel, tab: Any, explain: Any, details: gr.JSON, concurrency: int) -> None:
    """The panel's events; `tab`: the Explain tab's components; `explain`: its wiring;
    `details`: what each explanation answers."""
    request = [tab.image, tab.target, tab.contrast, tab.model, tab.baseline, tab.n_steps]
    panel.accordion.expand(lambda: True, outputs=panel.opened, **INSTANT)
    panel.accordion.collapse(lambda: False, outputs=panel.opened, **INSTANT)
    details.change(
        show_if_open,
        inputs=[panel.opened, *request],
        outputs=panel.outputs,
        api_visibility="private",
        trigger_mode="always_last",
        show_progress="minimal",
        concurrency_id="model",
        concurrency_limit=concurrency,
        **RAW,
    )
    for trigger, function in ((panel.accordion.expand, show_on_open), (panel.button.click, show)):
        trigger(
            function,
            inputs=request,
            outputs=panel.outputs,
            api_visibility="private",
            trigger_mode="always_last",
            concurrency_id="model",
            concurrency_limit=concurrency,
            **RAW,
        )
    explain.explain_index(
        panel.windows.select(
            pick_window,
            inputs=panel.shown,
            outputs=tab.index,
            queue=False,
            api_visibility="private",
            **RAW,
        )
    )


def register_api(panel: FeaturesPanel, tab: Any, concurrency: int) -> None:
    """/features, after the frozen endpoints: the same request as the panel's, one answer."""
    request = [tab.image, tab.target, tab.contrast, tab.model, tab.baseline, tab.n_steps]
    panel.api_button.click(
        features_api.image_features,
        inputs=request,
        outputs=panel.api_output,
        api_name="features",
        concurrency_id="model",
        concurrency_limit=concurrency,
        **RAW,
    )
