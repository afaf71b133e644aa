"""What every influence query reuses, computed once per (weights, training set): for each
checkpoint and every training image (at its own label), the final layer's input and the
loss's gradient with respect to the logits.

TracInCPFast (Pruthi et al. 2020, Captum's class of that name) restricts TracIn to fc3's
weights, whose per-example gradient is the outer product ``g a^T`` of the loss gradient at
the logits ``g`` (10 values) and fc3's input ``a`` (84 values, after relu4). The influence
of training image j on a query at checkpoint c is then ``lr_c (g_c . G_cj)(a_c . A_cj)``:
storing ``A`` and ``G`` per checkpoint makes a query a few matrix products. The loss is the
training loss as trained, cross-entropy with the recipe's label smoothing, summed, whose
gradient at the logits is ``softmax - smoothed one-hot``. fc3's bias is left out, as
TracInCPFast leaves it out.

The arrays are cached on disk (`interpret.core.disk_cache`), keyed by the final weights'
digest, the checkpoints (their sha256 and rates) and the training set's fingerprint, as
float32 by default: the scores are then Captum's to float32 rounding, top-k order included.
float16 halves the bytes (47 MB instead of 94 MB for 50,000 images and 5 checkpoints) and
keeps the scores to about 1e-3 of their range, but may swap near-tied neighbours in a
ranking (docs/INFLUENCE.md). In memory the arrays are float32 either way.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from interpret.core.disk_cache import cache_root, load_arrays, save_arrays
from interpret.core.model import CLASSES, Net
from interpret.core.weights import SHIPPED_WEIGHTS
from interpret.core.workers import map_in_order
from interpret.dataset.images import ImageSet, Progress
from interpret.dataset.predictions import normalized_batch, weights_digest
from interpret.dataset.sources import DatasetError
from interpret.dataset.train_split import index_note, load_training_set
from interpret.influence.checkpoints import (
    HistoryError,
    OtherWeights,
    TrainingHistory,
    history_for,
)

INDEX_VERSION = 1
BATCH_SIZE = 500
STORAGE = ("float16", "float32")
FEATURES = 84  # fc3's inputs
MEMORY_ENTRIES = 2  # indices kept in the process (each ~94 MB as float32 for 50,000 images)


class InfluenceUnavailable(ValueError):
    """Influence cannot be computed here; the message says why and what would fix it.

    `kind` is "no-checkpoints" (weights without a training history, such as the tutorial's),
    "other-weights" (checkpoints of other weights), or "no-training-set"."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, eq=False)
class InfluenceIndex:
    """Per checkpoint c and training image j: `activations[c, j]` (fc3's input, float32 84)
    and `gradients[c, j]` (d loss / d logits at the image's own label, float32 10); the
    final weights' `predicted` class and `confidence` per image; what it was computed for.

    `states` are the checkpoints' state dicts (a query runs its image through each),
    `final_state` the final weights' (the prediction a query explains)."""

    activations: np.ndarray
    gradients: np.ndarray
    learning_rates: np.ndarray
    epochs: tuple[int, ...]
    labels: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    label_smoothing: float
    weights: str
    training_set: str
    training_source: str
    fingerprint: str
    note: str
    states: tuple[dict[str, Tensor], ...] = field(repr=False)
    final_state: dict[str, Tensor] = field(repr=False, default_factory=dict)
    storage: str = "float32"
    bytes_on_disk: int = 0
    from_cache: bool = False
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.labels)

    @cached_property
    def networks(self) -> tuple[Net, ...]:
        """One eval-mode `Net` per checkpoint, built on first use."""
        return tuple(_network(state) for state in self.states)

    @cached_property
    def final_network(self) -> Net:
        """The final weights as an eval-mode `Net`."""
        return _network(self.final_state)

    @cached_property
    def self_influence(self) -> np.ndarray:
        """Each training image's influence on its own loss, ``sum_c lr_c |G_cj|^2 |A_cj|^2``
        (TracInCPFast.self_influence), float32 N."""
        total = np.zeros(len(self), dtype=np.float64)
        for rate, acts, grads in zip(self.learning_rates, self.activations, self.gradients):
            total += rate * np.einsum("ij,ij->i", grads, grads) * np.einsum("ij,ij->i", acts, acts)
        return total.astype(np.float32)

    @cached_property
    def self_influence_order(self) -> np.ndarray:
        """Every training image's position, highest self-influence first, ties by index."""
        order = np.argsort(-self.self_influence, kind="stable")
        order.flags.writeable = False
        return order

    def describe(self) -> dict:
        """What a UI or download says about the index (no server paths)."""
        return {
            "training_set": self.training_set,
            "source": self.training_source,
            "fingerprint": self.fingerprint,
            "images": len(self),
            "checkpoints": [
                {"epoch": e, "learning_rate": float(r)}
                for e, r in zip(self.epochs, self.learning_rates)
            ],
            "label_smoothing": self.label_smoothing,
            "weights": self.weights,
            "storage": self.storage,
            "note": self.note,
        }


