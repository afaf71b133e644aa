"""Benchmark: the Captum tutorial's path vs `interpret.explain`, in one process.

(a) the tutorial: Saliency; IG (n_steps 50, delta); NoiseTunnel(IG) (smoothgrad_sq, 100
    samples, stdev 0.2, Captum's defaults otherwise); DeepLift; then four
    `visualize_image_attr` blended heat maps drawn through matplotlib.
(b) `interpret.explain` with the same parameters and seed, overlays included.
Prints per-method medians and the ratio b/a, and holds every map of both sides to the
exactness contract (`interpret.testing.exactness`): each is compared with the exact answer (the same
method, steps and noise in float64), and a difference beyond float32 rounding is reported as
the near-tie path points that took the other branch (tie flips), with each side's distance
from the exact answer. It exits non-zero only when a map breaks the contract.
The process keeps freed memory for reuse (`interpret.core.memory`, as the app and CLI do), for
both paths alike. --batch compares `explain_batch` with single calls on the same images,
interleaved. With --app it also times `python app.py` to its first served page and one
/explain round trip through gradio_client, with its default settings and with one reused TLS
context (gradio_client otherwise builds a new one, ~30 ms, for each of its HTTP requests),
and the same round trips to `scripts/gradio_floor.py` replaying the app's answer without
computing it: what Gradio and gradio_client cost for these outputs, whatever the server does.

    python scripts/bench.py --images 4 --repeats 5
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import ssl
import statistics
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from captum.attr import DeepLift, IntegratedGradients, NoiseTunnel, Saliency  # noqa: E402
from captum.attr import visualization as viz  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

from interpret import DEFAULT_METHODS, explain, explain_batch, load_model  # noqa: E402
from interpret.core.devices import exact_float32  # noqa: E402
from interpret.core.memory import retain_freed_memory  # noqa: E402
from interpret.core.preprocess import model_image, to_tensor  # noqa: E402
from interpret.testing.exactness import PATH_METHODS, ROUNDING, PathCheck  # noqa: E402

if TYPE_CHECKING:
    from loadtest.server import Server

REFERENCE = ROOT.parent / "shared" / "reference" / "cifar_torchvision.pt"
SIDES = ("tutorial", "interpret")  # (a) and (b)
TUTORIAL_VIEWS = {
    "saliency": ("absolute_value", 2, "Overlayed Gradient Magnitudes"),
    "integrated_gradients": ("all", 2, "Overlayed Integrated Gradients"),
    "ig_smoothgrad_sq": (
        "absolute_value",
        10,
        "Overlayed Integrated Gradients \n with SmoothGrad Squared",
    ),
    "deeplift": ("all", 2, "Overlayed DeepLift"),
}


def tutorial_path(net, image, target: int, seed: int) -> tuple[dict, dict]:
    """The tutorial's cells for one image; returns (attributions, seconds per step)."""
    timings: dict[str, float] = {}
    maps: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    inputs = to_tensor(model_image(image)).to(next(net.parameters()))  # its device and dtype
    inputs.requires_grad = True
    original = np.transpose((inputs.squeeze().cpu().detach().numpy() / 2) + 0.5, (1, 2, 0))
    started = time.perf_counter()  # the steps time the methods alone; the total counts all

    def step(key: str, compute) -> None:
        nonlocal started
        net.zero_grad()
        result = compute()
        maps[key] = result.squeeze(0).detach().cpu().numpy()
        timings[key] = time.perf_counter() - started
        started = time.perf_counter()

    step("saliency", lambda: Saliency(net).attribute(inputs, target=target))
    step(
        "integrated_gradients",
        lambda: IntegratedGradients(net).attribute(
            inputs, baselines=inputs * 0, target=target, return_convergence_delta=True
        )[0],
    )

    def smoothgrad():
        torch.manual_seed(seed)
        return NoiseTunnel(IntegratedGradients(net)).attribute(
            inputs,
            baselines=inputs * 0,
            target=target,
            nt_type="smoothgrad_sq",
            nt_samples=100,
            stdevs=0.2,
        )

    step("ig_smoothgrad_sq", smoothgrad)
    step("deeplift", lambda: DeepLift(net).attribute(inputs, baselines=inputs * 0, target=target))
    for key, (sign, perc, title) in TUTORIAL_VIEWS.items():
        figure, _ = viz.visualize_image_attr(
            np.transpose(maps[key], (1, 2, 0)),
            original,
            method="blended_heat_map",
            sign=sign,
            outlier_perc=perc,
            show_colorbar=True,
            title=title,
            use_pyplot=False,
        )
        figure.canvas.draw()
        plt.close(figure)
    timings["render"] = time.perf_counter() - started
    return maps, timings


