"""The class x feature atlas: how much each learned feature contributes, per class.

For every correctly classified image of a set, each pool2 channel's contribution to Integrated
Gradients' total for its true class (baseline zeros, 50 steps: the app's defaults); the atlas
is their mean per class (10 x 16). The per-image numbers are kept, so a cell can list the
images where that channel contributes most. Cached on disk per (weights, set).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interpret.core.disk_cache import load_arrays, save_arrays
from interpret.core.model import CLASSES, Net
from interpret.core.workers import map_in_order
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import normalized_batch, predict_test_set

from .cached import cache_entry
from .shares import contributions

ATLAS_STEPS = 50
CHUNK = 250  # images per task (and progress report)
Progress = Callable[[int, int, str], None]
Compute = Callable[[np.ndarray, Progress | None], np.ndarray]  # correct indices -> contributions


@dataclass(frozen=True)
class FeatureAtlas:
    """`indices`: the correctly classified images (set indices, by class then index);
    `contributions`: their channels' contributions (N x C) to IG's total for the true class."""

    indices: np.ndarray
    labels: np.ndarray
    contributions: np.ndarray
    dataset: str
    n_steps: int = ATLAS_STEPS

    @property
    def matrix(self) -> np.ndarray:
        """Mean contribution per (class, channel); NaN for a class with no correct image."""
        channels = self.contributions.shape[1]
        out = np.full((len(CLASSES), channels), np.nan, dtype=np.float64)
        for label in range(len(CLASSES)):
            rows = self.contributions[self.labels == label]
            if len(rows):
                out[label] = rows.mean(axis=0, dtype=np.float64)
        return out

    def counts(self) -> list[int]:
        return [int((self.labels == label).sum()) for label in range(len(CLASSES))]

    def strongest(self, label: int, channel: int, k: int = 8) -> list[tuple[int, float]]:
        """(set index, contribution) of the class's images where `channel` contributes most;
        ties by index."""
        rows = np.flatnonzero(self.labels == label)
        values = self.contributions[rows, channel]
        order = np.lexsort((self.indices[rows], -values))[:k]
        return [(int(self.indices[rows][i]), float(values[i])) for i in order]

    def to_dict(self) -> dict[str, Any]:
        matrix = self.matrix
        return {
            "classes": list(CLASSES),
            "channels": int(self.contributions.shape[1]),
            "matrix": [[None if np.isnan(v) else float(v) for v in row] for row in matrix],
            "images": self.counts(),
            "settings": {"baseline": "zeros", "n_steps": self.n_steps, "target": "true class"},
        }


def compute_atlas(
    model: Net, images: ImageSet, correct: np.ndarray, progress: Progress | None = None
) -> np.ndarray:
    """Contributions (len(correct) x C) of the images `correct` for their true classes, in
    chunks on `interpret.core.workers`' single-threaded workers (one per core)."""
    device = next(model.parameters()).device
    done = 0
    lock = threading.Lock()

    def run(start: int) -> np.ndarray:
        nonlocal done
        chosen = correct[start : start + CHUNK]
        inputs = normalized_batch(images.images[chosen], device)
        targets = torch.as_tensor(images.labels[chosen], device=device)
        values = contributions(model, inputs, inputs * 0, targets, ATLAS_STEPS).cpu().numpy()
        with lock:
            done += len(chosen)
            if progress is not None:
                progress(done, len(correct), "measuring each feature's contribution")
        return values

    parts = map_in_order(run, range(0, len(correct), CHUNK), device)
    channels = model.conv2.out_channels
    return np.concatenate(parts) if parts else np.zeros((0, channels), np.float32)


def feature_atlas(
    model: Net,
    images: ImageSet,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
    compute: Compute | None = None,
) -> FeatureAtlas:
    """The class x feature atlas of `images` (cached on disk per weights and set). `compute`
    (correct indices, progress) -> contributions replaces `compute_atlas` on a cache miss: the
    app's ZeroGPU path splits the work into GPU calls that way."""
    predicted = predict_test_set(model, images, progress=progress, cache_dir=cache_dir).predicted
    correct = np.flatnonzero(predicted == images.labels)
    correct = correct[np.argsort(images.labels[correct], kind="stable")]
    path, meta = cache_entry(model, images, "atlas", cache_dir, n_steps=ATLAS_STEPS)
    stored = load_arrays(path, meta)
    if stored is not None and np.array_equal(stored["indices"], correct):
        values = stored["contributions"]
    else:
        if compute is None:
            values = compute_atlas(model, images, correct, progress)
        else:
            values = compute(correct, progress)
        values = np.asarray(values, dtype=np.float32)
        save_arrays(path, {"indices": correct, "contributions": values}, meta)
    return FeatureAtlas(correct, images.labels[correct], values, images.fingerprint)
