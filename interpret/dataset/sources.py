"""Where labeled CIFAR-10 images come from, each source decoded into an `ImageSet`.

Sources of the test split, in order (`load_test_set`):

1. ``$INTERPRET_CIFAR10_DIR``: an ImageFolder copy (a root with ``test/<class>/``, or that
   ``test/`` folder) or a torchvision CIFAR-10 root (``cifar-10-batches-py/``);
2. torchvision's CIFAR-10 already downloaded under ``$INTERPRET_CIFAR10_ROOT`` (default
   ``<cache root>/cifar10``), where torchvision's downloader puts it;
3. the Hub dataset `HUB_DATASET`'s test split: one parquet file (~24 MB, against 170 MB for
   torchvision's archive of both splits) at the pinned commit `HUB_REVISION`, checked against
   its pinned SHA-256 before it is read, from huggingface_hub's cache when it is there, else
   downloaded when allowed (on a Space, or with ``INTERPRET_CIFAR10_DOWNLOAD=1``);
4. otherwise the 20 bundled examples, with an `ImageSet.reason` that says why, in words that
   name no server directory (the full error goes to the log).

Local copies hold the training split too (`open_local(..., split="train")`). Nothing
unverified from the network is read: the Hub's parquet file is checked against its pinned
SHA-256 and read with pyarrow (no pickle), and torchvision checks its copy's MD5.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from interpret import settings
from interpret.core.model import CLASSES, INPUT_SIZE
from interpret.core.preprocess import model_image
from interpret.core.weights import PROJECT_ROOT, hub_reachable, sha256_of
from interpret.dataset.images import FULL_SIZE, SPLITS, ImageSet, Progress, set_name

log = logging.getLogger("interpret")

EXAMPLES_DIR = PROJECT_ROOT / "examples"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
TORCHVISION_FOLDER = "cifar-10-batches-py"
_EXAMPLE_NAME = re.compile(r"^cifar10_(\d+)_(\d)\.png$")

HUB_DATASET = "uoft-cs/cifar10"
# "Convert dataset to Parquet (#6)" on main; the file's Git LFS SHA-256 at that commit.
HUB_REVISION = "0b2714987fa478483af9968de7c934580d0bb9a2"
HUB_FILENAME = "plain_text/test-00000-of-00001.parquet"
HUB_SHA256 = "841389e6f2d64f28bf17310e430aebac20ec3ba611a3c5e231dc93c645ce84de"
DECODE_CHUNK = 250
_ORIENTATION = 0x0112  # the EXIF tag ImageOps.exif_transpose applies


class DatasetError(RuntimeError):
    """A set that cannot be had; the message is safe to show (no server paths)."""


class NotConfigured(DatasetError):
    """No full set was asked for (no folder, no download allowed): the bundled examples are
    the configured state, not a failure, so it is logged as information."""


def decode_images(
    sources: Sequence[str | os.PathLike | bytes],
    progress: Progress | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Decode image files or encoded bytes to uint8 N x 32 x 32 x 3, on threads.

    Each goes through `interpret.core.preprocess.model_image`, so the pixels are exactly those an
    explanation of the same file sees (PIL's decoders release the GIL while they work)."""
    out = np.empty((len(sources), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    starts = range(0, len(sources), DECODE_CHUNK)

    def decode_chunk(start: int) -> int:
        for offset, source in enumerate(sources[start : start + DECODE_CHUNK]):
            out[start + offset] = _decode_one(source)
        return min(DECODE_CHUNK, len(sources) - start)

    workers = workers or min(8, os.cpu_count() or 1)
    done = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="interpret-decode") as pool:
        for count in pool.map(decode_chunk, starts):
            done += count
            if progress is not None:
                progress(done, len(sources), "decoding images")
    return out


def _decode_one(source: str | os.PathLike | bytes) -> np.ndarray:
    """One image's 32x32 RGB pixels, as `model_image` gives them.

    A 32x32 RGB JPEG or PNG with no EXIF rotation (every CIFAR-10 file) is decoded directly
    with the same decoder and draft settings `model_image` uses, skipping its general-purpose
    checks (half the time per image); anything else goes through `model_image` itself."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            if image.format in ("JPEG", "PNG") and image.size == (INPUT_SIZE, INPUT_SIZE):
                if image.format == "JPEG":
                    image.draft("RGB", (INPUT_SIZE * 8, INPUT_SIZE * 8))
                image.load()
                if image.mode == "RGB" and image.getexif().get(_ORIENTATION, 1) == 1:
                    return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError):
        pass  # model_image says what is wrong, in its own words
    return np.asarray(model_image(source), dtype=np.uint8)


def bundled_examples(directory: Path = EXAMPLES_DIR) -> list[tuple[Path, int]]:
    """(path, label) of the bundled test images, in test-set order."""
    found = []
    for path in directory.glob("cifar10_*.png"):
        match = _EXAMPLE_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path, int(match.group(2))))
    return [(path, label) for _, path, label in sorted(found)]


def bundled(reason: str | None = None, directory: Path = EXAMPLES_DIR) -> ImageSet:
    """The lossless test images shipped in ``examples/`` (a handful, always available)."""
    examples = bundled_examples(directory)
    if not examples:
        raise FileNotFoundError(f"no cifar10_<index>_<label>.png files in {directory}")
    images = decode_images([str(path) for path, _ in examples])
    labels = np.asarray([label for _, label in examples], dtype=np.int64)
    name = set_name(len(labels), full=False, bundled=True)
    return ImageSet(images, labels, name, "bundled examples (lossless PNG)", reason=reason)


def folder_files(directory: str | os.PathLike) -> tuple[list[str], list[int]]:
    """The image files of a ``<class>/<image>`` tree and their labels, class then file order
    (torchvision's ImageFolder order); its class folders must be exactly CIFAR-10's."""
    directory = Path(directory)
    folders = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if tuple(folders) != CLASSES:
        raise ValueError(f"class folders in {directory} are {folders}, not {list(CLASSES)}")
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(CLASSES):
        files = sorted(
            entry.path
            for entry in os.scandir(directory / name)
            if entry.is_file() and entry.name.lower().endswith(IMAGE_SUFFIXES)
        )
        paths.extend(files)
        labels.extend([label] * len(files))
    if not paths:
        raise ValueError(f"no images under {directory}")
    return paths, labels


def read_folder(
    directory: str | os.PathLike, split: str = "test", progress: Progress | None = None
) -> ImageSet:
    """A ``<class>/<image>`` tree whose class folders are exactly CIFAR-10's, class then file
    order (torchvision's ImageFolder order), decoded."""
    paths, labels = folder_files(directory)
    images = decode_images(paths, progress)
    kinds = sorted({Path(path).suffix.lower().lstrip(".").upper() for path in paths})
    full = len(labels) == FULL_SIZE[split]
    name = set_name(len(labels), full, split=split)
    return ImageSet(images, labels, name, f"ImageFolder of {'/'.join(kinds)}", split, full)


def read_torchvision(root: str | os.PathLike, split: str = "test") -> ImageSet:
    """torchvision's CIFAR-10 split under `root` (MD5-checked by torchvision before it is
    unpickled; never downloaded here)."""
    from torchvision.datasets import CIFAR10  # imported here: only this source needs it

    dataset = CIFAR10(str(root), train=split == "train", download=False)
    labels = np.asarray(dataset.targets, dtype=np.int64)
    full = len(labels) == FULL_SIZE[split]
    name = set_name(len(labels), full, split=split)
    source = "torchvision's CIFAR-10 (MD5-checked)"
    return ImageSet(dataset.data, labels, name, source, split, full)


def split_folder(location: str | os.PathLike, split: str = "test") -> Path:
    """Where `split` lies in a local copy: ``location/<split>/``; beside it when `location` is
    the other split's folder (``.../test`` -> ``.../train``); else `location` itself for the
    test split (a bare tree of class folders)."""
    root = Path(location).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    if (root / split).is_dir():
        return root / split
    if root.name in SPLITS and (root.parent / split).is_dir():
        return root.parent / split
    if split == "test":
        return root
    raise FileNotFoundError(f"no {split}/ folder in or beside {root}")


def open_local(
    location: str | os.PathLike, progress: Progress | None = None, split: str = "test"
) -> ImageSet:
    """The split at `location`: a torchvision root, an ImageFolder root (or one of its split
    folders), decoded."""
    root = Path(location).expanduser()
    if (root / TORCHVISION_FOLDER).is_dir():
        return read_torchvision(root, split)
    return read_folder(split_folder(root, split), split, progress)


# ----------------------------------------------------------------- the Hub's parquet split


def read_parquet(
    path: str | os.PathLike, progress: Progress | None = None, split: str = "test"
) -> ImageSet:
    """A Hub dataset split (columns ``img`` {bytes, path} and ``label``) decoded."""
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise DatasetError(
            "reading the Hub's parquet file needs pyarrow (pip install pyarrow)"
        ) from error
    try:
        table = parquet.read_table(path, columns=["img", "label"])
        encoded = table.column("img").combine_chunks().field("bytes").to_pylist()
        labels = np.asarray(table.column("label").to_pylist(), dtype=np.int64)
    except Exception as error:  # pyarrow raises several types for a malformed file
        raise DatasetError(
            f"the {split} split's parquet file is malformed ({type(error).__name__})"
        ) from error
    if any(not isinstance(data, bytes) for data in encoded):
        raise DatasetError(f"the {split} split's parquet file has rows without image bytes")
    images = decode_images(encoded, progress)
    full = len(labels) == FULL_SIZE[split]
    source = f"Hub dataset {HUB_DATASET}@{HUB_REVISION[:7]} ({split} split, SHA-256 verified)"
    return ImageSet(images, labels, set_name(len(labels), full, split=split), source, split, full)


def _discard(path: Path) -> None:
    """Remove a refused download (the snapshot link and the blob it points to)."""
    for target in {path.resolve(), path}:
        with contextlib.suppress(OSError):
            target.unlink()


def fetch_hub_parquet(download: bool) -> Path:
    """The pinned test split's parquet file, verified: from huggingface_hub's cache, or (when
    `download`) from the Hub. `DatasetError` says in words why it cannot be had."""
    from huggingface_hub import constants as hub_constants
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    def fetch(local_only: bool) -> Path:
        return Path(
            hf_hub_download(
                HUB_DATASET,
                HUB_FILENAME,
                repo_type="dataset",
                revision=HUB_REVISION,
                local_files_only=local_only,
                etag_timeout=5,
            )
        )

    try:
        path = fetch(local_only=True)
    except (LocalEntryNotFoundError, OSError):
        path = None
    if path is None:
        endpoint = hub_constants.ENDPOINT
        if not download:
            raise NotConfigured(
                "no full test set is configured: set INTERPRET_CIFAR10_DIR, or "
                f"INTERPRET_CIFAR10_DOWNLOAD=1 to fetch it from the Hub ({HUB_DATASET}, 24 MB)"
            )
        if hub_constants.HF_HUB_OFFLINE:
            raise DatasetError("offline (HF_HUB_OFFLINE is set) and no cached copy of the test set")
        if not hub_reachable():
            raise DatasetError(f"the Hub ({endpoint}) is unreachable and there is no cached copy")
        try:
            path = fetch(local_only=False)
        except Exception as error:  # HTTP, disk, auth: one line for the user, all for the log
            log.warning("Downloading %s from %s failed: %r", HUB_FILENAME, endpoint, error)
            raise DatasetError(
                f"downloading the test set from the Hub ({endpoint}) failed "
                f"({type(error).__name__})"
            ) from error
    actual = sha256_of(path)
    if actual != HUB_SHA256:
        _discard(path)
        raise DatasetError(
            f"the Hub's test split failed its checksum (sha256 {actual[:16]}…, expected "
            f"{HUB_SHA256[:16]}…) and was refused"
        )
    return path


def load_hub(download: bool = True, progress: Progress | None = None) -> ImageSet:
    """The Hub's test split (cached, or downloaded when `download`), verified and decoded."""
    test_set = read_parquet(fetch_hub_parquet(download), progress)
    examples = bundled()
    head = test_set.images[: len(examples)]
    if len(head) == len(examples) and not np.array_equal(head, examples.images):
        # Indices are CIFAR-10's test order only if the split starts with the bundled images
        # (the first 20 test images, lossless): say so loudly rather than mislabel indices.
        log.warning("The Hub's test split does not start with the bundled test images 0-19")
    return test_set


# ----------------------------------------------------------------- the policy


def load_test_set(
    environ: Mapping[str, str] | None = None,
    download: bool | None = None,
    progress: Progress | None = None,
) -> ImageSet:
    """The best available set (module doc); never raises for an unavailable source: the
    bundled examples come back with a `reason` instead."""
    configured = settings.read(environ)
    if configured.cifar10_dir:
        try:
            return open_local(configured.cifar10_dir, progress)
        except Exception as error:
            log.warning("INTERPRET_CIFAR10_DIR=%s is unusable: %s", configured.cifar10_dir, error)
            return bundled(
                "the configured test set (INTERPRET_CIFAR10_DIR) could not be read "
                f"({type(error).__name__}; the server log says more)"
            )
    downloaded = configured.cifar10_root
    if (downloaded / TORCHVISION_FOLDER).is_dir():
        try:
            return open_local(downloaded, progress)
        except Exception as error:  # a partial download: try the Hub
            log.warning("The CIFAR-10 copy in %s is unusable: %s", downloaded, error)
    try:
        allowed = configured.download_allowed if download is None else download
        return load_hub(allowed, progress)
    except DatasetError as error:
        log.info("Using the bundled examples: %s", error)
        test_set = bundled(str(error))
        test_set.chosen = isinstance(error, NotConfigured)
        return test_set