def ours(net, image, target: int, seed: int) -> tuple[dict, dict]:
    result = explain(net, image, DEFAULT_METHODS, target, seed=seed)
    return result.attributions, result.timings


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def measure(fn, net, images, targets, repeats: int, seed: int) -> tuple[dict, list]:
    per_step: dict[str, list[float]] = {}
    totals, maps = [], []
    for _ in range(repeats):
        for image, target in zip(images, targets):
            started = time.perf_counter()
            result, timings = fn(net, image, target, seed)
            totals.append(time.perf_counter() - started)
            for key, seconds in timings.items():
                per_step.setdefault(key, []).append(seconds)
            maps.append(result)
    medians = {key: statistics.median(v) for key, v in per_step.items()}
    medians["total"] = statistics.median(totals)
    return medians, maps[: len(images)]


def exactness(net, images, targets, seed: int, tutorial_maps, interp_maps) -> list[dict]:
    """Each map of (a) and (b) against the exact answer (float64, same steps and noise).

    Path methods through `PathCheck`: within float32 rounding, or so once the near-tie path
    points that took the other branch are accounted for (tie flips). DeepLift (one pass over
    the input, one over the baseline) against Captum's DeepLift on a float64 copy: rounding.
    """
    exact_net = copy.deepcopy(net).cpu().double()
    rows = []
    for path, target, a, b in zip(images, targets, tutorial_maps, interp_maps):
        inputs = to_tensor(model_image(path))
        for key in DEFAULT_METHODS:
            row: dict = {"image": path.stem, "method": key}
            if key in PATH_METHODS:
                check = PathCheck(net, key, inputs, target, inputs * 0, seed=seed)
                row.update(near_ties=check.near_ties, points=check.points)
                for side, maps in (("tutorial", a), ("interpret", b)):
                    verdict = check.check(maps[key])
                    row[side] = {
                        "error": verdict.error,
                        "residual": verdict.residual,
                        "tie_flips": verdict.flipped_points,
                        "holds": verdict.holds,
                    }
            else:
                x = inputs.double().requires_grad_(True)
                with warnings.catch_warnings():  # Captum's note that it hooks the ReLUs
                    warnings.filterwarnings("ignore", message="Setting .*hooks")
                    expected = DeepLift(exact_net).attribute(
                        x, baselines=x.detach() * 0, target=target
                    )
                expected = expected.detach()[0].numpy()
                for side, maps in (("tutorial", a), ("interpret", b)):
                    error = relative_error(maps[key], expected)
                    row[side] = {
                        "error": error,
                        "residual": error,
                        "tie_flips": 0,
                        "holds": error <= ROUNDING,
                    }
            rows.append(row)
    return rows


def worst(rows: list[dict], side: str) -> dict[str, float]:
    """Each method's largest distance from the exact answer over the images."""
    return {
        key: max(row[side]["error"] for row in rows if row["method"] == key)
        for key in DEFAULT_METHODS
    }


def batch_figures(net, images: list, size: int, repeats: int, seed: int) -> dict[str, float]:
    """Seconds per image: `explain_batch` of `size` images vs single calls on the same images,
    interleaved so that both see the same machine load; medians over the repeats."""
    batch_images = (images * size)[:size]
    explain_batch(net, batch_images[:2], seed=seed)
    batched, single = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        explain_batch(net, batch_images, seed=seed)
        batched.append((time.perf_counter() - started) / size)
        started = time.perf_counter()
        for image in batch_images:
            explain(net, image, seed=seed)
        single.append((time.perf_counter() - started) / size)
    return {
        "batch_size": size,
        "batch_per_image_s": statistics.median(batched),
        "single_per_image_s": statistics.median(single),
    }


