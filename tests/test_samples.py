"""Sampling test images by index, knowing their true labels, and falling back to the examples."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, SHARED, example
from PIL import Image

from interpret import CLASSES
from interpret import samples as samples_module
from interpret.samples import (
    BundledSet,
    ImageFolderSet,
    SampleError,
    Sampler,
    bundled_examples,
    default_sampler,
    open_test_set,
)

FULL_TEST_SET = SHARED / "cifar10"


def make_imagefolder(root: Path, per_class: int = 2, classes=CLASSES) -> Path:
    """A tiny ImageFolder tree of solid-color 32x32 PNGs, one color per image."""
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            color = (label * 20, i * 50, 100)
            Image.new("RGB", (32, 32), color).save(root / name / f"{i:04d}.png")
    return root


def test_bundled_examples_are_in_test_set_order_with_their_labels() -> None:
    examples = bundled_examples()
    assert len(examples) == 20
    for index, (path, label) in enumerate(examples):
        assert path.name == f"cifar10_{index:02d}_{label}.png"


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
    sampler.use(ImageFolderSet(make_imagefolder(tmp_path / "test")))
    assert sampler.bundled_index(sampler.sample(5).image) is None  # not a bundled example


def test_sampled_images_are_remembered(tmp_path: Path) -> None:
    sampler = Sampler()
    sampler.use(ImageFolderSet(make_imagefolder(tmp_path / "test")))
    sample = sampler.sample(5)  # class 2, second image
    assert sample.label_name == "bird"
    assert sampler.truth(sample.image) == (2, f"{sample.source}, image #5")


@pytest.mark.parametrize("layout", ["root", "test-folder"])
def test_imagefolder_layouts(tmp_path: Path, layout: str) -> None:
    make_imagefolder(tmp_path / "test", per_class=3)
    sample_set = open_test_set(tmp_path if layout == "root" else tmp_path / "test")
    assert len(sample_set) == 30 and sample_set.labels[::3] == list(range(10))
    assert "CIFAR-10 test set (30 images)" in sample_set.name


def test_configured_set_is_used(tmp_path: Path) -> None:
    make_imagefolder(tmp_path / "test")
    sampler = default_sampler({"INTERPRET_CIFAR10_DIR": str(tmp_path)})
    assert len(sampler.current) == 20 and isinstance(sampler.current, ImageFolderSet)


@pytest.mark.parametrize("problem", ["missing", "wrong-classes", "corrupt-torchvision"])
def test_an_unusable_configured_set_falls_back_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, problem: str
) -> None:
    if problem == "wrong-classes":
        make_imagefolder(tmp_path / "test", classes=("cats", "dogs"))
    elif problem == "corrupt-torchvision":  # fails torchvision's MD5 check before unpickling
        (tmp_path / "cifar-10-batches-py").mkdir()
        (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    location = tmp_path / "nowhere" if problem == "missing" else tmp_path
    with caplog.at_level(logging.WARNING, logger="interpret"):
        sampler = default_sampler({"INTERPRET_CIFAR10_DIR": str(location)})
    assert isinstance(sampler.current, BundledSet)
    assert f"INTERPRET_CIFAR10_DIR={location} is unusable" in caplog.text


def test_on_a_space_the_download_runs_once_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roots = []

    def fake_download(root: Path) -> ImageFolderSet:
        roots.append(root)
        return ImageFolderSet(make_imagefolder(root / "test"))

    monkeypatch.setattr(samples_module, "download_test_set", fake_download)
    env = {"SPACE_ID": "someone/space", "INTERPRET_CIFAR10_ROOT": str(tmp_path / "cache")}
    sampler = default_sampler(env)
    assert sampler.download is not None
    sampler.download.join(timeout=30)
    assert roots == [tmp_path / "cache"]
    assert isinstance(sampler.current, ImageFolderSet) and len(sampler.current) == 20


def test_a_failed_download_keeps_the_examples(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    def no_network(root: Path):
        raise OSError("Name or service not known")

    monkeypatch.setattr(samples_module, "download_test_set", no_network)
    with caplog.at_level(logging.WARNING, logger="interpret"):
        sampler = default_sampler({"SPACE_ID": "x/y", "INTERPRET_CIFAR10_ROOT": str(tmp_path)})
        sampler.download.join(timeout=30)
    assert isinstance(sampler.current, BundledSet)
    assert "CIFAR-10 download into" in caplog.text and "Name or service not known" in caplog.text
    assert sampler.sample(0).label_name == "cat"


def test_no_configuration_means_the_examples() -> None:
    sampler = default_sampler({})
    assert isinstance(sampler.current, BundledSet) and sampler.download is None
    assert Path(sampler.current.location) == EXAMPLES


@pytest.mark.skipif(not (FULL_TEST_SET / "test").is_dir(), reason="../shared/cifar10 not here")
def test_the_full_test_set() -> None:
    sampler = default_sampler({"INTERPRET_CIFAR10_DIR": str(FULL_TEST_SET)})
    assert len(sampler.current) == 10_000
    sample = sampler.sample(1234)
    assert sample.label == sampler.current.labels[1234]
    assert sample.source == "the CIFAR-10 test set (10,000 images)"
    assert np.asarray(sample.image).shape == (32, 32, 3)
