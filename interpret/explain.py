"""`explain`: one image in, predictions and attribution maps (raw and rendered) out."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from .baselines import make_baseline
from .methods import DEFAULT_METHODS, METHODS, Method
from .model import CLASSES
from .params import ParamError, Params, make_params
from .preprocess import ImageInput, model_image, to_tensor
from .render import card, overlay_card

# Captum attaches hooks to the model's modules (DeepLift) and NoiseTunnel draws from the global
# RNG, so two attributions on one model must not interleave. One lock keeps requests exact.
_ATTRIBUTION_LOCK = threading.Lock()


@dataclass
class Explanation:
    """Everything one explanation produced; `to_json` holds all of it but the pixels."""

    image: Image.Image
    prediction: int
    probabilities: np.ndarray
    target: int
    methods: tuple[str, ...]
    params: Params
    attributions: dict[str, np.ndarray] = field(default_factory=dict)
    deltas: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    overlays: dict[str, Image.Image] = field(default_factory=dict)
    device: str = "cpu"
    weights: str = ""

    @property
    def predicted_class(self) -> str:
        return CLASSES[self.prediction]

    @property
    def target_class(self) -> str:
        return CLASSES[self.target]

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities)[:k]
        return [(CLASSES[i], float(self.probabilities[i])) for i in order]

    def caption(self, key: str) -> str:
        method = METHODS[key]
        return f"{method.label} · {method.sign_text} · target: {self.target_class}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "prediction": self.prediction,
            "predicted_class": self.predicted_class,
            "probabilities": {c: float(p) for c, p in zip(CLASSES, self.probabilities)},
            "top5": self.top(5),
            "target": self.target,
            "target_class": self.target_class,
            "methods": list(self.methods),
            "params": self.params.to_dict(),
            "deltas": self.deltas,
            "timings": self.timings,
            "captions": {key: self.caption(key) for key in self.methods},
            "device": self.device,
            "weights": self.weights,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def resolve_target(target: int | str | None, prediction: int) -> int:
    """None -> the prediction; an index 0-9, or a class name (any case), else `ParamError`."""
    if target is None or (isinstance(target, str) and not target.strip()):
        return prediction
    if isinstance(target, str):
        name = target.strip().lower()
        if name in CLASSES:
            return CLASSES.index(name)
        if not name.lstrip("-").isdigit():
            raise ParamError(f"unknown target class {target!r}; choose from {', '.join(CLASSES)}")
        target = int(name)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ParamError(f"target must be a class index or name, got {target!r}")
    if not 0 <= int(target) < len(CLASSES):
        raise ParamError(f"target index must be between 0 and {len(CLASSES) - 1}, got {target}")
    return int(target)


def resolve_methods(methods: str | Iterable[str] | None) -> tuple[str, ...]:
    """Method keys, validated and de-duplicated, in the order given."""
    if methods is None:
        return DEFAULT_METHODS
    keys = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods)
    keys = [key for key in dict.fromkeys(keys) if key]
    unknown = [key for key in keys if key not in METHODS]
    if unknown:
        raise ParamError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS)}")
    if not keys:
        raise ParamError("choose at least one method")
    return tuple(keys)


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _run_method(
    method: Method,
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    params: Params,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    baselines = (
        make_baseline(params.baseline, inputs, params.seed) if method.uses_baseline else None
    )
    inputs = inputs.detach().clone().requires_grad_(True)
    return method.run(model, inputs, targets, baselines, params)


def _render(explanation: Explanation, pixels: np.ndarray, alpha: float) -> None:
    for key in explanation.methods:
        method = METHODS[key]
        explanation.overlays[key] = overlay_card(
            explanation.attributions[key],
            pixels,
            f"{method.label} → {explanation.target_class}",
            method.sign,
            method.outlier_perc,
            method.sign_text,
            alpha=alpha,
            cmap=method.cmap,
        )


def input_card(explanation: Explanation) -> Image.Image:
    """The 32x32 model input, upscaled and captioned with the prediction."""
    top_class, top_probability = explanation.top(1)[0]
    return card(
        explanation.image, "Model input (32×32)", f"predicted {top_class} {top_probability:.0%}"
    )


def explain_batch(
    model: nn.Module,
    images: Sequence[ImageInput],
    methods: str | Iterable[str] | None = None,
    targets: Sequence[int | str | None] | int | str | None = None,
    *,
    overlays: bool = True,
    alpha: float = 0.5,
    progress: Callable[[int, int, str], None] | None = None,
    **params: Any,
) -> list[Explanation]:
    """Explain several images in one pass; each result equals the single-image call.

    `progress(done, total, key)` is called before each method runs, for progress bars.
    """
    keys = resolve_methods(methods)
    settings = make_params(**params)
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise ParamError(f"overlay opacity must be a number, got {alpha!r}") from None
    if not 0.0 <= alpha <= 1.0:
        raise ParamError(f"overlay opacity must be between 0 and 1, got {alpha}")
    pictures = [model_image(image) for image in images]
    if not pictures:
        return []
    if targets is None or isinstance(targets, (int, str, np.integer)):
        targets = [targets] * len(pictures)
    if len(targets) != len(pictures):
        raise ParamError(f"{len(targets)} targets for {len(pictures)} images")
    device = model_device(model)
    inputs = torch.cat([to_tensor(picture) for picture in pictures]).to(device)
    with _ATTRIBUTION_LOCK:
        started = time.perf_counter()
        with torch.no_grad():
            probabilities = torch.softmax(model(inputs), dim=1)
        predictions = probabilities.argmax(dim=1).tolist()
        chosen = [resolve_target(t, p) for t, p in zip(targets, predictions)]
        results = [
            Explanation(
                image=picture,
                prediction=prediction,
                probabilities=probabilities[i].cpu().numpy(),
                target=chosen[i],
                methods=keys,
                params=settings,
                device=str(device),
                weights=getattr(model, "weights_source", "in-memory model"),
            )
            for i, (picture, prediction) in enumerate(zip(pictures, predictions))
        ]
        share = (time.perf_counter() - started) / len(results)
        for result in results:
            result.timings["predict"] = share
        target_tensor = torch.tensor(chosen, device=device)
        for done, key in enumerate(keys):
            if progress is not None:
                progress(done, len(keys), key)
            started = time.perf_counter()
            attribution, delta = _run_method(METHODS[key], model, inputs, target_tensor, settings)
            attribution = attribution.detach().float().cpu().numpy()
            deltas = None if delta is None else delta.detach().reshape(-1).cpu().numpy()
            share = (time.perf_counter() - started) / len(results)
            for i, result in enumerate(results):
                result.attributions[key] = attribution[i]
                result.timings[key] = share
                if deltas is not None:
                    result.deltas[key] = float(deltas[i])
    if overlays:
        for result in results:
            started = time.perf_counter()
            _render(result, np.asarray(result.image), alpha)
            result.timings["render"] = time.perf_counter() - started
    return results


def explain(
    model: nn.Module,
    image: ImageInput,
    methods: str | Iterable[str] | None = None,
    target: int | str | None = None,
    **params: Any,
) -> Explanation:
    """Predict and explain one image with Captum; see `interpret.params.Params` for settings."""
    return explain_batch(model, [image], methods, [target], **params)[0]
