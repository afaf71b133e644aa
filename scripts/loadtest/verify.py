"""The load test's verifier: what `interpret.explain` (or `interpret.features`) gives for a
request, and every difference between that and the app's answer (gallery pixels, captions,
top-5, details; each feature's contribution)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gradio_client import Client
from PIL import Image

from interpret import CLASSES, Explanation, Net, explain, features
from interpret.explain import input_card

from .generator import PREDICTED, TRUE_LABEL, Request, call_app

TOLERANCE = 1e-6


@dataclass
class Expected:
    """What the library gives for one request, reduced to what the API returns."""

    explanation: Explanation
    truth: int | None
    input_digest: str
    overlay_digests: dict[str, str]


def digest(image: Image.Image) -> str:
    """Identity of an image's RGB pixels (and size): equal digests, equal pictures."""
    rgb = image.convert("RGB")
    return hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()


def library_target(request: Request, truth: int | None) -> int | str | None:
    """The app's target words in the library's terms ('predicted' -> None, 'true label')."""
    if request.target == PREDICTED:
        return None
    if request.target == TRUE_LABEL:
        return truth
    return request.target


def expected_result(net: Net, request: Request, path: Path, truth: int | None) -> Expected:
    """`interpret.explain` on the same weights, image and settings as the request."""
    result = explain(
        net,
        path,
        list(request.methods),
        library_target(request, truth),
        alpha=request.opacity,
        n_steps=request.n_steps,
        nt_samples=request.nt_samples,
        stdevs=request.stdevs,
        baseline=request.baseline,
        seed=request.seed,
    )
    overlays = {key: digest(result.overlays[key]) for key in result.methods}
    expected = Expected(result, truth, digest(input_card(result)), overlays)
    result.overlays = {}  # the digests are kept; the pictures would hold ~1 MB per request
    return expected


def expected_answer(net: Net, request: Request, path: Path, truth: int | None) -> Any:
    """The library's result for a request to either endpoint."""
    if request.endpoint == "/features":
        return expected_features(net, request, path, truth)
    return expected_result(net, request, path, truth)


def check_answer(answer: Any, request: Request, expected: Any) -> list[str]:
    """Every difference between the app's answer to `request` and the library's."""
    if request.endpoint == "/features":
        return compare_features(answer, expected)
    return compare(answer, expected)


def expected_features(net: Net, request: Request, path: Path, truth: int | None) -> dict:
    """`interpret.features` on the same weights, image and settings, as /features words it
    (without the top images, which depend on the app's test set)."""
    found = features(
        net,
        path,
        library_target(request, truth),
        baseline=request.baseline,
        n_steps=request.n_steps,
    )
    return json.loads(json.dumps(found.to_dict()))


def compare_features(answer: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """/features' decision against the library's: the classes and settings exactly, each
    channel in the same order with its contribution, and the totals, to TOLERANCE."""
    problems = []
    for key in ("layer", "target", "contrast", "prediction", "baseline", "n_steps", "explained"):
        if answer.get(key) != wanted[key]:
            problems.append(f"features[{key!r}] {answer.get(key)!r} != {wanted[key]!r}")
    for key in ("total", "output_difference", "delta"):
        if not _close(answer.get(key, math.nan), wanted[key]):
            problems.append(f"features[{key!r}] {answer.get(key)!r} != {wanted[key]!r}")
    got = [(c["channel"], c["contribution"]) for c in answer.get("channels", [])]
    want = [(c["channel"], c["contribution"]) for c in wanted["channels"]]
    if [c for c, _ in got] != [c for c, _ in want] or not all(
        _close(a, b) for (_, a), (_, b) in zip(got, want)
    ):
        problems.append(f"features' channels {got} != {want}")
    return problems


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE)


