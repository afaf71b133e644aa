"""Which attribution method is most faithful for this model, measured over CIFAR-10 test images.

For each image (a class-balanced subset of the test set) and each method: deletion and
insertion AUC, infidelity, max-sensitivity (see interpret/faithfulness.py) and the
cascading model-randomization similarity (interpret/sanity.py), for the predicted class.
Images are explained and scored --batch at a time (each gets the scores of its own call; the
batch shares the model passes). Rows are appended to a CSV as each batch is done, so an
interrupted run resumes where it stopped. Writes <out>/faithfulness.csv,
<out>/faithfulness.png and <out>/summary.md.

    python scripts/faithfulness_report.py --images 50 --out artifacts/faithfulness
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from torch.utils.data import DataLoader, Subset  # noqa: E402
from tqdm import tqdm  # noqa: E402

from interpret import METHODS, explain_batch, load_model  # noqa: E402
from interpret.dataset.training import balanced_indices, cifar10_dataset, dataset_labels  # noqa: E402
from interpret.trust.faithfulness import SCORE_HELP  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "cifar10"
COLUMNS = [
    "index",
    "label",
    "prediction",
    "method",
    "deletion_auc",
    "insertion_auc",
    "infidelity",
    "sensitivity_max",
    "sanity_final",
    "sanity_flagged",
]
SCORES = ["deletion_auc", "insertion_auc", "infidelity", "sensitivity_max", "sanity_final"]


def default_data_dir() -> Path | None:
    """../shared/cifar10 when it is there; else None, the library's download location, rather
    than creating ../shared/cifar10 beside a fresh clone and downloading into it."""
    return DEFAULT_DATA if DEFAULT_DATA.is_dir() else None


def done_indices(path: Path, methods: list[str]) -> set[int]:
    """Images whose every method already has a row: skipped when resuming."""
    if not path.is_file():
        return set()
    seen: dict[int, set[str]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            seen.setdefault(int(row["index"]), set()).add(row["method"])
    return {index for index, keys in seen.items() if set(methods) <= keys}


def rows_for(index: int, label: int, result) -> list[dict]:
    return [
        {
            "index": index,
            "label": label,
            "prediction": result.prediction,
            "method": key,
            **{k: result.faithfulness[key][k] for k in SCORES[:4]},
            "sanity_final": result.sanity[key]["final"],
            "sanity_flagged": int(result.sanity[key]["flagged"]),
        }
        for key in result.methods
    ]


def summarize(path: Path, methods: list[str]) -> tuple[str, dict[str, dict[str, float]]]:
    """Mean of each score per method, ranked by insertion minus deletion AUC."""
    columns: dict[str, dict[str, list[float]]] = {m: {s: [] for s in SCORES} for m in methods}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["method"] in columns:
                for score in SCORES:
                    columns[row["method"]][score].append(float(row[score]))
    means = {m: {s: float(np.mean(v)) for s, v in scores.items()} for m, scores in columns.items()}
    counts = {m: len(columns[m]["deletion_auc"]) for m in methods}
    ranked = sorted(methods, key=lambda m: means[m]["deletion_auc"] - means[m]["insertion_auc"])
    lines = [
        "| rank | method | deletion AUC ↓ | insertion AUC ↑ | infidelity ↓ | max-sensitivity ↓ "
        "| randomized-model ρ (→0 is good) | images |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rank, key in enumerate(ranked, 1):
        m = means[key]
        lines.append(
            f"| {rank} | {METHODS[key].label} | {m['deletion_auc']:.3f} | {m['insertion_auc']:.3f} "
            f"| {m['infidelity']:.4f} | {m['sensitivity_max']:.3f} | {m['sanity_final']:.2f} "
            f"| {counts[key]} |"
        )
    notes = "\n".join(f"- **{name}**: {text}" for name, text in SCORE_HELP.items())
    return "\n".join(lines) + "\n\n" + notes + "\n", means


def plot(means: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    keys = list(means)
    positions = np.arange(len(keys))
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    left.barh(positions - 0.2, [means[k]["deletion_auc"] for k in keys], 0.4, label="deletion ↓")
    left.barh(positions + 0.2, [means[k]["insertion_auc"] for k in keys], 0.4, label="insertion ↑")
    left.set_yticks(positions, [METHODS[k].label for k in keys])
    left.set_xlabel("mean area under the target-probability curve")
    left.legend()
    right.barh(positions, [means[k]["sanity_final"] for k in keys], color="gray")
    right.axvline(0.5, color="red", linestyle="--", label="flag threshold")
    right.set_yticks(positions, [])
    right.set_xlabel("Spearman ρ to the trained map, all layers randomized")
    right.legend()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir",
        help="ImageFolder or torchvision root (default: ../shared/cifar10 beside the project when "
        "present, else torchvision's CIFAR-10 in $INTERPRET_CIFAR10_ROOT or "
        "~/.cache/interpret/cifar10, downloaded if missing)",
    )
    parser.add_argument("--weights", default=None, help="weights source (default: load_model())")
    parser.add_argument("--images", type=int, default=50, help="test images (class-balanced)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--nt-samples", type=int, default=100)
    parser.add_argument(
        "--batch", type=int, default=8, help="images explained and scored together (default 8)"
    )
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "faithfulness"))
    args = parser.parse_args()

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / "faithfulness.csv"
    net = load_model(args.weights)
    dataset = cifar10_dataset(args.data_dir or default_data_dir(), train=False)
    chosen = balanced_indices(dataset_labels(dataset), args.images)
    skip = done_indices(table, methods)
    todo = [i for i in chosen if i not in skip]
    loader = DataLoader(Subset(dataset, todo), batch_size=max(1, args.batch), collate_fn=list)
    new_file = not table.is_file()
    progress = tqdm(desc="images", initial=len(skip), total=len(chosen))
    with table.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new_file:
            writer.writeheader()
        indices = iter(todo)
        for batch in loader:
            results = explain_batch(
                net,
                [image for image, _ in batch],
                methods,
                nt_samples=args.nt_samples,
                overlays=False,
                faithfulness=True,
                sanity=True,
            )
            for (_, label), result in zip(batch, results):
                writer.writerows(rows_for(next(indices), label, result))
            handle.flush()
            progress.update(len(batch))
    progress.close()
    summary, means = summarize(table, methods)
    header = f"{len(chosen)} CIFAR-10 test images, weights {net.weights_source}\n\n"
    (out / "summary.md").write_text(header + summary)
    plot(means, out / "faithfulness.png")
    print(header + summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
