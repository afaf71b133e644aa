"""The Test set tab's pieces in this process: the models the app offers and their names, the
test set it browses, thumbnails and pictures (modules without Gradio: tests/test_architecture.py
checks it), the tab's event functions on the 20 bundled images, and Gradio workaround 3 (a call
without an appended parameter).

The server, gradio_client and the browser are tests/app/test_app_testset*.py's and
tests/browser/test_browser_testset.py's.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from bundled_backend import bundled_backend
from gradio.state_holder import SessionState
from PIL import Image

from interpret import CLASSES, METHODS, explain_batch, load_model
from interpret.core.render import blend
from interpret.dataset import sources as testset
from interpret.dataset.browse import browse, confusion
from interpret.dataset.predictions import predict_test_set
from interpret.dataset.registry import RegistryError
from ui import api, pictures, testset_tab
from ui.gradio_fixes import UploadsOnlyBlocks
from ui.models import DEFAULT_NAME, Models
from ui.views import confusion_rows, item_caption

# ------------------------------------------------------------------ the models


def test_the_shipped_weights_keep_their_registry_name(shipped_net) -> None:
    models = Models.build(shipped_net, "cpu", environ={})
    assert models.default == "retrained" and models.names() == ["retrained", "tutorial"]
    assert models.load(None) is shipped_net and models.load("retrained") is shipped_net
    assert models.resolve("  tutorial ") == "tutorial"
    labels = dict((name, label) for label, name in models.choices())
    assert labels == {"retrained": "retrained · 74.5%", "tutorial": "tutorial · 58.4%"}


def test_other_weights_come_first_as_default(pretrained_dir: Path) -> None:
    seeded_net = load_model(pretrained_dir, device="cpu")  # the session's random weights
    models = Models.build(seeded_net, "cpu", environ={})
    assert models.names() == [DEFAULT_NAME, "retrained", "tutorial"]
    assert models.default == DEFAULT_NAME and models.load("") is seeded_net
    rows = models.describe()
    assert [row["default"] for row in rows] == [True, False, False]
    assert all("(sha256 " in row["weights"] for row in rows)  # every local model loaded
    for bad in ("gpt", 3, ["retrained"]):
        with pytest.raises(RegistryError, match=r"unknown model .*; choose one of default"):
            models.resolve(bad)
    assert models.others("retrained") == [DEFAULT_NAME, "tutorial"]


# ------------------------------------------------------------------ pictures


def test_thumbnails_are_the_test_images_written_once(tmp_path: Path) -> None:
    bundled = testset.bundled()
    store = pictures.Thumbnails(tmp_path)
    path = Path(store.path(bundled, 3))
    assert np.array_equal(np.asarray(Image.open(path)), bundled.images[3])
    written = path.stat().st_mtime_ns
    os.utime(path, ns=(written - 10**9, written - 10**9))  # a rewrite would change it again
    assert Path(store.path(bundled, 3)) == path
    assert path.stat().st_mtime_ns == written - 10**9


def test_the_batch_grid_shows_each_map_as_explain_draws_it(shipped_net) -> None:
    bundled = testset.bundled()
    methods = ["saliency", "integrated_gradients", "grad_cam"]
    results = explain_batch(
        shipped_net, [bundled.image(i) for i in (0, 1)], methods, overlays=False, n_steps=8
    )
    grid = pictures.batch_grid(results, [("#0", "a"), ("#1", "b")], alpha=0.5)
    cell, step = 32 * pictures.BATCH_SCALE, 32 * pictures.BATCH_SCALE + pictures.GAP
    assert grid.size == (pictures.ROW_LABEL + 4 * step, pictures.HEADER + 2 * step)
    pixels = np.asarray(grid)
    for row, result in enumerate(results):
        y = pictures.HEADER + row * step
        for column, key in enumerate(methods, start=1):
            x = pictures.ROW_LABEL + column * step
            method = METHODS[key]
            expected = blend(
                result.attributions[key],
                np.asarray(result.image),
                method.sign,
                method.outlier_perc,
                0.5,
                method.cmap,
            )
            shown = pixels[y : y + cell : pictures.BATCH_SCALE, x : x + cell : pictures.BATCH_SCALE]
            assert np.array_equal(shown, expected), (row, key)


def test_a_mean_map_card_uses_its_own_range() -> None:
    mean_map = np.zeros((32, 32), dtype=np.float32)
    mean_map[:16] = 0.25  # the top half looked at, a quarter as much as a single map's peak
    card = np.asarray(pictures.mean_map_card(mean_map, "Strategy 1", "50%"))
    assert card.shape[1] == 256
    bottom, top = card[-10, 10], card[-200, 10]
    assert top.sum() < bottom.sum()  # darker = more influence, scaled to the mean's maximum


# ------------------------------------------------------------------ the tab's functions


@pytest.fixture(scope="module")
def backend(shipped_net, tmp_path_factory: pytest.TempPathFactory) -> Iterator[api.Backend]:
    """The endpoints configured as app.py does, on the 20 bundled images, caching in a
    folder of this module's."""
    with bundled_backend(shipped_net, tmp_path_factory.mktemp("cache")) as configured:
        yield configured


