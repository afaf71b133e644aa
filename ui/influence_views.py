"""The words of the training-data view (no Gradio): how to read the proponents, opponents and
hardest images (docs/INFLUENCE.md, "How to read it"), the headings, each thumbnail's caption,
and what a panel says when influence cannot be had here."""

from __future__ import annotations

from typing import Any

READ_INFLUENCE = (
    "**Proponents** are the training images whose training steps most lowered the model's "
    "loss at the explained class for this image (TracIn over the last layer, summed over the "
    "checkpoints training kept); **opponents** most raised it. Each thumbnail shows the "
    "image's training label and its score. Click one to see it large and explain it."
)
READ_HARDEST = (
    "The training images with the highest **self-influence**: how much each image's own "
    "training steps moved its own loss. The model kept getting them wrong or could not fit "
    "them: often mislabeled, ambiguous or unusual pictures. Each shows its training label → "
    "the model's prediction. Click one to explain it."
)
UNAVAILABLE = "**Not available here.** {reason}."


def score_caption(item: dict[str, Any]) -> str:
    """A proponent's or opponent's caption, short enough for a thumbnail: its score, then its
    training label (its index is /train_sample's, in the downloads and the API)."""
    return f"{item['score']:+.2g} {item['label']}"


def hardest_caption(item: dict[str, Any]) -> str:
    """A hardest image's caption: its training label -> the model's prediction."""
    return f"{item['label']} → {item['predicted_label']}"


def influence_heading(described: dict[str, Any]) -> str:
    """What the panel shows, in one line: the explained class, the model, the checkpoints."""
    epochs = ", ".join(str(c["epoch"]) for c in described["checkpoints"])
    size = described["train_set"]["size"]
    return (
        f"Loss at **{described['target']}** (predicted: {described['prediction']}) by model "
        f"`{described['model']}`, over {size:,} training images and the checkpoints of "
        f"epochs {epochs}."
    )


def hardest_heading(described: dict[str, Any]) -> str:
    """Which images the page lists."""
    which = "" if described["true_class"] == "any" else f" labelled {described['true_class']}"
    return (
        f"Page {described['page']} of {described['pages']}: the {described['total']:,} training "
        f"images{which}, hardest first, by model `{described['model']}`."
    )


def unavailable(reason: str) -> str:
    """A panel's text when influence cannot be computed: the reason, which says how to fix it."""
    return UNAVAILABLE.format(reason=reason.rstrip(".").strip() or "no reason given")
