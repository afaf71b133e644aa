"""Driving Debian's Chromium through Playwright: the launch settings and the waits every
browser test shares (tests/browser/, and the trust panel's test in tests/app/)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from interpret import DEFAULT_METHODS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 120_000  # a busy 2-core machine; an explanation takes about a second when idle
EXAMPLE = 3  # cifar10_03_0.png, an airplane: the example the page opens with
EXAMPLE_PATH = ROOT / "examples" / "cifar10_03_0.png"
CLICKED = 10  # cifar10_10_0.png, another airplane


def playwright_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    if CHROMIUM is None:
        pytest.skip("chromium is not on PATH (apt-get install chromium)")
    return sync_playwright


def launched() -> Iterator:
    """Headless Chromium with the flags a root user without network needs; closed when done."""
    sync_playwright = playwright_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def wait_for_maps(page) -> list[str]:
    """Wait until the gallery shows the model input and every default map, loaded, and the
    summary and downloads under them; the gallery's captions."""
    from playwright.sync_api import expect

    captions = page.locator("#gallery .caption-label")
    try:
        expect(captions).to_have_count(1 + len(DEFAULT_METHODS), timeout=WAIT_MS)
    except AssertionError as error:  # an error's toast says why, when one came
        toasts = page.locator(".toast-body").all_inner_texts()
        raise AssertionError(f"{error}\nthe page's messages: {toasts}") from None
    expect(page.locator("#summary")).to_contain_text("Weights", timeout=WAIT_MS)
    page.locator("#gallery").scroll_into_view_if_needed()
    page.wait_for_function(
        "[...document.querySelectorAll('#gallery img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=WAIT_MS,
    )
    page.evaluate("window.scrollTo(0, 0)")
    return captions.all_inner_texts()


def wait_until_drawn(page, selector: str) -> None:
    """Scroll to `selector` (a gallery) and wait until every picture in it has drawn: loaded
    (complete, naturalWidth > 0) and visible on the page, not merely served."""
    page.locator(selector).scroll_into_view_if_needed()
    page.wait_for_function(
        """selector => {
            const pictures = [...document.querySelectorAll(`${selector} img`)];
            return pictures.length > 0 && pictures.every(img => {
                const box = img.getBoundingClientRect();
                return img.complete && img.naturalWidth > 0 && box.width > 0
                    && box.height > 0 && getComputedStyle(img).visibility === "visible";
            });
        }""",
        arg=selector,
        timeout=WAIT_MS,
    )


def explain_example(page, url: str, row: int | None = None) -> list[str]:
    """Open the app, which opens on example EXAMPLE explained; with `row`, click that example
    (another one) and wait for its maps. The gallery's captions."""
    from playwright.sync_api import expect

    page.goto(url)
    expect(page).to_have_title("Why did the CNN say that? · CIFAR-10 + Captum")
    captions = wait_for_maps(page)
    expect(page.locator("#json-file")).to_contain_text(".json", timeout=WAIT_MS)
    if row is None or row == EXAMPLE:
        return captions
    page.locator("#examples tbody tr").nth(row).click()
    # The true label and the cleared results arrive together: the maps after it are row's.
    shown = re.compile(rf"\(bundled example #{row}\)$")
    expect(truth_box(page)).to_have_value(shown, timeout=WAIT_MS)
    return wait_for_maps(page)


def truth_box(page):
    return page.locator("#truth input, #truth textarea").first


def screenshot_down_to(
    url: str, path: Path, show: Callable[[Any], None], last: str, first: str | None = None
) -> None:
    """A README picture of the running app at `url`: laptop width, `show(page)` done, from the
    top of the page (or of the element `first`) down to the element `last` (CSS selectors)."""
    sync_playwright = playwright_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport=LAPTOP)
        show(page)
        page.evaluate("window.scrollTo(0, 0)")
        box = page.locator(last).bounding_box()
        top = 0.0 if first is None else max(0.0, page.locator(first).bounding_box()["y"] - 16)
        bottom = box["y"] + box["height"] + 16
        page.screenshot(
            path=path, full_page=True, clip={**LAPTOP, "x": 0, "y": top, "height": bottom - top}
        )
        chromium.close()
