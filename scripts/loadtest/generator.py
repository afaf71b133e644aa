"""The load test's load generator: the images and the reproducible plan of varied /explain
and /features requests, and the clients that send them concurrently, each answer checked as it
comes."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

from interpret import CLASSES, METHODS
from interpret.core.params import BASELINES
from interpret.dataset.sources import bundled_examples

CHEAP_METHODS = (
    "saliency",
    "integrated_gradients",
    "ig_smoothgrad_sq",
    "deeplift",
    "input_x_gradient",
    "grad_cam",
    "lrp",
)
PREDICTED, TRUE_LABEL = "predicted", "true label"


FEATURES_SETTINGS = ("target", "baseline", "n_steps")  # what a /features request varies


@dataclass(frozen=True)
class Request:
    """One call: an image by name and every setting, so it can be replayed here. A /features
    request uses FEATURES_SETTINGS of them."""

    image: str
    methods: tuple[str, ...]
    target: str
    n_steps: int
    nt_samples: int
    stdevs: float
    baseline: str
    seed: int
    opacity: float
    endpoint: str = "/explain"

    def settings(self) -> dict[str, Any]:
        """Keyword arguments for the endpoint (keywords, so new trailing parameters don't
        matter)."""
        values = asdict(self)
        del values["image"], values["endpoint"]
        values["methods"] = list(self.methods)
        if self.endpoint == "/features":
            return {key: values[key] for key in FEATURES_SETTINGS}
        return values

    def describe(self) -> str:
        if self.endpoint == "/features":
            return (
                f"/features {self.image} target={self.target!r} n_steps={self.n_steps} "
                f"baseline={self.baseline}"
            )
        return (
            f"{self.image} methods={','.join(self.methods)} target={self.target!r} "
            f"n_steps={self.n_steps} nt_samples={self.nt_samples} stdevs={self.stdevs} "
            f"baseline={self.baseline} seed={self.seed} opacity={self.opacity}"
        )


@dataclass
class Outcome:
    """One request's fate: latency, and what went wrong if anything."""

    index: int
    request: Request
    latency_s: float | None = None
    failure: str | None = None
    mismatches: list[str] = field(default_factory=list)
    busy: bool = False


def _gradient(width: int, height: int) -> np.ndarray:
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(0, 255, height)[:, None]
    stripes = 127.5 + 127.5 * np.sin(x / 9.0 + y / 13.0)
    return np.stack(np.broadcast_arrays(x, y, stripes), -1).round().astype(np.uint8)


def odd_images(directory: Path) -> dict[str, Path]:
    """Valid but unusual uploads the app must explain, not refuse: written once, reused."""
    directory.mkdir(parents=True, exist_ok=True)
    rgba = Image.fromarray(_gradient(40, 40)).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    sixteen = Image.fromarray((np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16))
    images = {
        "odd_grayscale.png": (Image.fromarray(_gradient(64, 48)).convert("L"), {}),
        "odd_rgba.png": (rgba, {}),
        "odd_1x1.png": (Image.new("RGB", (1, 1), (120, 40, 200)), {}),
        "odd_palette.gif": (Image.fromarray(_gradient(50, 30)).convert("P"), {}),
        "odd_16bit.png": (sixteen, {}),
        "odd_large.jpg": (Image.fromarray(_gradient(4000, 3000)), {"quality": 90}),
    }
    paths = {}
    for name, (image, options) in images.items():
        path = directory / name
        if not path.is_file():
            image.save(path, **options)
        paths[name] = path
    return paths


def image_set(directory: Path) -> dict[str, Path]:
    """The 20 bundled CIFAR-10 examples plus the odd images, by file name."""
    images = {path.name: path for path, _ in bundled_examples()}
    images.update(odd_images(directory))
    return images


