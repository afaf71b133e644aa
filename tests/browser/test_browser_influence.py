"""The training-data view in a real browser: Playwright drives Debian's Chromium against
`python app.py` with a synthetic training folder and checkpoints that belong to the app's
weights (tests/influence_app.py; no ../shared needed).

Example 3 explained, "Training images behind it" opened: 8 proponents and 8 opponents with
their labels and scores; one clicked is loaded into the Explain tab and explained. The Test
set tab's "Hardest training images": a page, filtered by class, and one clicked explains it.

`python -m tests.browser.test_browser_influence URL PATH` saves the README's picture of the
panel (docs/influence.png).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from chromium import LAPTOP, WAIT_MS, screenshot_down_to, truth_box, wait_for_maps

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

APP_ENV: dict[str, str] = {}  # filled in by `app_url` below, before the server starts
TOP = 8
CAPTION = re.compile(r"^[+-]\d\S* \w+$")  # the score and the training label


@pytest.fixture(scope="module")
def app_url(app_servers, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The server with a training set and checkpoints (shared with tests/app's module)."""
    from influence_app import influence_env  # here: the screenshot's entry point needs none

    APP_ENV.update(influence_env(tmp_path_factory))
    return app_servers.url(APP_ENV)


def open_influence(page, url: str) -> None:
    """The app (example 3 explained), then "Training images behind it" opened, until its
    proponents and opponents have loaded."""
    from playwright.sync_api import expect

    page.goto(url)
    wait_for_maps(page)
    page.get_by_text("Training images behind it", exact=False).first.click()
    for side in ("proponents", "opponents"):
        expect(page.locator(f"#influence-{side} .caption-label")).to_have_count(
            TOP, timeout=WAIT_MS
        )
    page.locator("#influence-opponents").scroll_into_view_if_needed()
    page.wait_for_function(
        "[...document.querySelectorAll('#influence-proponents img, #influence-opponents img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=WAIT_MS,
    )


def test_proponents_and_opponents_show_and_one_clicked_is_explained(browser, app_url) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    open_influence(page, app_url)
    expect(page.locator("#influence-heading")).to_contain_text("over 300 training images")
    expect(page.locator("#influence-note")).to_contain_text("Indices refer to")
    captions = page.locator("#influence-proponents .caption-label").all_inner_texts()
    assert all(CAPTION.match(text) for text in captions), captions
    scores = [float(text.split(" ")[0]) for text in captions]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    opponent = page.locator("#influence-opponents .caption-label").first.inner_text()
    label = opponent.split(" ")[1]
    page.locator("#influence-opponents .thumbnail-item").first.click()
    truth = rf"^{label} \(300 CIFAR-10 training images.*training image #(\d+)\)$"
    expect(truth_box(page)).to_have_value(re.compile(truth), timeout=WAIT_MS)
    index = re.match(truth, truth_box(page).input_value()).group(1)
    captions = wait_for_maps(page)
    assert captions[0].endswith(f"true label {label}")
    # Its link names the training image (split=train), and opens it, explained, again.
    page.locator("#explain-copy-link").click()
    shown = page.locator("#explain-link textarea, #explain-link input").first
    expect(shown).to_have_value(re.compile(rf"split=train&set=\w{{16}}&index={index}"))
    again = browser.new_page(viewport=LAPTOP)
    again.goto(shown.input_value())
    expect(truth_box(again)).to_have_value(re.compile(truth), timeout=WAIT_MS)
    assert wait_for_maps(again)[0].endswith(f"true label {label}")
    again.close()
    page.close()


def test_hardest_training_images_page_and_filter(browser, app_url) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    page.goto(app_url)
    page.get_by_role("tab", name="Test set").click()
    page.get_by_text("Hardest training images", exact=True).first.click()
    page.locator("#hardest-button").click()
    items = page.locator("#hardest-images .caption-label")
    expect(items).to_have_count(24, timeout=WAIT_MS)
    expect(page.locator("#hardest-heading")).to_contain_text("Page 1 of 13")
    page.locator("#hardest-class input").click()
    page.get_by_role("option", name="cat", exact=True).click()
    expect(page.locator("#hardest-heading")).to_contain_text("labelled cat", timeout=WAIT_MS)
    expect(items).to_have_count(24)
    assert all(text.startswith("cat → ") for text in items.all_inner_texts())
    page.locator("#hardest-images .thumbnail-item").first.click()
    shown = r"^cat \(.*training image #\d+\)$"
    expect(truth_box(page)).to_have_value(re.compile(shown), timeout=WAIT_MS)
    wait_for_maps(page)
    page.close()


def save_readme_screenshot(url: str, path: Path) -> None:
    """docs/influence.png: example 3 explained, its proponents and opponents."""
    screenshot_down_to(
        url, path, lambda page: open_influence(page, url), "#influence-note", "#influence-panel"
    )


if __name__ == "__main__":
    save_readme_screenshot(sys.argv[1], Path(sys.argv[2]))
