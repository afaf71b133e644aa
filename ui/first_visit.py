"""The page opens on a result: bundled example 3 (the tutorial's airplane), explained with the
default settings, as if its example had been clicked.

Computed once, in the background from start-up (or by the first visitor, on a ZeroGPU Space
where the GPU exists only inside a request), and served from memory: a page load shows it
without computing anything. The page paints first; `demo.load` then fills the results in.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from interpret import DEFAULT_METHODS
from interpret.dataset.sources import bundled_examples

from . import api
from .config import (
    DEFAULT_OPACITY,
    DEFAULTS,
    FIRST_VISIT_EXAMPLE,
    NO_CONTRAST,
    PREDICTED,
)
from .downloads import Downloads
from .errors import gpu_refusal
from .explain_tab import ExplainTab
from .files import write_downloads
from .inputs import decoded
from .views import details_output, label_output, stored, target_choices, truth_text

log = logging.getLogger("interpret.app")


def default_request() -> dict[str, Any]:
    """The /explain parameters after the image as the page's controls start."""
    return {
        "methods": list(DEFAULT_METHODS),
        "target": PREDICTED,
        "n_steps": DEFAULTS.n_steps,
        "nt_samples": DEFAULTS.nt_samples,
        "stdevs": DEFAULTS.stdevs,
        "baseline": DEFAULTS.baseline,
        "seed": DEFAULTS.seed,
        "opacity": DEFAULT_OPACITY,
        "contrast": NO_CONTRAST,
        "trust_scores": False,
        "occlusion_window": DEFAULTS.occlusion_window,
        "occlusion_stride": DEFAULTS.occlusion_stride,
        "model": api.backend().models.default,
    }


@dataclass(frozen=True)
class Shown:
    """What the page shows of the example: every output of `FirstVisit.outputs`."""

    image: str
    truth: tuple[int, str] | None
    index: int
    gallery: list[tuple[str, str]]
    label: dict[str, float]
    details: dict[str, Any]
    files: tuple[str, str]


class FirstVisit:
    """The explanation every new page opens with, computed once."""

    def __init__(self, example: int = FIRST_VISIT_EXAMPLE) -> None:
        self.example = example
        self._lock = threading.Lock()
        self._shown: Shown | None = None

    def start(self) -> threading.Thread:
        """Compute it in the background now, so the first visitor does not wait."""
        thread = threading.Thread(target=self.shown, name="first-visit", daemon=True)
        thread.start()
        return thread

    def shown(self) -> Shown | None:
        """The result (computed by the first caller; others wait for it); None if it failed.
        A ZeroGPU refusal (this visitor's quota, no free GPU) is raised in the app's words:
        the page says why it opens empty, and the next visit tries again."""
        with self._lock:
            if self._shown is None:
                try:
                    self._shown = self._compute()
                except gr.Error as error:
                    if (refused := gpu_refusal(error)) is not error:
                        log.info("The first-visit example was refused by ZeroGPU: %s", error)
                        raise refused from None
                    log.exception("The first-visit example could not be explained")
                    return None
                except Exception:
                    log.exception("The first-visit example could not be explained")
                    return None
            return self._shown

    def _compute(self) -> Shown:
        # Its own folder for the life of the process, in the temp dir Gradio serves from (the
        # request folders are pruned after minutes; this one is shown all day).
        folder = Path(tempfile.mkdtemp(prefix="interpret-first-visit-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        source = bundled_examples()[self.example][0]
        image = folder / source.name
        shutil.copyfile(source, image)
        request = default_request()
        result, truth = api.explanation(decoded(str(image)), request, True, None)
        gallery = api.gallery_output(result, truth, folder / "gallery")
        model = request["model"]
        files = write_downloads(stored(result, truth, "", request, model), folder)
        details = details_output(result, truth, model)
        log.info("First visit: example %d explained in advance", self.example)
        return Shown(str(image), truth, self.example, gallery, label_output(result), details, files)

    def outputs(self) -> tuple[Any, ...]:
        """The page's values for the example: image, true label, target choices, index, gallery,
        label, details, npz, json (all skipped if it could not be computed)."""
        shown = self.shown()
        if shown is None:
            return (gr.skip(),) * 9
        return (
            shown.image,
            truth_text(shown.truth),
            gr.Dropdown(choices=target_choices(shown.truth), value=PREDICTED),
            shown.index,
            shown.gallery,
            shown.label,
            shown.details,
            *shown.files,
        )


def components(tab: ExplainTab, details: gr.JSON, files: Downloads) -> list[Any]:
    """What `FirstVisit.outputs` fills, in its order (the page load's outputs:
    ui/link_wiring.py, where a link may ask for another view)."""
    return [
        tab.image,
        tab.truth,
        tab.target,
        tab.index,
        tab.gallery,
        tab.label,
        details,
        *files.files,
    ]
