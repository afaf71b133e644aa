"""The learned-features view in a real browser: Playwright drives Debian's Chromium against
`python app.py`, on the full test set when ../shared has it (else the 20 bundled images).

Example 3 explained, "Inside the network" opened: 16 bars, the top channels' share maps and
their windows; a window clicked explains that test image. The atlas: a cell clicked lists its
images, and one clicked explains it.

`python -m tests.browser.test_browser_features URL PATH` saves the README's picture of the
panel (docs/features.png).
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
    wait_until_drawn,
)

from interpret import CLASSES

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

FULL = ROOT.parent / "shared" / "cifar10" / "test"
APP_ENV = {"INTERPRET_CIFAR10_DIR": str(FULL)} if FULL.is_dir() else {}  # as test_browser_testset
SHOWN, TOP = 6, 8


def open_features(page, url: str) -> str:
    """The app (example 3 explained), then "Inside the network" opened, until its bars, maps
    and windows have loaded; the class the maps explain."""
    from playwright.sync_api import expect

    page.goto(url)
    target = wait_for_maps(page)[1].rsplit("target: ", 1)[1]
    page.get_by_text("Inside the network", exact=False).first.click()
    expect(page.locator("#features-bars .feature-bar")).to_have_count(16, timeout=WAIT_MS)
    expect(page.locator("#features-shares .caption-label")).to_have_count(SHOWN, timeout=WAIT_MS)
    windows = page.locator("#features-windows .caption-label")
    expect(windows).to_have_count(SHOWN * TOP, timeout=WAIT_MS)
    wait_until_drawn(page, "#features-shares")
    wait_until_drawn(page, "#features-windows")
    return target


def test_inside_the_network_shows_bars_maps_windows_and_a_window_explains(
    browser, app_url: str
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    target = open_features(page, app_url)
    expect(page.locator("#features-heading")).to_contain_text(f"logit[{target}] by model")
    expect(page.locator("#features-total")).to_contain_text("The 16 contributions add up to")
    note = "CIFAR-10 test set" if APP_ENV else "the 20 bundled CIFAR-10 test images only"
    expect(page.locator("#features-note")).to_contain_text(note)
    shares = page.locator("#features-shares .caption-label").all_inner_texts()
    values = [abs(float(re.search(r": ([+-][\d.]+)$", text).group(1))) for text in shares]
    assert values == sorted(values, reverse=True), shares  # the largest |contribution| first
    channels = [int(re.match(r"channel (\d+):", text).group(1)) for text in shares]
    windows = page.locator("#features-windows .caption-label").all_inner_texts()
    for number, channel in enumerate(channels):  # a row of 8 windows per channel, in order
        row = windows[number * TOP : (number + 1) * TOP]
        assert all(text.startswith(f"channel {channel} · #") for text in row), row
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "features.png", full_page=True)

    before = page.locator("#features-total").inner_text()
    picked = windows[TOP + 1]  # the second channel's second window
    index, label = re.search(r"#(\d+) (\w+)$", picked).groups()
    assert label in CLASSES
    page.locator("#features-windows .thumbnail-item").nth(TOP + 1).click()
    shown = re.compile(rf"^{label} \(.*#{index}\)$")
    expect(truth_box(page)).to_have_value(shown, timeout=WAIT_MS)
    expect(page.locator("#index input")).to_have_value(index)
    captions = wait_for_maps(page)
    assert captions[0].endswith(f"true label {label}"), captions
    # The open panel follows the new explanation: other contributions, the same windows.
    expect(page.locator("#features-total")).not_to_have_text(before, timeout=WAIT_MS)
    explained = captions[1].rsplit("target: ", 1)[1]
    heading = page.locator("#features-heading")
    expect(heading).to_contain_text(f"logit[{explained}] by model", timeout=WAIT_MS)
    expect(page.locator("#features-windows .caption-label")).to_have_count(SHOWN * TOP)
    page.close()


@pytest.mark.skipif(
    not FULL.is_dir(),
    reason="the atlas needs correctly classified images: the session's seeded test weights get "
    "none of the 20 bundled images right (the full test set is in ../shared)",
)
def test_an_atlas_cell_lists_its_images_and_a_click_explains_one(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    page.goto(app_url)
    wait_for_maps(page)
    page.get_by_role("tab", name="Test set").click()
    page.get_by_role("button", name="Show the atlas").click()
    cells = page.locator('#atlas [role="gridcell"]')
    expect(cells).to_have_count(len(CLASSES) * 17, timeout=WAIT_MS)
    expect(page.locator("#atlas-caption")).to_contain_text("correctly classified images")
    texts = cells.all_inner_texts()
    row = next(r for r in range(len(CLASSES)) if texts[r * 17 + 6].strip() != "—")  # has images
    name = CLASSES[row]
    cells.nth(row * 17 + 6).click()  # feature 5 of a class the model gets right at times
    expect(page.locator("#atlas-heading")).to_contain_text(f"{name}, feature 5", timeout=WAIT_MS)
    listed = page.locator("#atlas-images .caption-label")
    expect(listed.first).to_be_visible(timeout=WAIT_MS)
    index = int(re.match(r"#(\d+) ", listed.first.inner_text()).group(1))
    page.locator("#atlas-images .thumbnail-item").first.click()
    expect(truth_box(page)).to_have_value(re.compile(rf"^{name} \(.*#{index}\)$"), timeout=WAIT_MS)
    wait_for_maps(page)
    page.close()


def save_readme_screenshot(url: str, path: Path) -> None:
    """The README's picture: example 3's "Inside the network", from the panel down to its
    windows."""
    screenshot_down_to(
        url, path, lambda page: open_features(page, url), "#features-windows", "#features-panel"
    )


if __name__ == "__main__":
    save_readme_screenshot(sys.argv[1], Path(sys.argv[2]))
