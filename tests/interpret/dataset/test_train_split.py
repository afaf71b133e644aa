"""The training split: how train/ is found from INTERPRET_CIFAR10_DIR (the root or its test/),
the decoded pixels read from the disk cache on a second start and decoded again when a file
changes, and the Hub's train split against a loopback Hub: downloaded at the pinned commit,
checked against the LFS SHA-256 the Hub reports, refused when it differs, and read from the
cache offline afterwards."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
from conftest import HubStandIn, _HubStandInHandler, serving, use_hub
from synthetic_data import synthetic_cifar10
from test_sources import write_parquet

from interpret.dataset import train_split
from interpret.dataset.sources import HUB_DATASET, HUB_REVISION, DatasetError, read_folder

REPO_KEY = f"datasets/{HUB_DATASET}"


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        "INTERPRET_CACHE_DIR": str(tmp_path / "cache"),
        "INTERPRET_CIFAR10_ROOT": str(tmp_path / "no-torchvision-copy"),
        **settings,
    }


@pytest.fixture(scope="module")
def cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_cifar10(tmp_path_factory)


@pytest.mark.parametrize("where", ["root", "test"])
def test_train_is_found_in_the_root_or_beside_test(cifar: Path, tmp_path: Path, where) -> None:
    location = cifar if where == "root" else cifar / "test"
    progress: list[str] = []
    loaded = train_split.load_training_set(
        environment(tmp_path, INTERPRET_CIFAR10_DIR=str(location)),
        progress=lambda done, total, what: progress.append(what),
    )
    expected = read_folder(cifar / "train", split="train")
    assert loaded.split == "train" and np.array_equal(loaded.images, expected.images)
    assert loaded.fingerprint == expected.fingerprint and loaded.source == "ImageFolder of PNG"
    assert "training" in loaded.name and progress[-1] == "decoding images"
    again: list[str] = []
    cached = train_split.load_training_set(
        environment(tmp_path, INTERPRET_CIFAR10_DIR=str(location)),
        progress=lambda done, total, what: again.append(what),
    )
    assert again == ["decoded images from the cache"]
    assert cached.fingerprint == loaded.fingerprint


def test_a_changed_file_is_decoded_again(cifar: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    for path in (cifar / "train").rglob("*.png"):
        target = copy / "train" / path.relative_to(cifar / "train")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    settings = environment(tmp_path, INTERPRET_CIFAR10_DIR=str(copy))
    before = train_split.load_training_set(settings)
    first = sorted((copy / "train" / "cat").iterdir())[0]
    first.write_bytes((copy / "train" / "dog" / first.name).read_bytes())
    os.utime(first, ns=(1, 1))
    after = train_split.load_training_set(settings)
    assert after.fingerprint != before.fingerprint


def test_a_copy_without_train_says_how_to_get_it(tmp_path: Path) -> None:
    (tmp_path / "only-test" / "test").mkdir(parents=True)
    settings = environment(tmp_path, INTERPRET_CIFAR10_DIR=str(tmp_path / "only-test"))
    with pytest.raises(train_split.TrainingSetMissing) as raised:
        train_split.load_training_set(settings)
    message = str(raised.value)
    assert "INTERPRET_CIFAR10_DIR" in message and "train/" in message
    assert str(tmp_path) not in message


# ------------------------------------------------------------------ the Hub's train split


class _PathsInfoHandler(_HubStandInHandler):
    """The stand-in plus the Hub's paths-info call, reporting each file's LFS SHA-256."""

    def do_POST(self) -> None:
        server: HubWithPathsInfo = self.server  # type: ignore[assignment]
        server.requests.append(f"POST {self.path}")
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        asked = parse_qs(body).get("paths", [])
        for repo, files in server.repos.items():
            if self.path.split("?")[0] == f"/api/{repo}/paths-info/{server.commit}":
                answer = [
                    {
                        "type": "file",
                        "path": path,
                        "size": len(files[path]),
                        "oid": "0" * 40,
                        "lfs": {
                            "oid": server.lfs_sha256.get(path)
                            or hashlib.sha256(files[path]).hexdigest(),
                            "size": len(files[path]),
                            "pointerSize": 134,
                        },
                    }
                    for path in asked
                    if path in files
                ]
                return self._reply(
                    200, json.dumps(answer).encode(), Content_Type="application/json"
                )
        return self._missing("RepoNotFound")


class HubWithPathsInfo(HubStandIn):
    def __init__(self) -> None:
        super().__init__()
        self.RequestHandlerClass = _PathsInfoHandler
        self.lfs_sha256: dict[str, str] = {}


@pytest.fixture
def hub_with_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    labels = [int(i) % 10 for i in rng.permutation(40)]
    data = write_parquet(tmp_path / "train.parquet", images, labels)
    for hub in serving(HubWithPathsInfo()):
        hub.repos[REPO_KEY] = {train_split.HUB_TRAIN_FILENAME: data}
        hub.commit = HUB_REVISION
        use_hub(monkeypatch, hub.endpoint, tmp_path / "hub-cache")
        yield hub, images, labels


def test_the_hub_train_split_is_verified_against_the_lfs_sha256(
    hub_with_train, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, images, labels = hub_with_train
    settings = environment(tmp_path)
    loaded = train_split.load_training_set(settings, download=True)
    assert np.array_equal(loaded.images, images) and loaded.labels.tolist() == labels
    assert loaded.source.startswith(f"Hub dataset {HUB_DATASET}@0b27149 (train split")
    assert any("paths-info" in request for request in hub.requests)
    assert any(train_split.HUB_TRAIN_FILENAME in request for request in hub.requests)
    assert "lossless" in train_split.index_note(loaded)
    # Offline afterwards: the decoded pixels come from the cache, keyed by the verified hash.
    from huggingface_hub import constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    asked = len(hub.requests)
    again = train_split.load_training_set(settings, download=False)
    assert again.fingerprint == loaded.fingerprint and len(hub.requests) == asked


def test_a_hub_file_that_differs_from_its_lfs_sha256_is_refused(hub_with_train, tmp_path) -> None:
    hub, _, _ = hub_with_train
    hub.lfs_sha256[train_split.HUB_TRAIN_FILENAME] = "ab" * 32
    with pytest.raises(DatasetError, match="failed its checksum") as raised:
        train_split.load_training_set(environment(tmp_path), download=True)
    assert "abababab" in str(raised.value) and "refused" in str(raised.value)
    cached = [p for p in (tmp_path / "hub-cache").rglob("*") if p.is_file()]
    assert not [p for p in cached if p.read_bytes()[:4] == b"PAR1"], "a refused file stayed"


def test_the_hub_is_not_asked_unless_allowed(hub_with_train, tmp_path: Path) -> None:
    hub, _, _ = hub_with_train
    with pytest.raises(train_split.TrainingSetMissing, match="INTERPRET_CIFAR10_DOWNLOAD=1"):
        train_split.load_training_set(environment(tmp_path), download=False)
    assert not hub.requests


def test_an_unverified_cached_copy_is_not_read_offline(
    hub_with_train, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants as hub_constants

    train_split.load_training_set(environment(tmp_path), download=True)
    for record in (tmp_path / "cache" / "training-set").iterdir():
        record.unlink()  # the verified hash and the decoded pixels are gone, the parquet stays
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(train_split.TrainingSetMissing, match="never checked"):
        train_split.load_training_set(environment(tmp_path), download=True)
