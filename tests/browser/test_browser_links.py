"""Links that reproduce a view, in a real browser: Playwright drives Debian's Chromium against
`python app.py` (the Test set tab's server: the full test set when ../shared has it, else the
20 bundled images). A link opens its view already explained, the copied link (read back from
the clipboard) reopens the same view, a Test set link opens its filtered page, a bad link
says which values it ignored, and `features=1` opens "Inside the network" filled.
"""

from __future__ import annotations

import re

import pytest
from chromium import EXAMPLE, LAPTOP, ROOT, WAIT_MS, truth_box, wait_for_maps

from interpret import METHODS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

FULL = ROOT.parent / "shared" / "cifar10" / "test"
# The session's server of tests/browser/test_browser_testset.py (the same settings).
APP_ENV = {"INTERPRET_CIFAR10_DIR": str(FULL)} if FULL.is_dir() else {}


@pytest.fixture
def context(browser):
    """A laptop-sized browser context that may write and read the clipboard."""
    opened = browser.new_context(viewport=LAPTOP)
    opened.grant_permissions(["clipboard-read", "clipboard-write"])
    yield opened
    opened.close()


def maps_for(page, count: int) -> list[str]:
    """The gallery's captions once it shows the model input and `count` loaded maps."""
    from playwright.sync_api import expect

    expect(page.locator("#gallery .caption-label")).to_have_count(1 + count, timeout=WAIT_MS)
    expect(page.locator("#summary")).to_contain_text("Weights", timeout=WAIT_MS)
    page.wait_for_function(
        "[...document.querySelectorAll('#gallery img')]"
        ".every(img => img.complete && img.naturalWidth > 0)",
        timeout=WAIT_MS,
    )
    return page.locator("#gallery .caption-label").all_inner_texts()


def checked_methods(page) -> list[str]:
    return [
        key
        for key, method in METHODS.items()
        if page.get_by_label(method.label, exact=True).is_checked()
    ]


def no_error_shown(page) -> None:
    """No component marked failed: the steps a link does not need end without a trace."""
    assert page.locator("[data-testid='status-tracker'] .error").count() == 0


def copy_link(page, tab: str) -> str:
    """Click the tab's Copy link; the link it shows, which must be what the clipboard holds."""
    from playwright.sync_api import expect

    page.locator(f"#{tab}-copy-link").click()
    shown = page.locator(f"#{tab}-link textarea, #{tab}-link input").first
    expect(shown).to_have_value(re.compile(r"^http://"), timeout=WAIT_MS)
    link = shown.input_value()
    assert page.evaluate("navigator.clipboard.readText()") == link
    return link


def test_a_link_opens_its_image_explained_with_its_target_and_methods(context, app_url) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(app_url + "?example=10&methods=saliency,deeplift&target=cat")
    captions = maps_for(page, 2)
    assert captions[0].endswith("true label airplane")
    assert captions[1:] == [
        f"{METHODS[key].label} · {METHODS[key].sign_text} · target: cat"
        for key in ("saliency", "deeplift")
    ]
    expect(truth_box(page)).to_have_value("airplane (bundled example #10)")
    expect(page.locator("#target input")).to_have_value("cat")
    assert checked_methods(page) == ["saliency", "deeplift"]
    expect(page.locator("#summary")).to_contain_text("why the model would say cat")
    expect(page.locator("#json-file")).to_contain_text(".json", timeout=WAIT_MS)
    expect(page.locator("#link-message")).to_be_hidden()
    no_error_shown(page)
    page.close()


def test_the_copied_link_reopens_the_same_view(context, app_url) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(app_url)
    wait_for_maps(page)  # the opening example
    no_error_shown(page)
    page.locator("#target input").click()
    page.get_by_role("option", name="dog", exact=True).click()
    expect(page.locator("#gallery .caption-label").nth(1)).to_contain_text(
        "target: dog", timeout=WAIT_MS
    )
    captions = wait_for_maps(page)
    link = copy_link(page, "explain")
    assert link == f"{app_url}?example={EXAMPLE}&target=dog"
    label = page.locator("#label").inner_text()

    again = context.new_page()
    again.goto(link)
    expect(again.locator("#gallery .caption-label").nth(1)).to_contain_text(
        "target: dog", timeout=WAIT_MS
    )
    assert wait_for_maps(again) == captions
    expect(truth_box(again)).to_have_value(truth_box(page).input_value())
    expect(again.locator("#label")).to_have_text(label)
    assert copy_link(again, "explain") == link
    again.close()
    page.close()


