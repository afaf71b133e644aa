"""Overlays match Captum's blended_heat_map colors and come labeled, large and with a scale."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from captum.attr import visualization as viz
from conftest import example
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from interpret import METHODS, explain
from interpret.core.model import CLASSES
from interpret.core.render import (
    CAPTION_HEIGHT,
    TEXT,
    blend,
    card,
    normalize_attribution,
    overlay_card,
)

TUTORIAL_STYLE = {
    "saliency": ("absolute_value", 2),
    "integrated_gradients": ("all", 2),
    "ig_smoothgrad_sq": ("absolute_value", 10),
    "deeplift": ("all", 2),
}


def captum_pixels(attribution: np.ndarray, image: np.ndarray, sign: str, perc: float, size: int):
    """Captum's own render, on an axes that fills a size x size figure."""
    figure = Figure(figsize=(1, 1), dpi=size)
    axis = figure.add_axes((0, 0, 1, 1))
    axis.set_axis_off()
    viz.visualize_image_attr(
        np.transpose(attribution, (1, 2, 0)),
        image.astype(np.float32) / 255,
        method="blended_heat_map",
        sign=sign,
        outlier_perc=perc,
        plt_fig_axis=(figure, axis),
        use_pyplot=False,
    )
    return pixels_of(figure)


def pixels_of(figure: Figure) -> np.ndarray:
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int)


# Captum's default colormaps per sign (captum.attr.visualization), and each sign's range.
CAPTUM_CMAPS = {
    "all": (LinearSegmentedColormap.from_list("RdWhGn", ["red", "white", "green"]), -1, 1),
    "positive": ("Greens", 0, 1),
    "absolute_value": ("Blues", 0, 1),
}


def matplotlib_blend(normalized: np.ndarray, image: np.ndarray, sign: str) -> np.ndarray:
    """What Captum's blended_heat_map draws for an already normalized map: the channel mean of
    the image in gray, the map over it at alpha 0.5 (Captum itself refuses to normalize an
    all-zero map, so this draws the two layers as it would)."""
    cmap, low, high = CAPTUM_CMAPS[sign]
    figure = Figure(figsize=(1, 1), dpi=32)
    axis = figure.add_axes((0, 0, 1, 1))
    axis.set_axis_off()
    axis.imshow(np.mean(image.astype(np.float32) / 255, axis=2), cmap="gray")
    axis.imshow(normalized, cmap=cmap, vmin=low, vmax=high, alpha=0.5)
    return pixels_of(figure)


@pytest.fixture(scope="module")
def result(seeded_net):
    return explain(seeded_net, example(3), nt_samples=10)


