"""Device choice and float32 exactness settings (`interpret.core.devices`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from interpret.core.devices import select_device

REPO = Path(__file__).resolve().parents[3]


def test_requested_device_wins_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERPRET_DEVICE", "cpu")
    assert select_device() == torch.device("cpu")
    assert select_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_requested_without_cuda_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        select_device("cuda")


def test_exact_float32_turns_tf32_off_and_leaves_the_flags_readable() -> None:
    """Run in a fresh process: the setting is process-wide. The per-backend flag read last
    exists from torch 2.9 on, the floor in requirements.txt."""
    probe = (
        "import torch; from interpret.core.devices import exact_float32; "
        "before = torch.backends.cudnn.allow_tf32; exact_float32(); "
        "print(before, torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32, "
        "torch.backends.cudnn.conv.fp32_precision != 'tf32')"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert completed.stdout.split() == ["True", "False", "False", "True"]
