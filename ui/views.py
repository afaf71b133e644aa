"""What the page and the API show, built from an `Explanation` or its details dict.

No Gradio here: plain values, Markdown and table rows, so the CLI or a notebook could reuse
them. The matplotlib figures are in ui/figures.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from interpret import CLASSES, METHODS, Explanation
from interpret.dataset.images import image_fingerprint
from interpret.explain import input_card
from interpret.trust.faithfulness import SCORE_HELP
from interpret.trust.sanity import FLAG_THRESHOLD

from .config import PREDICTED, TRUE_LABEL

START_HINT = (
    "**Start with an image:** upload or paste one, press *Random CIFAR-10 test image*, or click "
    "one of the test images below the maps. The prediction appears here, the maps below."
)
NOT_UPDATED = (
    "**Not updated:** the last request was refused or failed (its message says why), so "
    "everything below still shows the previous result and its settings."
)
# In the first of /explain's two answers when trust scores are asked for: the maps, scores next.
TRUST_PENDING = "trust_scores_pending"
TRUST_HEADERS = [
    "Rank",
    "Method",
    "Deletion AUC ↓",
    "Insertion AUC ↑",
    "Infidelity ↓",
    "Max-sensitivity ↓",
    "Randomized-model ρ",
    "Flag",
]
TRUST_TYPES = ["number", "str", "number", "number", "number", "number", "number", "str"]
RHO_HELP = (
    "Spearman rank correlation between the map on the trained model and on the model with "
    "every layer re-initialized (top-down, cascading; Adebayo et al., 2018); near 0 is good, "
    f"|ρ| ≥ {FLAG_THRESHOLD} flags a map that does not depend on what the model learned"
)

# ------------------------------------------------------------------ API values


def label_output(result: Explanation) -> dict[str, float]:
    """The plain top-5 value, so API clients get a stable shape; the UI heading is separate."""
    return dict(result.top(5))


def details_output(
    result: Explanation, truth: tuple[int, str] | None, model: str | None = None
) -> dict[str, Any]:
    """The details JSON: the library's dict plus what the app knows of the true label, and
    the name of the model that explained (its weights and sha256 are in "weights")."""
    details = result.to_dict()
    if model is not None:
        details["model"] = model
    details["true_label"] = None if truth is None else CLASSES[truth[0]]
    details["true_label_source"] = None if truth is None else truth[1]
    details["correct"] = None if truth is None else result.prediction == truth[0]
    return details


def gallery_pictures(
    result: Explanation, truth: tuple[int, str] | None
) -> list[tuple[Image.Image, str]]:
    """The model input, then one overlay per method, each with its caption."""
    top_class, top_probability = result.top(1)[0]
    known = "" if truth is None else f" · true label {CLASSES[truth[0]]}"
    first = f"Model input 32×32 (shown 8×) · predicted {top_class} {top_probability:.0%}{known}"
    return [(input_card(result), first)] + [
        (result.overlays[key], result.caption(key)) for key in result.methods
    ]


def reproduction(
    result: Explanation, truth: tuple[int, str] | None, request: dict, model: str | None = None
) -> dict:
    """What the downloaded JSON holds: the app's details, the request as received, the model
    input's fingerprint and the library call that recomputes every array."""
    record = details_output(result, truth, model)
    record["request"] = request
    record["model_input_sha256"] = image_fingerprint(result.image)
    trust = bool(result.faithfulness)
    record["reproduce"] = (
        "from interpret import explain, load_model\n"
        f"model = load_model(WEIGHTS)  # {result.weights}\n"
        f"result = explain(model, IMAGE, {list(result.methods)!r}, {result.target}, "
        f"contrast={result.contrast!r}, faithfulness={trust}, sanity={trust}, "
        f"**{result.params.to_dict()!r})\n"
        "# result.attributions[key] equals the .npz array of the same name"
    )
    return record


def stored(
    result: Explanation,
    truth: tuple[int, str] | None,
    key: str,
    request: dict,
    model: str | None = None,
) -> dict:
    """The session's last explanation, as /download needs it (raw arrays, the JSON record)."""
    return {
        "key": key,
        "attributions": dict(result.attributions),
        "record": reproduction(result, truth, request, model),
        "name": "explanation_" + result.question.replace(" vs ", "_vs_"),
    }


# ------------------------------------------------------------------ the page's words


def target_choices(truth: tuple[int, str] | None) -> list[tuple[str, str]]:
    """The target dropdown: predicted, the true label when known, then every class."""
    choices = [("predicted class", PREDICTED)]
    if truth is not None:
        choices.append((f"true label ({CLASSES[truth[0]]})", TRUE_LABEL))
    return choices + [(name, name) for name in CLASSES]


def truth_text(truth: tuple[int, str] | None) -> str:
    """The True label box: "airplane (bundled example #3)", or empty when unknown."""
    return "" if truth is None else f"{CLASSES[truth[0]]} ({truth[1]})"


def verdict(details: dict[str, Any] | None) -> str:
    """The label's heading: right or wrong when the true label is known."""
    if not details or not details.get("true_label"):
        return "Top 5 predictions"
    mark = "✓ right" if details.get("correct") else "✗ wrong"
    return f"Top 5 · {mark} (true label: {details['true_label']})"


