"""The attribution methods, each a thin call into Captum with the tutorial's settings.

A `Method` says how to compute a map (`run`) and how to read it (`sign`, the
visualization sign convention, and `outlier_perc`). Everything goes through Captum
so that results are Captum's; `interpret.fast` may replace a call by an exact
equivalent for the tutorial's `Net`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from captum.attr import DeepLift, IntegratedGradients, NoiseTunnel, Saliency
from torch import nn

from . import fast
from .params import Params

Runner = Callable[
    [nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, Params],
    tuple[torch.Tensor, torch.Tensor | None],
]

SIGN_TEXT: dict[str, str] = {
    "absolute_value": "magnitude: darker = more influence",
    "all": "signed: green for, red against target",
    "positive": "positive evidence: darker = more",
}


@dataclass(frozen=True)
class Method:
    """One attribution method: how to run it and how its map is meant to be read."""

    key: str
    label: str
    description: str
    sign: str
    outlier_perc: float
    run: Runner
    has_delta: bool = False
    uses_baseline: bool = False
    cmap: str | None = None

    @property
    def sign_text(self) -> str:
        return SIGN_TEXT[self.sign]


def _saliency(model, inputs, target, baselines, params):
    return Saliency(model).attribute(inputs, target=target, abs=True), None


def use_fast_path(model: nn.Module) -> bool:
    """The exact shortcuts in `interpret.fast` apply; INTERPRET_FAST=0 forces plain Captum."""
    return os.environ.get("INTERPRET_FAST", "1") != "0" and fast.supports(model)


def _integrated_gradients(model, inputs, target, baselines, params):
    if use_fast_path(model):
        return fast.integrated_gradients(model, inputs.detach(), baselines, target, params.n_steps)
    return IntegratedGradients(model).attribute(
        inputs,
        baselines=baselines,
        target=target,
        n_steps=params.n_steps,
        return_convergence_delta=True,
    )


def _ig_smoothgrad_sq(model, inputs, target, baselines, params):
    """NoiseTunnel(IG) as in the tutorial; reseeded so the same request gives the same map.

    Noise is drawn in chunks of 10 samples: Captum's default (all samples in one
    5,000-row batch) falls out of cache and is ~4x slower for the same numbers. A batch is
    explained image by image, each reseeded, so it matches single calls.
    """
    if use_fast_path(model):
        attributions = fast.ig_smoothgrad_sq(
            model,
            inputs.detach(),
            baselines,
            target,
            params.n_steps,
            params.nt_samples,
            float(params.stdevs),
            params.seed,
        )
        return attributions, None
    maps = []
    for i in range(inputs.shape[0]):
        torch.manual_seed(params.seed)
        maps.append(
            NoiseTunnel(IntegratedGradients(model)).attribute(
                inputs[i : i + 1],
                baselines=baselines[i : i + 1],
                target=target[i : i + 1],
                nt_type="smoothgrad_sq",
                nt_samples=params.nt_samples,
                nt_samples_batch_size=min(10, params.nt_samples),
                stdevs=float(params.stdevs),
                n_steps=params.n_steps,
            )
        )
    return torch.cat(maps), None


def _deeplift(model, inputs, target, baselines, params):
    with warnings.catch_warnings():  # Captum warns on every call that it hooks the ReLUs
        warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
        return DeepLift(model).attribute(
            inputs, baselines=baselines, target=target, return_convergence_delta=True
        )


SEED_METHODS: tuple[Method, ...] = (
    Method(
        "saliency",
        "Saliency",
        "Gradient magnitude of the target score with respect to each pixel: where a small "
        "change would move the score most.",
        "absolute_value",
        2,
        _saliency,
    ),
    Method(
        "integrated_gradients",
        "Integrated Gradients",
        "Gradients averaged along a straight path from a baseline to the image, times the "
        "difference: the attributions add up to the score change (the convergence delta says "
        "how closely).",
        "all",
        2,
        _integrated_gradients,
        has_delta=True,
        uses_baseline=True,
    ),
    Method(
        "ig_smoothgrad_sq",
        "IG + SmoothGrad²",
        "Integrated Gradients averaged over noisy copies of the image (squared, SmoothGrad²): "
        "less speckle, shows where evidence is consistently found.",
        "absolute_value",
        10,
        _ig_smoothgrad_sq,
        uses_baseline=True,
    ),
    Method(
        "deeplift",
        "DeepLift",
        "Backpropagates the difference from the baseline's activations with DeepLift's "
        "rescale rules: a fast approximation of Integrated Gradients.",
        "all",
        2,
        _deeplift,
        has_delta=True,
        uses_baseline=True,
    ),
)

METHODS: dict[str, Method] = {method.key: method for method in SEED_METHODS}
DEFAULT_METHODS: tuple[str, ...] = tuple(method.key for method in SEED_METHODS)
