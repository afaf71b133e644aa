"""TracIn scores of every training image for one explained image and target: a few matrix
products over the index.

For checkpoint c with learning rate ``lr_c``, the query's fc3 input ``a_c`` and loss gradient
``g_c`` (at the explained target), and a training image's ``A_cj``, ``G_cj`` (at its own
label): ``score_j = sum_c lr_c (G_cj . g_c)(A_cj . a_c)``, what Captum's TracInCPFast
computes. A positive score: the training steps on image j lowered the query's loss (a
proponent); negative: they raised it (an opponent).

The training side is always the loss as trained (label-smoothed cross-entropy): those are the
steps training took. The query's loss is `query_loss`: "target" (default), the cross-entropy
at the explained target without smoothing, ``-log p(target)``, so a proponent raised the
target's probability; or "training", the label-smoothed loss itself, which is lowest at
``p(target) = 1 - 0.9 * smoothing`` (0.91): for an image the model is surer of than that, its
"proponents" are the images that made it less sure (docs/INFLUENCE.md). Captum computes
either: ``test_loss_fn`` plain cross-entropy, or left out (the training loss).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from interpret.core.model import CLASSES
from interpret.core.params import ParamError
from interpret.core.preprocess import ImageInput, model_image
from interpret.core.workers import map_in_order
from interpret.dataset.predictions import normalized_batch
from interpret.explain import resolve_target
from interpret.influence.index import InfluenceIndex, final_layer_input, loss_gradient

TOP_K = 8
CPU = torch.device("cpu")
QUERY_LOSSES = {
    "target": "cross-entropy at the explained target, -log p(target)",
    "training": "the training loss at the explained target (label-smoothed cross-entropy)",
}


@dataclass(frozen=True)
class TrainingExample:
    """One training image in a ranking: its `index` in the index's training set, true
    `label`, the final model's `predicted` class, and its `score`."""

    index: int
    label: int
    predicted: int
    score: float

    @property
    def label_class(self) -> str:
        return CLASSES[self.label]

    @property
    def predicted_class(self) -> str:
        return CLASSES[self.predicted]

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "label": self.label_class,
            "predicted": self.predicted_class,
            "score": self.score,
        }


@dataclass(frozen=True, eq=False)
class Influence:
    """A query's answer: all `scores` (float32, one per training image, for downloads), the
    top `proponents` (largest) and `opponents` (smallest), ties broken by index; the target,
    the model's prediction, the checkpoints used, and which training set the indices mean."""

    target: int
    prediction: int
    scores: np.ndarray
    proponents: tuple[TrainingExample, ...]
    opponents: tuple[TrainingExample, ...]
    epochs: tuple[int, ...]
    learning_rates: tuple[float, ...]
    training_set: str
    fingerprint: str
    note: str
    seconds: float
    query_loss: str = "target"

    @property
    def target_class(self) -> str:
        return CLASSES[self.target]

    def to_dict(self) -> dict:
        """Everything but the full score array, JSON-ready."""
        return {
            "target": self.target_class,
            "prediction": CLASSES[self.prediction],
            "query_loss": QUERY_LOSSES[self.query_loss],
            "proponents": [example.to_dict() for example in self.proponents],
            "opponents": [example.to_dict() for example in self.opponents],
            "checkpoints": [
                {"epoch": e, "learning_rate": r} for e, r in zip(self.epochs, self.learning_rates)
            ],
            "training_set": self.training_set,
            "fingerprint": self.fingerprint,
            "note": self.note,
        }


def forward_passes(index: InfluenceIndex, pixels: np.ndarray) -> tuple[np.ndarray, ...]:
    """(fc3 inputs C x 84, logits C x 10, the final weights' logits 10) of one uint8
    32 x 32 x 3 image, one network per single-threaded worker: a one-image pass gains nothing
    from two threads and, on a busy machine, waits for the slower one at every layer."""
    batch = normalized_batch(pixels[None], CPU)

    @torch.no_grad()
    def run(net: torch.nn.Module) -> tuple[np.ndarray, np.ndarray]:
        hidden, output = final_layer_input(net, batch)
        return hidden[0].numpy(), output[0].numpy()

    passes = map_in_order(run, [*index.networks, index.final_network], CPU)
    activations = np.stack([hidden for hidden, _ in passes[:-1]])
    logits = np.stack([output for _, output in passes[:-1]])
    return activations, logits, passes[-1][1]


