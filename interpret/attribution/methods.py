"""The attribution methods, each a thin call into Captum with the tutorial's settings.

A `Method` says how to compute a map (`run`) and how to read it (`sign`, the
visualization sign convention, and `outlier_perc`). Everything goes through Captum
so that results are Captum's; `interpret.attribution.fast` may replace a call by an exact
equivalent for the tutorial's `Net`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum._utils.gradient import compute_gradients
from captum.attr import (
    LRP,
    Deconvolution,
    DeepLift,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from captum.attr._core.gradient_shap import InputBaselineXGradient
from torch import nn

from interpret import settings
from interpret.attribution import fast
from interpret.core.baselines import make_baseline
from interpret.core.params import Params

Runner = Callable[
    [nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, Params],
    tuple[torch.Tensor, torch.Tensor | None],
]

# NoiseTunnel and GradientShap draw from the global RNGs after seeding them, so two attributions
# must not interleave. One lock keeps requests exact.
ATTRIBUTION_LOCK = threading.Lock()

SIGN_TEXT: dict[str, str] = {
    "absolute_value": "magnitude: darker = more influence",
    "all": "signed: green for, red against target",
    "positive": "positive evidence: darker = more",
}


@dataclass(frozen=True, kw_only=True)
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
    # True when the map already carries the (input - baseline) factor, like IG: then a
    # region's attributions add up to its effect, which the infidelity test relies on.
    times_input: bool = False
    # True when Captum hooks the model's modules for the call (DeepLift's, guided backprop's,
    # Grad-CAM's, LRP's): the method runs on a private copy, because any other thread's pass
    # through the shared model (features, predictions, influence) would fire those hooks and
    # both results would be wrong.
    hooks_the_model: bool = False

    @property
    def sign_text(self) -> str:
        return SIGN_TEXT[self.sign]


def _saliency(model, inputs, target, baselines, params):
    return Saliency(model).attribute(inputs, target=target, abs=True), None


def use_fast_path(model: nn.Module, inputs: torch.Tensor) -> bool:
    """The exact shortcuts in `interpret.attribution.fast` apply; INTERPRET_FAST=0 forces plain
    Captum."""
    return settings.read().fast and fast.supports(model, inputs)


def _integrated_gradients(model, inputs, target, baselines, params):
    if use_fast_path(model, inputs):
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

    On a CPU, noise is drawn in chunks of 10 samples: Captum's default (all samples in one
    5,000-row batch) falls out of cache and is ~4x slower for the same numbers. On a GPU,
    chunked draws would give other noise (each CUDA draw takes its own slice of the random
    stream), so all samples go in one batch there, as in the tutorial. A batch is explained
    image by image, each reseeded, so it matches single calls.
    """
    if use_fast_path(model, inputs):
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
    chunk = min(10, params.nt_samples) if inputs.device.type == "cpu" else None
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
                nt_samples_batch_size=chunk,
                stdevs=float(params.stdevs),
                n_steps=params.n_steps,
            )
        )
    return torch.cat(maps), None


def _quiet(run: Runner) -> Runner:
    """Captum warns on every call that it hooks the ReLUs; that is expected here."""

    def wrapped(model, inputs, target, baselines, params):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Setting .*hooks")
            return run(model, inputs, target, baselines, params)

    return wrapped


@_quiet
def _deeplift(model, inputs, target, baselines, params):
    return DeepLift(model).attribute(
        inputs, baselines=baselines, target=target, return_convergence_delta=True
    )


def baseline_distribution(inputs: torch.Tensor, baselines: torch.Tensor, seed: int) -> torch.Tensor:
    """References for the Shap methods: the chosen baseline plus black, mean and noise images.

    Shap methods average over a distribution of references; one image repeated would make
    GradientShap collapse to a noisy IG and DeepLiftShap to DeepLift.
    """
    others = [make_baseline(kind, inputs[:1], seed) for kind in ("black", "mean", "noise")]
    return torch.cat([baselines[:1], *others])


def _reference_sets(inputs: torch.Tensor, baselines: torch.Tensor, seed: int) -> torch.Tensor:
    """N x R x C x H x W: each image's references (`baseline_distribution`)."""
    return torch.stack(
        [
            baseline_distribution(inputs[i : i + 1], baselines[i : i + 1], seed)
            for i in range(inputs.shape[0])
        ]
    )


GRADIENT_SHAP_STDEV = 0.09


