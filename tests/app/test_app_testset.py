"""The Test set endpoints of `python app.py` through the real gradio_client, on the 20 bundled
test images (no ../shared needed; tests/app/test_app_testset_full.py runs the same on all 10,000):
/models, /confusion, /browse and /strategies against the library's own numbers and
scripts/evaluate.py's computation, refusals in the app's words, and /explain's `model`,
appended last so that calls written before it keep working and give the same answer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from conftest import ROOT, call_over_http, example, refusal
from gradio_client import Client, handle_file

from interpret import CLASSES, explain, load_model
from interpret.dataset import sources as testset
from interpret.dataset import training as data
from interpret.dataset.browse import browse, confusion
from interpret.dataset.predictions import predict_test_set
from interpret.dataset.strategies import class_strategies

pytestmark = pytest.mark.timeout(300)

FAST = {"methods": ["saliency", "integrated_gradients"], "nt_samples": 4}
OLD_EXPLAIN = 13  # /explain's parameters before `model` was appended


@pytest.fixture(scope="module")
def bundled() -> testset.ImageSet:
    return testset.bundled()


@pytest.fixture(scope="module")
def nets(pretrained_dir: Path) -> dict:
    """The app's three models, loaded here as the library loads them."""
    return {
        "default": load_model(pretrained_dir, device="cpu"),
        "retrained": load_model(ROOT / "weights", device="cpu"),
        "tutorial": load_model(ROOT / "weights" / "tutorial", device="cpu"),
    }


def test_models_lists_the_apps_model_first_then_the_built_in_ones(client: Client) -> None:
    rows = client.predict(api_name="/models")
    assert [row["name"] for row in rows] == ["default", "retrained", "tutorial"]
    assert [row["default"] for row in rows] == [True, False, False]
    by_name = {row["name"]: row for row in rows}
    shipped = json.loads((ROOT / "weights" / "metrics.json").read_text())["test_top1"]
    assert by_name["retrained"]["accuracy"] == shipped
    assert by_name["tutorial"]["accuracy"] == 0.5842
    # The session's weights have no metrics.json, and 20 images are no test of accuracy.
    assert by_name["default"]["accuracy"] is None
    assert "only the 20 bundled" in by_name["default"]["accuracy_source"]
    for row in rows:
        assert "(sha256 " in row["weights"] and str(ROOT) not in row["weights"], row


def test_confusion_equals_the_library_and_evaluate_pys_computation(
    client: Client, bundled, nets: dict, tmp_path: Path
) -> None:
    """The matrix sums to the set's size and is the library's; its accuracy is what
    scripts/evaluate.py computes (`interpret.dataset.training`: batched predict, bincount
    matrix, report) for the same images and weights. The script itself cannot read the 20 (no
    bird, no deer: torchvision's ImageFolder wants every class); tests/app/test_app_testset_full.py
    runs it."""
    images = torch.from_numpy(np.array(bundled.images)).permute(0, 3, 1, 2).contiguous()
    labels = torch.from_numpy(np.array(bundled.labels))
    for name, net in nets.items():
        served = client.predict(name, api_name="/confusion")
        expected = confusion(predict_test_set(net, bundled, cache_dir=tmp_path))
        script = data.confusion_matrix(data.predict(net, images), labels)
        report = data.accuracy_report(script)
        assert served["model"] == name and served["classes"] == list(CLASSES)
        assert np.asarray(served["matrix"]).sum() == served["total"] == 20
        assert served["matrix"] == expected["matrix"] == script.tolist()
        assert served["accuracy"] == expected["accuracy"] == report["top1"]
        assert served["test_set"]["size"] == 20 and not served["test_set"]["full"]
        assert "INTERPRET_CIFAR10_DIR" in served["test_set"]["reason"]
    assert client.predict(api_name="/confusion")["model"] == "default"  # no model: the app's


def test_browse_agrees_with_the_matrix_and_the_library(client: Client, bundled, nets) -> None:
    matrix = np.asarray(client.predict(api_name="/confusion")["matrix"])
    cells = [tuple(cell) for cell in np.argwhere(matrix > 0)] + [(0, 9), (9, 0), (4, 4)]
    for true, predicted in cells:
        page = client.predict(CLASSES[true], CLASSES[predicted], api_name="/browse")
        assert page["total"] == matrix[true, predicted]
        assert all(
            (item["true_label"], item["predicted_label"]) == (CLASSES[true], CLASSES[predicted])
            for item in page["items"]
        )
    correct = client.predict(outcome="correct", api_name="/browse")
    wrong = client.predict(outcome="wrong", api_name="/browse")
    assert correct["total"] == np.trace(matrix) and wrong["total"] == 20 - np.trace(matrix)
    served = client.predict(sort="least confident first", api_name="/browse")
    expected = browse(
        predict_test_set(nets["default"], bundled), sort="least confident first", page=1
    )
    assert [item["index"] for item in served["items"]] == [i["index"] for i in expected["items"]]
    assert served["pages"] == math.ceil(20 / 24) == 1 and served["model"] == "default"
    for item, theirs in zip(served["items"], expected["items"], strict=True):
        assert item["true_label"] == theirs["true_label"] == CLASSES[bundled.labels[item["index"]]]
        assert item["confidence"] == pytest.approx(theirs["confidence"], abs=1e-6)
    confidences = [item["confidence"] for item in served["items"]]
    assert confidences == sorted(confidences)
    narrowed = client.predict(min_confidence=0.5, max_confidence=1.0, api_name="/browse")
    assert all(item["confidence"] >= 0.5 for item in narrowed["items"])
    # An index of /browse is the index of /sample: the same image, the same label.
    first = served["items"][0]
    _, label, _, index = client.predict(first["index"], api_name="/sample")
    assert (label, index) == (first["true_label"], first["index"])


