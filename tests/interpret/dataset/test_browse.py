"""Predictions over a test set (equal to explain's, cached on disk, recomputed when the cache
is bad), the confusion matrix (equal to scripts/evaluate.py's), and browsing: filters
consistent with the matrix, sort order, paging, errors, and disagreements between models."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SHARED, Command, Finished
from script_runs import run_main
from synthetic_data import synthetic_cifar10

from interpret import CLASSES, explain_batch, load_model
from interpret.core.disk_cache import save_arrays
from interpret.dataset import predictions as predictions_module
from interpret.dataset import sources as testset
from interpret.dataset.browse import BrowseError, browse, confusion, disagreements
from interpret.dataset.predictions import cache_path, cached_predictions, predict_test_set

FULL = SHARED / "cifar10"
needs_full = pytest.mark.skipif(not FULL.is_dir(), reason=f"no CIFAR-10 copy at {FULL}")


@pytest.fixture(autouse=True)
def fresh_process_memory():
    """Each test sees the disk cache, not another test's in-process copy."""
    predictions_module.forget_in_memory()
    yield
    predictions_module.forget_in_memory()


@pytest.fixture(scope="module")
def tutorial_net():
    return load_model(ROOT / "weights" / "tutorial", device="cpu")


def explained(net, images: np.ndarray) -> np.ndarray:
    """Probabilities as interpret.explain reports them, one image at a time."""
    return np.stack(
        [
            explain_batch(net, [image], ["saliency"], overlays=False)[0].probabilities
            for image in images
        ]
    )


