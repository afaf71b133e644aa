"""The CIFAR-10 training split, for the training-data view: where it comes from, and its
decoded pixels cached on disk so that a second start does not decode 50,000 images again.

Sources, in order (`load_training_set`):

1. ``$INTERPRET_CIFAR10_DIR``: the ``train/`` folder in the folder it names, or beside it
   when it names ``test/`` itself (`interpret.dataset.sources.split_folder`), or the
   training batches of a torchvision root;
2. torchvision's CIFAR-10 already downloaded under ``$INTERPRET_CIFAR10_ROOT``;
3. the Hub dataset's train split (`HUB_TRAIN_FILENAME`, about 120 MB) at the pinned commit,
   from huggingface_hub's cache, else downloaded when allowed (on a Space, or with
   ``INTERPRET_CIFAR10_DOWNLOAD=1``). Its SHA-256 is checked against the Git LFS SHA-256 the
   Hub reports for that file at that commit (``HfApi.get_paths_info``), and the verified
   value is kept beside the cache, so a later offline start can check its copy too.

Otherwise `TrainingSetMissing` says what is missing and how to get it. Local copies are JPEG
recompressions in class-then-file order, the Hub's split lossless PNGs in CIFAR-10 order:
the same index names different images in each, which is why every result carries the set's
fingerprint and `index_note`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from interpret import settings
from interpret.core.disk_cache import load_arrays, save_arrays
from interpret.core.weights import hub_reachable, sha256_of
from interpret.dataset.images import FULL_SIZE, ImageSet, Progress, set_name
from interpret.dataset.sources import (
    HUB_DATASET,
    HUB_REVISION,
    TORCHVISION_FOLDER,
    DatasetError,
    decode_images,
    folder_files,
    read_parquet,
    read_torchvision,
    split_folder,
)

log = logging.getLogger("interpret")

HUB_TRAIN_FILENAME = "plain_text/train-00000-of-00001.parquet"
HUB_TRAIN_SIZE = "about 120 MB"
PIXEL_CACHE_VERSION = 1
HOW_TO_GET_IT = (
    "set INTERPRET_CIFAR10_DIR to a CIFAR-10 copy with a train/ folder (or its test/ folder "
    f"with train/ beside it), or INTERPRET_CIFAR10_DOWNLOAD=1 to fetch {HUB_DATASET}'s train "
    f"split from the Hub ({HUB_TRAIN_SIZE})"
)


class TrainingSetMissing(DatasetError):
    """No training split can be had; the message (safe to show) says how to get one."""


def cache_folder(cache_dir: Path | None = None) -> Path:
    return (settings.read().cache_dir if cache_dir is None else Path(cache_dir)) / "training-set"


def index_note(training_set: ImageSet) -> str:
    """The sentence a result shows: which set its indices refer to, and why another machine's
    may differ."""
    return (
        f"Indices refer to {training_set.name} from {training_set.source} (fingerprint "
        f"{training_set.fingerprint[:12]}). A local CIFAR-10 copy holds JPEG recompressions in "
        "class-then-file order and the Hub's split (used on a Space) lossless images in "
        "CIFAR-10 order, so the same index names another image there, and scores differ a little."
    )


# ----------------------------------------------------------------- decoded pixels on disk


def _cached_pixels(path: Path, meta: dict, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    stored = load_arrays(path, meta)
    if stored is None:
        return None
    images, labels = stored.get("images"), stored.get("labels")
    if images is None or labels is None or images.dtype != np.uint8 or len(images) != count:
        return None
    return images, labels


def decoded_once(
    key: str,
    sources: list[str] | list[bytes],
    labels: list[int] | np.ndarray,
    progress: Progress | None,
    cache_dir: Path | None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(pixels, labels, from_cache) of `sources`, decoded once per `key` and then read from
    the disk cache (a checked .npz): decoding 50,000 images takes seconds, reading them not."""
    path = cache_folder(cache_dir) / f"pixels-{key[:24]}.npz"
    meta = {"kind": "training-pixels", "version": PIXEL_CACHE_VERSION, "key": key}
    found = _cached_pixels(path, meta, len(sources))
    if found is not None:
        if progress is not None:
            progress(len(sources), len(sources), "decoded images from the cache")
        return found[0], found[1], True
    images = decode_images(sources, progress)
    labels = np.asarray(labels, dtype=np.int64)
    save_arrays(path, {"images": images, "labels": labels}, meta)
    return images, labels, False


