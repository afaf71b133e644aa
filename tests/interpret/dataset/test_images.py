"""The one model of a dataset split: pixels and labels in memory, read-only, named by content."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLES

from interpret import model_image
from interpret.dataset import sources
from interpret.dataset.images import ImageSet, image_fingerprint, set_name


def test_bundled_set_holds_the_examples_pixels_and_labels() -> None:
    bundled = sources.bundled()
    files = sorted(EXAMPLES.glob("cifar10_*.png"))
    assert (len(bundled), bundled.full, bundled.images.dtype) == (20, False, np.uint8)
    assert bundled.images.shape == (20, 32, 32, 3)
    for index, path in enumerate(files):
        assert path.name == f"cifar10_{index:02d}_{bundled.labels[index]}.png"
        assert np.array_equal(bundled.images[index], np.asarray(model_image(path)))
    assert bundled.name == "the 20 bundled CIFAR-10 test images"


def test_fingerprint_follows_every_pixel_and_label() -> None:
    bundled = sources.bundled()
    same = ImageSet(bundled.images.copy(), bundled.labels.copy(), "x", "y")
    assert same.fingerprint == bundled.fingerprint
    pixel = bundled.images.copy()
    pixel[7, 31, 31, 2] ^= 1
    label = bundled.labels.copy()
    label[0] = (label[0] + 1) % 10
    fingerprints = {
        ImageSet(pixel, bundled.labels, "x", "y").fingerprint,
        ImageSet(bundled.images, label, "x", "y").fingerprint,
        ImageSet(bundled.images[:19], bundled.labels[:19], "x", "y").fingerprint,
    }
    assert len(fingerprints) == 3 and bundled.fingerprint not in fingerprints
    with pytest.raises(ValueError, match="read-only"):
        bundled.images[0, 0, 0, 0] = 0


def test_a_set_knows_its_split_and_refuses_unknown_ones() -> None:
    examples = sources.bundled()
    train = ImageSet(examples.images, examples.labels, "x", "y", split="train")
    assert (train.split, examples.split) == ("train", "test")
    assert train.fingerprint == examples.fingerprint  # content, not the split's name, keys caches
    with pytest.raises(ValueError, match="split must be one of"):
        ImageSet(examples.images, examples.labels, "x", "y", split="validation")


@pytest.mark.parametrize(
    ("count", "full", "is_bundled", "split", "expected"),
    [
        (10_000, True, False, "test", "the CIFAR-10 test set (10,000 images)"),
        (50_000, True, False, "train", "the CIFAR-10 training set (50,000 images)"),
        (20, False, True, "test", "the 20 bundled CIFAR-10 test images"),
        (300, False, False, "train", "300 CIFAR-10 training images (not the full set of 50,000)"),
    ],
)
def test_set_names(count: int, full: bool, is_bundled: bool, split: str, expected: str) -> None:
    assert set_name(count, full, is_bundled, split) == expected


def test_an_image_is_recognized_by_the_pixels_the_model_sees() -> None:
    examples = sources.bundled()
    assert image_fingerprint(examples.image(3)) == image_fingerprint(
        model_image(EXAMPLES / "cifar10_03_0.png")
    )
    assert image_fingerprint(examples.image(3)) != image_fingerprint(examples.image(4))
