"""Gradio app: see why the Captum tutorial's CIFAR-10 CNN decided what it decided.

Layout and wiring only; every number and picture comes from `interpret`. Run ``python app.py``
(http://127.0.0.1:7860; GRADIO_SERVER_NAME / GRADIO_SERVER_PORT respected) or import `demo`.

Stable API (gradio_client), documented in each function's docstring:
  /explain  (image, methods, target, n_steps, nt_samples, stdevs, baseline, seed, opacity,
             contrast, trust_scores, occlusion_window, occlusion_stride)
            -> (gallery, label, details)
  /download (the same parameters) -> (attributions .npz, explanation .json)
  /predict  (image) -> label
  /sample  (index) -> (image, true_label, source, index)

Environment: INTERPRET_WEIGHTS (a weights source for `interpret.load_model`; default: the Hub
repo, else the shipped weights), INTERPRET_MODEL_REPO / INTERPRET_MODEL_REVISION,
INTERPRET_DEVICE, INTERPRET_CIFAR10_DIR and INTERPRET_CIFAR10_ROOT (see `interpret.samples`),
INTERPRET_CONCURRENCY (events computing at once; default 2 on CPU, 4 on a GPU),
INTERPRET_QUEUE_SIZE (requests that may wait; default 32, beyond that "busy, try again").
"""

from __future__ import annotations

import html
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio import processing_utils
from gradio.data_classes import ImageData
from gradio.utils import is_zero_gpu_space
from matplotlib import colormaps
from matplotlib.figure import Figure
from PIL import Image
from pydantic import ConfigDict, ValidationError

from interpret import (
    CLASSES,
    DEFAULT_METHODS,
    METHODS,
    Explanation,
    ImageError,
    Net,
    ParamError,
    WeightsError,
    explain,
    load_model,
    model_image,
)
from interpret.devices import exact_float32
from interpret.explain import input_card
from interpret.faithfulness import SCORE_HELP
from interpret.memory import retain_freed_memory
from interpret.params import BASELINES, INT_BOUNDS, MAX_COST, STDEVS_BOUNDS, Params
from interpret.preprocess import MAX_FILE_BYTES, MAX_PIXELS
from interpret.samples import SampleError, bundled_examples, default_sampler, fingerprint
from interpret.sanity import FLAG_THRESHOLD

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request to itself
log = logging.getLogger("interpret.app")


def _save_pil_to_cache_atomically(
    img: Image.Image, cache_dir: str, name: str = "image", format: str = "webp"
) -> str:
    """Gradio's `save_pil_to_cache`, but never rewriting a file a client may be downloading.

    Gradio names cached images by content and rewrites the file in place for every request
    that renders the same picture; under concurrency a client could fetch it half-written
    (measured by scripts/load_test.py: 2 empty images in 200 requests). Write once, atomically.
    """
    data = processing_utils.encode_pil_to_bytes(img, format)
    directory = Path(cache_dir) / processing_utils.hash_bytes(data)
    directory.mkdir(exist_ok=True, parents=True)
    target = (directory / f"{name}.{format}").resolve()
    if not target.is_file():
        handle, partial = tempfile.mkstemp(dir=directory, prefix=".partial-")
        with os.fdopen(handle, "wb") as output:
            output.write(data)
        os.replace(partial, target)
    return str(target)


processing_utils.save_pil_to_cache = _save_pil_to_cache_atomically

ZERO_GPU = is_zero_gpu_space()
try:  # ZeroGPU Spaces: GPU work must run inside a function wrapped by spaces.GPU
    import spaces

    on_gpu: Callable[[Callable], Callable] = spaces.GPU
except Exception:  # not installed, or not usable here: run as is

    def on_gpu(function: Callable) -> Callable:
        return function


def _load_model_or_exit() -> Net:
    """The model, or exit with one line naming the file: the app is useless without weights."""
    try:
        return load_model(os.environ.get("INTERPRET_WEIGHTS") or None)
    except (WeightsError, ValueError) as error:
        raise SystemExit(f"app.py: cannot load the model weights: {error}") from None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdecimal() or int(value) < 1:  # isdigit() passes '²', int() cannot read it
        raise SystemExit(f"app.py: {name} must be a positive whole number, got {value!r}")
    return int(value)


retain_freed_memory()  # this process serves attributions all day: no page faults per request
exact_float32()  # on a GPU, the tutorial's numbers rather than TF32's
MODEL = _load_model_or_exit()
DEVICE = str(next(MODEL.parameters()).device)
SAMPLER = default_sampler()
DEFAULTS = Params()
CONCURRENCY = _env_int("INTERPRET_CONCURRENCY", 2 if DEVICE == "cpu" else 4)
QUEUE_SIZE = _env_int("INTERPRET_QUEUE_SIZE", 32)
PREDICTED, TRUE_LABEL = "predicted", "true label"
NO_CONTRAST = "none"
# The /explain and /download parameters after the image, in order; those passed to
# `interpret.explain` as settings by name.
REQUEST = (
    "methods",
    "target",
    "n_steps",
    "nt_samples",
    "stdevs",
    "baseline",
    "seed",
    "opacity",
    "contrast",
    "trust_scores",
    "occlusion_window",
    "occlusion_stride",
)
SETTINGS = ("n_steps", "nt_samples", "stdevs", "baseline", "seed")
EXTRA_SETTINGS = ("occlusion_window", "occlusion_stride")
# Downloads go to one fresh folder per request (never a path a client names). Gradio copies
# them into its cache, so folders older than this are pruned, also those a killed server left.
DOWNLOAD_KEEP_S = 600
USER_ERRORS = {
    ImageError: ("Image not usable", "This image can't be used: {}."),
    ParamError: ("Invalid setting", "Invalid setting: {}."),
    SampleError: ("Invalid test image index", "Can't load that test image: {}."),
    WeightsError: ("Model unavailable", "The model weights can't be used: {}."),
}


@contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Library errors become the app's own messages; anything else is logged, never a crash."""
    try:
        yield
    except gr.Error:
        raise
    except tuple(USER_ERRORS) as error:
        title, template = next(v for k, v in USER_ERRORS.items() if isinstance(error, k))
        log.info("%s refused: %s", action, error)
        message = html.escape(template.format(str(error).rstrip(".")), quote=False)
        raise gr.Error(message, title=title, print_exception=False) from None
    except Exception:
        log.exception("%s failed", action)
        raise gr.Error(
            f"Something went wrong on the server while trying to {action}; it has been logged. "
            "Please try again.",
            title="Server error",
            print_exception=False,
        ) from None


FILE_ONLY = "send the image as a file (with gradio_client: handle_file(path))"
NO_URLS = "image URLs are not fetched; download the image and upload the file"


def image_refused(reason: str) -> gr.Error:
    title, template = USER_ERRORS[ImageError]
    message = html.escape(template.format(reason), quote=False)
    return gr.Error(message, title=title, print_exception=False)


class _UploadedImageData(ImageData):
    """Gradio checks each request's image against its data model before any event runs: a
    plain string or number would fail there with pydantic's error, which clients only see as
    "the upstream Gradio app has raised an exception"."""

    model_config = ConfigDict(title="ImageData")

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> ImageData:
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError:
            raise image_refused(FILE_ONLY) from None


def uploads_only(image: gr.Image) -> gr.Image:
    """Refuse, in the app's words, what Gradio would otherwise handle before any event runs: an
    http(s) URL sent as the image, which Gradio would download, and a value that is not a file.
    (Set on the instance: a `gr.Image` subclass would make Gradio write an app.pyi stub.)"""
    move_to_cache = image.async_move_resource_to_block_cache

    async def refuse_urls(url_or_file_path: str | Path | None) -> str | None:
        if isinstance(url_or_file_path, str) and "://" in url_or_file_path:
            raise image_refused(NO_URLS)
        return await move_to_cache(url_or_file_path)

    image.async_move_resource_to_block_cache = refuse_urls
    image.data_model = _UploadedImageData
    return image


def uploaded_path(image: Any) -> str:
    """The upload's path in Gradio's cache, which Gradio checked (events skip preprocessing so
    that `interpret` decodes the file itself, with its pixel cap and its own error messages)."""
    if image is None:
        raise gr.Error(
            "No image yet: upload one, click an example or press Random.",
            title="No image",
            print_exception=False,
        )
    path = image.get("path") if isinstance(image, dict) else None
    if not isinstance(path, str) or not path:
        raise ImageError(FILE_ONLY)
    if "://" in path:
        raise ImageError(NO_URLS)
    return path


@lru_cache(maxsize=256)
def _decoded(path: str) -> Image.Image:
    return model_image(path)


def decoded(path: str) -> Image.Image:
    """The 32x32 model input of an upload, decoded once for the three steps that need it (a path
    always holds the same bytes: Gradio names each upload's folder by its content hash)."""
    return _decoded(path).copy()


def resolve_target(choice: Any, truth: tuple[int, str] | None) -> Any:
    """'predicted'/blank -> None, 'true label' -> the known label; anything else to the library."""
    name = choice.strip().lower() if isinstance(choice, str) else choice
    if name is None or name in ("", PREDICTED):
        return None
    if name == TRUE_LABEL:
        if truth is None:
            raise ParamError(
                "target 'true label' needs a CIFAR-10 test image whose label the app knows "
                "(an example or a sampled image); choose 'predicted' or a class"
            )
        return truth[0]
    return choice


def resolve_contrast(choice: Any) -> int | None:
    """'none'/blank -> None; a class name (any case) or index 0-9 -> its index."""
    if choice is None:
        return None
    if isinstance(choice, bool):
        raise ParamError(f"contrast must be '{NO_CONTRAST}' or a class, got {choice!r}")
    name = str(choice).strip().lower()
    if name in ("", NO_CONTRAST):
        return None
    if name in CLASSES:
        return CLASSES.index(name)
    if name.isdecimal() and int(name) < len(CLASSES):
        return int(name)
    raise ParamError(
        f"unknown contrast class {choice!r}; choose '{NO_CONTRAST}' or one of {', '.join(CLASSES)}"
    )


def as_flag(name: str, value: Any) -> bool:
    """A checkbox value; JSON clients may send true/false, 0/1 or their strings."""
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ParamError(f"{name} must be true or false, got {value!r}")


def verdict(details: dict[str, Any] | None) -> str:
    """The label's heading: right or wrong when the true label is known."""
    if not details or not details.get("true_label"):
        return "Top 5 predictions"
    mark = "✓ right" if details.get("correct") else "✗ wrong"
    return f"Top 5 · {mark} (true label: {details['true_label']})"


def label_output(result: Explanation) -> dict[str, float]:
    """The plain top-5 value, so API clients get a stable shape; the UI heading is separate."""
    return dict(result.top(5))


def details_output(result: Explanation, truth: tuple[int, str] | None) -> dict[str, Any]:
    details = result.to_dict()
    details["true_label"] = None if truth is None else CLASSES[truth[0]]
    details["true_label_source"] = None if truth is None else truth[1]
    details["correct"] = None if truth is None else result.prediction == truth[0]
    return details


def gallery_output(result: Explanation, truth: tuple[int, str] | None) -> list[tuple[Any, str]]:
    top_class, top_probability = result.top(1)[0]
    known = "" if truth is None else f" · true label {CLASSES[truth[0]]}"
    first = f"Model input 32×32 (shown 8×) · predicted {top_class} {top_probability:.0%}{known}"
    return [(input_card(result), first)] + [
        (result.overlays[key], result.caption(key)) for key in result.methods
    ]


@on_gpu
def _explain_on_device(picture, methods, target, alpha, settings, progress, extra) -> Explanation:
    return explain(
        MODEL, picture, methods, target, alpha=alpha, progress=progress, **settings, **extra
    )