def query_arrays(index: InfluenceIndex, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fc3 inputs C x 84, logits C x 10) of one uint8 32 x 32 x 3 image at each checkpoint."""
    activations, logits, _ = forward_passes(index, pixels)
    return activations, logits


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A read-only array as a tensor sharing its memory (nothing writes to it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "non-writable": read here, never written
        return torch.from_numpy(array)


def scores_for(index: InfluenceIndex, activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """``sum_c (G_c g_c) * (A_c a_c) * lr_c`` for a query's per-checkpoint fc3 inputs
    (C x 84) and loss gradients (C x 10): float32, one score per training image, each
    checkpoint's products on a single-threaded worker, summed in checkpoint order (Captum's)."""

    @torch.no_grad()
    def part(c: int) -> torch.Tensor:
        grads = _tensor(index.gradients[c]) @ torch.from_numpy(np.array(gradients[c]))
        acts = _tensor(index.activations[c]) @ torch.from_numpy(np.array(activations[c]))
        return grads * acts * float(index.learning_rates[c])

    parts = map_in_order(part, range(len(index.learning_rates)), CPU)
    total = parts[0].clone()
    for contribution in parts[1:]:
        total += contribution
    return total.numpy()


def ranked(scores: np.ndarray, k: int, largest: bool) -> np.ndarray:
    """The indices of the `k` largest (or smallest) scores, ties broken by the lower index:
    the k-th value by partition, then a stable sort of the candidates only."""
    values = -scores if largest else scores
    k = max(0, min(int(k), len(values)))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    kth = np.partition(values, k - 1)[k - 1]
    candidates = np.flatnonzero(values <= kth)
    return candidates[np.argsort(values[candidates], kind="stable")][:k]


def examples(index: InfluenceIndex, positions: np.ndarray, scores: np.ndarray) -> tuple:
    return tuple(
        TrainingExample(int(j), int(index.labels[j]), int(index.predicted[j]), float(scores[j]))
        for j in positions
    )


def training_influence(
    index: InfluenceIndex,
    image: ImageInput,
    target: int | str | None = None,
    k: int = TOP_K,
    query_loss: str = "target",
) -> Influence:
    """TracIn scores of every training image of `index` for `image`'s loss at `target`
    (default: the final model's prediction), with the top `k` proponents and opponents.
    `query_loss` is the loss whose change is scored (module doc): "target" or "training"."""
    if query_loss not in QUERY_LOSSES:
        raise ParamError(f"query_loss must be one of {', '.join(QUERY_LOSSES)}, got {query_loss!r}")
    started = time.perf_counter()
    pixels = np.asarray(model_image(image), dtype=np.uint8)
    activations, logits, final = forward_passes(index, pixels)
    prediction = int(final.argmax())
    chosen = resolve_target(target, prediction)
    targets = torch.full((len(logits),), chosen, dtype=torch.int64)
    smoothing = index.label_smoothing if query_loss == "training" else 0.0
    gradients = loss_gradient(torch.from_numpy(logits), targets, smoothing).numpy()
    scores = scores_for(index, activations, gradients)
    k = max(0, min(int(k), len(index)))
    return Influence(
        target=chosen,
        prediction=prediction,
        scores=scores,
        proponents=examples(index, ranked(scores, k, largest=True), scores),
        opponents=examples(index, ranked(scores, k, largest=False), scores),
        epochs=index.epochs,
        learning_rates=tuple(float(rate) for rate in index.learning_rates),
        training_set=index.training_set,
        fingerprint=index.fingerprint,
        note=index.note,
        seconds=time.perf_counter() - started,
        query_loss=query_loss,
    )
