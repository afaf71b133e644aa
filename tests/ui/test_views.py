"""ui/views.py and ui/figures.py: what the page and the API show, from real explanations.

These modules must not import Gradio (the CLI or a notebook can reuse them: checked in
tests/test_architecture.py); every value is checked against the `Explanation` it was built
from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, example

from interpret import CLASSES, METHODS, Explanation, explain, model_image
from interpret.dataset.images import image_fingerprint
from interpret.explain import input_card
from interpret.trust.sanity import FLAG_THRESHOLD
from ui import figures, views

TRUTH = (0, "bundled example #3")  # example 3 is an airplane
TRUST_METHODS = ["saliency", "deeplift", "grad_cam"]


@pytest.fixture(scope="module")
def trusted(shipped_net) -> Explanation:
    """Example 3 with trust scores for three methods, on the shipped weights."""
    return explain(shipped_net, example(3), TRUST_METHODS, faithfulness=True, sanity=True)


@pytest.fixture(scope="module")
def details(trusted: Explanation) -> dict:
    return views.details_output(trusted, TRUTH)


def test_details_are_the_librarys_plus_the_true_label(trusted: Explanation, details) -> None:
    assert {k: v for k, v in details.items() if k in trusted.to_dict()} == trusted.to_dict()
    assert details["true_label"] == "airplane"
    assert details["true_label_source"] == "bundled example #3"
    assert details["correct"] == (trusted.prediction == 0)
    unknown = views.details_output(trusted, None)
    assert (unknown["true_label"], unknown["correct"]) == (None, None)


def test_label_is_the_top_five(trusted: Explanation) -> None:
    assert list(views.label_output(trusted).items()) == trusted.top(5)


def test_gallery_pictures_and_captions(trusted: Explanation) -> None:
    pictures = views.gallery_pictures(trusted, TRUTH)
    (card, first), *maps = pictures
    top_class, probability = trusted.top(1)[0]
    assert first == (
        f"Model input 32×32 (shown 8×) · predicted {top_class} {probability:.0%} · "
        "true label airplane"
    )
    assert np.array_equal(np.asarray(card), np.asarray(input_card(trusted)))
    assert [caption for _, caption in maps] == [trusted.caption(k) for k in TRUST_METHODS]
    for (picture, _), key in zip(maps, TRUST_METHODS, strict=True):
        assert picture is trusted.overlays[key]
    assert "true label" not in views.gallery_pictures(trusted, None)[0][1]


def test_summary(details: dict, trusted: Explanation) -> None:
    text = views.summary_text(details)
    mark = "✓ right" if details["correct"] else "✗ wrong"
    assert text.startswith(f"**True label:** airplane, so the prediction is **{mark}**.")
    assert f"why the model would say **{trusted.predicted_class}**." in text
    for key in TRUST_METHODS:
        delta = trusted.deltas.get(key)
        shown = "—" if delta is None else f"{delta:+.1e}"
        row = f"| {METHODS[key].label} | {trusted.timings[key]:.2f} | {shown} |"
        assert row in text
    best = min(TRUST_METHODS, key=lambda k: trusted.faithfulness[k]["deletion_auc"])
    assert f"lowest deletion AUC **{METHODS[best].label}**" in text
    assert text.endswith(f"**Weights:** `{trusted.weights}`  \n**Device:** `{details['device']}`")
    assert views.summary_text(None) == ""
    assert views.not_updated_text(details) == f"{views.NOT_UPDATED}\n\n{text}"


def test_a_contrast_is_named_in_the_summary(shipped_net) -> None:
    result = explain(shipped_net, example(3), ["saliency"], "cat", contrast="dog")
    text = views.summary_text(views.details_output(result, None))
    assert "why the model would say **cat** rather than **dog** (their scores' difference)" in text
    assert "True label" not in text and "Trust scores" not in text


def test_verdict() -> None:
    assert views.verdict(None) == views.verdict({"true_label": None}) == "Top 5 predictions"
    right = {"true_label": "cat", "correct": True}
    assert views.verdict(right) == "Top 5 · ✓ right (true label: cat)"
    assert views.verdict(right | {"correct": False}) == "Top 5 · ✗ wrong (true label: cat)"


def test_target_choices_and_truth_text() -> None:
    assert views.target_choices(None) == [("predicted class", "predicted")] + [
        (name, name) for name in CLASSES
    ]
    assert views.target_choices(TRUTH)[1] == ("true label (airplane)", "true label")
    assert views.truth_text(TRUTH) == "airplane (bundled example #3)"
    assert views.truth_text(None) == ""


def test_trust_rows_rank_by_deletion_auc(details: dict, trusted: Explanation) -> None:
    rows = views.trust_rows(details)
    assert [row[0] for row in rows] == [1, 2, 3]
    ranked = sorted(TRUST_METHODS, key=lambda k: trusted.faithfulness[k]["deletion_auc"])
    assert [row[1] for row in rows] == [METHODS[k].label for k in ranked]
    for row, key in zip(rows, ranked, strict=True):
        score, check = trusted.faithfulness[key], trusted.sanity[key]
        assert row[2] == round(score["deletion_auc"], 3)
        assert row[3] == round(score["insertion_auc"], 3)
        assert row[4] == pytest.approx(score["infidelity"], rel=5e-3)
        assert row[5] == pytest.approx(score["sensitivity_max"], rel=5e-3)
        assert row[6] == round(check["final"], 2)
        assert row[7] == ("⚠ flagged" if check["flagged"] else "ok")
    assert len(views.TRUST_HEADERS) == len(views.TRUST_TYPES) == len(rows[0])
    assert views.trust_rows({"methods": TRUST_METHODS}) == []


def test_trust_note_says_which_maps_are_flagged(details: dict) -> None:
    note, style = views.trust_note({"methods": TRUST_METHODS})
    assert note.startswith("Tick **Trust scores**") and style == []

    def flagged(*keys: str) -> dict:
        sanity = {k: details["sanity"][k] | {"flagged": k in keys} for k in TRUST_METHODS}
        return details | {"sanity": sanity}

    note, style = views.trust_note(details | {views.TRUST_PENDING: True, "sanity": {}})
    assert note.startswith("**Computing the trust scores**") and style == ["note-pending"]
    note, style = views.trust_note(flagged())
    assert note.startswith("✓ **Sanity check passed:**") and style == ["note-ok"]
    assert f"|ρ| < {FLAG_THRESHOLD}" in note
    note, style = views.trust_note(flagged("saliency", "grad_cam"))
    assert note.startswith("⚠ **Sanity check: Saliency and Grad-CAM — not depending")
    assert style == ["note-warn"]
    assert views.trust_line(flagged("deeplift")).endswith(
        "; ⚠ not depending on what the model learned: **DeepLift**."
    )
    assert views.trust_line(flagged()).endswith("; every map passed the sanity check.")


def test_help_texts_name_every_method_and_score() -> None:
    help_text = views.method_help()
    for method in METHODS.values():
        assert f"**{method.label}** ({method.sign_text}). {method.description}" in help_text
    for name in (
        "Deletion AUC",
        "Insertion AUC",
        "Infidelity",
        "Max-sensitivity",
        "Randomized-model ρ",
    ):
        assert f"- **{name}" in views.trust_help()


def test_curves_figure_draws_every_methods_curves(details: dict, trusted: Explanation) -> None:
    figure = figures.curves_figure(details)
    deletion, insertion = figure.axes
    for axes, curve in ((deletion, "deletion"), (insertion, "insertion")):
        lines = axes.get_lines()
        assert [line.get_label() for line in lines] == [METHODS[k].label for k in TRUST_METHODS]
        for line, key in zip(lines, TRUST_METHODS, strict=True):
            np.testing.assert_allclose(line.get_ydata(), trusted.faithfulness[key][curve])
            assert line.get_color() == figures.method_color(key)
    assert deletion.get_ylabel() == f"probability of {details['target_class']}"
    assert figures.curves_figure({"methods": TRUST_METHODS}) is None


def test_agreement_figure_shows_the_spearman_matrix(details: dict, trusted: Explanation) -> None:
    figure = figures.agreement_figure(details)
    shown = figure.axes[0].get_images()[0].get_array()
    _, matrix = trusted.agreement()
    np.testing.assert_allclose(shown, matrix, atol=1e-6)
    labels = [tick.get_text() for tick in figure.axes[0].get_xticklabels()]
    assert labels == [METHODS[k].label for k in TRUST_METHODS]
    one = details | {"agreement": {"methods": ["saliency"], "spearman": [[1.0]]}}
    assert figures.agreement_figure(one) is None


def test_method_colors_are_distinct() -> None:
    colors = [figures.method_color(key) for key in METHODS]
    assert len(set(colors)) == len(colors)


def test_the_downloaded_record_reproduces_the_arrays(shipped_net) -> None:
    settings = {"n_steps": 8, "baseline": "blur", "seed": 3}
    methods = ["saliency", "integrated_gradients"]
    result = explain(shipped_net, example(3), methods, "ship", contrast="cat", **settings)
    request = {"target": "ship", "contrast": "cat"}
    last = views.stored(result, TRUTH, "key", request)
    assert last["name"] == "explanation_ship_vs_cat" and last["key"] == "key"
    record = last["record"]
    assert record["request"] == request and record["true_label"] == "airplane"
    assert record["model_input_sha256"] == image_fingerprint(model_image(example(3)))
    scope = {"WEIGHTS": ROOT / "weights", "IMAGE": Path(example(3))}
    exec(record["reproduce"], scope)  # the code the JSON gives users
    for key in methods:
        np.testing.assert_array_equal(scope["result"].attributions[key], last["attributions"][key])
