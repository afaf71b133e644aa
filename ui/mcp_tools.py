"""The MCP tools (Gradio's MCP server at /gradio_api/mcp/, shaped for agents): which endpoints
are tools, what each one tells an agent, how an image arrives, and what each answer holds.

Gradio makes every public endpoint a tool named after its function, described by that
function's docstring; those docstrings are written for `gradio_client` and frozen with the API.
Here each tool has a card instead: a typed signature with the endpoint's parameters (same names,
order and defaults; tested) and a docstring written for an agent. Gradio's server reads its
description and input schema from the card, the way `gr.api` reads a typed function
(ui/gradio_fixes.py, 4.); a call still runs the frozen endpoint, through the queue.

- An image comes as base64 data (``data:image/png;base64,...``), refused in the app's words
  otherwise: no URL is fetched, no path is read (`saved_image`).
- An answer holds every picture as an image, a gallery's caption after its picture, and the
  other values as one JSON text (`answer`). No server path: pictures are sent, not named.

docs/MCP.md says why it is built this way.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_type_hints

from gradio_client.utils import is_file_obj_with_meta, is_http_url_like, python_type_to_json_schema
from PIL import Image

from interpret import CLASSES, DEFAULT_METHODS, METHODS
from interpret.core.params import BASELINES
from interpret.core.preprocess import MAX_FILE_BYTES

from .config import DEFAULT_OPACITY, DEFAULTS, NO_CONTRAST, PREDICTED, TRUE_LABEL
from .errors import BASE64_ONLY, NO_URLS_BASE64, image_refused
from .features_pictures import atlas_pictures, feature_pictures
from .files import request_folder, write_atomically

IMAGE_PARAMETERS = ("image",)  # the parameters that take an image (base64 data)
# The MCP SDK answers a request body over 4 MiB with HTTP 413 before reading it (the default
# `max_request_body_size` of its session manager, which Gradio keeps; tested): base64 takes
# 4 bytes for 3, so an image sent to a tool is at most 3 MB, under the uploads' MAX_FILE_BYTES.
MCP_REQUEST_LIMIT = 4 * 2**20
# The longest base64 text of a file as large as an upload may be (MAX_FILE_BYTES), with room
# for line breaks every 64 characters (PEM, `base64` on the command line): checked before
# decoding, whatever the request limit.
MAX_BASE64_CHARS = (MAX_FILE_BYTES + 2) // 3 * 4 * 65 // 64 + 4
TOO_LARGE = f"file is larger than {MAX_FILE_BYTES // 2**20} MB"  # interpret.core.preprocess's

MethodKey = Literal[tuple(METHODS)]  # type: ignore[valid-type]
Target = Literal[(PREDICTED, TRUE_LABEL, *CLASSES)]  # type: ignore[valid-type]
Contrast = Literal[(NO_CONTRAST, *CLASSES)]  # type: ignore[valid-type]
Baseline = Literal[tuple(BASELINES)]  # type: ignore[valid-type]
Outcome = Literal["all", "correct", "wrong"]
Sort = Literal["most confident first", "least confident first", "index"]


class ToolRefusal(ValueError):
    """A tool call refused before the endpoint runs; the message is the app's sentence."""


@dataclass(frozen=True)
class Picture:
    """One picture of an answer, sent as an MCP image."""

    data: bytes
    mime_type: str


Part = Picture | str  # what an answer holds: pictures and texts, in order


