"""Files the app hands to Gradio: pictures and downloads, each written whole before Gradio sees it.

Every request gets a fresh folder in this user's private folder under the system temp dir
(which Gradio serves from), never a path a client names. Gradio copies what it serves into its
own cache (atomically, see ui/gradio_fixes.py), so folders older than KEEP_FILES_S are pruned,
also those a killed server left.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .config import KEEP_FILES_S

PICTURE_NAME = "image.png"  # the name Gradio gives pictures it saves, as clients saw before


@lru_cache(maxsize=1)
def private_root() -> Path:
    """This user's private folder for request folders, shared by the app's processes so that
    each prunes what others left; a private temp folder if that one is not safely ours."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    root = Path(tempfile.gettempdir()) / f"interpret-downloads-{uid if uid is not None else 0}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
        if stat.S_ISDIR(info.st_mode) and (uid is None or info.st_uid == uid):
            return root
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="interpret-downloads-"))


def prune(root: Path, keep_s: float = KEEP_FILES_S) -> None:
    """Remove request folders older than `keep_s` seconds."""
    cutoff = time.time() - keep_s
    for folder in root.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass  # another request pruned it first


def request_folder(prefix: str = "request-") -> Path:
    """A fresh folder for one request's files; old ones pruned first."""
    root = private_root()
    prune(root)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def write_atomically(path: Path, data: bytes) -> Path:
    """Write `data` to `path` under a temporary name, then rename it into place: a reader sees
    the whole file or none."""
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    with os.fdopen(handle, "wb") as output:
        output.write(data)
    os.replace(partial, path)
    return path


def save_pictures(pictures: list[Image.Image], folder: Path) -> list[str]:
    """Each picture as a PNG file of its own (folder/<n>/image.png), whole before it is named."""
    paths = []
    for number, picture in enumerate(pictures):
        (folder / str(number)).mkdir()
        target = folder / str(number) / PICTURE_NAME
        paths.append(str(write_atomically(target, png_bytes(picture))))
    return paths


def png_bytes(picture: Image.Image) -> bytes:
    """The picture as PNG (PIL's defaults, the same pixels Gradio would have encoded)."""
    buffer = BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def write_downloads(last: dict[str, Any], folder: Path) -> tuple[str, str]:
    """The .npz (one float32 array per method key) and the .json, in `folder`."""
    arrays, record = folder / f"{last['name']}.npz", folder / f"{last['name']}.json"
    np.savez(arrays, **last["attributions"])
    record.write_text(json.dumps(last["record"], indent=2, default=str))
    return str(arrays), str(record)
