"""Overlays match Captum's blended_heat_map colors and come labeled, large and with a scale."""

from __future__ import annotations

import numpy as np
import pytest
from captum.attr import visualization as viz
from conftest import example
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from interpret import METHODS, explain
from interpret.render import blend, normalize_attribution, overlay_card

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
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].astype(int)


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


def test_an_all_zero_map_renders(result) -> None:
    zeros = np.zeros((3, 32, 32), dtype=np.float32)
    assert not normalize_attribution(zeros, "all", 2).any()
    card = overlay_card(zeros, np.asarray(result.image), "zero", "all", 2, "signed")
    assert card.width >= 256


def test_constant_image_renders() -> None:
    image = np.full((32, 32, 3), 128, dtype=np.uint8)
    attribution = np.random.default_rng(0).normal(size=(3, 32, 32)).astype(np.float32)
    assert blend(attribution, image, "absolute_value", 2).shape == (32, 32, 3)