@dataclass(frozen=True)
class Tool:
    """One endpoint as an MCP tool: its card (signature and docstring) and the names of its
    outputs, in the endpoint's order."""

    endpoint: str
    card: Callable[..., Any]
    outputs: tuple[str, ...]
    # Pictures drawn from a JSON answer (PNG bytes, caption), sent before it.
    pictures: Callable[[Any], list[tuple[bytes, str]]] | None = None

    @property
    def name(self) -> str:
        return self.card.__name__

    @property
    def images(self) -> tuple[str, ...]:
        """The parameters that take an image."""
        return tuple(p for p in inspect.signature(self.card).parameters if p in IMAGE_PARAMETERS)

    def describe(self) -> tuple[str, dict[str, str]]:
        """The tool's description (what it does, then "Returns: ...") and each parameter's."""
        sections = docstring_sections(self.card)
        description = " ".join(sections[""])
        if sections["Returns:"]:
            description += "\n\nReturns: " + " ".join(sections["Returns:"])
        return description, entries(sections["Args:"])

    def input_schema(self, api_parameters: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON schema of the arguments: each parameter's type from the card's type hint
        (as `gr.api` derives it), its description from the card, and the default the endpoint
        gets when the argument is left out (what `gradio_client` fills in)."""
        _, described = self.describe()
        hints = get_type_hints(self.card)
        properties, required = {}, []
        for parameter in api_parameters:
            name = parameter["parameter_name"]
            if name in IMAGE_PARAMETERS:
                schema = {"type": "string", "contentMediaType": "image/*"}
            else:
                schema = python_type_to_json_schema(hints[name])
            schema["description"] = described.get(name, "")
            if parameter.get("parameter_has_default"):
                schema["default"] = parameter.get("parameter_default")
            else:
                required.append(name)
            properties[name] = schema
        return {"type": "object", "properties": properties, "required": required}

    def answer(self, outputs: list[Any], picture: Callable[[Any], Picture]) -> list[Part]:
        """The endpoint's outputs as an agent gets them: every picture (`picture` reads a
        file the endpoint returned), a gallery's caption after its picture, then the other
        values as one JSON text: the value itself when there is one, else an object of them
        by name."""
        if len(outputs) != len(self.outputs):
            raise RuntimeError(f"{self.endpoint} answered {len(outputs)} values")
        parts: list[Part] = []
        values = {}
        for name, value in zip(self.outputs, outputs, strict=True):
            if is_file_obj_with_meta(value):
                parts.append(picture(value))
            elif _is_gallery(value):
                for item in value:
                    parts += [picture(item["image"]), item.get("caption") or ""]
            else:
                values[name] = value
        if values:
            shown = next(iter(values.values())) if len(values) == 1 else values
            for data, caption in self.pictures(shown) if self.pictures else []:
                parts += [Picture(data, "image/png"), caption]
            parts.append(json.dumps(shown, ensure_ascii=False))
        return parts


def _is_gallery(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and is_file_obj_with_meta(item.get("image")) for item in value
    )


def docstring_sections(card: Callable[..., Any]) -> dict[str, list[str]]:
    """A card's docstring split into its summary, "Args:" and "Returns:" lines (dedented)."""
    sections: dict[str, list[str]] = {"": [], "Args:": [], "Returns:": []}
    current = ""
    for line in (inspect.getdoc(card) or "").splitlines():
        if line.strip() in sections:
            current = line.strip()
        elif line.strip():
            sections[current].append(line.strip() if current != "Args:" else line)
    return sections


def entries(lines: list[str]) -> dict[str, str]:
    """Google-style "name: text" entries; a more indented line continues the one above."""
    found: dict[str, str] = {}
    name = None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        head, colon, text = line.strip().partition(":")
        if indent <= 4 and colon and head.isidentifier():
            name = head
            found[name] = text.strip()
        elif name is not None:
            found[name] += " " + line.strip()
    return found


# ------------------------------------------------------------------ images in, pictures out


