"""The Explain tab's event chains: the events that take a new image or a new setting to an
explanation, and what follows each one.

Event chain for a new image (upload, example, index, Random, a thumbnail of the Test set tab):
describe it (true label, target choices, old results cleared) -> a quick label -> the maps
(then, when asked for, their trust scores: `api.explain_on_page` answers in steps) -> summary,
downloads (ui/downloads.py) and the second model's row (ui/compare_panel.py). A changed
setting, the model included, goes straight to the maps. API clients' /explain is a separate,
hidden trigger that answers once.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from . import api, compare_panel
from .config import INSTANT, RAW
from .downloads import Downloads, then_download
from .explain_tab import (
    ExplainTab,
    clear_results,
    describe_new_image,
    not_updated,
    sampling_note,
    summarize,
    summarize_while_scoring,
)
from .gradio_fixes import UploadsOnlyBlocks


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
        **INSTANT,
    )
    explained.failure(
        not_updated,
        inputs=details,
        outputs=tab.summary,
        **INSTANT,
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
                api.explain_on_page,
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
        **INSTANT,
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
    # /explain, for API clients: one answer. The page's events answer in steps instead (the
    # maps, then their trust scores): `api.explain_on_page`.
    tab.explain_api_button.click(
        api.explain_image,
        inputs=tab.parameters,
        outputs=chains.results,
        api_name="explain",
        **model_event,
    )
    # The button, and any change to a setting, recomputes.
    after_explanation(
        gr.on(
            triggers=[tab.explain_button.click, *tab.settings],
            fn=api.explain_on_page,
            inputs=tab.parameters,
            outputs=chains.results,
            api_visibility="private",
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
    details.change(
        summarize_while_scoring,
        inputs=details,
        outputs=[tab.summary, tab.label],
        **INSTANT,
    )
    if isinstance(blocks, UploadsOnlyBlocks):  # /explain's `model`, appended: None = default
        blocks.appended["explain"] = [None]
    compare_panel.wire(tab.parameters, tab.compare, details, tab.second, concurrency)
    return chains