def _gradient_shap(model, inputs, target, baselines, params):
    """Captum's GradientShap, seeded, so a request is repeatable and a batch equals single calls.

    For one image, Captum's NoiseTunnel(InputBaselineXGradient) draws from numpy's global
    generator which reference each sample starts from, then from torch's the input noise, then
    from numpy's the point on each path. Every image is seeded alike, so every image gets the
    draws of one seeded call: they are drawn once here, in Captum's order, and shared; the
    gradients of all images' samples are taken in one pass (Captum's `compute_gradients`) and
    averaged per image as NoiseTunnel averages one image's, with Captum's convergence delta.
    numpy's state is restored afterwards.
    """
    samples, count = params.shap_samples, inputs.shape[0]
    references = _reference_sets(inputs.detach(), baselines, params.seed)
    numpy_state = np.random.get_state()
    try:
        torch.manual_seed(params.seed)
        np.random.seed(params.seed)
        chosen = np.random.choice(references.shape[1], samples).tolist()
        stdev = torch.tensor(GRADIENT_SHAP_STDEV, device=inputs.device)
        noise = torch.normal(0, stdev.repeat((samples, *inputs.shape[1:])))
        alphas = torch.tensor(
            np.random.uniform(0.0, 1.0, samples), device=inputs.device, dtype=inputs.dtype
        )
    finally:
        np.random.set_state(numpy_state)
    with torch.no_grad():
        noisy = inputs.repeat_interleave(samples, dim=0) + noise.repeat(count, 1, 1, 1)
        starts = references[:, chosen].flatten(0, 1)
        alpha = alphas.repeat(count).view(-1, *([1] * (inputs.dim() - 1)))
        scaled = (alpha * noisy + (1.0 - alpha) * starts).requires_grad_()
    rows = target.repeat_interleave(samples)
    (gradients,) = compute_gradients(model, (scaled,), rows)
    with torch.no_grad():
        attributions = (noisy - starts) * gradients
        deltas = InputBaselineXGradient(model).compute_convergence_delta(
            attributions, starts, noisy, target=rows
        )
    attributions = attributions.view(count, samples, *inputs.shape[1:]).sum(dim=1) * 1 / samples
    return attributions, deltas.view(count, samples).mean(dim=1)


@_quiet
def _deeplift_shap(model, inputs, target, baselines, params):
    """Captum's DeepLiftShap for all images in one DeepLift pass, each with its own references.

    DeepLiftShap runs DeepLift on every (image, reference) pair and averages per image; the
    pairs are laid out as DeepLiftShap lays them out, so the maps are Captum's, and an image
    whose references differ from the others' (a blurred baseline) still gets its own."""
    references = _reference_sets(inputs.detach(), baselines, params.seed)
    count, kinds = references.shape[:2]
    attributions, deltas = DeepLift(model).attribute(
        inputs.detach().repeat_interleave(kinds, dim=0).requires_grad_(),
        baselines=references.flatten(0, 1).requires_grad_(),
        target=target.repeat_interleave(kinds),
        return_convergence_delta=True,
    )
    attributions = torch.mean(attributions.view(count, kinds, *inputs.shape[1:]), dim=1)
    return attributions, deltas.view(count, kinds).mean(dim=1)


def _input_x_gradient(model, inputs, target, baselines, params):
    return InputXGradient(model).attribute(inputs, target=target), None


@_quiet
def _guided_backprop(model, inputs, target, baselines, params):
    return GuidedBackprop(model).attribute(inputs, target=target), None


@_quiet
def _deconvolution(model, inputs, target, baselines, params):
    return Deconvolution(model).attribute(inputs, target=target), None


def _occlusion(model, inputs, target, baselines, params):
    window, stride = params.occlusion_window, params.occlusion_stride
    with torch.no_grad():
        attributions = Occlusion(model).attribute(
            inputs.detach(),
            sliding_window_shapes=(3, window, window),
            strides=(3, stride, stride),
            baselines=baselines,
            target=target,
            perturbations_per_eval=64,
        )
    return attributions, None


