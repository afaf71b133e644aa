"""The labeled test images the app browses, all decoded in memory, and where they came from.

Sources, in order (`load_test_set`):

1. ``$INTERPRET_CIFAR10_DIR``: an ImageFolder copy (a root with ``test/<class>/``, or that
   ``test/`` folder) or a torchvision CIFAR-10 root (``cifar-10-batches-py/``), read through
   `interpret.samples.open_test_set`, so image *i* here is image *i* of the app's sampler;
2. torchvision's CIFAR-10 already downloaded under ``$INTERPRET_CIFAR10_ROOT`` (default
   ``~/.cache/interpret/cifar10``; an earlier version of the app downloaded it there);
3. the Hub dataset `HUB_DATASET`'s test split: one parquet file (~24 MB, against 170 MB for
   torchvision's archive of both splits) at the pinned commit `HUB_REVISION`, checked against
   its pinned SHA-256 before it is read, from huggingface_hub's cache when it is there, else
   downloaded when allowed (on a Space, or with ``INTERPRET_CIFAR10_DOWNLOAD=1``);
4. otherwise the 20 bundled examples, with a `TestSet.reason` that says why, in words that
   name no server directory (the full error goes to the log).

Every set holds its pixels as uint8 N x 32 x 32 x 3 with int64 labels, exactly the pixels
`interpret.explain` would see for the same image, and is named for caches by a SHA-256 of
pixels and labels (`TestSet.fingerprint`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import samples
from .model import CLASSES, INPUT_SIZE
from .preprocess import model_image
from .weights import hub_reachable, sha256_of

log = logging.getLogger("interpret")

Progress = Callable[[int, int, str], None]

HUB_DATASET = "uoft-cs/cifar10"
# "Convert dataset to Parquet (#6)" on main; the file's Git LFS SHA-256 at that commit.
HUB_REVISION = "0b2714987fa478483af9968de7c934580d0bb9a2"
HUB_FILENAME = "plain_text/test-00000-of-00001.parquet"
HUB_SHA256 = "841389e6f2d64f28bf17310e430aebac20ec3ba611a3c5e231dc93c645ce84de"
FULL_SIZE = 10_000
DECODE_CHUNK = 250
_ORIENTATION = 0x0112  # the EXIF tag ImageOps.exif_transpose applies
_FINGERPRINT_VERSION = b"interpret-testset-v1"


class TestSetError(RuntimeError):
    """A test set that cannot be had; the message is safe to show (no server paths)."""

    __test__ = False  # not a pytest test class


class NotConfigured(TestSetError):
    """No full set was asked for (no folder, no download allowed): the bundled examples are
    the configured state, not a failure, so it is logged as information."""


@dataclass
class TestSet:
    """Labeled images in memory: `images` uint8 N x 32 x 32 x 3, `labels` int64 N.

    `name` is for people ("the CIFAR-10 test set (10,000 images)"), `source` says where the
    pixels came from without naming a server directory, `full` is True for the whole CIFAR-10
    test set, and `reason` says why a smaller set is in use. The arrays are read-only: caches
    are keyed by `fingerprint`, which must keep describing them.
    """

    __test__ = False  # not a pytest test class

    images: np.ndarray
    labels: np.ndarray
    name: str
    source: str
    full: bool = False
    reason: str | None = None
    chosen: bool = False  # the bundled set because nothing else was asked for, not a failure
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        images = np.ascontiguousarray(self.images, dtype=np.uint8)
        labels = np.ascontiguousarray(self.labels, dtype=np.int64)
        if images.ndim != 4 or images.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"images must be N x 32 x 32 x 3, got {images.shape}")
        if labels.shape != (len(images),):
            raise ValueError(f"{len(labels)} labels for {len(images)} images")
        if len(labels) and not (labels.min() >= 0 and labels.max() < len(CLASSES)):
            raise ValueError("labels must be CIFAR-10 class indices 0-9")
        images.flags.writeable = False
        labels.flags.writeable = False
        self.images, self.labels = images, labels
        self.fingerprint = fingerprint(images, labels)

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, index: int) -> Image.Image:
        """Image `index` as a PIL image, the pixels `interpret.explain` receives."""
        return Image.fromarray(self.images[index])

    def as_sample_set(self) -> samples.SampleSet:
        """This set for `interpret.samples.Sampler.use`, so both agree on every index."""
        return _ArraySampleSet(self)

    def describe(self) -> dict:
        """What a UI or API shows about the set (no server paths)."""
        return {
            "name": self.name,
            "source": self.source,
            "size": len(self),
            "full": self.full,
            "reason": self.reason,
            "fingerprint": self.fingerprint,
        }


class _ArraySampleSet(samples.SampleSet):
    def __init__(self, test_set: TestSet) -> None:
        super().__init__([int(label) for label in test_set.labels], test_set.source)
        self.name = test_set.name
        self._images = test_set.images

    def image(self, index: int) -> Image.Image:
        return Image.fromarray(self._images[index])


def fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the pixels and labels (and their shape): names a dataset for caches."""
    digest = hashlib.sha256(_FINGERPRINT_VERSION)
    digest.update(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return digest.hexdigest()


def set_name(count: int, full: bool, bundled: bool = False) -> str:
    """How the UI names a set: the full test set, the bundled examples, or a partial copy."""
    if full:
        return f"the CIFAR-10 test set ({count:,} images)"
    if bundled:
        return f"the {count} bundled CIFAR-10 test images"
    return f"{count:,} CIFAR-10 test images (not the full set of {FULL_SIZE:,})"


def decode_images(
    sources: Sequence[str | os.PathLike | bytes],
    progress: Progress | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Decode image files or encoded bytes to uint8 N x 32 x 32 x 3, on threads.

    Each goes through `interpret.preprocess.model_image`, so the pixels are exactly those an
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


def from_sample_set(sample_set: samples.SampleSet, progress: Progress | None = None) -> TestSet:
    """A `samples` set (ImageFolder, torchvision, bundled) decoded into memory, same order."""
    labels = np.asarray(sample_set.labels, dtype=np.int64)
    if isinstance(sample_set, samples.TorchvisionSet):
        images = np.ascontiguousarray(sample_set.data, dtype=np.uint8)
        source = "torchvision's CIFAR-10 (MD5-checked)"
    elif isinstance(sample_set, (samples.ImageFolderSet, samples.BundledSet)):
        images = decode_images([str(path) for path in sample_set.paths], progress)
        kinds = sorted({Path(path).suffix.lower().lstrip(".").upper() for path in sample_set.paths})
        bundled = isinstance(sample_set, samples.BundledSet)
        source = (
            "bundled examples (lossless PNG)" if bundled else f"ImageFolder of {'/'.join(kinds)}"
        )
    else:
        images = np.stack(
            [np.asarray(model_image(sample_set.image(i))) for i in range(len(labels))]
        )
        source = type(sample_set).__name__
    is_bundled = isinstance(sample_set, samples.BundledSet)
    full = not is_bundled and len(labels) == FULL_SIZE
    return TestSet(images, labels, set_name(len(labels), full, is_bundled), source, full)


def bundled(reason: str | None = None) -> TestSet:
    """The 20 lossless test images shipped in ``examples/``."""
    test_set = from_sample_set(samples.BundledSet())
    test_set.reason = reason
    return test_set


def open_local(location: str | os.PathLike, progress: Progress | None = None) -> TestSet:
    """The test set at `location` (ImageFolder root, its ``test/``, or a torchvision root)."""
    return from_sample_set(samples.open_test_set(location), progress)


# ----------------------------------------------------------------- the Hub's parquet split


def read_parquet(path: str | os.PathLike, progress: Progress | None = None) -> TestSet:
    """The Hub dataset's test split (columns ``img`` {bytes, path} and ``label``) decoded."""
    try:
        import pyarrow.parquet as parquet
    except ImportError as error:
        raise TestSetError(
            "reading the Hub's parquet file needs pyarrow (pip install pyarrow)"
        ) from error
    try:
        table = parquet.read_table(path, columns=["img", "label"])
        encoded = table.column("img").combine_chunks().field("bytes").to_pylist()
        labels = np.asarray(table.column("label").to_pylist(), dtype=np.int64)
    except Exception as error:  # pyarrow raises several types for a malformed file
        raise TestSetError(
            f"the test split's parquet file is malformed ({type(error).__name__})"
        ) from error
    if any(not isinstance(data, bytes) for data in encoded):
        raise TestSetError("the test split's parquet file has rows without image bytes")
    images = decode_images(encoded, progress)
    full = len(labels) == FULL_SIZE
    source = f"Hub dataset {HUB_DATASET}@{HUB_REVISION[:7]} (test split, SHA-256 verified)"
    return TestSet(images, labels, set_name(len(labels), full), source, full)


def _discard(path: Path) -> None:
    """Remove a refused download (the snapshot link and the blob it points to)."""
    for target in {path.resolve(), path}:
        with contextlib.suppress(OSError):
            target.unlink()


def fetch_hub_parquet(download: bool) -> Path:
    """The pinned test split's parquet file, verified: from huggingface_hub's cache, or (when
    `download`) from the Hub. `TestSetError` says in words why it cannot be had."""
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
            raise TestSetError("offline (HF_HUB_OFFLINE is set) and no cached copy of the test set")
        if not hub_reachable():
            raise TestSetError(f"the Hub ({endpoint}) is unreachable and there is no cached copy")
        try:
            path = fetch(local_only=False)
        except Exception as error:  # HTTP, disk, auth: one line for the user, all for the log
            log.warning("Downloading %s from %s failed: %r", HUB_FILENAME, endpoint, error)
            raise TestSetError(
                f"downloading the test set from the Hub ({endpoint}) failed "
                f"({type(error).__name__})"
            ) from error
    actual = sha256_of(path)
    if actual != HUB_SHA256:
        _discard(path)
        raise TestSetError(
            f"the Hub's test split failed its checksum (sha256 {actual[:16]}…, expected "
            f"{HUB_SHA256[:16]}…) and was refused"
        )
    return path


def load_hub(download: bool = True, progress: Progress | None = None) -> TestSet:
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


def download_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """On a Space, or where ``INTERPRET_CIFAR10_DOWNLOAD`` asks for it (1/true/yes)."""
    env = os.environ if environ is None else environ
    wanted = env.get("INTERPRET_CIFAR10_DOWNLOAD", "").strip().lower()
    if wanted in ("0", "false", "no"):
        return False
    return wanted in ("1", "true", "yes") or bool(env.get("SPACE_ID"))


def load_test_set(
    environ: Mapping[str, str] | None = None,
    download: bool | None = None,
    progress: Progress | None = None,
) -> TestSet:
    """The best available set (module doc); never raises for an unavailable source: the
    bundled examples come back with a `reason` instead."""
    env = os.environ if environ is None else environ
    configured = env.get("INTERPRET_CIFAR10_DIR", "").strip()
    if configured:
        try:
            return open_local(configured, progress)
        except Exception as error:
            log.warning("INTERPRET_CIFAR10_DIR=%s is unusable: %s", configured, error)
            return bundled(
                "the configured test set (INTERPRET_CIFAR10_DIR) could not be read "
                f"({type(error).__name__}; the server log says more)"
            )
    downloaded = Path(env.get("INTERPRET_CIFAR10_ROOT") or samples.DEFAULT_CACHE_ROOT)
    if (downloaded / samples.TORCHVISION_FOLDER).is_dir():
        try:
            return open_local(downloaded, progress)
        except Exception as error:  # a partial download: try the Hub
            log.warning("The CIFAR-10 copy in %s is unusable: %s", downloaded, error)
    try:
        return load_hub(download_allowed(env) if download is None else download, progress)
    except TestSetError as error:
        log.info("Using the bundled examples: %s", error)
        test_set = bundled(str(error))
        test_set.chosen = isinstance(error, NotConfigured)
        return test_set