def _network(state: dict[str, Tensor]) -> Net:
    net = Net()
    net.load_state_dict(state)
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net.eval()


def final_layer_input(net: Net, batch: Tensor) -> tuple[Tensor, Tensor]:
    """(fc3's input after relu4, the logits) for a normalized batch: what Captum's forward
    hook on fc3 captures, by the same operations."""
    features = torch.flatten(net.features(batch), 1)
    hidden = net.relu4(net.fc2(net.relu3(net.fc1(features))))
    return hidden, net.fc3(hidden)


def loss_gradient(logits: Tensor, targets: Tensor, label_smoothing: float) -> Tensor:
    """d/d logits of the summed label-smoothed cross-entropy: softmax - smoothed one-hot."""
    smoothed = torch.full_like(logits, label_smoothing / logits.shape[1])
    smoothed[torch.arange(len(targets)), targets] += 1.0 - label_smoothing
    return torch.softmax(logits, dim=1) - smoothed


def checkpoint_arrays(
    net: Net,
    images: np.ndarray,
    labels: np.ndarray,
    label_smoothing: float,
    report: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(activations N x 84, gradients N x 10, probabilities N x 10), float32, for one
    checkpoint's network, in batches on single-threaded CPU workers."""
    count = len(images)
    activations = np.empty((count, FEATURES), dtype=np.float32)
    gradients = np.empty((count, len(CLASSES)), dtype=np.float32)
    probabilities = np.empty((count, len(CLASSES)), dtype=np.float32)
    device = torch.device("cpu")
    lock = threading.Lock()

    @torch.no_grad()
    def run(start: int) -> None:
        stop = min(start + BATCH_SIZE, count)
        hidden, logits = final_layer_input(net, normalized_batch(images[start:stop], device))
        targets = torch.from_numpy(np.array(labels[start:stop], dtype=np.int64))
        activations[start:stop] = hidden.numpy()
        gradients[start:stop] = loss_gradient(logits, targets, label_smoothing).numpy()
        probabilities[start:stop] = torch.softmax(logits, dim=1).numpy()
        if report is not None:
            with lock:
                report(stop - start)

    map_in_order(run, range(0, count, BATCH_SIZE), device)
    return activations, gradients, probabilities


def _cpu_state(model: nn.Module) -> dict[str, Tensor]:
    return {name: value.detach().cpu().clone() for name, value in model.state_dict().items()}


def _same_weights(state: dict[str, Tensor], model: nn.Module) -> bool:
    own = model.state_dict()
    return state.keys() == own.keys() and all(
        torch.equal(state[name].cpu(), own[name].detach().cpu()) for name in state
    )


def compute_index_arrays(
    model: nn.Module,
    history: TrainingHistory,
    training_set: ImageSet,
    states: list[dict[str, Tensor]],
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """The index's arrays (float32): activations C x N x 84, gradients C x N x 10, and the
    final weights' probabilities N x 10 (the last checkpoint's when it is the final weights,
    else one more pass)."""
    count, total = len(training_set), len(training_set) * len(states)
    done = 0

    def report_for(position: int):
        def report(batch: int) -> None:
            nonlocal done
            done += batch
            if progress is not None:
                message = f"indexing the training set (checkpoint {position} of {len(states)})"
                progress(done, total, message)

        return report

    activations, gradients, final = [], [], None
    for position, state in enumerate(states, start=1):
        acts, grads, probabilities = checkpoint_arrays(
            _network(state),
            training_set.images,
            training_set.labels,
            history.label_smoothing,
            report_for(position),
        )
        activations.append(acts)
        gradients.append(grads)
        final = probabilities
    if final is None or not _same_weights(states[-1], model):
        net = _network(_cpu_state(model))
        _, _, final = checkpoint_arrays(net, training_set.images, training_set.labels, 0.0)
    assert len(final) == count
    return {
        "activations": np.stack(activations),
        "gradients": np.stack(gradients),
        "probabilities": final,
    }


def cache_path(weights: str, dataset: str, storage: str, cache_dir: Path | None = None) -> Path:
    root = cache_root() if cache_dir is None else Path(cache_dir)
    return root / "influence" / f"{weights[:16]}-{dataset[:16]}-{storage}.npz"


def _meta(history: TrainingHistory, training_set: ImageSet, weights: str, storage: str) -> dict:
    return {
        "kind": "influence-index",
        "version": INDEX_VERSION,
        "weights": weights,
        "checkpoints": [c.sha256 for c in history.checkpoints],
        "learning_rates": history.learning_rates,
        "label_smoothing": history.label_smoothing,
        "dataset": training_set.fingerprint,
        "images": len(training_set),
        "storage": storage,
    }


def _usable(stored: dict[str, np.ndarray] | None, checkpoints: int, count: int) -> bool:
    if stored is None or not {"activations", "gradients", "probabilities"} <= stored.keys():
        return False
    return (
        stored["activations"].shape == (checkpoints, count, FEATURES)
        and stored["gradients"].shape == (checkpoints, count, len(CLASSES))
        and stored["probabilities"].shape == (count, len(CLASSES))
        and all(bool(np.isfinite(value).all()) for value in stored.values())
    )


_memory: OrderedDict[tuple, InfluenceIndex] = OrderedDict()
_lock = threading.Lock()


def build_index(
    model: nn.Module,
    history: TrainingHistory,
    training_set: ImageSet,
    *,
    storage: str = "float32",
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> InfluenceIndex:
    """The index of `training_set` for `model` and its checkpoints `history`: from this
    process, else the disk cache, else computed (with `progress(done, total, message)`) and
    cached. `storage` is how the arrays are kept on disk ("float16" or "float32")."""
    if storage not in STORAGE:
        raise ValueError(f"storage must be one of {STORAGE}, got {storage!r}")
    started = time.perf_counter()
    weights = weights_digest(model)
    if weights != history.final_weights_digest:
        raise InfluenceUnavailable(
            "these checkpoints belong to other weights; influence would be wrong", "other-weights"
        )
    meta = _meta(history, training_set, weights, storage)
    path = cache_path(weights, training_set.fingerprint, storage, cache_dir)
    key = (str(path), repr(sorted(meta.items())))
    with _lock:
        if use_cache and key in _memory:
            _memory.move_to_end(key)
            return _memory[key]
        states = history.states()
        stored = load_arrays(path, meta) if use_cache else None
        from_cache = _usable(stored, len(states), len(training_set))
        if from_cache:
            assert stored is not None
            if progress is not None:
                progress(len(training_set), len(training_set), "training-set index from the cache")
        else:
            computed = compute_index_arrays(model, history, training_set, states, progress)
            stored = {name: value.astype(storage) for name, value in computed.items()}
            stored["probabilities"] = computed["probabilities"]
            save_arrays(path, stored, meta)
        index = _index(stored, history, training_set, states, weights, storage, path)
        object.__setattr__(index, "final_state", _cpu_state(model))
        index = _with_timing(index, from_cache, time.perf_counter() - started)
        _memory[key] = index
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)
    return index


def _index(
    stored: dict[str, np.ndarray],
    history: TrainingHistory,
    training_set: ImageSet,
    states: list[dict[str, Tensor]],
    weights: str,
    storage: str,
    path: Path,
) -> InfluenceIndex:
    probabilities = np.asarray(stored["probabilities"], dtype=np.float32)
    activations = np.asarray(stored["activations"], dtype=np.float32)
    gradients = np.asarray(stored["gradients"], dtype=np.float32)
    for array in (activations, gradients, probabilities):
        array.flags.writeable = False
    return InfluenceIndex(
        activations=activations,
        gradients=gradients,
        learning_rates=np.asarray(history.learning_rates, dtype=np.float64),
        epochs=tuple(c.epoch for c in history.checkpoints),
        labels=training_set.labels,
        predicted=probabilities.argmax(axis=1),
        confidence=probabilities.max(axis=1),
        label_smoothing=history.label_smoothing,
        weights=weights,
        training_set=training_set.name,
        training_source=training_set.source,
        fingerprint=training_set.fingerprint,
        note=index_note(training_set),
        states=tuple(states),
        storage=storage,
        bytes_on_disk=path.stat().st_size if path.is_file() else 0,
    )


def _with_timing(index: InfluenceIndex, from_cache: bool, seconds: float) -> InfluenceIndex:
    object.__setattr__(index, "from_cache", from_cache)
    object.__setattr__(index, "seconds", seconds)
    return index


def history_of(
    model: nn.Module, weights_folder: str | Path, name: str | None = None
) -> TrainingHistory:
    """`history_for`, refused as `InfluenceUnavailable` (kind "other-weights" or
    "no-checkpoints"): checked before a training set is loaded, which would not help."""
    try:
        return history_for(model, Path(weights_folder), name)
    except OtherWeights as error:
        raise InfluenceUnavailable(str(error), "other-weights") from error
    except HistoryError as error:
        raise InfluenceUnavailable(str(error), "no-checkpoints") from error


def influence_index(
    model: nn.Module,
    weights_folder: str | Path = SHIPPED_WEIGHTS,
    training_set: ImageSet | None = None,
    *,
    name: str | None = None,
    storage: str = "float32",
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    download: bool | None = None,
) -> InfluenceIndex:
    """The index for `model`, whose training checkpoints lie in ``<weights_folder>/
    checkpoints/``, over `training_set` (default: `load_training_set()`). Raises
    `InfluenceUnavailable`, in words a user can act on, when the model has no checkpoints
    (`name` is how the user knows it), they belong to other weights, or no training set can
    be had (offline, not configured)."""
    history = history_of(model, weights_folder, name)
    if training_set is None:
        try:
            training_set = load_training_set(download=download, progress=progress)
        except DatasetError as error:
            raise InfluenceUnavailable(str(error), "no-training-set") from error
    return build_index(
        model, history, training_set, storage=storage, cache_dir=cache_dir, progress=progress
    )


def forget_in_memory() -> None:
    """Drop the in-process indices (tests and benchmarks that time the disk cache)."""
    with _lock:
        _memory.clear()
