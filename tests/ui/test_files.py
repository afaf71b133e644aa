"""ui/files.py: the files the app hands to Gradio, whole, in folders of its own."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import example
from PIL import Image

from ui import files


def test_the_private_root_is_this_users_alone() -> None:
    root = files.private_root()
    info = root.lstat()
    assert stat.S_ISDIR(info.st_mode)
    if hasattr(os, "getuid"):
        assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077 == 0


def test_each_request_gets_a_fresh_folder_and_old_ones_are_pruned(tmp_path: Path) -> None:
    old, new = tmp_path / "request-old", tmp_path / "request-new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "a.npz").write_bytes(b"x")
    stale = time.time() - files.KEEP_FILES_S - 5
    os.utime(old, (stale, stale))
    files.prune(tmp_path)
    assert not old.exists() and (new / "a.npz").exists()
    first, second = files.request_folder(), files.request_folder()
    assert first != second and first.parent == second.parent == files.private_root()
    assert not any(first.iterdir())


def test_pictures_are_pngs_of_the_same_pixels_named_as_gradio_names_them(tmp_path: Path) -> None:
    pictures = [Image.open(example(3)).convert("RGB"), Image.new("RGB", (256, 330), "red")]
    paths = files.save_pictures(pictures, tmp_path)
    assert len(set(paths)) == 2
    for path, picture in zip(paths, pictures, strict=True):
        assert Path(path).name == "image.png" and Path(path).parent.parent == tmp_path
        with Image.open(path) as saved:
            assert saved.format == "PNG"
            assert np.array_equal(np.asarray(saved), np.asarray(picture))


def test_downloads_hold_the_arrays_and_the_record(tmp_path: Path) -> None:
    arrays = {"saliency": np.arange(3 * 32 * 32, dtype=np.float32).reshape(3, 32, 32)}
    last = {
        "name": "explanation_cat",
        "attributions": arrays,
        "record": {"seed": 0, "p": Path("x")},
    }
    npz, record = files.write_downloads(last, tmp_path)
    assert Path(npz).name == "explanation_cat.npz" and Path(record).name == "explanation_cat.json"
    with np.load(npz) as saved:
        assert saved["saliency"].dtype == np.float32
        np.testing.assert_array_equal(saved["saliency"], arrays["saliency"])
    assert json.loads(Path(record).read_text()) == {"seed": 0, "p": "x"}


@pytest.mark.parametrize("data", [b"", b"\x89PNG whole"])
def test_write_atomically_writes_exactly_the_bytes(tmp_path: Path, data: bytes) -> None:
    target = files.write_atomically(tmp_path / "image.png", data)
    assert target.read_bytes() == data and list(tmp_path.iterdir()) == [target]
