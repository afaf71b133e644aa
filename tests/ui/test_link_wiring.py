"""ui/link_wiring.py in this process: a page load's link read from a real request, the
controls and tab it sets, the steps it takes or skips, and the links the Copy link buttons
write (an example, an index of this server's set with its fingerprint, an upload: settings
only, and says so). The page itself: the tabs keep the ids links name, and every link event is
private.

The endpoints run on a synthetic ImageFolder of 100 images (not the bundled examples), so an
index and an example are different images here, as on a server with the full set.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from conftest import example
from PIL import Image
from starlette.requests import Request
from synthetic_data import synthetic_cifar10

from interpret import CLASSES, DEFAULT_METHODS
from interpret.dataset.sampler import Sampler
from ui import api, link_wiring, links
from ui.config import DEFAULTS, FIRST_VISIT_EXAMPLE, REQUEST, ServerSettings
from ui.dataset import TestSetSource
from ui.first_visit import FirstVisit
from ui.models import Models
from ui.page import build_demo
from ui.testset_tab import first_page, kept_page


@pytest.fixture(scope="module")
def backend(
    shipped_net, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[api.Backend, Path]]:
    """The endpoints on a 100-image test set of its own, and an upload folder."""
    saved, cache = api._backend, tmp_path_factory.mktemp("cache")
    uploads = tmp_path_factory.mktemp("uploads")
    folder = synthetic_cifar10(tmp_path_factory) / "test"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INTERPRET_CACHE_DIR", str(cache))
        sampler = Sampler()
        source = TestSetSource(sampler, {"INTERPRET_CIFAR10_DIR": str(folder)})
        models = Models.build(shipped_net, "cpu", environ={})
        yield api.configure(shipped_net, sampler, str(uploads), models, source), uploads
    api._backend = saved


def request(query: str) -> gr.Request:
    """The gr.Request a page load with `query` hands to its event."""
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": query.encode()}
    return gr.Request(Request({**scope, "headers": []}))


def uploaded(uploads: Path, source: Path, name: str) -> dict:
    """`source` as Gradio hands an upload to an event."""
    (uploads / name).mkdir(exist_ok=True)
    path = uploads / name / source.name
    shutil.copyfile(source, path)
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def page_values(**changed) -> list:
    """The Explain tab's /explain values after the image as the page starts, `changed`."""
    values = {
        "methods": list(DEFAULT_METHODS),
        "target": "predicted",
        "n_steps": DEFAULTS.n_steps,
        "nt_samples": DEFAULTS.nt_samples,
        "stdevs": DEFAULTS.stdevs,
        "baseline": DEFAULTS.baseline,
        "seed": DEFAULTS.seed,
        "opacity": 0.5,
        "contrast": "none",
        "trust_scores": False,
        "occlusion_window": DEFAULTS.occlusion_window,
        "occlusion_stride": DEFAULTS.occlusion_stride,
        "model": "retrained",
    }
    return [{**values, **changed}[name] for name in REQUEST]


def test_a_page_load_reads_its_link_and_sets_the_controls(backend) -> None:
    opened, shown, *controls = link_wiring.open_link(
        request("methods=saliency,deeplift&target=cat&stdevs=0.5&compare=tutorial&foo=1")
    )
    assert opened.explain == {
        "methods": ["saliency", "deeplift"],
        "target": "cat",
        "stdevs": 0.5,
        "compare": "tutorial",
    }
    assert shown.visible and "`foo=1`: not a link parameter" in shown.value
    explain = dict(zip(link_wiring.EXPLAIN_CONTROLS, controls, strict=False))
    assert explain["methods"] == ["saliency", "deeplift"] and explain["stdevs"] == 0.5
    assert explain["compare"] == "tutorial" and explain["n_steps"] == gr.skip()
    assert "target" not in explain  # set with its image, whose true label it may name
    testset = controls[len(link_wiring.EXPLAIN_CONTROLS) :]
    assert testset == [gr.skip()] * (len(link_wiring.TESTSET_CONTROLS) + 1)  # tab unchanged
    assert not link_wiring.open_link(request(""))[1].visible


