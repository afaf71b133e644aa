"""The test set the app browses: decoded once, in the background from start-up, and shared
with the sampler, so an index means the same image in the Test set tab, /browse and /sample.

`interpret.samples.load_in_background` does the work (the configured folder, a cached or, on
a Space, downloaded copy of the Hub's pinned split, else the 20 bundled images with a reason);
requests that need the set wait for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from interpret import testset
from interpret.samples import Sampler, load_in_background
from interpret.testset import TestSet

Waiting = Callable[[str], None]


class TestSetSource:
    """The sampler's test set, once loaded."""

    __test__ = False  # not a pytest test class

    def __init__(self, sampler: Sampler, environ: Mapping[str, str] | None = None) -> None:
        self.sampler = sampler
        if sampler.download is None:  # a Space's sampler has started its download already
            sampler.download = load_in_background(sampler, environ)
        self._fallback: TestSet | None = None

    @property
    def ready(self) -> bool:
        return not self.sampler.download.is_alive()

    def get(self, waiting: Waiting | None = None) -> TestSet:
        """The set, after waiting for the load (`waiting(text)` is told first, for a progress
        bar); the bundled images, with a reason, if loading failed."""
        if not self.ready and waiting is not None:
            waiting("Loading the test set (once per server start)")
        self.sampler.download.join()
        if self.sampler.test_set is not None:
            return self.sampler.test_set
        if self._fallback is None:
            self._fallback = testset.bundled("loading the test set failed (see the server log)")
        return self._fallback
