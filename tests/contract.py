"""Checks of the exactness contract shared by the test files (see test_exactness.py)."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from interpret import make_params
from interpret.core.baselines import make_baseline
from interpret.core.model import Net
from interpret.core.preprocess import model_image, to_tensor
from interpret.testing.exactness import PATH_METHODS, PathCheck, Verdict, path_check

# A sitecustomize.py (on PYTHONPATH, so loaded before a script's imports) that makes the
# library's Integrated Gradients maps 0.1 % off: a script must fail on it.
OFF_BY_A_THOUSANDTH = b"""\
import dataclasses
from interpret.attribution import methods
run = methods.METHODS['integrated_gradients'].run
def off(*args):
    maps, delta = run(*args)
    return maps * 1.001, delta
methods.METHODS['integrated_gradients'] = dataclasses.replace(
    methods.METHODS['integrated_gradients'], run=off)
"""

_EXACT: dict[tuple, PathCheck] = {}  # exact answers are costly and never change: one per request


def inputs_of(image) -> torch.Tensor:
    return to_tensor(model_image(image))


def reference_baseline(kind: str, inputs: torch.Tensor, seed: int) -> torch.Tensor:
    """The baseline the request names. Zeros as the tutorial writes it; the others from
    `interpret.core.baselines` (checked against independent constructions in
    test_trust_scores.py), not through `interpret.explain`, where test_exactness.py plants a
    wrong one."""
    return inputs * 0 if kind == "zeros" else make_baseline(kind, inputs, seed)


def _fingerprint(thing) -> str:
    """Identifies weights or an image by content (objects' ids get reused)."""
    digest = hashlib.sha256()
    if isinstance(thing, Net):
        for tensor in thing.state_dict().values():
            digest.update(tensor.detach().cpu().numpy().tobytes())
    elif isinstance(thing, np.ndarray):
        digest.update(repr(thing.shape).encode() + thing.tobytes())
    else:
        digest.update(str(thing).encode())
    return digest.hexdigest()


def exact(net: Net, image, key: str, target: int, **settings) -> PathCheck:
    """The exact answer to a request (cached: it is costly and never changes)."""
    params = make_params(**settings)
    request = (_fingerprint(net), _fingerprint(image), key, target, params)
    if request not in _EXACT:
        inputs = inputs_of(image)
        baselines = reference_baseline(params.baseline, inputs, params.seed)
        _EXACT[request] = path_check(net, key, inputs, target, baselines, params)
    return _EXACT[request]


def verdict(net: Net, image, key: str, target: int, attribution, **settings) -> Verdict:
    if isinstance(attribution, torch.Tensor):
        attribution = attribution.detach().squeeze(0).numpy()
    return exact(net, image, key, target, **settings).check(attribution)


def assert_keeps_contract(net: Net, image, result, keys=PATH_METHODS, **settings) -> None:
    """Every path map of an `explain` result against the exact answer to its request."""
    requested = {**result.params.to_dict(), **settings}
    for key in keys:
        if key in result.attributions:
            found = verdict(net, image, key, result.target, result.attributions[key], **requested)
            assert found.holds, found.describe()


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-300))
