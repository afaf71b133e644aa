"""A labeled set of CIFAR-10 images, decoded in memory: the one model of a dataset split.

Every set holds its pixels as uint8 N x 32 x 32 x 3 with int64 labels, exactly the pixels
`interpret.explain` would see for the same image, and is named for caches by a SHA-256 of
pixels and labels (`ImageSet.fingerprint`), so an index always means one image of one set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from interpret.core.model import CLASSES, INPUT_SIZE
from interpret.core.preprocess import model_image

Progress = Callable[[int, int, str], None]

SPLITS = ("test", "train")
FULL_SIZE = {"test": 10_000, "train": 50_000}
_FINGERPRINT_VERSION = b"interpret-testset-v1"


@dataclass
class ImageSet:
    """Labeled images in memory: `images` uint8 N x 32 x 32 x 3, `labels` int64 N.

    `name` is for people ("the CIFAR-10 test set (10,000 images)"), `source` says where the
    pixels came from without naming a server directory, `split` is "test" or "train", `full`
    is True for the whole CIFAR-10 split, and `reason` says why a smaller set is in use. The
    arrays are read-only: caches are keyed by `fingerprint`, which must keep describing them.
    """

    images: np.ndarray
    labels: np.ndarray
    name: str
    source: str
    split: str = "test"
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
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        images.flags.writeable = False
        labels.flags.writeable = False
        self.images, self.labels = images, labels
        self.fingerprint = fingerprint(images, labels)

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, index: int) -> Image.Image:
        """Image `index` as a PIL image, the pixels `interpret.explain` receives."""
        return Image.fromarray(self.images[index])

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


def fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the pixels and labels (and their shape): names a dataset for caches."""
    digest = hashlib.sha256(_FINGERPRINT_VERSION)
    digest.update(str(images.shape).encode())
    digest.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return digest.hexdigest()


def image_fingerprint(image: Image.Image) -> str:
    """SHA-256 of the 32x32 RGB pixels the model sees: identifies one image by content."""
    return hashlib.sha256(model_image(image).tobytes()).hexdigest()


def set_name(count: int, full: bool, bundled: bool = False, split: str = "test") -> str:
    """How the UI names a set: a full split, the bundled examples, or a partial copy."""
    kind = "training" if split == "train" else "test"
    if full:
        return f"the CIFAR-10 {kind} set ({count:,} images)"
    if bundled:
        return f"the {count} bundled CIFAR-10 {kind} images"
    return f"{count:,} CIFAR-10 {kind} images (not the full set of {FULL_SIZE[split]:,})"
