"""ui/links.py: a link's query read into the view it names, and written back. Every view
reads back to itself; every bad value is named, in words, and left at its default; an index
of another test set is not taken for this one's. No Gradio, no server.

The page's use of it (load, Copy link) is tests/ui/test_link_wiring.py's and, in Chromium,
tests/browser/test_browser_links.py's.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from interpret import CLASSES, DEFAULT_METHODS, METHODS
from interpret.core.params import BASELINES
from interpret.dataset.browse import DISAGREEMENT_OUTCOMES, OUTCOMES, SORTS
from ui import links
from ui.config import FIRST_VISIT_EXAMPLE, REQUEST
from ui.links import EXPLAIN, PAGE, TESTSET, Opened, Served, message, parse, query_string

FULL = "20a8ebafbb0872b1" + "0" * 48  # a full fingerprint; links carry its first 16 digits
SERVED = Served(("retrained", "tutorial"), "retrained", 20, 10_000, FULL, "the CIFAR-10 test set")


def read(link: str, served: Served = SERVED) -> Opened:
    """A link's query as the page gets it (Starlette's query_params, one value per name)."""
    return parse(dict(parse_qsl(urlsplit(link).query, keep_blank_values=True)), served)


def round_trip(opened: Opened) -> Opened:
    return read("?" + query_string(opened, SERVED))


# ------------------------------------------------------------------ views read back to themselves

EVERY_EXPLAIN_SETTING = {
    "methods": ["deeplift", "saliency", "occlusion"],
    "target": "cat",
    "n_steps": 20,
    "nt_samples": 8,
    "stdevs": 0.35,
    "baseline": "blur",
    "seed": 7,
    "opacity": 0.8,
    "contrast": "dog",
    "trust_scores": True,
    "occlusion_window": 6,
    "occlusion_stride": 3,
    "model": "tutorial",
    "compare": "retrained",
    "features": True,
}
EVERY_TESTSET_SETTING = {
    "model": "tutorial",
    "other": "retrained",
    "true_class": "cat",
    "predicted_class": "dog",
    "outcome": "wrong",
    "which": "first right",
    "min_confidence": 0.25,
    "max_confidence": 0.75,
    "sort": "least confident first",
    PAGE: 3,
}


@pytest.mark.parametrize(
    "opened",
    [
        Opened(),
        Opened(example=10, explain={"methods": ["saliency", "deeplift"], "target": "cat"}),
        Opened(index=9_999, set_id=FULL[:16], explain=EVERY_EXPLAIN_SETTING),
        Opened(example=0, explain={"target": "true label", "trust_scores": True}),
        Opened(tab=TESTSET, set_id=FULL[:16], testset=EVERY_TESTSET_SETTING),
        Opened(tab=TESTSET, set_id=FULL[:16], explain={"seed": 3}, testset={"sort": "index"}),
    ],
    ids=["default", "example", "every-explain-setting", "true-label", "every-filter", "both"],
)
def test_every_view_reads_back_to_itself(opened: Opened) -> None:
    assert round_trip(opened) == opened
    assert not message(opened)


def test_a_link_names_only_what_differs_from_the_defaults_in_the_apis_names() -> None:
    assert query_string(Opened(), SERVED) == ""
    opened = Opened(example=10, explain={"methods": ["saliency", "deeplift"], "target": "cat"})
    assert query_string(opened, SERVED) == "example=10&methods=saliency,deeplift&target=cat"
    written = query_string(Opened(explain=EVERY_EXPLAIN_SETTING), SERVED)
    names = [pair.split("=")[0] for pair in written.split("&")]
    assert names == [*REQUEST, "compare", "features"]  # /explain's names, in its order
    spaced = query_string(Opened(tab=TESTSET, set_id=FULL[:16], testset={"sort": "index"}), SERVED)
    assert spaced == f"tab=testset&set={FULL[:16]}&sort=index"


def test_values_are_read_as_the_page_and_the_api_accept_them() -> None:
    opened = read("?target=3&contrast=DOG&methods=saliency,saliency,deeplift&trust_scores=true")
    assert opened.explain == {
        "target": CLASSES[3],
        "contrast": "dog",
        "methods": ["saliency", "deeplift"],
        "trust_scores": True,
    }
    assert read("?methods=" + ",".join(DEFAULT_METHODS) + "&n_steps=50&opacity=0.5").explain == {}
    testset = read("?tab=TestSet&true_class=3&sort=Index&min_confidence=.5")
    assert testset.tab == TESTSET
    assert testset.testset == {"true_class": CLASSES[3], "sort": "index", "min_confidence": 0.5}


def test_model_names_the_open_tabs_model() -> None:
    assert read("?model=tutorial").explain == {"model": "tutorial"}
    opened = read("?tab=testset&model=tutorial")
    assert opened.testset == {"model": "tutorial"} and opened.explain == {}


def test_only_the_opening_view_is_served_from_the_first_visit() -> None:
    assert read("").opens_default_explanation()
    assert read(f"?example={FIRST_VISIT_EXAMPLE}").opens_default_explanation()
    assert read("?tab=testset&true_class=cat").opens_default_explanation()
    for other in ("?example=4", "?index=3", "?target=cat", "?compare=tutorial"):
        assert not read(other).opens_default_explanation(), other
    # "Inside the network" opened on the opening view: still the example every page shows
    assert read("?features=1").opens_default_explanation() and read("?features=1").features
    assert not read("?features=0").features and read("?features=0").explain == {}


# ------------------------------------------------------------------ bad values, named

BAD = [
    ("tab", "settings", "unknown; choose one of explain, testset"),
    ("example", "20", "out of range: must be between 0 and 19"),
    ("example", "2.5", "not a whole number"),
    ("example", "three", "not a whole number"),
    ("index", "10000", "out of range: must be between 0 and 9,999"),
    ("index", "-1", "out of range"),
    ("index", "nan", "not a whole number"),
    ("set", "xyz", "not a test set's fingerprint (16 hex digits)"),
    ("methods", "saliency,magic", "choose among saliency"),
    ("methods", ",", "choose among"),
    ("target", "dragon", "unknown class; choose predicted, true label or one of airplane"),
    ("target", "10", "unknown class"),
    ("n_steps", "0", "must be between 1 and 500, got 0"),
    ("n_steps", "1.5", "must be a whole number"),
    ("nt_samples", "501", "must be between 1 and 500"),
    ("stdevs", "-1", "must be a number between 0.0 and 5.0"),
    ("stdevs", "inf", "must be a number between"),
    ("baseline", "gray", "unknown baseline 'gray'; choose from " + ", ".join(BASELINES)),
    ("baseline", "[x](//e.co)", "not a value this setting takes"),  # no Markdown echoed
    ("seed", "", "not a value this setting takes"),
    ("seed", "-3", "must be between 0 and 2147483647"),
    ("opacity", "1.5", "out of range: must be between 0 and 1"),
    ("opacity", "dark", "not a number"),
    ("contrast", "dragon", "unknown class; choose none or one of"),
    ("trust_scores", "yes please", "must be 1 or 0"),
    ("occlusion_window", "33", "must be between 1 and 32"),
    ("occlusion_stride", "0", "must be between 1 and 32"),
    ("model", "gpt", "no such model here; choose one of retrained, tutorial"),
    ("compare", "gpt", "no such model here"),
    ("foo", "1", "not a link parameter; known: tab, example, index, set, split, methods"),
    ("page", "2", "not a link parameter"),  # Gradio's own route takes `page`
]
BAD_TESTSET = [
    ("model", "gpt", "no such model here"),
    ("other", "gpt", "no such model here"),
    ("true_class", "dragon", "unknown class; choose any or one of"),
    ("predicted_class", "11", "unknown class"),
    ("outcome", "maybe", "unknown; choose one of " + ", ".join(OUTCOMES)),
    ("which", "neither", "unknown; choose one of " + ", ".join(DISAGREEMENT_OUTCOMES)),
    ("min_confidence", "-0.1", "out of range: must be between 0 and 1"),
    ("max_confidence", "high", "not a number"),
    ("sort", "random", "unknown; choose one of " + ", ".join(SORTS)),
    (PAGE, "0", "out of range: must be at least 1"),
    (PAGE, "two", "not a whole number"),
]


def only_ignored(opened: Opened, name: str, value: str) -> str:
    """The one reason `opened` gives, for `name=value`; the rest of the view is the default."""
    (reason,) = opened.ignored
    assert reason.startswith(f"`{name}={value}`: "), reason
    assert opened.example is None and opened.index is None and opened.explain == {}
    return reason


@pytest.mark.parametrize(("name", "value", "expected"), BAD, ids=[f"{n}={v}" for n, v, _ in BAD])
def test_a_bad_value_is_named_and_the_rest_of_the_view_is_the_default(
    name: str, value: str, expected: str
) -> None:
    opened = read(f"?{name}={value}")
    assert expected in only_ignored(opened, name, value)
    assert opened.tab == EXPLAIN and opened.testset == {}
    text = message(opened)
    assert text.startswith("**Some of this link's values were ignored**") and expected in text


@pytest.mark.parametrize(
    ("name", "value", "expected"), BAD_TESTSET, ids=[f"{n}={v}" for n, v, _ in BAD_TESTSET]
)
def test_a_bad_test_set_value_is_named(name: str, value: str, expected: str) -> None:
    opened = read(f"?tab=testset&{name}={value}")
    assert expected in only_ignored(opened, name, value)
    assert opened.tab == TESTSET and opened.testset == {}


def test_every_bad_value_of_one_link_is_named_and_the_good_ones_kept() -> None:
    opened = read("?target=dragon&methods=saliency&n_steps=0&foo=1&true_class=cat")
    assert opened.explain == {"methods": ["saliency"]}
    named = [reason.split(":")[0] for reason in opened.ignored]
    assert named == ["`foo=1`", "`target=dragon`", "`n_steps=0`", "`true_class=cat`"]
    assert "a Test set filter: add tab=testset" in opened.ignored[-1]


def test_values_the_library_refuses_together_are_named_together() -> None:
    too_many = read("?n_steps=500&nt_samples=100&methods=ig_smoothgrad_sq")
    assert [reason.split(":")[0] for reason in too_many.ignored] == ["`n_steps=500`"]
    assert "exceeds the limit of 20,000" in too_many.ignored[0]
    assert read("?n_steps=500&methods=saliency").explain == {
        "n_steps": 500,
        "methods": ["saliency"],
    }
    stride = read("?methods=occlusion&occlusion_window=2&occlusion_stride=3")
    assert len(stride.ignored) == 2 and "must not exceed occlusion_window" in stride.ignored[0]
    assert stride.explain == {"methods": ["occlusion"]}
    same = read("?target=cat&contrast=3")
    assert same.explain == {"target": "cat"} and "the same class as the target" in same.ignored[0]
    empty = read("?tab=testset&min_confidence=0.8&max_confidence=0.2")
    assert empty.testset == {} and "the range is empty: 0.8 is above 0.2" in empty.ignored[0]


def test_an_index_means_an_image_of_one_set_only() -> None:
    same = read(f"?index=5&set={FULL[:16]}")
    assert same.index == 5 and same.ignored == ()
    assert read("?index=5").index == 5  # typed by hand: this server's set
    other = read("?index=5&set=0123456789abcdef&target=cat")
    assert other.index is None and other.explain == {"target": "cat"}
    (reason,) = other.ignored
    assert "made on another test set (set=0123456789abcdef)" in reason
    assert f"this server has the CIFAR-10 test set (set={FULL[:16]})" in reason
    assert "so it is not shown" in reason
    bundled = Served(("retrained",), "retrained", 20, 20, "f" * 64, "the 20 bundled images")
    assert "between 0 and 19" in read("?index=5000", bundled).ignored[0]
    both = read("?example=4&index=5")
    assert both.example == 4 and both.index is None and "names an example too" in both.ignored[0]
    alone = read(f"?set={FULL[:16]}")
    assert "the link has no index" in alone.ignored[0]


TRAIN = "7b1e" + "a" * 60  # the training split's fingerprint
WITH_TRAIN = Served(
    ("retrained",), "retrained", 20, 10_000, FULL, "the CIFAR-10 test set", 300, TRAIN, "300 images"
)


def test_a_training_image_link_names_its_split_and_reads_back() -> None:
    """split=train: the index of a training image, of this server's training split only."""
    opened = read(f"?split=train&index=7&set={TRAIN[:16]}&target=cat", WITH_TRAIN)
    assert opened.image == ("train", 7) and opened.ignored == () and opened.split == "train"
    written = query_string(opened, WITH_TRAIN)
    assert written == f"split=train&set={TRAIN[:16]}&index=7&target=cat"
    assert read("?" + written, WITH_TRAIN) == opened
    assert read("?split=train&index=7", WITH_TRAIN).image == ("train", 7)  # typed by hand
    assert read("?index=7", WITH_TRAIN).image == ("index", 7)  # the test set's, as before
    (reason,) = read("?split=train&index=300", WITH_TRAIN).ignored
    assert "between 0 and 299" in reason
    other = read(f"?split=train&index=7&set={FULL[:16]}", WITH_TRAIN)
    assert other.image is None and "made on another training set" in other.ignored[0]
    missing = read("?split=train&index=7")  # a server without a training set
    assert missing.image is None and "no training set to take it from" in missing.ignored[0]
    alone = read("?split=train", WITH_TRAIN)
    assert alone.image is None and "the link has no index" in alone.ignored[0]
    assert "unknown; choose one of test, train" in read("?split=x&index=2").ignored[0]