def assert_same_predictions(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Probabilities to 1e-6; the predicted class wherever the top two are not a near tie."""
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    top2 = np.sort(theirs, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-5
    assert np.array_equal(ours.argmax(1)[clear], theirs.argmax(1)[clear])


def test_predictions_equal_explain_on_the_bundled_images(shipped_net, tmp_path: Path) -> None:
    bundled = testset.bundled()
    result = predict_test_set(shipped_net, bundled, cache_dir=tmp_path)
    assert result.probabilities.shape == (20, 10) and result.probabilities.dtype == np.float32
    assert_same_predictions(result.probabilities, explained(shipped_net, bundled.images))
    rows = np.arange(20)
    assert np.array_equal(result.confidence, result.probabilities[rows, result.predicted])
    assert np.array_equal(result.confidence, result.probabilities.max(axis=1))


def test_predictions_equal_explain_on_50_images_of_the_full_set(
    shipped_net, full_test_set, library_cache_dir
):
    result = predict_test_set(shipped_net, full_test_set, cache_dir=library_cache_dir)
    picked = random.Random(0).sample(range(len(full_test_set)), 50)
    theirs = explained(shipped_net, full_test_set.images[picked])
    assert_same_predictions(result.probabilities[picked], theirs)


def test_cache_hit_is_identical_and_a_bad_cache_is_recomputed(shipped_net, tmp_path: Path) -> None:
    bundled = testset.bundled()
    calls: list[tuple[int, int, str]] = []
    first = predict_test_set(
        shipped_net, bundled, cache_dir=tmp_path, progress=lambda *a: calls.append(a)
    )
    assert not first.from_cache and calls[-1] == (20, 20, "predicting")
    path = cache_path(first.weights, bundled.fingerprint, tmp_path)
    assert path.is_file()

    predictions_module.forget_in_memory()
    hit = predict_test_set(shipped_net, bundled, cache_dir=tmp_path)
    assert hit.from_cache and np.array_equal(hit.probabilities, first.probabilities)

    # One flipped byte in the stored probabilities: recomputed, and the file replaced.
    data = bytearray(path.read_bytes())
    stored = bytes(first.probabilities.tobytes())
    offset = bytes(data).find(stored[:64])
    assert offset > 0
    data[offset + 5] ^= 0x40
    path.write_bytes(bytes(data))
    predictions_module.forget_in_memory()
    again = predict_test_set(shipped_net, bundled, cache_dir=tmp_path)
    assert not again.from_cache and np.array_equal(again.probabilities, first.probabilities)
    predictions_module.forget_in_memory()
    assert predict_test_set(shipped_net, bundled, cache_dir=tmp_path).from_cache

    # A valid archive whose probabilities were swapped around (each row still sums to 1):
    # only the stored checksum can tell, and it does.
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["probabilities"] = arrays["probabilities"][::-1].copy()
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    predictions_module.forget_in_memory()
    assert not predict_test_set(shipped_net, bundled, cache_dir=tmp_path).from_cache

    # A truncated file, and a well-formed file holding nonsense: both recomputed.
    path.write_bytes(path.read_bytes()[:100])
    predictions_module.forget_in_memory()
    assert not predict_test_set(shipped_net, bundled, cache_dir=tmp_path).from_cache
    meta = {
        "kind": "predictions",
        "version": predictions_module.CACHE_VERSION,
        "weights": first.weights,
        "dataset": bundled.fingerprint,
        "images": 20,
    }
    save_arrays(path, {"probabilities": np.zeros((20, 10), np.float32)}, meta)
    predictions_module.forget_in_memory()
    recomputed = predict_test_set(shipped_net, bundled, cache_dir=tmp_path)
    assert not recomputed.from_cache
    assert np.array_equal(recomputed.probabilities, first.probabilities)


def test_cache_key_is_the_weights_and_the_pixels(shipped_net, tutorial_net, tmp_path) -> None:
    bundled = testset.bundled()
    ours = predict_test_set(shipped_net, bundled, cache_dir=tmp_path)
    theirs = predict_test_set(tutorial_net, bundled, cache_dir=tmp_path)
    assert ours.weights != theirs.weights
    assert not np.array_equal(ours.probabilities, theirs.probabilities)
    # The same weights loaded from another file format share the key.
    reloaded = load_model(ROOT / "weights" / "model.safetensors", device="cpu")
    assert predictions_module.weights_digest(reloaded) == ours.weights
    assert len(list((tmp_path / "predictions").glob("*.npz"))) == 2


# ------------------------------------------------------------------ confusion and evaluate.py


def evaluate_script(data_dir: Path, *weights: Path) -> dict:
    """scripts/evaluate.py's JSON report (its main, run here: tests/script_runs.py)."""
    args = ["--data-dir", data_dir, "--weights", weights[0], "--json"]
    if len(weights) > 1:
        args += ["--reference", weights[1]]
    return json.loads(run_main("evaluate.py", *args)[1])


def near_ties(result) -> int:
    top2 = np.sort(result.probabilities, axis=1)[:, -2:]
    return int((top2[:, 1] - top2[:, 0] <= 1e-5).sum())


def check_against_evaluate(net, data: testset.ImageSet, script_result: dict, cache: Path) -> None:
    result = predict_test_set(net, data, cache_dir=cache)
    matrix = confusion(result)
    ours, theirs = np.array(matrix["matrix"]), np.array(script_result["confusion"])
    # Exactly equal but for images whose top two classes tie to float32 rounding (none here).
    assert np.abs(ours - theirs).sum() <= 2 * near_ties(result)
    assert matrix["total"] == script_result["num_images"] == len(data)
    if np.array_equal(ours, theirs):
        assert matrix["accuracy"] == script_result["top1"]
    assert matrix["per_class_accuracy"] == pytest.approx(script_result["per_class"])


def test_confusion_equals_evaluate_on_a_synthetic_imagefolder(
    tmp_path_factory: pytest.TempPathFactory, shipped_net, tutorial_net, tmp_path
) -> None:
    root = synthetic_cifar10(tmp_path_factory)
    data = testset.open_local(root)
    summary = evaluate_script(root, ROOT / "weights", ROOT / "weights" / "tutorial")
    check_against_evaluate(shipped_net, data, summary["results"][0], tmp_path)
    check_against_evaluate(tutorial_net, data, summary["results"][1], tmp_path)


EVALUATE_BOTH = ("--weights", "weights", "--reference", "weights/tutorial", "--json")
BACKGROUND = (
    {
        "test_confusion_equals_evaluate_on_the_full_test_set": Command(
            (sys.executable, "scripts/evaluate.py", "--data-dir", str(FULL), *EVALUATE_BOTH)
        )
    }
    if FULL.is_dir()
    else {}
)


@needs_full
@pytest.mark.slow
def test_confusion_equals_evaluate_on_the_full_test_set(
    full_test_set, shipped_net, tutorial_net, library_cache_dir, background_run: Finished
) -> None:
    """evaluate.py on the 10,000 images, as a user runs it, in conftest's background lane."""
    assert background_run.returncode == 0, background_run.stderr[-2000:]
    summary = json.loads(background_run.stdout)
    check_against_evaluate(shipped_net, full_test_set, summary["results"][0], library_cache_dir)
    check_against_evaluate(tutorial_net, full_test_set, summary["results"][1], library_cache_dir)


def test_confusion_matrix_counts_each_image_once(shipped_net, tmp_path) -> None:
    bundled = testset.bundled()
    result = predict_test_set(shipped_net, bundled, cache_dir=tmp_path)
    matrix = confusion(result)
    counted = np.zeros((10, 10), dtype=int)
    for true, predicted in zip(bundled.labels, result.probabilities.argmax(1)):
        counted[true, predicted] += 1
    assert matrix["matrix"] == counted.tolist()
    assert sum(map(sum, matrix["matrix"])) == matrix["total"] == 20
    assert matrix["classes"] == list(CLASSES)
    assert matrix["accuracy"] == np.trace(counted) / 20 == result.accuracy


# ------------------------------------------------------------------ browsing


DATA: dict[str, testset.ImageSet] = {}  # the set behind each prediction fixture, by fingerprint


@pytest.fixture(params=["bundled", "full"])
def predictions(request, shipped_net, library_cache_dir):
    data = (
        testset.bundled()
        if request.param == "bundled"
        else request.getfixturevalue("full_test_set")
    )
    DATA[data.fingerprint] = data
    return predict_test_set(shipped_net, data, cache_dir=library_cache_dir)


def test_browse_totals_agree_with_the_confusion_matrix(predictions) -> None:
    matrix = np.array(confusion(predictions)["matrix"])
    total = int(matrix.sum())
    for true, predicted in np.ndindex(10, 10):
        page = browse(predictions, CLASSES[true], CLASSES[predicted], page_size=1)
        assert page["total"] == matrix[true, predicted]
    for index, name in enumerate(CLASSES):
        assert browse(predictions, true_class=name)["total"] == matrix[index].sum()
        assert browse(predictions, predicted_class=index)["total"] == matrix[:, index].sum()
    assert browse(predictions)["total"] == total == len(predictions)
    assert browse(predictions, outcome="wrong")["total"] == total - np.trace(matrix)
    assert browse(predictions, outcome="correct")["total"] == np.trace(matrix)
    cat_dog = browse(predictions, "cat", "dog", outcome="correct")["total"]
    assert cat_dog == 0  # a cat predicted as a dog is never correct


def every_page(predictions, page_size: int, **filters) -> list[dict]:
    first = browse(predictions, page=1, page_size=page_size, **filters)
    items = list(first["items"])
    for number in range(2, first["pages"] + 1):
        page = browse(predictions, page=number, page_size=page_size, **filters)
        assert (page["page"], page["pages"], page["total"]) == (
            number,
            first["pages"],
            first["total"],
        )
        items += page["items"]
    assert first["pages"] == max(1, math.ceil(first["total"] / page_size))
    return items


@pytest.mark.parametrize("sort", ["most confident first", "least confident first", "index"])
def test_sort_and_paging_cover_every_match_once_in_order(predictions, sort: str) -> None:
    items = every_page(predictions, 7, outcome="wrong", sort=sort)
    wrong = np.flatnonzero(predictions.predicted != predictions.labels)
    assert sorted(item["index"] for item in items) == wrong.tolist()
    keys = [(item["confidence"], item["index"]) for item in items]
    if sort == "most confident first":
        assert keys == sorted(keys, key=lambda k: (-k[0], k[1]))
    elif sort == "least confident first":
        assert keys == sorted(keys)
    else:
        assert [k[1] for k in keys] == sorted(k[1] for k in keys)
    for item in items:
        i = item["index"]
        assert item["confidence"] == float(predictions.probabilities[i].max())
        assert item["predicted_label"] == CLASSES[int(predictions.probabilities[i].argmax())]
        assert item["true_label"] == CLASSES[predictions.labels[i]]


def test_confidence_range_keeps_both_ends(predictions) -> None:
    scores = predictions.confidence
    low, high = float(np.quantile(scores, 0.25)), float(np.quantile(scores, 0.75))
    items = every_page(predictions, 50, confidence=(low, high))
    assert len(items) == int(((scores >= low) & (scores <= high)).sum())
    assert all(low <= item["confidence"] <= high for item in items)
    exact = float(scores[0])
    assert 0 in [item["index"] for item in every_page(predictions, 50, confidence=(exact, exact))]


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({"true_class": "kitten"}, "unknown true class 'kitten'; choose any or one of airplane"),
        ({"predicted_class": 10}, "unknown predicted class 10"),
        ({"outcome": "maybe"}, "unknown outcome 'maybe'; choose one of all, correct, wrong"),
        ({"sort": "random"}, "unknown sort order 'random'"),
        ({"page": 0}, "page must be at least 1, got 0"),
        ({"page": 99}, "page 99 is out of range: these filters give"),
        ({"page": 1.5}, "page must be a whole number, got 1.5"),
        ({"page_size": 0}, "page_size must be between 1 and 500, got 0"),
        ({"confidence": (0.8, 0.2)}, "the confidence range is empty: min 0.8 is above max 0.2"),
        ({"confidence": (-0.1, 1)}, "confidence bounds must be between 0 and 1, got -0.1"),
        ({"confidence": (0, float("nan"))}, "confidence bounds must be between 0 and 1, got nan"),
        ({"confidence": ("low", 1)}, "the confidence range must be numbers, got 'low'"),
        ({"confidence": 0.5}, "the confidence range must be two numbers (min, max), got 0.5"),
    ],
)
def test_bad_requests_say_what_is_wrong(shipped_net, tmp_path, request_args, message) -> None:
    result = predict_test_set(shipped_net, testset.bundled(), cache_dir=tmp_path)
    with pytest.raises(BrowseError) as raised:
        browse(result, **request_args)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ValueError)


