"""A small training history made by the test itself: a synthetic training set, a `Net`
trained on it for a few intervals of SGD with a changing learning rate, a checkpoint after
each interval and the manifest (through interpret.influence.checkpoints), so the influence
tests run in a clone without ../shared or shipped checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from interpret.core.model import Net
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import normalized_batch
from interpret.influence.checkpoints import (
    CHECKPOINTS_DIR,
    checkpoint_entry,
    write_checkpoint,
    write_manifest,
)

LABEL_SMOOTHING = 0.1


def synthetic_training_set(count: int = 300, seed: int = 0) -> ImageSet:
    """`count` 32x32 images whose class sets a mean colour and a stripe, plus noise: a set
    a few SGD steps learn something from."""
    generator = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    generator.shuffle(labels)
    colours = generator.integers(40, 216, size=(10, 3))
    images = generator.normal(0, 40, size=(count, 32, 32, 3)) + colours[labels][:, None, None]
    for j, label in enumerate(labels):
        images[j, 3 * label : 3 * label + 3, :, :] = 255
    pixels = np.clip(images, 0, 255).astype(np.uint8)
    return ImageSet(pixels, labels, f"{count} synthetic training images", "synthetic", "train")


def train_history(
    weights_folder: Path,
    training_set: ImageSet,
    epochs: tuple[int, ...] = (1, 2, 3, 4),
    steps_per_epoch: int = 3,
    peak_lr: float = 0.05,
    seed: int = 7,
) -> Net:
    """Train a seeded `Net` with SGD (batch 32, label-smoothed CE), saving a checkpoint at
    each of `epochs` into ``<weights_folder>/checkpoints/`` with its interval's mean rate;
    returns the final model (equal to the last checkpoint)."""
    torch.manual_seed(seed)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    inputs = normalized_batch(training_set.images, torch.device("cpu"))
    labels = torch.from_numpy(np.array(training_set.labels))
    generator = torch.Generator().manual_seed(seed)
    folder = Path(weights_folder) / CHECKPOINTS_DIR
    total_steps = epochs[-1] * steps_per_epoch
    entries, step, rates = [], 0, []
    for epoch in range(1, epochs[-1] + 1):
        for _ in range(steps_per_epoch):
            step += 1
            rate = peak_lr * 0.5 * (1 + math.cos(math.pi * step / (total_steps + 1)))
            for group in optimizer.param_groups:
                group["lr"] = rate
            rates.append(rate)
            batch = torch.randint(0, len(labels), (32,), generator=generator)
            optimizer.zero_grad()
            loss_fn(model(inputs[batch]), labels[batch]).backward()
            optimizer.step()
        if epoch in epochs:
            path = write_checkpoint(model, folder, epoch)
            entries.append(checkpoint_entry(path, epoch, step - len(rates) + 1, rates))
            rates = []
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    write_manifest(folder, entries, model, LABEL_SMOOTHING, training_set.name)
    return model