FILTERS = ("retrained", "none", "any", "any", "all", "all", 0.0, 1.0, "most confident first")


def test_a_page_is_the_librarys_with_thumbnails_and_captions(backend, shipped_net) -> None:
    bundled = api.test_set()
    assert len(bundled) == 20 and "INTERPRET_CIFAR10_DIR" in bundled.reason
    text, items, indices, page = testset_tab.first_page(*FILTERS)
    expected = browse(predict_test_set(shipped_net, bundled), page=1)
    assert indices == [item["index"] for item in expected["items"]] and page == 1
    assert [caption for _, caption in items] == [item_caption(i) for i in expected["items"]]
    for (path, _), index in zip(items, indices, strict=True):
        assert np.array_equal(np.asarray(Image.open(path)), bundled.images[index])
    assert text.startswith("**20** images (predictions of **retrained**) · page 1 of 1")
    # Next on the only page stays there; a typed page past the end is refused in words.
    assert testset_tab.turned_page(+1)(*FILTERS, 1)[3] == 1
    with pytest.raises(gr.Error, match="page 3 is out of range"):
        testset_tab.show_page(*FILTERS, 3)


def test_a_matrix_cell_filters_to_its_images(backend, shipped_net) -> None:
    matrix = np.asarray(confusion(api.predictions("retrained")[1])["matrix"])
    true, predicted = map(int, np.argwhere(matrix > 0)[0])
    count = int(matrix[true, predicted])
    chosen = gr.SelectData(None, {"index": [true, predicted + 1], "value": count})
    true_name, predicted_name, outcome, *_, indices, _ = testset_tab.pick_cell(chosen, *FILTERS)
    assert (true_name, predicted_name, outcome) == (CLASSES[true], CLASSES[predicted], "all")
    assert len(indices) == matrix[true, predicted]
    row = gr.SelectData(None, {"index": [true, 0], "value": CLASSES[true]})  # the class name
    _, predicted_name, _, _, _, indices, _ = testset_tab.pick_cell(row, *FILTERS)
    assert predicted_name == "any" and len(indices) == matrix[true].sum()


def test_the_matrix_shades_each_cell_by_its_share_of_the_row(backend) -> None:
    result = confusion(api.predictions("tutorial")[1])
    headers, rows, shares = confusion_rows(result)
    assert headers[1:-1] == list(CLASSES) and len(rows) == 10
    np.testing.assert_allclose(shares.sum(axis=1)[shares.sum(axis=1) > 0], 1.0)
    styled = testset_tab.matrix_value(result).to_html()
    for i, j in [(0, 0), (3, 5), (9, 1)]:
        background = testset_tab.cell_style(shares[i, j]).split(";")[0]
        block = styled.split(f"_row{i}_col{j + 1}", 1)[1].split("}", 1)[0]
        assert background in block, (i, j)
    light, dark = testset_tab.cell_style(0.0), testset_tab.cell_style(1.0)
    assert "color: black" in light and "color: white" in dark
    assert light != dark


def test_disagreements_name_both_predictions(backend) -> None:
    filters = ("retrained", "tutorial", *FILTERS[2:])
    text, items, indices, _ = testset_tab.first_page(*filters)
    first, second = api.predictions("retrained")[1], api.predictions("tutorial")[1]
    assert sorted(indices) == np.flatnonzero(first.predicted != second.predicted).tolist()
    assert "where **retrained** and **tutorial** disagree" in text
    assert all(" · other: " in caption for _, caption in items)


def test_a_thumbnail_click_opens_the_explain_tab_on_its_index(backend) -> None:
    index, tabs = testset_tab.pick_image(
        gr.SelectData(None, {"index": 2, "value": None}), [7, 9, 4]
    )
    assert index == 4 and tabs.selected == "explain"


def test_the_models_default_is_the_api_pages_default() -> None:
    wrapped = testset_tab.with_default_model(api.browse_images, "retrained")
    import inspect

    parameters = inspect.signature(wrapped).parameters
    assert parameters["model"].default == "retrained" and parameters["page"].default == 1
    assert list(parameters) == list(inspect.signature(api.browse_images).parameters)


# ------------------------------------------------------------------ Gradio workaround 3


def short_call(blocks_class: type[gr.Blocks]) -> list:
    """What an event with two inputs gets from a call that sends only the first."""
    with blocks_class() as demo:
        first, second, out = gr.Textbox(), gr.Dropdown(["a", "b"], value="a"), gr.Textbox()
        gr.Button().click(lambda a, b: a, [first, second], out, api_name="echo", preprocess=False)
    if isinstance(demo, UploadsOnlyBlocks):
        demo.appended["echo"] = [None]
    function = next(f for f in demo.fns.values() if f.api_name == "echo")
    return asyncio.run(demo.preprocess_data(function, ["hello"], SessionState(demo)))


def test_gradio_still_refuses_a_call_without_an_appended_parameter() -> None:
    """When this fails, Gradio completes short calls itself: workaround 3 can go."""
    with pytest.raises(ValueError, match="didn't receive enough input values"):
        short_call(gr.Blocks)


def test_the_apps_blocks_complete_it_with_the_parameters_default() -> None:
    assert short_call(UploadsOnlyBlocks) == ["hello", None]
