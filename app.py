"""Gradio app: see why the Captum tutorial's CIFAR-10 CNN decided what it decided.

The entry point only: settings, the model, the page from the `ui` package, the queue, launch.
Run ``python app.py`` (http://127.0.0.1:7860; GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
respected) or import `demo`. docs/ARCHITECTURE.md shows where everything else lives.

Stable API (gradio_client), documented in ui/api.py and frozen by tests/app/api_snapshot.json:
  /explain    (image, methods, target, n_steps, nt_samples, stdevs, baseline, seed, opacity,
               contrast, trust_scores, occlusion_window, occlusion_stride, model)
              -> (gallery, label, details)
  /download   (the same parameters) -> (attributions .npz, explanation .json)
  /predict    (image) -> label
  /sample     (index) -> (image, true_label, source, index)
  /models     () -> [{name, weights, accuracy, ...}]
  /confusion  (model) -> {classes, matrix, accuracy, total, ...}
  /browse     (true_class, predicted_class, outcome, sort, page, model, min_confidence,
               max_confidence) -> {total, page, pages, items, ...}
  /strategies (class_name, model) -> {class, clusters: [{size, accuracy, members}], ...}
  /features   (image, target, contrast, model, baseline, n_steps) -> {layer, total, delta,
               channels: [{channel, contribution, top_images}], ...}
  /feature_atlas (model) -> {classes, channels, matrix (10x16), images, ...}
  /influence  (image, target, model, k) -> {proponents, opponents: [{index, label, score}],
               checkpoints, train_set, ...}
  /train_sample (index) -> (image, label)
  /hardest    (true_class, page, model) -> {total, page, pages, items: [{index, label,
               predicted_label, self_influence}], ...}

Environment: INTERPRET_WEIGHTS (a weights source for `interpret.load_model`; default: the Hub
repo, else the shipped weights), INTERPRET_MODEL_REPO / INTERPRET_MODEL_REVISION,
INTERPRET_DEVICE, INTERPRET_CIFAR10_DIR, INTERPRET_CIFAR10_ROOT and INTERPRET_CIFAR10_DOWNLOAD
(see `interpret.dataset.sources`), INTERPRET_MODELS (more models to compare:
`interpret.dataset.registry`),
INTERPRET_CACHE_DIR (cached predictions and strategies),
INTERPRET_CONCURRENCY (events computing at once; default 2 on CPU, 4 on a GPU),
INTERPRET_QUEUE_SIZE (requests that may wait; default 32, beyond that "busy, try again").
"""

from __future__ import annotations

import logging

from interpret import Net, WeightsError, load_model, settings
from interpret.core.devices import exact_float32
from interpret.core.memory import retain_freed_memory
from interpret.dataset.sampler import Sampler
from ui import api, influence_api
from ui.config import ServerSettings
from ui.dataset import TestSetSource
from ui.first_visit import FirstVisit
from ui.gradio_fixes import upload_folder
from ui.models import Models
from ui.page import build_demo
from ui.theme import launch_options

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request to itself


def load_model_or_exit() -> Net:
    """The model, or exit with one line naming the file: the app is useless without weights."""
    try:
        return load_model(settings.read().weights)
    except (WeightsError, ValueError) as error:
        raise SystemExit(f"app.py: cannot load the model weights: {error}") from None


retain_freed_memory()  # this process serves attributions all day: no page faults per request
exact_float32()  # on a GPU, the tutorial's numbers rather than TF32's
MODEL = load_model_or_exit()
DEVICE = str(next(MODEL.parameters()).device)
SERVER = ServerSettings.from_env(DEVICE)
SAMPLER = Sampler()
DATASET = TestSetSource(SAMPLER)  # decoded in the background; the Test set tab waits for it
api.configure(MODEL, SAMPLER, upload_folder(), Models.build(MODEL, DEVICE), DATASET)
influence_api.preload()  # the training split, in the background after the test set, if useful
FIRST_VISIT = FirstVisit()  # the page opens on example 3, explained
if not api.ZERO_GPU:  # (on ZeroGPU the GPU exists only in a request: the first visit computes it)
    FIRST_VISIT.start()
demo = build_demo(MODEL, DEVICE, SERVER, FIRST_VISIT)
demo.queue(max_size=SERVER.queue_size, default_concurrency_limit=SERVER.concurrency)

if __name__ == "__main__":
    demo.launch(**launch_options())
