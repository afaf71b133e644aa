"""The models the app can show side by side: `interpret.dataset.registry` with the app's own
model as the default.

The app's model (INTERPRET_WEIGHTS, the Hub repo, else the shipped weights) keeps its registry
name when its weights are one of the built-in models' (compared by `weights_digest`, not by
path), so the shipped weights are "retrained" wherever they were loaded from; other weights
are listed first as "default". Local models are loaded at start-up (a few milliseconds each),
so every row of /models names its weights with their sha256; Hub entries of INTERPRET_MODELS
load on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interpret import Net
from interpret.dataset.images import ImageSet
from interpret.dataset.predictions import weights_digest
from interpret.dataset.registry import Registry, RegistryError, default_registry

log = logging.getLogger("interpret.app")

DEFAULT_NAME = "default"
NO_COMPARISON = "none"


@dataclass
class Models:
    """The registry and the name of the model every request uses unless it names another."""

    registry: Registry
    default: str

    @classmethod
    def single(cls, model: Net, name: str = DEFAULT_NAME) -> Models:
        """Just `model` (library users and tests that configure the endpoints by hand)."""
        registry = Registry()
        registry.add(name, getattr(model, "weights_source", name), "the app's model", model=model)
        return cls(registry, name)

    @classmethod
    def build(
        cls, model: Net, device: Any = None, environ: Mapping[str, str] | None = None
    ) -> Models:
        """The built-in models and INTERPRET_MODELS' (`default_registry`), with `model` (the
        app's, already loaded) under its built-in name or first as "default"."""
        found = default_registry(environ, device=device)
        digest, loaded = weights_digest(model), {}
        for name in found.names():
            if found.entry(name).is_local:
                try:
                    loaded[name] = found.load(name)
                except RegistryError as error:  # listed all the same; a request says why
                    log.warning("%s", error)
        for name, other in loaded.items():
            if weights_digest(other) == digest:
                entry = found.entry(name)
                found.add(name, entry.source, entry.description, model=model)
                return cls(found, name)
        name = DEFAULT_NAME if DEFAULT_NAME not in found.names() else "app"
        registry = Registry(device=device)
        registry.problems = found.problems
        registry.add(name, model.weights_source, "the weights the app loaded", model=model)
        for other in found.names():
            entry = found.entry(other)
            registry.add(other, entry.source, entry.description, model=loaded.get(other))
        return cls(registry, name)

    def names(self) -> list[str]:
        return self.registry.names()

    def resolve(self, name: Any) -> str:
        """A model's name: None or blank mean the default; an unknown name is a
        `RegistryError` that lists the known ones."""
        if name is None or (isinstance(name, str) and not name.strip()):
            return self.default
        if not isinstance(name, str):
            raise RegistryError(f"unknown model {name!r}; choose one of {', '.join(self.names())}")
        return self.registry.entry(name).name

    def load(self, name: Any) -> Net:
        """The model called `name` (None: the default), loaded once."""
        return self.registry.load(self.resolve(name))

    def others(self, name: Any) -> list[str]:
        """Every other model, to compare `name` with."""
        chosen = self.resolve(name)
        return [other for other in self.names() if other != chosen]

    def choices(self) -> list[tuple[str, str]]:
        """(label, name) for a selector: the name with its recorded accuracy when known
        (metrics.json only: nothing is computed for a label)."""
        choices = []
        for name in self.names():
            try:
                accuracy, _ = self.registry.accuracy(name)
            except RegistryError:
                accuracy = None
            choices.append((name if accuracy is None else f"{name} · {accuracy:.1%}", name))
        return choices

    def describe(self, test_set: ImageSet | None = None) -> list[dict[str, Any]]:
        """/models: one row per model (name, weights, accuracy, where the accuracy comes from,
        description, whether it is the default), the default first."""
        rows = self.registry.describe(test_set)
        rows = [{**row, "default": row["name"] == self.default} for row in rows]
        return sorted(rows, key=lambda row: not row["default"])
