"""The named endpoints: /explain, /download, /predict, /sample, and the test set's /models,
/confusion, /browse and /strategies (the frozen API).

Plain functions of the raw request values, documented for `gradio_client` (Gradio shows each
docstring in the API page; tests/app/api_snapshot.json freezes names, order and defaults). They
read the image and settings (ui/inputs.py), call `interpret`, and shape the result
(ui/views.py); library errors leave as the app's messages (ui/errors.py). Pictures and
downloads are handed to Gradio as finished files (ui/files.py).

`configure` gives them the models, the sampler and the test set once, at start-up (app.py).
The test-set endpoints are typed Python functions registered with `gr.api` (ui/testset_tab.py):
their parameters, defaults and docstrings are what `view_api` shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from interpret import METHODS, Explanation, Net
from interpret.dataset.browse import ANY, browse, confusion, disagreements
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import Predictions
from interpret.dataset.sampler import Sampler
from interpret.explain import render_overlays

from . import zerogpu
from .config import DEFAULTS, EXTRA_SETTINGS, NO_CONTRAST, REQUEST, SETTINGS
from .dataset import TestSetSource
from .errors import user_errors
from .files import request_folder, save_pictures, write_downloads
from .inputs import (
    as_flag,
    as_request,
    decoded,
    request_key,
    resolve_contrast,
    resolve_target,
    uploaded_path,
)
from .models import Models
from .views import TRUST_PENDING, details_output, gallery_pictures, label_output, stored
from .zerogpu import (
    ZERO_GPU,
    explain_on_gpu,
    predict_on_gpu,
    score_on_gpu,
)

Gallery = list[tuple[str, str]]
# /explain's outputs: gallery, label, details, and the session's result for /download.
Answer = tuple[Gallery, dict[str, float], dict[str, Any], dict[str, Any]]


@dataclass
class Backend:
    """What the endpoints compute with: the default model and the others (`models`), the test
    images to sample and browse, and Gradio's upload folder (the only place an image is read
    from)."""

    model: Net
    sampler: Sampler
    upload_folder: str | None = None
    models: Models | None = None
    dataset: TestSetSource | None = None

    def __post_init__(self) -> None:
        if self.models is None:
            self.models = Models.single(self.model)
        if self.dataset is None:
            self.dataset = TestSetSource(self.sampler)


_backend: Backend | None = None


def configure(
    model: Net,
    sampler: Sampler,
    upload_folder: str | None = None,
    models: Models | None = None,
    dataset: TestSetSource | None = None,
) -> Backend:
    """Give the endpoints their models, sampler and test set (once, at start-up); `model` is
    the default one. Without `models`, `model` is the only one; without `dataset`, the test
    set is loaded for `sampler` in the background."""
    global _backend
    _backend = Backend(model, sampler, upload_folder, models, dataset)
    return _backend


def backend() -> Backend:
    if _backend is None:
        raise RuntimeError("ui.api.configure(model, sampler) was not called")
    return _backend


zerogpu.serve(backend)  # the GPU calls (ui/zerogpu.py) find the models and the set through it


def read_upload(image: Any):
    """The model input of an uploaded image."""
    return decoded(uploaded_path(image, backend().upload_folder))


def explanation(
    picture: Any,
    request: dict[str, Any],
    overlays: bool,
    progress: Callable[..., Any] | None,
    scores: bool = True,
) -> tuple[Explanation, tuple[int, str] | None]:
    """Run one request (a model input and the raw /explain parameter values) through
    `interpret.explain` with the model it names; with the true label when the app knows the
    picture. `scores=False` leaves the requested trust scores for `scored` to add."""
    model = backend().models.resolve(request["model"])
    truth = backend().sampler.truth(picture)
    trust = as_flag("trust_scores", request["trust_scores"])
    extra = {
        "contrast": resolve_contrast(request["contrast"]),
        "faithfulness": trust and scores,
        "sanity": trust and scores,
        "overlays": False,  # drawn here, not shipped back from a GPU worker
        **{name: request[name] for name in EXTRA_SETTINGS},
    }

    def report(done: int, total: int, key: str) -> None:
        after = " · trust scores next, the slow part" if trust else ""
        progress((done, total), desc=f"{METHODS[key].label} ({done + 1} of {total}){after}")

    result = explain_on_gpu(
        model,
        picture,
        request["methods"],
        resolve_target(request["target"], truth),
        request["opacity"],
        {name: request[name] for name in SETTINGS},
        None if ZERO_GPU or progress is None else report,  # ZeroGPU runs it in another process
        extra,
    )
    # (`explain` checked the opacity)
    return render_overlays(result, float(request["opacity"])) if overlays else result, truth


def scored(result: Explanation, request: dict[str, Any]) -> Explanation:
    """`result` (made with `scores=False`) with the trust scores its request asks for (the
    overlays stay here: a GPU call needs only the maps)."""
    name = backend().models.resolve(request["model"])
    found = score_on_gpu(name, dataclasses.replace(result, overlays={}))
    return dataclasses.replace(found, overlays=result.overlays)


def gallery_output(
    result: Explanation, truth: tuple[int, str] | None, folder: Path | None = None
) -> Gallery:
    """The gallery as finished PNG files with their captions (never PIL images: see
    ui/gradio_fixes.py, `save_pil_to_cache`), in `folder` or a fresh request folder."""
    pictures = gallery_pictures(result, truth)
    if folder is None:
        folder = request_folder("gallery-")
    else:
        folder.mkdir(parents=True, exist_ok=True)
    paths = save_pictures([picture for picture, _ in pictures], folder)
    return [(path, caption) for path, (_, caption) in zip(paths, pictures, strict=True)]


def answers(
    image: Any, request: dict[str, Any], progress: Callable[..., Any], in_steps: bool = True
) -> Iterator[Answer]:
    """/explain's answers to one request: the maps as soon as they are ready (marked pending
    when trust scores are asked for), then, if they are, the same maps with their scores.
    `in_steps=False`: the last answer only (the pending one is not built)."""
    with user_errors("explain the image"):
        progress(0, desc="Reading the image")
        result, truth = explanation(
            read_upload(image), request, overlays=True, progress=progress, scores=False
        )
        model_name = backend().models.resolve(request["model"])
        gallery, label = gallery_output(result, truth), label_output(result)
        key = request_key(image, request)
        pending = as_flag("trust_scores", request["trust_scores"])
        if in_steps or not pending:
            details = details_output(result, truth, model_name)
            if pending:
                details[TRUST_PENDING] = True
            yield gallery, label, details, stored(result, truth, key, request, model_name)
        if pending:
            # No progress() from here on: Gradio would cover the maps with its bar again.
            result = scored(result, request)
            details = details_output(result, truth, model_name)
            yield gallery, label, details, stored(result, truth, key, request, model_name)


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
    model: Any = None,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
) -> Answer:
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
        model: which model explains (a name from /models; default: the app's model)
    Returns:
        gallery: model input, then one map per method, captioned "method · sign · target: class"
            ("target: A vs B" with a contrast)
        label: top-5 classes with probabilities
        details: prediction, true label if known, deltas, seconds per method, params, library
            versions, model, weights, device, method agreement (Spearman matrix) and trust
            scores. The raw arrays: /download with the same parameters.
    """
    (answer,) = answers(image, as_request(locals()), progress, in_steps=False)
    return answer


