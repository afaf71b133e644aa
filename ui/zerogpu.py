"""The GPU work, in the shape a ZeroGPU Space needs.

On ZeroGPU (SPACES_ZERO_GPU set, `spaces` installed) each function marked `@gpu` runs in a
worker process forked from the server at its first call and reused while it lives; its
arguments and its result cross by pickle, and what it changes in its own process never reaches
the server. So these functions take names, not objects: a model's name and the test set's
fingerprint, which the worker resolves where the fork left them (the server's backend), never
the 31 MB set itself. The predictions and strategies they compute reach the server through the
disk cache (`cached_predictions`, `cached_strategies`): a second request is answered there,
without a GPU call. Everywhere else the same functions run in the server's process.

Each declares the seconds it may need (`duration`, from its arguments): ZeroGPU checks it
against the visitor's remaining daily quota, so the default 60 s would turn away a visitor who
has 30 s left for an explanation that takes one. docs/ZEROGPU.md has the measurements.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

from gradio.utils import is_zero_gpu_space

from interpret import METHODS, Explanation, Net, add_trust_scores, explain, explain_batch
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import (
    Predictions,
    cache_path,
    cached_predictions,
    predict_test_set,
)
from interpret.dataset.registry import RegistryError
from interpret.dataset.sources import load_test_set
from interpret.dataset.strategies import (
    Strategies,
    StrategySettings,
    cached_strategies,
    class_strategies,
)

from .errors import USER_ERRORS, app_error

F = TypeVar("F", bound=Callable[..., Any])
Report = Callable[[int, int, str], None]

ZERO_GPU = is_zero_gpu_space()

# Seconds measured on a busy 2-core CPU (docs/ZEROGPU.md) for one image at the app's default
# settings, rounded up; a GPU is faster, so these bound what a call needs once its worker runs.
METHOD_SECONDS = {
    "saliency": 0.1,
    "integrated_gradients": 0.05,
    "ig_smoothgrad_sq": 0.5,
    "deeplift": 0.15,
    "gradient_shap": 0.2,
    "input_x_gradient": 0.3,
    "guided_backprop": 0.05,
    "deconvolution": 0.05,
    "occlusion": 0.6,
    "grad_cam": 0.05,
    "guided_grad_cam": 0.1,
    "lrp": 0.1,
    "deeplift_shap": 0.2,
}
EXPLAIN_SECONDS = 0.5  # one explanation's own work: the input, the prediction, the overlays
TRUST_SECONDS = 3.0  # the trust scores of one map (faithfulness and sanity)
PREDICT_SECONDS_PER_IMAGE = 0.00015  # the test set's predictions (1.2 s for 10,000)
STRATEGY_SECONDS_PER_IMAGE = 0.006  # one class's maps and their clustering (4.9 s for 1,000)
START_SECONDS = 3  # a worker's start: the fork, CUDA's init, the weights to the GPU
MARGIN = 3  # a busy Space, a cold cache: three times what was measured
LONGEST = 120  # ZeroGPU's documented example of a long call; only every method with trust
# scores comes near it


def seconds(work: float) -> int:
    """A duration to declare for `work` measured seconds: the start, the margin, whole seconds."""
    return min(LONGEST, math.ceil(START_SECONDS + MARGIN * work))


def _number(value: Any, default: float) -> float:
    try:
        return max(1.0, float(value))
    except (TypeError, ValueError):
        return default


def explain_work(methods: Any, settings: dict[str, Any], extra: dict[str, Any]) -> float:
    """Measured seconds for one image's maps (and their trust scores when `extra` asks),
    scaled by the settings that multiply the work; unknown input counts as every method (the
    library refuses it inside the call)."""
    keys = [methods] if isinstance(methods, str) else methods
    if not isinstance(keys, (list, tuple)) or not all(k in METHODS for k in keys):
        keys = list(METHODS)
    steps = _number(settings.get("n_steps"), 50) / 50
    samples = _number(settings.get("nt_samples"), 100) / 100
    window = _number(extra.get("occlusion_window"), 4)
    stride = _number(extra.get("occlusion_stride"), 2)
    positions = ((max(0, 32 - window) // stride + 1) ** 2) / 225
    scale = {
        "integrated_gradients": steps,
        "ig_smoothgrad_sq": steps * samples,
        "occlusion": positions,
    }
    work = EXPLAIN_SECONDS + sum(METHOD_SECONDS[key] * scale.get(key, 1.0) for key in keys)
    if extra.get("faithfulness") or extra.get("sanity"):
        work += TRUST_SECONDS * len(keys)
    return work


# ------------------------------------------------------------------ where the worker looks

_served: Callable[[], Any] | None = None
_reloaded: dict[str, ImageSet] = {}


def serve(backend: Callable[[], Any]) -> None:
    """Where the GPU functions find the models and the test set: ui/api.py's `backend`
    (a forked worker inherits it)."""
    global _served
    _served = backend


def model(name: str) -> Net:
    """The model called `name`: loaded at the server's start-up, so a worker inherits it."""
    assert _served is not None, "ui.zerogpu.serve(backend) was not called"
    return _served().models.load(name)


