"""The models the app can show side by side: a name, a weights source, a measured accuracy.

Built in (`default_registry`):

* ``retrained``: the shipped weights in ``weights/`` (this project's training recipe);
* ``tutorial``: the Captum CIFAR-10 tutorial's own checkpoint, converted to safetensors in
  ``weights/tutorial/`` (BSD-3-Clause, see its LICENSE);

and more from ``$INTERPRET_MODELS``: comma-separated ``name=source`` entries, where a source
is anything `interpret.load_model` takes (a Hub repo id with optional ``@revision``, a
save_pretrained folder, a ``.safetensors`` or ``.pt`` file), e.g.
``INTERPRET_MODELS="mine=owner/repo@3f2c1a0,local=/models/run7"``. An entry without a name
is named after its source. Models load on first use and stay loaded.

Accuracy comes from the weights' ``metrics.json`` (``test_top1``, written by
scripts/train.py, scripts/convert_tutorial_checkpoint.py) when there is one, else it is
measured on the full test set when one is available (`interpret.dataset.predictions`, cached), else
it is None with a reason.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from interpret import settings
from interpret.core.weights import (
    PROJECT_ROOT,
    SHIPPED_WEIGHTS,
    WeightsError,
    load_model,
    public_path,
)
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import predict_test_set

log = logging.getLogger("interpret")

TUTORIAL_WEIGHTS = PROJECT_ROOT / "weights" / "tutorial"
BUILT_IN = (
    ("retrained", SHIPPED_WEIGHTS, "the shipped weights, retrained by scripts/train.py"),
    ("tutorial", TUTORIAL_WEIGHTS, "the Captum CIFAR-10 tutorial's checkpoint (BSD-3-Clause)"),
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,39}$")


class RegistryError(ValueError):
    """An unknown model or an unusable one; the message is meant for the user."""


@dataclass
class ModelEntry:
    """One model: `source` is what `load_model` takes; `description` says what it is."""

    name: str
    source: str
    description: str = ""

    @property
    def is_local(self) -> bool:
        return Path(self.source).expanduser().exists()

    def weights_label(self) -> str:
        """Where the weights are, as anyone may see it (no server directories)."""
        if self.is_local:
            return public_path(self.source)
        return f"hub:{self.source}"

    def metrics(self) -> dict | None:
        """The weights' metrics.json, when they are a local folder that has one."""
        path = Path(self.source).expanduser()
        metrics = path / "metrics.json" if path.is_dir() else None
        if metrics is None or not metrics.is_file():
            return None
        try:
            return json.loads(metrics.read_text())
        except (OSError, ValueError) as error:
            log.warning("Ignoring unreadable %s: %s", metrics, error)
            return None


def parse_models(text: str) -> tuple[list[ModelEntry], list[str]]:
    """``$INTERPRET_MODELS`` -> (entries, problems): each problem is a sentence saying which
    entry was skipped and why; the others are kept."""
    entries: list[ModelEntry] = []
    problems: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        name, separator, source = item.partition("=")
        if not separator:
            name, source = "", item
        name, source = name.strip(), source.strip()
        if not source:
            problems.append(f"INTERPRET_MODELS entry {item!r} has no weights source")
            continue
        if not name:
            name = Path(source.split("@")[0]).name or source
        if not _NAME.match(name):
            problems.append(
                f"INTERPRET_MODELS entry {item!r}: a name is 1-40 letters, digits, spaces "
                "or _ . + -, starting with a letter or digit"
            )
            continue
        if any(entry.name == name for entry in entries):
            problems.append(f"INTERPRET_MODELS names {name!r} twice; the first is kept")
            continue
        entries.append(ModelEntry(name, source, "from INTERPRET_MODELS"))
    return entries, problems


