"""`explain`: one image in, predictions and attribution maps (raw and rendered) out."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from interpret.attribution.methods import ATTRIBUTION_LOCK, DEFAULT_METHODS, METHODS, Method
from interpret.core.baselines import make_baseline
from interpret.core.model import CLASSES, Net, contrastive_net
from interpret.core.params import ParamError, Params, check_for_methods, make_params
from interpret.core.preprocess import ImageInput, model_image, to_tensor
from interpret.core.render import card, overlay_card
from interpret.trust.agreement import agreement_matrix
from interpret.trust.scores import faithfulness_scores, randomization_test


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
    contrast: int | None = None
    faithfulness: dict[str, dict] = field(default_factory=dict)
    sanity: dict[str, dict] = field(default_factory=dict)

    @property
    def predicted_class(self) -> str:
        return CLASSES[self.prediction]

    @property
    def target_class(self) -> str:
        return CLASSES[self.target]

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities)[:k]
        return [(CLASSES[i], float(self.probabilities[i])) for i in order]

    @property
    def question(self) -> str:
        """What the maps explain: the target class, or the target rather than `contrast`."""
        if self.contrast is None:
            return self.target_class
        return f"{self.target_class} vs {CLASSES[self.contrast]}"

    def caption(self, key: str) -> str:
        method = METHODS[key]
        return f"{method.label} · {method.sign_text} · target: {self.question}"

    def agreement(self) -> tuple[list[str], np.ndarray]:
        """Spearman rank correlation between every pair of this image's maps."""
        return agreement_matrix(self.attributions)

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
            "contrast": self.contrast,
            "contrast_class": None if self.contrast is None else CLASSES[self.contrast],
            "captions": {key: self.caption(key) for key in self.methods},
            "device": self.device,
            "weights": self.weights,
            "faithfulness": self.faithfulness,
            "sanity": self.sanity,
            "agreement": dict(zip(("methods", "spearman"), _listed(self.agreement()))),
            "versions": versions(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _listed(agreement: tuple[list[str], np.ndarray]) -> tuple[list[str], list[list[float]]]:
    keys, matrix = agreement
    return keys, np.round(matrix, 6).tolist()


def versions() -> dict[str, str]:
    """Library versions, so a saved result says exactly what produced it."""
    import captum

    from interpret import __version__

    return {"interpret": __version__, "torch": torch.__version__, "captum": captum.__version__}


def resolve_target(target: int | str | None, prediction: int) -> int:
    """None -> the prediction; an index 0-9, or a class name (any case), else `ParamError`."""
    if target is None or (isinstance(target, str) and not target.strip()):
        return prediction
    if isinstance(target, str):
        name = target.strip().lower()
        if name in CLASSES:
            return CLASSES.index(name)
        try:  # int() itself decides: str.isdigit() would pass "²", which int() cannot read
            target = int(name)
        except ValueError:
            raise ParamError(
                f"unknown target class {target!r}; choose from {', '.join(CLASSES)}"
            ) from None
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise ParamError(f"target must be a class index or name, got {target!r}")
    if not 0 <= int(target) < len(CLASSES):
        raise ParamError(f"target index must be between 0 and {len(CLASSES) - 1}, got {target}")
    return int(target)


def resolve_methods(methods: str | Iterable[str] | None) -> tuple[str, ...]:
    """Method keys, validated and de-duplicated, in the order given."""
    if methods is None:
        return DEFAULT_METHODS
    if isinstance(methods, str):
        methods = methods.split(",")
    methods = list(methods) if isinstance(methods, Iterable) else methods
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        raise ParamError(f"methods must be method keys (text), got {methods!r}")
    keys = [m.strip() for m in methods]
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
    targets = targets.reshape(-1).expand(inputs.shape[0]) if targets.numel() == 1 else targets
    network = copy.deepcopy(model) if method.hooks_the_model else model  # 0.6 ms for Net
    return method.run(network, inputs, targets, baselines, params)


def _render(explanation: Explanation, pixels: np.ndarray, alpha: float) -> None:
    for key in explanation.methods:
        method = METHODS[key]
        explanation.overlays[key] = overlay_card(
            explanation.attributions[key],
            pixels,
            f"{method.label} → {explanation.question}",
            method.sign,
            method.outlier_perc,
            method.sign_text,
            alpha=alpha,
            cmap=method.cmap,
        )


def render_overlays(explanation: Explanation, alpha: float = 0.5) -> Explanation:
    """`explanation` with its overlays drawn (made with ``overlays=False``): a process that
    had the maps computed in another one (a GPU worker) draws them itself, rather than
    receiving the pictures, 20 times the maps' bytes."""
    started = time.perf_counter()
    _render(explanation, np.asarray(explanation.image), alpha)
    explanation.timings["render"] = time.perf_counter() - started
    return explanation


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
    contrast: int | str | None = None,
    faithfulness: bool = False,
    sanity: bool = False,
    **params: Any,
) -> list[Explanation]:
    """Explain several images in one pass; each result equals the single-image call.

    `contrast` (a class) explains "why target rather than contrast": the logit difference.
    `faithfulness` adds deletion/insertion curves, infidelity and max-sensitivity per map;
    `sanity` adds the cascading model-randomization test. `progress(done, total, key)` is
    called before each method runs, for progress bars.
    """
    keys = resolve_methods(methods)
    settings = make_params(**params)
    check_for_methods(settings, keys)
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
    with ATTRIBUTION_LOCK:
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
        for result in results:
            result.contrast = None if contrast is None else resolve_contrast(contrast, result)
        for explained, members, explained_targets in _groups(model, results, device):
            _attribute_group(
                explained,
                inputs[members],
                explained_targets,
                [results[i] for i in members],
                keys,
                settings,
                progress,
            )
        if faithfulness or sanity:
            _assess(model, inputs, results, settings, faithfulness, sanity)
    if overlays:
        for result in results:
            started = time.perf_counter()
            _render(result, np.asarray(result.image), alpha)
            result.timings["render"] = time.perf_counter() - started
    return results