def test_a_test_set_link_of_another_set_keeps_its_filters_and_says_so() -> None:
    opened = read("?tab=testset&set=0123456789abcdef&true_class=cat")
    assert opened.testset == {"true_class": "cat"} and opened.ignored == ()
    (note,) = opened.notes
    assert "another test set" in note and "the same filters may list other images" in note
    assert message(opened) == note


def test_what_gradio_and_the_space_add_is_passed_over() -> None:
    assert read("?__theme=dark&__sign=abc&view=api&target=cat").ignored == ()


def test_a_shown_value_is_cut_short_and_cannot_format_the_message() -> None:
    opened = read("?target=" + "`<b>x</b>`" + "a" * 100)
    reason = opened.ignored[0]
    value = reason.split("`")[1]
    assert value.startswith("target=?<b>x</b>?") and len(value) <= len("target=") + 40
    assert reason.count("`") == 2
    long_name = read("?" + "a" * 30 + "=1").ignored[0]
    assert long_name.startswith("`" + "a" * 19 + "…=1`: not a link parameter")
    link = read("?%60[x](//e.co)%60=1").ignored[0]  # a Markdown link: kept inside the code span
    assert link.startswith("`?[x](//e.co)?=1`: not a link parameter") and link.count("`") == 2


def test_the_parameters_are_the_apis() -> None:
    known = links.known_parameters(SERVED)
    assert set(REQUEST) <= set(known) and "compare" in known
    browse = ["true_class", "predicted_class", "outcome", "sort", "model", "min_confidence"]
    assert set(browse) <= set(known) and PAGE in known and "page" not in known
    assert ", ".join(METHODS) in read("?methods=x").ignored[0]
