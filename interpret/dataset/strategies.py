"""Class strategies: cluster one class's attribution maps to find distinct ways of deciding.

After SpRAy, Spectral Relevance Analysis (Lapuschkin et al., "Unmasking Clever Hans
predictors and assessing what machines really learn", Nature Communications 10, 2019):

1. explain every test image of the class for that class: Integrated Gradients with the
   tutorial's settings (50 steps, zeros baseline), through the library's exact fast path;
2. preprocess each map as SpRAy does: sum the relevance over the color channels, take its
   magnitude (IG is signed: a region that speaks for the class in one image and against it
   in the next is still where the model looks), scale each map to a largest value of 1 so
   that where the evidence lies matters, not how much there is, and downsample (average over
   4x4 blocks, 32x32 -> 8x8) so that small shifts do not count;
3. connect each map to its nearest neighbours (a symmetric k-NN affinity, as scikit-learn's
   ``affinity="nearest_neighbors"`` builds it), pick the number of clusters in 2..6 by the
   largest eigengap of the affinity's normalized Laplacian (scipy's ``eigh``), and cluster
   with scikit-learn's `SpectralClustering` on that affinity, seeded.

Each cluster reports its size, its accuracy (the share of its images predicted as the
class), its mean map (of the scaled magnitudes, full size), and its members ordered from
the most typical (closest to the cluster's mean) outwards. Results are cached on disk per
(weights, test set, class, settings); the same request gives the same clusters.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.linalg import eigh
from scipy.sparse.csgraph import laplacian
from sklearn.cluster import SpectralClustering
from sklearn.neighbors import kneighbors_graph
from threadpoolctl import threadpool_limits
from torch import nn

from interpret.attribution.methods import ATTRIBUTION_LOCK, METHODS
from interpret.core.baselines import make_baseline
from interpret.core.disk_cache import cache_root, load_arrays, save_arrays
from interpret.core.model import CLASSES
from interpret.core.params import BASELINES, make_params
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import (
    cached_predictions,
    normalized_batch,
    predict_test_set,
    weights_digest,
)

Progress = Callable[[int, int, str], None]

CACHE_VERSION = 1
CHUNK = 100  # images per attribution call: progress steps of ~0.2 s on 2 cores
MIN_IMAGES = 6  # below this, one cluster: nothing to separate


class StrategyError(ValueError):
    """A strategies request that cannot be answered; the message is meant for the user."""


@dataclass(frozen=True)
class StrategySettings:
    """How maps are computed and clustered; part of the cache key."""

    n_steps: int = 50
    baseline: str = "zeros"
    grid: int = 8  # maps are averaged down to grid x grid before clustering
    min_clusters: int = 2
    max_clusters: int = 6
    seed: int = 0
    max_images: int | None = None  # the class's first N images (index order); None: all

    def checked(self) -> StrategySettings:
        make_params(n_steps=self.n_steps, baseline=self.baseline, seed=self.seed)
        if self.baseline not in BASELINES:
            raise StrategyError(f"unknown baseline {self.baseline!r}")
        if self.grid not in (1, 2, 4, 8, 16, 32):
            raise StrategyError(f"grid must divide 32 (1, 2, 4, 8, 16, 32), got {self.grid}")
        if not 2 <= self.min_clusters <= self.max_clusters <= 12:
            raise StrategyError("clusters must satisfy 2 <= min_clusters <= max_clusters <= 12")
        if self.max_images is not None and self.max_images < 1:
            raise StrategyError(f"max_images must be at least 1, got {self.max_images}")
        return self


@dataclass
class Cluster:
    """One strategy: `members` are test-set indices, most typical first."""

    members: np.ndarray
    accuracy: float
    mean_map: np.ndarray  # 32 x 32 float32 in [0, 1]: the members' scaled magnitude maps

    @property
    def size(self) -> int:
        return len(self.members)

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "accuracy": self.accuracy,
            "members": [int(i) for i in self.members],
        }


@dataclass
class Strategies:
    """The clusters of one class's maps, largest first, and how their number was chosen."""

    class_index: int
    clusters: list[Cluster]
    eigenvalues: np.ndarray  # smallest eigenvalues of the normalized Laplacian, ascending
    settings: StrategySettings
    image_count: int
    reason: str | None = None  # why there is a single cluster, when there is
    from_cache: bool = False
    seconds: float = 0.0
    weights: str = field(default="", repr=False)
    dataset: str = field(default="", repr=False)

    @property
    def class_name(self) -> str:
        return CLASSES[self.class_index]

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.class_name,
            "images": self.image_count,
            "clusters": [cluster.to_dict() for cluster in self.clusters],
            "eigenvalues": [round(float(value), 6) for value in self.eigenvalues],
            "reason": self.reason,
            "settings": asdict(self.settings),
        }


