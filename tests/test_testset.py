"""The test set in memory: where it comes from (configured folder, the Hub's pinned parquet,
the bundled examples), that its pixels are the ones an explanation sees, and that a download
is verified before it is used."""

from __future__ import annotations

import hashlib
import io
import logging
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, SHARED, HubStandIn, use_hub
from PIL import Image
from synthetic_data import synthetic_cifar10

from interpret import CLASSES, model_image, testset
from interpret import samples as samples_module
from interpret.samples import Sampler

FULL = SHARED / "cifar10"
HUB_REPO_KEY = f"datasets/{testset.HUB_DATASET}"  # how the stand-in names a dataset repo


@pytest.fixture
def no_downloaded_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment with no configured set and an empty torchvision download folder."""
    root = tmp_path / "no-torchvision-copy"
    monkeypatch.setattr(samples_module, "DEFAULT_CACHE_ROOT", root)
    return {"INTERPRET_CIFAR10_ROOT": str(root)}


def test_bundled_set_holds_the_examples_pixels_and_labels() -> None:
    bundled = testset.bundled()
    files = sorted(EXAMPLES.glob("cifar10_*.png"))
    assert (len(bundled), bundled.full, bundled.images.dtype) == (20, False, np.uint8)
    assert bundled.images.shape == (20, 32, 32, 3)
    for index, path in enumerate(files):
        assert path.name == f"cifar10_{index:02d}_{bundled.labels[index]}.png"
        assert np.array_equal(bundled.images[index], np.asarray(model_image(path)))
    assert bundled.name == "the 20 bundled CIFAR-10 test images"


def test_fingerprint_follows_every_pixel_and_label() -> None:
    bundled = testset.bundled()
    same = testset.TestSet(bundled.images.copy(), bundled.labels.copy(), "x", "y")
    assert same.fingerprint == bundled.fingerprint
    pixel = bundled.images.copy()
    pixel[7, 31, 31, 2] ^= 1
    label = bundled.labels.copy()
    label[0] = (label[0] + 1) % 10
    fingerprints = {
        testset.TestSet(pixel, bundled.labels, "x", "y").fingerprint,
        testset.TestSet(bundled.images, label, "x", "y").fingerprint,
        testset.TestSet(bundled.images[:19], bundled.labels[:19], "x", "y").fingerprint,
    }
    assert len(fingerprints) == 3 and bundled.fingerprint not in fingerprints
    with pytest.raises(ValueError, match="read-only"):
        bundled.images[0, 0, 0, 0] = 0


def test_configured_imagefolder_matches_the_samplers_order_and_pixels(
    tmp_path_factory: pytest.TempPathFactory, no_downloaded_copy: dict[str, str]
) -> None:
    root = synthetic_cifar10(tmp_path_factory)
    loaded = testset.load_test_set({**no_downloaded_copy, "INTERPRET_CIFAR10_DIR": str(root)})
    reference = samples_module.open_test_set(root)
    assert (len(loaded), loaded.reason, loaded.source) == (100, None, "ImageFolder of JPG")
    assert not loaded.full  # a partial copy is neither "the test set" nor "bundled"
    assert loaded.name == "100 CIFAR-10 test images (not the full set of 10,000)"
    assert loaded.labels.tolist() == reference.labels
    for index in range(len(loaded)):
        assert np.array_equal(loaded.images[index], np.asarray(reference.image(index)))
    assert str(root) not in repr(loaded.describe())


def test_test_set_drives_the_sampler_with_the_same_indices() -> None:
    bundled = testset.bundled()
    sampler = Sampler()
    sampler.use(bundled.as_sample_set())
    for index in (0, 3, 19):
        sample = sampler.sample(index)
        assert sample.label == bundled.labels[index]
        assert np.array_equal(np.asarray(sample.image), bundled.images[index])
    assert sampler.sample(3).source == bundled.name


def test_torchvision_layout_keeps_its_decoded_arrays() -> None:
    """torchvision's CIFAR10 keeps the split decoded (N x 32 x 32 x 3): used as is."""
    rng = np.random.default_rng(0)
    fake = samples_module.TorchvisionSet.__new__(samples_module.TorchvisionSet)
    fake.data = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    samples_module.SampleSet.__init__(fake, [i % 10 for i in range(12)], "torchvision")
    loaded = testset.from_sample_set(fake)
    assert np.array_equal(loaded.images, fake.data)
    assert loaded.labels.tolist() == fake.labels
    assert loaded.source == "torchvision's CIFAR-10 (MD5-checked)"