def images(fingerprint: str) -> ImageSet:
    """The test set named `fingerprint`: the server's, which a worker forked after its load
    holds already; else (a worker forked before) loaded again from its source, once."""
    assert _served is not None, "ui.zerogpu.serve(backend) was not called"
    source = _served().dataset
    if source.ready:
        found = source.get()
        if found.fingerprint == fingerprint:
            return found
    if fingerprint not in _reloaded:
        _reloaded[fingerprint] = load_test_set()
    found = _reloaded[fingerprint]
    if found.fingerprint != fingerprint:
        raise RuntimeError("the test set changed on disk since the server loaded it")
    return found


def gpu(duration: Callable[..., int]) -> Callable[[F], F]:
    """`spaces.GPU(duration=duration)` where the `spaces` package imports (it does nothing
    outside a ZeroGPU Space), else the function as it is. On ZeroGPU the library's user errors
    become the app's messages inside the worker: the wrapper passes a `gr.Error` back as it is,
    but any other exception only by its class name."""
    try:
        import spaces
    except Exception:  # not installed, or not usable here
        return lambda function: function
    on_gpu = spaces.GPU(duration=duration)
    if not ZERO_GPU:
        return on_gpu
    return lambda function: on_gpu(_in_app_words(function))


def _in_app_words(function: F) -> F:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except tuple(USER_ERRORS) as error:
            raise app_error(error) from None

    return run  # type: ignore[return-value]


# ------------------------------------------------------------------ the GPU calls


def _explain_seconds(name, picture, methods, target, alpha, settings, progress, extra) -> int:
    return seconds(explain_work(methods, settings, extra))


@gpu(duration=_explain_seconds)
def explain_on_gpu(
    name: str,
    picture: Any,
    methods: Any,
    target: Any,
    alpha: Any,
    settings: dict[str, Any],
    progress: Report | None,
    extra: dict[str, Any],
) -> Explanation:
    """`interpret.explain` with the model called `name`."""
    return explain(
        model(name), picture, methods, target, alpha=alpha, progress=progress, **settings, **extra
    )


def _score_seconds(name: str, result: Explanation) -> int:
    return seconds(TRUST_SECONDS * len(result.methods))


@gpu(duration=_score_seconds)
def score_on_gpu(name: str, result: Explanation) -> Explanation:
    """`result` with its trust scores (returned: on ZeroGPU it was scored in another process)."""
    return add_trust_scores(model(name), [result])[0]


def _predict_seconds(name: str, picture: Any) -> int:
    return seconds(EXPLAIN_SECONDS)


