"""The page's events under ZeroGPU's rules (tests/zerogpu_server.py: the real `python app.py`
with the stand-in of `spaces.GPU`, every GPU call in a forked worker), in Chromium: the first
visit, an Explain click with trust scores, Compare with, the Test set tab's matrix, a cell, a
thumbnail, the strategies, the batch view and the disagreements view, "Inside the network"
filled by one small GPU call; and a refusal for quota shown on the page while the page keeps
working.

The same server answers tests/app/test_app_zerogpu.py (the endpoints, bytes and durations).
"""

from __future__ import annotations

import re

import pytest
from chromium import LAPTOP, WAIT_MS, wait_for_maps, wait_until_drawn
from test_browser_features import SHOWN, TOP
from test_browser_testset import open_test_set_tab
from zerogpu_server import ENV, calls, fail_next

from ui.features_api import _features_seconds

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]
APP_ENV = ENV


def test_a_first_visit_out_of_quota_says_so_and_the_next_visit_explains(
    browser, app_url: str
) -> None:
    """The first page load computes the example on ZeroGPU (this module loads the server's
    first page: the endpoint tests load none)."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    fail_next("quota")
    page.goto(app_url)
    toast = page.locator(".toast-body")
    expect(toast).to_contain_text("The GPU can't be used for you right now", timeout=WAIT_MS)
    expect(page.locator("#gallery .caption-label")).to_have_count(0)
    page.reload()
    wait_for_maps(page)
    page.close()


def test_explain_with_trust_scores_and_a_refusal_on_the_page(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    page.goto(app_url)
    wait_for_maps(page)  # the first visit: computed by a GPU call, then kept by the server
    mark = len(calls())
    page.locator("#trust-scores input").check()
    table = page.locator("#trust-table")
    expect(table).to_be_visible(timeout=WAIT_MS)
    expect(table).to_contain_text("DeepLift")
    expect(page.locator("#trust-note")).to_contain_text("Sanity check", timeout=WAIT_MS)
    made = [call["function"] for call in calls(mark)]
    assert made == ["explain_on_gpu", "score_on_gpu"], made

    mark = len(calls())
    fail_next("quota")
    explain = page.get_by_role("button", name="Explain", exact=True)
    explain.click()
    for _ in range(WAIT_MS // 500):
        if calls(mark):
            break
        page.wait_for_timeout(500)
    refused = calls(mark)[:1]
    assert [(c["function"], c["outcome"]) for c in refused] == [
        ("explain_on_gpu", "refused: ZeroGPU quota exceeded")
    ], calls(mark)
    toast = page.locator(".toast-body")
    expect(toast).to_contain_text("The GPU can't be used for you right now", timeout=WAIT_MS)
    expect(toast).to_contain_text("Try again in")
    expect(page.locator("#gallery .caption-label")).to_have_count(5)  # the maps stay
    mark = len(calls())
    explain.click()  # the page keeps working: the next click explains, with the scores
    for _ in range(WAIT_MS // 500):
        if [call["function"] for call in calls(mark)] == ["explain_on_gpu", "score_on_gpu"]:
            break
        page.wait_for_timeout(500)
    assert [call["outcome"] for call in calls(mark)] == ["ok", "ok"], calls(mark)
    expect(table).to_contain_text("DeepLift", timeout=WAIT_MS)
    page.close()


def test_the_batch_view_and_the_disagreements(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    open_test_set_tab(page, app_url)
    mark = len(calls())
    page.locator("#batch-view").get_by_text("Batch view").click()
    page.get_by_role("button", name="Explain the first 8 images of this page").click()
    batch = page.locator("#batch img")
    expect(batch).to_be_visible(timeout=WAIT_MS)
    page.wait_for_function(
        "(() => { const img = document.querySelector('#batch img');"
        " return img && img.complete && img.naturalWidth > 0; })()",
        timeout=WAIT_MS,
    )
    assert "batch_on_gpu" in [call["function"] for call in calls(mark)]

    page.locator("#testset-other input").click()
    page.get_by_role("option", name=re.compile(r"^tutorial")).click()
    expect(page.locator("#which")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#testset-status")).to_contain_text("disagree", timeout=WAIT_MS)
    expect(page.locator("#testset-grid .caption-label").first).to_be_visible(timeout=WAIT_MS)
    page.close()


def test_inside_the_network_is_one_small_gpu_call(browser, app_url: str) -> None:
    """The panel filled (16 bars, the top channels' maps and windows) from one GPU call of
    the declared duration, a 32 x 32 picture in and the 16 share maps out (docs/ZEROGPU.md);
    the top images by a second call, once per session."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    mark = len(calls())
    page.goto(app_url)
    wait_for_maps(page)  # the first visit's example (kept by the server)
    page.get_by_text("Inside the network", exact=False).first.click()
    expect(page.locator("#features-bars .feature-bar")).to_have_count(16, timeout=WAIT_MS)
    windows = page.locator("#features-windows .caption-label")
    expect(windows).to_have_count(SHOWN * TOP, timeout=WAIT_MS)  # after the set's load
    expect(page.locator("#features-shares .caption-label")).to_have_count(SHOWN)
    expect(page.locator("#features-shares img")).to_have_count(SHOWN)
    # Drawn, not only served: a GPU worker holding the server's sockets once left requests on
    # connections the server had closed unread, and 4 of the 6 maps blank.
    wait_until_drawn(page, "#features-shares")
    wait_until_drawn(page, "#features-windows")
    made = [call for call in calls(mark) if call["function"] != "explain_on_gpu"]
    named = [call["function"] for call in made]
    assert named.count("features_on_gpu") == 1, named
    assert set(named) <= {"features_on_gpu", "top_images_on_gpu"}, named
    for call in made:
        assert call["outcome"] == "ok" and call["tensors"] == [], call
        assert call["worker"] != call["server"] and call["seconds"] < call["duration"], call
    (shares,) = [call for call in made if call["function"] == "features_on_gpu"]
    assert shares["duration"] == _features_seconds("default", None, None, None, "zeros", 50) == 6
    assert shares["args_bytes"] <= 4_096 and 196_608 < shares["result_bytes"] <= 210_000, shares
    for call in made:
        if call["function"] == "top_images_on_gpu":
            assert call["args_bytes"] <= 1_024 and call["result_bytes"] <= 8_192, call
    page.close()


# The Test set tab's own tests, run again on this server (pytest collects them here too).
from test_browser_testset import (  # noqa: E402 (after this module's tests: they run first)
    test_a_confusion_cell_lists_its_images_and_a_click_explains_one,
    test_a_second_model_explains_the_same_image_and_target,
    test_a_strategy_lists_its_images_and_a_click_explains_one,
)

__all__ = [
    "test_a_confusion_cell_lists_its_images_and_a_click_explains_one",
    "test_a_second_model_explains_the_same_image_and_target",
    "test_a_strategy_lists_its_images_and_a_click_explains_one",
]
