"""Image files built by hand for the app's hostile-input tests: PNGs whose header claims any
size (decompression bombs), a JPEG whose frame claims any size, and a place to write uploads."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import zlib
from pathlib import Path

from PIL import Image


def write_upload(directory: Path, data: bytes, suffix: str = ".png") -> str:
    """`data` in a new file of `directory`, as a client would upload it; its path."""
    handle, name = tempfile.mkstemp(dir=directory, suffix=suffix)
    with os.fdopen(handle, "wb") as output:
        output.write(data)
    return name


def png_bytes(path: Path) -> bytes:
    """The picture at `path`, encoded as a PNG."""
    buffer = io.BytesIO()
    Image.open(path).save(buffer, "PNG")
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, pixels: bytes = b"\0" * 64) -> bytes:
    """A grayscale PNG header for width x height, with `pixels` as its compressed data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(pixels, 9))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims width x height."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)
