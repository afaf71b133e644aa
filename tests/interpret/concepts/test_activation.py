"""What each learned feature responds to: the top images are the true top-k of the channel's
pool2 activation over the set, read here by a forward hook on the model's pool2 module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interpret.concepts.activation import TopImages, channel_maxima, rank_top, top_images
from interpret.core.model import Net
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import normalized_batch
from interpret.dataset.sources import bundled


def pool2_by_hook(net: Net, images: np.ndarray) -> torch.Tensor:
    """pool2's output for `images`, as a hook on the module sees it during `net(x)`."""
    seen: list[torch.Tensor] = []
    handle = net.pool2.register_forward_hook(lambda module, args, out: seen.append(out))
    try:
        with torch.no_grad():
            net(normalized_batch(images, torch.device("cpu")))
    finally:
        handle.remove()
    return seen[0]


def expected_top(activations: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values) per channel: largest first, ties by index (a stable sort on -value)."""
    values = activations.flatten(2).max(dim=2).values.numpy()
    order = np.argsort(-values, axis=0, kind="stable")[:k].T
    return order, np.take_along_axis(values.T, order, axis=1)


def assert_true_top(net: Net, images: ImageSet, top: TopImages, k: int) -> None:
    activations = pool2_by_hook(net, images.images)
    indices, values = expected_top(activations, k)
    np.testing.assert_array_equal(top.indices, indices)
    np.testing.assert_allclose(top.activations, values, rtol=1e-6, atol=1e-7)
    for channel in range(top.indices.shape[0]):
        for rank, index in enumerate(top.indices[channel]):
            row, column = top.positions[channel, rank]
            unit = activations[index, channel, row, column]
            assert float(unit) == float(activations[index, channel].max())  # the maximum unit
            rows, columns = top.window(channel, rank)
            assert rows == slice(4 * row, 4 * row + 16) and columns.stop <= 32


@pytest.fixture(scope="module")
def examples() -> ImageSet:
    return bundled()


def test_the_top_images_are_the_true_top_k_of_pool2(
    shipped_net: Net, examples: ImageSet, tmp_path
) -> None:
    top = top_images(shipped_net, examples, k=8, cache_dir=tmp_path)
    assert top.indices.shape == (16, 8) and top.dataset == examples.fingerprint
    assert_true_top(shipped_net, examples, top, 8)
    cached = top_images(shipped_net, examples, k=8, cache_dir=tmp_path)  # from the disk cache
    assert list(tmp_path.rglob("*.npz")) and np.array_equal(cached.indices, top.indices)


def test_on_the_full_test_set(shipped_net: Net, full_test_set: ImageSet, tmp_path) -> None:
    top = top_images(shipped_net, full_test_set, cache_dir=tmp_path)
    assert_true_top(shipped_net, full_test_set, top, 8)


def test_ties_break_by_index() -> None:
    values = np.array([[0.0, 1.0], [2.0, 1.0], [0.0, 1.0], [2.0, 0.5]], dtype=np.float32)
    top = rank_top(values, np.zeros_like(values, dtype=np.int64), 3, "set")
    assert top.indices.tolist() == [[1, 3, 0], [0, 1, 2]]


def test_a_top_k_over_the_wrong_layer_fails(shipped_net: Net, examples: ImageSet) -> None:
    """fc1's first 16 units in place of pool2's channels: the check sees it."""
    with torch.no_grad():
        hidden = shipped_net.fc1(
            shipped_net.features(normalized_batch(examples.images, "cpu")).flatten(1)
        )
    wrong = hidden[:, :16].numpy()
    planted = rank_top(wrong, np.zeros_like(wrong, dtype=np.int64), 8, examples.fingerprint)
    honest = rank_top(*channel_maxima(shipped_net, examples.images), 8, examples.fingerprint)
    assert_true_top(shipped_net, examples, honest, 8)
    with pytest.raises(AssertionError):
        assert_true_top(shipped_net, examples, planted, 8)