def serve(
    weights: str | None, workdir: Path, name: str, app: str, *args: str, **env: str
) -> tuple[Server, float]:
    """Start a Gradio script as the load test does (offline, a free loopback port); return it
    and the seconds from start to its first served page."""
    from loadtest.server import start_app  # scripts/ is on sys.path; imported only for --app

    started = time.perf_counter()
    server = start_app(weights, workdir, name, app, args, **env)
    while True:
        try:
            with urllib.request.urlopen(server.url, timeout=1) as page:
                if page.status == 200:
                    return server, time.perf_counter() - started
        except OSError:
            if time.perf_counter() - started > 120 or server.process.poll() is not None:
                server.stop()
                raise RuntimeError(f"{app} did not start:\n{server.tail()}") from None
            time.sleep(0.1)


def round_trips(url: str, image, repeats: int) -> tuple[dict[str, float], list[float], tuple]:
    """Median /explain round trips with gradio_client's defaults and with one reused TLS
    context; the app's own timings of each call; and the last answer."""
    from gradio_client import Client

    figures, computed = {}, []
    for name, options in (
        ("explain_round_trip_s", {}),
        ("explain_round_trip_reused_tls_s", {"ssl_verify": ssl.create_default_context()}),
    ):
        client = Client(url, verbose=False, **options)
        client.predict(image, api_name="/explain")  # warm the server once
        trips = []
        for _ in range(repeats):
            started = time.perf_counter()
            answer = client.predict(image, api_name="/explain")
            trips.append(time.perf_counter() - started)
            computed.append(sum(answer[2].get("timings", {}).values()))
        figures[name] = statistics.median(trips)
    return figures, computed, answer


def app_figures(weights: str | None, device: torch.device, repeats: int) -> dict[str, float]:
    """Cold start of `python app.py` to its first served page, /explain round trips, and the
    same round trips to `scripts/gradio_floor.py` replaying the app's answer: Gradio's floor."""
    from gradio_client import handle_file

    image = handle_file(str(ROOT / "examples" / "cifar10_03_0.png"))
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        server, cold = serve(weights, workdir, "app", "app.py", INTERPRET_DEVICE=str(device))
        try:
            trips, computed, (gallery, label, details) = round_trips(server.url, image, repeats)
        finally:
            server.stop()
        answer = workdir / "answer.json"
        cards = [[card["image"], card["caption"]] for card in gallery]
        answer.write_text(json.dumps({"gallery": cards, "label": label, "details": details}))
        server, _ = serve(None, workdir, "floor", "scripts/gradio_floor.py", str(answer))
        try:
            floor, _, _ = round_trips(server.url, image, repeats)
        finally:
            server.stop()
    figures = {"cold_start_s": cold, **trips, "explain_in_app_s": statistics.median(computed)}
    figures.update({f"floor_{name}": seconds for name, seconds in floor.items()})
    return figures


