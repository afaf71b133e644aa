"""Benchmark: what each piece of runtime machinery saves, quiet and beside a busy neighbour.

Each row times the same work without the machinery (the baseline) and with it, interleaved in
one process, and prints the medians and their ratio; then again while a neighbour process
spins on one core (what a shared 2-core host or a second request does to us):

* workers: the four tutorial maps for bundled images, torch's own two-thread passes against
  `interpret.core.workers`' single-threaded passes (the fast path's `map_in_order`);
* disk cache: the test set's predictions computed again against read back from disk
  (`interpret.dataset.predictions`; the full test set with --data-dir, else 10,000 random
  images, which cost the same);
* first visit: a page load computing the opening example (what it would cost every new visitor
  without `ui/first_visit.py`) against serving the one computed at start-up;
* memory: SmoothGrad² maps in two fresh processes, one with `retain_freed_memory()` and one
  without (a process-wide glibc setting: it cannot be switched off again in one process), with
  the page faults each took.

    python scripts/bench_machinery.py --repeats 7 --data-dir ../shared/cifar10
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from interpret import TUTORIAL_METHODS, load_model  # noqa: E402
from interpret.attribution import fast  # noqa: E402
from interpret.core.workers import map_in_order  # noqa: E402
from interpret.dataset import predictions  # noqa: E402
from interpret.dataset.images import ImageSet  # noqa: E402
from interpret.dataset.sources import bundled, open_local  # noqa: E402
from interpret.explain import explain  # noqa: E402

EXAMPLES = ROOT / "examples"
TUTORIAL = [method.key for method in TUTORIAL_METHODS]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per side (median)")
    parser.add_argument("--images", type=int, default=4, help="bundled images for the maps")
    parser.add_argument("--data-dir", type=Path, help="a CIFAR-10 copy for the disk-cache row")
    parser.add_argument(
        "--neighbour", choices=("both", "quiet", "busy"), default="both", help="which runs"
    )
    parser.add_argument("--only", nargs="*", help="rows to run: workers, disk, first_visit, memory")
    return parser.parse_args(argv)


def serial(function, items, device):
    return [function(item) for item in items]


def interleaved(without: Callable[[], None], with_: Callable[[], None], repeats: int):
    """Medians (ms) of both sides, run alternately after one warm-up each."""
    without(), with_()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for side, run in enumerate((without, with_)):
            start = time.perf_counter()
            run()
            times[side].append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


@contextlib.contextmanager
def neighbour(busy: bool) -> Iterator[None]:
    """A process spinning on one core for the duration, when `busy`."""
    if not busy:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True:\n    pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        spinner.kill()
        spinner.wait()


def row(name: str, load: str, without: float, with_: float, note: str) -> None:
    print(f"| {name} | {load} | {without:,.1f} | {with_:,.1f} | {without / with_:.2f} | {note} |")


def workers_row(net, load: str, args: argparse.Namespace) -> None:
    images = [bundled().image(i) for i in range(args.images)]

    def maps() -> None:
        for image in images:
            explain(net, image, TUTORIAL, overlays=False)

    def plain_threads() -> None:
        fast.map_in_order = serial
        try:
            maps()
        finally:
            fast.map_in_order = map_in_order

    without, with_ = interleaved(plain_threads, maps, args.repeats)
    row("workers", load, without, with_, f"4 tutorial maps x {args.images} images")


def test_images(args: argparse.Namespace) -> ImageSet:
    if args.data_dir is not None:
        return open_local(args.data_dir)
    pixels = np.random.default_rng(0).integers(0, 256, (10_000, 32, 32, 3), dtype=np.uint8)
    return ImageSet(pixels, np.arange(10_000) % 10, "random", "bench")


def disk_row(net, load: str, args: argparse.Namespace, data: ImageSet) -> None:
    cache = Path(tempfile.mkdtemp(prefix="bench-machinery-"))
    predictions.predict_test_set(net, data, cache_dir=cache)  # the file to read back

    def compute() -> None:
        predictions.predict_test_set(net, data, cache_dir=cache, use_cache=False)

    def from_disk() -> None:
        predictions.forget_in_memory()
        predictions.predict_test_set(net, data, cache_dir=cache)

    without, with_ = interleaved(compute, from_disk, args.repeats)
    row("disk cache", load, without, with_, f"predictions for {len(data):,} images")


def first_visit_row(net, load: str, args: argparse.Namespace) -> None:
    from interpret.dataset.sampler import Sampler
    from ui import api
    from ui.dataset import TestSetSource
    from ui.first_visit import FirstVisit
    from ui.models import Models

    sampler_source = TestSetSource(Sampler(), {"INTERPRET_CIFAR10_ROOT": tempfile.mkdtemp()})
    api.configure(net, sampler_source.sampler, None, Models.single(net), sampler_source)
    served = FirstVisit()
    served.outputs()

    def computed_per_visit() -> None:
        FirstVisit().outputs()

    without, with_ = interleaved(computed_per_visit, served.outputs, args.repeats)
    row("first visit", load, without, max(with_, 1e-3), "example 3, four maps, files written")


MEMORY_CHILD = """
import json, resource, sys, time, warnings
sys.path.insert(0, {root!r})
warnings.filterwarnings("ignore")
from interpret import explain, load_model, retain_freed_memory
if {retain}:
    retain_freed_memory()
