"""ui/inputs.py: a request's raw values as the events receive them, read the app's way."""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr
import pytest
from conftest import example

from interpret import CLASSES, ImageError, ParamError
from ui.config import REQUEST
from ui.errors import FILE_ONLY, NO_URLS, NOT_UPLOADED
from ui.inputs import (
    as_flag,
    as_request,
    decoded,
    request_key,
    resolve_contrast,
    resolve_target,
    uploaded_path,
)

META = {"_type": "gradio.FileData"}


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """An upload folder holding one upload (uploads/<hash>/cat.png), as Gradio lays it out."""
    folder = tmp_path / "uploads"
    (folder / "0123abcd").mkdir(parents=True)
    (folder / "0123abcd" / "cat.png").write_bytes(example(3).read_bytes())
    return folder


def test_an_upload_is_read_where_gradio_put_it(uploads: Path) -> None:
    path = str(uploads / "0123abcd" / "cat.png")
    assert uploaded_path({"path": path, "meta": META}, uploads) == path
    assert decoded(path).size == (32, 32)


@pytest.mark.parametrize(
    "path",
    [
        str(example(3)),
        "examples/cifar10_03_0.png",
        "UPLOADS/../../outside.png",
        "UPLOADS/../uploads-not/x.png",  # shares a prefix with the folder, is not inside it
    ],
    ids=["absolute", "relative", "dot-dot", "prefix"],
)
def test_a_path_outside_the_upload_folder_is_never_read(uploads: Path, path: str) -> None:
    with pytest.raises(ImageError) as refused:
        uploaded_path({"path": path.replace("UPLOADS", str(uploads))}, uploads)
    assert str(refused.value) == NOT_UPLOADED


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_link_out_of_the_upload_folder_is_never_read(uploads: Path) -> None:
    link = uploads / "0123abcd" / "link.png"
    link.symlink_to(example(3))
    with pytest.raises(ImageError, match="only files uploaded"):
        uploaded_path({"path": str(link)}, uploads)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("examples/cifar10_03_0.png", FILE_ONLY),
        (5, FILE_ONLY),
        ({"url": "x.png"}, FILE_ONLY),
        ({"path": ""}, FILE_ONLY),
        ({"path": "https://example.com/a.png"}, NO_URLS),
    ],
)
def test_values_that_are_not_uploads(value, reason: str, uploads: Path) -> None:
    with pytest.raises(ImageError) as refused:
        uploaded_path(value, uploads)
    assert str(refused.value) == reason


def test_no_image_says_how_to_get_one() -> None:
    with pytest.raises(gr.Error) as refused:
        uploaded_path(None)
    assert refused.value.message == "No image yet: upload one, click an example or press Random."


def test_targets() -> None:
    truth = (0, "bundled example #3")
    assert resolve_target("predicted", truth) is None
    assert resolve_target(" Predicted ", None) is None
    assert resolve_target("", None) is None and resolve_target(None, None) is None
    assert resolve_target("true label", truth) == 0
    assert resolve_target("cat", None) == "cat"  # the library reads classes and indices
    assert resolve_target(7, None) == 7
    with pytest.raises(ParamError, match="target 'true label' needs a CIFAR-10 test image"):
        resolve_target("true label", None)


def test_contrasts() -> None:
    assert resolve_contrast(None) is None and resolve_contrast(" none ") is None
    assert resolve_contrast("") is None
    assert resolve_contrast("Ship") == CLASSES.index("ship")
    assert resolve_contrast("9") == 9 and resolve_contrast(3) == 3
    for bad, words in [
        ("unicorn", "unknown contrast class 'unicorn'"),
        ("10", "unknown contrast class '10'"),
        ("²", "unknown contrast class '²'"),
        (True, "contrast must be 'none' or a class, got True"),
    ]:
        with pytest.raises(ParamError) as refused:
            resolve_contrast(bad)
        assert str(refused.value).startswith(words)


def test_flags() -> None:
    assert [as_flag("f", v) for v in (True, False, 1, 0, "true", " FALSE ")] == [
        True,
        False,
        True,
        False,
        True,
        False,
    ]
    for bad in ("maybe", 2, None, 0.5):
        with pytest.raises(ParamError, match="f must be true or false"):
            as_flag("f", bad)


def test_a_request_is_its_parameters_by_name_and_its_key_tells_requests_apart() -> None:
    values = {name: index for index, name in enumerate(REQUEST)} | {"image": {"path": "a"}}
    request = as_request(values)
    assert list(request) == list(REQUEST)
    same = request_key({"path": "a"}, dict(reversed(list(request.items()))))
    assert request_key({"path": "a"}, request) == same  # order does not matter
    assert request_key({"path": "b"}, request) != same
    assert request_key({"path": "a"}, request | {"seed": 99}) != same