def explain_on_page(
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented idiom)
    *values: Any,
) -> Iterator[Answer]:
    """The page's /explain (not in the API, whose clients get one answer): the same values,
    in /explain's order, answered in steps so the maps show while their trust scores are
    computed. `progress` comes first: Gradio looks for it among the named parameters."""
    image, *request = values
    yield from answers(image, dict(zip(REQUEST, request, strict=True)), progress)


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
    model: Any = None,
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
            result, truth = explanation(read_upload(image), request, overlays=False, progress=None)
            last = stored(result, truth, key, request, backend().models.resolve(request["model"]))
        return write_downloads(last, request_folder())


def predict_image(image: Any) -> dict[str, float]:
    """Classify one image: the model's top-5 classes with probabilities.

    Args:
        image: image file (gradio_client: handle_file(path)); cropped, resized to 32x32
    Returns:
        label: top-5 classes with probabilities
    """
    with user_errors("classify the image"):
        default = backend().models.default
        return label_output(predict_on_gpu(default, read_upload(image)))


def predict_with_model(image: Any, model: Any) -> dict[str, float]:
    """/predict with the model chosen on the page (the page's quick label; not in the API)."""
    with user_errors("classify the image"):
        name = backend().models.resolve(model)
        return label_output(predict_on_gpu(name, read_upload(image)))


def sample_image(index: Any = None) -> tuple[str, str, str, int]:
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
        sample = backend().dataset.sample(index)
        (path,) = save_pictures([sample.image], request_folder("sample-"))
        return path, sample.label_name, sample.describe(), sample.index