def _explanation(
    image: Any,
    request: dict[str, Any],
    overlays: bool,
    progress: Callable[..., Any] | None,
) -> tuple[Explanation, tuple[int, str] | None]:
    """Run one request (the raw /explain parameter values) through `interpret.explain`."""
    picture = decoded(uploaded_path(image))
    truth = SAMPLER.truth(picture)
    trust = as_flag("trust_scores", request["trust_scores"])
    extra = {
        "contrast": resolve_contrast(request["contrast"]),
        "faithfulness": trust,
        "sanity": trust,
        "overlays": overlays,
        **{name: request[name] for name in EXTRA_SETTINGS},
    }

    def report(done: int, total: int, key: str) -> None:
        after = " · trust scores next, the slow part" if trust else ""
        progress((done, total), desc=f"{METHODS[key].label} ({done + 1} of {total}){after}")

    result = _explain_on_device(
        picture,
        request["methods"],
        resolve_target(request["target"], truth),
        request["opacity"],
        {name: request[name] for name in SETTINGS},
        None if ZERO_GPU or progress is None else report,  # ZeroGPU runs it in another process
        extra,
    )
    return result, truth


def as_request(values: dict[str, Any]) -> dict[str, Any]:
    """The parameters after the image, by name, as the client sent them."""
    return {name: values[name] for name in REQUEST}


def request_key(image: Any, request: dict[str, Any]) -> str:
    """Identifies a request, so /download can reuse the session's last explanation."""
    path = image.get("path") if isinstance(image, dict) else None
    return json.dumps({"image": path, **request}, sort_keys=True, default=repr)


def reproduction(result: Explanation, truth: tuple[int, str] | None, request: dict) -> dict:
    """What the downloaded JSON holds: the app's details, the request as received, the model
    input's fingerprint and the library call that recomputes every array."""
    record = details_output(result, truth)
    record["request"] = request
    record["model_input_sha256"] = fingerprint(result.image)
    trust = bool(result.faithfulness)
    record["reproduce"] = (
        "from interpret import explain, load_model\n"
        f"model = load_model(WEIGHTS)  # {result.weights}\n"
        f"result = explain(model, IMAGE, {list(result.methods)!r}, {result.target}, "
        f"contrast={result.contrast!r}, faithfulness={trust}, sanity={trust}, "
        f"**{result.params.to_dict()!r})\n"
        "# result.attributions[key] equals the .npz array of the same name"
    )
    return record


def stored(result: Explanation, truth: tuple[int, str] | None, key: str, request: dict) -> dict:
    """The session's last explanation, as /download needs it (raw arrays, the JSON record)."""
    return {
        "key": key,
        "attributions": dict(result.attributions),
        "record": reproduction(result, truth, request),
        "name": "explanation_" + result.question.replace(" vs ", "_vs_"),
    }


