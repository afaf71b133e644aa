"""Shared fixtures: data paths beside the project, a checkpoint the tests write themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from interpret.model import Net, hub_config

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference" / "cifar_torchvision.pt"
EXAMPLES = ROOT / "examples"


def example(index: int) -> Path:
    """Bundled CIFAR-10 test image `index` (0-19)."""
    (path,) = EXAMPLES.glob(f"cifar10_{index:02d}_*.png")
    return path


@pytest.fixture(scope="session")
def reference_path() -> Path:
    if not REFERENCE.is_file():
        pytest.skip(f"reference checkpoint not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def seeded_net() -> Net:
    """A randomly initialised Net with a fixed seed: real weights without ../shared."""
    torch.manual_seed(1234)
    return Net().eval()


@pytest.fixture(scope="session")
def pretrained_dir(tmp_path_factory: pytest.TempPathFactory, seeded_net: Net) -> Path:
    """save_pretrained layout written by the test session itself."""
    directory = tmp_path_factory.mktemp("pretrained")
    seeded_net.save_pretrained(directory, config=hub_config())
    return directory
