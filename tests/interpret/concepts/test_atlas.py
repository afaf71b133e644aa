"""The class x feature atlas: each cell is the mean, over the class's correctly classified
images, of the channel's contribution (the sum of its share of the IG map for the true class);
cached on disk per weights and set."""

from __future__ import annotations

import numpy as np
import torch
from conftest import example
from contract import inputs_of

from interpret.concepts import channel_shares, feature_atlas
from interpret.core.model import CLASSES, Net
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import normalized_batch, predict_test_set
from interpret.dataset.sources import bundled


def test_the_atlas_averages_each_correct_images_shares(shipped_net: Net, tmp_path) -> None:
    examples = bundled()
    atlas = feature_atlas(shipped_net, examples, cache_dir=tmp_path)
    predicted = predict_test_set(shipped_net, examples, cache_dir=tmp_path).predicted
    correct = np.flatnonzero(predicted == examples.labels)
    assert sorted(atlas.indices.tolist()) == correct.tolist()
    per_image = {}
    for index in correct:
        inputs = normalized_batch(examples.images[index : index + 1], torch.device("cpu"))
        label = int(examples.labels[index])
        shares = channel_shares(shipped_net, inputs, inputs * 0, label, 50)
        per_image[int(index)] = (
            label,
            shares.contributions.double().numpy(),
            shares.maps.abs().sum(),
        )
    for row, index in enumerate(atlas.indices):
        label, expected, scale = per_image[int(index)]
        assert atlas.labels[row] == label
        assert np.abs(atlas.contributions[row] - expected).max() <= 1e-5 * float(scale)
    matrix = atlas.matrix
    for label in range(len(CLASSES)):
        rows = [per_image[i][1] for i in per_image if per_image[i][0] == label]
        if rows:
            np.testing.assert_allclose(matrix[label], np.mean(rows, axis=0), rtol=1e-4, atol=1e-5)
        else:
            assert np.isnan(matrix[label]).all()
    described = atlas.to_dict()
    assert described["channels"] == 16 and len(described["matrix"]) == 10
    assert sum(described["images"]) == len(correct)
    # A cell's strongest images: that class's, by contribution, ties by index.
    label = int(atlas.labels[0])
    listed = atlas.strongest(label, 3, k=3)
    values = sorted((-per_image[i][1][3], i) for i in per_image if per_image[i][0] == label)
    assert [i for i, _ in listed] == [i for _, i in values[:3]]


def test_the_atlas_comes_back_from_the_disk_cache(shipped_net: Net, tmp_path) -> None:
    examples = bundled()
    first = feature_atlas(shipped_net, examples, cache_dir=tmp_path)
    assert list((tmp_path / "features").glob("*-atlas.npz"))
    again = feature_atlas(shipped_net, examples, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.contributions, again.contributions)
    other = ImageSet(examples.images[:10], examples.labels[:10], "ten", "test")
    smaller = feature_atlas(shipped_net, other, cache_dir=tmp_path)  # another set, its own file
    assert len(list((tmp_path / "features").glob("*-atlas.npz"))) == 2
    assert set(smaller.indices.tolist()) <= set(range(10))
    assert smaller.dataset == other.fingerprint != first.dataset


def test_inputs_match_the_explained_pixels() -> None:
    """The atlas reads images as `explain` does (the same normalized tensor)."""
    examples = bundled()
    np.testing.assert_array_equal(
        normalized_batch(examples.images[3:4], torch.device("cpu")).numpy(),
        inputs_of(example(3)).numpy(),
    )
