"""The MCP tools of the training-data view (registered into ui/mcp_tools.py's TOOLS when this
module is imported, as its own cards are): /influence, /train_sample and /hardest, each with a
card written for an agent. /influence's answer also sends its proponents and opponents as two
strips of training images, drawn here from the server's training set."""

from __future__ import annotations

from typing import Any

from PIL import Image

from interpret.dataset.browse import ANY

from .config import PREDICTED
from .files import png_bytes
from .mcp_tools import Target, tool
from .training_set import source

SCALE = 3  # 32 px -> 96 px per training image in a strip


def _strip(indices: list[int]) -> bytes | None:
    """The training images `indices` side by side, upscaled; None without the set."""
    data = source()
    if not data.ready or not indices:
        return None
    found = data.get()
    size = 32 * SCALE
    canvas = Image.new("RGB", (size * len(indices), size), "white")
    for position, index in enumerate(indices):
        tile = found.image(int(index)).resize((size, size), Image.Resampling.NEAREST)
        canvas.paste(tile, (position * size, 0))
    return png_bytes(canvas)


def influence_pictures(answer: Any) -> list[tuple[bytes, str]]:
    """The proponents, then the opponents, each as one strip captioned with their indices."""
    if not isinstance(answer, dict):
        return []
    parts = []
    for side, meaning in (("proponents", "lowered"), ("opponents", "raised")):
        items = answer.get(side) or []
        picture = _strip([item["index"] for item in items])
        if picture is not None:
            listed = ", ".join(f"#{item['index']} {item['label']}" for item in items)
            parts.append((picture, f"{side} (their training {meaning} the loss): {listed}"))
    return parts


@tool("/influence", "influence", pictures=influence_pictures)
def image_influence(image: str, target: Target = PREDICTED, model: str | None = None, k: int = 8):
    """The training images behind a decision: TracIn scores (Pruthi et al. 2020) of every
    CIFAR-10 training image for the CNN's loss on this image at the target class, over its
    last layer, summed over the checkpoints its training kept. Proponents' training steps
    lowered that loss (they support the decision); opponents' raised it.

    Args:
        image: the image itself as base64 data, "data:image/png;base64,..." (at most 3 MB);
            its largest centered square is resized to 32x32. URLs and file paths are refused.
        target: the class whose loss is traced: "predicted" (default), a class name, or
            "true label" (only for CIFAR-10 images the app knows)
        model: a name from list_models (default: the app's model); it needs training
            checkpoints (the tutorial's model has none)
        k: proponents and opponents listed, 1-50 (default 8)
    Returns:
        the proponents, then the opponents, each as a strip of training images captioned
        with their indices and labels; then JSON {"target", "prediction", "proponents":
        [{"index" (for train_sample), "label", "predicted", "score"}] largest first,
        "opponents": [...] most negative first, "checkpoints", "train_set", "note" (the
        indices are this server's training set's), "model"}.
    """


@tool("/train_sample", "image", "label")
def train_sample(index: int):
    """A CIFAR-10 training image by its index in the training set this server holds (as
    image_influence and hardest give it).

    Args:
        index: 0 to the training set's size - 1
    Returns:
        the 32x32 training image (PNG), then JSON {"label": its class name}.
    """


@tool("/hardest", "hardest")
def hardest(true_class: str = ANY, page: int = 1, model: str | None = None):
    """The training images the CNN found hardest: highest self-influence first (how much an
    image's own training steps moved its own loss), 24 a page. Often mislabeled, ambiguous
    or unusual pictures: a way to audit the training data.

    Args:
        true_class: "any" (default) or a class name: only training images of this label
        page: 1 (default) to the number of pages (past the last: the last)
        model: a name from list_models (default: the app's model); it needs training
            checkpoints
    Returns:
        JSON {"total", "page", "pages", "items": [{"index" (for train_sample), "label",
        "predicted_label", "self_influence"}], "true_class", "train_set", "note", "model"}.
    """
