"""A real browser: Playwright drives Debian's Chromium against `python app.py`.

Screenshots go to artifacts/ (git-ignored). `python -m tests.test_browser URL PATH` saves the
README screenshot of a running app (laptop width, an example explained).
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from interpret import DEFAULT_METHODS, METHODS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

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


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    if CHROMIUM is None:
        pytest.skip("chromium is not on PATH (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator:
    sync_playwright = _playwright()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def wait_for_maps(page) -> list[str]:
    """Wait until the gallery shows the model input and every default map, loaded, and the
    summary and downloads under them; the gallery's captions."""
    from playwright.sync_api import expect

    captions = page.locator("#gallery .caption-label")
    expect(captions).to_have_count(1 + len(DEFAULT_METHODS), timeout=WAIT_MS)
    expect(page.locator("#summary")).to_contain_text("Weights", timeout=WAIT_MS)
    page.locator("#gallery").scroll_into_view_if_needed()
    page.wait_for_function(
        "[...document.querySelectorAll('#gallery img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=WAIT_MS,
    )
    page.evaluate("window.scrollTo(0, 0)")
    return captions.all_inner_texts()


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


def test_the_page_opens_on_an_explained_example_without_waiting_for_it(
    browser, app_url: str, pretrained_dir: Path
) -> None:
    """No click: example 3 (the tutorial's airplane) is explained on arrival, with its
    prediction, maps, details and downloads. The page paints first: with the request that
    fetches the example held back, the page is already there, and empty."""
    from playwright.sync_api import expect

    from interpret import explain, load_model

    predicted = explain(
        load_model(pretrained_dir), EXAMPLE_PATH, ["saliency"], overlays=False
    ).predicted_class
    page = browser.new_page(viewport=LAPTOP)
    held = []
    page.route("**/gradio_api/queue/join*", lambda route: held.append(route))  # its load event
    page.goto(app_url)
    expect(page.locator("#title")).to_contain_text("Why did the CNN say that?")
    expect(page.locator("#image")).to_be_visible()
    for _ in range(WAIT_MS // 100):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page did not ask for the first visit's example"
    expect(page.locator("#gallery .caption-label")).to_have_count(0)
    expect(page.locator("#summary")).to_contain_text("Start with an image")
    for route in held:
        route.continue_()
    page.unroute("**/gradio_api/queue/join*")

    captions = wait_for_maps(page)
    assert captions[0].startswith(f"Model input 32×32 (shown 8×) · predicted {predicted} ")
    assert captions[0].endswith("true label airplane")
    for caption, key in zip(captions[1:], DEFAULT_METHODS, strict=True):
        method = METHODS[key]
        assert caption == f"{method.label} · {method.sign_text} · target: {predicted}"
    expect(truth_box(page)).to_have_value("airplane (bundled example #3)")
    expect(page.locator("#index input")).to_have_value(str(EXAMPLE))
    expect(page.locator("#label")).to_contain_text("(true label: airplane)")
    expect(page.locator("#label")).to_contain_text(predicted)
    expect(page.locator("#summary")).to_contain_text("Convergence delta")
    expect(page.locator("#agreement img")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#npz-file")).to_contain_text(".npz")
    expect(page.locator("#json-file")).to_contain_text(".json")
    page.get_by_role("button", name="Details (JSON)").click()
    expect(page.locator("#details")).to_contain_text("predicted_class")
    page.close()


def test_clicking_an_example_explains_it(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    captions = explain_example(page, app_url, row=CLICKED)
    assert captions[0].startswith("Model input 32×32 (shown 8×) · predicted ")
    assert captions[0].endswith("true label airplane")
    for caption, key in zip(captions[1:], DEFAULT_METHODS, strict=True):
        assert caption.startswith(f"{METHODS[key].label} · {METHODS[key].sign_text} · target: ")
    expect(truth_box(page)).to_have_value(f"airplane (bundled example #{CLICKED})")
    expect(page.locator("#index input")).to_have_value(str(CLICKED))  # "Load this index" agrees
    expect(page.locator("#label")).to_contain_text("(true label: airplane)")
    expect(page.locator("#summary")).to_contain_text("Convergence delta")
    for method in METHODS.values():  # every method is explained on the page
        expect(page.locator("#help")).to_contain_text(method.label)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "browser-laptop.png", full_page=True)

    # Changing a setting recomputes: another target class.
    page.locator("#target input").click()
    page.get_by_role("option", name="cat", exact=True).click()
    expect(page.locator("#gallery .caption-label").nth(1)).to_contain_text(
        "target: cat", timeout=WAIT_MS
    )
    page.close()


def test_removing_the_image_clears_the_page_quietly(browser, app_url: str) -> None:
    """The × on the image resets the page: no error toast, no stale true label or results."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    explain_example(page, app_url)
    page.get_by_role("button", name="Remove Image").click()
    expect(page.locator("#summary")).to_contain_text("Start with an image", timeout=WAIT_MS)
    expect(truth_box(page)).to_have_value("")
    expect(page.locator("#gallery .caption-label")).to_have_count(0)
    page.wait_for_timeout(1500)  # a toast from a step run on the empty image would show by now
    expect(page.locator(".toast-body")).to_have_count(0)
    page.close()


def test_a_refused_setting_says_the_results_are_not_updated(browser, app_url: str) -> None:
    """A refused setting leaves the old maps: the page must say they are the old ones, and a
    valid setting brings the page up to date again."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    explain_example(page, app_url)
    # The example's last step (the downloads) done, so nothing pending re-renders the settings.
    expect(page.locator("#json-file")).to_contain_text(".json", timeout=WAIT_MS)
    page.get_by_role("button", name="Advanced").click()
    label = "number input for n_steps (Integrated Gradients steps)"
    steps = page.locator(f"input[aria-label='{label}']")
    for _ in range(10):  # the accordion mounts its sliders late: an early edit is overwritten
        steps.fill("300")  # x 100 samples: over the 20,000-row cap of IG + SmoothGrad²
        page.wait_for_timeout(300)
        if steps.input_value() == "300":
            break
    expect(steps).to_have_value("300")
    steps.press("Enter")
    expect(page.locator(".toast-body")).to_contain_text("exceeds the limit", timeout=WAIT_MS)
    expect(page.locator("#summary")).to_contain_text("Not updated", timeout=WAIT_MS)
    steps.fill("60")
    steps.press("Enter")
    expect(page.locator("#summary")).not_to_contain_text("Not updated", timeout=WAIT_MS)
    expect(page.locator("#summary")).to_contain_text("Convergence delta")
    page.close()


def test_a_bad_upload_shows_the_apps_message(browser, app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    explain_example(page, app_url)  # the page as it opens, then a bad upload
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("shopping list: milk, eggs\n")
    page.locator("#image input[type=file]").set_input_files(not_an_image)
    expect(page.locator(".toast-body")).to_contain_text(
        "This image can't be used: not an image file PIL can read", timeout=WAIT_MS
    )
    page.close()


def test_the_page_fits_a_phone(browser, app_url: str) -> None:
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    explain_example(page, app_url, row=5)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "browser-phone.png", full_page=True)
    page.close()


def screenshot_down_to(url: str, path: Path, show: Callable[[Any], None], last: str) -> None:
    """A README picture of the running app at `url`: laptop width, `show(page)` done, from the
    top of the page down to the element `last` (a CSS selector)."""
    sync_playwright = _playwright()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport=LAPTOP)
        show(page)
        page.evaluate("window.scrollTo(0, 0)")
        box = page.locator(last).bounding_box()
        bottom = box["y"] + box["height"] + 16
        page.screenshot(
            path=path, full_page=True, clip={**LAPTOP, "x": 0, "y": 0, "height": bottom}
        )
        chromium.close()


def save_readme_screenshot(url: str, path: Path) -> None:
    """The README's picture: the page as it opens (example 3 explained), down to the maps."""
    screenshot_down_to(url, path, lambda page: explain_example(page, url), "#gallery")


if __name__ == "__main__":
    save_readme_screenshot(sys.argv[1], Path(sys.argv[2]))
