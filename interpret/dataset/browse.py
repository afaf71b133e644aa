"""Dataset-level views of a model's predictions: confusion matrix, filtered and sorted pages,
and the images where two models disagree.

Everything here is plain numpy over `interpret.dataset.predictions.Predictions` (a few
milliseconds for 10,000 images), so a UI can call it on every click. Bad requests raise
`BrowseError` with a message meant for the user.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from interpret.core.model import CLASSES
from interpret.dataset.predictions import Predictions

ANY = "any"
OUTCOMES = ("all", "correct", "wrong")
DISAGREEMENT_OUTCOMES = ("all", "first right", "second right", "both wrong")
SORTS = ("most confident first", "least confident first", "index")
DEFAULT_PAGE_SIZE = 24
MAX_PAGE_SIZE = 500


class BrowseError(ValueError):
    """A browse request that cannot be answered; the message is meant for the user."""


def confusion(predictions: Predictions) -> dict[str, Any]:
    """{"classes", "matrix" (10x10 counts, rows = true class), "accuracy", "total"}, plus
    per-class accuracy (None for a class with no images)."""
    matrix = sklearn_confusion_matrix(
        predictions.labels, predictions.predicted, labels=list(range(len(CLASSES)))
    )
    total = int(matrix.sum())
    rows = matrix.sum(axis=1)
    return {
        "classes": list(CLASSES),
        "matrix": matrix.tolist(),
        "accuracy": float(np.trace(matrix) / total) if total else None,
        "total": total,
        "per_class_accuracy": {
            name: (float(matrix[i, i] / rows[i]) if rows[i] else None)
            for i, name in enumerate(CLASSES)
        },
    }


def class_index(value: Any, what: str = "class") -> int | None:
    """`any`, None or "" -> None; a class name (any case) or index 0-9 -> that index."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", ANY)):
        return None
    if isinstance(value, str):
        name = value.strip().lower()
        if name in CLASSES:
            return CLASSES.index(name)
        if name.isascii() and name.isdecimal():
            value = int(name)
    integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if integer and 0 <= int(value) < len(CLASSES):
        return int(value)
    raise BrowseError(f"unknown {what} {value!r}; choose any or one of {', '.join(CLASSES)}")


def _choice(value: Any, choices: Sequence[str], what: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in choices:
        raise BrowseError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return text


def _whole_number(value: Any, what: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool):
        raise BrowseError(f"{what} must be a whole number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BrowseError(f"{what} must be a whole number, got {value!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise BrowseError(f"{what} must be a whole number, got {value!r}")
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BrowseError(f"{what} must be {bound}, got {int(number)}")
    return int(number)


def confidence_range(value: Any) -> tuple[float, float]:
    """(min, max) within [0, 1], min <= max; None means the whole range."""
    if value is None:
        return 0.0, 1.0
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise BrowseError(f"the confidence range must be two numbers (min, max), got {value!r}")
    bounds = []
    for bound in value:
        try:
            number = float(bound)
        except (TypeError, ValueError):
            raise BrowseError(f"the confidence range must be numbers, got {bound!r}") from None
        if isinstance(bound, bool) or not math.isfinite(number) or not 0.0 <= number <= 1.0:
            raise BrowseError(f"confidence bounds must be between 0 and 1, got {bound!r}")
        bounds.append(number)
    low, high = bounds
    if low > high:
        raise BrowseError(f"the confidence range is empty: min {low:g} is above max {high:g}")
    return low, high


def _order(indices: np.ndarray, confidence: np.ndarray, sort: str) -> np.ndarray:
    """Sorted indices; ties in confidence keep index order, so pages are stable."""
    if sort == "index":
        return np.sort(indices)
    keys = confidence[indices]
    primary = -keys if sort == "most confident first" else keys
    return indices[np.lexsort((indices, primary))]


def _page(
    ordered: np.ndarray, page: Any, page_size: Any, item: Callable[[int], dict[str, Any]]
) -> dict[str, Any]:
    """Page `page` of `ordered` image indices as /browse answers it, each index made an item
    by `item`; an out-of-range page is refused in words."""
    size = _whole_number(page_size, "page_size", 1, MAX_PAGE_SIZE)
    pages = max(1, math.ceil(len(ordered) / size))
    number = _whole_number(page, "page", 1)
    if number > pages:
        raise BrowseError(
            f"page {number} is out of range: these filters give {len(ordered):,} image(s), "
            f"{pages} page(s) of {size}"
        )
    start = (number - 1) * size
    return {
        "total": len(ordered),
        "page": number,
        "pages": pages,
        "page_size": size,
        "items": [item(int(i)) for i in ordered[start : start + size]],
    }


def browse(
    predictions: Predictions,
    true_class: Any = ANY,
    predicted_class: Any = ANY,
    outcome: str = "all",
    sort: str = "most confident first",
    page: Any = 1,
    page_size: Any = DEFAULT_PAGE_SIZE,
    confidence: Any = None,
) -> dict[str, Any]:
    """One page of the images matching the filters:
    {"total", "page", "pages", "page_size", "items": [{"index", "true_label",
    "predicted_label", "confidence"}]}; `confidence` (min, max) bounds the predicted
    class's probability, both ends included."""
    true_index = class_index(true_class, "true class")
    predicted_index = class_index(predicted_class, "predicted class")
    outcome = _choice(outcome, OUTCOMES, "outcome")
    sort = _choice(sort, SORTS, "sort order")
    low, high = confidence_range(confidence)
    predicted, scores, labels = predictions.predicted, predictions.confidence, predictions.labels
    keep = (scores >= low) & (scores <= high)
    if true_index is not None:
        keep &= labels == true_index
    if predicted_index is not None:
        keep &= predicted == predicted_index
    if outcome != "all":
        keep &= (predicted == labels) == (outcome == "correct")
    ordered = _order(np.flatnonzero(keep), scores, sort)

    def item(i: int) -> dict[str, Any]:
        return {
            "index": i,
            "true_label": CLASSES[labels[i]],
            "predicted_label": CLASSES[predicted[i]],
            "confidence": float(scores[i]),
        }

    return _page(ordered, page, page_size, item)


def disagreements(
    first: Predictions,
    second: Predictions,
    true_class: Any = ANY,
    outcome: str = "all",
    sort: str = "most confident first",
    page: Any = 1,
    page_size: Any = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    """The images of one set on which two models predict different classes, one page of
    them, sorted by the first model's confidence. `outcome`: "all", "first right",
    "second right" or "both wrong". Items carry both predictions."""
    if first.dataset != second.dataset or not np.array_equal(first.labels, second.labels):
        raise BrowseError("the two prediction sets are for different test sets")
    true_index = class_index(true_class, "true class")
    outcome = _choice(outcome, DISAGREEMENT_OUTCOMES, "outcome")
    sort = _choice(sort, SORTS, "sort order")
    labels = first.labels
    a, b = first.predicted, second.predicted
    keep = a != b
    if true_index is not None:
        keep &= labels == true_index
    if outcome == "first right":
        keep &= a == labels
    elif outcome == "second right":
        keep &= b == labels
    elif outcome == "both wrong":
        keep &= (a != labels) & (b != labels)
    scores, other_scores = first.confidence, second.confidence
    ordered = _order(np.flatnonzero(keep), scores, sort)

    def item(i: int) -> dict[str, Any]:
        return {
            "index": i,
            "true_label": CLASSES[labels[i]],
            "predicted_label": CLASSES[a[i]],
            "confidence": float(scores[i]),
            "other_predicted_label": CLASSES[b[i]],
            "other_confidence": float(other_scores[i]),
        }

    return _page(ordered, page, page_size, item)