def image_bytes(value: Any) -> bytes:
    """The bytes of an image sent to a tool: base64 data only, at most what an upload may be.
    Anything else is refused in the app's words before anything is read or fetched."""
    if not isinstance(value, str):
        raise _refused(BASE64_ONLY)
    text = value.strip()
    if text[:5].lower() != "data:":
        raise _refused(NO_URLS_BASE64 if is_http_url_like(text) or "://" in text else BASE64_ONLY)
    header, comma, payload = text.partition(",")
    if not comma or not header.lower().endswith(";base64"):
        raise _refused(BASE64_ONLY)
    if len(payload) > MAX_BASE64_CHARS:
        raise _refused(TOO_LARGE)
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _refused(BASE64_ONLY) from None
    if len(data) > MAX_FILE_BYTES:
        raise _refused(TOO_LARGE)
    return data


def saved_image(value: Any) -> str:
    """An image sent to a tool, written to a fresh request folder for the endpoint call to
    upload (as `gradio_client` uploads a file): its path."""
    data = image_bytes(value)
    return str(write_atomically(request_folder("mcp-") / "image", data))


def _refused(reason: str) -> ToolRefusal:
    return ToolRefusal(image_refused(reason).message)


def served_picture(file: Mapping[str, Any], folder: str | Path) -> Picture:
    """A picture an endpoint returned, read from Gradio's cache `folder` (nothing else is read)."""
    path = file.get("path")
    if not isinstance(path, str) or not Path(path).resolve().is_relative_to(Path(folder).resolve()):
        raise RuntimeError("an endpoint returned a file outside Gradio's cache")
    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        kind = (image.format or "PNG").lower()
    return Picture(data, f"image/{kind}")


# ------------------------------------------------------------------ the cards

TOOLS: dict[str, Tool] = {}