def test_empty_selection_is_one_empty_page(shipped_net, tmp_path) -> None:
    result = predict_test_set(shipped_net, testset.bundled(), cache_dir=tmp_path)
    page = browse(result, true_class="bird")  # no bird among the 20 bundled images
    assert (page["total"], page["page"], page["pages"], page["items"]) == (0, 1, 1, [])


def test_disagreements_between_two_models(predictions, tutorial_net, library_cache_dir) -> None:
    data = DATA[predictions.dataset]
    other = predict_test_set(tutorial_net, data, cache_dir=library_cache_dir)
    ours, theirs, labels = predictions.predicted, other.predicted, predictions.labels
    differ = ours != theirs
    everything = every_disagreement(predictions, other)
    assert sorted(item["index"] for item in everything) == np.flatnonzero(differ).tolist()
    for item in everything:
        i = item["index"]
        assert item["predicted_label"] == CLASSES[ours[i]]
        assert item["other_predicted_label"] == CLASSES[theirs[i]]
        assert item["confidence"] == float(predictions.confidence[i])
        assert item["other_confidence"] == float(other.confidence[i])
    confidences = [item["confidence"] for item in everything]
    assert confidences == sorted(confidences, reverse=True)
    parts = {
        outcome: disagreements(predictions, other, outcome=outcome)["total"]
        for outcome in ("first right", "second right", "both wrong")
    }
    assert parts["first right"] == int((differ & (ours == labels)).sum())
    assert parts["second right"] == int((differ & (theirs == labels)).sum())
    assert sum(parts.values()) == differ.sum()
    cache = library_cache_dir
    another_set = testset.ImageSet(data.images[:10], data.labels[:10], "x", "y")
    with pytest.raises(BrowseError, match="different test sets"):
        disagreements(predictions, predict_test_set(tutorial_net, another_set, cache_dir=cache))


