"""Reference inputs for path methods (IG, DeepLift, GradientShap), in normalized space."""

from __future__ import annotations

import torch
from torchvision.transforms.functional import gaussian_blur

from interpret.core.model import MEAN, STD

# Per-channel mean of the CIFAR-10 training images in [0, 1] pixel space.
CIFAR10_TRAIN_MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)


def _normalize(pixels: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=pixels.device).view(1, 3, 1, 1)
    return (pixels - mean) / std


def make_baseline(kind: str, inputs: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A baseline shaped like `inputs` (N x 3 x H x W, normalized)."""
    if kind == "zeros":
        return inputs * 0  # exactly the tutorial's expression
    if kind == "black":
        return _normalize(torch.zeros_like(inputs))
    if kind == "blur":
        return gaussian_blur(inputs.detach(), kernel_size=[31, 31], sigma=[4.0, 4.0])
    if kind == "noise":  # one draw, the same for every image: a batch equals single calls
        generator = torch.Generator(device="cpu").manual_seed(seed)
        noise = torch.rand((1, *inputs.shape[1:]), generator=generator).to(inputs.device)
        return _normalize(noise.expand_as(inputs).clone())
    if kind == "mean":
        mean = torch.tensor(CIFAR10_TRAIN_MEAN, device=inputs.device).view(1, 3, 1, 1)
        return _normalize(mean.expand_as(inputs).clone())
    raise ValueError(f"unknown baseline {kind!r}")
