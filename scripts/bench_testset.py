"""Time the Test set features against their budgets and a baseline run in the same process.

Steps (medians of --repeats runs, on the full test set):

* decode: the 10,000 images into memory (`interpret.testset`), against decoding each file
  with `interpret.preprocess.model_image` on one thread;
* predict, cold: `interpret.predictions` (no cache), against the scripts' batched
  `interpret.data.predict` (what scripts/evaluate.py runs);
* predict, cached: from the disk cache, and from the process;
* browse: random filter/sort/page requests (`interpret.browse`), and the confusion matrix;
* strategies: one class (--class, --images), cold, against computing the same IG maps with
  plain Captum (INTERPRET_FAST=0), which is what the clustering would cost without the
  library's fast path.

Example:
    python scripts/bench_testset.py --data-dir ../shared/cifar10 --weights weights
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interpret import load_model, testset
from interpret import predictions as predictions_module
from interpret.browse import OUTCOMES, SORTS, browse, confusion
from interpret.data import predict as scripts_predict
from interpret.model import CLASSES
from interpret.preprocess import model_image
from interpret.samples import ImageFolderSet, open_test_set
from interpret.strategies import StrategySettings, attribution_maps, class_strategies

BUDGETS_S = {"predict, cold": 3.0, "predict, cached": 0.3, "browse": 0.3, "strategies": 15.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the full test set")
    parser.add_argument("--weights", default="weights", help="anything load_model takes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--class", dest="class_name", default="horse")
    parser.add_argument("--images", type=int, default=1000, help="images of the class")
    parser.add_argument("--no-captum", action="store_true", help="skip the Captum baseline")
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
    args = parse_args(argv)
    net = load_model(args.weights, device="cpu")
    cache = Path(tempfile.mkdtemp(prefix="bench-testset-"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    print("| step | ours (ms) | baseline (ms) | ratio | budget (ms) | within | note |")
    print("|---|---:|---:|---:|---:|---|---|")

    sample_set = open_test_set(args.data_dir)
    paths = sample_set.paths if isinstance(sample_set, ImageFolderSet) else None
    data = testset.from_sample_set(sample_set)
    ours = median_time(lambda: testset.from_sample_set(sample_set), args.repeats)
    base = median_time(lambda: [model_image(p) for p in paths], 1) if paths else None
    print(row("decode", ours, base, f"{len(data):,} images"))

    cold = median_time(
        lambda: predictions_module.predict_test_set(net, data, cache_dir=cache, use_cache=False),
        args.repeats,
    )
    images = torch.from_numpy(np.array(data.images)).permute(0, 3, 1, 2).contiguous()
    base = median_time(lambda: scripts_predict(net, images), args.repeats)
    print(row("predict, cold", cold, base, "baseline: interpret.data.predict"))

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


if __name__ == "__main__":
    main()
