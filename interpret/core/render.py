"""Heat-map overlays rendered in numpy, matching Captum's ``blended_heat_map``.

Captum draws through a matplotlib figure per image, which costs tens of milliseconds; here
the same normalization (sign, outlier percentile), the same colormaps and the same alpha
blend over the contrast-stretched grayscale image are computed directly, then upscaled and
labeled with PIL.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Colormap, LinearSegmentedColormap
from PIL import Image, ImageDraw, ImageFont

SCALE = 8  # 32 px -> 256 px, nearest neighbour so each input pixel stays visible
CAPTION_HEIGHT = 44  # a one-line title; each wrapped line adds a title line's height
CAPTION_MARGIN = 4  # left of the caption text, and kept free at its right
TITLE_SIZE = 15
MIN_TITLE_SIZE = 10  # a long title shrinks to this before it wraps
COLORBAR_HEIGHT = 30
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
MUTED = (90, 90, 90)


@cache
def colormap(sign: str, name: str | None = None) -> Colormap:
    """Captum's default colormap for a sign convention (or a named matplotlib one)."""
    if name is not None:
        return colormaps[name]
    if sign == "all":
        return LinearSegmentedColormap.from_list("RdWhGn", ["red", "white", "green"])
    return colormaps[{"positive": "Greens", "negative": "Reds", "absolute_value": "Blues"}[sign]]


# Pillow's bundled font lacks arrows, minus signs and superscripts; DejaVu has them.
_ASCII_FALLBACK = str.maketrans({"→": "->", "−": "-", "²": "^2", "×": "x"})


@cache
def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """(font, has_unicode): DejaVu Sans when installed, else Pillow's default."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size), True
    except OSError:
        return ImageFont.load_default(size=size), False


def _drawable(text: str, size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, str]:
    font, has_unicode = _font(size)
    return font, text if has_unicode else text.translate(_ASCII_FALLBACK)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, **kwargs) -> None:
    font, text = _drawable(text, size)
    draw.text(xy, text, font=font, **kwargs)


_MEASURE = ImageDraw.Draw(Image.new("RGB", (1, 1)))


def _right_edge(text: str, size: int) -> int:
    """Where the text's ink ends when drawn at the caption margin."""
    font, text = _drawable(text, size)
    return int(_MEASURE.textbbox((CAPTION_MARGIN, 0), text, font=font)[2])


def _ascent(size: int) -> int:
    font = _font(size)[0]
    return font.getmetrics()[0] if hasattr(font, "getmetrics") else 0


def _line_height(size: int) -> int:
    return round(size * 1.2)


def _wrap(title: str, size: int, right: int) -> list[str]:
    """Greedy word wrap; a lone symbol (the "→") starts a line with the word after it, and a
    word too long for any line is broken between characters."""
    words: list[str] = []
    for word in title.split(" "):
        if words and not any(c.isalnum() for c in words[-1]):
            words[-1] += " " + word
        else:
            words.append(word)
    lines: list[str] = []
    for word in words:
        if lines and _right_edge(f"{lines[-1]} {word}", size) <= right:
            lines[-1] += " " + word
            continue
        while len(word) > 1 and _right_edge(word, size) > right:
            fitting = [n for n in range(2, len(word)) if _right_edge(word[:n], size) <= right]
            cut = max(fitting, default=1)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines


def _title_layout(width: int, title: str) -> tuple[int, list[str]]:
    """(font size, lines) for a title that fits the strip: one line at the full size when it
    fits (drawn as always), else one line at the largest size down to MIN_TITLE_SIZE, else the
    fewest wrapped lines at the largest size that fits them."""
    right = width - CAPTION_MARGIN
    sizes = range(TITLE_SIZE, MIN_TITLE_SIZE - 1, -1)
    for size in sizes:
        if _right_edge(title, size) <= right:
            return size, [title]
    layouts = [(size, _wrap(title, size, right)) for size in sizes]
    return min(layouts, key=lambda layout: (len(layout[1]), -layout[0]))


def value_range(sign: str) -> tuple[float, float]:
    return (-1.0, 1.0) if sign == "all" else (0.0, 1.0)


def _cumulative_sum_threshold(values: np.ndarray, percentile: float) -> float:
    sorted_values = np.sort(values.ravel())
    cumulative = np.cumsum(sorted_values)
    index = np.where(cumulative >= cumulative[-1] * 0.01 * percentile)[0][0]
    return float(sorted_values[index])


def normalize_source(attribution: np.ndarray, sign: str) -> np.ndarray:
    """The channel-summed map, reduced to the part `sign` shows."""
    summed = attribution.sum(axis=0) if attribution.ndim == 3 else attribution
    if sign == "absolute_value":
        return np.abs(summed)
    if sign == "positive":
        return np.maximum(summed, 0)
    if sign == "negative":
        return np.minimum(summed, 0)
    return summed


