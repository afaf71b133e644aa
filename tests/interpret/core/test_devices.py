"""Device choice and float32 exactness settings (`interpret.core.devices`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from interpret.core.devices import exact_float32, select_device


def test_requested_device_wins_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERPRET_DEVICE", "cpu")
    assert select_device() == torch.device("cpu")
    assert select_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_requested_without_cuda_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        select_device("cuda")


@pytest.fixture
def tf32_flags_restored() -> Iterator[None]:
    """The process-wide TF32 flags as they were (through the legacy setters, as
    `exact_float32` sets them: mixing in the new API breaks their reads)."""
    cudnn, matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    yield
    torch.backends.cudnn.allow_tf32 = cudnn
    torch.backends.cuda.matmul.allow_tf32 = matmul


def test_exact_float32_turns_tf32_off_and_leaves_the_flags_readable(
    tf32_flags_restored: None,
) -> None:
    """From TF32 on (torch's default for cuDNN convolutions) to off, read through both the
    legacy flags and the per-backend one, which exists from torch 2.9 on (the floor in
    requirements.txt)."""
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    exact_float32()
    assert torch.backends.cudnn.allow_tf32 is False
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.backends.cudnn.conv.fp32_precision != "tf32"
