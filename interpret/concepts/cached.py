"""Where the learned-features view keeps what it computes over an image set: one file per
(kind, weights, set) under the cache root's features/, keyed like the predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interpret.core.disk_cache import cache_root
from interpret.core.model import Net
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import weights_digest


def cache_entry(
    model: Net, images: ImageSet, kind: str, cache_dir: Path | None, **settings: Any
) -> tuple[Path, dict[str, Any]]:
    """(file, key) for `kind` (a file-name word) of `model` over `images`."""
    weights = weights_digest(model)
    root = cache_root() if cache_dir is None else Path(cache_dir)
    meta = {
        "kind": kind,
        "weights": weights,
        "dataset": images.fingerprint,
        "n": len(images.labels),
        **settings,
    }
    return root / "features" / f"{weights[:20]}-{images.fingerprint[:20]}-{kind}.npz", meta
