"""The learned features behind a decision, for the app: /features and /feature_atlas, the GPU
calls behind them, and what the "Inside the network" panel and the atlas panel compute with.

The GPU calls keep ui/zerogpu.py's conventions: names and fingerprints across the call, a
declared duration, and numpy arrays only in a result (the 16 share maps, 196 KB). The top
images and the atlas are computed once per (weights, test set) into the library's disk cache,
where the server reads them (on ZeroGPU the worker's memory never reaches it), then kept in
memory: a second request makes no GPU call for them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import gradio as gr
import numpy as np
import torch

from interpret.concepts import FeatureAtlas, Features, Shares, TopImages, features
from interpret.concepts.activation import top_images
from interpret.concepts.atlas import CHUNK, Compute, compute_atlas, feature_atlas
from interpret.concepts.cached import cache_entry
from interpret.core.disk_cache import load_arrays
from interpret.dataset.images import ImageSet

from . import api, zerogpu
from .config import NO_CONTRAST, PREDICTED
from .errors import user_errors
from .inputs import resolve_contrast, resolve_target, whole_number
from .testset_tab import with_default_model

Report = Callable[[int, int, str], None]

SHARES_SECONDS = 0.2  # one image's 16 share maps at 50 steps, measured on the busy 2-core CPU
TOP_SECONDS_PER_IMAGE = 0.0002  # every channel's maxima (1.3 s for 10,000 images)
# The atlas's contributions per image in a GPU worker beside busy neighbours: 11.5-21.2 s per
# 1,000 images, median 13.5 (28.8 s for all 7,466 in one quiet library call).
ATLAS_SECONDS_PER_IMAGE = 0.0135
# Images per GPU call of the atlas: 24 s declared each rather than the 120 s cap for the whole
# (a visitor with a little quota left can build it), and a multiple of the library's CHUNK, so
# every batch is the one the one-call atlas computes: the parts put together equal it exactly.
ATLAS_PART = 2 * CHUNK
REMEMBERED = 32  # recent /features results kept for the MCP tool's pictures
DECISIONS_KEPT = 8  # recent decisions' payloads (about 200 kB each) answered without a GPU call


# ------------------------------------------------------------------ the GPU calls


def _features_seconds(name, picture, target, contrast, baseline, n_steps) -> int:
    steps = n_steps if isinstance(n_steps, int) and 1 <= n_steps <= 500 else 500
    return zerogpu.seconds(zerogpu.EXPLAIN_SECONDS + SHARES_SECONDS * steps / 50)


@zerogpu.gpu(duration=_features_seconds)
def features_on_gpu(
    name: str, picture: Any, target: Any, contrast: Any, baseline: Any, n_steps: Any
) -> dict[str, Any]:
    """`interpret.features` of model `name`, as numpy arrays and plain values (no tensor
    leaves a worker); `rebuilt` makes the `Features` again on the server."""
    found = features(
        zerogpu.model(name), picture, target, contrast, baseline=baseline, n_steps=n_steps
    )
    return {
        "target": found.target,
        "contrast": found.contrast,
        "prediction": found.prediction,
        "baseline": found.baseline,
        "n_steps": found.n_steps,
        "maps": found.shares.maps.detach().float().cpu().numpy(),
        "contributions": found.shares.contributions.detach().double().cpu().numpy(),
        "at_input": found.shares.at_input,
        "at_baseline": found.shares.at_baseline,
        "order": found.order,
        "pixels": found.pixels,
    }


def rebuilt(payload: dict[str, Any]) -> Features:
    """The `Features` a GPU call described, in arrays of its own (a payload may be kept and
    rebuilt again)."""
    shares = Shares(
        torch.tensor(payload["maps"]),
        torch.tensor(payload["contributions"]),
        payload["at_input"],
        payload["at_baseline"],
    )
    return Features(
        payload["target"],
        payload["contrast"],
        payload["prediction"],
        payload["baseline"],
        payload["n_steps"],
        shares,
        list(payload["order"]),
        np.array(payload["pixels"]),
    )


def _set_seconds(name: str, fingerprint: str, count: int) -> int:
    return zerogpu.seconds(TOP_SECONDS_PER_IMAGE * count)


@zerogpu.gpu(duration=_set_seconds)
def top_images_on_gpu(name: str, fingerprint: str, count: int) -> TopImages:
    """Each channel's most active images of the set (written to the disk cache; 2 KB back)."""
    return top_images(zerogpu.model(name), zerogpu.images(fingerprint))


def _atlas_part_seconds(name: str, fingerprint: str, indices: Any) -> int:
    count = len(indices) if isinstance(indices, (list, tuple)) else ATLAS_PART
    return zerogpu.seconds(ATLAS_SECONDS_PER_IMAGE * count)