def summary_text(details: dict[str, Any] | None) -> str:
    """The Markdown under the label: verdict, target, per-method time and delta, weights and
    device."""
    if not details:
        return ""
    lines = []
    if details.get("true_label"):
        mark = "✓ right" if details.get("correct") else "✗ wrong"
        lines.append(f"**True label:** {details['true_label']}, so the prediction is **{mark}**.")
    question = f"why the model would say **{details['target_class']}**"
    if details.get("contrast_class"):
        question += f" rather than **{details['contrast_class']}** (their scores' difference)"
    lines.append(f"**Explaining:** {question}.")
    table = ["| Method | Time (s) | Convergence delta |", "|---|---:|---:|"]
    for key in details["methods"]:
        delta = details["deltas"].get(key)
        shown = "—" if delta is None else f"{delta:+.1e}"
        table.append(f"| {METHODS[key].label} | {details['timings'][key]:.2f} | {shown} |")
    lines.append("\n".join(table))
    predict, render = details["timings"].get("predict", 0), details["timings"].get("render", 0)
    lines.append(
        f"Prediction took {predict:.2f} s and drawing {render:.2f} s. The delta is the "
        "attributions' sum minus what they should add up to: the change in the target's score "
        "from the baseline (for LRP, the score itself). Near 0 is good for the path methods; "
        "LRP's rule lets biases absorb relevance, so its delta can be large."
    )
    if details.get("faithfulness"):
        lines.append(trust_line(details))
    lines.append(f"**Weights:** `{details['weights']}`  \n**Device:** `{details['device']}`")
    return "\n\n".join(lines)


def not_updated_text(details: dict[str, Any]) -> str:
    """After a refused or failed request: the results on the page are the old ones."""
    return f"{NOT_UPDATED}\n\n{summary_text(details)}"


def method_help() -> str:
    """How to read the maps, one paragraph per method."""
    parts = [
        "### How to read the maps\n"
        "Each map shows, pixel by pixel, how much that part of the 32×32 image pushed the model "
        "toward the **target** class (the predicted class unless you choose another). "
        "The color bar under each map gives its scale."
    ]
    for method in METHODS.values():
        parts.append(
            f"**{method.label}** ({method.sign_text}). {method.description}"
            + (" Its baseline is set under Advanced." if method.uses_baseline else "")
            + (" So are its window and stride." if method.key == "occlusion" else "")
        )
    return "\n\n".join(parts)


# ------------------------------------------------------------------ trust scores


def flagged_labels(details: dict[str, Any]) -> list[str]:
    """The methods whose map the sanity check flagged."""
    sanity = details.get("sanity") or {}
    return [METHODS[key].label for key in details["methods"] if sanity.get(key, {}).get("flagged")]


def trust_line(details: dict[str, Any]) -> str:
    """One line for the summary: the most faithful map here, and the flagged ones."""
    scores = details["faithfulness"]
    best = min(scores, key=lambda key: scores[key]["deletion_auc"])
    flagged = flagged_labels(details)
    line = f"**Trust scores** (below the examples): lowest deletion AUC **{METHODS[best].label}**"
    if flagged:
        return line + f"; ⚠ not depending on what the model learned: **{', '.join(flagged)}**."
    return line + "; every map passed the sanity check."


