"""Class strategies (SpRAy): the maps are explain's IG maps, the clusters partition the class,
their accuracies follow the predictions, results are deterministic and cached, and two
planted strategies come out as two clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED

from interpret import CLASSES, explain_batch
from interpret.dataset import predictions as predictions_module
from interpret.dataset import sources as testset
from interpret.dataset.predictions import predict_test_set
from interpret.dataset.strategies import (
    StrategyError,
    StrategySettings,
    attribution_maps,
    cache_path,
    cached_strategies,
    class_strategies,
    spray_features,
)

FULL = SHARED / "cifar10"
CAT = CLASSES.index("cat")


def planted_set(per_group: int = 20, seed: int = 0) -> testset.ImageSet:
    """`2 * per_group` "cat" images on a mid-grey background (the zeros baseline, so IG puts
    nothing there): the first half with a bright patch at the top left, the second half with
    one at the bottom right, each jittered by up to 2 px and lightly noised."""
    rng = np.random.default_rng(seed)
    images = np.clip(rng.normal(127.5, 3.0, (2 * per_group, 32, 32, 3)), 0, 255)
    for i in range(2 * per_group):
        dy, dx = rng.integers(-2, 3, size=2)
        top, left = (4 + dy, 4 + dx) if i < per_group else (20 + dy, 20 + dx)
        images[i, top : top + 8, left : left + 8] = rng.normal((250, 230, 60), 5.0)
    images = np.clip(images, 0, 255).round().astype(np.uint8)
    return testset.ImageSet(images, np.full(2 * per_group, CAT), "planted", "synthetic")


def members(result) -> list[list[int]]:
    """Each cluster's members in the order given (most typical first)."""
    return [cluster.members.tolist() for cluster in result.clusters]


def check_partition(result, data: testset.ImageSet, predicted: np.ndarray, limit=None) -> None:
    """Clusters split exactly the class's images; sizes, accuracies and order hold."""
    expected = np.flatnonzero(data.labels == result.class_index)[:limit]
    found = np.concatenate([cluster.members for cluster in result.clusters])
    assert sorted(found.tolist()) == expected.tolist()  # each image once, none other
    assert sum(cluster.size for cluster in result.clusters) == len(expected) == result.image_count
    sizes = [cluster.size for cluster in result.clusters]
    assert sizes == sorted(sizes, reverse=True)
    for cluster in result.clusters:
        right = predicted[cluster.members] == result.class_index
        assert cluster.accuracy == pytest.approx(right.mean())
        assert cluster.mean_map.shape == (32, 32)
        assert cluster.mean_map.min() >= 0.0 and cluster.mean_map.max() <= 1.0 + 1e-6


def test_two_planted_strategies_come_out_as_two_clusters(shipped_net, tmp_path: Path) -> None:
    data = planted_set()
    result = class_strategies(shipped_net, data, "cat", cache_dir=tmp_path, use_cache=False)
    assert sorted(sorted(group) for group in members(result)) == [
        list(range(20)),
        list(range(20, 40)),
    ]
    assert len(result.eigenvalues) == 7 and result.reason is None
    predicted = predict_test_set(shipped_net, data, cache_dir=tmp_path).predicted
    check_partition(result, data, predicted)
    # Members come most typical first: by distance to their cluster's mean feature.
    maps = attribution_maps(shipped_net, data.images, CAT, StrategySettings())
    features, _ = spray_features(maps, StrategySettings().grid)
    for cluster in result.clusters:
        own = features[cluster.members]
        distance = np.linalg.norm(own - own.mean(axis=0), axis=1)
        assert np.all(np.diff(distance) >= 0)
    # Each cluster's mean map puts its evidence where its patch is.
    for cluster in result.clusters:
        strength = cluster.mean_map
        top_left, bottom_right = strength[2:14, 2:14].sum(), strength[18:30, 18:30].sum()
        if cluster.members[0] < 20:
            assert top_left > 5 * bottom_right
        else:
            assert bottom_right > 5 * top_left


def test_maps_are_the_ones_explain_gives(shipped_net) -> None:
    """Batched IG through the same exact fast path: the same numbers as explain_batch."""
    bundled = testset.bundled()
    target = CLASSES.index("ship")
    maps = attribution_maps(shipped_net, bundled.images, target, StrategySettings())
    explanations = explain_batch(
        shipped_net, list(bundled.images), ["integrated_gradients"], target, overlays=False
    )
    theirs = np.stack([e.attributions["integrated_gradients"] for e in explanations])
    assert np.array_equal(maps, theirs)


