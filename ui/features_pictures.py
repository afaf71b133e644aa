"""The pictures the MCP tools `features` and `feature_atlas` send beside their JSON: the top
channels' share maps and windows of a /features answer (drawn from the result the endpoint just
computed in this process, found by its `input_sha256`), and the atlas as a heat map."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from interpret.concepts import SHOWN
from interpret.concepts.pictures import patch_cards, share_cards, strip

from .features_api import remembered
from .figures import atlas_figure
from .files import png_bytes

Parts = list[tuple[bytes, str]]  # (PNG bytes, the caption after it)


def feature_pictures(answer: Any) -> Parts:
    """Each top channel's share map, then its 8 windows in one strip; nothing when the result
    is no longer remembered (the JSON says it all the same)."""
    digest = answer.get("input_sha256") if isinstance(answer, dict) else None
    found = remembered(digest) if isinstance(digest, str) else None
    if found is None:
        return []
    result, data = found
    channels = result.order[:SHOWN]
    parts: Parts = []
    for channel, share in zip(channels, share_cards(result, channels), strict=True):
        contribution = float(result.shares.contributions[channel])
        parts.append((png_bytes(share), f"channel {channel}: {contribution:+.3f}, its share"))
        if result.top is not None:
            indices = ", ".join(f"#{int(i)}" for i in result.top.indices[channel])
            windows = strip(patch_cards(result, data, channel))
            parts.append((png_bytes(windows), f"channel {channel}: most active in {indices}"))
    return parts


def atlas_pictures(answer: Any) -> Parts:
    """The atlas's heat map."""
    if not isinstance(answer, dict) or "matrix" not in answer:
        return []
    buffer = BytesIO()
    atlas_figure(answer).savefig(buffer, format="png")
    return [(buffer.getvalue(), "class x feature atlas: mean contribution per cell")]
