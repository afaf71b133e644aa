"""The training images behind a decision, for the app: /influence, /train_sample and /hardest,
and what the "Training images behind it" and "Hardest training images" panels compute with.

Every number comes from `interpret.influence` (TracIn over fc3, summed over the checkpoints
training kept). No GPU call: the index is built once per (weights, training set) on the
server's CPU (with a progress bar, then from the library's disk cache) and a query is a few
matrix products there (docs/ZEROGPU.md), so no training image ever crosses a pickle.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path
from typing import Any

import gradio as gr

from interpret import CLASSES, Net, load_model, settings
from interpret.core.params import ParamError
from interpret.core.weights import SHIPPED_WEIGHTS, WeightsError, hub_snapshot
from interpret.dataset.browse import ANY
from interpret.dataset.predictions import weights_digest
from interpret.dataset.sampler import SampleError, parse_index
from interpret.influence import (
    HardestPage,
    Influence,
    InfluenceIndex,
    InfluenceUnavailable,
    build_index,
    hardest_training_images,
    training_influence,
)
from interpret.influence.checkpoints import CHECKPOINTS_DIR, MANIFEST
from interpret.influence.index import history_of

from . import api
from .config import PREDICTED
from .errors import user_errors
from .files import request_folder, save_pictures
from .inputs import resolve_target, whole_number
from .testset_tab import with_default_model
from .training_set import source, training_set

log = logging.getLogger("interpret.app")

Report = Any  # (done, total, what) -> None, or None
MAX_K = 50  # proponents (and opponents) one answer may list


# ------------------------------------------------------------------ the model's history


_hub_folders: dict[str, Path] = {}  # Hub weights' snapshot folders whose checkpoints came


def _hub_checkpoints(source: str) -> Path | None:
    """The checkpoints beside Hub weights ("hub:owner/repo@revision ..."): from the Hub's
    cache, or downloaded where downloads are allowed (once per process); None when they
    cannot be had (asked again next time: a Space may come online)."""
    if source in _hub_folders:
        return _hub_folders[source]
    repo, _, rest = source.removeprefix("hub:").partition("@")
    revision = rest.split(" ", 1)[0] or None
    patterns = [f"{CHECKPOINTS_DIR}/*"]
    try:
        folder = hub_snapshot(repo, revision, patterns, download=settings.read().on_space)
    except WeightsError as error:  # offline, unreachable, no such files: no history here
        log.info("No training checkpoints for %s: %s", source, error)
        return None
    _hub_folders[source] = folder
    return folder


def weights_folder(name: str) -> Path | None:
    """Where model `name`'s weights (and so its ``checkpoints/``) are: its registry source,
    the configured weights for the app's own model; None when it has no local folder."""
    models = api.backend().models
    sources = [models.registry.entry(name).source]
    if name == models.default:
        sources.insert(0, settings.read().weights or "")
        loaded = getattr(models.load(name), "weights_source", "")
        if loaded.startswith("shipped:"):
            sources.append(str(SHIPPED_WEIGHTS))
        elif loaded.startswith("hub:"):
            return _hub_checkpoints(loaded)
    for given in sources:
        path = Path(given).expanduser() if given else None
        if path is not None and path.exists():
            return path if path.is_dir() else path.parent
    return None


def preload() -> None:
    """At start-up: load the training split in the background (after the test set) when the
    app's model has training checkpoints beside it; otherwise on first use. The check runs
    in the thread too (Hub weights' checkpoints may be asked of the Hub)."""

    def check() -> None:
        try:
            folder = weights_folder(api.backend().models.default)
        except Exception:  # the panels say why when asked
            log.exception("Checking the app's model for training checkpoints failed")
            return
        if folder is not None and (folder / CHECKPOINTS_DIR / MANIFEST).is_file():
            source().start()

    threading.Thread(target=check, name="training-set-preload", daemon=True).start()


def index_of(model: Any, report: Report = None) -> tuple[InfluenceIndex, str]:
    """(the influence index of model `model` over the training split, its name): waits for
    the split's load, builds the index once (with `report(done, total, what)`), then reuses it.
    `InfluenceUnavailable` says in words what is missing."""
    name = api.backend().models.resolve(model)
    folder = weights_folder(name)
    if folder is None:
        raise InfluenceUnavailable(
            f"model '{name}' has no training checkpoints here: its weights come without the "
            "training history influence needs",
            "no-checkpoints",
        )

    net = cpu_model(name, folder)
    history = history_of(net, folder, name)  # before the training set: without it, no use

    def waiting(text: str) -> None:
        if report is not None:
            report(0, 0, text)

    data = training_set(waiting)
    return build_index(net, history, data, progress=report), name


@functools.lru_cache(maxsize=8)
def cpu_model(name: str, folder: Path) -> Net:
    """Model `name` on the CPU, where the index and the queries run: its own weights file
    loaded again there (milliseconds) when it is a save_pretrained folder, so no tensor of a
    GPU (or of ZeroGPU's stand-in for one) is read on the server; else the loaded model."""
    loaded = api.backend().models.load(name)
    if (folder / "model.safetensors").is_file():
        copy = load_model(folder, device="cpu")
        if weights_digest(copy) == weights_digest(loaded):
            return copy
    return loaded


# ------------------------------------------------------------------ requests


def _k(value: Any) -> int:
    """`k` as a whole number from 1 to MAX_K, else `ParamError` in the app's words."""
    return whole_number("k", value, 1, MAX_K)


