"""The whole page: the title, then two tabs: Explain (explain panel, trust panel, details,
help) and Test set (ui/testset_tab.py); the footer; then every event wired. `build_demo` is
all app.py needs."""

from __future__ import annotations

import gradio as gr

from interpret import Net
from interpret.core.preprocess import MAX_FILE_BYTES, MAX_PIXELS

from . import (
    api,
    atlas_panel,
    explain_tab,
    explain_wiring,
    features_api,
    features_panel,
    first_visit,
    hardest_panel,
    influence_api,
    influence_panel,
    link_wiring,
    mcp_influence,  # noqa: F401 (importing it registers the training-data view's MCP tools)
    mcp_tools,
    testset_tab,
    trust_panel,
)
from .config import ServerSettings
from .gradio_fixes import UploadsOnlyBlocks
from .links import EXPLAIN, TESTSET
from .views import method_help

TITLE = "Why did the CNN say that? · CIFAR-10 + Captum"
INTRO = (
    "# Why did the CNN say that?\n"
    "Upload a picture, pick a random CIFAR-10 test image or click an example. The small CNN "
    "from [Captum's CIFAR-10 tutorial](https://captum.ai/tutorials/CIFAR_TorchVision_Interpret)"
    " sorts it into one of ten classes, and attribution methods show which pixels drove that "
    "decision. For students and anyone curious about how image classifiers decide, and about "
    "how far the explanations agree. The *Test set* tab shows every test image's prediction: "
    "where the model fails, how two models differ, and the strategies it uses per class."
)


def footer(model: Net, device: str) -> str:
    """Weights, device, upload limits and where the examples come from."""
    return (
        f"Weights: `{model.weights_source}` · device: `{device}` · uploads up to "
        f"{MAX_FILE_BYTES // 2**20} MB and {MAX_PIXELS // 1_000_000} megapixels · "
        "examples: the first 20 CIFAR-10 test images (Krizhevsky, 2009) as shipped with "
        "[foolbox](https://github.com/bethgelab/foolbox) (MIT); training images: the CIFAR-10 "
        "training set (Krizhevsky, 2009), when the server has it."
    )


def build_demo(
    model: Net, device: str, server: ServerSettings, opening: first_visit.FirstVisit | None
) -> UploadsOnlyBlocks:
    """The app's Blocks (queue not yet configured); `opening`: the result the page opens with,
    None for a page that opens empty."""
    with UploadsOnlyBlocks(
        title=TITLE,
        analytics_enabled=False,
        delete_cache=(3600, 3600),  # drop generated PNGs and uploads older than an hour
        mcp_tools=mcp_tools.TOOLS,  # what launch(mcp_server=True) serves (ui/theme.py)
    ) as demo:
        gr.Markdown(INTRO, elem_id="title")
        link_message = gr.Markdown(visible=False, elem_id="link-message")
        models = api.backend().models
        # The tabs' ids are part of every link (`tab=`): keep them.
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Explain", id=EXPLAIN, elem_id="explain-tab"):
                explain_link = link_wiring.panel(EXPLAIN)
                tab = explain_tab.build(demo)
                trust = trust_panel.build()
                inside = features_panel.build()
                behind = influence_panel.build()
                with gr.Accordion("Details (JSON)", open=False):
                    details = gr.JSON(label="Details", elem_id="details")
                gr.Markdown(method_help(), elem_id="help")
            with gr.Tab("Test set", id=TESTSET, elem_id="testset-tab") as testset_opened:
                testset_link = link_wiring.panel(TESTSET)
                browser = testset_tab.build(models)
                hardest = hardest_panel.build()
                atlas = atlas_panel.build()
        gr.Markdown(footer(model, device), elem_id="footer")
        last_result = gr.State(time_to_live=3600)  # per session; API clients do not see it

        chains = explain_wiring.wire(
            demo, tab, details, last_result, trust.downloads, server.concurrency
        )
        trust_panel.wire(trust, details)
        features_panel.wire(inside, tab, chains, details, server.concurrency)
        influence_panel.wire(behind, tab, chains, details, server.concurrency)
        hardest_panel.wire(hardest, browser.model, chains, tabs, behind.train_index)
        atlas_panel.wire(atlas, browser.model, chains, tabs)
        testset_tab.wire(browser, testset_opened.select, chains, tabs, server.concurrency)
        # On load: the link's view, else the opening example (ui/first_visit.py).
        link_wiring.wire(
            demo,
            link_message,
            tab,
            details,
            trust.downloads,
            chains,
            browser,
            tabs,
            opening,
            inside.accordion,
            behind.train_index,
        )
        link_wiring.wire_copy(
            explain_link,
            [*tab.parameters, tab.compare, tab.index, inside.opened, behind.train_index],
            link_wiring.explain_link_with_training,
        )
        link_wiring.wire_copy(
            testset_link, [*browser.filters, browser.page], link_wiring.testset_link
        )
        testset_tab.register_api(models, server.concurrency)
        features_panel.register_api(inside, tab, server.concurrency)  # appended: /features
        features_api.register(models.default)  # and /feature_atlas
        influence_panel.register_api(behind, tab)  # then /influence, /train_sample
        influence_api.register(models.default)  # and /hardest
    return demo