@zerogpu.gpu(duration=_atlas_part_seconds)
def atlas_part_on_gpu(name: str, fingerprint: str, indices: list[int]) -> np.ndarray:
    """The atlas's contributions (len(indices) x 16 float32: 32 KB for ATLAS_PART images) of
    the set's images `indices` for their true classes; the server puts the parts together."""
    chosen = np.asarray(indices, dtype=np.int64)
    values = compute_atlas(zerogpu.model(name), zerogpu.images(fingerprint), chosen)
    return np.asarray(values, dtype=np.float32)


# ------------------------------------------------------------------ the server's side

_lock = threading.Lock()
_tops: dict[tuple[str, str], TopImages] = {}
_atlases: dict[tuple[str, str], FeatureAtlas] = {}
_recent: OrderedDict[str, tuple[Features, ImageSet]] = OrderedDict()
# The last DECISIONS_KEPT decisions' payloads, each a Future while its GPU call runs.
_decided: OrderedDict[tuple, Future] = OrderedDict()
_parts: dict[
    tuple[str, str, tuple[int, ...]], np.ndarray
] = {}  # atlas parts of an unfinished atlas


def top_of(name: str, data: ImageSet, report: Report | None = None) -> TopImages:
    """Model `name`'s top images over `data`: from memory, the disk, or computed once."""
    key = (name, data.fingerprint)
    with _lock:
        found = _tops.get(key)
    if found is None:
        path, meta = cache_entry(zerogpu.model(name), data, "maxima", None)
        if zerogpu.ZERO_GPU and load_arrays(path, meta) is None:  # the server has no GPU
            found = top_images_on_gpu(name, data.fingerprint, len(data))
        else:
            found = top_images(zerogpu.model(name), data, progress=report)
        with _lock:
            _tops[key] = found
    return found


def atlas_of(name: str, data: ImageSet, report: Report | None = None) -> FeatureAtlas:
    """Model `name`'s class x feature atlas over `data`: from memory, the disk, or computed
    (on ZeroGPU in GPU calls of ATLAS_PART images each: `atlas_in_parts`)."""
    key = (name, data.fingerprint)
    with _lock:
        found = _atlases.get(key)
    if found is None:
        compute = None
        if zerogpu.ZERO_GPU:  # the server has no GPU: the predictions, then the parts
            zerogpu.predictions(name, data)  # the atlas reads them from the cache
            compute = atlas_in_parts(name, data.fingerprint)
        found = feature_atlas(zerogpu.model(name), data, progress=report, compute=compute)
        with _lock:
            _atlases[key] = found
    return found


def atlas_in_parts(name: str, fingerprint: str) -> Compute:
    """The atlas's contributions as GPU calls of ATLAS_PART images each (their indices in,
    their contributions back), with progress after each. A part already computed is kept
    until the atlas is whole, so a request refused halfway (the visitor's quota) goes on
    from there next time."""

    def compute(correct: np.ndarray, progress: Report | None) -> np.ndarray:
        parts, keys = [], []
        for start in range(0, len(correct), ATLAS_PART):
            chosen = [int(i) for i in correct[start : start + ATLAS_PART]]
            key = (name, fingerprint, tuple(chosen))
            keys.append(key)
            with _lock:
                part = _parts.get(key)
            if part is None:
                part = atlas_part_on_gpu(name, fingerprint, chosen)
                with _lock:
                    _parts[key] = part
            parts.append(part)
            if progress is not None:
                done = start + len(chosen)
                progress(done, len(correct), "measuring each feature's contribution")
        with _lock:
            for key in keys:
                _parts.pop(key, None)
        return np.concatenate(parts) if parts else np.zeros((0, 16), np.float32)

    return compute


def _steps(value: Any) -> int:
    """`n_steps` as the library takes it: a whole number (its range is the library's check,
    in the library's words)."""
    return whole_number("n_steps", value)


def decision(
    picture: Any, target: Any, contrast: Any, model: Any, baseline: Any, n_steps: Any
) -> tuple[Features, str]:
    """One image's decision split by learned feature, by model `model` (a GPU call), without
    the top images: (the result, the model's name)."""
    name = api.backend().models.resolve(model)
    chosen = resolve_target(target, api.backend().sampler.truth(picture))
    if isinstance(chosen, str) and chosen.strip().isdecimal():
        chosen = int(chosen)
    other = resolve_contrast(contrast)
    return _once(name, picture, chosen, other, baseline, _steps(n_steps)), name


def _once(
    name: str, picture: Any, target: Any, contrast: Any, baseline: Any, steps: int
) -> Features:
    """One GPU call for identical requests: opening the panel as the first maps arrive fires
    both its open and the explanation's follow-up, at once or one after the other, and a
    panel closed and opened again asks again. A request asked while the same one computes
    waits for its payload; one asked after it takes the payload kept from it. Neither spends
    the visitor's quota again."""
    pixels = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    key = (hashlib.sha256(pixels.tobytes()).hexdigest(), name, target, contrast, baseline, steps)
    with _lock:
        kept = _decided.get(key)
        owner = kept is None
        if owner:
            kept = _decided[key] = Future()
            while len(_decided) > DECISIONS_KEPT:
                _decided.popitem(last=False)
        else:
            _decided.move_to_end(key)
    if not owner:
        return rebuilt(kept.result())
    try:
        payload = features_on_gpu(name, picture, target, contrast, baseline, steps)
    except BaseException as error:
        kept.set_exception(error)  # the waiting requests get the same error; none is kept
        with _lock:
            if _decided.get(key) is kept:
                del _decided[key]
        raise
    kept.set_result(payload)
    return rebuilt(payload)


