"""Pick the compute device once, the same way everywhere."""

from __future__ import annotations

import os

import torch


def select_device(requested: str | torch.device | None = None) -> torch.device:
    """`requested`, else ``INTERPRET_DEVICE``, else CUDA, then MPS, then CPU."""
    choice = requested if requested is not None else os.environ.get("INTERPRET_DEVICE") or None
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
