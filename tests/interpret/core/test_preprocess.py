"""Odd but valid images are explained; broken input gets a clear `ImageError`."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from conftest import example
from PIL import Image

from interpret import explain
from interpret.core.preprocess import MAX_PIXELS, ImageError, load_image, model_image, to_tensor


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def gradient(width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    y = np.linspace(0, 255, height, dtype=np.uint8)
    return Image.fromarray(
        np.stack(np.broadcast_arrays(x[None], y[:, None], 128 + 0 * x[None]), -1)
    )


def test_cifar_image_passes_through_untouched() -> None:
    original = Image.open(example(0)).convert("RGB")
    assert np.array_equal(np.asarray(model_image(example(0))), np.asarray(original))


def test_resize_policy_center_square() -> None:
    wide = Image.new("RGB", (300, 100), "red")
    wide.paste(Image.new("RGB", (100, 100), "blue"), (100, 0))  # the centered square
    assert np.asarray(model_image(wide))[16, 16].tolist() == [0, 0, 255]


def _odd_images() -> dict[str, bytes | Image.Image | np.ndarray]:
    rgba = gradient().convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    frames = [Image.new("RGB", (40, 40), c) for c in ("red", "green")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100)
    webp = io.BytesIO()
    frames[0].save(webp, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    sixteen = Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16))
    floats = Image.fromarray(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64))
    palette = gradient().convert("P", palette=Image.Palette.ADAPTIVE)
    transparent_palette = palette.copy()
    transparent_palette.info["transparency"] = 0
    return {
        "1x1": encode(Image.new("RGB", (1, 1), "purple"), "PNG"),
        "tall 1x2000": encode(Image.new("RGB", (1, 2000), "navy"), "PNG"),
        "wide 3000x2": encode(gradient(3000, 2), "PNG"),
        "grayscale": encode(gradient().convert("L"), "PNG"),
        "rgba": encode(rgba, "PNG"),
        "la": encode(rgba.convert("LA"), "PNG"),
        "palette": encode(palette, "PNG"),
        "palette with transparency": encode(transparent_palette, "PNG"),
        "16-bit png": encode(sixteen, "PNG"),
        "16-bit tiff": encode(sixteen, "TIFF"),
        "float tiff": encode(floats, "TIFF"),
        "cmyk jpeg": encode(gradient().convert("CMYK"), "JPEG"),
        "animated gif": gif.getvalue(),
        "animated webp": webp.getvalue(),
        "bmp": encode(gradient(), "BMP"),
        "pil image": gradient(),
        "uint8 array": np.asarray(gradient()),
        "float array": np.asarray(gradient(), dtype=np.float32) / 255,
        "chw array": np.moveaxis(np.asarray(gradient()), -1, 0),
    }


@pytest.mark.parametrize("name", list(_odd_images()))
def test_odd_images_become_32x32_rgb(name: str) -> None:
    picture = model_image(_odd_images()[name])
    assert picture.mode == "RGB" and picture.size == (32, 32)
    tensor = to_tensor(picture)
    assert tensor.shape == (1, 3, 32, 32) and tensor.min() >= -1 and tensor.max() <= 1


def test_odd_images_are_explained(seeded_net) -> None:
    for name, image in _odd_images().items():
        result = explain(seeded_net, image, "saliency,integrated_gradients", n_steps=8)
        assert result.attributions["saliency"].shape == (3, 32, 32), name


def test_transparency_is_composited_on_white() -> None:
    clear = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    assert np.asarray(load_image(encode(clear, "PNG")))[0, 0].tolist() == [255, 255, 255]


def test_first_frame_of_an_animation() -> None:
    pixel = np.asarray(model_image(_odd_images()["animated gif"]))[16, 16]
    assert pixel[0] > 200 and pixel[1] < 50


def test_sixteen_bit_keeps_its_range() -> None:
    white = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))
    assert np.asarray(load_image(encode(white, "PNG"))).min() == 255


def test_exif_orientation_is_respected() -> None:
    landscape = Image.new("RGB", (60, 30), "white")
    landscape.paste(Image.new("RGB", (30, 30), "black"), (0, 0))  # black on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree turn
    upright = load_image(encode(landscape, "JPEG", exif=exif))
    assert upright.size == (30, 60)
    assert np.asarray(upright)[5, 15].mean() < 60 and np.asarray(upright)[55, 15].mean() > 200


def test_large_jpeg_is_decoded_at_reduced_size() -> None:
    big = Image.new("RGB", (4000, 3000), "green")
    image = Image.open(io.BytesIO(encode(big, "JPEG")))
    assert model_image(image).size == (32, 32)
    draft = Image.open(io.BytesIO(encode(big, "JPEG")))
    draft.draft("RGB", (256, 256))
    assert draft.size[0] < 4000  # the decoder really scales JPEGs down while decoding


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: its pixels are never needed to refuse it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, I am a text file\n", "not an image"),
        (b"%PDF-1.4\n1 0 obj << >> endobj\n", "not an image"),
        (b"PK\x03\x04" + b"\0" * 100, "not an image"),
        (encode(gradient(), "PNG")[:120], "truncated or corrupt"),
        (encode(gradient(), "JPEG")[:200], "truncated or corrupt"),
        (_png_header_only(100_000, 100_000), f"the limit is {MAX_PIXELS:,} pixels"),
    ],
    ids=["empty", "text", "pdf", "zip", "truncated png", "truncated jpeg", "bomb"],
)
def test_broken_input_is_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        model_image(data)


def test_missing_file_and_bad_types() -> None:
    with pytest.raises(ImageError, match="no such image file"):
        load_image("/nonexistent/picture.png")
    with pytest.raises(ImageError, match="not an image"):
        load_image(np.zeros((5, 5, 7)))
    with pytest.raises(ImageError, match="unsupported image input"):
        load_image(3.14)  # type: ignore[arg-type]
