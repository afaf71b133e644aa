"""The learned-features view's pictures: shares drawn on the IG map's scale, and the windows a
channel's most active unit sees."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import example
from PIL import Image

from interpret.concepts import features
from interpret.concepts.pictures import patch_cards, share_cards, strip
from interpret.core.render import SCALE, normalize_attribution
from interpret.dataset.sources import bundled


@pytest.fixture(scope="module")
def result(shipped_net):
    return features(shipped_net, example(3), "airplane", images=bundled())


def test_every_share_is_drawn_on_the_whole_maps_scale(result) -> None:
    maps = result.shares.maps.double().numpy()
    whole = maps.sum(axis=0)
    strongest, weakest = result.order[0], result.order[-1]
    on_whole = normalize_attribution(maps[weakest], "all", 2, scale_of=whole)
    on_own = normalize_attribution(maps[weakest], "all", 2)
    assert np.abs(on_whole).max() < np.abs(on_own).max()  # a weak channel looks weak
    np.testing.assert_array_equal(
        normalize_attribution(whole, "all", 2, scale_of=whole),
        normalize_attribution(whole, "all", 2),
    )
    cards = share_cards(result, [strongest, weakest])
    assert len(cards) == 2 and cards[0].size == cards[1].size


def test_a_patch_is_the_window_its_unit_sees(result) -> None:
    images = bundled()
    channel = result.order[0]
    cards = patch_cards(result, images, channel)
    assert len(cards) == len(result.top.indices[channel])
    index = int(result.top.indices[channel][0])
    rows, columns = result.top.window(channel, 0)
    window = Image.fromarray(np.ascontiguousarray(images.images[index][rows, columns]))
    expected = np.asarray(window.resize((16 * SCALE, 16 * SCALE), Image.Resampling.NEAREST))
    drawn = np.asarray(cards[0])[-16 * SCALE :]
    np.testing.assert_array_equal(drawn, expected)
    assert strip(cards).width == sum(card.width for card in cards)


def test_patches_need_an_image_set(shipped_net) -> None:
    with pytest.raises(ValueError, match="image set"):
        patch_cards(features(shipped_net, example(3)), bundled(), 0)
