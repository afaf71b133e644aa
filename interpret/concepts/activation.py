"""What each learned feature responds to: the test images where a pool2 channel is most active.

Activation maximization over a dataset: a channel's activation on an image is the largest of
its 5x5 pool2 units, and the unit that holds it sees a 16x16 window of the image (rows and
columns 4i ... 4i+15 for position i: two 5x5 convolutions, each followed by a 2x2 pool).
Ties (pool2 is >= 0, so many zeros) break by index. Computed once per (weights, image set) and
cached on disk like the predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from interpret.core.disk_cache import load_arrays, save_arrays
from interpret.core.model import Net
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import normalized_batch

from .cached import cache_entry

TOP = 8  # images per channel
GRID = 5  # pool2's positions per side
WINDOW = 16  # pixels per side seen by one pool2 unit
STRIDE = 4  # pixels between neighbouring pool2 units
BATCH = 1000
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class TopImages:
    """For each channel (rows), its `k` most active images of a set: `indices` into the set,
    `activations` (the channel's largest pool2 unit there) and `positions` (that unit's
    (row, column) on the 5x5 grid), most active first."""

    indices: np.ndarray  # C x k, int64
    activations: np.ndarray  # C x k, float32
    positions: np.ndarray  # C x k x 2, int64
    dataset: str  # the set's fingerprint

    def window(self, channel: int, rank: int) -> tuple[slice, slice]:
        """The rows and columns of the image the channel's unit sees for its `rank`-th image."""
        row, column = (int(v) * STRIDE for v in self.positions[channel, rank])
        return slice(row, row + WINDOW), slice(column, column + WINDOW)


def channel_maxima(
    model: Net, images: np.ndarray, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(N x C activations, N x C flat positions): each channel's largest pool2 unit per image
    and where it is (the first in row-major order when several are equal)."""
    device = next(model.parameters()).device
    values, where = [], []
    for start in range(0, len(images), BATCH):
        with torch.no_grad():
            features = model.features(normalized_batch(images[start : start + BATCH], device))
        flat = features.flatten(2)
        best, position = flat.max(dim=2)  # the first maximum: documented for max with dim
        values.append(best.float().cpu().numpy())
        where.append(position.cpu().numpy())
        if progress is not None:
            progress(min(start + BATCH, len(images)), len(images), "finding what each feature sees")
    channels = model.conv2.out_channels
    if not values:
        return np.zeros((0, channels), np.float32), np.zeros((0, channels), np.int64)
    return np.concatenate(values), np.concatenate(where).astype(np.int64)


def rank_top(
    activations: np.ndarray, flat_positions: np.ndarray, k: int, dataset: str
) -> TopImages:
    """The top `k` images per channel, highest activation first, ties by index."""
    count, channels = activations.shape
    k = min(k, count)
    order = np.empty((channels, k), dtype=np.int64)
    for channel in range(channels):
        # lexsort sorts by the last key first: activation descending, then index ascending
        order[channel] = np.lexsort((np.arange(count), -activations[:, channel]))[:k]
    columns = np.arange(channels)[:, None]
    chosen = flat_positions[order, columns]
    return TopImages(
        indices=order,
        activations=activations[order, columns].astype(np.float32),
        positions=np.stack([chosen // GRID, chosen % GRID], axis=-1),
        dataset=dataset,
    )


def top_images(
    model: Net,
    images: ImageSet,
    k: int = TOP,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
) -> TopImages:
    """Each channel's `k` most active images of `images` (cached on disk per weights and set)."""
    path, meta = cache_entry(model, images, "maxima", cache_dir)
    stored = load_arrays(path, meta)
    if stored is None:
        activations, positions = channel_maxima(model, images.images, progress)
        save_arrays(path, {"activations": activations, "positions": positions}, meta)
    else:
        activations, positions = stored["activations"], stored["positions"]
    return rank_top(activations, positions, k, images.fingerprint)
