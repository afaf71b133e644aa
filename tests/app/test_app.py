"""The app's Explain endpoints end to end: the session's `python app.py` (conftest's shared
server) driven through the real gradio_client. The documented and frozen API, /sample,
/predict and /explain against the library, and refusals of bad uploads, settings and indices
in the app's own words, after which the server keeps serving.

Most calls use nt_samples=4 to stay fast; one uses every default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gradio
import gradio_client
import numpy as np
import pytest
import torch
from conftest import example, refusal
from gradio_client import Client, handle_file
from PIL import Image

from interpret import CLASSES, DEFAULT_METHODS, METHODS, explain, load_model
from interpret.core.devices import select_device
from interpret.core.params import Params

pytestmark = pytest.mark.timeout(300)

EXPLAIN_PARAMETERS = [
    "image",
    "methods",
    "target",
    "n_steps",
    "nt_samples",
    "stdevs",
    "baseline",
    "seed",
    "opacity",
    "contrast",
    "trust_scores",
    "occlusion_window",
    "occlusion_stride",
    "model",
]
TEST_SET_ENDPOINTS = {"/models", "/confusion", "/browse", "/strategies"}  # test_app_testset.py
FEATURE_ENDPOINTS = {"/features", "/feature_atlas"}  # test_app_features.py
INFLUENCE_ENDPOINTS = ["/influence", "/train_sample", "/hardest"]  # test_app_influence.py
FAST = {"nt_samples": 4}


def explain_call(client: Client, image: str | Path, **settings):
    return client.predict(handle_file(str(image)), **{**FAST, **settings}, api_name="/explain")


def device_the_app_picks() -> str:
    """The app starts without INTERPRET_DEVICE (conftest's app_url): it takes what
    `select_device` picks on this machine (CUDA, then MPS, then CPU), named as a model's
    parameters there name it ("cuda:0", "cpu")."""
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("INTERPRET_DEVICE", raising=False)
        device = select_device()
    return str(torch.empty(0, device=device).device)


def test_exactly_the_documented_endpoints(client: Client) -> None:
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(named) == {
        "/explain",
        "/download",
        "/predict",
        "/sample",
        *TEST_SET_ENDPOINTS,
        *FEATURE_ENDPOINTS,
        *INFLUENCE_ENDPOINTS,
    }
    appended = ["/features", "/feature_atlas", *INFLUENCE_ENDPOINTS]
    assert list(named)[-5:] == appended  # appended, in order
    explain_info = named["/explain"]
    assert [p["parameter_name"] for p in explain_info["parameters"]] == EXPLAIN_PARAMETERS
    defaults = {
        p["parameter_name"]: p["parameter_default"]
        for p in explain_info["parameters"]
        if p["parameter_has_default"]
    }
    tutorial = Params()
    assert defaults == {
        "methods": list(DEFAULT_METHODS),
        "target": "predicted",
        "n_steps": tutorial.n_steps,
        "nt_samples": tutorial.nt_samples,
        "stdevs": tutorial.stdevs,
        "baseline": tutorial.baseline,
        "seed": tutorial.seed,
        "opacity": 0.5,
        "contrast": "none",
        "trust_scores": False,
        "occlusion_window": tutorial.occlusion_window,
        "occlusion_stride": tutorial.occlusion_stride,
        "model": "default",  # the app's weights (the session's, not a built-in model)
    }
    assert len(explain_info["returns"]) == 3
    assert [p["parameter_name"] for p in named["/predict"]["parameters"]] == ["image"]
    assert [p["parameter_name"] for p in named["/sample"]["parameters"]] == ["index"]


SNAPSHOT = Path(__file__).with_name("api_snapshot.json")
UPDATE_SNAPSHOT = "INTERPRET_UPDATE_API_SNAPSHOT"


def _differences(recorded, served, where: str = "") -> list[str]:
    """Every path at which two JSON values differ, with both values (short)."""
    if isinstance(recorded, dict) and isinstance(served, dict):
        found = []
        for key in sorted(set(recorded) | set(served), key=str):
            if key not in served:
                found.append(f"{where}/{key}: removed")
            elif key not in recorded:
                found.append(f"{where}/{key}: added ({json.dumps(served[key])[:80]})")
            else:
                found += _differences(recorded[key], served[key], f"{where}/{key}")
        return found
    if isinstance(recorded, list) and isinstance(served, list) and len(recorded) == len(served):
        return [
            d
            for i, pair in enumerate(zip(recorded, served))
            for d in _differences(*pair, f"{where}[{i}]")
        ]
    if recorded != served:
        return [f"{where}: {json.dumps(recorded)[:80]} -> {json.dumps(served)[:80]}"]
    return []


def test_the_api_matches_its_snapshot(client: Client) -> None:
    """The API is frozen: every named endpoint keeps its name, parameters (names, order,
    defaults, components, types) and returns, as recorded in tests/app/api_snapshot.json.

    To change it on purpose: INTERPRET_UPDATE_API_SNAPSHOT=1 python -m pytest
    tests/app/test_app.py -k snapshot, then review `git diff tests/app/api_snapshot.json`."""
    served = client.view_api(print_info=False, return_format="dict")
    recorded = json.loads(SNAPSHOT.read_text())
    if os.environ.get(UPDATE_SNAPSHOT) == "1":
        recorded.update(view_api=served, gradio=gradio.__version__)
        recorded["gradio_client"] = gradio_client.__version__
        text = json.dumps(recorded, indent=2, sort_keys=True, ensure_ascii=False)
        SNAPSHOT.write_text(text + "\n")
        pytest.skip(f"{UPDATE_SNAPSHOT}=1: wrote {SNAPSHOT.name}; review its diff")
    differences = _differences(recorded["view_api"], served)
    assert not differences, (
        f"The API differs from {SNAPSHOT.name} (recorded with Gradio {recorded['gradio']}, "
        f"running {gradio.__version__}); if on purpose, see this test's docstring:\n"
        + "\n".join(differences)
    )


def test_sample_by_index_gives_the_image_and_its_true_label(client: Client) -> None:
    image, label, source, index = client.predict(3, api_name="/sample")
    assert (label, index) == ("airplane", 3)
    assert "bundled" in source and "#3" in source
    assert np.array_equal(np.asarray(Image.open(image)), np.asarray(Image.open(example(3))))


def test_random_sample_is_a_labeled_bundled_image(client: Client) -> None:
    image, label, _, index = client.predict(api_name="/sample")
    assert example(index).name == f"cifar10_{index:02d}_{CLASSES.index(label)}.png"
    assert np.array_equal(np.asarray(Image.open(image)), np.asarray(Image.open(example(index))))


def test_predict_gives_the_top_five(client: Client) -> None:
    result = client.predict(handle_file(str(example(3))), api_name="/predict")
    confidences = [c["confidence"] for c in result["confidences"]]
    assert len(confidences) == 5 and confidences == sorted(confidences, reverse=True)
    assert result["label"] == result["confidences"][0]["label"]
    assert {c["label"] for c in result["confidences"]} <= set(CLASSES)


@pytest.mark.parametrize("index", [3, 6, 11])
def test_predict_equals_the_library(client: Client, pretrained_dir: Path, index: int) -> None:
    """/predict's classes and probabilities are the library's for the same image and weights."""
    result = client.predict(handle_file(str(example(index))), api_name="/predict")
    expected = explain(load_model(pretrained_dir), example(index), "saliency", overlays=False)
    assert result["label"] == expected.predicted_class
    assert [c["label"] for c in result["confidences"]] == [name for name, _ in expected.top(5)]
    np.testing.assert_allclose(
        [c["confidence"] for c in result["confidences"]],
        [probability for _, probability in expected.top(5)],
        rtol=0,
        atol=1e-6,
    )


def test_explain_gallery_captions_label_and_details(client: Client, pretrained_dir: Path) -> None:
    gallery, label, details = explain_call(client, example(3))
    predicted = details["predicted_class"]
    assert len(gallery) == 1 + len(DEFAULT_METHODS)
    first = gallery[0]["caption"]
    assert first.startswith("Model input 32×32") and f"predicted {predicted}" in first
    assert first.endswith("true label airplane")
    for item, key in zip(gallery[1:], DEFAULT_METHODS, strict=True):
        method = METHODS[key]
        assert item["caption"] == f"{method.label} · {method.sign_text} · target: {predicted}"
    for item in gallery:
        with Image.open(item["image"]) as card:
            assert card.format == "PNG" and card.width == 256
    assert label["label"] == predicted
    assert [c["label"] for c in label["confidences"]] == [name for name, _ in details["top5"]]
    assert details["true_label"] == "airplane"
    assert details["correct"] == (predicted == "airplane")
    assert details["target_class"] == predicted
    assert set(details["deltas"]) == {k for k in DEFAULT_METHODS if METHODS[k].has_delta}
    assert set(DEFAULT_METHODS) <= set(details["timings"])
    assert details["device"] == device_the_app_picks()
    assert details["weights"] == load_model(pretrained_dir).weights_source  # no server path
    assert details["params"]["nt_samples"] == 4


def test_explain_equals_the_library(client: Client, pretrained_dir: Path) -> None:
    _, _, details = explain_call(client, example(7), baseline="blur", seed=3, target="dog")
    expected = explain(
        load_model(pretrained_dir), example(7), None, "dog", baseline="blur", seed=3, **FAST
    )
    assert details["prediction"] == expected.prediction
    np.testing.assert_allclose(
        [details["probabilities"][name] for name in CLASSES], expected.probabilities, rtol=1e-6
    )
    assert details["deltas"] == pytest.approx(expected.deltas, rel=1e-5, abs=1e-7)


def test_explain_with_every_default(client: Client) -> None:
    gallery, _, details = client.predict(handle_file(str(example(0))), api_name="/explain")
    assert len(gallery) == 1 + len(DEFAULT_METHODS)
    assert details["params"] == json.loads(json.dumps(Params().to_dict()))
    assert details["methods"] == list(DEFAULT_METHODS)


@pytest.mark.parametrize(
    ("target", "expected"), [("true label", "airplane"), ("cat", "cat"), ("9", "truck")]
)
def test_explain_other_targets(client: Client, target: str, expected: str) -> None:
    gallery, _, details = explain_call(
        client, example(3), methods=["saliency", "deeplift"], target=target
    )
    assert details["target_class"] == expected
    assert [item["caption"].rsplit(" · ", 1)[1] for item in gallery[1:]] == [
        f"target: {expected}"
    ] * 2


def test_an_unknown_image_has_no_true_label(client: Client, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photo)
    gallery, _, details = explain_call(client, photo, methods=["saliency"])
    assert details["true_label"] is None and details["correct"] is None
    assert "true label" not in gallery[0]["caption"]
    message = refusal(client, "/explain", handle_file(str(photo)), target="true label", **FAST)
    assert message.startswith("Invalid setting: target 'true label' needs a CIFAR-10 test image")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"just some text, not a picture\n", "not an image file PIL can read"),
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "truncated or corrupt image data"),
    ],
    ids=["text", "empty", "truncated-png"],
)
def test_a_bad_upload_is_refused_in_the_apps_words(
    client: Client, tmp_path: Path, content: bytes, expected: str
) -> None:
    upload = tmp_path / "upload.png"
    upload.write_bytes(content)
    for api_name, extra in (("/predict", {}), ("/explain", FAST)):
        message = refusal(client, api_name, handle_file(str(upload)), **extra)
        assert message.startswith("This image can't be used: ") and expected in message
    assert client.predict(handle_file(str(example(1))), api_name="/predict")["label"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"n_steps": 0}, "n_steps must be between 1 and 500, got 0"),
        ({"nt_samples": 2.5}, "nt_samples must be a whole number, got 2.5"),
        ({"n_steps": 500, "nt_samples": 500}, "exceeds the limit of 20,000"),
        ({"stdevs": "lots"}, "stdevs must be a number, got 'lots'"),
        ({"methods": ["saliency", "astrology"]}, "unknown method(s) astrology"),
        ({"methods": []}, "choose at least one method"),
        ({"target": "unicorn"}, "unknown target class 'unicorn'"),
        ({"target": "10"}, "target index must be between 0 and 9, got 10"),
        ({"baseline": "moon"}, "unknown baseline 'moon'"),
        ({"seed": -1}, "seed must be between 0 and 2147483647, got -1"),
        ({"opacity": 1.5}, "overlay opacity must be between 0 and 1, got 1.5"),
    ],
)
def test_bad_settings_are_refused_in_the_apps_words(
    client: Client, settings: dict, expected: str
) -> None:
    message = refusal(client, "/explain", handle_file(str(example(2))), **{**FAST, **settings})
    assert message.startswith("Invalid setting: ") and expected in message


@pytest.mark.parametrize(
    ("index", "expected"),
    [(20, "between 0 and 19, got 20"), (-1, "got -1"), ("seven", "whole number, got 'seven'")],
)
def test_bad_sample_indices_are_refused(client: Client, index, expected: str) -> None:
    message = refusal(client, "/sample", index)
    assert message.startswith("Can't load that test image: ") and expected in message


@pytest.mark.parametrize(
    "image",
    [str(example(2)), 5, "https://example.com/cat.png"],
    ids=["path-without-handle_file", "number", "url-as-text"],
)
def test_an_image_not_sent_as_a_file_is_refused_in_the_apps_words(client: Client, image) -> None:
    """Forgetting `handle_file` is the commonest client mistake: Gradio's own check would
    answer only "the upstream Gradio app has raised an exception"."""
    for api_name, extra in (("/predict", {}), ("/explain", FAST)):
        assert refusal(client, api_name, image, **extra) == (
            "This image can't be used: send the image as a file "
            "(with gradio_client: handle_file(path))."
        )


def test_missing_image_is_refused(client: Client) -> None:
    assert refusal(client, "/predict", None) == (
        "No image yet: upload one, click an example or press Random."
    )