def compute(
    picture: Any,
    target: Any,
    contrast: Any,
    model: Any,
    baseline: Any,
    n_steps: Any,
    report: Report | None = None,
) -> tuple[Features, ImageSet, str]:
    """`decision`, with each channel's top images of the app's test set: (the result, that
    set, the model's name)."""
    found, name = decision(picture, target, contrast, model, baseline, n_steps)
    return (*with_top(found, name, report), name)


def with_top(found: Features, name: str, report: Report | None = None) -> tuple[Features, ImageSet]:
    """`found` (a `decision`) with each channel's top images of the app's test set (waits for
    its load): (the result, that set)."""
    data = api.test_set()
    found.top = top_of(name, data, report)
    found.top_set = {"name": data.name, "size": len(data.labels), "full": data.full}
    return found, data


def answer(found: Features, name: str, key: str | None = None) -> dict[str, Any]:
    """/features' answer: the library's dict, the model, and the input's digest (which also
    names the result the MCP tool draws its pictures from)."""
    described = found.to_dict()
    digest = key or input_digest(found, name)
    with _lock:
        _recent[digest] = (found, api.test_set())
        _recent.move_to_end(digest)
        while len(_recent) > REMEMBERED:
            _recent.popitem(last=False)
    return {**described, "model": name, "input_sha256": digest}


def input_digest(found: Features, name: str) -> str:
    """A name for one result: its input's pixels and its request."""
    digest = hashlib.sha256(np.ascontiguousarray(found.pixels).tobytes())
    digest.update(
        repr((name, found.target, found.contrast, found.baseline, found.n_steps)).encode()
    )
    return digest.hexdigest()


def remembered(digest: str) -> tuple[Features, ImageSet] | None:
    """A recent /features result by its `input_sha256` (for the MCP tool's pictures)."""
    with _lock:
        return _recent.get(digest)


# ------------------------------------------------------------------ the endpoints


def image_features(
    image: Any,
    target: str = PREDICTED,
    contrast: str = NO_CONTRAST,
    model: str | None = None,
    baseline: str = "zeros",
    n_steps: int = 50,
) -> dict[str, Any]:
    """One level below the maps: how much each of the 16 learned features (the CNN's pool2
    channels) contributed to the Integrated Gradients explanation, and which test images each
    one responds to most.

    Args:
        image: image file (gradio_client: handle_file(path)); cropped, resized to 32x32
        target: "predicted" (default), "true label" (known test images), a class, or 0-9
        contrast: "none" (default), or a class other than the target: then the split of the
            logit difference "target rather than contrast"
        model: which model (a name from /models; default: the app's model)
        baseline: reference input: zeros (default), black, blur, noise or mean
        n_steps: Integrated Gradients steps, 1-500 (default 50)
    Returns:
        features: {"layer": "pool2", "target", "contrast", "explained", "prediction",
            "baseline", "n_steps", "total" (the contributions' sum), "output_difference"
            (F(x) - F(baseline)), "delta" (their difference), "channels": [{"channel",
            "contribution", "top_images": [test-set indices for /sample, most active
            first]}] sorted by |contribution|, "top_images_from" (the set), "model",
            "input_sha256"}
    """
    with user_errors("split the decision by learned feature"):
        found, _, name = compute(api.read_upload(image), target, contrast, model, baseline, n_steps)
        return answer(found, name)


def class_feature_atlas(model: str | None = None) -> dict[str, Any]:
    """The class x feature atlas: for each class, each learned feature's mean contribution over
    the class's correctly classified test images (Integrated Gradients, baseline zeros, 50
    steps, target the true class). Cached per model; the first request over the full test set
    takes about a minute.

    Args:
        model: a name from /models (default: the app's model)
    Returns:
        atlas: {"classes", "channels": 16, "matrix": 10x16 mean contributions (rows: classes;
            null for a class without a correct image), "images": correct images per class,
            "settings", "model", "test_set": {"name", "size", "full"}}
    """
    with user_errors("compute the feature atlas"):
        name = api.backend().models.resolve(model)
        data = api.test_set()
        found = atlas_of(name, data)
        described = {"name": data.name, "size": len(data.labels), "full": data.full}
        return {**found.to_dict(), "model": name, "test_set": described}


def register(default_model: str) -> None:
    """/feature_atlas, after the frozen endpoints (/features is the "Inside the network"
    panel's hidden trigger: it takes the Explain tab's image, an upload)."""
    gr.api(
        with_default_model(class_feature_atlas, default_model),
        api_name="feature_atlas",
        concurrency_id="atlas",
        concurrency_limit=1,
    )