def add_trust_scores(
    model: nn.Module,
    results: Sequence[Explanation],
    *,
    faithfulness: bool = True,
    sanity: bool = True,
) -> list[Explanation]:
    """Score maps already made: the trust scores `explain_batch(..., faithfulness=...,
    sanity=...)` would have added, the same numbers, for results of `explain`/`explain_batch`
    with `model` (same methods and settings). Lets an app show the maps first and the slow
    scores after them."""
    results = list(results)
    if not results or not (faithfulness or sanity):
        return results
    first = results[0]
    if any(r.methods != first.methods or r.params != first.params for r in results):
        raise ParamError("score explanations of the same methods and settings together")
    if any(set(r.attributions) != set(r.methods) for r in results):
        raise ParamError("every explanation needs its maps before its trust scores")
    device = model_device(model)
    inputs = torch.cat([to_tensor(result.image) for result in results]).to(device)
    with ATTRIBUTION_LOCK:
        _assess(model, inputs, results, first.params, faithfulness, sanity)
    return results


def resolve_contrast(contrast: int | str, result: Explanation) -> int:
    other = resolve_target(contrast, result.prediction)
    if other == result.target:
        raise ParamError(f"the contrast class must differ from the target ({result.target_class})")
    return other


def _groups(model: nn.Module, results: list[Explanation], device: torch.device):
    """(explained network, image indices, targets): one group, or one per contrastive pair."""
    if all(result.contrast is None for result in results):
        targets = torch.tensor([result.target for result in results], device=device)
        yield model, list(range(len(results))), targets
        return
    if not isinstance(model, Net):
        raise ParamError("contrastive targets need the tutorial's Net")
    pairs: dict[tuple[int, int], list[int]] = {}
    for i, result in enumerate(results):
        pairs.setdefault((result.target, result.contrast), []).append(i)
    for (target, other), members in pairs.items():
        zeros = torch.zeros(len(members), dtype=torch.long, device=device)
        yield contrastive_net(model, target, other), members, zeros


def _attribute_group(
    explained: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    results: list[Explanation],
    keys: tuple[str, ...],
    settings: Params,
    progress: Callable[[int, int, str], None] | None,
) -> None:
    for done, key in enumerate(keys):
        if progress is not None:
            progress(done, len(keys), key)
        started = time.perf_counter()
        attribution, delta = _run_method(METHODS[key], explained, inputs, targets, settings)
        attribution = attribution.detach().float().cpu().numpy()
        deltas = None if delta is None else delta.detach().reshape(-1).cpu().numpy()
        share = (time.perf_counter() - started) / len(results)
        for i, result in enumerate(results):
            result.attributions[key] = attribution[i]
            result.timings[key] = share
            if deltas is not None:
                result.deltas[key] = float(deltas[i])


def _assess(
    model: nn.Module,
    inputs: torch.Tensor,
    results: list[Explanation],
    settings: Params,
    faithfulness: bool,
    sanity: bool,
) -> None:
    """Trust scores for every image's maps (see `interpret.trust.scores`), one group of images at a
    time (those one network explains): their perturbations, curves and randomized models run
    together, each map with the random draws of a single call."""
    if sanity and not isinstance(model, Net):
        raise ParamError("the randomization test needs the tutorial's Net")

    def attribute(network: nn.Module, key: str, batch: torch.Tensor, targets: torch.Tensor):
        return _run_method(METHODS[key], network, batch, targets, settings)[0]

    for explained, members, explained_targets in _groups(model, results, inputs.device):
        group, images = [results[i] for i in members], inputs[members]
        attributions = [result.attributions for result in group]
        if faithfulness:
            started = time.perf_counter()
            scores = faithfulness_scores(
                model,
                explained,
                images,
                make_baseline(settings.baseline, images, settings.seed),
                [result.target for result in group],
                explained_targets,
                attributions,
                attribute,
                settings,
                contrasts=[result.contrast for result in group],
            )
            share = (time.perf_counter() - started) / len(group)
            for result, score in zip(group, scores):
                result.faithfulness = score
                result.timings["faithfulness"] = share
        if sanity:
            started = time.perf_counter()
            reports = randomization_test(
                explained, images, explained_targets, attributions, attribute, settings.seed
            )
            share = (time.perf_counter() - started) / len(group)
            for result, report in zip(group, reports):
                result.sanity = report
                result.timings["sanity"] = share


def explain(
    model: nn.Module,
    image: ImageInput,
    methods: str | Iterable[str] | None = None,
    target: int | str | None = None,
    **params: Any,
) -> Explanation:
    """Predict and explain one image with Captum; see `interpret.core.params.Params` for settings
    and `explain_batch` for `contrast`, `faithfulness`, `sanity`, `overlays` and `alpha`."""
    return explain_batch(model, [image], methods, [target], **params)[0]
