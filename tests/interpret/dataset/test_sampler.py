"""Sampling an image set by index, and knowing sampled images' true labels by their pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest import example
from PIL import Image

from interpret.dataset.images import ImageSet
from interpret.dataset.sampler import SampleError, Sampler
from interpret.dataset.sources import bundled


def colored_set(tmp_path: Path, per_class: int = 2) -> ImageSet:
    """A small set of solid-color images, one color per image, class by class."""
    images = np.zeros((10 * per_class, 32, 32, 3), dtype=np.uint8)
    for index in range(len(images)):
        images[index] = (index // per_class * 20, index % per_class * 50, 100)
    labels = np.arange(10).repeat(per_class)
    return ImageSet(images, labels, "a colored set", "made here")


def test_sample_by_index_and_by_seed() -> None:
    sampler = Sampler()
    sample = sampler.sample(3)
    assert (sample.label_name, sample.index, sample.image.size) == ("airplane", 3, (32, 32))
    assert "bundled" in sample.source
    assert sampler.sample(seed=7).index == sampler.sample(seed=7).index
    assert {sampler.sample().index for _ in range(50)} <= set(range(20))
    assert sampler.sample(4.0).index == 4  # what a number box sends


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (20, "between 0 and 19, got 20"),
        (-1, "between 0 and 19, got -1"),
        (1.5, "whole number, got 1.5"),
        ("three", "whole number, got 'three'"),
        (True, "whole number, got True"),
        (float("nan"), "whole number, got nan"),
    ],
)
def test_bad_indices_are_refused(index, expected: str) -> None:
    with pytest.raises(SampleError, match=expected):
        Sampler().sample(index)


def test_true_label_is_known_by_pixels_not_by_file() -> None:
    sampler = Sampler()
    copy = io.BytesIO()
    Image.open(example(5)).save(copy, format="PNG", optimize=True)  # other bytes, same pixels
    assert sampler.truth(Image.open(copy)) == (6, "bundled example #5")
    lossy = io.BytesIO()
    Image.open(example(5)).save(lossy, format="JPEG", quality=70)
    assert sampler.truth(Image.open(lossy)) is None


def test_a_bundled_example_knows_its_index_by_pixels(tmp_path: Path) -> None:
    sampler = Sampler()
    copy = io.BytesIO()
    Image.open(example(5)).save(copy, format="PNG", optimize=True)
    assert sampler.bundled_index(Image.open(copy)) == 5
    sampler.use(colored_set(tmp_path))
    assert sampler.bundled_index(sampler.sample(5).image) is None  # not a bundled example


def test_sampled_images_are_remembered(tmp_path: Path) -> None:
    sampler = Sampler()
    sampler.use(colored_set(tmp_path))
    sample = sampler.sample(5)  # class 2, second image
    assert sample.label_name == "bird"
    assert sampler.truth(sample.image) == (2, f"{sample.source}, image #5")


def test_a_set_in_use_is_sampled_with_its_indices_and_pixels() -> None:
    examples = bundled()
    sampler = Sampler()
    sampler.use(examples)
    for index in (0, 3, 19):
        sample = sampler.sample(index)
        assert sample.label == examples.labels[index]
        assert np.array_equal(np.asarray(sample.image), examples.images[index])
    assert sampler.sample(3).source == examples.name
