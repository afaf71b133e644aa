"""The app server the training-data view's tests share, run as a ZeroGPU Space runs it
(tests/zerogpu_server.py's stand-in), on a small synthetic CIFAR-10 folder
(train/ and test/, tests/synthetic_data.py) and weights trained on its train/ split with
their checkpoints and manifest (tests/influence_history.py), so the checkpoints belong to the
weights the app loads. Nothing from ../shared: a clone runs it as it is.

`influence_env(factory)` writes both once per session and gives the server's settings; the
modules that use it set ``APP_ENV`` to it before their `app_url` (same dict, same server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from influence_history import train_history
from synthetic_data import synthetic_cifar10
from zerogpu_server import ENV

from interpret.core.model import hub_config
from interpret.dataset.train_split import read_train_folder


def influence_weights(factory: pytest.TempPathFactory) -> Path:
    """Weights trained on the synthetic train/ split, with their checkpoints (first use)."""
    folder = factory.getbasetemp() / "influence-weights"
    if not (folder / "model.safetensors").is_file():
        data = synthetic_cifar10(factory)
        train = read_train_folder(data / "train", cache_dir=factory.getbasetemp() / "pixels")
        model = train_history(folder, train)
        model.save_pretrained(folder, config=hub_config())
    return folder


def influence_env(factory: pytest.TempPathFactory) -> dict[str, str]:
    """The settings of the ZeroGPU server with a training set and checkpoints."""
    return {
        **ENV,
        "INTERPRET_CIFAR10_DIR": str(synthetic_cifar10(factory)),
        "INTERPRET_WEIGHTS": str(influence_weights(factory)),
    }