def test_unusable_configured_folder_falls_back_and_says_why_without_its_path(
    tmp_path: Path, no_downloaded_copy: dict[str, str]
) -> None:
    missing = tmp_path / "secret-server-dir"
    loaded = testset.load_test_set({**no_downloaded_copy, "INTERPRET_CIFAR10_DIR": str(missing)})
    assert len(loaded) == 20
    assert "INTERPRET_CIFAR10_DIR" in loaded.reason and "could not be read" in loaded.reason
    assert "secret-server-dir" not in loaded.reason
    assert not loaded.chosen  # a failure: the sampler's log line is a warning


def test_nothing_configured_and_no_download_uses_the_examples_and_says_how_to_get_more(
    no_downloaded_copy: dict[str, str],
) -> None:
    loaded = testset.load_test_set(no_downloaded_copy)
    assert len(loaded) == 20
    assert "INTERPRET_CIFAR10_DIR" in loaded.reason
    assert "INTERPRET_CIFAR10_DOWNLOAD=1" in loaded.reason
    assert loaded.chosen  # the configured state, not a failure: logged as information


def test_background_load_warns_only_when_a_source_failed(
    tmp_path: Path, no_downloaded_copy: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """`python app.py` with nothing configured logs no warning about the test set; a
    configured folder that cannot be read does."""
    caplog.set_level(logging.INFO, logger="interpret")
    for environ, expected in (
        (no_downloaded_copy, logging.INFO),
        ({**no_downloaded_copy, "INTERPRET_CIFAR10_DIR": str(tmp_path / "gone")}, logging.WARNING),
    ):
        caplog.clear()
        sampler = Sampler()
        samples_module.load_in_background(sampler, environ).join()
        lines = [r for r in caplog.records if r.getMessage().startswith("Sampling from")]
        assert [r.levelno for r in lines] == [expected], caplog.text


def test_offline_download_says_so_at_once(no_downloaded_copy: dict[str, str]) -> None:
    """The session is offline (conftest): a download is not tried, and the reason says so."""
    loaded = testset.load_test_set({**no_downloaded_copy, "SPACE_ID": "owner/space"})
    assert len(loaded) == 20
    assert loaded.reason == "offline (HF_HUB_OFFLINE is set) and no cached copy of the test set"


def test_download_policy() -> None:
    assert not testset.download_allowed({})
    assert testset.download_allowed({"SPACE_ID": "a/b"})
    assert testset.download_allowed({"INTERPRET_CIFAR10_DOWNLOAD": "1"})
    assert not testset.download_allowed({"SPACE_ID": "a/b", "INTERPRET_CIFAR10_DOWNLOAD": "0"})


# ------------------------------------------------------------------ the Hub's parquet split


def write_parquet(path: Path, images: np.ndarray, labels: list[int]) -> bytes:
    """A parquet file shaped like the Hub dataset's: img {bytes: PNG, path}, label."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    encoded = []
    for pixels in images:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        encoded.append({"bytes": buffer.getvalue(), "path": None})
    table = pa.table({"img": encoded, "label": pa.array(labels, type=pa.int64())})
    pq.write_table(table, path)
    return path.read_bytes()


@pytest.fixture
def hub_with_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_stand_in: HubStandIn
) -> tuple[HubStandIn, np.ndarray, list[int], str]:
    """A loopback Hub serving a 30-image parquet split at the pinned revision."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    labels = [int(i) % 10 for i in rng.permutation(30)]
    data = write_parquet(tmp_path / "split.parquet", images, labels)
    hub_stand_in.repos[HUB_REPO_KEY] = {Path(testset.HUB_FILENAME).name: data}
    hub_stand_in.commit = testset.HUB_REVISION
    use_hub(monkeypatch, hub_stand_in.endpoint, tmp_path / "hub-cache")
    return hub_stand_in, images, labels, hashlib.sha256(data).hexdigest()


def test_hub_split_is_downloaded_at_the_pinned_revision_verified_and_decoded(
    hub_with_split, monkeypatch: pytest.MonkeyPatch, no_downloaded_copy: dict[str, str]
) -> None:
    hub, images, labels, digest = hub_with_split
    monkeypatch.setattr(testset, "HUB_SHA256", digest)
    loaded = testset.load_test_set(no_downloaded_copy, download=True)
    assert loaded.reason is None
    assert np.array_equal(loaded.images, images) and loaded.labels.tolist() == labels
    assert loaded.source.startswith(f"Hub dataset {testset.HUB_DATASET}@0b27149")
    wanted = f"/{HUB_REPO_KEY}/resolve/{testset.HUB_REVISION}/{testset.HUB_FILENAME}"
    assert any(request.endswith(wanted) for request in hub.requests), hub.requests
    # Later starts read the verified copy from huggingface_hub's cache, even offline.
    from huggingface_hub import constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    again = testset.load_test_set(no_downloaded_copy, download=False)
    assert again.fingerprint == loaded.fingerprint


def test_hub_split_with_another_checksum_is_refused_and_discarded(
    hub_with_split, no_downloaded_copy: dict[str, str], tmp_path: Path
) -> None:
    hub, _, _, digest = hub_with_split
    assert digest != testset.HUB_SHA256  # the real pin, which this file cannot match
    loaded = testset.load_test_set(no_downloaded_copy, download=True)
    assert len(loaded) == 20
    assert "failed its checksum" in loaded.reason and "refused" in loaded.reason
    assert digest[:16] in loaded.reason
    cached = [p for p in (tmp_path / "hub-cache").rglob("*") if p.is_file() and p.stat().st_size]
    assert not [p for p in cached if p.read_bytes()[:4] == b"PAR1"], "a refused file stayed"
    with pytest.raises(testset.TestSetError, match="failed its checksum"):
        testset.fetch_hub_parquet(download=True)  # downloaded again, refused again
    assert sum("GET" in request for request in hub.requests) == 2


def test_malformed_parquet_is_reported_in_words(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(testset.TestSetError, match="malformed"):
        testset.read_parquet(path)


# ------------------------------------------------------------------ the real test set


@pytest.mark.skipif(not FULL.is_dir(), reason=f"full CIFAR-10 copy not found at {FULL}")
def test_full_test_set_from_the_shared_copy(no_downloaded_copy: dict[str, str]) -> None:
    loaded = testset.load_test_set({**no_downloaded_copy, "INTERPRET_CIFAR10_DIR": str(FULL)})
    assert (len(loaded), loaded.full, loaded.name) == (
        10_000,
        True,
        "the CIFAR-10 test set (10,000 images)",
    )
    assert np.bincount(loaded.labels).tolist() == [1000] * len(CLASSES)
    reference = samples_module.open_test_set(FULL)
    for index in random.Random(0).sample(range(10_000), 200):
        assert np.array_equal(loaded.images[index], np.asarray(model_image(reference.paths[index])))


@pytest.mark.parametrize("starts_with_examples", [True, False])
def test_hub_split_order_is_checked_against_the_bundled_images(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hub_stand_in: HubStandIn,
    caplog: pytest.LogCaptureFixture,
    starts_with_examples: bool,
) -> None:
    """Indices mean CIFAR-10's test order only if the split starts with test images 0-19."""
    examples = testset.bundled()
    head = examples.images if starts_with_examples else examples.images[::-1]
    extra = np.random.default_rng(2).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    images = np.concatenate([head, extra])
    labels = [int(label) for label in examples.labels] + [0] * 5
    data = write_parquet(tmp_path / "split.parquet", images, labels)
    hub_stand_in.repos[HUB_REPO_KEY] = {Path(testset.HUB_FILENAME).name: data}
    hub_stand_in.commit = testset.HUB_REVISION
    use_hub(monkeypatch, hub_stand_in.endpoint, tmp_path / "hub-cache")
    monkeypatch.setattr(testset, "HUB_SHA256", hashlib.sha256(data).hexdigest())
    loaded = testset.load_hub(download=True)
    assert len(loaded) == 25
    warned = "does not start with the bundled test images" in caplog.text
    assert warned is not starts_with_examples