def random_sample() -> tuple[str, str, str, int]:
    """/sample without an index (the Random button)."""
    return sample_image(None)


# ------------------------------------------------------------------ the test set

Report = Callable[[int, int, str], None]


def test_set(waiting: Callable[[str], None] | None = None) -> ImageSet:
    """The test set the app browses (waits for its load at start-up)."""
    return backend().dataset.get(waiting)


def predictions(model: Any, report: Report | None = None) -> tuple[str, Predictions]:
    """(the model's name, its predictions on the test set): computed once per weights and
    set, then from the cache."""
    name = backend().models.resolve(model)
    return name, zerogpu.predictions(name, test_set(), report)


def list_models() -> list[dict[str, Any]]:
    """The models this app can explain and browse with, the default first.

    Returns:
        models: [{"name", "weights" (source and sha256), "accuracy" (top-1 on the CIFAR-10
            test set, or None), "accuracy_source", "description", "default"}]
    """
    with user_errors("list the models"):
        data = test_set()
        zerogpu.measure_accuracies(backend().models, data)
        return backend().models.describe(data)


def confusion_matrix(model: str | None = None) -> dict[str, Any]:
    """A model's confusion matrix on the test set the app browses.

    Args:
        model: a name from /models (default: the app's model)
    Returns:
        confusion: {"classes": the 10 class names, "matrix": 10x10 counts (rows = true class,
            columns = predicted), "accuracy", "total" (images), "per_class_accuracy",
            "model", "test_set": {"name", "source", "size", "full", "reason"}}
    """
    with user_errors("compute the confusion matrix"):
        name, predicted = predictions(model)
        described = {k: v for k, v in test_set().describe().items() if k != "fingerprint"}
        return {**confusion(predicted), "model": name, "test_set": described}


def browse_images(
    true_class: str = ANY,
    predicted_class: str = ANY,
    outcome: str = "all",
    sort: str = "most confident first",
    page: int = 1,
    model: str | None = None,
    min_confidence: float = 0.0,
    max_confidence: float = 1.0,
) -> dict[str, Any]:
    """One page (24 images) of the test set, filtered and sorted, with each prediction.

    Args:
        true_class: "any" or a class (name or 0-9)
        predicted_class: "any" or a class (name or 0-9)
        outcome: "all", "correct" or "wrong"
        sort: "most confident first", "least confident first" or "index"
        page: 1 to the number of pages
        model: a name from /models (default: the app's model)
        min_confidence: lowest predicted-class probability shown, 0-1
        max_confidence: highest predicted-class probability shown, 0-1
    Returns:
        page: {"total" (matching images), "page", "pages", "page_size", "items": [{"index"
            (for /sample), "true_label", "predicted_label", "confidence" (the predicted
            class's probability)}], "model"}
    """
    with user_errors("browse the test set"):
        name, predicted = predictions(model)
        shown = browse(
            predicted,
            true_class,
            predicted_class,
            outcome,
            sort,
            page,
            confidence=(min_confidence, max_confidence),
        )
        return {**shown, "model": name}


def find_strategies(class_name: str, model: str | None = None) -> dict[str, Any]:
    """A class's decision strategies: its test images' Integrated Gradients maps clustered
    (SpRAy: spectral clustering, number of clusters by eigengap). Cached per model; the first
    request for a class of the full test set takes several seconds.

    Args:
        class_name: a CIFAR-10 class (name or 0-9)
        model: a name from /models (default: the app's model)
    Returns:
        strategies: {"class", "images", "clusters": [{"size", "accuracy" (share predicted as
            the class), "members" (test-set indices, most typical first)}], "eigenvalues",
            "reason" (why there is one cluster, when there is), "settings", "model"}
    """
    with user_errors("find the class strategies"):
        name = backend().models.resolve(model)
        return {**class_strategy_result(class_name, name).to_dict(), "model": name}


def class_strategy_result(class_name: Any, model: Any, report: Report | None = None):
    """`interpret.dataset.strategies.class_strategies` for the app's test set (cached on disk)."""
    name = backend().models.resolve(model)
    return zerogpu.strategies(name, test_set(), class_name, report)


def model_disagreements(model: Any, other: Any, true_class: Any, which: Any, sort: Any, page: Any):
    """The images where two models predict differently (`interpret.dataset.browse`)."""
    name, first = predictions(model)
    other_name, second = predictions(other)
    return name, other_name, disagreements(first, second, true_class, which, sort, page)
