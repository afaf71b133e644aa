"""Class strategies (SpRAy) in the Test set tab: for one class, its test images' Integrated
Gradients maps clustered into the distinct ways the model decides (`interpret.dataset.strategies`).

Each strategy is a card: its mean map as a heat map, its size and accuracy. Clicking a card
lists its images, most typical first; clicking an image explains it in the Explain tab. The
first request for a class computes the maps with a progress bar (seconds for the 1,000 images
of a class); the library caches the result per weights and test set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from interpret import CLASSES

from . import api
from .config import RAW
from .errors import user_errors
from .files import request_folder, save_pictures
from .pictures import mean_map_card, thumbnails
from .views import strategies_text, strategy_caption

MEMBERS_SHOWN = 48


@dataclass
class StrategiesPanel:
    class_name: gr.Dropdown
    button: gr.Button
    summary: gr.Markdown
    cards: gr.Gallery
    members_heading: gr.Markdown
    members: gr.Gallery
    clusters: gr.State  # each strategy's member indices, most typical first
    shown: gr.State  # the indices in the members gallery

    @property
    def members_outputs(self) -> list[Any]:
        return [self.members_heading, self.members, self.shown]


def build() -> StrategiesPanel:
    """Lay out the panel (at the bottom of the Test set tab)."""
    gr.Markdown(
        "### Class strategies\n"
        "Does the model decide a class in one way or in several? The maps of the class's test "
        "images are clustered (SpRAy: Lapuschkin et al., *Unmasking Clever Hans predictors*, "
        "2019), and each group is one strategy.",
        elem_id="strategies-intro",
    )
    with gr.Row(equal_height=True):
        class_name = gr.Dropdown(
            list(CLASSES), value="horse", label="Class", scale=2, elem_id="strategies-class"
        )
        button = gr.Button("Find its strategies", variant="primary", scale=1)
    summary = gr.Markdown(elem_id="strategies-summary")
    cards = gr.Gallery(
        label="Strategies: mean map, size, accuracy",
        show_label=False,
        columns=6,
        height="auto",
        object_fit="contain",
        allow_preview=False,
        visible=False,
        elem_id="strategies",
    )
    members_heading = gr.Markdown(elem_id="members-heading")
    members = gr.Gallery(
        label="Images of the strategy",
        show_label=False,
        columns=12,
        height="auto",
        object_fit="contain",
        allow_preview=False,
        visible=False,
        elem_id="strategy-members",
    )
    return StrategiesPanel(
        class_name,
        button,
        summary,
        cards,
        members_heading,
        members,
        gr.State([]),
        gr.State([]),
    )


def members_view(clusters: list[list[int]], number: int, model: Any) -> tuple[str, list, list]:
    """Strategy `number` (0-based): its heading, its first images (most typical first) with
    the model's prediction, and their indices."""
    members = clusters[number][:MEMBERS_SHOWN]
    _, predicted = api.predictions(model)
    data = api.test_set()
    items = [
        (
            thumbnails().path(data, index),
            f"#{index} → {CLASSES[predicted.predicted[index]]} {predicted.confidence[index]:.0%}",
        )
        for index in members
    ]
    total = len(clusters[number])
    heading = f"**Strategy {number + 1}**: {total:,} images"
    if total > len(members):
        heading += f", the {len(members)} most typical shown"
    return heading + ". Click one to explain it.", gr.Gallery(items, visible=True), members


def find(model: Any, class_name: Any, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
    """The strategies of `class_name` for `model`: the summary, one card per strategy, every
    strategy's members, and the first strategy's images."""

    def report(done: int, total: int, what: str) -> None:
        progress((done, total), desc=f"{what}: {done:,} of {total:,} images")

    with user_errors("find the class strategies"):
        progress(None, desc="Loading the test set and the predictions")
        api.predictions(model)
        result = api.class_strategy_result(class_name, model, report)
        described = result.to_dict()
        name = api.backend().models.resolve(model)
        pictures, captions = [], []
        for number, (cluster, row) in enumerate(zip(result.clusters, described["clusters"]), 1):
            title, subtitle = strategy_caption(number, row)
            pictures.append(mean_map_card(cluster.mean_map, title, subtitle))
            captions.append(f"{title} · {subtitle}")
        paths = save_pictures(pictures, request_folder("strategies-"))
        clusters = [[int(i) for i in cluster.members] for cluster in result.clusters]
        return (
            strategies_text(described, name),
            gr.Gallery(list(zip(paths, captions, strict=True)), visible=True),
            clusters,
            *members_view(clusters, 0, model),
        )


def pick_strategy(evt: gr.SelectData, clusters: list[list[int]], model: Any) -> tuple[Any, ...]:
    """A click on a strategy's card: its images."""
    with user_errors("show the strategy's images"):
        return members_view(clusters, evt.index, model)


def pick_member(evt: gr.SelectData, shown: list[int]) -> tuple[int, gr.Tabs]:
    """A click on an image: its index for the Explain tab, which opens."""
    return shown[evt.index], gr.Tabs(selected="explain")


def wire(panel: StrategiesPanel, model: gr.Dropdown, explain: Any, tabs: gr.Tabs) -> None:
    """The panel's events; `explain`: the Explain tab's wiring, which explains an image."""
    quiet = {"api_visibility": "private", **RAW}
    panel.button.click(
        find,
        inputs=[model, panel.class_name],
        outputs=[panel.summary, panel.cards, panel.clusters, *panel.members_outputs],
        concurrency_id="strategies",
        concurrency_limit=1,
        **quiet,
    )
    panel.cards.select(
        pick_strategy,
        inputs=[panel.clusters, model],
        outputs=panel.members_outputs,
        show_progress="minimal",
        **quiet,
    )
    explain.explain_index(
        panel.members.select(
            pick_member,
            inputs=panel.shown,
            outputs=[explain.tab.index, tabs],
            queue=False,
            **quiet,
        )
    )
