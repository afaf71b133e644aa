"""Turn whatever a user uploads into the 32x32 tensor the tutorial's model expects.

Resize policy: EXIF orientation is applied, the first frame of an animation is used,
transparency is composited on a white background, 16-bit and float images are scaled to
8 bits, then the largest centered square is cropped and resized to 32x32 with bicubic
filtering (antialiased when shrinking). A 32x32 input passes through untouched, so
CIFAR-10 images reach the model exactly as in the tutorial. The pixel count is checked
from the header, before decoding, so a decompression bomb is refused cheaply.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from interpret.core.model import INPUT_SIZE, MEAN, STD

MAX_PIXELS = 50_000_000
MAX_FILE_BYTES = 50 * 1024 * 1024
BACKGROUND = (255, 255, 255)

ImageInput = Image.Image | np.ndarray | bytes | str | os.PathLike


class ImageError(ValueError):
    """An input that is not a usable image; the message is meant for the user."""


def _open(source: bytes | str | os.PathLike) -> Image.Image:
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"no such image file: {path.name}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
        data = path.read_bytes()
    if not data:
        raise ImageError("the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
    try:
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise ImageError(f"image is too large: the limit is {MAX_PIXELS:,} pixels") from error
    except UnidentifiedImageError as error:
        raise ImageError(
            "not an image file PIL can read (PNG, JPEG, GIF, WebP, TIFF, BMP...)"
        ) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageError(f"truncated or corrupt image data ({error})") from error


def _check_pixel_count(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"image is {width}x{height} = {width * height:,} pixels; "
            f"the limit is {MAX_PIXELS:,} pixels"
        )


def _decode(image: Image.Image) -> Image.Image:
    """Decode the first frame, at reduced size when the format allows (JPEG draft mode)."""
    _check_pixel_count(*image.size)
    try:
        image.seek(0)
        if image.format == "JPEG":
            image.draft("RGB", (INPUT_SIZE * 8, INPUT_SIZE * 8))
        image.load()
        return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as error:
        raise ImageError(f"image is too large: the limit is {MAX_PIXELS:,} pixels") from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise ImageError(f"truncated or corrupt image data ({error})") from error


def _high_depth_to_8bit(image: Image.Image) -> Image.Image:
    """Map 16-bit integer and float images to 8 bits by their nominal range."""
    array = np.asarray(image)
    if image.mode == "F":
        finite = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        scale = 1.0 if finite.max(initial=0.0) <= 1.0 else 255.0
        scaled = np.clip(finite / scale, 0.0, 1.0) * 255.0
    else:  # I;16 variants and 32-bit I
        peak = 65535.0 if array.max(initial=0) > 255 or image.mode.startswith("I;16") else 255.0
        scaled = np.clip(array.astype(np.float64) / peak, 0.0, 1.0) * 255.0
    return Image.fromarray(np.round(scaled).astype(np.uint8), mode="L")


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB with transparency composited on white and odd modes (CMYK, 16-bit, float) mapped."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = _high_depth_to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")


def _from_array(array: np.ndarray) -> Image.Image:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)  # CHW -> HWC
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ImageError(f"array of shape {array.shape} is not an image (HxW, HxWx3 or HxWx4)")
    _check_pixel_count(array.shape[1], array.shape[0])
    if array.dtype == np.uint8:
        return Image.fromarray(array)
    if array.dtype == bool:
        return Image.fromarray(array.astype(np.uint8) * 255)
    values = np.nan_to_num(array.astype(np.float64))
    peak = 1.0 if values.max(initial=0.0) <= 1.0 else (255.0 if values.max() <= 255 else 65535.0)
    return Image.fromarray(np.round(np.clip(values / peak, 0, 1) * 255).astype(np.uint8))


def load_image(source: ImageInput) -> Image.Image:
    """Any supported input -> an RGB PIL image at its own size, or `ImageError`."""
    if isinstance(source, np.ndarray):
        return to_rgb(_from_array(source))
    if isinstance(source, Image.Image):
        return to_rgb(_decode(source))
    if isinstance(source, (bytes, str, os.PathLike)):
        return to_rgb(_decode(_open(source)))
    raise ImageError(f"unsupported image input of type {type(source).__name__}")


def model_image(source: ImageInput) -> Image.Image:
    """The 32x32 RGB image the model sees (center square, bicubic resize)."""
    image = load_image(source)
    if image.size == (INPUT_SIZE, INPUT_SIZE):
        return image
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    return square.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC)


def to_tensor(image: Image.Image) -> torch.Tensor:
    """1x3x32x32 normalized tensor, bit-identical to ToTensor() + Normalize(MEAN, STD)."""
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).contiguous()
    tensor = pixels.to(torch.float32).div(255)
    mean = torch.tensor(MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(3, 1, 1)
    return tensor.sub_(mean).div_(std).unsqueeze(0)