@gpu(duration=_predict_seconds)
def predict_on_gpu(name: str, picture: Any) -> Explanation:
    """The model's prediction, through `explain` so the forward pass shares its lock with the
    attribution hooks (saliency is the cheapest method; its map is not rendered)."""
    return explain(model(name), picture, ["saliency"], overlays=False)


def _set_predictions_seconds(name: str, fingerprint: str, count: int, progress=None) -> int:
    return seconds(PREDICT_SECONDS_PER_IMAGE * count)


@gpu(duration=_set_predictions_seconds)
def set_predictions_on_gpu(
    name: str, fingerprint: str, count: int, progress: Report | None = None
) -> Predictions | None:
    """The predictions of model `name` on the set, computed and cached on disk; None once the
    disk holds them (the server reads them there), else the predictions themselves."""
    found = predict_test_set(model(name), images(fingerprint), progress=progress)
    return None if cache_path(found.weights, found.dataset).is_file() else found


def _strategies_seconds(name, fingerprint, count, class_name, progress=None) -> int:
    limit = StrategySettings().max_images
    images = count / 10 if limit is None else min(count / 10, limit)  # CIFAR-10's classes are even
    return seconds(PREDICT_SECONDS_PER_IMAGE * count + STRATEGY_SECONDS_PER_IMAGE * images)


@gpu(duration=_strategies_seconds)
def strategies_on_gpu(
    name: str, fingerprint: str, count: int, class_name: Any, progress: Report | None = None
) -> Strategies:
    """`class_strategies` of model `name` on the set (cached on disk as it is computed)."""
    return class_strategies(model(name), images(fingerprint), class_name, progress=progress)


def _batch_seconds(name, fingerprint, indices, methods, settings) -> int:
    count = len(indices) if isinstance(indices, (list, tuple)) else 1
    return seconds(count * explain_work(methods, settings, settings))


@gpu(duration=_batch_seconds)
def batch_on_gpu(
    name: str, fingerprint: str, indices: list[int], methods: Any, settings: dict[str, Any]
) -> list[Explanation]:
    """`explain_batch` of test images `indices` (no overlays: the page draws its own grid)."""
    data = images(fingerprint)
    pictures = [data.image(i) for i in indices]
    return explain_batch(model(name), pictures, methods, overlays=False, **settings)


# ------------------------------------------------------------------ the server's side


def predictions(name: str, data: ImageSet, report: Report | None = None) -> Predictions:
    """Model `name`'s predictions on `data`: from this process or the disk when they are there
    (on ZeroGPU no GPU is asked for them), else computed by a GPU call."""
    if not ZERO_GPU:
        return predict_test_set(model(name), data, progress=report)
    loaded = model(name)
    found = cached_predictions(loaded, data)
    if found is None:
        found = set_predictions_on_gpu(name, data.fingerprint, len(data))
        found = cached_predictions(loaded, data) if found is None else found
    if found is None:
        raise RuntimeError("the predictions were computed but cannot be read from the cache")
    return found


def strategies(name: str, data: ImageSet, class_name: Any, report: Report | None = None):
    """`class_strategies` of model `name` on `data`: from the cache when it is there (on
    ZeroGPU no GPU is asked for it), else computed by a GPU call."""
    if not ZERO_GPU:
        return class_strategies(model(name), data, class_name, progress=report)
    found = cached_strategies(model(name), data, class_name)
    if found is None:
        found = strategies_on_gpu(name, data.fingerprint, len(data), class_name)
    return found


def measure_accuracies(models: Any, data: ImageSet) -> None:
    """On ZeroGPU, the predictions /models measures the accuracy of models without a
    metrics.json with, computed by GPU calls: the server's process has no GPU of its own."""
    if not ZERO_GPU or not data.full:
        return
    for name in models.names():
        try:
            metrics = models.registry.entry(name).metrics()
            if not (metrics and isinstance(metrics.get("test_top1"), (int, float))):
                predictions(name, data)
        except RegistryError:  # /models lists it all the same, with the reason
            continue