def tool(
    endpoint: str, *outputs: str, pictures: Callable[[Any], list[tuple[bytes, str]]] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a card as the tool of `endpoint`, whose outputs are named `outputs`
    (`pictures`: drawn from its JSON answer)."""

    def register(card: Callable[..., Any]) -> Callable[..., Any]:
        TOOLS[endpoint] = Tool(endpoint, card, outputs, pictures)
        return card

    return register


@tool("/explain", "gallery", "label", "details")
def explain_image(
    image: str,
    methods: list[MethodKey] = list(DEFAULT_METHODS),  # noqa: B006 (read, never called)
    target: Target = PREDICTED,
    n_steps: int = DEFAULTS.n_steps,
    nt_samples: int = DEFAULTS.nt_samples,
    stdevs: float = DEFAULTS.stdevs,
    baseline: Baseline = DEFAULTS.baseline,
    seed: int = DEFAULTS.seed,
    opacity: float = DEFAULT_OPACITY,
    contrast: Contrast = NO_CONTRAST,
    trust_scores: bool = False,
    occlusion_window: int = DEFAULTS.occlusion_window,
    occlusion_stride: int = DEFAULTS.occlusion_stride,
    model: str | None = None,
):
    """Explain why a small CNN trained on CIFAR-10 (32x32 photos of 10 classes: airplane,
    automobile, bird, cat, deer, dog, frog, horse, ship, truck) classified an image as it did:
    its top-5 prediction and one attribution heat map per method, showing which pixels drove
    the score of the target class.

    Args:
        image: the image itself as base64 data, "data:image/png;base64,..." (PNG, JPEG, WebP,
            GIF, BMP, TIFF; at most 3 MB, as a request is at most 4 MiB, and 50 megapixels);
            its largest centered square is resized to 32x32. URLs and file paths are refused.
        methods: attribution methods (default: the Captum tutorial's four: saliency,
            integrated_gradients, ig_smoothgrad_sq, deeplift)
        target: the class whose score is explained: "predicted" (default), a class name, or
            "true label" (only for CIFAR-10 test images the app knows, as from sample_image)
        n_steps: Integrated Gradients steps, 1-500 (default 50)
        nt_samples: SmoothGrad noisy copies, 1-500 (default 100); n_steps x nt_samples is at
            most 20000
        stdevs: SmoothGrad noise level in normalized units, 0-5 (default 0.2)
        baseline: the reference input of IG, DeepLift, Occlusion and the Shap methods: zeros
            (a mid-gray image, default), black, blur, noise or mean (the training-set color)
        seed: random seed for the noise (default 0): the same request gives the same maps
        opacity: heat-map opacity over the grayscale image, 0-1 (default 0.5)
        contrast: "none" (default), or a class other than the target: the maps then explain
            "why the target rather than this class" (the difference of the two scores)
        trust_scores: true adds, per map, deletion/insertion areas, infidelity,
            max-sensitivity and a model-randomization sanity check to details; several times
            slower (default false)
        occlusion_window: Occlusion's square window in pixels, 1-32 (default 4)
        occlusion_stride: Occlusion's step in pixels, 1-32 (default 2)
        model: which model explains: a name from list_models (default: the app's model)
    Returns:
        the 32x32 model input as the model sees it, then one heat map per method, each image
        followed by its caption ("method · sign convention · target: class"); then JSON
        {"label": {"label": the predicted class, "confidences": the top 5 with probabilities},
        "details": {"predicted_class", "probabilities", "top5", "target_class",
        "contrast_class", "methods", "deltas" (per method that has one, the convergence
        delta: how far the attributions' sum is from the score difference they explain),
        "timings", "params", "captions", "model", "weights", "device", "versions",
        "agreement" (Spearman rank correlation between the maps), "true_label" and "correct"
        when the app knows the image, and with trust_scores "faithfulness" and "sanity"}}.
    """


@tool("/predict", "label")
def predict_image(image: str):
    """Classify an image with a small CNN trained on CIFAR-10 (airplane, automobile, bird,
    cat, deer, dog, frog, horse, ship, truck): its top-5 classes with probabilities.

    Args:
        image: the image itself as base64 data, "data:image/png;base64,..." (PNG, JPEG, WebP,
            GIF, BMP, TIFF; at most 3 MB, as a request is at most 4 MiB, and 50 megapixels);
            its largest centered square is resized to 32x32. URLs and file paths are refused.
    Returns:
        JSON {"label": the predicted class, "confidences": [{"label", "confidence"}] for the
        top 5, most probable first}.
    """


@tool("/sample", "image", "true_label", "source", "index")
def sample_image(index: int | None = None):
    """A CIFAR-10 test image with its true label, by index or at random.

    Args:
        index: its position in the test set the app serves (0-9999 for the full test set,
            0-19 for the 20 bundled images); left out: a random image
    Returns:
        the 32x32 image (PNG), then JSON {"true_label": its class, "source": which set it
        comes from, its index there and its label, "index": its index in that set}.
    """


@tool("/models", "models")
def list_models():
    """The models this app can explain and browse with, the default first.

    Returns:
        JSON [{"name" (what the other tools' model argument takes), "weights" (source and
        sha256), "accuracy" (top-1 on the CIFAR-10 test set, or null), "accuracy_source",
        "description", "default"}].
    """


@tool("/confusion", "confusion")
def confusion_matrix(model: str | None = None):
    """A model's confusion matrix on the CIFAR-10 test set the app serves (all 10,000 images,
    or the 20 bundled ones).

    Args:
        model: a name from list_models (default: the app's model)
    Returns:
        JSON {"classes": the 10 class names, "matrix": 10x10 counts (rows = true class,
        columns = predicted class), "accuracy", "total" (images), "per_class_accuracy",
        "model", "test_set": {"name", "source", "size", "full", "reason"}}.
    """


@tool("/browse", "page")
def browse_images(
    true_class: str = "any",
    predicted_class: str = "any",
    outcome: Outcome = "all",
    sort: Sort = "most confident first",
    page: int = 1,
    model: str | None = None,
    min_confidence: float = 0.0,
    max_confidence: float = 1.0,
):
    """One page (24 images) of the CIFAR-10 test set with each image's prediction, filtered
    and sorted: find the images a model gets wrong, or is least sure of.

    Args:
        true_class: "any" (default) or a class name: only images of this class
        predicted_class: "any" (default) or a class name: only images predicted as this class
        outcome: "all" (default), "correct" or "wrong" predictions only
        sort: "most confident first" (default), "least confident first" or "index"
        page: 1 (default) to the number of pages
        model: a name from list_models (default: the app's model)
        min_confidence: lowest predicted-class probability listed, 0-1 (default 0)
        max_confidence: highest predicted-class probability listed, 0-1 (default 1)
    Returns:
        JSON {"total" (matching images), "page", "pages", "page_size", "items": [{"index"
        (sample_image's index), "true_label", "predicted_label", "confidence" (the predicted
        class's probability)}], "model"}.
    """


@tool("/strategies", "strategies")
def find_strategies(class_name: str, model: str | None = None):
    """A class's decision strategies: the Integrated Gradients maps of its test images,
    clustered (SpRAy: spectral clustering, the number of clusters by eigengap). The first
    request for a class of the full test set takes several seconds, then it is cached.

    Args:
        class_name: a CIFAR-10 class name (or its index, 0-9)
        model: a name from list_models (default: the app's model)
    Returns:
        JSON {"class", "images", "clusters": [{"size", "accuracy" (share predicted as the
        class), "members" (test-set indices for sample_image, most typical first)}],
        "eigenvalues", "reason" (why there is one cluster, when there is), "settings",
        "model"}.
    """


@tool("/features", "features", pictures=feature_pictures)
def image_features(
    image: str,
    target: Target = PREDICTED,
    contrast: Contrast = NO_CONTRAST,
    model: str | None = None,
    baseline: Baseline = DEFAULTS.baseline,
    n_steps: int = DEFAULTS.n_steps,
):
    """One level below explain_image's maps: the CNN reads an image through 16 learned
    features (its pool2 channels). Splits the Integrated Gradients explanation by feature: how
    much each contributed (they add up to the total), where in the image its evidence is, and
    the CIFAR-10 test images each one responds to most.

    Args:
        image: the image itself as base64 data, "data:image/png;base64,..." (at most 3 MB);
            its largest centered square is resized to 32x32. URLs and file paths are refused.
        target: the class whose score is split: "predicted" (default), a class name, or
            "true label" (only for CIFAR-10 test images the app knows)
        contrast: "none" (default), or a class other than the target: then the split of
            "why the target rather than this class" (the difference of the two scores)
        model: a name from list_models (default: the app's model)
        baseline: the reference input: zeros (a mid-gray image, default), black, blur, noise
            or mean
        n_steps: Integrated Gradients steps, 1-500 (default 50)
    Returns:
        for each of the 6 features with the largest |contribution|: its share of the heat map
        over the image, captioned with its contribution, then a strip of the 16x16 windows of
        the 8 test images where it is most active (their indices for sample_image in the
        caption); then JSON {"layer": "pool2", "target", "contrast", "explained",
        "prediction", "total", "output_difference" (the score difference explained), "delta"
        (their difference), "channels": [{"channel", "contribution", "top_images"}] largest
        |contribution| first, "top_images_from" (the test set), "model", "input_sha256"}.
    """


@tool("/feature_atlas", "atlas", pictures=atlas_pictures)
def class_feature_atlas(model: str | None = None):
    """The class x feature atlas: for each CIFAR-10 class, how much each of the CNN's 16 learned
    features (pool2 channels) contributes on average to its correctly classified test images
    (Integrated Gradients, baseline zeros, 50 steps, target the true class). The first request
    over the full test set takes about a minute, then it is cached.

    Args:
        model: a name from list_models (default: the app's model)
    Returns:
        the atlas as a heat map (rows: classes, columns: features; blue for, red against),
        then JSON {"classes", "channels": 16, "matrix": 10x16 mean contributions, "images":
        correctly classified images per class, "settings", "model", "test_set"}.
    """
