"""Why, one level deeper: the learned features behind a decision.

`features(model, image, ...)` splits an Integrated Gradients map by pool2 channel (how much
each of the 16 learned features contributed, and where in the image), and, given an image set,
shows what each top channel responds to across it (its most active images). `feature_atlas`
averages the contributions per class over a set's correctly classified images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interpret.core.baselines import make_baseline
from interpret.core.model import CLASSES, Net, contrastive_net
from interpret.core.params import ParamError, make_params
from interpret.core.preprocess import ImageInput, model_image, to_tensor
from interpret.dataset.images import ImageSet
from interpret.explain import resolve_target

from .activation import TOP, TopImages, top_images
from .atlas import FeatureAtlas, feature_atlas
from .shares import Shares, channel_shares, contributions

LAYER = "pool2"
SHOWN = 6  # channels whose maps and top images are shown

__all__ = [
    "LAYER",
    "FeatureAtlas",
    "Features",
    "Shares",
    "TopImages",
    "channel_shares",
    "contributions",
    "feature_atlas",
    "features",
    "top_images",
]


@dataclass
class Features:
    """One image's decision split by learned feature. `order`: channels by |contribution|,
    largest first; `shares.maps[c]` is channel c's part of the IG map (they add up to it);
    `top` (when an image set was given) what each channel responds to across that set."""

    target: int
    contrast: int | None
    prediction: int
    baseline: str
    n_steps: int
    shares: Shares
    order: list[int]
    pixels: np.ndarray  # the explained image, uint8 32 x 32 x 3
    top: TopImages | None = None
    top_set: dict[str, Any] | None = field(default=None)

    @property
    def explained(self) -> str:
        """What the contributions add up to, in words."""
        if self.contrast is None:
            return f"logit[{CLASSES[self.target]}]"
        return f"logit[{CLASSES[self.target]}] - logit[{CLASSES[self.contrast]}]"

    def to_dict(self, top_k: int = TOP) -> dict[str, Any]:
        """JSON-ready: the layer, target, total, delta and each channel (by |contribution|)."""
        contributions = self.shares.contributions.double().cpu().numpy()
        channels = []
        for channel in self.order:
            item: dict[str, Any] = {
                "channel": int(channel),
                "contribution": float(contributions[channel]),
            }
            if self.top is not None:
                item["top_images"] = [int(i) for i in self.top.indices[channel][:top_k]]
            channels.append(item)
        return {
            "layer": LAYER,
            "target": CLASSES[self.target],
            "contrast": None if self.contrast is None else CLASSES[self.contrast],
            "explained": self.explained,
            "prediction": CLASSES[self.prediction],
            "baseline": self.baseline,
            "n_steps": self.n_steps,
            "total": float(contributions.sum()),
            "output_difference": self.shares.at_input - self.shares.at_baseline,
            "delta": self.shares.delta,
            "channels": channels,
            "top_images_from": self.top_set,
        }


def _no_contrast(contrast: int | str | None) -> bool:
    return contrast is None or (
        isinstance(contrast, str) and contrast.strip().lower() in ("", "none")
    )


def features(
    model: Net,
    image: ImageInput,
    target: int | str | None = None,
    contrast: int | str | None = None,
    *,
    baseline: str = "zeros",
    n_steps: int = 50,
    images: ImageSet | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
) -> Features:
    """`image`'s Integrated Gradients map for `target` (default: the prediction; with
    `contrast`, the logit difference) split by pool2 channel; with `images`, each channel's
    most active images of that set (cached per weights and set, under `cache_dir` when given)."""
    params = make_params(baseline=baseline, n_steps=n_steps, seed=seed)
    device = next(model.parameters()).device
    picture = model_image(image)
    pixels = np.asarray(picture, dtype=np.uint8)
    inputs = to_tensor(picture).to(device)
    with torch.no_grad():
        prediction = int(model(inputs).argmax(dim=1))
    chosen = resolve_target(target, prediction)
    other = None
    explained, output = model, chosen
    if not _no_contrast(contrast):
        other = resolve_target(contrast, prediction)
        if other == chosen:
            raise ParamError(f"the contrast class must differ from the target ({CLASSES[chosen]})")
        explained, output = contrastive_net(model, chosen, other), 0
    baselines = make_baseline(params.baseline, inputs, params.seed)
    shares = channel_shares(explained, inputs, baselines, output, params.n_steps)
    magnitude = shares.contributions.abs().cpu().numpy()
    order = [int(c) for c in np.lexsort((np.arange(len(magnitude)), -magnitude))]
    result = Features(
        chosen, other, prediction, params.baseline, params.n_steps, shares, order, pixels
    )
    if images is not None:
        result.top = top_images(model, images, cache_dir=cache_dir)
        result.top_set = {"name": images.name, "size": len(images.labels), "full": images.full}
    return result