def every_disagreement(first, second) -> list[dict]:
    page = disagreements(first, second, page_size=100)
    items = list(page["items"])
    for number in range(2, page["pages"] + 1):
        items += disagreements(first, second, page=number, page_size=100)["items"]
    return items


def test_ties_in_confidence_keep_index_order_on_every_sort() -> None:
    """Equal confidences (flat images give them) page in index order, so pages are stable."""
    rows = np.full((9, 10), 0.05, dtype=np.float32)
    rows[:, 0] = 0.55
    rows[[2, 5, 7], 0], rows[[2, 5, 7], 1] = 0.3, 0.25  # a lower, tied confidence
    made_up = predictions_module.Predictions(rows, np.zeros(9, dtype=np.int64), "w", "d")
    most = [item["index"] for item in browse(made_up, page_size=9)["items"]]
    least = [
        item["index"]
        for item in browse(made_up, sort="least confident first", page_size=9)["items"]
    ]
    assert most == [0, 1, 3, 4, 6, 8, 2, 5, 7]
    assert least == [2, 5, 7, 0, 1, 3, 4, 6, 8]


def test_cached_predictions_compute_nothing(shipped_net, tmp_path: Path) -> None:
    bundled = testset.bundled()
    predictions_module.forget_in_memory()
    assert cached_predictions(shipped_net, bundled, cache_dir=tmp_path) is None
    assert not list(tmp_path.rglob("*.npz"))  # nothing computed, nothing written
    computed = predict_test_set(shipped_net, bundled, cache_dir=tmp_path)
    assert cached_predictions(shipped_net, bundled, cache_dir=tmp_path) is computed  # memory
    predictions_module.forget_in_memory()
    on_disk = cached_predictions(shipped_net, bundled, cache_dir=tmp_path)
    assert on_disk.from_cache and np.array_equal(on_disk.probabilities, computed.probabilities)
    assert cached_predictions(shipped_net, bundled, cache_dir=tmp_path) is on_disk  # remembered
