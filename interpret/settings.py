"""Every environment variable the library reads, read here and nowhere else.

Callers pass an `environ` mapping where a test or a script needs another environment than the
process's; `read()` parses it at call time, so a changed variable is seen by the next call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL_REPO = "captum-explorer/cifar10-tutorial-net"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "interpret"
_YES = ("1", "true", "yes")
_NO = ("0", "false", "no")


@dataclass(frozen=True)
class Settings:
    """The library's settings, each named after its variable (``INTERPRET_`` + upper case)."""

    weights: str | None  # INTERPRET_WEIGHTS: what the app loads (anything load_model takes)
    model_repo: str  # INTERPRET_MODEL_REPO: the default Hub repo; "" skips the Hub
    model_revision: str | None  # INTERPRET_MODEL_REVISION
    models: str  # INTERPRET_MODELS: more models to compare, "name=source,..."
    device: str | None  # INTERPRET_DEVICE
    fast: bool  # INTERPRET_FAST: "0" runs IG and SmoothGrad² through plain Captum
    cache_dir: Path  # INTERPRET_CACHE_DIR: the one cache root
    cifar10_dir: str  # INTERPRET_CIFAR10_DIR: a local CIFAR-10 copy ("" for none)
    cifar10_root: Path  # INTERPRET_CIFAR10_ROOT: torchvision's download folder
    cifar10_download: bool | None  # INTERPRET_CIFAR10_DOWNLOAD: 1 yes, 0 no, unset: on a Space
    space_id: str  # SPACE_ID: set by Hugging Face on a Space

    @property
    def on_space(self) -> bool:
        return bool(self.space_id)

    @property
    def download_allowed(self) -> bool:
        """Fetch the Hub's copy of the data: where asked for, else on a Space only."""
        return self.on_space if self.cifar10_download is None else self.cifar10_download


def _text(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _switch(value: str) -> bool | None:
    value = value.lower()
    return True if value in _YES else False if value in _NO else None


def read(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in `environ` (default: the process's environment)."""
    env = os.environ if environ is None else environ
    configured_cache = _text(env, "INTERPRET_CACHE_DIR")
    cache_dir = (
        Path(configured_cache).expanduser()
        if configured_cache
        else Path.home() / ".cache" / "interpret"
    )
    cifar10_root = _text(env, "INTERPRET_CIFAR10_ROOT")
    return Settings(
        weights=_text(env, "INTERPRET_WEIGHTS") or None,
        model_repo=env.get("INTERPRET_MODEL_REPO", DEFAULT_MODEL_REPO).strip(),
        model_revision=_text(env, "INTERPRET_MODEL_REVISION") or None,
        models=env.get("INTERPRET_MODELS", ""),
        device=_text(env, "INTERPRET_DEVICE") or None,
        fast=_text(env, "INTERPRET_FAST") != "0",
        cache_dir=cache_dir,
        cifar10_dir=_text(env, "INTERPRET_CIFAR10_DIR"),
        cifar10_root=Path(cifar10_root).expanduser() if cifar10_root else cache_dir / "cifar10",
        cifar10_download=_switch(_text(env, "INTERPRET_CIFAR10_DOWNLOAD")),
        space_id=_text(env, "SPACE_ID"),
    )
