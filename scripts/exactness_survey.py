"""Survey: every path map of the bundled test images against its exact float64 answer, under
other machines' rounding (docs/EXACTNESS.md, "Measured").

Each environment (oneDNN's kernels, one thread) is a child process, since both must be set
before torch starts: it writes interpret's float32 maps ("ours") and the Captum tutorial's
float32 calls ("Captum's") for every image and baseline to an `.npz`. This process then
computes each exact answer once (float64: the same on every machine) and holds every map to
the contract. Prints the table docs/EXACTNESS.md shows (--json: every map's verdict); exits
non-zero if a map breaks it.

    python scripts/exactness_survey.py --weights weights --images 20
    python scripts/exactness_survey.py --skip 4 --images 4 --json > 5-8.json   # a slice
    python scripts/exactness_survey.py --merge 1-4.json 5-8.json   # the slices' one table
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from captum.attr import IntegratedGradients, NoiseTunnel, Saliency  # noqa: E402

from interpret import explain, load_model  # noqa: E402
from interpret.core.baselines import make_baseline  # noqa: E402
from interpret.core.params import BASELINES  # noqa: E402
from interpret.core.preprocess import model_image, to_tensor  # noqa: E402
from interpret.testing.exactness import PATH_METHODS, PathCheck  # noqa: E402

ENVIRONMENTS = {
    "this machine": {},
    "SSE4.1": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "one thread": {"OMP_NUM_THREADS": "1"},
}
SIDES = ("ours", "Captum's")
NAMES = {
    "saliency": "Saliency",
    "integrated_gradients": "Integrated Gradients",
    "ig_smoothgrad_sq": "IG + SmoothGrad²",
}
SEED = 0


def bundled(count: int) -> list[Path]:
    return sorted((ROOT / "examples").glob("cifar10_*.png"))[:count]


def true_class(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[1])


def captums_maps(net, inputs: torch.Tensor, target: int, baseline: torch.Tensor) -> dict:
    """The tutorial's float32 calls, with the request's baseline in place of its zeros."""
    x = inputs.clone().requires_grad_(True)
    maps = {
        "saliency": Saliency(net).attribute(x, target=target),
        "integrated_gradients": IntegratedGradients(net).attribute(
            x, baselines=baseline, target=target
        ),
    }
    torch.manual_seed(SEED)
    maps["ig_smoothgrad_sq"] = NoiseTunnel(IntegratedGradients(net)).attribute(
        x, baselines=baseline, target=target, nt_type="smoothgrad_sq", nt_samples=100, stdevs=0.2
    )
    return {key: value.detach()[0].numpy() for key, value in maps.items()}


def write_maps(weights: Path, images: list[Path], baselines: list[str], out: Path) -> None:
    """Child: both sides' float32 maps for every (image, baseline), in this process's rounding."""
    net = load_model(weights, device="cpu")
    arrays = {}
    for path in images:
        inputs = to_tensor(model_image(path))
        for kind in baselines:
            ours = explain(
                net,
                path,
                list(PATH_METHODS),
                true_class(path),
                baseline=kind,
                seed=SEED,
                overlays=False,
            ).attributions
            theirs = captums_maps(net, inputs, true_class(path), make_baseline(kind, inputs, SEED))
            for key in PATH_METHODS:
                arrays[f"{path.stem}|{kind}|{key}|ours"] = ours[key]
                arrays[f"{path.stem}|{kind}|{key}|Captum's"] = theirs[key]
    np.savez(out, **arrays)


def survey(
    weights: Path,
    images: list[Path],
    baselines: list[str],
    environments: list[str],
    skip: int = 0,
) -> list[dict]:
    """One row per (environment, image, baseline, method, side)."""
    maps = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in environments:
            settings = ENVIRONMENTS[name]
            out = Path(folder) / f"{len(maps)}.npz"
            command = [sys.executable, __file__, "--weights", str(weights), "--write", str(out)]
            command += ["--images", str(len(images)), "--skip", str(skip)]
            command += ["--baselines", *baselines]
            subprocess.run(command, env={**os.environ, **settings}, check=True)
            with np.load(out) as loaded:
                maps[name] = dict(loaded)
            print(f"maps written under {name}", file=sys.stderr, flush=True)
    net = load_model(weights, device="cpu")
    rows = []
    for path in images:
        inputs = to_tensor(model_image(path))
        for kind in baselines:
            baseline = make_baseline(kind, inputs, SEED)
            for key in PATH_METHODS:
                check = PathCheck(net, key, inputs, true_class(path), baseline, seed=SEED)
                for environment, arrays in maps.items():
                    for side in SIDES:
                        found = check.check(arrays[f"{path.stem}|{kind}|{key}|{side}"])
                        rows.append(
                            {
                                "environment": environment,
                                "image": path.stem,
                                "baseline": kind,
                                "method": key,
                                "side": side,
                                "points": check.points,
                                "near_tie_points": check.near_ties,
                                "error": found.error,
                                "residual": found.residual,
                                "flipped_points": found.flipped_points,
                                "holds": found.holds,
                            }
                        )
        print(f"checked {path.stem}", file=sys.stderr, flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| method | path points | near-tie points | largest distance from the exact map, "
        "ours / Captum's | maps beyond 1e-5, ours / Captum's | tie flips that explain one, "
        "at most, ours / Captum's | left once the flips are accounted for, at most | "
        "maps that keep the contract |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in PATH_METHODS:
        own = [row for row in rows if row["method"] == key]
        side = {s: [row for row in own if row["side"] == s] for s in SIDES}
        near = [row["near_tie_points"] for row in own]

        def pair(values, side=side) -> str:
            return " / ".join(values(side[s]) for s in SIDES)

        lines.append(
            f"| {NAMES[key]} | {own[0]['points']:,} | {min(near):,}–{max(near):,} | "
            + pair(lambda r: f"{max(x['error'] for x in r):.1e}")
            + " | "
            + pair(lambda r: f"{sum(x['error'] > 1e-5 for x in r)}")
            + f" of {len(side['ours'])} | "
            + pair(lambda r: f"{max(x['flipped_points'] for x in r)}")
            + f" | {max(row['residual'] for row in own):.1e} | "
            + f"{sum(row['holds'] for row in own)} of {len(own)} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--images", type=int, default=20, help="bundled test images (1-20)")
    parser.add_argument(
        "--skip", type=int, default=0, help="bundled images left out before them (a slice)"
    )
    parser.add_argument("--baselines", nargs="+", default=list(BASELINES), choices=BASELINES)
    parser.add_argument(
        "--environments", nargs="+", default=list(ENVIRONMENTS), choices=ENVIRONMENTS
    )
    parser.add_argument("--json", action="store_true", help="print every row as JSON")
    parser.add_argument(
        "--merge", nargs="+", type=Path, help="--json reports of slices: their one table"
    )
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # a child's maps
    args = parser.parse_args()
    images = bundled(args.skip + args.images)[args.skip :]
    if args.write:
        write_maps(args.weights, images, args.baselines, args.write)
        return 0
    if args.merge:
        rows = [row for path in args.merge for row in json.loads(path.read_text())["rows"]]
    else:
        rows = survey(args.weights, images, args.baselines, args.environments, args.skip)
    broken = [row for row in rows if not row["holds"]]
    if args.json:
        print(json.dumps({"contract_holds": not broken, "rows": rows}, indent=1))
    else:
        print(table(rows))
        for row in broken:
            print("breaks the contract:", row)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