net = load_model({weights!r}, device="cpu")
image = {image!r}
explain(net, image, ["ig_smoothgrad_sq"], overlays=False)
for line in sys.stdin:
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    explain(net, image, ["ig_smoothgrad_sq"], overlays=False)
    elapsed = (time.perf_counter() - start) * 1000
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(json.dumps([elapsed, faults]), flush=True)
"""


def memory_row(load: str, args: argparse.Namespace) -> None:
    image = str(EXAMPLES / "cifar10_03_0.png")
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                MEMORY_CHILD.format(
                    root=str(ROOT), retain=retain, weights=str(ROOT / "weights"), image=image
                ),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for retain in (False, True)
    ]
    results: tuple[list, list] = ([], [])
    try:
        for _ in range(args.repeats):
            for side, child in enumerate(children):  # one at a time: they never overlap
                child.stdin.write("go\n")
                child.stdin.flush()
                results[side].append(json.loads(child.stdout.readline()))
    finally:
        for child in children:
            child.stdin.close()
            child.wait()
    without, with_ = (statistics.median(t for t, _ in side) for side in results)
    faults = [int(statistics.median(f for _, f in side)) for side in results]
    note = f"SmoothGrad², example 3; page faults {faults[0]:,} -> {faults[1]:,}"
    row("memory", load, without, with_, note)


def main(argv: list[str] | None = None) -> None:
    warnings.filterwarnings("ignore", message="Setting .*hooks")
    args = parse_args(argv)
    rows = set(args.only or ("workers", "disk", "first_visit", "memory"))
    net = load_model(ROOT / "weights", device="cpu")
    data = test_images(args) if "disk" in rows else None
    cpus = os.cpu_count()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpus} CPUs")
    print("| machinery | load | without (ms) | with (ms) | saves (x) | measured on |")
    print("|---|---|---:|---:|---:|---|")
    loads = {"both": (False, True), "quiet": (False,), "busy": (True,)}[args.neighbour]
    for busy in loads:
        load = "one core busy" if busy else "quiet"
        with neighbour(busy):
            if "workers" in rows:
                workers_row(net, load, args)
            if "disk" in rows:
                disk_row(net, load, args, data)
            if "first_visit" in rows:
                first_visit_row(net, load, args)
            if "memory" in rows:
                memory_row(load, args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\nload average {os.getloadavg()[0]:.2f}; peak RSS {usage.ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