def test_a_test_set_link_opens_its_filtered_page_and_copies_back(context, app_url) -> None:
    from playwright.sync_api import expect

    query = "tab=testset&true_class=cat&sort=least%20confident%20first"
    page_number = 1
    if APP_ENV:  # the full test set: a page past the first, of its mistakes
        query, page_number = query + "&outcome=wrong&page_number=2", 2
    page = context.new_page()
    page.goto(f"{app_url}?{query}")
    expect(page.locator("#testset-status")).to_contain_text(
        f"page {page_number} of", timeout=WAIT_MS
    )
    expect(page.locator("#testset-grid")).to_be_visible()
    expect(page.locator("#true-class input")).to_have_value("cat")
    expect(page.locator("#page input")).to_have_value(str(page_number))
    grid = page.locator("#testset-grid .caption-label")
    expect(grid.first).to_be_visible(timeout=WAIT_MS)
    captions = grid.all_inner_texts()
    assert all(" cat → " in caption for caption in captions), captions
    if APP_ENV:
        assert all(" ✗ cat → " in caption for caption in captions), captions
    confidences = [int(re.search(r"(\d+)%$", caption).group(1)) for caption in captions]
    assert confidences == sorted(confidences)  # least confident first
    expect(page.locator("#confusion")).to_contain_text("cat", timeout=WAIT_MS)
    no_error_shown(page)
    link = copy_link(page, "testset")
    assert re.search(r"\?tab=testset&set=[0-9a-f]{16}&true_class=cat&", link), link
    assert ("&page_number=2" in link) == bool(APP_ENV)
    page.close()


def test_a_bad_link_names_each_ignored_value_and_opens_the_default_view(context, app_url) -> None:
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(app_url + "?target=dragon&n_steps=0&example=99&foo=1&methods=saliency")
    message = page.locator("#link-message")
    expect(message).to_contain_text("Some of this link's values were ignored", timeout=WAIT_MS)
    for named in ("target=dragon", "n_steps=0", "example=99", "foo=1"):
        expect(message).to_contain_text(named)
    expect(message).not_to_contain_text("methods=saliency")
    captions = maps_for(page, 1)  # the good value kept: saliency alone, on the opening example
    assert captions[1].endswith("target: " + captions[0].split(" · predicted ")[1].split()[0])
    expect(truth_box(page)).to_have_value(f"airplane (bundled example #{EXAMPLE})")

    page.goto(app_url + "?index=5&set=0123456789abcdef")
    expect(message).to_contain_text(
        "made on another test set (set=0123456789abcdef)", timeout=WAIT_MS
    )
    expect(message).to_contain_text("so it is not shown")
    wait_for_maps(page)
    expect(truth_box(page)).to_have_value(f"airplane (bundled example #{EXAMPLE})")
    page.close()


def test_a_link_opens_inside_the_network_filled_and_copies_back(context, app_url) -> None:
    """`features=1`: the panel opens filled for the link's own image and target (it opens
    before that image has come, and waits for it without an error), and the Explain tab's
    Copy link, with the panel open, writes `features=1` back."""
    from playwright.sync_api import expect

    link = f"{app_url}?example=10&target=cat&features=1"
    page = context.new_page()
    page.goto(link)
    maps_for(page, 4)
    expect(page.locator("#features-bars .feature-bar")).to_have_count(16, timeout=WAIT_MS)
    expect(page.locator("#features-heading")).to_contain_text("logit[cat] by model")
    expect(page.locator("#features-shares .caption-label")).not_to_have_count(0, timeout=WAIT_MS)
    expect(page.locator("#features-windows .caption-label")).not_to_have_count(0, timeout=WAIT_MS)
    expect(truth_box(page)).to_have_value("airplane (bundled example #10)")
    no_error_shown(page)
    assert copy_link(page, "explain") == link
    page.goto(f"{app_url}?features=1")  # the opening example, shown as every page shows it
    wait_for_maps(page)
    expect(page.locator("#features-bars .feature-bar")).to_have_count(16, timeout=WAIT_MS)
    expect(truth_box(page)).to_have_value(f"airplane (bundled example #{EXAMPLE})")
    no_error_shown(page)
    page.close()
