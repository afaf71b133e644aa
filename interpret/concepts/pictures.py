"""The pictures of the learned-features view: each top channel's share of the IG map (all on
the IG map's own scale, so a weak channel looks weak) and the 16x16 windows of the images
where a channel is most active."""

from __future__ import annotations

import numpy as np
from PIL import Image

from interpret.attribution.methods import METHODS
from interpret.core.model import CLASSES
from interpret.core.render import card, overlay_card
from interpret.dataset.images import ImageSet

from . import Features


def share_cards(result: Features, channels: list[int], alpha: float = 0.5) -> list[Image.Image]:
    """One overlay per channel in `channels`, captioned with its contribution."""
    method = METHODS["integrated_gradients"]
    maps = result.shares.maps.double().cpu().numpy()
    whole = maps.sum(axis=0)
    cards = []
    for channel in channels:
        contribution = float(result.shares.contributions[channel])
        cards.append(
            overlay_card(
                maps[channel],
                result.pixels,
                f"Channel {channel}: {contribution:+.3f} of {result.explained}",
                method.sign,
                method.outlier_perc,
                method.sign_text,
                alpha=alpha,
                cmap=method.cmap,
                scale_of=whole,
            )
        )
    return cards


def patch_cards(result: Features, images: ImageSet, channel: int) -> list[Image.Image]:
    """The windows the channel's most active unit sees in its top images of `images`."""
    if result.top is None:
        raise ValueError("features() was not given an image set: there are no top images")
    cards = []
    for rank, index in enumerate(result.top.indices[channel]):
        rows, columns = result.top.window(channel, rank)
        window = np.ascontiguousarray(images.images[index][rows, columns])
        label = CLASSES[int(images.labels[index])]
        activation = float(result.top.activations[channel, rank])
        cards.append(card(window, f"#{int(index)} {label}", f"activation {activation:.2f}"))
    return cards


def strip(cards: list[Image.Image]) -> Image.Image:
    """Cards side by side, for a file that holds a channel's top images."""
    width = sum(tile.width for tile in cards)
    height = max((tile.height for tile in cards), default=0)
    canvas = Image.new("RGB", (width, height), "white")
    left = 0
    for tile in cards:
        canvas.paste(tile, (left, 0))
        left += tile.width
    return canvas