def test_deterministic_and_cached(shipped_net, tmp_path: Path) -> None:
    data = planted_set(per_group=12, seed=3)
    steps: list[tuple[int, int, str]] = []
    first = class_strategies(
        shipped_net, data, CAT, cache_dir=tmp_path, progress=lambda *a: steps.append(a)
    )
    assert not first.from_cache
    assert steps[-2:] == [(24, 24, "integrated gradients"), (24, 24, "clustering")]
    second = class_strategies(shipped_net, data, "Cat", cache_dir=tmp_path, use_cache=False)
    assert members(second) == members(first)
    assert np.array_equal(second.eigenvalues, first.eigenvalues)
    hit = class_strategies(shipped_net, data, "cat", cache_dir=tmp_path)
    assert hit.from_cache and members(hit) == members(first)
    for cached, computed in zip(hit.clusters, first.clusters):
        assert np.array_equal(cached.mean_map, computed.mean_map)
        assert cached.accuracy == computed.accuracy
    # Other settings are another cache entry; a damaged entry is recomputed.
    other = class_strategies(
        shipped_net, data, "cat", StrategySettings(n_steps=20), cache_dir=tmp_path
    )
    assert not other.from_cache
    path = cache_path(first.weights, data.fingerprint, CAT, tmp_path)
    path.write_bytes(path.read_bytes()[:-40])
    again = class_strategies(
        shipped_net, data, "cat", StrategySettings(n_steps=20), cache_dir=tmp_path
    )
    assert not again.from_cache and members(again) == members(other)


def test_cached_strategies_compute_nothing(shipped_net, tmp_path: Path) -> None:
    data = planted_set(per_group=12, seed=3)
    assert cached_strategies(shipped_net, data, CAT, cache_dir=tmp_path) is None
    predict_test_set(shipped_net, data, cache_dir=tmp_path)  # the predictions, not the maps
    assert cached_strategies(shipped_net, data, CAT, cache_dir=tmp_path) is None
    computed = class_strategies(shipped_net, data, CAT, cache_dir=tmp_path)
    found = cached_strategies(shipped_net, data, "cat", cache_dir=tmp_path)
    assert found.from_cache and members(found) == members(computed)
    assert found.weights == computed.weights and found.dataset == data.fingerprint


def test_too_few_images_give_one_cluster_with_a_reason(shipped_net, tmp_path: Path) -> None:
    bundled = testset.bundled()
    result = class_strategies(shipped_net, bundled, "cat", cache_dir=tmp_path)
    assert [c.members.tolist() for c in result.clusters] == [[0, 8]]
    assert "too few to cluster" in result.reason
    predicted = predict_test_set(shipped_net, bundled, cache_dir=tmp_path).predicted
    check_partition(result, bundled, predicted)
    assert result.to_dict()["clusters"] == [
        {"size": 2, "accuracy": result.clusters[0].accuracy, "members": [0, 8]}
    ]


@pytest.mark.parametrize(
    ("class_name", "message"),
    [
        ("kitten", "unknown class 'kitten'; choose one of airplane"),
        (10, "unknown class 10"),
        ("bird", "has no images of class bird"),
    ],
)
def test_bad_requests_say_what_is_wrong(shipped_net, tmp_path, class_name, message) -> None:
    with pytest.raises(StrategyError, match=message):
        class_strategies(shipped_net, testset.bundled(), class_name, cache_dir=tmp_path)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(StrategyError, match="grid must divide 32"):
        StrategySettings(grid=5).checked()
    with pytest.raises(StrategyError, match="clusters must satisfy"):
        StrategySettings(min_clusters=4, max_clusters=3).checked()
    with pytest.raises(ValueError, match="n_steps must be between 1 and 500"):
        StrategySettings(n_steps=0).checked()


@pytest.mark.skipif(not FULL.is_dir(), reason=f"no CIFAR-10 copy at {FULL}")
@pytest.mark.slow
def test_a_real_class_on_the_full_test_set(shipped_net, tmp_path: Path) -> None:
    data = testset.open_local(FULL)
    settings = StrategySettings(max_images=300)
    result = class_strategies(shipped_net, data, "horse", settings, cache_dir=tmp_path)
    predictions_module.forget_in_memory()
    predicted = predict_test_set(shipped_net, data, cache_dir=tmp_path).predicted
    check_partition(result, data, predicted, limit=300)
    assert 2 <= len(result.clusters) <= 6
    rerun = class_strategies(
        shipped_net, data, "horse", settings, cache_dir=tmp_path, use_cache=False
    )
    assert members(rerun) == members(result)
    print(f"horse, 300 images: {[c.size for c in result.clusters]} in {result.seconds:.1f} s")
