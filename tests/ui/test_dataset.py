"""The app's test set: loaded in the background from start-up and handed to the sampler, so an
index means one image in /sample, /browse and the Test set tab."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED, HubStandIn, use_hub
from PIL import Image
from synthetic_data import synthetic_cifar10

from interpret.dataset import sources
from interpret.dataset.sampler import Sampler
from ui.dataset import TestSetSource

FULL = SHARED / "cifar10"


def space_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: HubStandIn) -> np.ndarray:
    """The loopback Hub serving, at the pinned revision, a parquet split shaped like
    uoft-cs/cifar10's: the 20 bundled test images, then 5 more; its SHA-256 made the pin."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    head = sources.bundled()
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
    hub.repos[f"datasets/{sources.HUB_DATASET}"] = {sources.HUB_FILENAME: data}
    hub.commit = sources.HUB_REVISION
    use_hub(monkeypatch, hub.endpoint, tmp_path / "hub-cache")
    monkeypatch.setattr(sources, "HUB_SHA256", hashlib.sha256(data).hexdigest())
    return images


def test_on_a_space_the_hub_split_is_loaded_in_the_background_with_the_same_indices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_stand_in: HubStandIn
) -> None:
    """A Space downloads the Hub's pinned parquet split (24 MB), not torchvision's 170 MB
    archive; the sampler then draws from the decoded set, index for index."""
    images = space_parquet(tmp_path, monkeypatch, hub_stand_in)
    env = {"SPACE_ID": "someone/space", "INTERPRET_CIFAR10_ROOT": str(tmp_path / "no-copy")}
    source = TestSetSource(Sampler(), env)
    assert not source.local  # a download: /sample answers from the examples meanwhile
    test_set = source.get()
    assert len(source.sampler.current) == 25 and test_set.reason is None
    assert test_set.source.startswith(f"Hub dataset {sources.HUB_DATASET}@")
    downloads = [r for r in hub_stand_in.requests if r.startswith("GET") and "resolve" in r]
    assert len(downloads) == 1 and downloads[0].endswith(sources.HUB_FILENAME), downloads
    for index in (0, 3, 19, 24):
        sample = source.sample(index)
        assert np.array_equal(np.asarray(sample.image), images[index])
        assert sample.label == test_set.labels[index]
    assert source.sample(3).label_name == "airplane"  # bundled example 3: the same index
    assert not (tmp_path / "no-copy").exists()  # torchvision's downloader was not used


def test_a_space_that_cannot_download_keeps_the_examples_and_says_why(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The session is offline (conftest): no download is tried, the log says why."""
    with caplog.at_level(logging.WARNING, logger="interpret"):
        source = TestSetSource(
            Sampler(), {"SPACE_ID": "x/y", "INTERPRET_CIFAR10_ROOT": str(tmp_path)}
        )
        test_set = source.get()
    assert source.sampler.current is source.sampler.bundled
    assert len(test_set) == 20 and "offline" in test_set.reason
    assert "Sampling from the 20 bundled CIFAR-10 test images: offline" in caplog.text
    assert source.sample(0).label_name == "cat"


@pytest.mark.parametrize("problem", ["missing", "wrong-classes", "corrupt-torchvision"])
def test_an_unusable_configured_set_falls_back_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, problem: str
) -> None:
    if problem == "wrong-classes":
        for name in ("cats", "dogs"):
            (tmp_path / "test" / name).mkdir(parents=True)
    elif problem == "corrupt-torchvision":  # fails torchvision's MD5 check before unpickling
        (tmp_path / "cifar-10-batches-py").mkdir()
        (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    location = tmp_path / "nowhere" if problem == "missing" else tmp_path
    environ = {"INTERPRET_CIFAR10_DIR": str(location), "INTERPRET_CIFAR10_ROOT": str(tmp_path)}
    with caplog.at_level(logging.WARNING, logger="interpret"):
        source = TestSetSource(Sampler(), environ)
        source.join()
    assert source.sampler.current is source.sampler.bundled
    assert f"INTERPRET_CIFAR10_DIR={location} is unusable" in caplog.text
    warnings = [r for r in caplog.records if r.getMessage().startswith("Sampling from")]
    assert [r.levelno for r in warnings] == [logging.WARNING], caplog.text


def test_nothing_configured_is_the_examples_logged_as_information(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`python app.py` with nothing configured logs no warning about the test set."""
    caplog.set_level(logging.INFO, logger="interpret")
    source = TestSetSource(Sampler(), {"INTERPRET_CIFAR10_ROOT": str(tmp_path)})
    source.join()
    assert source.sampler.current is source.sampler.bundled and not source.local
    lines = [r for r in caplog.records if r.getMessage().startswith("Sampling from")]
    assert lines and {r.levelno for r in lines} == {logging.INFO}, caplog.text


def test_a_configured_folder_is_sampled_by_its_own_indices_at_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """/sample right after start-up waits for a local copy (seconds) instead of refusing an
    index the 20 examples do not have."""
    root = synthetic_cifar10(tmp_path_factory)
    source = TestSetSource(Sampler(), {"INTERPRET_CIFAR10_DIR": str(root)})
    sample = source.sample(99)  # asked before the load finished: it waits
    assert source.ready and len(source.sampler.current) == 100
    assert sample.label == source.get().labels[99]
    assert np.array_equal(np.asarray(sample.image), source.get().images[99])


@pytest.mark.skipif(not (FULL / "test").is_dir(), reason="../shared/cifar10 not here")
def test_the_full_test_set() -> None:
    source = TestSetSource(Sampler(), {"INTERPRET_CIFAR10_DIR": str(FULL)})
    sample = source.sample(1234)
    assert len(source.sampler.current) == 10_000
    assert sample.label == source.get().labels[1234]