def plan_requests(
    count: int,
    images: dict[str, Path],
    truths: dict[str, int | None],
    seed: int,
    cheap: bool,
    features_share: float = 0.0,
) -> list[Request]:
    """`count` varied requests, reproducible from `seed`, about `features_share` of them to
    /features and the rest to /explain; modest cost each (2 busy cores)."""
    rng = random.Random(seed)
    pool = list(CHEAP_METHODS if cheap else METHODS)
    examples = [name for name in images if name.startswith("cifar10_")]
    odd = [name for name in images if not name.startswith("cifar10_")]
    requests = []
    for _ in range(count):
        image = rng.choice(odd if rng.random() < 0.25 else examples)
        methods = tuple(rng.sample(pool, rng.randint(1, 2 if cheap else 3)))
        targets = [PREDICTED, PREDICTED, rng.choice(CLASSES), str(rng.randrange(10))]
        if truths[image] is not None:
            targets.append(TRUE_LABEL)
        request = Request(
            image=image,
            methods=methods,
            target=rng.choice(targets),
            n_steps=rng.choice((2, 4, 8) if cheap else (4, 10, 20, 32)),
            nt_samples=rng.choice((1, 2) if cheap else (1, 2, 4, 8)),
            stdevs=rng.choice((0.0, 0.1, 0.2, 0.5, 1.0)),
            baseline=rng.choice(list(BASELINES)),
            seed=rng.randrange(2**31),
            opacity=rng.choice((0.0, 0.25, 0.5, 0.8, 1.0)),
        )
        if rng.random() < features_share:  # the settings /features ignores, neutral: equal
            # requests are one key, and the library computes their answer once
            request = replace(
                request,
                methods=(),
                nt_samples=0,
                stdevs=0.0,
                seed=0,
                opacity=0.0,
                endpoint="/features",
            )
        requests.append(request)
    return requests


def make_client(url: str, downloads: Path) -> Client:
    return Client(url, verbose=False, download_files=str(downloads), analytics_enabled=False)


def call_app(client: Client, path: Path, request: Request, timeout: float) -> Any:
    """The app's answer to `request`, from its endpoint."""
    job = client.submit(handle_file(str(path)), **request.settings(), api_name=request.endpoint)
    return job.result(timeout=timeout)


def run_phase(
    clients: list[Client],
    requests: list[tuple[int, Request]],
    images: dict[str, Path],
    check: Callable[[Any, Request], list[str]],
    deadline: float,
) -> tuple[list[Outcome], float]:
    """Each client takes the next request until none are left or time is up; every answer
    is checked as it comes (`check`: the differences from what it should be, in words).
    Returns the outcomes and the phase's wall time."""
    todo: queue.Queue[tuple[int, Request]] = queue.Queue()
    for item in requests:
        todo.put(item)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def worker(client: Client) -> None:
        while time.monotonic() < deadline:
            try:
                index, request = todo.get_nowait()
            except queue.Empty:
                return
            outcome = Outcome(index, request)
            started = time.perf_counter()
            try:
                answer = call_app(
                    client, images[request.image], request, max(deadline - time.monotonic(), 1)
                )
            except Exception as error:
                outcome.failure = f"{type(error).__name__}: {error}"
            else:
                outcome.latency_s = time.perf_counter() - started
                try:
                    outcome.mismatches = check(answer, request)
                except Exception as error:  # an answer of the wrong shape is a mismatch too
                    outcome.mismatches = [f"unreadable answer ({type(error).__name__}: {error})"]
            with lock:
                outcomes.append(outcome)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes, key=lambda o: o.index), time.perf_counter() - started


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summarize(outcomes: list[Outcome], wall_s: float | None) -> dict[str, Any]:
    latencies = [o.latency_s for o in outcomes if o.latency_s is not None]
    failures = [f"#{o.index} {o.request.describe()}: {o.failure}" for o in outcomes if o.failure]
    mismatches = [
        f"#{o.index} {o.request.describe()}: {'; '.join(o.mismatches)}"
        for o in outcomes
        if o.mismatches
    ]
    return {
        "requests_done": len(outcomes),
        "by_endpoint": dict(sorted(Counter(o.request.endpoint for o in outcomes).items())),
        "failures": len(failures),
        "mismatches": len(mismatches),
        "failure_examples": failures[:5],
        "mismatch_examples": mismatches[:5],
        "latency_s": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "max": max(latencies, default=None),
            "mean": float(np.mean(latencies)) if latencies else None,
        },
        "wall_s": wall_s,
        "throughput_rps": len(latencies) / wall_s if wall_s else None,
    }
