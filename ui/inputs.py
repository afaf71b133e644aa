"""Reading a request's raw values: the uploaded image, the target, the contrast, the flags.

Events skip Gradio's preprocessing, so these functions see exactly what the client sent and
turn it into what `interpret.explain` takes; the library validates the settings themselves.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image

from interpret import CLASSES, ImageError, ParamError, model_image

from .config import NO_CONTRAST, PREDICTED, REQUEST, TRUE_LABEL
from .errors import FILE_ONLY, NO_URLS, NOT_UPLOADED, no_image


def uploaded_path(image: Any, upload_folder: str | Path | None = None) -> str:
    """The upload's path in Gradio's cache, which Gradio checked (events skip preprocessing so
    that `interpret` decodes the file itself, with its pixel cap and its own error messages).

    With `upload_folder`, a path outside it is refused too: only uploads are ever read, even
    if a value reached the event without Gradio's check (see ui/gradio_fixes.py)."""
    if image is None:
        raise no_image()
    path = image.get("path") if isinstance(image, dict) else None
    if not isinstance(path, str) or not path:
        raise ImageError(FILE_ONLY)
    if "://" in path:
        raise ImageError(NO_URLS)
    if upload_folder is not None and not _inside(path, upload_folder):
        raise ImageError(NOT_UPLOADED)
    return path


def _inside(path: str, folder: str | Path) -> bool:
    """Whether `path`, links and '..' resolved, lies inside `folder`."""
    try:
        return Path(path).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, ValueError):
        return False


@lru_cache(maxsize=256)
def _decoded(path: str) -> Image.Image:
    return model_image(path)


def decoded(path: str) -> Image.Image:
    """The 32x32 model input of an upload, decoded once for the three steps that need it (a path
    always holds the same bytes: Gradio names each upload's folder by its content hash)."""
    return _decoded(path).copy()


def resolve_target(choice: Any, truth: tuple[int, str] | None) -> Any:
    """'predicted'/blank -> None, 'true label' -> the known label; anything else to the library."""
    name = choice.strip().lower() if isinstance(choice, str) else choice
    if name is None or name in ("", PREDICTED):
        return None
    if name == TRUE_LABEL:
        if truth is None:
            raise ParamError(
                "target 'true label' needs a CIFAR-10 test image whose label the app knows "
                "(an example or a sampled image); choose 'predicted' or a class"
            )
        return truth[0]
    return choice


def resolve_contrast(choice: Any) -> int | None:
    """'none'/blank -> None; a class name (any case) or index 0-9 -> its index."""
    if choice is None:
        return None
    if isinstance(choice, bool):
        raise ParamError(f"contrast must be '{NO_CONTRAST}' or a class, got {choice!r}")
    name = str(choice).strip().lower()
    if name in ("", NO_CONTRAST):
        return None
    if name in CLASSES:
        return CLASSES.index(name)
    if name.isdecimal() and int(name) < len(CLASSES):
        return int(name)
    raise ParamError(
        f"unknown contrast class {choice!r}; choose '{NO_CONTRAST}' or one of {', '.join(CLASSES)}"
    )


def as_flag(name: str, value: Any) -> bool:
    """A checkbox value; JSON clients may send true/false, 0/1 or their strings."""
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ParamError(f"{name} must be true or false, got {value!r}")


def as_request(values: dict[str, Any]) -> dict[str, Any]:
    """The parameters after the image, by name, as the client sent them."""
    return {name: values[name] for name in REQUEST}


def request_key(image: Any, request: dict[str, Any]) -> str:
    """Identifies a request, so /download can reuse the session's last explanation."""
    path = image.get("path") if isinstance(image, dict) else None
    return json.dumps({"image": path, **request}, sort_keys=True, default=repr)


def whole_number(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """`value` as a whole number (from `low`, to `high`), else `ParamError` in the app's words:
    what a number field, a JSON client or a link may send (3, 3.0, "3")."""
    span = {
        (True, True): f" between {low} and {high}",
        (True, False): f" of at least {low}",
    }.get((low is not None, high is not None), "")
    refused = ParamError(f"{name} must be a whole number{span}, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise refused
    try:
        number = float(value)
    except ValueError:
        raise refused from None
    outside = (low is not None and number < low) or (high is not None and number > high)
    if not number.is_integer() or outside:
        raise refused
    return int(number)