def true_class(value: Any) -> int | None:
    """ "any" (or blank) -> None; a class name (any case) or 0-9 -> its index."""
    text = "" if value is None else str(value).strip().lower()
    if text in ("", ANY):
        return None
    if text in CLASSES:
        return CLASSES.index(text)
    if text.isascii() and text.isdecimal() and int(text) < len(CLASSES):
        return int(text)
    raise ParamError(f"unknown class {value!r}; choose {ANY} or one of {', '.join(CLASSES)}")


def influence_of(
    picture: Any, target: Any, model: Any, k: Any = 8, report: Report = None
) -> tuple[Influence, InfluenceIndex, str]:
    """The TracIn scores of every training image for `picture` (a model input) at `target`
    ("predicted", "true label", a class): (the answer, its index, the model's name)."""
    chosen = resolve_target(target, api.backend().sampler.truth(picture))
    count = _k(k)
    index, name = index_of(model, report)
    return training_influence(index, picture, chosen, k=count), index, name


def answer(found: Influence, index: InfluenceIndex, name: str) -> dict[str, Any]:
    """/influence's answer: the library's dict, labelled for clients, and the model."""
    described = found.to_dict()
    return {
        **described,
        "train_set": {
            "name": index.training_set,
            "source": index.training_source,
            "size": len(index),
            "fingerprint": index.fingerprint,
        },
        "model": name,
    }


def hardest_of(true_label: Any, page: Any, model: Any, report: Report = None) -> HardestPage:
    """A page of the training images with the highest self-influence, of class `true_label`."""
    label = true_class(true_label)
    number = parse_page(page)
    index, _ = index_of(model, report)
    return hardest_training_images(index, label, number)


def parse_page(value: Any) -> int:
    """A page number: a whole number of at least 1."""
    return whole_number("page", value, 1)


def training_sample(index: Any) -> tuple[Any, int, str, int]:
    """(the training image, its label, a description, its index); the app knows its label
    from now on (an explanation of it says right or wrong)."""
    data = training_set()
    try:
        chosen = parse_index(index, len(data)) if index is not None else None
    except SampleError as error:
        raise ParamError(
            str(error).replace("the image index", "the training image index")
        ) from None
    if chosen is None:
        raise ParamError(f"a training image index is needed, between 0 and {len(data) - 1:,}")
    image, label = data.image(chosen), int(data.labels[chosen])
    where = f"{data.name}, training image #{chosen}"
    api.backend().sampler.remember(image, label, where)
    return image, label, where, chosen


# ------------------------------------------------------------------ the endpoints


def image_influence(
    image: Any, target: str = PREDICTED, model: str | None = None, k: int = 8
) -> dict[str, Any]:
    """The training images behind a decision: TracIn (Pruthi et al. 2020) scores of every
    training image for the model's loss at the target, over fc3's weights, summed over the
    checkpoints training kept. A proponent's training steps lowered that loss; an
    opponent's raised it. Indices refer to this server's training set (see "train_set").

    Args:
        image: image file (gradio_client: handle_file(path)); cropped, resized to 32x32
        target: "predicted" (default), "true label" (known images), a class, or 0-9
        model: which model (a name from /models; default: the app's model)
        k: proponents and opponents listed, 1-50 (default 8)
    Returns:
        influence: {"target", "prediction", "proponents": [{"index" (for /train_sample),
            "label", "predicted", "score"}] largest first, "opponents": [...] smallest
            first, "checkpoints": [{"epoch", "learning_rate"}], "train_set": {"name",
            "source", "size", "fingerprint"}, "note", "model"}
    """
    with user_errors("find the training images behind it"):
        found, index, name = influence_of(api.read_upload(image), target, model, k)
        return answer(found, index, name)


def train_sample(index: Any) -> tuple[str, str]:
    """A training image by its index in this server's training set (as /influence and
    /hardest give it).

    Args:
        index: 0 to the training set's size - 1
    Returns:
        image: the 32x32 training image (PNG)
        label: its CIFAR-10 class name
    """
    with user_errors("load a training image"):
        image, label, _, _ = training_sample(index)
        (path,) = save_pictures([image], request_folder("train-"))
        return path, CLASSES[label]


def hardest(true_class: str = ANY, page: int = 1, model: str | None = None) -> dict[str, Any]:
    """The training images the model found hardest: highest self-influence (the influence of
    an image's own training steps on its own loss) first, 24 a page; often mislabeled or
    atypical images.

    Args:
        true_class: "any" or a class (name or 0-9)
        page: 1 to the number of pages (past the last: the last)
        model: a name from /models (default: the app's model)
    Returns:
        hardest: {"total", "page", "pages", "items": [{"index" (for /train_sample), "label",
            "predicted_label", "self_influence"}], "train_set", "note", "model"}
    """
    with user_errors("list the hardest training images"):
        name = api.backend().models.resolve(model)
        found = hardest_of(true_class, page, name)
        return hardest_answer(found, name)


def hardest_answer(found: HardestPage, name: str) -> dict[str, Any]:
    """/hardest's answer, in the names the API documents."""
    items = [
        {
            "index": item.index,
            "label": item.label_class,
            "predicted_label": item.predicted_class,
            "self_influence": item.score,
        }
        for item in found.items
    ]
    return {
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "items": items,
        "true_class": ANY if found.label is None else CLASSES[found.label],
        "train_set": {"name": found.training_set, "fingerprint": found.fingerprint},
        "note": found.note,
        "model": name,
    }


def register(default_model: str) -> None:
    """/hardest, after the frozen endpoints and /influence and /train_sample (the "Training
    images behind it" panel's hidden triggers: ui/influence_panel.py)."""
    gr.api(
        with_default_model(hardest, default_model),
        api_name="hardest",
        concurrency_id="influence",
        concurrency_limit=1,
    )
