"""The Test set tab's pictures, in PIL and numpy (no Gradio): thumbnails, the batch view's grid
of overlays, and a class strategy's mean map.

Thumbnails are the 32x32 test images as PNG files, written once per (test set, index) into a
folder that lives as long as the process, and reused by every page that shows them: a page
of 24 costs a few file lookups, not 24 encodes (the browser upscales them, pixelated, in CSS).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from interpret import METHODS, Explanation
from interpret.core.render import blend, card, colormap
from interpret.dataset.images import ImageSet

from .files import png_bytes, write_atomically

BATCH_SCALE = 3  # 32 px -> 96 px per cell of the batch grid
HEADER = 34  # the grid's column titles
ROW_LABEL = 150  # the grid's left column: the image's index and labels
GAP = 4
WHITE, TEXT, MUTED = (255, 255, 255), (20, 20, 20), (90, 90, 90)


class Thumbnails:
    """PNG files of test images, written once and reused (one folder per process)."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="interpret-thumbnails-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
        self.folder = folder
        self._lock = threading.Lock()

    def path(self, test_set: ImageSet, index: int) -> str:
        """Image `index` of `test_set` as a 32x32 PNG file (written on first use)."""
        folder = self.folder / test_set.fingerprint[:16]
        target = folder / f"{int(index)}.png"
        if not target.is_file():
            with self._lock:
                folder.mkdir(parents=True, exist_ok=True)
            write_atomically(target, png_bytes(test_set.image(int(index))))
        return str(target)


@cache
def thumbnails() -> Thumbnails:
    """The process's thumbnail store (made on first use)."""
    return Thumbnails()


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _overlay(result: Explanation, key: str, alpha: float) -> Image.Image:
    """One method's blended heat map, as `interpret.explain` draws it, upscaled for the grid."""
    method = METHODS[key]
    pixels = np.asarray(result.image, dtype=np.uint8)
    blended = blend(
        result.attributions[key], pixels, method.sign, method.outlier_perc, alpha, method.cmap
    )
    size = (pixels.shape[1] * BATCH_SCALE, pixels.shape[0] * BATCH_SCALE)
    return Image.fromarray(blended).resize(size, Image.Resampling.NEAREST)


def batch_grid(
    results: list[Explanation], row_labels: list[tuple[str, str]], alpha: float = 0.5
) -> Image.Image:
    """One picture: a row per image (its label, the input, then one overlay per method), a
    column per method, as Captum Insights showed a batch. `row_labels`: (title, subtitle)."""
    methods = list(results[0].methods) if results else []
    cell = 32 * BATCH_SCALE
    width = ROW_LABEL + (1 + len(methods)) * (cell + GAP)
    height = HEADER + len(results) * (cell + GAP)
    grid = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(grid)
    titles = ["input", *(METHODS[key].label for key in methods)]
    for column, title in enumerate(titles):
        x = ROW_LABEL + column * (cell + GAP)
        draw.multiline_text((x + 2, 2), _wrapped(title, 14), fill=TEXT, font=_font(11))
    for row, (result, (title, subtitle)) in enumerate(zip(results, row_labels, strict=True)):
        y = HEADER + row * (cell + GAP)
        draw.text((4, y + 4), title, fill=TEXT, font=_font(13))
        draw.multiline_text((4, y + 24), subtitle, fill=MUTED, font=_font(11), spacing=3)
        size = (cell, cell)
        grid.paste(result.image.resize(size, Image.Resampling.NEAREST), (ROW_LABEL, y))
        for column, key in enumerate(methods, start=1):
            grid.paste(_overlay(result, key, alpha), (ROW_LABEL + column * (cell + GAP), y))
    return grid


def _wrapped(text: str, width: int) -> str:
    """`text` on lines of at most about `width` characters, broken at spaces."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines[:2])


def mean_map_card(mean_map: np.ndarray, title: str, subtitle: str) -> Image.Image:
    """A strategy's mean map (scaled IG magnitudes in [0, 1]) as a heat map in the app's
    magnitude colors (darker = more influence), upscaled and captioned."""
    values = np.clip(np.asarray(mean_map, dtype=np.float64), 0.0, 1.0)
    peak = values.max()
    shown = values / peak if peak > 0 else values  # the mean's own range: where, not how much
    heat = colormap("absolute_value")(shown)[..., :3]
    return card(np.round(heat * 255).astype(np.uint8), title, subtitle)