def listing_key(paths: list[str], root: Path) -> str:
    """Names a folder's files by their relative paths, sizes and modification times: a
    changed, added or removed file gives another key (and a fresh decode)."""
    digest = hashlib.sha256(b"interpret-training-folder-v1")
    skip = len(str(root)) + 1  # folder_files' paths all start with root and a separator
    lines = []
    for path in paths:
        status = os.stat(path)
        lines.append(f"{path[skip:]}|{status.st_size}|{status.st_mtime_ns}")
    digest.update("\n".join(lines).encode())
    return digest.hexdigest()


def read_train_folder(
    directory: str | os.PathLike, progress: Progress | None = None, cache_dir: Path | None = None
) -> ImageSet:
    """A ``train/<class>/<image>`` tree, class then file order, decoded once per listing."""
    directory = Path(directory)
    paths, labels = folder_files(directory)
    key = listing_key(paths, directory)
    images, labels_array, _ = decoded_once(key, paths, labels, progress, cache_dir)
    kinds = sorted({Path(path).suffix.lower().lstrip(".").upper() for path in paths})
    full = len(paths) == FULL_SIZE["train"]
    name = set_name(len(paths), full, split="train")
    return ImageSet(images, labels_array, name, f"ImageFolder of {'/'.join(kinds)}", "train", full)


def open_local_train(
    location: str | os.PathLike, progress: Progress | None = None, cache_dir: Path | None = None
) -> ImageSet:
    """The training split of a local copy (module doc, 1.)."""
    root = Path(location).expanduser()
    if (root / TORCHVISION_FOLDER).is_dir():
        return read_torchvision(root, "train")
    if root.name == TORCHVISION_FOLDER and root.is_dir():
        return read_torchvision(root.parent, "train")
    return read_train_folder(split_folder(root, "train"), progress, cache_dir)


# ----------------------------------------------------------------- the Hub's train split


def _record_path(cache_dir: Path | None) -> Path:
    return cache_folder(cache_dir) / f"hub-train-{HUB_REVISION[:12]}.sha256"


def hub_lfs_sha256() -> str:
    """The Git LFS SHA-256 the Hub reports for the train parquet at the pinned commit."""
    from huggingface_hub import HfApi

    (info,) = HfApi().get_paths_info(
        HUB_DATASET, [HUB_TRAIN_FILENAME], repo_type="dataset", revision=HUB_REVISION
    )
    lfs = getattr(info, "lfs", None)
    if lfs is None or not getattr(lfs, "sha256", None):
        raise DatasetError("the Hub reports no LFS SHA-256 for the training split's file")
    return str(lfs.sha256)


def _download(local_only: bool) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(
        hf_hub_download(
            HUB_DATASET,
            HUB_TRAIN_FILENAME,
            repo_type="dataset",
            revision=HUB_REVISION,
            local_files_only=local_only,
            etag_timeout=5,
        )
    )