def _significant(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def trust_rows(details: dict[str, Any]) -> list[list[Any]]:
    """The ranking table: one row per method, lowest deletion AUC first."""
    scores, sanity = details.get("faithfulness") or {}, details.get("sanity") or {}
    rows = []
    for rank, key in enumerate(sorted(scores, key=lambda k: scores[k]["deletion_auc"]), 1):
        score, check = scores[key], sanity.get(key, {})
        flag = "—" if not check else ("⚠ flagged" if check["flagged"] else "ok")
        rows.append(
            [
                rank,
                METHODS[key].label,
                round(score["deletion_auc"], 3),
                round(score["insertion_auc"], 3),
                _significant(score["infidelity"]),
                _significant(score["sensitivity_max"]),
                None if not check else round(check["final"], 2),
                flag,
            ]
        )
    return rows


def trust_help() -> str:
    """How to read each score of the table."""
    names = {
        "deletion_auc": "Deletion AUC",
        "insertion_auc": "Insertion AUC",
        "infidelity": "Infidelity",
        "sensitivity_max": "Max-sensitivity",
    }
    lines = [f"- **{names[key]}**: {text}." for key, text in SCORE_HELP.items()]
    lines.append(f"- **Randomized-model ρ**: {RHO_HELP}.")
    return (
        "Ranked by deletion AUC; click a column header to sort by another score. Pixels are "
        "removed toward, or added onto, the baseline chosen under Advanced.\n\n" + "\n".join(lines)
    )


def trust_note(details: dict[str, Any]) -> tuple[str, list[str]]:
    """The sanity check's verdict (a warning when a map is flagged), that it is on its way, or
    how to get one; with the CSS classes that color it."""
    if details.get(TRUST_PENDING):
        return (
            "**Computing the trust scores** for these maps: each method again on 5 slightly "
            "moved copies of the image and on 5 randomized models, then the deletion and "
            "insertion curves. They appear here when done.",
            ["note-pending"],
        )
    if not details.get("sanity"):
        return (
            "Tick **Trust scores** (beside the methods) to rank these maps by faithfulness and "
            "check that each depends on what the model learned.",
            [],
        )
    flagged = flagged_labels(details)
    if not flagged:
        return (
            "✓ **Sanity check passed:** every map changes once the model's layers are "
            f"randomized (|ρ| < {FLAG_THRESHOLD}), so each depends on what the model learned.",
            ["note-ok"],
        )
    maps = " and ".join([", ".join(flagged[:-1]), flagged[-1]] if len(flagged) > 1 else flagged)
    return (
        f"⚠ **Sanity check: {maps} — not depending on what the model learned.** These maps "
        f"stay similar (|ρ| ≥ {FLAG_THRESHOLD}) when every layer of the model is replaced by "
        "random weights: they show the image's structure more than the model's reasons.",
        ["note-warn"],
    )


# ------------------------------------------------------------------ the Test set tab


def test_set_note(described: dict[str, Any]) -> str:
    """Which images the tab browses, where they come from, and why when it is not all 10,000."""
    note = f"**Browsing {described['name']}** ({described['source']})."
    if described.get("reason"):
        note += f" Not the full test set: {described['reason']}."
    return note


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def confusion_caption(model: str, confusion: dict[str, Any]) -> str:
    """Under the matrix: the model, its accuracy here, and how to read and use the matrix."""
    return (
        f"**{model}**: {percent(confusion['accuracy'])} top-1 on {confusion['total']:,} images. "
        "Rows: true class; columns: predicted class; shading: the cell's share of its row. "
        "Click a cell to list its images (a class name: all its images)."
    )


def confusion_rows(confusion: dict[str, Any]) -> tuple[list[str], list[list[Any]], np.ndarray]:
    """(headers, rows, row shares): a row per true class, its counts, then its accuracy."""
    classes, matrix = confusion["classes"], np.asarray(confusion["matrix"])
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    headers = ["true ↓ predicted →", *classes, "accuracy"]
    rows = [
        [name, *(int(count) for count in matrix[i]), percent(confusion["per_class_accuracy"][name])]
        for i, name in enumerate(classes)
    ]
    return headers, rows, shares


def item_caption(item: dict[str, Any]) -> str:
    """A thumbnail's caption: index, true and predicted class, the prediction's confidence."""
    mark = "✓" if item["true_label"] == item["predicted_label"] else "✗"
    caption = f"#{item['index']} {mark} {item['true_label']} → {item['predicted_label']} "
    caption += f"{item['confidence']:.0%}"
    if "other_predicted_label" in item:
        caption += f" · other: {item['other_predicted_label']} {item['other_confidence']:.0%}"
    return caption


def page_text(page: dict[str, Any], model: str, other: str | None, sort: str) -> str:
    """Above the thumbnails: how many images match, which page, in which order."""
    what = (
        f"images where **{model}** and **{other}** disagree"
        if other
        else f"images (predictions of **{model}**)"
    )
    if not page["total"]:
        return f"No {what.split(' ', 1)[1]} match these filters."
    return (
        f"**{page['total']:,}** {what} · page {page['page']} of {page['pages']} · {sort}. "
        "Click an image to explain it."
    )


def strategies_text(strategies: dict[str, Any], model: str) -> str:
    """Over the strategies: how many were found and how to read them."""
    clusters = strategies["clusters"]
    count = f"{len(clusters)} strateg{'y' if len(clusters) == 1 else 'ies'}"
    found = (
        f"**{count}** for **{strategies['class']}** ({model}, "
        f"{strategies['images']:,} test images, Integrated Gradients with the tutorial's settings)"
    )
    if strategies.get("reason"):
        found += f". One group only: {strategies['reason']}"
    return (
        found + ". Each card is the mean of its images' IG maps (magnitude, each map scaled to "
        "its own maximum; darker = more influence): where the model looks when it decides that "
        "way. Accuracy: the share of the group predicted as the class. Click a card for its "
        "images, most typical first; click an image to explain it."
    )


def strategy_caption(number: int, cluster: dict[str, Any]) -> tuple[str, str]:
    """(title, subtitle) of a strategy's card."""
    return (
        f"Strategy {number}: {cluster['size']:,} images",
        f"{percent(cluster['accuracy'])} predicted as the class",
    )


def second_row_heading(details: dict[str, Any], model: str, predicted: str, probability: float):
    """Over the second model's row: which model, what it predicts, which target both explain."""
    target = f"**{details['target_class']}**"
    if details.get("contrast_class"):
        target += f" rather than **{details['contrast_class']}**"
    first = details.get("model") or "the first model"
    return (
        f"#### Second row: **{model}**, which predicts **{predicted}** ({probability:.0%})\n"
        f"Same image, settings and target as the first row (**{first}**): {target}."
    )
