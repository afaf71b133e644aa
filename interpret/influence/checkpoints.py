"""The checkpoints training kept, beside the final weights: what TracIn sums over.

Layout: ``<weights>/checkpoints/manifest.json`` and one safetensors file per checkpoint
(``epoch-08.safetensors`` ... ``epoch-40.safetensors``), each the full `Net` state dict. The
manifest gives each checkpoint's learning rate (the mean rate over the optimizer steps it
stands for, not the rate at the instant of saving, which ends near 2e-7 under the one-cycle
schedule), every file's sha256, and the digest of the final weights the checkpoints belong
to: influence is refused for any other weights. Everything loads with safetensors; nothing
is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save_file
from torch import Tensor, nn

from interpret.core.weights import public_path
from interpret.dataset.predictions import weights_digest

CHECKPOINTS_DIR = "checkpoints"
MANIFEST = "manifest.json"
FORMAT = "interpret-checkpoints/1"
LAYER = "fc3.weight"
LEARNING_RATE_WEIGHTING = (
    "each checkpoint's learning_rate is the mean one-cycle learning rate over the optimizer "
    "steps it stands for (the steps since the previous checkpoint): TracIn's sum over steps, "
    "taken per interval (the rate at the instant of saving is also given, as "
    "learning_rate_at_save, but is not used: the schedule ends near 2e-7)"
)
ENTRY_FIELDS = ("epoch", "first_step", "last_step", "learning_rate", "learning_rate_at_save")


class HistoryError(ValueError):
    """No usable training history for these weights; the message is meant for the user."""


class OtherWeights(HistoryError):
    """A training history that belongs to other weights than the model's."""


@dataclass(frozen=True)
class Checkpoint:
    """One saved state: its file, the epoch it ends, its TracIn weight, the file's sha256."""

    path: Path
    epoch: int
    learning_rate: float
    sha256: str


@dataclass(frozen=True)
class TrainingHistory:
    """A read, checked manifest: the checkpoints in training order and what they belong to."""

    folder: Path
    checkpoints: tuple[Checkpoint, ...]
    final_weights_digest: str
    label_smoothing: float
    training_set: str
    manifest: dict = field(repr=False, compare=False)

    @property
    def learning_rates(self) -> list[float]:
        """Each checkpoint's TracIn weight (the interval's mean learning rate)."""
        return [checkpoint.learning_rate for checkpoint in self.checkpoints]

    def states(self) -> list[dict[str, Tensor]]:
        """Every checkpoint's state dict, each file's bytes checked against the manifest."""
        return [load_state(checkpoint) for checkpoint in self.checkpoints]


def checkpoint_name(epoch: int) -> str:
    """``epoch-08.safetensors``: two digits so the files sort in training order."""
    return f"epoch-{epoch:02d}.safetensors"


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of a file's bytes, as the manifest records it."""
    return hashlib.sha256(data).hexdigest()


