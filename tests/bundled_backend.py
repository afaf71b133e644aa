"""The app's endpoints configured as app.py does, in this process, on the 20 bundled images."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from interpret import Net
from interpret.dataset.sampler import Sampler
from ui import api
from ui.dataset import TestSetSource
from ui.models import Models


@contextmanager
def bundled_backend(model: Net, cache: Path) -> Iterator[api.Backend]:
    """`api.configure(...)` on the bundled images, caching in `cache`; the previous backend
    comes back afterwards."""
    saved = api._backend
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INTERPRET_CACHE_DIR", str(cache))
        sampler = Sampler()
        source = TestSetSource(sampler, {"INTERPRET_CIFAR10_ROOT": str(cache / "none")})
        try:
            yield api.configure(
                model, sampler, None, Models.build(model, "cpu", environ={}), source
            )
        finally:
            api._backend = saved
