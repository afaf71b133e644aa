"""The test set the app browses: decoded once, in the background from start-up, and handed to
the sampler, so an index means the same image in the Test set tab, /browse and /sample.

`interpret.dataset.sources.load_test_set` picks the source (the configured folder, a cached
or, on a Space, downloaded copy of the Hub's pinned split, else the 20 bundled images with a
reason); requests that need the set wait for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from interpret import settings
from interpret.dataset.images import ImageSet
from interpret.dataset.sampler import Sample, Sampler
from interpret.dataset.sources import bundled, load_test_set

log = logging.getLogger("interpret")

Waiting = Callable[[str], None]


class TestSetSource:
    """The test set, loading in a background thread from construction on, and its sampler."""

    __test__ = False  # not a pytest test class

    def __init__(self, sampler: Sampler, environ: Mapping[str, str] | None = None) -> None:
        self.sampler = sampler
        configured = settings.read(environ)
        # A local copy decodes in seconds: /sample waits for it rather than answering from the
        # 20 examples. A download may take a minute: meanwhile the examples are sampled.
        self.local = bool(configured.cifar10_dir)
        if not self.local and not configured.on_space:
            log.info(
                "Sampling from %s; INTERPRET_CIFAR10_DIR adds the full set", sampler.bundled.name
            )
        self._loaded: ImageSet | None = None
        self._fallback: ImageSet | None = None
        self._thread = threading.Thread(
            target=self._load, args=(environ,), name="test-set-load", daemon=True
        )
        self._thread.start()

    def _load(self, environ: Mapping[str, str] | None) -> None:
        try:
            test_set = load_test_set(environ)
        except Exception:  # load_test_set falls back by itself; anything else is a bug
            log.exception(
                "Loading the test set failed; sampling from %s", self.sampler.bundled.name
            )
            return
        if test_set.reason is None:
            self.sampler.use(test_set)
        else:
            level = logging.INFO if test_set.chosen else logging.WARNING
            log.log(level, "Sampling from %s: %s", self.sampler.bundled.name, test_set.reason)
        self._loaded = test_set

    @property
    def ready(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def get(self, waiting: Waiting | None = None) -> ImageSet:
        """The set, after waiting for the load (`waiting(text)` is told first, for a progress
        bar); the bundled images, with a reason, if loading failed."""
        if not self.ready and waiting is not None:
            waiting("Loading the test set (once per server start)")
        self._thread.join()
        if self._loaded is not None:
            return self._loaded
        if self._fallback is None:
            self._fallback = bundled("loading the test set failed (see the server log)")
        return self._fallback

    def sample(self, index: Any = None, seed: int | None = None) -> Sample:
        """`Sampler.sample`, from the configured local set once it is decoded."""
        if self.local:
            self._thread.join()
        return self.sampler.sample(index, seed)
