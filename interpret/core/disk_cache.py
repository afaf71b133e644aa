"""Arrays cached on disk, written atomically and checked before they are trusted.

Predictions over a test set and class strategies take seconds to compute and are asked for
again and again, by every visitor of the app, so they are kept under the cache directory
(``$INTERPRET_CACHE_DIR``, default ``~/.cache/interpret``). A file is written to a temporary
name and renamed into place, so a reader never sees half of one; each holds a SHA-256 of its
arrays and of the key it was computed for, so a truncated, edited or mismatched file is
recomputed instead of being believed. Nothing is unpickled (``allow_pickle=False``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from interpret import settings

log = logging.getLogger("interpret")

_META = "__meta__"
_DIGEST = "__digest__"


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """``$INTERPRET_CACHE_DIR``, else ``~/.cache/interpret``: every cache lives below it."""
    return settings.read(environ).cache_dir


def _digest(arrays: Mapping[str, np.ndarray], meta_text: str) -> str:
    """SHA-256 over the key and every array's name, dtype, shape and bytes."""
    digest = hashlib.sha256(meta_text.encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray], meta: Mapping) -> None:
    """Write `arrays` with `meta` (the key they belong to) to `path`, atomically.

    A cache that cannot be written (read-only disk, full disk) is logged and skipped: the
    caller already has its result."""
    meta_text = json.dumps(dict(meta), sort_keys=True)
    payload = {name: np.ascontiguousarray(value) for name, value in arrays.items()}
    payload[_META] = np.frombuffer(meta_text.encode(), dtype=np.uint8)
    payload[_DIGEST] = np.frombuffer(_digest(arrays, meta_text).encode(), dtype=np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as output:
                np.savez(output, **payload)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        log.warning("Could not write the cache file %s (%s); continuing without it", path, error)


def load_arrays(path: Path, meta: Mapping) -> dict[str, np.ndarray] | None:
    """The arrays saved at `path` for exactly this `meta`, or None (missing, corrupt, other key).

    Anything but a file that checks out is logged and reported as None, so the caller
    recomputes and overwrites it."""
    if not path.is_file():
        return None
    expected_meta = json.dumps(dict(meta), sort_keys=True)
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        meta_text = arrays.pop(_META).tobytes().decode()
        digest = arrays.pop(_DIGEST).tobytes().decode()
    except Exception as error:  # zip, CRC, format or decoding errors: all mean "do not trust"
        log.warning("Ignoring the unreadable cache file %s (%s)", path, error)
        return None
    if meta_text != expected_meta:
        log.warning("Ignoring the cache file %s: it was written for another key", path)
        return None
    if _digest(arrays, meta_text) != digest:
        log.warning("Ignoring the cache file %s: its contents fail their checksum", path)
        return None
    return arrays