class Registry:
    """Named models, loaded on first use; `names()` in the order they were added."""

    def __init__(self, entries: list[ModelEntry] | None = None, device: Any = None) -> None:
        self._entries: dict[str, ModelEntry] = {}
        self._models: dict[str, nn.Module] = {}
        self._lock = threading.Lock()
        self.device = device
        self.problems: list[str] = []
        for entry in entries or []:
            self.add(entry.name, entry.source, entry.description)

    def add(self, name: str, source: str | os.PathLike, description: str = "", model=None) -> None:
        """Add (or replace) a model; pass `model` when it is already loaded."""
        with self._lock:
            self._entries[name] = ModelEntry(name, str(source), description)
            self._models.pop(name, None)
            if model is not None:
                self._models[name] = model

    def names(self) -> list[str]:
        return list(self._entries)

    def entry(self, name: Any) -> ModelEntry:
        """The entry called `name`, or `RegistryError` listing the known names."""
        key = name.strip() if isinstance(name, str) else name
        if key not in self._entries:
            raise RegistryError(f"unknown model {name!r}; choose one of {', '.join(self._entries)}")
        return self._entries[key]

    def load(self, name: Any) -> nn.Module:
        """The model called `name`, loaded once (`load_model`) and kept."""
        entry = self.entry(name)
        with self._lock:
            if entry.name in self._models:
                return self._models[entry.name]
        try:
            model = load_model(entry.source, device=self.device)
        except WeightsError as error:
            log.warning("Model %r (%s) cannot be loaded: %s", entry.name, entry.source, error)
            detail = "see the server log" if entry.is_local else str(error)
            raise RegistryError(f"model {entry.name!r} cannot be loaded ({detail})") from error
        with self._lock:
            return self._models.setdefault(entry.name, model)

    def accuracy(
        self, name: Any, test_set: ImageSet | None = None, cache_dir: Path | None = None
    ) -> tuple[float | None, str]:
        """(top-1 accuracy, where it comes from); (None, why) when it is not known."""
        entry = self.entry(name)
        metrics = entry.metrics()
        if metrics and isinstance(metrics.get("test_top1"), (int, float)):
            data = metrics.get("data_source") or "the CIFAR-10 test set"
            return float(metrics["test_top1"]), f"metrics.json ({data})"
        if test_set is not None and test_set.full:
            predictions = predict_test_set(self.load(name), test_set, cache_dir=cache_dir)
            return predictions.accuracy, f"measured on {test_set.name}"
        if test_set is None:
            return None, "no metrics.json, and no test set to measure on"
        return None, f"no metrics.json, and only {test_set.name} to measure on"

    def describe(
        self, test_set: ImageSet | None = None, cache_dir: Path | None = None
    ) -> list[dict[str, Any]]:
        """[{"name", "weights", "accuracy", "accuracy_source", "description"}] for the API.

        `weights` is the loaded model's own description (with its sha256) once it is loaded,
        else where its weights are."""
        rows = []
        for name in self.names():
            entry = self._entries[name]
            try:
                accuracy, origin = self.accuracy(name, test_set, cache_dir)
            except RegistryError as error:
                accuracy, origin = None, str(error)
            loaded = self._models.get(name)
            weights = getattr(loaded, "weights_source", None) or entry.weights_label()
            rows.append(
                {
                    "name": name,
                    "weights": weights,
                    "accuracy": accuracy,
                    "accuracy_source": origin,
                    "description": entry.description,
                }
            )
        return rows


def default_registry(environ: Mapping[str, str] | None = None, device: Any = None) -> Registry:
    """The built-in models that are present, then ``$INTERPRET_MODELS``' (which may replace a
    built-in name); skipped entries are logged and listed in `Registry.problems`."""
    registry = Registry(device=device)
    for name, folder, description in BUILT_IN:
        if (folder / "model.safetensors").is_file():
            registry.add(name, folder, description)
    extra, problems = parse_models(settings.read(environ).models)
    for entry in extra:
        if entry.name in registry.names():
            log.info("INTERPRET_MODELS replaces the built-in model %r", entry.name)
        registry.add(entry.name, entry.source, entry.description)
    for problem in problems:
        log.warning("%s", problem)
    registry.problems = problems
    return registry
