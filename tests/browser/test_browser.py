"""A real browser: Playwright drives Debian's Chromium against `python app.py`.

Screenshots go to artifacts/ (git-ignored). `python -m tests.browser.test_browser URL PATH`
saves the README screenshot of a running app (laptop width, an example explained).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from chromium import (
    ARTIFACTS,
    CLICKED,
    EXAMPLE,
    EXAMPLE_PATH,
    LAPTOP,
    PHONE,
    WAIT_MS,
    explain_example,
    screenshot_down_to,
    truth_box,
    wait_for_maps,
)

from interpret import DEFAULT_METHODS, METHODS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


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
    expect(page.locator("#title")).to_contain_text("Why did the CNN say that?", timeout=WAIT_MS)
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


def save_readme_screenshot(url: str, path: Path) -> None:
    """The README's picture: the page as it opens (example 3 explained), down to the maps."""
    screenshot_down_to(url, path, lambda page: explain_example(page, url), "#gallery")


if __name__ == "__main__":
    save_readme_screenshot(sys.argv[1], Path(sys.argv[2]))
