"""The app's settings: what the environment may change, and the fixed words of its controls.

Read once at start-up by app.py; a bad value stops the app with one line naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from interpret.core.params import Params

DEFAULTS = Params()
PREDICTED, TRUE_LABEL = "predicted", "true label"
NO_CONTRAST = "none"
DEFAULT_OPACITY = 0.5
# The /explain and /download parameters after the image, in order (the frozen API; `model`
# was appended last, so calls written before it keep working); those passed to
# `interpret.explain` as settings by name, and the two that come after them.
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
    "model",
)
# Events that read the image skip Gradio's preprocessing, which would decode uploads with its
# own PIL call and generic errors: they get the raw upload (Gradio has checked that it is in its
# upload folder) and `interpret` decodes it, with its pixel cap and messages. The same goes for
# the settings: `interpret` validates them, in its own words.
RAW = {"preprocess": False}
# Page-only updates drawn from what the page already holds (the summary, notes, sections): no
# queue, no progress indicator, not in the API.
INSTANT = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
SETTINGS = ("n_steps", "nt_samples", "stdevs", "baseline", "seed")
EXTRA_SETTINGS = ("occlusion_window", "occlusion_stride")
# Files the app writes for clients go to one fresh folder per request (never a path a client
# names). Gradio copies them into its cache, so folders older than this are pruned, also those
# a killed server left.
KEEP_FILES_S = 600
# Bundled example shown, explained, when the page opens: the tutorial's airplane.
FIRST_VISIT_EXAMPLE = 3


def env_int(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """A positive whole number from the environment, or `default` when unset or blank."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    if not value:
        return default
    if not value.isdecimal() or int(value) < 1:  # isdigit() passes '²', int() cannot read it
        raise SystemExit(f"app.py: {name} must be a positive whole number, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ServerSettings:
    """How many explanations run at once and how many requests may wait (README: Environment)."""

    concurrency: int
    queue_size: int

    @classmethod
    def from_env(cls, device: str, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """INTERPRET_CONCURRENCY (default 2 on CPU, 4 on a GPU), INTERPRET_QUEUE_SIZE (32)."""
        return cls(
            concurrency=env_int("INTERPRET_CONCURRENCY", 2 if device == "cpu" else 4, environ),
            queue_size=env_int("INTERPRET_QUEUE_SIZE", 32, environ),
        )
