"""The Test set tab and the side-by-side models in a real browser: Playwright drives Debian's
Chromium against `python app.py`, on the full test set when ../shared has it (else the 20
bundled images).

Screenshots go to artifacts/ (git-ignored). `python -m tests.browser.test_browser_testset URL PATH`
saves the README's picture of the tab (a confusion cell clicked, its images listed).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from chromium import (
    ARTIFACTS,
    LAPTOP,
    ROOT,
    WAIT_MS,
    screenshot_down_to,
    truth_box,
    wait_for_maps,
)

from interpret import CLASSES, DEFAULT_METHODS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

FULL = ROOT.parent / "shared" / "cifar10" / "test"
# The session's server with the full test set (shared with tests/app/test_app_testset_full.py),
# else its shared server on the 20 bundled images.
APP_ENV = {"INTERPRET_CIFAR10_DIR": str(FULL)} if FULL.is_dir() else {}
CELLS = '#confusion [role="gridcell"]'
COLUMNS = 1 + len(CLASSES) + 1  # the true class, the ten predicted classes, the accuracy


def open_test_set_tab(page, url: str) -> None:
    """The app, then its Test set tab, until the first page of thumbnails has loaded."""
    from playwright.sync_api import expect

    page.goto(url)
    wait_for_maps(page)  # the page opens on example 3 explained
    page.get_by_role("tab", name="Test set").click()
    expect(page.locator("#testset-status")).to_contain_text("page 1 of", timeout=WAIT_MS)
    expect(page.locator(CELLS)).to_have_count(len(CLASSES) * COLUMNS, timeout=WAIT_MS)


def mistake_cell(page) -> tuple[int, int, int]:
    """(true class, predicted class, count) of the largest off-diagonal cell of the matrix."""
    texts = page.locator(CELLS).all_inner_texts()
    counts = [
        (int(texts[row * COLUMNS + 1 + column]), row, column)
        for row in range(len(CLASSES))
        for column in range(len(CLASSES))
        if row != column
    ]
    count, row, column = max(counts)
    assert count > 0, "the model makes no mistakes on this set"
    return row, column, count


def click_cell_and_wait(page) -> tuple[str, str, int]:
    """Click the largest mistake's cell; wait for its thumbnails (loaded). Its classes and
    count."""
    from playwright.sync_api import expect

    row, column, count = mistake_cell(page)
    page.locator(CELLS).nth(row * COLUMNS + 1 + column).click()
    true, predicted = CLASSES[row], CLASSES[column]
    expect(page.locator("#testset-status")).to_contain_text(f"{count:,} images", timeout=WAIT_MS)
    shown = min(count, 24)
    expect(page.locator("#testset-grid .caption-label")).to_have_count(shown, timeout=WAIT_MS)
    page.wait_for_function(
        "[...document.querySelectorAll('#testset-grid img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=WAIT_MS,
    )
    return true, predicted, count


def test_a_confusion_cell_lists_its_images_and_a_click_explains_one(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    open_test_set_tab(page, app_url)
    expect(page.locator("#testset-note")).to_contain_text(
        "the CIFAR-10 test set (10,000 images)" if APP_ENV else "the 20 bundled"
    )
    true, predicted, _ = click_cell_and_wait(page)
    expect(page.locator("#true-class input")).to_have_value(true)
    expect(page.locator("#predicted-class input")).to_have_value(predicted)
    captions = page.locator("#testset-grid .caption-label").all_inner_texts()
    assert all(f"✗ {true} → {predicted} " in caption for caption in captions), captions
    confidences = [int(re.search(r"(\d+)%$", caption).group(1)) for caption in captions]
    assert confidences == sorted(confidences, reverse=True)  # most confident mistakes first
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "testset.png", full_page=True)

    index = int(re.match(r"#(\d+) ", captions[0]).group(1))
    page.locator("#testset-grid .thumbnail-item").first.click()
    expect(page.locator("#explain-tab")).to_be_visible(timeout=WAIT_MS)
    expect(truth_box(page)).to_have_value(re.compile(rf"^{true} \(.*#{index}\)$"), timeout=WAIT_MS)
    expect(page.locator("#index input")).to_have_value(str(index))
    maps = page.locator("#gallery .caption-label")
    expect(maps.first).to_contain_text(f"predicted {predicted} ", timeout=WAIT_MS)
    captions = wait_for_maps(page)
    assert captions[0].endswith(f"true label {true}") and len(captions) == 1 + len(DEFAULT_METHODS)
    assert all(caption.endswith(f"target: {predicted}") for caption in captions[1:])
    expect(page.locator("#label")).to_contain_text(f"(true label: {true})")
    page.close()


def test_a_second_model_explains_the_same_image_and_target(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    page.goto(app_url)
    first = wait_for_maps(page)
    target = first[1].rsplit("target: ", 1)[1]
    page.locator("#compare input").click()
    page.get_by_role("option", name=re.compile(r"^tutorial")).click()
    second = page.locator("#second-gallery .caption-label")
    expect(second).to_have_count(1 + len(DEFAULT_METHODS), timeout=WAIT_MS)
    expect(page.locator("#second-heading")).to_contain_text("Second row: tutorial")
    expect(page.locator("#second-heading")).to_contain_text(f"(default): {target}")
    assert all(text.endswith(f"target: {target}") for text in second.all_inner_texts()[1:])
    page.close()


def test_a_strategy_lists_its_images_and_a_click_explains_one(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    open_test_set_tab(page, app_url)
    page.locator("#strategies-class input").click()
    page.get_by_role("option", name="frog", exact=True).click()
    page.get_by_role("button", name="Find its strategies").click()
    expect(page.locator("#strategies-summary")).to_contain_text("for frog", timeout=WAIT_MS)
    cards = page.locator("#strategies .caption-label")
    assert cards.count() >= 1 and cards.first.inner_text().startswith("Strategy 1: ")
    members = page.locator("#strategy-members .caption-label")
    expect(members.first).to_be_visible(timeout=WAIT_MS)
    index = int(re.match(r"#(\d+) ", members.first.inner_text()).group(1))
    page.locator("#strategy-members .thumbnail-item").first.click()
    expect(truth_box(page)).to_have_value(re.compile(rf"^frog \(.*#{index}\)$"), timeout=WAIT_MS)
    wait_for_maps(page)
    page.close()


def save_readme_screenshot(url: str, path: Path) -> None:
    """The README's picture: the Test set tab, the largest mistake's cell clicked, down to its
    thumbnails."""

    def show(page) -> None:
        open_test_set_tab(page, url)
        click_cell_and_wait(page)

    screenshot_down_to(url, path, show, "#testset-grid")


if __name__ == "__main__":
    save_readme_screenshot(sys.argv[1], Path(sys.argv[2]))