def explain_image(
    image: Any,
    methods: Any,
    target: Any,
    n_steps: Any,
    nt_samples: Any,
    stdevs: Any,
    baseline: Any,
    seed: Any,
    opacity: Any,
    contrast: Any = NO_CONTRAST,
    trust_scores: Any = False,
    occlusion_window: Any = DEFAULTS.occlusion_window,
    occlusion_stride: Any = DEFAULTS.occlusion_stride,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> tuple[list[tuple[Any, str]], dict[str, float], dict[str, Any], dict[str, Any]]:
    """Explain one image: the model's top-5 prediction and one attribution map per method.

    Args:
        image: image file (gradio_client: handle_file(path)); cropped, resized to 32x32
        methods: keys of interpret.METHODS (default: the four of the Captum tutorial)
        target: "predicted" (default), "true label" (known test images), a class, or 0-9
        n_steps: Integrated Gradients steps, 1-500 (default 50)
        nt_samples: SmoothGrad noisy copies, 1-500 (default 100); n_steps*nt_samples<=20000
        stdevs: SmoothGrad noise level in normalized units, 0-5 (default 0.2)
        baseline: reference input: zeros (default), black, blur, noise or mean
        seed: random seed for noise and noise baseline (default 0); same request, same maps
        opacity: heat-map opacity over the grayscale image, 0-1 (default 0.5)
        contrast: "none" (default), or a class (name or 0-9) other than the target: the maps
            then explain "why target rather than contrast", the difference of the two logits
        trust_scores: True adds details["faithfulness"] (deletion/insertion AUC and curves,
            infidelity, max-sensitivity) and details["sanity"] (randomized-model Spearman rho,
            flagged) per method; several times slower (default False)
        occlusion_window: Occlusion's square window in pixels, 1-32 (default 4)
        occlusion_stride: Occlusion's step in pixels, 1-32 (default 2)
    Returns:
        gallery: model input, then one map per method, captioned "method · sign · target: class"
            ("target: A vs B" with a contrast)
        label: top-5 classes with probabilities
        details: prediction, true label if known, deltas, seconds per method, params, library
            versions, weights, device, method agreement (Spearman matrix) and trust scores.
            The raw arrays: /download with the same parameters.
    """
    request = as_request(locals())
    with user_errors("explain the image"):
        progress(0, desc="Reading the image")
        result, truth = _explanation(image, request, overlays=True, progress=progress)
        return (
            gallery_output(result, truth),
            label_output(result),
            details_output(result, truth),
            stored(result, truth, request_key(image, request), request),
        )


@lru_cache(maxsize=1)
def download_root() -> Path:
    """This user's private folder for download folders, shared by the app's processes so that
    each prunes what others left; a private temp folder if that one is not safely ours."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    root = Path(tempfile.gettempdir()) / f"interpret-downloads-{uid if uid is not None else 0}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
        if stat.S_ISDIR(info.st_mode) and (uid is None or info.st_uid == uid):
            return root
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="interpret-downloads-"))


def _prune_downloads(root: Path) -> None:
    cutoff = time.time() - DOWNLOAD_KEEP_S
    for folder in root.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass  # another request pruned it first


def write_downloads(last: dict[str, Any]) -> tuple[str, str]:
    """The .npz (one float32 array per method key) and the .json, in a fresh folder."""
    root = download_root()
    _prune_downloads(root)
    folder = Path(tempfile.mkdtemp(prefix="request-", dir=root))
    arrays, record = folder / f"{last['name']}.npz", folder / f"{last['name']}.json"
    np.savez(arrays, **last["attributions"])
    record.write_text(json.dumps(last["record"], indent=2, default=str))
    return str(arrays), str(record)


def download_files(
    image: Any,
    methods: Any,
    target: Any,
    n_steps: Any,
    nt_samples: Any,
    stdevs: Any,
    baseline: Any,
    seed: Any,
    opacity: Any,
    contrast: Any = NO_CONTRAST,
    trust_scores: Any = False,
    occlusion_window: Any = DEFAULTS.occlusion_window,
    occlusion_stride: Any = DEFAULTS.occlusion_stride,
    last: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """The raw attributions and every setting of an explanation, to reproduce it exactly.

    Takes exactly the parameters of /explain (same names, order and defaults). Right after an
    /explain call with the same parameters from the same client it reuses that result;
    otherwise it computes it (the same seed gives the same arrays).

    Returns:
        attributions: .npz with one float32 array (3x32x32) per method key, as the library
            returns them: numpy.load(path)["integrated_gradients"]
        explanation: .json with the details of /explain plus the request as received, the model
            input's SHA-256 and the `interpret.explain` call that recomputes the arrays
            (params, library versions, weights source included)
    """
    request = as_request(locals())
    with user_errors("prepare the downloads"):
        key = request_key(image, request)
        if not (isinstance(last, dict) and last.get("key") == key):
            result, truth = _explanation(image, request, overlays=False, progress=None)
            last = stored(result, truth, key, request)
        return write_downloads(last)


@on_gpu
def _predict_on_device(picture) -> Explanation:
    # Through `explain` so the forward pass shares its lock with attribution hooks; saliency
    # is the cheapest method, and its map is not rendered.
    return explain(MODEL, picture, ["saliency"], overlays=False)


def predict_image(image: Any) -> dict[str, float]:
    """Classify one image: the model's top-5 classes with probabilities.

    Args:
        image: image file (gradio_client: handle_file(path)); cropped, resized to 32x32
    Returns:
        label: top-5 classes with probabilities
    """
    with user_errors("classify the image"):
        picture = decoded(uploaded_path(image))
        return label_output(_predict_on_device(picture))


def sample_image(index: Any = None) -> tuple[Any, str, str, int]:
    """A CIFAR-10 test image with its true label, by index or at random.

    Args:
        index: position in the set sampled from (0-9999 full test set, 0-19 examples); None: random
    Returns:
        image: the 32x32 test image (PNG)
        true_label: its CIFAR-10 class name
        source: which set it comes from, its index there and its label
        index: its index in that set
    """
    with user_errors("load a test image"):
        sample = SAMPLER.sample(index)
        return sample.image, sample.label_name, sample.describe(), sample.index


def sampling_note() -> str:
    return f"Sampling from {SAMPLER.current.name}."


def random_sample() -> tuple[Any, str, str, int]:
    return sample_image(None)


def target_choices(truth: tuple[int, str] | None) -> list[tuple[str, str]]:
    choices = [("predicted class", PREDICTED)]
    if truth is not None:
        choices.append((f"true label ({CLASSES[truth[0]]})", TRUE_LABEL))
    return choices + [(name, name) for name in CLASSES]


def describe_image(image: Any, target: Any) -> tuple[str, gr.Dropdown, None, None, str, Any, Any]:
    """On a new image: its true label if known, the target choices, cleared old results, and
    for a bundled example its test-image index."""
    if image is None:  # no image to describe (a clear goes to `clear_results`)
        raise gr.Error("No image yet: upload one, click an example or press Random.")
    try:
        picture = decoded(uploaded_path(image))
    except Exception:
        picture = None  # the prediction step says what is wrong with it
    truth = None if picture is None else SAMPLER.truth(picture)
    example = None if picture is None else SAMPLER.bundled_index(picture)
    if target == TRUE_LABEL and truth is None:
        target = PREDICTED
    shown = "" if truth is None else f"{CLASSES[truth[0]]} ({truth[1]})"
    choices = gr.Dropdown(choices=target_choices(truth), value=target)
    index_shown = gr.skip() if example is None else example
    return shown, choices, None, None, "", gr.Label(label=verdict(None)), index_shown


def clear_results() -> tuple[str, gr.Dropdown, None, gr.Label, None, str]:
    choices = gr.Dropdown(choices=target_choices(None), value=PREDICTED)
    return "", choices, None, gr.Label(value=None, label=verdict(None)), None, START_HINT


def summarize(details: dict[str, Any] | None) -> tuple[str, gr.Label]:
    """The label's heading, and the Markdown under it: verdict, target, per-method time and
    delta, weights and device."""
    heading = gr.Label(label=verdict(details))
    if not details:
        return "", heading
    lines = []
    if details.get("true_label"):
        mark = "✓ right" if details.get("correct") else "✗ wrong"
        lines.append(f"**True label:** {details['true_label']}, so the prediction is **{mark}**.")
    question = f"why the model would say **{details['target_class']}**"
    if details.get("contrast_class"):
        question += f" rather than **{details['contrast_class']}** (their scores' difference)"
    lines.append(f"**Explaining:** {question}.")
    table = ["| Method | Time (s) | Convergence delta |", "|---|---:|---:|"]
    for key in details["methods"]:
        delta = details["deltas"].get(key)
        shown = "—" if delta is None else f"{delta:+.1e}"
        table.append(f"| {METHODS[key].label} | {details['timings'][key]:.2f} | {shown} |")
    lines.append("\n".join(table))
    predict, render = details["timings"].get("predict", 0), details["timings"].get("render", 0)
    lines.append(
        f"Prediction took {predict:.2f} s and drawing {render:.2f} s. The delta is the "
        "attributions' sum minus what they should add up to: the change in the target's score "
        "from the baseline (for LRP, the score itself). Near 0 is good for the path methods; "
        "LRP's rule lets biases absorb relevance, so its delta can be large."
    )
    if details.get("faithfulness"):
        lines.append(trust_line(details))
    lines.append(f"**Weights:** `{details['weights']}`  \n**Device:** `{details['device']}`")
    return "\n\n".join(lines), heading


NOT_UPDATED = (
    "**Not updated:** the last request was refused or failed (its message says why), so "
    "everything below still shows the previous result and its settings."
)


def not_updated(details: dict[str, Any] | None) -> Any:
    """After a refused or failed request: say that the results on the page are the old ones."""
    if not details:
        return gr.skip()
    return f"{NOT_UPDATED}\n\n{summarize(details)[0]}"


def flagged_labels(details: dict[str, Any]) -> list[str]:
    sanity = details.get("sanity") or {}
    return [METHODS[key].label for key in details["methods"] if sanity.get(key, {}).get("flagged")]


def trust_line(details: dict[str, Any]) -> str:
    """One line for the summary: the most faithful map here, and the flagged ones."""
    scores = details["faithfulness"]
    best = min(scores, key=lambda key: scores[key]["deletion_auc"])
    flagged = flagged_labels(details)
    line = f"**Trust scores** (below the examples): lowest deletion AUC **{METHODS[best].label}**"
    if flagged:
        return line + f"; ⚠ not depending on what the model learned: **{', '.join(flagged)}**."
    return line + "; every map passed the sanity check."


TRUST_HEADERS = [
    "Rank",
    "Method",
    "Deletion AUC ↓",
    "Insertion AUC ↑",
    "Infidelity ↓",
    "Max-sensitivity ↓",
    "Randomized-model ρ",
    "Flag",
]
RHO_HELP = (
    "Spearman rank correlation between the map on the trained model and on the model with "
    "every layer re-initialized (top-down, cascading; Adebayo et al., 2018); near 0 is good, "
    f"|ρ| ≥ {FLAG_THRESHOLD} flags a map that does not depend on what the model learned"
)


def _significant(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def trust_rows(details: dict[str, Any]) -> list[list[Any]]:
    """The ranking table: one row per method, lowest deletion AUC first."""
    scores, sanity = details.get("faithfulness") or {}, details.get("sanity") or {}
    rows = []
    for rank, key in enumerate(sorted(scores, key=lambda k: scores[k]["deletion_auc"]), 1):
        score, check = scores[key], sanity.get(key, {})
        flag = "—" if not check else ("⚠ flagged" if check["flagged"] else "ok")
        rows.append(
            [
                rank,
                METHODS[key].label,
                round(score["deletion_auc"], 3),
                round(score["insertion_auc"], 3),
                _significant(score["infidelity"]),
                _significant(score["sensitivity_max"]),
                None if not check else round(check["final"], 2),
                flag,
            ]
        )
    return rows


def trust_help() -> str:
    names = {
        "deletion_auc": "Deletion AUC",
        "insertion_auc": "Insertion AUC",
        "infidelity": "Infidelity",
        "sensitivity_max": "Max-sensitivity",
    }
    lines = [f"- **{names[key]}**: {text}." for key, text in SCORE_HELP.items()]
    lines.append(f"- **Randomized-model ρ**: {RHO_HELP}.")
    return (
        "Ranked by deletion AUC; click a column header to sort by another score. Pixels are "
        "removed toward, or added onto, the baseline chosen under Advanced.\n\n" + "\n".join(lines)
    )


def trust_note(details: dict[str, Any]) -> tuple[str, list[str]]:
    """The sanity check's verdict (a warning when a map is flagged), or how to get one."""
    if not details.get("sanity"):
        return (
            "Tick **Trust scores** (beside the methods) to rank these maps by faithfulness and "
            "check that each depends on what the model learned.",
            [],
        )
    flagged = flagged_labels(details)
    if not flagged:
        return (
            "✓ **Sanity check passed:** every map changes once the model's layers are "
            f"randomized (|ρ| < {FLAG_THRESHOLD}), so each depends on what the model learned.",
            ["note-ok"],
        )
    maps = " and ".join([", ".join(flagged[:-1]), flagged[-1]] if len(flagged) > 1 else flagged)
    return (
        f"⚠ **Sanity check: {maps} — not depending on what the model learned.** These maps "
        f"stay similar (|ρ| ≥ {FLAG_THRESHOLD}) when every layer of the model is replaced by "
        "random weights: they show the image's structure more than the model's reasons.",
        ["note-warn"],
    )


def _method_color(key: str):
    """A fixed color per method (tab20, dark shades first) so plots agree across images."""
    index = list(METHODS).index(key)
    return colormaps["tab20"]((2 * index) % 20 + (2 * index) // 20)


def curves_figure(details: dict[str, Any]) -> Figure | None:
    """Deletion and insertion curves of every method: target probability vs pixel fraction."""
    scores = details.get("faithfulness")
    if not scores:
        return None
    figure = Figure(figsize=(10, 4.2), dpi=100, layout="constrained")
    deletion, insertion = figure.subplots(1, 2, sharey=True)
    for key in details["methods"]:
        score = scores[key]
        for axes, curve in ((deletion, "deletion"), (insertion, "insertion")):
            axes.plot(
                score["fractions"],
                score[curve],
                color=_method_color(key),
                linewidth=1.6,
                label=METHODS[key].label,
            )
    target = details["target_class"]
    deletion.set_title("Deletion: most relevant pixels removed first\n(lower area is better)")
    insertion.set_title("Insertion: most relevant pixels added first\n(higher area is better)")
    contrast = details.get("contrast_class")
    deletion.set_ylabel(
        f"probability of {target}" + (f"\nrather than {contrast}" if contrast else "")
    )
    for axes in (deletion, insertion):
        axes.set_xlabel("fraction of pixels")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.02)
        axes.grid(alpha=0.3)
    figure.legend(
        *deletion.get_legend_handles_labels(),
        loc="outside lower center",
        ncol=min(len(details["methods"]), 5),
        fontsize=8,
        frameon=False,
    )
    return figure


def agreement_figure(details: dict[str, Any]) -> Figure | None:
    """The methods' pairwise Spearman ρ as an annotated heat map; None for one method."""
    agreement = details.get("agreement") or {}
    keys, matrix = agreement.get("methods") or [], np.asarray(agreement.get("spearman") or [])
    if len(keys) < 2:
        return None
    size = 2.6 + 0.42 * len(keys)
    figure = Figure(figsize=(size + 1.4, size + 1.0), dpi=100, layout="constrained")
    axes = figure.subplots()
    shown = axes.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu_r")
    labels = [METHODS[key].label for key in keys]
    axes.set_xticks(range(len(keys)), labels, rotation=40, ha="right", fontsize=8)
    axes.set_yticks(range(len(keys)), labels, fontsize=8)
    font = 8 if len(keys) <= 8 else 6
    for i in range(len(keys)):
        for j in range(len(keys)):
            light = abs(matrix[i, j]) > 0.6
            axes.text(
                j,
                i,
                f"{matrix[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=font,
                color="white" if light else "black",
            )
    axes.set_title("How far the methods agree: Spearman ρ of the maps", fontsize=9)
    figure.colorbar(shown, ax=axes, shrink=0.8, label="rank correlation")
    return figure


def show_analysis(details: dict[str, Any] | None) -> tuple[Any, ...]:
    """The section under the examples: trust scores, agreement heat map, downloads.

    Outputs: section, note, table, table help, curves, agreement, npz file, json file. Hidden,
    files cleared, while there is no result; the files come from /download, chained after
    each explanation.
    """
    if not details:
        return gr.Column(visible=False), "", None, gr.skip(), None, None, None, None
    note, style = trust_note(details)
    rows = trust_rows(details)
    agreement = agreement_figure(details)
    return (
        gr.Column(visible=True),
        gr.Markdown(note, elem_classes=style),
        gr.Dataframe(value=rows or None, visible=bool(rows)),
        gr.Markdown(visible=bool(rows)),
        gr.Plot(value=curves_figure(details), visible=bool(rows)),
        gr.Plot(value=agreement, visible=agreement is not None),
        gr.skip(),
        gr.skip(),
    )


START_HINT = (
    "**Start with an image:** upload or paste one, press *Random CIFAR-10 test image*, or click "
    "one of the test images below the maps. The prediction appears here, the maps below."
)


def method_help() -> str:
    parts = [
        "### How to read the maps\n"
        "Each map shows, pixel by pixel, how much that part of the 32×32 image pushed the model "
        "toward the **target** class (the predicted class unless you choose another). "
        "The color bar under each map gives its scale."
    ]
    for method in METHODS.values():
        parts.append(
            f"**{method.label}** ({method.sign_text}). {method.description}"
            + (" Its baseline is set under Advanced." if method.uses_baseline else "")
            + (" So are its window and stride." if method.key == "occlusion" else "")
        )
    return "\n\n".join(parts)


CSS = """
.gradio-container { max-width: 1320px !important; margin: 0 auto; }
#title h1 { margin-bottom: 0.2rem; }
#image .image-frame { width: 100%; height: 100%; }
#image .image-frame img { width: 100%; height: 100%; object-fit: contain;
  image-rendering: pixelated; }
#examples .table-wrap { border: none; overflow: visible; }
#examples thead { display: none; }
#examples tbody { display: grid; grid-template-columns: repeat(auto-fill, minmax(68px, 1fr));
  gap: 8px; }
#examples tbody tr { display: flex; flex-direction: column; align-items: center;
  border: 1px solid var(--border-color-primary) !important; border-radius: 8px; padding: 4px; }
#examples tbody td { display: block; padding: 0 !important; border: none !important;
  font-size: 0.8rem; }
#examples tbody td .container.table { width: 56px; height: 56px; border: none; }
#examples tbody td img { image-rendering: pixelated; }
#label [data-testid="block-label"] { position: static; margin-bottom: 6px; }
#summary table { font-size: 0.85rem; }
#summary code, #footer code { overflow-wrap: anywhere; }
#summary th, #summary td { padding: 4px 8px !important; }
#gallery .grid-wrap { min-height: 0 !important; max-height: none !important; overflow: visible; }
#gallery .thumbnail-item { aspect-ratio: auto; height: auto; display: flex;
  flex-direction: column; }
#gallery .thumbnail-lg > img { height: auto; aspect-ratio: auto 256 / 330; }
#gallery .caption-label { position: static; max-width: 100%; white-space: normal;
  border: none; background: none; font-size: 0.8rem; padding: 4px 6px; }
#trust-note.note-warn, #trust-note.note-ok { padding: 8px 12px; border-radius: 6px; }
#trust-note.note-warn { border-left: 4px solid #d97706; background: rgba(245, 158, 11, 0.14); }
#trust-note.note-ok { border-left: 4px solid #16a34a; background: rgba(22, 163, 74, 0.10); }
#trust-help { font-size: 0.85rem; }
#trust-table { contain: inline-size; }  /* scroll inside on a phone, never widen the page */
#curves img, #agreement img { max-width: 100%; height: auto; margin: 0 auto; display: block; }
@media (max-width: 900px) {
  #gallery .grid-container { grid-template-columns: repeat(3, minmax(0, 1fr)) !important; }
}
@media (max-width: 640px) {
  #gallery .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
}
"""

THEME = gr.themes.Soft(
    primary_hue="indigo",
    font=["ui-sans-serif", "system-ui", "sans-serif"],  # system fonts: nothing fetched
    font_mono=["ui-monospace", "monospace"],
)
LAUNCH_OPTIONS: dict[str, Any] = {
    "theme": THEME,
    "css": CSS,
    "max_file_size": MAX_FILE_BYTES,
    "footer_links": ["api", "settings"],
}

with gr.Blocks(
    title="Why did the CNN say that? · CIFAR-10 + Captum",
    analytics_enabled=False,
    delete_cache=(3600, 3600),  # drop generated PNGs and uploads older than an hour
) as demo:
    gr.Markdown(
        "# Why did the CNN say that?\n"
        "Upload a picture, pick a random CIFAR-10 test image or click an example. The small CNN "
        "from [Captum's CIFAR-10 tutorial](https://captum.ai/tutorials/CIFAR_TorchVision_Interpret)"
        " sorts it into one of ten classes, and attribution methods show which pixels drove that "
        "decision. For students and anyone curious about how image classifiers decide, and about "
        "how far the explanations agree.",
        elem_id="title",
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            image = uploads_only(
                gr.Image(
                    label="Image",
                    placeholder="Upload, paste (Ctrl+V) or take a picture: any size, any format",
                    type="filepath",
                    format="png",
                    image_mode=None,
                    sources=["upload", "clipboard", "webcam"],
                    height=300,
                    elem_id="image",
                )
            )
            random_button = gr.Button("Random CIFAR-10 test image", variant="secondary")
            with gr.Row(equal_height=False):
                index = gr.Number(
                    label="Test image index",
                    precision=0,
                    minimum=0,
                    scale=3,
                    min_width=120,
                    elem_id="index",
                )
                load_button = gr.Button("Load this index", scale=2, min_width=100)
            source = gr.Markdown(sampling_note(), label="Source", elem_id="source")
            truth = gr.Textbox(
                label="True label",
                placeholder="unknown (not a CIFAR-10 test image the app knows)",
                interactive=False,
                elem_id="truth",
            )
        with gr.Column(scale=3, min_width=280):
            methods = gr.CheckboxGroup(
                choices=[(method.label, key) for key, method in METHODS.items()],
                value=list(DEFAULT_METHODS),
                label="Methods",
            )
            target = gr.Dropdown(
                choices=target_choices(None),
                value=PREDICTED,
                label="Target class to explain",
                elem_id="target",
            )
            contrast = gr.Dropdown(
                choices=[(NO_CONTRAST, NO_CONTRAST)] + [(name, name) for name in CLASSES],
                value=NO_CONTRAST,
                label="…rather than",
                info="Optional: why the target and not this class (their score difference)",
                elem_id="contrast",
            )
            trust_scores = gr.Checkbox(
                value=False,
                label="Trust scores",
                info="Rank the maps by faithfulness and sanity-check each; several times slower",
                elem_id="trust-scores",
            )
            with gr.Accordion("Advanced", open=False):
                n_steps = gr.Slider(
                    *INT_BOUNDS["n_steps"],
                    value=DEFAULTS.n_steps,
                    step=1,
                    label="n_steps (Integrated Gradients steps)",
                    info=f"with IG + SmoothGrad²: n_steps × nt_samples ≤ {MAX_COST:,}",
                )
                nt_samples = gr.Slider(
                    *INT_BOUNDS["nt_samples"],
                    value=DEFAULTS.nt_samples,
                    step=1,
                    label="nt_samples (SmoothGrad noisy copies)",
                )
                stdevs = gr.Slider(
                    *STDEVS_BOUNDS, value=DEFAULTS.stdevs, step=0.05, label="stdevs (noise level)"
                )
                baseline = gr.Dropdown(
                    choices=[(f"{key}: {text}", key) for key, text in BASELINES.items()],
                    value=DEFAULTS.baseline,
                    label="Baseline (reference image of the methods that use one)",
                )
                occlusion_window = gr.Slider(
                    *INT_BOUNDS["occlusion_window"],
                    value=DEFAULTS.occlusion_window,
                    step=1,
                    label="Occlusion window (pixels, square)",
                )
                occlusion_stride = gr.Slider(
                    *INT_BOUNDS["occlusion_stride"],
                    value=DEFAULTS.occlusion_stride,
                    step=1,
                    label="Occlusion stride (pixels)",
                    info="at most the window, so every pixel gets occluded",
                )
                seed = gr.Number(
                    value=DEFAULTS.seed, precision=0, minimum=0, label="Seed (noise, baseline)"
                )
                opacity = gr.Slider(0, 1, value=0.5, step=0.05, label="Overlay opacity")
            explain_button = gr.Button("Explain", variant="primary")
        with gr.Column(scale=4, min_width=300):
            label = gr.Label(num_top_classes=5, label="Top 5 predictions", elem_id="label")
            summary = gr.Markdown(START_HINT, elem_id="summary")
    gr.Markdown("### Model input and attribution maps")
    gallery = gr.Gallery(
        label="Model input and attribution maps",
        show_label=False,
        format="png",
        columns=5,
        height="auto",
        object_fit="contain",
        allow_preview=True,
        buttons=["download", "fullscreen"],  # for the enlarged preview; none over the grid
        elem_id="gallery",
    )
    examples = gr.Examples(
        examples=[[str(path), CLASSES[label]] for path, label in bundled_examples()],
        inputs=[image, truth],
        label="CIFAR-10 test images with their true class: click one to explain it",
        examples_per_page=20,
        cache_examples=False,
        elem_id="examples",
    )
    with gr.Column(visible=False, elem_id="analysis") as analysis:
        gr.Markdown("### How far to trust these maps")
        note = gr.Markdown(elem_id="trust-note")
        table = gr.Dataframe(
            headers=TRUST_HEADERS,
            datatype=["number", "str", "number", "number", "number", "number", "number", "str"],
            label="Methods ranked for this image",
            interactive=False,
            wrap=True,
            visible=False,
            elem_id="trust-table",
        )
        table_help = gr.Markdown(trust_help(), visible=False, elem_id="trust-help")
        curves = gr.Plot(
            label="Deletion and insertion curves",
            show_label=False,
            format="png",
            visible=False,
            elem_id="curves",
        )
        agreement = gr.Plot(
            label="Method agreement", show_label=False, format="png", elem_id="agreement"
        )
        gr.Markdown("### Raw data, to reproduce any map exactly")
        with gr.Row():
            npz_file = gr.File(
                label="Raw attributions (.npz, one array per method)",
                interactive=False,
                height=72,
                elem_id="npz-file",
            )
            json_file = gr.File(
                label="Every parameter, library version and the weights (.json)",
                interactive=False,
                height=72,
                elem_id="json-file",
            )
    with gr.Accordion("Details (JSON)", open=False):
        details = gr.JSON(label="Details", elem_id="details")
    gr.Markdown(method_help(), elem_id="help")
    gr.Markdown(
        f"Weights: `{MODEL.weights_source}` · device: `{DEVICE}` · uploads up to "
        f"{MAX_FILE_BYTES // 2**20} MB and {MAX_PIXELS // 1_000_000} megapixels · "
        "examples: the first 20 CIFAR-10 test images (Krizhevsky, 2009) as shipped with "
        "[foolbox](https://github.com/bethgelab/foolbox) (MIT).",
        elem_id="footer",
    )

    parameters = [
        image,
        methods,
        target,
        n_steps,
        nt_samples,
        stdevs,
        baseline,
        seed,
        opacity,
        contrast,
        trust_scores,
        occlusion_window,
        occlusion_stride,
    ]
    last_result = gr.State(time_to_live=3600)  # per session; API clients do not see it
    results = [gallery, label, details, last_result]
    # Events that read the image skip Gradio's preprocessing, which would decode uploads with
    # its own PIL call and generic errors: they get the raw upload (Gradio has checked that it
    # is in its upload folder) and `interpret` decodes it, with its pixel cap and messages.
    # The same goes for the settings: `interpret` validates them, in its own words.
    raw = {"preprocess": False}
    model_event = {"concurrency_id": "model", "concurrency_limit": CONCURRENCY, **raw}
    summary_step = {
        "fn": summarize,
        "inputs": details,
        "outputs": [summary, label],
        "queue": False,
        "show_progress": "hidden",
        "api_visibility": "private",
    }

    sampled = [image, truth, source, index]
    new_image = {
        "fn": describe_image,
        "inputs": [image, target],
        "outputs": [truth, target, gallery, details, summary, label, index],
        "show_progress": "hidden",
        "api_visibility": "private",
        **raw,
    }

    def then_download(explained: Any, public: bool = False) -> None:
        """After each explanation: the summary, and the downloads (from the session's result;
        their own concurrency group, since the library's lock serializes any recomputation)."""
        explained.success(**summary_step)
        explained.failure(
            not_updated,
            inputs=details,
            outputs=summary,
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )
        explained.success(
            download_files,
            inputs=[*parameters, last_result],
            outputs=[npz_file, json_file],
            show_progress="hidden",
            concurrency_id="download",
            concurrency_limit=CONCURRENCY,
            **({"api_name": "download"} if public else {"api_visibility": "private"}),
            **raw,
        )

    def then_explain(described: Any, public: bool = False) -> None:
        """After a new image is described: a quick prediction, then the explanation."""
        naming = {"api_name": "predict"} if public else {"api_visibility": "private"}
        then_download(
            described.success(
                predict_image, inputs=image, outputs=label, **naming, **model_event
            ).success(
                explain_image,
                inputs=parameters,
                outputs=results,
                api_visibility="private",
                **model_event,
            )
        )

    # A new image: by upload, paste or webcam (`upload`: Gradio's `input` also fires on clear,
    # and `change` twice when an image replaces another), by example, or sampled.
    then_explain(image.upload(**new_image), public=True)
    then_explain(examples.load_input_event.then(**new_image))
    then_explain(
        gr.on(
            triggers=[load_button.click, index.submit],
            fn=sample_image,
            inputs=index,
            outputs=sampled,
            api_name="sample",
            show_progress="minimal",
            **raw,
        ).success(**new_image)
    )
    then_explain(
        random_button.click(
            random_sample, outputs=sampled, show_progress="minimal", api_visibility="private"
        ).success(**new_image)
    )
    # On each page load: a Space's test-set download may have finished since start-up.
    demo.load(
        sampling_note,
        outputs=source,
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    )
    image.clear(
        clear_results,
        outputs=[truth, target, gallery, label, details, summary],
        api_visibility="private",
    )
    # The button, and any change to a setting, recomputes.
    then_download(
        gr.on(
            triggers=[
                explain_button.click,
                methods.input,
                # Dropdowns: `select`, once per choice (Gradio's `input` fires again on blur).
                target.select,
                contrast.select,
                baseline.select,
                trust_scores.input,
                seed.input,
                n_steps.input,  # typing, dragging, arrow keys: `release` misses the last two
                nt_samples.input,
                stdevs.input,
                opacity.input,
                occlusion_window.input,
                occlusion_stride.input,
            ],
            fn=explain_image,
            inputs=parameters,
            outputs=results,
            api_name="explain",
            trigger_mode="always_last",
            **model_event,
        ),
        public=True,
    )
    # Every new result (or none, on a new image): the trust section follows the details.
    details.change(
        show_analysis,
        inputs=details,
        outputs=[analysis, note, table, table_help, curves, agreement, npz_file, json_file],
        queue=False,
        show_progress="hidden",
        api_visibility="private",
    )

demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)

if __name__ == "__main__":
    demo.launch(**LAUNCH_OPTIONS)
