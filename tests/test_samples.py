"""Sampling test images by index, knowing their true labels, and falling back to the examples."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, SHARED, HubStandIn, example, use_hub
from PIL import Image

from interpret import CLASSES, testset
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


def space_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: HubStandIn) -> np.ndarray:
    """The loopback Hub serving, at the pinned revision, a parquet split shaped like
    uoft-cs/cifar10's: the 20 bundled test images, then 5 more; its SHA-256 made the pin."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    head = testset.bundled()
    extra = np.random.default_rng(3).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    images = np.concatenate([head.images, extra])
    labels = [int(label) for label in head.labels] + [1, 2, 3, 4, 5]
    encoded = []
    for pixels in images:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        encoded.append({"bytes": buffer.getvalue(), "path": None})
    path = tmp_path / "split.parquet"
    pq.write_table(pa.table({"img": encoded, "label": pa.array(labels, type=pa.int64())}), path)
    data = path.read_bytes()
    hub.repos[f"datasets/{testset.HUB_DATASET}"] = {Path(testset.HUB_FILENAME).name: data}
    hub.commit = testset.HUB_REVISION
    use_hub(monkeypatch, hub.endpoint, tmp_path / "hub-cache")
    monkeypatch.setattr(testset, "HUB_SHA256", hashlib.sha256(data).hexdigest())
    return images


def test_on_a_space_the_hub_split_is_loaded_in_the_background_with_the_same_indices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_stand_in: HubStandIn
) -> None:
    """A Space downloads the Hub's pinned parquet split (24 MB), not torchvision's 170 MB
    archive; the sampler then draws from the decoded set, index for index."""
    images = space_parquet(tmp_path, monkeypatch, hub_stand_in)
    env = {"SPACE_ID": "someone/space", "INTERPRET_CIFAR10_ROOT": str(tmp_path / "no-copy")}
    sampler = default_sampler(env)
    assert sampler.download is not None
    sampler.download.join(timeout=60)
    assert len(sampler.current) == 25 and sampler.test_set.reason is None
    assert sampler.test_set.source.startswith(f"Hub dataset {testset.HUB_DATASET}@")
    downloads = [r for r in hub_stand_in.requests if r.startswith("GET") and "resolve" in r]
    assert len(downloads) == 1 and downloads[0].endswith(testset.HUB_FILENAME), downloads
    for index in (0, 3, 19, 24):
        sample = sampler.sample(index)
        assert np.array_equal(np.asarray(sample.image), images[index])
        assert sample.label == sampler.test_set.labels[index]
    assert sampler.sample(3).label_name == "airplane"  # bundled example 3: the same index
    assert not (tmp_path / "no-copy").exists()  # torchvision's downloader was not used


def test_a_space_that_cannot_download_keeps_the_examples_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The session is offline (conftest): no download is tried, the log says why."""
    with caplog.at_level(logging.WARNING, logger="interpret"):
        sampler = default_sampler({"SPACE_ID": "x/y", "INTERPRET_CIFAR10_ROOT": str(tmp_path)})
        sampler.download.join(timeout=30)
    assert isinstance(sampler.current, BundledSet)
    assert len(sampler.test_set) == 20 and "offline" in sampler.test_set.reason
    assert "Sampling from the 20 bundled CIFAR-10 test images: offline" in caplog.text
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