def write_checkpoint(model: nn.Module, folder: Path, epoch: int) -> Path:
    """Save the model's full state dict (the names `Net.load_state_dict` takes) as
    ``<folder>/epoch-NN.safetensors``; returns the file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / checkpoint_name(epoch)
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
    }
    save_file(state, str(path))
    return path


def checkpoint_entry(path: Path, epoch: int, first_step: int, rates: Sequence[float]) -> dict:
    """A manifest entry for the checkpoint saved after the optimizer steps ``first_step`` ..
    ``first_step + len(rates) - 1``, which used the learning rates ``rates``."""
    if not rates:
        raise ValueError(f"checkpoint at epoch {epoch} stands for no optimizer step")
    return {
        "file": Path(path).name,
        "epoch": int(epoch),
        "first_step": int(first_step),
        "last_step": int(first_step + len(rates) - 1),
        "learning_rate": math.fsum(rates) / len(rates),
        "learning_rate_at_save": float(rates[-1]),
    }


def write_manifest(
    folder: Path,
    entries: Sequence[Mapping[str, Any]],
    final_model: nn.Module,
    label_smoothing: float,
    training_set: str,
) -> Path:
    """Write ``<folder>/manifest.json`` for the checkpoint files already in ``folder``.

    ``entries`` are `checkpoint_entry` dicts (file, epoch, first_step, last_step,
    learning_rate, learning_rate_at_save); each file's sha256 is added here, from its bytes.
    """
    folder = Path(folder)
    checkpoints = []
    for entry in entries:
        item = {"file": _plain_name(str(entry["file"]))}
        item.update({name: entry[name] for name in ENTRY_FIELDS})
        item["sha256"] = sha256_bytes((folder / item["file"]).read_bytes())
        checkpoints.append(item)
    manifest = {
        "format": FORMAT,
        "final_weights_digest": weights_digest(final_model),
        "learning_rate_weighting": LEARNING_RATE_WEIGHTING,
        "loss": {
            "function": "cross_entropy",
            "label_smoothing": float(label_smoothing),
            "reduction": "sum",
        },
        "layer": LAYER,
        "training_set": training_set,
        "checkpoints": checkpoints,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def _plain_name(name: str) -> str:
    """A file name inside the checkpoints folder, never a path that leaves it."""
    if not name or name != Path(name).name or name in {".", ".."}:
        raise HistoryError(
            f"the training checkpoints' manifest names a file outside its folder: {name!r}"
        )
    return name


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    shown = public_path(path)
    if not path.is_file():
        raise HistoryError(f"no training checkpoints manifest at {shown}")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HistoryError(
            f"the training checkpoints manifest {shown} is unreadable ({error})"
        ) from error
    if not isinstance(manifest, dict):
        raise HistoryError(f"the training checkpoints manifest {shown} is not a JSON object")
    if manifest.get("format") != FORMAT:
        raise HistoryError(
            f"the training checkpoints manifest {shown} has format {manifest.get('format')!r}; "
            f"this version reads {FORMAT!r}"
        )
    return manifest


def _checkpoint_of(folder: Path, item: Any) -> Checkpoint:
    """One manifest entry, checked: a plain file name, an epoch, a finite positive rate, and a
    file whose sha256 is the one recorded."""
    try:
        path = folder / _plain_name(str(item["file"]))
        epoch = int(item["epoch"])
        rate = float(item["learning_rate"])
        digest = str(item["sha256"])
    except (TypeError, KeyError, ValueError) as error:
        raise HistoryError(f"a training checkpoint entry is malformed ({error!r})") from error
    if not math.isfinite(rate) or rate <= 0:
        raise HistoryError(f"training checkpoint {path.name} has no usable learning rate ({rate})")
    checkpoint = Checkpoint(path=path, epoch=epoch, learning_rate=rate, sha256=digest)
    _checked_bytes(checkpoint)
    return checkpoint


def _checked_bytes(checkpoint: Checkpoint) -> bytes:
    """The file's bytes, refused unless their sha256 is the manifest's."""
    try:
        data = checkpoint.path.read_bytes()
    except OSError as error:
        raise HistoryError(
            f"training checkpoint {public_path(checkpoint.path)} is unreadable ({error.strerror})"
        ) from error
    if sha256_bytes(data) != checkpoint.sha256:
        raise HistoryError(
            f"training checkpoint {public_path(checkpoint.path)} differs from its manifest "
            "(sha256 mismatch): the file was changed or damaged"
        )
    return data


def load_state(checkpoint: Checkpoint) -> dict[str, Tensor]:
    """A checkpoint's state dict, read with safetensors from bytes whose sha256 was checked."""
    data = _checked_bytes(checkpoint)
    try:
        return load_safetensors_bytes(data)
    except (SafetensorError, ValueError) as error:
        raise HistoryError(
            f"training checkpoint {public_path(checkpoint.path)} is not a readable safetensors "
            f"file ({error})"
        ) from error


def read_history(folder: Path) -> TrainingHistory:
    """Read and check a checkpoints folder (manifest, format, every file's sha256)."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    items = manifest.get("checkpoints")
    if not isinstance(items, list) or not items:
        shown = public_path(folder / MANIFEST)
        raise HistoryError(f"the training checkpoints manifest {shown} lists no checkpoint")
    checkpoints = tuple(_checkpoint_of(folder, item) for item in items)
    try:
        label_smoothing = float(manifest["loss"]["label_smoothing"])
        digest = str(manifest["final_weights_digest"])
    except (TypeError, KeyError, ValueError) as error:
        raise HistoryError(f"the training checkpoints manifest is missing {error}") from error
    return TrainingHistory(
        folder=folder,
        checkpoints=checkpoints,
        final_weights_digest=digest,
        label_smoothing=label_smoothing,
        training_set=str(manifest.get("training_set", "")),
        manifest=manifest,
    )


def history_for(model: nn.Module, weights_folder: Path, name: str | None = None) -> TrainingHistory:
    """The training history of exactly these weights: ``<weights_folder>/checkpoints/``,
    refused when there is none or when it belongs to other weights (influence would be
    wrong). ``name`` is how the user knows the model (default: the folder's name)."""
    weights_folder = Path(weights_folder)
    shown = name or weights_folder.name
    folder = weights_folder / CHECKPOINTS_DIR
    if not (folder / MANIFEST).is_file():
        raise HistoryError(
            f"model '{shown}' has no training checkpoints: its weights come without the "
            "training history influence needs (scripts/train.py writes it)"
        )
    history = read_history(folder)
    if weights_digest(model) != history.final_weights_digest:
        raise OtherWeights(
            f"model '{shown}': these checkpoints belong to other weights; influence would be wrong"
        )
    return history


def captum_checkpoint_loader(history: TrainingHistory) -> Callable[[nn.Module, str], float]:
    """Captum TracInCP*'s ``checkpoints_load_func``: loads a checkpoint of ``history`` into the
    model with safetensors (Captum's default is ``torch.load``) and returns its manifest
    learning rate. Only the history's own files are accepted."""
    by_path = {str(c.path.resolve()): c for c in history.checkpoints}

    def load(model: nn.Module, path: str) -> float:
        checkpoint = by_path.get(str(Path(path).resolve()))
        if checkpoint is None:
            raise HistoryError(f"{Path(path).name} is not one of this model's training checkpoints")
        model.load_state_dict(load_state(checkpoint))
        return checkpoint.learning_rate

    return load
