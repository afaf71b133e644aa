"""The model's prediction for every image of a test set, computed once and cached on disk.

Keyed by (`weights_digest` of the model, `ImageSet.fingerprint` of the images): the same
weights on the same pixels give the same file, whoever asks and wherever the weights were
loaded from. The numbers are those `interpret.explain` reports for the same image: the same
normalization on the same contiguous NCHW float32 layout, the same softmax.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from interpret.core.disk_cache import cache_root, load_arrays, save_arrays
from interpret.core.model import CLASSES, MEAN, STD
from interpret.core.workers import map_in_order
from interpret.dataset.images import ImageSet

Progress = Callable[[int, int, str], None]

BATCH_SIZE = 500  # 500 rows of 6x28x28 activations: cache-sized, like interpret.attribution.fast
CACHE_VERSION = 1
MEMORY_ENTRIES = 8  # prediction sets kept in the process (each 400 KB for 10,000 images)


@dataclass(frozen=True)
class Predictions:
    """`probabilities` float32 N x 10 for images with true `labels`; `weights` and `dataset`
    are the digests they were computed for, `seconds` what computing or loading them took."""

    probabilities: np.ndarray
    labels: np.ndarray
    weights: str
    dataset: str
    from_cache: bool = False
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def predicted(self) -> np.ndarray:
        """Predicted class per image (int64), the argmax of its probabilities."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """The predicted class's probability per image (float32)."""
        return self.probabilities.max(axis=1)

    @property
    def correct(self) -> np.ndarray:
        return self.predicted == self.labels

    @property
    def accuracy(self) -> float | None:
        """Top-1 accuracy, or None for an empty set."""
        return float(self.correct.mean()) if len(self) else None


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of the model's class and every tensor of its state dict (name, dtype, shape,
    bytes): the same weights give the same key, however they were stored or loaded."""
    digest = hashlib.sha256(type(model).__name__.encode())
    for name, tensor in sorted(model.state_dict().items()):
        values = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{values.dtype}|{tuple(values.shape)}".encode())
        digest.update(values.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def normalized_batch(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 N x 32 x 32 x 3 -> normalized float32 N x 3 x 32 x 32, bit for bit what
    `interpret.core.preprocess.to_tensor` gives each image (contiguous NCHW, as it is)."""
    pixels = torch.from_numpy(np.array(images, dtype=np.uint8))  # a copy: `images` is read-only
    pixels = pixels.permute(0, 3, 1, 2).contiguous()
    tensor = pixels.to(torch.float32).div(255)
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return tensor.sub_(mean).div_(std).to(device)


def compute_probabilities(
    model: nn.Module,
    images: np.ndarray,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """Softmax probabilities (float32 N x 10) for uint8 images.

    Batches run on `interpret.core.workers`' single-threaded CPU workers, one per core, as the
    attribution passes do: a two-thread forward waits for the slower core at every layer."""
    device = next(model.parameters()).device
    out = np.empty((len(images), len(CLASSES)), dtype=np.float32)
    done = 0
    lock = threading.Lock()

    @torch.no_grad()
    def run(start: int) -> None:
        nonlocal done
        batch = normalized_batch(images[start : start + batch_size], device)
        out[start : start + len(batch)] = torch.softmax(model(batch), dim=1).cpu().numpy()
        with lock:
            done += len(batch)
            if progress is not None:
                progress(done, len(images), "predicting")

    map_in_order(run, range(0, len(images), batch_size), device)
    return out


def cache_path(weights: str, dataset: str, cache_dir: Path | None = None) -> Path:
    root = cache_root() if cache_dir is None else Path(cache_dir)
    return root / "predictions" / f"{weights[:20]}-{dataset[:20]}.npz"


def _usable(probabilities: np.ndarray | None, count: int) -> bool:
    """A cached array that could be predictions for `count` images (the checksum already
    guards the bytes; this guards against a file written by a broken run)."""
    return (
        probabilities is not None
        and probabilities.dtype == np.float32
        and probabilities.shape == (count, len(CLASSES))
        and bool(np.isfinite(probabilities).all())
        and bool(np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4))
    )


_memory: OrderedDict[tuple[str, str, str], Predictions] = OrderedDict()
_memory_lock = threading.Lock()
_compute_lock = threading.Lock()


def predict_test_set(
    model: nn.Module,
    test_set: ImageSet,
    *,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> Predictions:
    """Every image's prediction: from this process, else the disk cache, else computed (and
    cached). A cache file that is unreadable or fails its checksum is recomputed and replaced.
    `progress(done, total, what)` is called per batch while computing."""
    started = time.perf_counter()
    key, meta = _key(model, test_set, cache_dir)
    if use_cache and (found := _in_memory(key)) is not None:
        return found
    with _compute_lock:  # two first visitors compute once, not twice at half speed
        probabilities = _from_disk(key, meta, len(test_set)) if use_cache else None
        from_cache = probabilities is not None
        if not from_cache:
            probabilities = compute_probabilities(model, test_set.images, progress)
            save_arrays(Path(key[2]), {"probabilities": probabilities}, meta)
        elif progress is not None:
            progress(len(test_set), len(test_set), "predictions from the cache")
    return _remember(key, test_set, probabilities, from_cache, started)


def cached_predictions(
    model: nn.Module, test_set: ImageSet, *, cache_dir: Path | None = None
) -> Predictions | None:
    """The predictions if this process or the disk cache holds them, else None (nothing is
    computed): for a process that computes elsewhere, such as a ZeroGPU Space's server, whose
    GPU calls run in worker processes that share only the disk with it."""
    started = time.perf_counter()
    key, meta = _key(model, test_set, cache_dir)
    if (found := _in_memory(key)) is not None:
        return found
    probabilities = _from_disk(key, meta, len(test_set))
    if probabilities is None:
        return None
    return _remember(key, test_set, probabilities, True, started)


Key = tuple[str, str, str]


def _key(model: nn.Module, test_set: ImageSet, cache_dir: Path | None) -> tuple[Key, dict]:
    """(the in-process key: weights, set, cache file; the cache file's metadata)."""
    weights = weights_digest(model)
    path = cache_path(weights, test_set.fingerprint, cache_dir)
    meta = {
        "kind": "predictions",
        "version": CACHE_VERSION,
        "weights": weights,
        "dataset": test_set.fingerprint,
        "images": len(test_set),
    }
    return (weights, test_set.fingerprint, str(path)), meta


def _in_memory(key: Key) -> Predictions | None:
    with _memory_lock:
        if key in _memory:
            _memory.move_to_end(key)
            return _memory[key]
    return None


def _from_disk(key: Key, meta: dict, count: int) -> np.ndarray | None:
    stored = load_arrays(Path(key[2]), meta)
    probabilities = None if stored is None else stored.get("probabilities")
    return probabilities if _usable(probabilities, count) else None


def _remember(
    key: Key, test_set: ImageSet, probabilities: np.ndarray, from_cache: bool, started: float
) -> Predictions:
    probabilities.flags.writeable = False
    result = Predictions(
        probabilities,
        test_set.labels,
        key[0],
        test_set.fingerprint,
        from_cache=from_cache,
        seconds=time.perf_counter() - started,
    )
    with _memory_lock:
        _memory[key] = result
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)
    return result


def forget_in_memory() -> None:
    """Drop the in-process copies (tests and benchmarks that time the disk cache)."""
    with _memory_lock:
        _memory.clear()