def test_a_link_opens_the_features_panel_on_its_view(backend) -> None:
    """`features=1` opens "Inside the network" (its expand event fills it), on the opening
    example shown as every page shows it, or on the link's own image."""
    opened = link_wiring.read(request("features=1"))
    assert opened.features and opened.opens_default_explanation()
    assert link_wiring.features_update(opened).open is True
    opened = link_wiring.read(request("example=10&features=1"))
    assert opened.features and not opened.opens_default_explanation()
    assert link_wiring.features_update(link_wiring.read(request("example=10"))) == gr.skip()
    opened = link_wiring.read(request("features=yes"))
    assert not opened.features and "`features=yes`: must be 1 or 0" in opened.ignored[0]


def filters_set_by(query: str) -> tuple[str, dict]:
    """The message and the Test set tab's updates a page load with `query` makes, by name."""
    _, shown, *controls = link_wiring.open_link(request(query))
    names = [*link_wiring.TESTSET_CONTROLS, "tab"]
    updates = controls[len(link_wiring.EXPLAIN_CONTROLS) :]
    return (shown.value if shown.visible else ""), dict(zip(names, updates, strict=True))


def test_a_test_set_link_sets_its_filters_page_and_tab(backend) -> None:
    shown, testset = filters_set_by("tab=testset&sort=index&page_number=2")  # of 5 pages
    assert shown == "" and testset["tab"].selected == links.TESTSET
    assert testset["sort"]["value"] == "index" and testset["page"]["value"] == 2
    assert testset["outcome"] == {"visible": True, "__type__": "update"}
    assert testset["model"] == testset["true_class"] == gr.skip()
    # Comparing two models: the one-model filters hide, "which is right" shows.
    _, testset = filters_set_by("tab=testset&true_class=cat&other=tutorial&which=both%20wrong")
    assert testset["true_class"] == {"value": "cat", "__type__": "update"}
    assert testset["outcome"] == {"visible": False, "__type__": "update"}
    assert testset["which"] == {"value": "both wrong", "visible": True, "__type__": "update"}


def test_a_page_past_the_last_is_named_and_the_tab_opens_on_page_1(backend) -> None:
    opened, shown, *_ = link_wiring.open_link(request("tab=testset&true_class=cat&page_number=9"))
    assert links.PAGE not in opened.testset
    assert "`page_number=9`: page 9 is out of range: these filters give 10 image(s)" in (
        shown.value
    )


def test_the_steps_a_link_does_not_need_end_quietly(backend) -> None:
    default, other = links.Opened(), links.Opened(explain={"target": "cat"})
    assert link_wiring.image_only(other) is None
    with pytest.raises(gr.Error) as stopped:
        link_wiring.image_only(default)
    assert stopped.value.visible is False and stopped.value.print_exception is False
    # The opening example's summary only under the opening example.
    assert link_wiring.summarize_opening(other, {"target": 0}) == (gr.skip(), gr.skip())
    text, _ = link_wiring.summarize_opening(default, None)
    assert text == link_wiring.summarize(None)[0]


def test_a_links_image_comes_with_its_label_and_target(backend) -> None:
    path, label, source, index, target, train = link_wiring.link_image(
        links.Opened(example=10, explain={"target": "true label"})
    )
    expected = np.asarray(Image.open(example(10)).convert("RGB"))
    assert np.array_equal(np.asarray(Image.open(path)), expected)
    assert (label, index, source, train) == (CLASSES[0], 10, gr.skip(), None)
    assert (
        target.value == "true label" and ("true label (airplane)", "true label") in target.choices
    )
    path, label, source, index, target, _ = link_wiring.link_image(links.Opened(index=42))
    data = api.test_set()
    assert np.array_equal(np.asarray(Image.open(path)), data.images[42])
    assert label == CLASSES[data.labels[42]] and index == 42 and "image #42" in source
    assert target.value == "predicted"
    # Other settings, no image: the opening example under them.
    assert link_wiring.link_image(links.Opened(explain={"seed": 1}))[3] == FIRST_VISIT_EXAMPLE


