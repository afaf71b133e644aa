"""The Test set endpoints on the full CIFAR-10 test set (INTERPRET_CIFAR10_DIR set to
../shared/cifar10/test; skipped cleanly without it), through the real gradio_client: the
matrix equal to the library's on the same images and weights (and so to scripts/evaluate.py's:
tests/interpret/dataset/test_browse.py), pages against the matrix, /strategies against the
library, and the index of /browse as the index of /sample.

The server is the session's with that setting, shared with tests/browser/test_browser_testset.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SHARED
from gradio_client import Client
from gradio_client.exceptions import AppError

from interpret import CLASSES, load_model
from interpret.dataset.browse import browse, confusion
from interpret.dataset.predictions import predict_test_set
from interpret.dataset.strategies import class_strategies

FULL = SHARED / "cifar10"
pytestmark = [
    pytest.mark.skipif(not (FULL / "test").is_dir(), reason=f"no CIFAR-10 copy at {FULL}"),
    pytest.mark.slow,
    pytest.mark.timeout(600),
]
APP_ENV = {"INTERPRET_CIFAR10_DIR": str(FULL / "test")}
SIZE = 10_000
WEIGHTS = {"retrained": ROOT / "weights", "tutorial": ROOT / "weights" / "tutorial"}


def test_models_measure_the_apps_model_on_the_full_set(client: Client) -> None:
    rows = {row["name"]: row for row in client.predict(api_name="/models")}
    assert list(rows) == ["default", "retrained", "tutorial"]
    served = client.predict("default", api_name="/confusion")
    assert rows["default"]["accuracy"] == served["accuracy"]
    assert rows["default"]["accuracy_source"] == "measured on the CIFAR-10 test set (10,000 images)"


@pytest.mark.parametrize("name", ["retrained", "tutorial"])
def test_confusion_equals_the_librarys(
    client: Client, full_test_set, name: str, library_cache_dir: Path
) -> None:
    served = client.predict(name, api_name="/confusion")
    assert served["total"] == np.asarray(served["matrix"]).sum() == SIZE
    assert served["test_set"]["full"] and served["test_set"]["reason"] is None
    net = load_model(WEIGHTS[name], device="cpu")
    expected = confusion(predict_test_set(net, full_test_set, cache_dir=library_cache_dir))
    assert served["matrix"] == expected["matrix"]  # the library's, exactly
    assert served["accuracy"] == expected["accuracy"]
    assert served["per_class_accuracy"] == expected["per_class_accuracy"]


def test_browse_agrees_with_the_matrix(client: Client) -> None:
    served = client.predict("retrained", api_name="/confusion")
    matrix = np.asarray(served["matrix"])
    for true, predicted in [(3, 5), (5, 3), (0, 8), (8, 8), (1, 9)]:
        page = client.predict(
            CLASSES[true], CLASSES[predicted], model="retrained", api_name="/browse"
        )
        assert page["total"] == matrix[true, predicted]
        assert page["pages"] == max(1, math.ceil(page["total"] / 24))
        confidences = [item["confidence"] for item in page["items"]]
        assert confidences == sorted(confidences, reverse=True)
    for true in range(10):
        wrong = client.predict(
            CLASSES[true], outcome="wrong", model="retrained", api_name="/browse"
        )
        assert wrong["total"] == matrix[true].sum() - matrix[true, true]
    correct = client.predict(outcome="correct", model="retrained", api_name="/browse")
    assert correct["total"] == np.trace(matrix) == round(served["accuracy"] * SIZE)
    last = client.predict(page=math.ceil(SIZE / 24), sort="index", api_name="/browse")
    assert [item["index"] for item in last["items"]] == list(range(24 * (last["pages"] - 1), SIZE))
    with pytest.raises(AppError, match="page 418 is out of range: these filters give 10,000"):
        client.predict(page=418, api_name="/browse")


def test_browse_pages_are_the_librarys_and_index_like_sample(
    client: Client, full_test_set, library_cache_dir: Path
) -> None:
    served = client.predict(
        "cat", "dog", "all", "least confident first", 2, "retrained", api_name="/browse"
    )
    net = load_model(WEIGHTS["retrained"], device="cpu")
    predicted = predict_test_set(net, full_test_set, cache_dir=library_cache_dir)
    expected = browse(predicted, "cat", "dog", "all", "least confident first", 2)
    assert [i["index"] for i in served["items"]] == [i["index"] for i in expected["items"]]
    assert (served["total"], served["pages"]) == (expected["total"], expected["pages"])
    assert served["pages"] >= 2 and len(served["items"]) == 24
    for item in served["items"][:3]:
        _, label, source, index = client.predict(item["index"], api_name="/sample")
        assert (label, index) == ("cat", item["index"])
        assert source == f"the CIFAR-10 test set (10,000 images), image #{index}: true label cat"


def test_strategies_equal_the_librarys(
    client: Client, full_test_set, library_cache_dir: Path
) -> None:
    """One class, its 1,000 images: the app's clusters are the library's, recomputed here."""
    served = client.predict("horse", "retrained", api_name="/strategies")
    net = load_model(ROOT / "weights", device="cpu")
    expected = class_strategies(
        net, full_test_set, "horse", cache_dir=library_cache_dir, use_cache=False
    )
    assert served == {**expected.to_dict(), "model": "retrained"}
    assert served["images"] == 1000 == sum(cluster["size"] for cluster in served["clusters"])
    assert len(served["clusters"]) >= 2 and served["reason"] is None
    members = [index for cluster in served["clusters"] for index in cluster["members"]]
    assert (
        sorted(members) == np.flatnonzero(full_test_set.labels == CLASSES.index("horse")).tolist()
    )
