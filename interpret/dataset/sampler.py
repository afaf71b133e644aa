"""Draw labeled images from an `ImageSet` by index, and recognize them again by their pixels.

Callers pass an index (or nothing, for a random one), never a path. The true label of an
image is also known when its 32x32 pixels are those of a bundled example or of a recently
sampled image (`Sampler.truth`), so an uploaded copy of a test image, or one that went
through the browser and back, is still recognized. Which set to sample (and loading it in
the background) is the caller's choice: `Sampler.use` swaps sets.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PIL import Image

from interpret.core.model import CLASSES
from interpret.dataset.images import ImageSet, image_fingerprint
from interpret.dataset.sources import bundled

log = logging.getLogger("interpret")

TRUTH_MEMORY = 4096  # sampled images whose true label is remembered by pixels


class SampleError(ValueError):
    """A bad sample request (index out of range, not a number); the message is for the user."""


@dataclass(frozen=True)
class Sample:
    """One image with its true label, its index in its set and the set's name."""

    image: Image.Image
    label: int
    index: int
    source: str

    @property
    def label_name(self) -> str:
        return CLASSES[self.label]

    def describe(self) -> str:
        return f"{self.source}, image #{self.index}: true label {self.label_name}"


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
    """Samples the current `ImageSet`: the bundled examples until `use` gives a better one."""

    def __init__(self, examples: ImageSet | None = None) -> None:
        self.bundled = examples if examples is not None else bundled()
        self.current: ImageSet = self.bundled
        self._lock = threading.Lock()
        self._known: dict[str, tuple[int, str]] = {}
        self._recent: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._bundled_index: dict[str, int] = {}
        for index in range(len(self.bundled)):
            key = image_fingerprint(self.bundled.image(index))
            self._known[key] = (int(self.bundled.labels[index]), f"bundled example #{index}")
            self._bundled_index[key] = index

    def use(self, image_set: ImageSet) -> None:
        with self._lock:
            self.current = image_set
        log.info("Sampling from %s (%s)", image_set.name, image_set.source)

    def sample(self, index: Any = None, seed: int | None = None) -> Sample:
        """The image at `index` of the current set; None draws one (from `seed` if given)."""
        image_set = self.current
        chosen = parse_index(index, len(image_set))
        if chosen is None:
            chooser = random.Random(seed) if seed is not None else random
            chosen = chooser.randrange(len(image_set))
        sample = Sample(
            image_set.image(chosen), int(image_set.labels[chosen]), chosen, image_set.name
        )
        self.remember(sample.image, sample.label, f"{sample.source}, image #{chosen}")
        return sample

    def remember(self, image: Image.Image, label: int, where: str) -> None:
        """Know `image`'s true label from now on (a sampled image, or one of another split the
        caller loaded), so an explanation of it can say right or wrong."""
        with self._lock:
            key = image_fingerprint(image)
            self._recent[key] = (int(label), where)
            self._recent.move_to_end(key)
            while len(self._recent) > TRUTH_MEMORY:
                self._recent.popitem(last=False)

    def bundled_index(self, image: Image.Image) -> int | None:
        """The index of a bundled example (the first test images: the same index in the full
        test set), so "load this index" gives the example back."""
        return self._bundled_index.get(image_fingerprint(image))

    def truth(self, image: Image.Image) -> tuple[int, str] | None:
        """(label, where it is from) when `image` is a bundled or recently sampled test image."""
        key = image_fingerprint(image)
        with self._lock:
            return self._known.get(key) or self._recent.get(key)