def fetch_hub_train(download: bool, cache_dir: Path | None = None) -> tuple[Path, str]:
    """(the pinned train parquet, its verified SHA-256): from huggingface_hub's cache or, when
    `download`, from the Hub; checked against the Hub's LFS SHA-256 (or the one recorded when
    this copy was first verified). `DatasetError` says in words why it cannot be had."""
    from huggingface_hub import constants as hub_constants
    from huggingface_hub.errors import LocalEntryNotFoundError

    record = _record_path(cache_dir)
    recorded = record.read_text().strip() if record.is_file() else None
    try:
        path: Path | None = _download(local_only=True)
    except (LocalEntryNotFoundError, OSError):
        path = None
    online = not hub_constants.HF_HUB_OFFLINE and hub_reachable()
    if path is None:
        if not download:
            raise TrainingSetMissing(f"no training set is configured: {HOW_TO_GET_IT}")
        if not online:
            raise TrainingSetMissing(
                f"the Hub ({hub_constants.ENDPOINT}) cannot be reached and there is no copy of "
                f"the training split: {HOW_TO_GET_IT.split(', or ')[0]}"
            )
    if path is not None and recorded is None and not online:
        raise TrainingSetMissing(
            "the cached copy of the training split was never checked against the Hub's "
            "SHA-256, and the Hub cannot be reached to check it now"
        )
    try:
        expected = recorded or hub_lfs_sha256()
        if path is None:
            path = _download(local_only=False)
    except DatasetError:
        raise
    except Exception as error:  # HTTP, disk, auth: one line for the user, all for the log
        log.warning("Fetching %s failed: %r", HUB_TRAIN_FILENAME, error)
        raise DatasetError(
            f"the training split could not be had from the Hub ({type(error).__name__})"
        ) from error
    actual = sha256_of(path)
    if actual != expected:
        for target in {path.resolve(), path}:
            target.unlink(missing_ok=True)
        raise DatasetError(
            f"the Hub's training split failed its checksum (sha256 {actual[:16]}…, the Hub "
            f"reports {expected[:16]}…) and was refused"
        )
    if recorded is None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(actual + "\n")
    return path, actual


def load_hub_train(
    download: bool, progress: Progress | None = None, cache_dir: Path | None = None
) -> ImageSet:
    """The Hub's train split, verified, decoded once (then read from the pixel cache)."""
    record = _record_path(cache_dir)
    if record.is_file():
        key = f"hub-{HUB_REVISION}-{record.read_text().strip()}"
        path = cache_folder(cache_dir) / f"pixels-{key[:24]}.npz"
        meta = {"kind": "training-pixels", "version": PIXEL_CACHE_VERSION, "key": key}
        stored = load_arrays(path, meta)
        if stored is not None and "images" in stored and "labels" in stored:
            return _hub_set(stored["images"], stored["labels"])
    parquet, sha256 = fetch_hub_train(download, cache_dir)
    decoded = read_parquet(parquet, progress, split="train")
    key = f"hub-{HUB_REVISION}-{sha256}"
    path = cache_folder(cache_dir) / f"pixels-{key[:24]}.npz"
    meta = {"kind": "training-pixels", "version": PIXEL_CACHE_VERSION, "key": key}
    save_arrays(path, {"images": decoded.images, "labels": decoded.labels}, meta)
    return decoded


def _hub_set(images: np.ndarray, labels: np.ndarray) -> ImageSet:
    full = len(labels) == FULL_SIZE["train"]
    source = f"Hub dataset {HUB_DATASET}@{HUB_REVISION[:7]} (train split, SHA-256 verified)"
    return ImageSet(
        images, labels, set_name(len(labels), full, split="train"), source, "train", full
    )


# ----------------------------------------------------------------- the policy


def load_training_set(
    environ: Mapping[str, str] | None = None,
    download: bool | None = None,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
) -> ImageSet:
    """The training split from the first source that has it (module doc). Raises
    `TrainingSetMissing` (nothing configured, offline) or `DatasetError` (a source that
    fails), each with a message safe to show."""
    configured = settings.read(environ)
    cache_dir = configured.cache_dir if cache_dir is None else cache_dir
    if configured.cifar10_dir:
        try:
            return open_local_train(configured.cifar10_dir, progress, cache_dir)
        except Exception as error:
            log.warning("No training split at INTERPRET_CIFAR10_DIR: %s", error)
            raise TrainingSetMissing(
                "the configured CIFAR-10 copy (INTERPRET_CIFAR10_DIR) has no readable training "
                f"split ({type(error).__name__}; the server log says more): {HOW_TO_GET_IT}"
            ) from error
    downloaded = configured.cifar10_root
    if (downloaded / TORCHVISION_FOLDER).is_dir():
        try:
            return read_torchvision(downloaded, "train")
        except Exception as error:  # a partial download: try the Hub
            log.warning("The CIFAR-10 copy in %s is unusable: %s", downloaded, error)
    allowed = configured.download_allowed if download is None else download
    return load_hub_train(allowed, progress, cache_dir)
