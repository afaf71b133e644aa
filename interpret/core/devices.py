"""Pick the compute device once, the same way everywhere."""

from __future__ import annotations

import torch

from interpret import settings


def select_device(requested: str | torch.device | None = None) -> torch.device:
    """`requested`, else ``INTERPRET_DEVICE``, else CUDA, then MPS, then CPU."""
    choice = requested if requested is not None else settings.read().device
    if choice is not None:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {choice!r} requested but CUDA is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def exact_float32() -> None:
    """Keep float32 convolutions and matmuls in IEEE float32 on CUDA.

    On Ampere and newer GPUs, cuDNN convolutions default to TF32 (10-bit mantissa, ~1e-3
    relative): attributions would then differ from the tutorial's numbers, and the fast path
    from Captum's, far beyond float rounding. These convolutions are tiny; exactness costs
    little. A process-wide setting, so processes opt in (the app, the CLI, the benchmark).
    """
    torch.backends.cudnn.allow_tf32 = False  # the legacy flags: mixing in the new API breaks
    torch.backends.cuda.matmul.allow_tf32 = False  # reads of these in other libraries