def _spread_over_channels(spatial: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """N x 1 x H x W -> N x 3 x H x W whose channel sum is the spatial map."""
    return (spatial / like.shape[1]).expand(-1, like.shape[1], -1, -1).contiguous()


def _grad_cam(model, inputs, target, baselines, params):
    cam = LayerGradCam(model, model.conv2).attribute(inputs, target=target, relu_attributions=True)
    upsampled = LayerAttribution.interpolate(cam, inputs.shape[-2:], interpolate_mode="bilinear")
    return _spread_over_channels(upsampled, inputs), None


@_quiet
def _guided_grad_cam(model, inputs, target, baselines, params):
    return GuidedGradCam(model, model.conv2).attribute(inputs, target=target), None


def _lrp(model, inputs, target, baselines, params):
    """Captum's LRP delta is score - sum; negated to read like the path methods' delta
    (sum - change in score), LRP's reference score being 0."""
    attributions, delta = LRP(model).attribute(inputs, target=target, return_convergence_delta=True)
    return attributions, -delta


TUTORIAL_METHODS: tuple[Method, ...] = (
    Method(
        key="saliency",
        label="Saliency",
        description=(
            "Gradient magnitude of the target score with respect to each pixel: where a small"
            " change would move the score most."
        ),
        sign="absolute_value",
        outlier_perc=2,
        run=_saliency,
    ),
    Method(
        key="integrated_gradients",
        label="Integrated Gradients",
        description=(
            "Gradients averaged along a straight path from a baseline to the image, times the"
            " difference: the attributions add up to the score change (the convergence delta "
            "says how closely)."
        ),
        sign="all",
        outlier_perc=2,
        run=_integrated_gradients,
        has_delta=True,
        uses_baseline=True,
        times_input=True,
    ),
    Method(
        key="ig_smoothgrad_sq",
        label="IG + SmoothGrad²",
        description=(
            "Integrated Gradients averaged over noisy copies of the image (squared, "
            "SmoothGrad²): less speckle, shows where evidence is consistently found."
        ),
        sign="absolute_value",
        outlier_perc=10,
        run=_ig_smoothgrad_sq,
        uses_baseline=True,
    ),
    Method(
        key="deeplift",
        hooks_the_model=True,
        label="DeepLift",
        description=(
            "Backpropagates the difference from the baseline's activations with DeepLift's "
            "rescale rules: a fast approximation of Integrated Gradients."
        ),
        sign="all",
        outlier_perc=2,
        run=_deeplift,
        has_delta=True,
        uses_baseline=True,
        times_input=True,
    ),
)

MORE_METHODS: tuple[Method, ...] = (
    Method(
        key="gradient_shap",
        label="GradientShap",
        description=(
            "Expected gradients: IG-like paths from several references (the baseline, black, "
            "mean color, noise) with a little input noise; approximates SHAP values."
        ),
        sign="all",
        outlier_perc=2,
        run=_gradient_shap,
        has_delta=True,
        uses_baseline=True,
        times_input=True,
    ),
    Method(
        key="input_x_gradient",
        label="Input × Gradient",
        description=(
            "Each pixel's value times the gradient: a first-order estimate of its contribution."
        ),
        sign="all",
        outlier_perc=2,
        run=_input_x_gradient,
        times_input=True,
    ),
    Method(
        key="guided_backprop",
        hooks_the_model=True,
        label="Guided Backprop",
        description=(
            "Gradients with negative signals stopped at every ReLU on the way back: crisp "
            "edges, but known to depend little on the model's later layers."
        ),
        sign="absolute_value",
        outlier_perc=2,
        run=_guided_backprop,
    ),
    Method(
        key="deconvolution",
        hooks_the_model=True,
        label="Deconvolution",
        description=(
            "Zeiler & Fergus deconvnet: the ReLU rule applied to the backward signal only."
        ),
        sign="absolute_value",
        outlier_perc=2,
        run=_deconvolution,
    ),
    Method(
        key="occlusion",
        label="Occlusion",
        description=(
            "Slides a baseline-filled window over the image and records how much the score "
            "drops: green patches helped the target, red ones hurt it."
        ),
        sign="all",
        outlier_perc=0,
        run=_occlusion,
        uses_baseline=True,
        times_input=True,
    ),
    Method(
        key="grad_cam",
        hooks_the_model=True,
        label="Grad-CAM",
        description=(
            "conv2's feature maps weighted by their average gradient, ReLU'd, upsampled from "
            "10×10: coarse regions the model looks at for the target."
        ),
        sign="positive",
        outlier_perc=0,
        run=_grad_cam,
    ),
    Method(
        key="guided_grad_cam",
        hooks_the_model=True,
        label="Guided Grad-CAM",
        description=(
            "Guided Backprop masked by Grad-CAM: fine detail inside the regions that matter."
        ),
        sign="absolute_value",
        outlier_perc=2,
        run=_guided_grad_cam,
    ),
    Method(
        key="lrp",
        hooks_the_model=True,
        label="LRP",
        description=(
            "Layer-wise Relevance Propagation (epsilon rule): redistributes the score layer "
            "by layer back to the pixels; biases absorb part of it, so the pixels' relevance "
            "need not sum to the score (the delta shows by how much)."
        ),
        sign="all",
        outlier_perc=2,
        run=_lrp,
        has_delta=True,
        times_input=True,
    ),
    Method(
        key="deeplift_shap",
        hooks_the_model=True,
        label="DeepLiftShap",
        description=(
            "DeepLift averaged over several references (baseline, black, mean color, noise)."
        ),
        sign="all",
        outlier_perc=2,
        run=_deeplift_shap,
        has_delta=True,
        uses_baseline=True,
        times_input=True,
    ),
)

METHODS: dict[str, Method] = {method.key: method for method in (*TUTORIAL_METHODS, *MORE_METHODS)}
DEFAULT_METHODS: tuple[str, ...] = tuple(method.key for method in TUTORIAL_METHODS)
