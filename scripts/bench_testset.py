"""Time the Test set features against their budgets and a baseline run in the same process.

Steps (medians of --repeats runs, on the full test set):

* decode: the 10,000 images into memory (`interpret.dataset.sources`), against decoding each file
  with `interpret.core.preprocess.model_image` on one thread;
* predict, cold: `interpret.dataset.predictions` (no cache), against the scripts' batched
  `interpret.dataset.training.predict` (what scripts/evaluate.py runs);
* predict, cached: from the disk cache, and from the process;
* browse: random filter/sort/page requests (`interpret.dataset.browse`), and the confusion matrix;
* strategies: one class (--class, --images), cold, against computing the same IG maps with
  plain Captum (INTERPRET_FAST=0), which is what the clustering would cost without the
  library's fast path;
* with --app, the app's handlers (ui/testset_tab.py, ui/strategies_panel.py) as a request
  runs them, test set loaded as app.py loads it, each against the library call it wraps:
  the tab opened (predictions cold, then from the disk cache: the matrix and its note), a
  filter/sort/page -> the grid (thumbnails, and Gradio's own postprocessing of the gallery:
  its copy of each file into its cache; the first time a thumbnail is written, and reused),
  and the strategies panel for one class, cold.

Example:
    python scripts/bench_testset.py --data-dir ../shared/cifar10 --weights weights --app
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interpret import load_model
from interpret.core.model import CLASSES
from interpret.core.preprocess import model_image
from interpret.dataset import predictions as predictions_module
from interpret.dataset import sources as testset
from interpret.dataset.browse import OUTCOMES, SORTS, browse, confusion
from interpret.dataset.strategies import StrategySettings, attribution_maps, class_strategies
from interpret.dataset.training import predict as scripts_predict

BUDGETS_S = {
    "predict, cold": 3.0,
    "predict, cached": 0.3,
    "browse": 0.3,
    "strategies": 15.0,
    "app: tab opened, cold": 3.0,
    "app: tab opened, cached": 0.3,
    "app: grid, first time": 0.3,
    "app: grid": 0.3,
    "app: strategies": 15.0,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the full test set")
    parser.add_argument("--weights", default="weights", help="anything load_model takes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--class", dest="class_name", default="horse")
    parser.add_argument("--images", type=int, default=1000, help="images of the class")
    parser.add_argument("--no-captum", action="store_true", help="skip the Captum baseline")
    parser.add_argument("--app", action="store_true", help="also time the app's handlers")
    return parser.parse_args(argv)


def median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def row(step: str, ours: float, baseline: float | None, note: str = "") -> str:
    budget = BUDGETS_S.get(step)
    ratio = f"{ours / baseline:.2f}" if baseline else ""
    within = "" if budget is None else ("yes" if ours <= budget else "NO")
    base = f"{1000 * baseline:.1f}" if baseline else ""
    limit = f"{1000 * budget:.0f}" if budget else ""
    return f"| {step} | {1000 * ours:.1f} | {base} | {ratio} | {limit} | {within} | {note} |"


def main(argv: list[str] | None = None) -> None:
    # Captum's note that DeepLift hooks the ReLUs (the Captum baseline), once per call.
    warnings.filterwarnings("ignore", message="Setting .*hooks")
    args = parse_args(argv)
    net = load_model(args.weights, device="cpu")
    cache = Path(tempfile.mkdtemp(prefix="bench-testset-"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    print("| step | ours (ms) | baseline (ms) | ratio | budget (ms) | within | note |")
    print("|---|---:|---:|---:|---:|---|---|")

    data = testset.open_local(args.data_dir)
    ours = median_time(lambda: testset.open_local(args.data_dir), args.repeats)
    folder = testset.split_folder(args.data_dir)
    paths = (
        sorted(folder.glob("*/*.*")) if not (folder / testset.TORCHVISION_FOLDER).is_dir() else []
    )
    base = median_time(lambda: [model_image(p) for p in paths], 1) if paths else None
    print(row("decode", ours, base, f"{len(data):,} images"))

    cold = median_time(
        lambda: predictions_module.predict_test_set(net, data, cache_dir=cache, use_cache=False),
        args.repeats,
    )
    images = torch.from_numpy(np.array(data.images)).permute(0, 3, 1, 2).contiguous()
    base = median_time(lambda: scripts_predict(net, images), args.repeats)
    print(row("predict, cold", cold, base, "baseline: interpret.dataset.training.predict"))

    def from_disk() -> None:
        predictions_module.forget_in_memory()
        predictions_module.predict_test_set(net, data, cache_dir=cache)

    print(row("predict, cached", median_time(from_disk, args.repeats), cold, "disk"))
    in_memory = median_time(
        lambda: predictions_module.predict_test_set(net, data, cache_dir=cache), args.repeats
    )
    print(row("predict, cached", in_memory, cold, "in the process"))

    predicted = predictions_module.predict_test_set(net, data, cache_dir=cache)
    chooser = random.Random(0)
    requests = [
        {
            "true_class": chooser.choice(["any", *CLASSES]),
            "predicted_class": chooser.choice(["any", "any", *CLASSES]),
            "outcome": chooser.choice(OUTCOMES),
            "sort": chooser.choice(SORTS),
            "confidence": (chooser.choice([0.0, 0.2]), chooser.choice([0.9, 1.0])),
        }
        for _ in range(200)
    ]
    timings = []
    for request in requests:
        started = time.perf_counter()
        browse(predicted, **request)
        timings.append(time.perf_counter() - started)
    slowest = max(timings)
    print(
        row(
            "browse",
            statistics.median(timings),
            None,
            f"200 requests, slowest {slowest * 1e3:.1f} ms",
        )
    )
    print(row("confusion", median_time(lambda: confusion(predicted), args.repeats), None))

    settings = StrategySettings(max_images=args.images)
    started = time.perf_counter()
    result = class_strategies(
        net, data, args.class_name, settings, cache_dir=cache, use_cache=False
    )
    seconds = time.perf_counter() - started
    baseline = None
    if not args.no_captum:
        target = CLASSES.index(args.class_name)
        chosen = np.flatnonzero(data.labels == target)[: args.images]
        os.environ["INTERPRET_FAST"] = "0"
        baseline = median_time(
            lambda: attribution_maps(net, data.images[chosen], target, settings), 1
        )
        os.environ.pop("INTERPRET_FAST")
    sizes = [cluster.size for cluster in result.clusters]
    note = f"{result.image_count} {args.class_name} images, clusters {sizes}"
    note += "; baseline: the IG maps alone through plain Captum"
    print(row("strategies", seconds, baseline, note))
    if args.app:
        bench_app(args, net)


def random_filters(chooser: random.Random, model: str) -> tuple:
    """One page request of the Test set tab, as its controls send it (ui/testset_tab.py)."""
    low, high = chooser.choice([0.0, 0.2]), chooser.choice([0.9, 1.0])
    outcome, sort = chooser.choice(OUTCOMES), chooser.choice(SORTS)
    true, predicted = chooser.choice(["any", *CLASSES]), chooser.choice(["any", "any", *CLASSES])
    return (model, "none", true, predicted, outcome, "all", low, high, sort)


def bench_app(args: argparse.Namespace, net) -> None:
    """The app's handlers against the library calls they wrap (module doc)."""
    import gradio as gr
    from gradio import processing_utils

    from interpret.dataset.sampler import Sampler
    from ui import api, strategies_panel, testset_tab
    from ui.dataset import TestSetSource
    from ui.models import Models

    def no_progress(*_, **__) -> None:
        return None

    cache = Path(tempfile.mkdtemp(prefix="bench-testset-app-"))
    os.environ["INTERPRET_CACHE_DIR"] = str(cache)  # read at each call: a cold cache
    environ = {"INTERPRET_CIFAR10_DIR": str(args.data_dir)}
    sampler = Sampler()
    api.configure(net, sampler, None, Models.build(net, "cpu", {}), TestSetSource(sampler, environ))
    model = api.backend().models.default
    data = api.test_set()
    print(f"\napp handlers: model {model}, {data.name}")

    def cold_open() -> None:
        predictions_module.forget_in_memory()
        for stale in (cache / "predictions").glob("*.npz"):
            stale.unlink()
        testset_tab.show_matrix(model, no_progress)

    def library_cold() -> None:
        predictions_module.predict_test_set(net, data, cache_dir=cache, use_cache=False)

    cold = median_time(cold_open, args.repeats)
    note = "predictions computed; baseline: the library's, cold"
    print(row("app: tab opened, cold", cold, median_time(library_cold, args.repeats), note))

    def cached_open() -> None:
        predictions_module.forget_in_memory()
        testset_tab.show_matrix(model, no_progress)

    def library_cached() -> None:
        predictions_module.forget_in_memory()
        predictions_module.predict_test_set(net, data)

    cached = median_time(cached_open, args.repeats)
    note = "disk cache; baseline: the library's cached predictions"
    print(row("app: tab opened, cached", cached, median_time(library_cached, args.repeats), note))

    gallery = gr.Gallery()

    def grid(filters: tuple) -> float:
        """Seconds for one page: the handler, then Gradio's gallery postprocessing."""
        started = time.perf_counter()
        _, items, _, _ = testset_tab.first_page(*filters)
        processing_utils.move_files_to_cache(gallery.postprocess(items), gallery, postprocess=True)
        return time.perf_counter() - started

    predicted = predictions_module.predict_test_set(net, data)
    chooser = random.Random(1)
    requests = [random_filters(chooser, model) for _ in range(200)]
    first = [grid(request) for request in requests]  # thumbnails written as they first show
    again = [grid(request) for request in requests]  # the same pages: every thumbnail reused
    library = []
    for request in requests:
        _, _, true, predicted_class, outcome, _, low, high, sort = request
        started = time.perf_counter()
        browse(predicted, true, predicted_class, outcome, sort, 1, confidence=(low, high))
        library.append(time.perf_counter() - started)
    base = statistics.median(library)
    note = f"200 requests, slowest {max(first) * 1e3:.1f} ms; baseline: interpret.dataset.browse"
    print(row("app: grid, first time", statistics.median(first), base, note))
    note = f"200 requests, slowest {max(again) * 1e3:.1f} ms; baseline: interpret.dataset.browse"
    print(row("app: grid", statistics.median(again), base, note))

    started = time.perf_counter()
    strategies_panel.find(model, args.class_name, no_progress)  # a cold cache: computed
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    class_strategies(net, data, args.class_name, cache_dir=cache / "library", use_cache=False)
    baseline = time.perf_counter() - started
    note = f"{args.class_name}, cold, with its cards; baseline: interpret.dataset.strategies, cold"
    print(row("app: strategies", seconds, baseline, note))


if __name__ == "__main__":
    main()
