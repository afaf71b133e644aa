"""The training split the training-data view reads: loaded in a background thread after the
test set (never at start-up's expense), as ui/dataset.py loads the test set; started at
start-up when the app's model has training checkpoints (`influence_api.preload`), else on
first use, so a server whose model cannot use it decodes nothing.

`interpret.influence.load_training_set` picks the source (INTERPRET_CIFAR10_DIR's train/, a
downloaded torchvision copy, the Hub's split when downloads are allowed); when there is none,
the reason (what is missing and how to get it) is kept and shown by every panel and endpoint
that needs the set, and nothing else changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cache

from interpret.dataset.images import ImageSet
from interpret.influence import InfluenceUnavailable, load_training_set

from . import api

log = logging.getLogger("interpret.app")

Waiting = Callable[[str], None]


class TrainingSetSource:
    """The training split, loading in a thread once the test set has loaded; its progress
    (images decoded of the total) while it loads, and why there is none when there is none."""

    def __init__(self, after: Callable[[], None] | None = None) -> None:
        self._after = after
        self._loaded: ImageSet | None = None
        self._missing: str | None = None
        self.progress: tuple[int, int] = (0, 0)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._load, name="training-set-load", daemon=True)
        self.started = False

    def start(self) -> None:
        """Begin loading (once; later calls do nothing)."""
        with self._lock:
            if not self.started:
                self.started = True
                self._thread.start()

    def _report(self, done: int, total: int, _: str = "") -> None:
        self.progress = (int(done), int(total))

    def _load(self) -> None:
        if self._after is not None:
            self._after()  # the test set first: the page's own tabs need it sooner
        try:
            self._loaded = load_training_set(progress=self._report)
            log.info("Training set: %s (%s)", self._loaded.name, self._loaded.source)
        except Exception as error:  # TrainingSetMissing / DatasetError say it in words
            log.info("No training set for the training-data view: %s", error)
            self._missing = str(error).rstrip(".")

    @property
    def ready(self) -> bool:
        return self.started and not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self.started:
            self._thread.join(timeout)

    def status(self) -> str:
        """One line for a panel: loaded (which set), loading (how far), or missing (why)."""
        if not self.started:
            return "The training set is loaded when it is first needed."
        if not self.ready:
            done, total = self.progress
            shown = f": {done:,} of {total:,} images decoded" if total else ""
            return f"The training set is loading (once per server start){shown}."
        if self._loaded is not None:
            return f"Training set: {self._loaded.name} ({self._loaded.source})."
        return f"No training set here: {self._missing}."

    def get(self, waiting: Waiting | None = None) -> ImageSet:
        """The set, after waiting for its load (`waiting(text)` is told first); raises
        `InfluenceUnavailable` ("no-training-set") with what is missing and how to get it."""
        self.start()
        if not self.ready and waiting is not None:
            waiting("Loading the training set (once per server start)")
        self._thread.join()
        if self._loaded is None:
            raise InfluenceUnavailable(str(self._missing), "no-training-set")
        return self._loaded


@cache
def source() -> TrainingSetSource:
    """The process's training split (loaded after the app's test set, once started)."""
    return TrainingSetSource(after=lambda: api.backend().dataset.join())


def training_set(waiting: Waiting | None = None) -> ImageSet:
    """The training split (waits for its load), or `InfluenceUnavailable`."""
    return source().get(waiting)