def compare(answer: Any, expected: Expected) -> list[str]:
    """Every difference between the app's answer and the library's result, in words."""
    result, problems = expected.explanation, []
    gallery, label, details = answer
    keys = list(result.methods)
    if len(gallery) != 1 + len(keys):
        return [f"gallery has {len(gallery)} images, expected {1 + len(keys)}"]
    top_class = result.top(1)[0][0]
    first = gallery[0]["caption"]
    if not first.startswith("Model input") or f"predicted {top_class}" not in first:
        problems.append(f"first caption {first!r} does not say 'predicted {top_class}'")
    known = None if expected.truth is None else CLASSES[expected.truth]
    if (known is None) == ("true label" in first) or (known and not first.endswith(known)):
        problems.append(f"first caption {first!r} disagrees with true label {known}")
    shown = [(gallery[0], "model input", expected.input_digest)] + [
        (item, key, expected.overlay_digests[key]) for item, key in zip(gallery[1:], keys)
    ]
    for item, key, wanted in shown:
        try:
            with Image.open(item["image"]) as picture:
                same = digest(picture) == wanted
        except OSError as error:  # e.g. an empty or cut file served by the app
            size = Path(item["image"]).stat().st_size
            problems.append(f"{key} image unreadable, {size} bytes downloaded ({error})")
            continue
        if not same:
            problems.append(f"{key} image differs from the library's rendering")
    for item, key in zip(gallery[1:], keys):
        if item["caption"] != result.caption(key):
            problems.append(f"{key} caption {item['caption']!r} != {result.caption(key)!r}")
    top5 = result.top(5)
    if label.get("label") != result.predicted_class:
        problems.append(f"label {label.get('label')!r} != {result.predicted_class!r}")
    confidences = label.get("confidences") or []
    if [c["label"] for c in confidences] != [name for name, _ in top5] or not all(
        _close(c["confidence"], p) for c, (_, p) in zip(confidences, top5)
    ):
        problems.append(f"top-5 {confidences} != {top5}")
    problems += compare_details(details, result, known)
    return problems


def compare_details(details: dict[str, Any], result: Explanation, known: str | None) -> list[str]:
    """The details JSON against `Explanation.to_dict()`: exact, floats to 1e-6, timing keys."""
    wanted = json.loads(json.dumps(result.to_dict()))  # the same JSON round trip as the API
    problems = []
    exact = [
        "prediction",
        "predicted_class",
        "target",
        "target_class",
        "methods",
        "params",
        "captions",
        "contrast",
        "device",
        "weights",
        "faithfulness",
        "sanity",
    ]
    for key in exact:
        if details.get(key) != wanted[key]:
            problems.append(f"details[{key!r}] {details.get(key)!r} != {wanted[key]!r}")
    if details.get("true_label") != known:
        problems.append(f"details['true_label'] {details.get('true_label')!r} != {known!r}")
    for key in ("probabilities", "deltas"):
        got, want = details.get(key) or {}, wanted[key]
        if set(got) != set(want) or not all(_close(got[k], want[k]) for k in want):
            problems.append(f"details[{key!r}] {got} != {want}")
    if [name for name, _ in details.get("top5", [])] != [name for name, _ in wanted["top5"]]:
        problems.append(f"details['top5'] {details.get('top5')} != {wanted['top5']}")
    if set(details.get("timings", {})) != set(wanted["timings"]):
        problems.append(f"timing keys {sorted(details.get('timings', {}))} != {wanted['timings']}")
    agreement, want = details.get("agreement", {}), wanted["agreement"]
    got_matrix = np.asarray(agreement.get("spearman", []), dtype=float)
    if agreement.get("methods") != want["methods"] or not (
        got_matrix.shape == np.shape(want["spearman"])
        and np.allclose(got_matrix, want["spearman"], rtol=0, atol=TOLERANCE, equal_nan=True)
    ):
        problems.append(f"details['agreement'] {agreement} != {want}")
    return problems


def same_weights(client: Client, images: dict[str, Path], net: Net) -> None:
    """Exit early, and say why, when the app's weights are not the ones checked against."""
    probe = Request("cifar10_00_3.png", ("saliency",), PREDICTED, 1, 1, 0.0, "zeros", 0, 0.5)
    _, _, details = call_app(client, images[probe.image], probe, 120)
    if details.get("weights") != net.weights_source:
        raise SystemExit(
            f"the app uses {details.get('weights')!r}, the check {net.weights_source!r}: "
            "pass --weights with the app's weights source"
        )
