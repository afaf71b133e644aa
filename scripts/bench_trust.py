"""Benchmark: trust scores against the plain explanation of the same methods, in one process.

For each bundled image and each method set (the four defaults, then all 13), interleaved:
(a) `explain` as the app calls it (maps and overlays), (b) the same call with trust scores
(`faithfulness=True, sanity=True`). Prints the medians, the ratio b/a and its range over the
image pairs, where (b)'s time went (faithfulness, sanity), and the floor the definitions set:
the maps they make every method recompute (5 perturbed inputs for max-sensitivity, one batch;
5 randomized models for the sanity check), timed alone. Load averages are printed before and
after: the ratios hold on a busy machine, the milliseconds do not.

--page also times the Explain tab's own event for the four defaults (ui/api.py, without
Gradio's transport): the plain explanation, and with trust scores when the page gets the maps
(it shows them at once) and when it gets the scores.

--compare-with DIR also times DIR/interpret (an older copy of the package, e.g. a `git
worktree` of an earlier commit) on the same calls, interleaved, and checks its scores
against this one's.

    python scripts/bench_trust.py --images 4 --repeats 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from interpret import DEFAULT_METHODS, METHODS, explain, load_model  # noqa: E402
from interpret.core.devices import exact_float32  # noqa: E402
from interpret.core.memory import retain_freed_memory  # noqa: E402
from interpret.core.params import make_params  # noqa: E402
from interpret.core.preprocess import model_image, to_tensor  # noqa: E402
from interpret.explain import _run_method  # noqa: E402
from interpret.trust.faithfulness import SENSITIVITY_RADIUS, SENSITIVITY_SAMPLES  # noqa: E402
from interpret.trust.sanity import randomized_models  # noqa: E402

METHOD_SETS = {"default": list(DEFAULT_METHODS), "all": list(METHODS)}
SCORES = ("deletion_auc", "insertion_auc", "infidelity", "sensitivity_max")


def load_package(directory: Path, name: str = "interpret_compared") -> ModuleType:
    """DIR/interpret imported under another name, beside this checkout's `interpret`."""
    package = directory / "interpret"
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no interpret package in {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def floor_seconds(net, image: Path, keys: list[str]) -> float:
    """The re-explanations the scores' definitions require, timed alone: each method on 5
    perturbed copies of the input (one batch) and on the 5 randomized models."""
    inputs = to_tensor(model_image(image)).to(next(net.parameters()).device)
    with torch.no_grad():
        target = torch.tensor([int(net(inputs).argmax())], device=inputs.device)
    settings = make_params()
    generator = torch.Generator().manual_seed(settings.seed)
    noise = torch.empty(SENSITIVITY_SAMPLES, *inputs.shape[1:]).uniform_(
        -SENSITIVITY_RADIUS, SENSITIVITY_RADIUS, generator=generator
    )
    perturbed = inputs + noise.to(inputs.device)
    started = time.perf_counter()
    for key in keys:
        _run_method(METHODS[key], net, perturbed, target, settings)
    for _, randomized in randomized_models(net, settings.seed):
        for key in keys:
            _run_method(METHODS[key], randomized, inputs, target, settings)
    return time.perf_counter() - started


def score_drift(ours, theirs) -> dict[str, float]:
    """Largest relative difference per score between two results' trust scores."""
    drift = {}
    for score in SCORES:
        drift[score] = max(
            abs(ours.faithfulness[k][score] - theirs.faithfulness[k][score])
            / max(abs(theirs.faithfulness[k][score]), 1e-12)
            for k in ours.methods
        )
    drift["spearman"] = max(
        float(np.abs(np.subtract(ours.sanity[k]["spearman"], theirs.sanity[k]["spearman"])).max())
        for k in ours.methods
    )
    return drift


def bench(net, images: list[Path], keys: list[str], repeats: int, other, other_net) -> dict:
    """Interleaved medians for one method set; `other`/`other_net`: the compared package."""
    plain, trust, ratios, parts, floors = [], [], [], {"faithfulness": [], "sanity": []}, []
    theirs, speedups, drift = [], [], {}
    for _ in range(repeats):
        for image in images:
            seconds, _ = timed(lambda image=image: explain(net, image, keys))
            plain.append(seconds)
            seconds, result = timed(
                lambda image=image: explain(net, image, keys, faithfulness=True, sanity=True)
            )
            trust.append(seconds)
            ratios.append(trust[-1] / plain[-1])
            for part in parts:
                parts[part].append(result.timings[part])
            if other is not None:
                seconds, old = timed(
                    lambda image=image: other.explain(
                        other_net, image, keys, faithfulness=True, sanity=True
                    )
                )
                theirs.append(seconds)
                speedups.append(theirs[-1] / trust[-1])
                for score, value in score_drift(result, old).items():
                    drift[score] = max(drift.get(score, 0.0), value)
            floors.append(floor_seconds(net, image, keys))
    figures = {
        "plain_ms": 1000 * statistics.median(plain),
        "trust_ms": 1000 * statistics.median(trust),
        "ratio": statistics.median(trust) / statistics.median(plain),
        "ratio_range": [min(ratios), max(ratios)],
        "faithfulness_ms": 1000 * statistics.median(parts["faithfulness"]),
        "sanity_ms": 1000 * statistics.median(parts["sanity"]),
        "floor_ms": 1000 * statistics.median(floors),
        "floor_ratio": statistics.median(floors) / statistics.median(plain),
    }
    if other is not None:
        figures.update(
            compared_trust_ms=1000 * statistics.median(theirs),
            speedup=statistics.median(theirs) / statistics.median(trust),
            speedup_range=[min(speedups), max(speedups)],
            compared_score_drift=drift,
        )
    return figures


def page_figures(net, repeats: int) -> dict[str, float]:
    """The Explain tab's own event functions (ui/api.py, as Gradio calls them, without the
    transport), four default methods on bundled example 3: the plain explanation, and with
    trust scores when the page gets the maps (first answer) and the scores (last); medians."""
    import shutil
    import tempfile

    from interpret.dataset.sampler import Sampler
    from ui import api
    from ui.config import REQUEST
    from ui.first_visit import default_request

    def silent(*args, **kwargs) -> None:
        return None

    with tempfile.TemporaryDirectory() as folder:
        picture = Path(folder) / "upload" / "cifar10_03_0.png"
        picture.parent.mkdir()
        shutil.copyfile(ROOT / "examples" / picture.name, picture)
        image = {"path": str(picture), "meta": {"_type": "gradio.FileData"}}
        api.configure(net, Sampler(), folder)
        plain, maps, scores = [], [], []
        plain_request = default_request()
        request = {**plain_request, "trust_scores": True}
        for repeat in range(repeats + 1):  # the first round warms up
            seconds, _ = timed(lambda: api.explain_image(image, **plain_request, progress=silent))
            started = time.perf_counter()
            steps = api.explain_on_page(silent, image, *[request[name] for name in REQUEST])
            next(steps)
            shown = time.perf_counter() - started
            for _ in steps:
                pass
            if repeat:
                plain.append(seconds)
                maps.append(shown)
                scores.append(time.perf_counter() - started)
    return {
        "plain_ms": 1000 * statistics.median(plain),
        "trust_maps_shown_ms": 1000 * statistics.median(maps),
        "trust_scores_shown_ms": 1000 * statistics.median(scores),
    }


def span(bounds: list[float], digits: int) -> str:
    return f"{bounds[0]:.{digits}f}-{bounds[1]:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=4, help="bundled test images to use (1-20)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", choices=[*METHOD_SETS, "both"], default="both")
    parser.add_argument("--device", default=None, help="cpu, cuda... (default: best available)")
    parser.add_argument("--weights", default=str(ROOT / "weights"))
    parser.add_argument("--compare-with", type=Path, help="a directory holding another interpret")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's). On a machine other processes keep busy, 1 "
        "gives stable figures: a two-thread op waits for whichever core is taken",
    )
    parser.add_argument(
        "--page", action="store_true", help="also time the Explain tab's maps-then-scores event"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    retain_freed_memory()
    exact_float32()
    net = load_model(args.weights, device=args.device)
    device = next(net.parameters()).device
    other = other_net = None
    if args.compare_with is not None:
        other = load_package(args.compare_with.resolve())
        other_net = other.load_model(args.weights, device=str(device))
    images = sorted((ROOT / "examples").glob("cifar10_*.png"))[: args.images]
    sets = list(METHOD_SETS) if args.methods == "both" else [args.methods]
    explain(net, images[0], list(METHODS), faithfulness=True, sanity=True)  # warm-up
    load_before = os.getloadavg()
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        "device": str(device),
        "images": len(images),
        "repeats": args.repeats,
        "sets": {
            name: bench(net, images, METHOD_SETS[name], args.repeats, other, other_net)
            for name in sets
        },
    }
    if args.page:
        report["page"] = page_figures(net, max(5, args.repeats * len(images)))
    report["load_average"] = {"before": load_before, "after": os.getloadavg()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"machine: {report['machine']}; device: {report['device']}")
    print(
        f"{len(images)} images x {args.repeats} repeats, medians; load average (1, 5, 15 min) "
        f"{tuple(round(x, 2) for x in load_before)} -> "
        f"{tuple(round(x, 2) for x in report['load_average']['after'])}"
    )
    header = (
        f"{'methods':<9}{'plain ms':>10}{'trust ms':>10}{'ratio':>7}{'range':>14}"
        f"{'faithf. ms':>12}{'sanity ms':>11}{'floor ms':>10}{'floor ratio':>13}"
    )
    if other is not None:
        header += f"{'compared ms':>13}{'speedup':>9}{'range':>14}"
    print(header)
    for name, f in report["sets"].items():
        line = (
            f"{name:<9}{f['plain_ms']:>10.0f}{f['trust_ms']:>10.0f}{f['ratio']:>7.1f}"
            f"{span(f['ratio_range'], 1):>14}{f['faithfulness_ms']:>12.0f}"
            f"{f['sanity_ms']:>11.0f}{f['floor_ms']:>10.0f}{f['floor_ratio']:>13.1f}"
        )
        if other is not None:
            line += (
                f"{f['compared_trust_ms']:>13.0f}{f['speedup']:>9.2f}"
                f"{span(f['speedup_range'], 2):>14}"
            )
        print(line)
    if args.page:
        page = report["page"]
        print(
            f"the Explain tab, four defaults: plain {page['plain_ms']:.0f} ms; with trust "
            f"scores the maps show after {page['trust_maps_shown_ms']:.0f} ms, the scores "
            f"after {page['trust_scores_shown_ms']:.0f} ms"
        )
    if other is not None:
        for name, f in report["sets"].items():
            drift = ", ".join(f"{k} {v:.1e}" for k, v in f["compared_score_drift"].items())
            print(f"{name}: largest relative score difference from the compared copy: {drift}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