def main() -> int:
    # Captum's note that DeepLift hooks the ReLUs, once per call of either side: the
    # `catch_warnings` blocks around it reset Python's show-once registry, so it would repeat.
    warnings.filterwarnings("ignore", message="Setting .*hooks")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=4, help="bundled test images to use (1-20)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default=None, help="cpu, cuda... (default: best available)")
    parser.add_argument("--weights", default=str(REFERENCE) if REFERENCE.is_file() else None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=0, help="also time explain_batch of this size")
    parser.add_argument("--app", action="store_true", help="also time app cold start and /explain")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args()

    retained = retain_freed_memory()
    exact_float32()  # on a GPU, both paths in IEEE float32, as the app runs them
    net = load_model(args.weights, device=args.device)
    device = next(net.parameters()).device
    images = sorted((ROOT / "examples").glob("cifar10_*.png"))[: args.images]
    targets = [int(p.stem.rsplit("_", 1)[1]) for p in images]
    for fn in (tutorial_path, ours):  # warm up both
        fn(net, images[0], targets[0], args.seed)
    tutorial, tutorial_maps = measure(tutorial_path, net, images, targets, args.repeats, args.seed)
    interp, interp_maps = measure(ours, net, images, targets, args.repeats, args.seed)
    rows = exactness(net, images, targets, args.seed, tutorial_maps, interp_maps)
    between = {
        key: max(relative_error(b[key], a[key]) for a, b in zip(tutorial_maps, interp_maps))
        for key in DEFAULT_METHODS
    }
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
        + (", freed memory retained" if retained else ""),
        "device": str(device)
        + (
            f" ({torch.cuda.get_device_name(device)}, IEEE float32, no TF32)"
            if device.type == "cuda"
            else ""
        ),
        "weights": net.weights_source,
        "images": len(images),
        "repeats": args.repeats,
        "tutorial_s": tutorial,
        "interpret_s": interp,
        "ratio": interp["total"] / tutorial["total"],
        "error_vs_exact": {side: worst(rows, side) for side in ("tutorial", "interpret")},
        "interpret_vs_tutorial": between,
        "exactness": rows,
        "tie_flips": [row for row in rows if any(row[side]["tie_flips"] for side in SIDES)],
        "contract_holds": all(row[side]["holds"] for row in rows for side in SIDES),
    }
    if args.batch:
        report.update(batch_figures(net, images, args.batch, args.repeats, args.seed))
    if args.app:
        report["app"] = app_figures(args.weights, device, args.repeats)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if report["contract_holds"] else 1
    print(f"machine: {report['machine']}; device: {report['device']}")
    print(f"weights: {report['weights']}; {len(images)} images x {args.repeats} repeats (medians)")
    print(f"{'step':<22}{'tutorial (ms)':>14}{'interpret (ms)':>16}{'ratio':>8}")
    for key in (*DEFAULT_METHODS, "render", "total"):
        a, b = tutorial.get(key, float("nan")), interp.get(key, float("nan"))
        print(f"{key:<22}{a * 1e3:>14.1f}{b * 1e3:>16.1f}{b / a:>8.3f}")
    print(f"ratio b/a (whole gallery): {report['ratio']:.3f}")
    print_exactness(report)
    if args.batch:
        print(
            f"explain_batch of {args.batch}: {report['batch_per_image_s'] * 1e3:.1f} ms per image; "
            f"single calls on the same images: {report['single_per_image_s'] * 1e3:.1f} ms"
        )
    if args.app:
        app = report["app"]
        print(f"app cold start to first page: {app['cold_start_s']:.1f} s")
        print(
            f"/explain round trip via gradio_client: {app['explain_round_trip_s'] * 1e3:.0f} ms; "
            f"with a reused TLS context: {app['explain_round_trip_reused_tls_s'] * 1e3:.0f} ms; "
            f"of which computing in the app: {app['explain_in_app_s'] * 1e3:.0f} ms"
        )
        print(
            "the same outputs replayed with no computation (Gradio's floor): "
            f"{app['floor_explain_round_trip_s'] * 1e3:.0f} ms; with a reused TLS context: "
            f"{app['floor_explain_round_trip_reused_tls_s'] * 1e3:.0f} ms"
        )
    return 0 if report["contract_holds"] else 1


def print_exactness(report: dict) -> None:
    """Distance from the exact answer per method (worst image), then each tie flip."""
    errors = report["error_vs_exact"]
    print(
        "exactness: max |map - exact| / max |exact| against float64 with the same steps and "
        f"noise (float32 rounding allowance {ROUNDING:.0e})"
    )
    print(f"{'method':<22}{'tutorial':>12}{'interpret':>12}{'b vs a':>10}")
    for key in DEFAULT_METHODS:
        print(
            f"{key:<22}{errors['tutorial'][key]:>12.1e}{errors['interpret'][key]:>12.1e}"
            f"{report['interpret_vs_tutorial'][key]:>10.1e}"
        )
    for row in report["tie_flips"]:
        sides = "; ".join(
            f"{side} {row[side]['error']:.1e} from exact, {row[side]['tie_flips']} tie flips "
            f"leave {row[side]['residual']:.1e}"
            for side in SIDES
        )
        near = f"{row['near_ties']} of {row['points']} points near a tie"
        print(f"  tie flips in {row['image']} {row['method']} ({near}): {sides}")
    broken = [
        (row, side) for row in report["exactness"] for side in SIDES if not row[side]["holds"]
    ]
    for row, side in broken:
        print(f"  CONTRACT BROKEN by {side}: {row['image']} {row['method']}: {row[side]}")
    if not broken:
        print("contract: holds for every map of both sides")


if __name__ == "__main__":
    sys.exit(main())