def test_strategies_equal_the_librarys(client: Client, bundled, nets, tmp_path: Path) -> None:
    served = client.predict("frog", "retrained", api_name="/strategies")
    expected = class_strategies(
        nets["retrained"], bundled, "frog", cache_dir=tmp_path, use_cache=False
    ).to_dict()
    assert served == {**expected, "model": "retrained"}
    assert sum(cluster["size"] for cluster in served["clusters"]) == 4  # the 4 bundled frogs
    assert "too few to cluster" in served["reason"]


@pytest.mark.parametrize(
    ("api_name", "arguments", "words"),
    [
        ("/browse", {"true_class": "unicorn"}, "unknown true class 'unicorn'; choose any or"),
        ("/browse", {"predicted_class": "11"}, "unknown predicted class 11; choose any or"),
        ("/browse", {"page": 2}, "page 2 is out of range: these filters give 20 image(s)"),
        ("/browse", {"page": 0}, "page must be at least 1, got 0"),
        ("/browse", {"outcome": "lucky"}, "unknown outcome 'lucky'; choose one of all, correct"),
        ("/browse", {"min_confidence": 0.9, "max_confidence": 0.1}, "confidence range is empty"),
        ("/browse", {"model": "gpt"}, "unknown model 'gpt'; choose one of default, retrained"),
        ("/confusion", {"model": "gpt"}, "unknown model 'gpt'"),
        ("/strategies", {"class_name": "unicorn"}, "unknown class 'unicorn'; choose one of"),
        ("/strategies", {"class_name": "cat", "model": 7}, "unknown model 7"),
    ],
)
def test_bad_requests_are_refused_in_the_apps_words(
    client: Client, api_name: str, arguments: dict, words: str
) -> None:
    message = refusal(client, api_name, **arguments)
    assert message.startswith("Invalid setting: ") and words in message, message


def test_explain_with_another_model_is_that_models_answer(client: Client, nets) -> None:
    image = handle_file(str(example(3)))
    _, label, details = client.predict(image, **FAST, model="tutorial", api_name="/explain")
    expected = explain(nets["tutorial"], example(3), FAST["methods"], nt_samples=4)
    assert details["model"] == "tutorial" and details["weights"] == expected.weights
    assert label["label"] == expected.predicted_class
    np.testing.assert_allclose(
        [details["probabilities"][name] for name in CLASSES], expected.probabilities, rtol=1e-6
    )
    assert details["deltas"] == pytest.approx(expected.deltas, rel=1e-5, abs=1e-7)
    message = refusal(client, "/explain", image, **FAST, model="gpt")
    assert message.startswith("Invalid setting: unknown model 'gpt'"), message


def test_an_explain_call_without_model_still_works_and_gives_the_same_answer(
    client: Client, app_url: str, nets
) -> None:
    """Written before `model` existed: gradio_client fills in the default, and a plain HTTP
    call with the 13 values of that time is completed by the app (ui/gradio_fixes.py, 3)."""
    image = handle_file(str(example(6)))
    old = client.predict(image, **FAST, api_name="/explain")
    named = client.predict(image, **FAST, model="default", api_name="/explain")
    expected = explain(nets["default"], example(6), FAST["methods"], nt_samples=4)
    for _, label, details in (old, named):
        assert label["label"] == expected.predicted_class
        assert details["model"] == "default" and details["weights"] == expected.weights
        assert details["prediction"] == expected.prediction
        assert details["deltas"] == pytest.approx(expected.deltas, rel=1e-5, abs=1e-7)
    assert old[2]["probabilities"] == named[2]["probabilities"]

    with open(example(6), "rb") as upload:
        path = httpx.post(f"{app_url}gradio_api/upload", files={"files": upload}).json()[0]
    values = [
        {"path": path, "meta": {"_type": "gradio.FileData"}},
        FAST["methods"],
        "predicted",
        50,
        4,
        0.2,
        "zeros",
        0,
        0.5,
        "none",
        False,
        4,
        2,
    ]
    assert len(values) == OLD_EXPLAIN
    kind, answer = call_over_http(app_url, "explain", values, timeout=120)
    assert kind == "complete", answer
    details = answer[2]  # gallery, label, details
    assert details["model"] == "default" and details["probabilities"] == named[2]["probabilities"]
    assert details["deltas"] == named[2]["deltas"]


def test_no_answer_names_a_server_directory(client: Client, pretrained_dir: Path) -> None:
    """Weights, data and accuracy sources are described, never located (README: Security)."""
    answers = {
        "/models": client.predict(api_name="/models"),
        "/confusion": client.predict(api_name="/confusion"),
        "/browse": client.predict(api_name="/browse"),
        "/strategies": client.predict("cat", api_name="/strategies"),
    }
    for api_name, answer in answers.items():
        text = json.dumps(answer)
        for directory in (ROOT, pretrained_dir, Path.home()):
            assert str(directory) not in text, (api_name, directory)