def class_index_of(class_name: Any) -> int:
    """A class name (any case) or index 0-9, else `StrategyError`."""
    if isinstance(class_name, str) and class_name.strip().lower() in CLASSES:
        return CLASSES.index(class_name.strip().lower())
    integer = isinstance(class_name, (int, np.integer)) and not isinstance(class_name, bool)
    if integer and 0 <= int(class_name) < len(CLASSES):
        return int(class_name)
    raise StrategyError(f"unknown class {class_name!r}; choose one of {', '.join(CLASSES)}")


def attribution_maps(
    model: nn.Module,
    images: np.ndarray,
    target: int,
    settings: StrategySettings,
    progress: Progress | None = None,
) -> np.ndarray:
    """Integrated Gradients maps (float32 N x 3 x 32 x 32) of uint8 images for `target`,
    the same maps `interpret.explain` gives each image alone."""
    method = METHODS["integrated_gradients"]
    params = make_params(n_steps=settings.n_steps, baseline=settings.baseline, seed=settings.seed)
    device = next(model.parameters()).device
    out = np.empty((len(images), 3, *images.shape[1:3]), dtype=np.float32)
    for start in range(0, len(images), CHUNK):
        inputs = normalized_batch(images[start : start + CHUNK], device)
        baselines = make_baseline(params.baseline, inputs, params.seed)
        targets = torch.full((len(inputs),), target, dtype=torch.long, device=device)
        with ATTRIBUTION_LOCK:  # Captum's hooks from another request must not interleave
            maps, _ = method.run(
                model, inputs.detach().clone().requires_grad_(True), targets, baselines, params
            )
        out[start : start + len(inputs)] = maps.detach().float().cpu().numpy()
        if progress is not None:
            progress(start + len(inputs), len(images), "integrated gradients")
    return out


