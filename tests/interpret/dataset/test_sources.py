"""Where image sets come from (a configured folder or torchvision root, the Hub's pinned
parquet, the bundled examples), that their pixels are the ones an explanation sees, and that a
download is verified before it is used."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED, HubStandIn, use_hub
from PIL import Image
from synthetic_data import synthetic_cifar10

from interpret import CLASSES, model_image, settings
from interpret.dataset import sources as testset

FULL = SHARED / "cifar10"
HUB_REPO_KEY = f"datasets/{testset.HUB_DATASET}"  # how the stand-in names a dataset repo


def make_imagefolder(root: Path, per_class: int = 2, classes=CLASSES) -> Path:
    """A tiny ImageFolder tree of solid-color 32x32 PNGs, one color per image."""
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            color = (label * 20, i * 50, 100)
            Image.new("RGB", (32, 32), color).save(root / name / f"{i:04d}.png")
    return root


@pytest.fixture
def no_downloaded_copy(tmp_path: Path) -> dict[str, str]:
    """An environment with no configured set and an empty torchvision download folder."""
    return {"INTERPRET_CIFAR10_ROOT": str(tmp_path / "no-torchvision-copy")}


def test_bundled_examples_are_in_test_set_order_with_their_labels() -> None:
    examples = testset.bundled_examples()
    assert len(examples) == 20
    for index, (path, label) in enumerate(examples):
        assert path.name == f"cifar10_{index:02d}_{label}.png"


def test_configured_imagefolder_is_decoded_in_folder_order_with_the_pixels_of_each_file(
    tmp_path_factory: pytest.TempPathFactory, no_downloaded_copy: dict[str, str]
) -> None:
    root = synthetic_cifar10(tmp_path_factory)
    loaded = testset.load_test_set({**no_downloaded_copy, "INTERPRET_CIFAR10_DIR": str(root)})
    files = [
        (path, label)
        for label, name in enumerate(CLASSES)
        for path in sorted((root / "test" / name).iterdir())
    ]
    assert (len(loaded), loaded.reason, loaded.source) == (100, None, "ImageFolder of JPG")
    assert not loaded.full  # a partial copy is neither "the test set" nor "bundled"
    assert loaded.name == "100 CIFAR-10 test images (not the full set of 10,000)"
    assert loaded.labels.tolist() == [label for _, label in files]
    for index, (path, _) in enumerate(files):
        assert np.array_equal(loaded.images[index], np.asarray(model_image(path)))
    assert str(root) not in repr(loaded.describe())


@pytest.mark.parametrize("layout", ["root", "test-folder"])
def test_imagefolder_layouts(tmp_path: Path, layout: str) -> None:
    make_imagefolder(tmp_path / "test", per_class=3)
    loaded = testset.open_local(tmp_path if layout == "root" else tmp_path / "test")
    assert len(loaded) == 30 and loaded.labels[::3].tolist() == list(range(10))
    assert loaded.name == "30 CIFAR-10 test images (not the full set of 10,000)"


@pytest.mark.parametrize("given", ["root", "test-folder"])
def test_the_training_split_is_found_beside_the_test_split(tmp_path: Path, given: str) -> None:
    """INTERPRET_CIFAR10_DIR may name the root or its test/ folder: train/ is found either way."""
    make_imagefolder(tmp_path / "test", per_class=1)
    make_imagefolder(tmp_path / "train", per_class=2)
    loaded = testset.open_local(tmp_path if given == "root" else tmp_path / "test", split="train")
    assert (len(loaded), loaded.split) == (20, "train")
    assert loaded.name == "20 CIFAR-10 training images (not the full set of 50,000)"
    with pytest.raises(FileNotFoundError, match="no train/ folder"):
        testset.open_local(tmp_path / "test" / "cat", split="train")


def test_torchvision_layout_keeps_its_decoded_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torchvision's CIFAR10 keeps a split decoded (N x 32 x 32 x 3): used as is. Its MD5
    check needs the real 170 MB archive, so torchvision's class is stood in for here."""
    import torchvision.datasets

    data = np.random.default_rng(0).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    asked = []

    class CIFAR10:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            asked.append((root, train, download))
            self.data, self.targets = data, [i % 10 for i in range(12)]

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", CIFAR10)
    (tmp_path / testset.TORCHVISION_FOLDER).mkdir()
    loaded = testset.open_local(tmp_path, split="train")
    assert asked == [(str(tmp_path), True, False)]  # never a download from here
    assert (
        np.array_equal(loaded.images, data)
        and loaded.labels.tolist() == CIFAR10("", True, False).targets
    )
    assert (loaded.source, loaded.split) == ("torchvision's CIFAR-10 (MD5-checked)", "train")


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


def test_offline_download_says_so_at_once(no_downloaded_copy: dict[str, str]) -> None:
    """The session is offline (conftest): a download is not tried, and the reason says so."""
    loaded = testset.load_test_set({**no_downloaded_copy, "SPACE_ID": "owner/space"})
    assert len(loaded) == 20
    assert loaded.reason == "offline (HF_HUB_OFFLINE is set) and no cached copy of the test set"


def test_download_policy() -> None:
    assert not settings.read({}).download_allowed
    assert settings.read({"SPACE_ID": "a/b"}).download_allowed
    assert settings.read({"INTERPRET_CIFAR10_DOWNLOAD": "1"}).download_allowed
    assert not settings.read(
        {"SPACE_ID": "a/b", "INTERPRET_CIFAR10_DOWNLOAD": "0"}
    ).download_allowed


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
    hub_stand_in.repos[HUB_REPO_KEY] = {testset.HUB_FILENAME: data}
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
    with pytest.raises(testset.DatasetError, match="failed its checksum"):
        testset.fetch_hub_parquet(download=True)  # downloaded again, refused again
    assert sum("GET" in request for request in hub.requests) == 2


def test_malformed_parquet_is_reported_in_words(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(testset.DatasetError, match="malformed"):
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
    files = [path for name in CLASSES for path in sorted((FULL / "test" / name).iterdir())]
    for index in random.Random(0).sample(range(10_000), 200):
        assert np.array_equal(loaded.images[index], np.asarray(model_image(files[index])))


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
    hub_stand_in.repos[HUB_REPO_KEY] = {testset.HUB_FILENAME: data}
    hub_stand_in.commit = testset.HUB_REVISION
    use_hub(monkeypatch, hub_stand_in.endpoint, tmp_path / "hub-cache")
    monkeypatch.setattr(testset, "HUB_SHA256", hashlib.sha256(data).hexdigest())
    loaded = testset.load_hub(download=True)
    assert len(loaded) == 25
    warned = "does not start with the bundled test images" in caplog.text
    assert warned is not starts_with_examples
