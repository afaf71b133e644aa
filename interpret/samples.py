"""CIFAR-10 test images to explain, each with its true label, chosen by index only.

Sources, in order (see `default_sampler`):

* ``$INTERPRET_CIFAR10_DIR``: the full 10,000-image test set, as an ImageFolder copy (a root
  holding ``test/<class>/*.jpg``, or that ``test/`` folder itself) or a torchvision CIFAR-10
  root (holding ``cifar-10-batches-py/``);
* on a hosted Space (``$SPACE_ID`` set) and nothing configured: the test split of the Hub
  dataset ``uoft-cs/cifar10``, one 24 MB parquet file at a pinned commit, SHA-256-checked and
  cached by huggingface_hub, loaded in the background (`load_in_background`, through
  `interpret.testset.load_test_set`; a torchvision copy an earlier version downloaded into
  ``$INTERPRET_CIFAR10_ROOT`` is used first);
* otherwise, and whenever the above fails (with a log line saying why): the 20 bundled
  lossless test images in ``examples/`` (``cifar10_{test index}_{label}.png``).

Callers pass an index (or nothing, for a random one), never a path. Nothing unverified from
the network is read: the Hub's parquet file is checked against its pinned SHA-256 and read with
pyarrow (no pickle), and torchvision checks a local copy against its pinned MD5 before
unpickling it.

The true label of an image is also known when its 32x32 pixels are those of a bundled example
or of a recently sampled image (`Sampler.truth`), so an uploaded copy of a test image, or one
that went through the browser and back, is still recognized.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from .model import CLASSES
from .preprocess import load_image, model_image

log = logging.getLogger("interpret")

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
DEFAULT_CACHE_ROOT = Path.home() / ".cache" / "interpret" / "cifar10"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
TORCHVISION_FOLDER = "cifar-10-batches-py"
TRUTH_MEMORY = 4096  # sampled images whose true label is remembered by pixels
_EXAMPLE_NAME = re.compile(r"^cifar10_(\d+)_(\d)\.png$")


class SampleError(ValueError):
    """A bad sample request (index out of range, not a number); the message is for the user."""


@dataclass(frozen=True)
class Sample:
    """One test image with its true label, its index in its set and the set's name."""

    image: Image.Image
    label: int
    index: int
    source: str

    @property
    def label_name(self) -> str:
        return CLASSES[self.label]

    def describe(self) -> str:
        return f"{self.source}, image #{self.index}: true label {self.label_name}"


def fingerprint(image: Image.Image) -> str:
    """SHA-256 of the 32x32 RGB pixels the model sees: identifies a test image by content."""
    return hashlib.sha256(model_image(image).tobytes()).hexdigest()


class SampleSet:
    """A fixed, indexed list of labeled images; subclasses say where the pixels come from."""

    name = "images"

    def __init__(self, labels: list[int], location: str) -> None:
        self.labels = labels
        self.location = location

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, index: int) -> Image.Image:
        raise NotImplementedError

    def get(self, index: int) -> Sample:
        return Sample(self.image(index), self.labels[index], index, self.name)


def bundled_examples(directory: Path = EXAMPLES_DIR) -> list[tuple[Path, int]]:
    """(path, label) of the bundled test images, in test-set order."""
    found = []
    for path in directory.glob("cifar10_*.png"):
        match = _EXAMPLE_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path, int(match.group(2))))
    return [(path, label) for _, path, label in sorted(found)]


class BundledSet(SampleSet):
    """The lossless test images shipped in ``examples/`` (a handful, always available)."""

    def __init__(self, directory: Path = EXAMPLES_DIR) -> None:
        examples = bundled_examples(directory)
        if not examples:
            raise FileNotFoundError(f"no cifar10_<index>_<label>.png files in {directory}")
        self.paths = [path for path, _ in examples]
        super().__init__([label for _, label in examples], str(directory))
        self.name = f"the {len(examples)} bundled CIFAR-10 test images"

    def image(self, index: int) -> Image.Image:
        return load_image(self.paths[index])


class ImageFolderSet(SampleSet):
    """A ``<class>/<image>`` folder tree whose class folders are exactly CIFAR-10's."""

    def __init__(self, directory: Path) -> None:
        folders = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
        if tuple(folders) != CLASSES:
            raise ValueError(f"class folders in {directory} are {folders}, not {list(CLASSES)}")
        self.paths: list[str] = []
        labels: list[int] = []
        for label, name in enumerate(CLASSES):
            files = sorted(
                entry.path
                for entry in os.scandir(directory / name)
                if entry.is_file() and entry.name.lower().endswith(IMAGE_SUFFIXES)
            )
            self.paths.extend(files)
            labels.extend([label] * len(files))
        if not self.paths:
            raise ValueError(f"no images under {directory}")
        super().__init__(labels, f"ImageFolder {directory}")
        self.name = f"the CIFAR-10 test set ({len(labels):,} images)"

    def image(self, index: int) -> Image.Image:
        return load_image(self.paths[index])


class TorchvisionSet(SampleSet):
    """torchvision's CIFAR-10 test split, decoded once into memory (about 30 MB)."""

    def __init__(self, root: Path, download: bool = False) -> None:
        from torchvision.datasets import CIFAR10  # imported here: only this source needs it

        if download:
            root.mkdir(parents=True, exist_ok=True)
        dataset = CIFAR10(str(root), train=False, download=download)  # MD5-checked
        self.data = dataset.data
        super().__init__([int(label) for label in dataset.targets], f"torchvision {root}")
        self.name = f"the CIFAR-10 test set ({len(self.labels):,} images)"

    def image(self, index: int) -> Image.Image:
        return Image.fromarray(self.data[index])