def spray_features(maps: np.ndarray, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """(features N x grid², scaled full-size maps N x 32 x 32): the magnitude of the channel
    sum, each map scaled to a largest value of 1, then averaged over blocks (module doc)."""
    magnitude = np.abs(maps.astype(np.float64).sum(axis=1))
    peak = magnitude.reshape(len(magnitude), -1).max(axis=1)
    scaled = magnitude / np.where(peak > 0, peak, 1.0)[:, None, None]
    block = magnitude.shape[-1] // grid
    pooled = scaled.reshape(len(scaled), grid, block, grid, block).mean(axis=(2, 4))
    return pooled.reshape(len(scaled), -1), scaled


def neighbours(count: int) -> int:
    """k of the k-NN affinity: about sqrt(N) (at least 10), so the graph stays connected."""
    return max(1, min(count - 1, max(10, round(math.sqrt(count)))))


def knn_affinity(features: np.ndarray, n_neighbors: int):
    """Symmetric 0/0.5/1 k-NN connectivity, as SpectralClustering's nearest_neighbors builds."""
    connectivity = kneighbors_graph(features, n_neighbors=n_neighbors, include_self=True)
    return 0.5 * (connectivity + connectivity.T)


def eigengap(affinity, low: int, high: int) -> tuple[int, np.ndarray]:
    """(number of clusters in low..high, the high + 1 smallest eigenvalues): k is where the
    gap between the k-th and (k+1)-th smallest eigenvalues of the normalized Laplacian is
    largest (SpRAy's choice; k near-zero eigenvalues mean k loosely joined groups)."""
    lap = laplacian(affinity, normed=True)
    dense = lap.toarray() if hasattr(lap, "toarray") else np.asarray(lap)
    values = eigh(dense, eigvals_only=True, subset_by_index=[0, high])
    gaps = values[low : high + 1] - values[low - 1 : high]
    return low + int(np.argmax(gaps)), values


def spectral_labels(affinity, n_clusters: int, seed: int) -> np.ndarray:
    """scikit-learn's SpectralClustering on the precomputed affinity, seeded."""
    clustering = SpectralClustering(
        n_clusters=n_clusters,
        affinity="precomputed",
        assign_labels="kmeans",
        random_state=seed,
        n_init=10,
    )
    with warnings.catch_warnings():  # "graph is not fully connected": the eigengap copes
        warnings.simplefilter("ignore", UserWarning)
        return clustering.fit_predict(affinity)


def _ordered_clusters(
    labels: np.ndarray, features: np.ndarray, indices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(cluster per image renumbered largest first, distance of each image to its cluster's
    mean feature): a deterministic numbering whatever k-means called them."""
    found = np.unique(labels)
    sizes = [(-(labels == c).sum(), indices[labels == c].min(), c) for c in found]
    renumber = {c: rank for rank, (_, _, c) in enumerate(sorted(sizes))}
    ordered = np.array([renumber[c] for c in labels], dtype=np.int64)
    distance = np.empty(len(labels))
    for c in range(len(found)):
        members = ordered == c
        centre = features[members].mean(axis=0)
        distance[members] = np.linalg.norm(features[members] - centre, axis=1)
    return ordered, distance


def _build(
    indices: np.ndarray,
    assignment: np.ndarray,
    distance: np.ndarray,
    mean_maps: np.ndarray,
    predicted: np.ndarray,
    target: int,
) -> list[Cluster]:
    clusters = []
    for c in range(len(mean_maps)):
        members = indices[assignment == c]
        order = np.lexsort((members, distance[assignment == c]))
        members = members[order]
        accuracy = float((predicted[members] == target).mean())
        clusters.append(Cluster(members, accuracy, mean_maps[c]))
    return clusters


def cache_path(weights: str, dataset: str, target: int, cache_dir: Path | None) -> Path:
    root = cache_root() if cache_dir is None else Path(cache_dir)
    return root / "strategies" / f"{weights[:20]}-{dataset[:20]}-{CLASSES[target]}.npz"


def class_strategies(
    model: nn.Module,
    test_set: ImageSet,
    class_name: Any,
    settings: StrategySettings | None = None,
    *,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> Strategies:
    """The strategies of `class_name` over its test images (module doc); from the disk
    cache when this model, set, class and settings were analysed before."""
    started = time.perf_counter()
    settings = (settings or StrategySettings()).checked()
    target = class_index_of(class_name)
    predicted = predict_test_set(model, test_set, cache_dir=cache_dir).predicted
    indices, weights, path, meta = _request(model, test_set, target, settings, cache_dir)
    result = _stored(path, meta, indices, predicted, target, settings) if use_cache else None
    if result is None:
        maps = attribution_maps(model, test_set.images[indices], target, settings, progress)
        if progress is not None:
            progress(len(indices), len(indices), "clustering")
        features, scaled = spray_features(maps, settings.grid)
        high = min(settings.max_clusters, len(indices) // 2)
        if len(indices) < MIN_IMAGES or high < settings.min_clusters:
            assignment = np.zeros(len(indices), dtype=np.int64)
            eigenvalues = np.zeros(0)
            reason = (
                f"only {len(indices)} image(s) of class {CLASSES[target]} in {test_set.name}: "
                f"too few to cluster (at least {max(MIN_IMAGES, 2 * settings.min_clusters)})"
            )
        else:
            # One BLAS/OpenMP thread: these are small problems (N <= ~1,000), and multi-
            # threaded OpenBLAS spins on a busy machine: eigh took 6-15 s instead of 0.15 s
            # with another process on the second core.
            with threadpool_limits(limits=1):
                affinity = knn_affinity(features, neighbours(len(indices)))
                count, eigenvalues = eigengap(affinity, settings.min_clusters, high)
                assignment, reason = spectral_labels(affinity, count, settings.seed), None
        assignment, distance = _ordered_clusters(assignment, features, indices)
        mean_maps = np.stack(
            [scaled[assignment == c].mean(axis=0) for c in range(assignment.max() + 1)]
        ).astype(np.float32)
        arrays = {
            "indices": indices,
            "assignment": assignment,
            "distance": distance,
            "mean_maps": mean_maps,
            "eigenvalues": np.asarray(eigenvalues, dtype=np.float64),
            "reason": np.frombuffer((reason or "").encode(), dtype=np.uint8),
        }
        save_arrays(path, arrays, meta)
        clusters = _build(indices, assignment, distance, mean_maps, predicted, target)
        result = Strategies(target, clusters, arrays["eigenvalues"], settings, len(indices), reason)
    result.seconds = time.perf_counter() - started
    result.weights, result.dataset = weights, test_set.fingerprint
    return result


def cached_strategies(
    model: nn.Module,
    test_set: ImageSet,
    class_name: Any,
    settings: StrategySettings | None = None,
    *,
    cache_dir: Path | None = None,
) -> Strategies | None:
    """`class_strategies` if its predictions and its result are cached (in this process or on
    disk), else None: nothing is computed (see `predictions.cached_predictions`)."""
    started = time.perf_counter()
    settings = (settings or StrategySettings()).checked()
    target = class_index_of(class_name)
    predictions = cached_predictions(model, test_set, cache_dir=cache_dir)
    if predictions is None:
        return None
    indices, weights, path, meta = _request(model, test_set, target, settings, cache_dir)
    result = _stored(path, meta, indices, predictions.predicted, target, settings)
    if result is not None:
        result.seconds = time.perf_counter() - started
        result.weights, result.dataset = weights, test_set.fingerprint
    return result


def _request(
    model: nn.Module,
    test_set: ImageSet,
    target: int,
    settings: StrategySettings,
    cache_dir: Path | None,
) -> tuple[np.ndarray, str, Path, dict[str, Any]]:
    """(the class's image indices, the weights' digest, the cache file, its metadata)."""
    indices = np.flatnonzero(test_set.labels == target)[: settings.max_images]
    if len(indices) == 0:
        raise StrategyError(f"{test_set.name} has no images of class {CLASSES[target]}")
    weights = weights_digest(model)
    path = cache_path(weights, test_set.fingerprint, target, cache_dir)
    meta = {
        "kind": "strategies",
        "version": CACHE_VERSION,
        "weights": weights,
        "dataset": test_set.fingerprint,
        "class": target,
        "settings": asdict(settings),
    }
    return indices, weights, path, meta


def _stored(
    path: Path,
    meta: dict[str, Any],
    indices: np.ndarray,
    predicted: np.ndarray,
    target: int,
    settings: StrategySettings,
) -> Strategies | None:
    """The cached result for exactly these images, or None."""
    stored = load_arrays(path, meta)
    if stored is None or not np.array_equal(stored.get("indices"), indices):
        return None
    clusters = _build(
        indices, stored["assignment"], stored["distance"], stored["mean_maps"], predicted, target
    )
    reason = stored["reason"].tobytes().decode() or None
    return Strategies(
        target, clusters, stored["eigenvalues"], settings, len(indices), reason, from_cache=True
    )