@pytest.mark.parametrize("key", list(TUTORIAL_STYLE))
@pytest.mark.parametrize("size", [32, 256])
def test_colors_within_3_of_captums_render(result, key: str, size: int) -> None:
    sign, perc = TUTORIAL_STYLE[key]
    assert (METHODS[key].sign, METHODS[key].outlier_perc) == (sign, perc)
    image = np.asarray(result.image)
    ours = blend(result.attributions[key], image, sign, perc).astype(int)
    ours = np.repeat(np.repeat(ours, size // 32, axis=0), size // 32, axis=1)
    reference = captum_pixels(result.attributions[key], image, sign, perc, size)
    assert np.abs(ours - reference).max() <= 3


def test_overlays_are_large_labeled_cards(result) -> None:
    for key, overlay in result.overlays.items():
        assert overlay.mode == "RGB" and overlay.width >= 256 and overlay.height > 256
        pixels = np.asarray(overlay)
        assert pixels[:40].std() > 0  # caption text drawn above the map
        assert pixels[-30:].std() > 0  # color scale drawn below it
        assert result.caption(key).startswith(METHODS[key].label)


@pytest.mark.parametrize("sign", list(CAPTUM_CMAPS))
def test_an_all_zero_map_renders_as_the_colormaps_zero_over_the_image(result, sign) -> None:
    """A dead map (all zeros) shows the image under the colormap's zero, not an error."""
    zeros = np.zeros((3, 32, 32), dtype=np.float32)
    assert not normalize_attribution(zeros, sign, 2).any()
    image = np.asarray(result.image)
    ours = blend(zeros, image, sign, 2).astype(int)
    assert np.abs(ours - matplotlib_blend(np.zeros((32, 32)), image, sign)).max() <= 3
    card = overlay_card(zeros, image, "zero", sign, 2, "signed")
    assert card.width >= 256


@pytest.mark.parametrize("sign", list(CAPTUM_CMAPS))
def test_a_constant_image_renders_as_captum_does(sign: str) -> None:
    image = np.full((32, 32, 3), 128, dtype=np.uint8)
    attribution = np.random.default_rng(0).normal(size=(3, 32, 32)).astype(np.float32)
    ours = blend(attribution, image, sign, 2).astype(int)
    assert np.abs(ours - captum_pixels(attribution, image, sign, 2, 32)).max() <= 3


# Titles as explain() builds them: "<label> → <class>", or "<label> → <class> vs <other>".
LONGEST_LABEL = max((method.label for method in METHODS.values()), key=len)
LONGEST_CLASS = max(CLASSES, key=len)
WORST_TITLE = f"{LONGEST_LABEL} → {LONGEST_CLASS} vs {LONGEST_CLASS}"  # longer than any real one
SUBTITLE = "signed: green for, red against target"
MARGIN = 4  # the caption's left margin, kept free of ink at the right too


def title_ink_columns(strip: np.ndarray) -> np.ndarray:
    """Indices of the columns holding title ink (its dark color, not the gray subtitle)."""
    ink = np.abs(strip.astype(int) - TEXT).max(axis=2) < 60
    return np.flatnonzero(ink.any(axis=0))


# Where DejaVu Sans is not installed, Pillow's own font, which lacks these: written in ASCII.
ASCII = str.maketrans({"→": "->", "−": "-", "²": "^2", "×": "x"})


@cache
def font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """The caption's font as specified: DejaVu Sans, else Pillow's own; and whether DejaVu."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size), True
    except OSError:
        return ImageFont.load_default(size=size), False


def drawn_with_pil(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, fill):
    typeface, unicode = font(size)
    draw.text(xy, text if unicode else text.translate(ASCII), font=typeface, fill=fill)


def title_top(size: int) -> int:
    """Where a title line of `size` px is drawn: on the full-size title's baseline."""
    ascent = [getattr(font(s)[0], "getmetrics", lambda: (0, 0))()[0] for s in (15, size)]
    return 4 + ascent[0] - ascent[1]


def caption_as_specified(width: int, lines: list[str], size: int, subtitle: str | None):
    """A caption drawn with PIL directly: white, the title's lines at the margin in near-black,
    each round(1.2 * size) px under the last, the 11 px gray subtitle 25 px from the top, moved
    down by the extra lines."""
    step = round(1.2 * size)
    extra = (len(lines) - 1) * step if lines else 0
    strip = Image.new("RGB", (width, CAPTION_HEIGHT + extra), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    for i, line in enumerate(lines):
        drawn_with_pil(draw, (MARGIN, title_top(size) + i * step), line, size, fill=TEXT)
    if subtitle is not None:
        drawn_with_pil(draw, (MARGIN, 25 + extra), subtitle, 11, fill=(90, 90, 90))
    return np.asarray(strip)


def title_read_back(strip: np.ndarray, title: str, subtitle: str) -> tuple[int, list[str]]:
    """The font size and lines a caption strip shows `title` in, read back from its pixels:
    line by line, the shortest rest of the title whose drawing gives that line's rows, at the
    size whose line height fits the strip's height; then the whole strip must be exactly those
    lines and the subtitle as specified. Fails if the strip shows anything else (a lost or cut
    word, another size, another place)."""
    height, width = strip.shape[:2]
    for size in range(15, 9, -1):
        step = round(1.2 * size)
        extra = height - CAPTION_HEIGHT
        if extra < 0 or extra % step:
            continue
        count = 1 + extra // step
        lines, rest = [], title
        for i in range(count):
            rows = slice(title_top(size) + i * step, title_top(size) + (i + 1) * step)
            if i == count - 1:
                rows = slice(rows.start, 25 + extra)
            for end in range(1, len(rest) + 1):
                drawn = caption_as_specified(width, [*lines, rest[:end]], size, None)[:height]
                if np.array_equal(drawn[rows], strip[rows]):
                    lines.append(rest[:end])
                    rest = rest[end:].lstrip(" ")
                    break
            else:
                break
        shown = caption_as_specified(width, lines, size, subtitle)
        if not rest and len(lines) == count and np.array_equal(shown, strip):
            return size, lines
    raise AssertionError(f"the caption does not show {title!r} as specified")


def caption_of(tile: Image.Image, below: int) -> np.ndarray:
    """The caption strip of a card: everything above its `below` px of picture (and scale)."""
    return np.asarray(tile)[: tile.height - below]


def test_the_worst_case_title_is_drawn_whole_inside_the_card() -> None:
    picture = np.full((32, 32, 3), 128, dtype=np.uint8)
    tile = overlay_card(np.ones((3, 32, 32)), picture, WORST_TITLE, "all", 2, SUBTITLE)
    strip = caption_of(tile, 32 * 8 + 30)  # less the picture and the color scale
    assert strip.shape[0] >= CAPTION_HEIGHT
    ink = title_ink_columns(strip)
    assert ink.size and ink.max() < tile.width - MARGIN, "title runs into the card's edge"
    size, lines = title_read_back(strip, WORST_TITLE, SUBTITLE)
    assert " ".join(lines) == WORST_TITLE and size >= 10  # every word shows, none cut


def largest_size_on_one_line(title: str, width: int = 256) -> int | None:
    """The specified size of a title drawn on one line: the largest from 15 px down to 10 px
    at which its ink ends inside the strip's right margin (None: it must wrap)."""
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    for size in range(15, 9, -1):
        typeface, unicode = font(size)
        text = title if unicode else title.translate(ASCII)
        if measure.textbbox((MARGIN, 0), text, font=typeface)[2] <= width - MARGIN:
            return size
    return None


def test_every_real_title_fits_on_one_line_so_cards_keep_one_height() -> None:
    questions = [*CLASSES, *(f"{a} vs {b}" for a in CLASSES for b in CLASSES if a != b)]
    picture = np.zeros((1, 32, 3), dtype=np.uint8)  # a card 8 px high: only its caption counts
    subtitle = caption_as_specified(256, [], 15, SUBTITLE)[25:]  # the same under every title
    for method in METHODS.values():
        for question in questions:
            title = f"{method.label} → {question}"
            strip = caption_of(card(picture, title, SUBTITLE), 8)
            assert strip.shape[0] == CAPTION_HEIGHT, title  # one line: one height
            size = largest_size_on_one_line(title)  # the whole title, shrunk if it must be
            assert size is not None, title
            drawn = caption_as_specified(256, [title], size, None)
            assert np.array_equal(strip[:25], drawn[:25]), title
            assert np.array_equal(strip[25:], subtitle), title


def test_a_title_that_fits_is_drawn_as_specified() -> None:
    """A 256 x 44 white strip, the title at (4, 4) in 15 px near-black, the subtitle at
    (4, 25) in 11 px gray: drawn here with PIL directly, pixel for pixel."""
    title = f"{METHODS['saliency'].label} → cat"
    expected = Image.new("RGB", (256, 44), (255, 255, 255))
    draw = ImageDraw.Draw(expected)
    drawn_with_pil(draw, (4, 4), title, 15, fill=(20, 20, 20))
    drawn_with_pil(draw, (4, 25), SUBTITLE, 11, fill=(90, 90, 90))
    tile = card(np.zeros((32, 32, 3), dtype=np.uint8), title, SUBTITLE)
    assert np.array_equal(caption_of(tile, 256), np.asarray(expected))


def test_a_title_too_long_even_when_small_wraps_and_the_card_grows() -> None:
    wordy = "A very long custom title → with far too many words to fit on one line"
    for title in (wordy, "W" * 60):  # the second has no space to break at
        tile = card(np.zeros((32, 32, 3), dtype=np.uint8), title, SUBTITLE)
        caption_height = tile.height - 256
        assert caption_height > CAPTION_HEIGHT
        pixels = np.asarray(tile)
        assert (pixels[caption_height:] == 0).all()  # the picture sits right under the caption
        assert title_ink_columns(pixels[:caption_height]).max() < 256 - MARGIN
        _, lines = title_read_back(pixels[:caption_height], title, SUBTITLE)
        assert len(lines) > 1 and "".join(lines).replace(" ", "") == title.replace(" ", "")