def normalize_attribution(
    attribution: np.ndarray, sign: str, outlier_perc: float, scale_of: np.ndarray | None = None
) -> np.ndarray:
    """Channel-summed map scaled to [-1, 1] exactly as Captum's ``_normalize_attr``; with
    `scale_of`, on that map's scale instead (parts of one map drawn comparably).

    An all-zero map (e.g. a dead ReLU path) stays zero instead of dividing by zero.
    """
    summed = normalize_source(attribution, sign)
    reference = summed if scale_of is None else normalize_source(scale_of, sign)
    threshold = _cumulative_sum_threshold(np.abs(reference), 100.0 - outlier_perc)
    if threshold == 0:
        return np.zeros_like(summed)
    if sign == "negative":
        threshold = -threshold
    return np.clip(summed / threshold, -1, 1)


def _grayscale(image: np.ndarray) -> np.ndarray:
    """Mean over channels, min-max stretched: what ``imshow(cmap="gray")`` shows."""
    gray = image.astype(np.float64).mean(axis=2)
    low, high = gray.min(), gray.max()
    scaled = (gray - low) / (high - low) if high > low else np.zeros_like(gray)
    levels = np.minimum((scaled * 256).astype(int), 255)  # matplotlib's 256-entry lookup
    return np.repeat((levels / 255.0)[..., None], 3, axis=2)


def blend(
    attribution: np.ndarray,
    image: np.ndarray,
    sign: str,
    outlier_perc: float,
    alpha: float = 0.5,
    cmap: str | None = None,
    scale_of: np.ndarray | None = None,
) -> np.ndarray:
    """HxWx3 uint8 blended heat map at the input's own size (Captum's colors)."""
    normalized = normalize_attribution(attribution, sign, outlier_perc, scale_of)
    low, high = value_range(sign)
    heat = colormap(sign, cmap)((normalized - low) / (high - low))[..., :3]
    mixed = alpha * heat + (1 - alpha) * _grayscale(image)
    return np.round(mixed * 255).astype(np.uint8)


@cache
def _colorbar(width: int, sign: str, cmap: str | None) -> Image.Image:
    """The color scale under a map: the same for every map of a sign, so drawn once (callers
    only paste it; text rendering is most of the cost of a card)."""
    bar = Image.new("RGB", (width, COLORBAR_HEIGHT), BACKGROUND)
    ramp = colormap(sign, cmap)(np.linspace(0, 1, width))[:, :3]
    strip = np.repeat((ramp * 255).astype(np.uint8)[None], 10, axis=0)
    bar.paste(Image.fromarray(strip), (0, 2))
    draw = ImageDraw.Draw(bar)
    labels = ("−1 against", "0", "+1 for") if sign == "all" else ("0", "", "1 (max)")
    _text(draw, (2, 14), labels[0], 11, fill=MUTED)
    _text(draw, (width // 2, 14), labels[1], 11, fill=MUTED, anchor="ma")
    _text(draw, (width - 2, 14), labels[2], 11, fill=MUTED, anchor="ra")
    return bar


@lru_cache(maxsize=256)  # 34 KB each
def _caption(width: int, title: str, subtitle: str) -> Image.Image:
    """A card's caption, title over subtitle, drawn once per text (callers only paste it).

    The whole title always shows: a long one is drawn smaller on the same baseline, and one
    still too long is wrapped, the strip growing by a line per extra line."""
    size, lines = _title_layout(width, title)
    extra = (len(lines) - 1) * _line_height(size)
    strip = Image.new("RGB", (width, CAPTION_HEIGHT + extra), BACKGROUND)
    draw = ImageDraw.Draw(strip)
    top = 4 + _ascent(TITLE_SIZE) - _ascent(size)
    for i, line in enumerate(lines):
        _text(draw, (CAPTION_MARGIN, top + i * _line_height(size)), line, size, fill=TEXT)
    _text(draw, (CAPTION_MARGIN, 25 + extra), subtitle, 11, fill=MUTED)
    return strip


def card(picture: np.ndarray | Image.Image, title: str, subtitle: str) -> Image.Image:
    """A titled, upscaled picture: what a gallery tile or saved PNG shows."""
    picture = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    size = (picture.width * SCALE, picture.height * SCALE)
    big = picture.resize(size, Image.Resampling.NEAREST)
    caption = _caption(big.width, title, subtitle)
    canvas = Image.new("RGB", (big.width, caption.height + big.height), BACKGROUND)
    canvas.paste(caption, (0, 0))
    canvas.paste(big, (0, caption.height))
    return canvas


def overlay_card(
    attribution: np.ndarray,
    image: np.ndarray,
    title: str,
    sign: str,
    outlier_perc: float,
    sign_text: str,
    alpha: float = 0.5,
    cmap: str | None = None,
    scale_of: np.ndarray | None = None,
) -> Image.Image:
    """Blended heat map, upscaled, with caption and color scale (on `scale_of`'s scale when
    given: a part of a map drawn as the whole map would draw it)."""
    picture = blend(attribution, image, sign, outlier_perc, alpha, cmap, scale_of)
    tile = card(picture, title, sign_text)
    framed = Image.new("RGB", (tile.width, tile.height + COLORBAR_HEIGHT), BACKGROUND)
    framed.paste(tile, (0, 0))
    framed.paste(_colorbar(tile.width, sign, cmap), (0, tile.height))
    return framed