def copied(function, *values) -> tuple[str, str]:
    link, note = function(*values)
    assert link.visible
    return link.value, (note.value if note.visible else "")


def test_the_copied_link_names_an_example_or_an_index_of_this_set(backend) -> None:
    _, uploads = backend
    values = page_values(methods=["saliency"], target="cat", seed=3.0)
    ten = uploaded(uploads, example(10), "ten")
    query, note = copied(link_wiring.explain_link, ten, *values, "tutorial", 10, False)
    assert query == "example=10&methods=saliency&target=cat&seed=3&compare=tutorial"
    assert note == ""
    path, *_ = api.sample_image(42)
    set_id = api.test_set().fingerprint[:16]
    image = uploaded(uploads, Path(path), "42")
    query, note = copied(link_wiring.explain_link, image, *page_values(), "none", 42, True)
    assert query == f"set={set_id}&index=42&features=1" and note == ""  # the panel open
    # The same picture with another index in the box is not that index's image: no index.
    query, note = copied(link_wiring.explain_link, image, *page_values(), "none", 41, False)
    assert query == "" and note == link_wiring.UPLOADED


def test_an_uploaded_image_gives_the_settings_and_says_it_cannot_travel(backend, tmp_path) -> None:
    _, uploads = backend
    picture = tmp_path / "mine.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(picture)
    values = page_values(target="dog", trust_scores=True, model="tutorial")
    query, note = copied(
        link_wiring.explain_link, uploaded(uploads, picture, "mine"), *values, "none", None, False
    )
    assert query == "target=dog&trust_scores=1&model=tutorial"
    assert note == link_wiring.UPLOADED and "can't travel in a link" in note
    query, note = copied(link_wiring.explain_link, None, *values, "none", None, False)
    assert query == "target=dog&trust_scores=1&model=tutorial" and "No image" in note


def test_the_test_set_link_carries_the_sets_fingerprint(backend) -> None:
    filters = ("tutorial", "none", "cat", "any", "wrong", "all", 0.0, 1.0, "index")
    query, note = copied(link_wiring.testset_link, *filters, 2)
    assert note == ""
    set_id = api.test_set().fingerprint[:16]
    assert query == f"tab=testset&set={set_id}&model=tutorial&true_class=cat&outcome=wrong&" + (
        "sort=index&page_number=2"
    )
    reopened = link_wiring.read(request(query))
    assert reopened.ignored == () and reopened.notes == ()


def test_the_tabs_keep_the_ids_links_name_and_link_events_stay_private(backend) -> None:
    opening = FirstVisit()  # not computed: the page is only built here
    blocks = build_demo(api.backend().model, "cpu", ServerSettings(2, 8), opening)
    config = blocks.get_config_file()
    tab_ids = [c["props"].get("id") for c in config["components"] if c["type"] == "tabitem"]
    assert tab_ids == ["explain", "testset"] == list(links.TABS)
    functions = {"open_page", "summarize_opening", "image_only", "link_image"}
    functions |= {"explain_link_with_training", "testset_link"}
    found = [fn for fn in blocks.fns.values() if fn.name in functions]
    assert {fn.name for fn in found} == functions
    assert all(fn.api_visibility == "private" for fn in found)


def test_the_test_set_tab_opens_on_the_page_it_holds_or_on_page_1(backend) -> None:
    """What a link's page relies on: opening the tab shows the page in the page box."""
    filters = ("retrained", "none", "any", "any", "all", "all", 0.0, 1.0, "index")
    text, _, indices, page = kept_page(*filters, 3)
    assert page == 3 and indices == list(range(48, 72)) and "page 3 of 5" in text
    assert kept_page(*filters, 9) == first_page(*filters)  # past the last page