def open_test_set(location: str | os.PathLike) -> SampleSet:
    """The test set at `location` (see the module doc for the layouts), or an error saying why."""
    root = Path(location).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    if (root / TORCHVISION_FOLDER).is_dir():
        return TorchvisionSet(root)
    if (root / "test").is_dir():
        return ImageFolderSet(root / "test")
    return ImageFolderSet(root)


def parse_index(index: Any, size: int) -> int | None:
    """None/blank -> None (random); else a whole number in range, or `SampleError`."""
    if index is None or (isinstance(index, str) and not index.strip()):
        return None
    if isinstance(index, bool):
        raise SampleError(f"the image index must be a whole number, got {index!r}")
    try:
        number = float(index)
    except (TypeError, ValueError):
        raise SampleError(f"the image index must be a whole number, got {index!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise SampleError(f"the image index must be a whole number, got {index!r}")
    if not 0 <= number < size:
        raise SampleError(f"the image index must be between 0 and {size - 1:,}, got {int(number)}")
    return int(number)


class Sampler:
    """Draws from the best available set; the set can be swapped when a download completes."""

    def __init__(self, fallback: SampleSet | None = None) -> None:
        self.bundled = fallback if fallback is not None else BundledSet()
        self.current: SampleSet = self.bundled
        self.download: threading.Thread | None = None  # a background load (`load_in_background`)
        self.test_set: Any = None  # the decoded `interpret.testset.TestSet` it loaded
        self._lock = threading.Lock()
        self._known: dict[str, tuple[int, str]] = {}
        self._recent: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._bundled_index: dict[str, int] = {}
        for index in range(len(self.bundled)):
            sample = self.bundled.get(index)
            key = fingerprint(sample.image)
            self._known[key] = (sample.label, f"bundled example #{index}")
            self._bundled_index[key] = index

    def use(self, sample_set: SampleSet) -> None:
        with self._lock:
            self.current = sample_set
        log.info("Sampling from %s (%s)", sample_set.name, sample_set.location)

    def sample(self, index: Any = None, seed: int | None = None) -> Sample:
        """The image at `index` of the current set; None draws one (from `seed` if given)."""
        sample_set = self.current
        chosen = parse_index(index, len(sample_set))
        if chosen is None:
            chooser = random.Random(seed) if seed is not None else random
            chosen = chooser.randrange(len(sample_set))
        sample = sample_set.get(chosen)
        with self._lock:
            key = fingerprint(sample.image)
            self._recent[key] = (sample.label, f"{sample.source}, image #{chosen}")
            self._recent.move_to_end(key)
            while len(self._recent) > TRUTH_MEMORY:
                self._recent.popitem(last=False)
        return sample

    def bundled_index(self, image: Image.Image) -> int | None:
        """The index of a bundled example (the first test images: the same index in the full
        test set), so "load this index" gives the example back."""
        return self._bundled_index.get(fingerprint(image))

    def truth(self, image: Image.Image) -> tuple[int, str] | None:
        """(label, where it is from) when `image` is a bundled or recently sampled test image."""
        key = fingerprint(image)
        with self._lock:
            return self._known.get(key) or self._recent.get(key)


def load_in_background(
    sampler: Sampler, environ: Mapping[str, str] | None = None, download: bool | None = None
) -> threading.Thread:
    """Decode the best available test set (`interpret.testset.load_test_set`: the configured
    folder, a cached or, where allowed, downloaded copy of the Hub's pinned split, else the
    bundled examples) in a thread; keep it as `sampler.test_set` and, when a real set was had
    and the sampler had only the examples (a Space), sample from it: the same indices and
    pixels as the set decoded for browsing. A configured folder the sampler already reads is
    the same set, in the same order (`testset.from_sample_set`), so it stays."""

    def run() -> None:
        from .testset import load_test_set  # here: interpret.testset imports this module

        try:
            test_set = load_test_set(environ, download=download)
        except Exception:  # load_test_set falls back by itself; anything else is a bug
            log.exception("Loading the test set failed; sampling from %s", sampler.bundled.name)
            test_set = None
        if test_set is not None and test_set.reason is None:
            if sampler.current is sampler.bundled:
                sampler.use(test_set.as_sample_set())
        elif test_set is not None:
            level = logging.INFO if test_set.chosen else logging.WARNING
            log.log(level, "Sampling from %s: %s", sampler.bundled.name, test_set.reason)
        sampler.test_set = test_set

    thread = threading.Thread(target=run, name="test-set-load", daemon=True)
    thread.start()
    return thread


def default_sampler(environ: Mapping[str, str] | None = None) -> Sampler:
    """A `Sampler` over the configured test set, on a Space the Hub's test split (downloaded
    in the background), or the examples."""
    env = os.environ if environ is None else environ
    sampler = Sampler()
    configured = env.get("INTERPRET_CIFAR10_DIR", "").strip()
    if configured:
        try:
            sampler.use(open_test_set(configured))
        except Exception as error:
            log.warning(
                "INTERPRET_CIFAR10_DIR=%s is unusable (%s); sampling from %s",
                configured,
                error,
                sampler.bundled.name,
            )
    elif env.get("SPACE_ID"):
        sampler.download = load_in_background(sampler, env)
    else:
        log.info("Sampling from %s; INTERPRET_CIFAR10_DIR adds the full set", sampler.bundled.name)
    return sampler
