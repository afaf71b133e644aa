"""Top-1, per-class accuracy and confusion matrix of `Net` weights on the CIFAR-10 test split.

Weights go through `interpret.core.weights.load_model`, so anything the app accepts can be scored:
a save_pretrained folder, a .safetensors file, a Captum-style .pt state dict, or a Hub repo id
(``owner/name[@revision]``). ``--reference`` scores a second source on the same images, side
by side, e.g. the tutorial checkpoint against the retrained weights.

Example:
    python scripts/evaluate.py --data-dir ../shared/cifar10 --weights weights \\
        --reference ../shared/reference/cifar_torchvision.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interpret.core.model import CLASSES
from interpret.core.weights import WeightsError, load_model
from interpret.dataset.training import (
    accuracy_report,
    add_source_arguments,
    balanced_indices,
    confusion_matrix,
    dataset_labels,
    describe_dataset,
    load_uint8,
    predict,
    split_for_cli,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: one weights source (plus an optional reference) and one test set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_source_arguments(parser)
    parser.add_argument(
        "--weights",
        help="weights source (default: what the app loads: INTERPRET_MODEL_REPO, else weights/)",
    )
    parser.add_argument("--reference", help="a second weights source to compare against")
    parser.add_argument("--limit", type=int, help="score N class-balanced test images only")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--device", help="cpu, cuda, mps (default: the app's choice)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (1: see train.py --help)"
    )
    parser.add_argument("--num-workers", type=int, default=0, help="JPEG decoding workers")
    return parser.parse_args(argv)


def load_test_split(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Decoded uint8 test images + labels, and a description of where they came from."""
    try:
        dataset = split_for_cli(args.data_dir, args.download_root, train=False)
    except (ValueError, OSError) as error:
        raise SystemExit(f"error: {error}") from error
    indices = balanced_indices(dataset_labels(dataset), args.limit)
    images, labels = load_uint8(dataset, indices, num_workers=args.num_workers)
    return images, labels, describe_dataset(dataset, "test")


def score(source: str | None, images: torch.Tensor, labels: torch.Tensor, device) -> dict:
    """Load one weights source and summarize its predictions on the given images."""
    try:
        model = load_model(source, device=device)
    except WeightsError as error:
        raise SystemExit(f"error: {error}") from error
    confusion = confusion_matrix(predict(model, images), labels)
    report = accuracy_report(confusion)
    return {"weights": model.weights_source, **report, "confusion": confusion.tolist()}


def percent(fraction: float | None) -> str:
    """'74.66%', or 'n/a' for a class with no images in the scored subset (--limit < 10)."""
    return "n/a" if fraction is None else f"{100 * fraction:6.2f}%"


def format_table(results: list[dict]) -> str:
    """Per-class accuracies with one column per weights source, top-1 last."""
    width = max(len(name) for name in CLASSES)
    header = f"{'class':<{width}}" + "".join(f"  {f'[{i}]':>7}" for i in range(len(results)))
    lines = [header]
    for name in CLASSES:
        cells = "".join(f"  {percent(r['per_class'][name]):>7}" for r in results)
        lines.append(f"{name:<{width}}{cells}")
    lines.append(f"{'top-1':<{width}}" + "".join(f"  {100 * r['top1']:6.2f}%" for r in results))
    return "\n".join(lines)


def format_confusion(result: dict) -> str:
    """Confusion matrix with abbreviated class names; rows are true labels."""
    short = [name[:5] for name in CLASSES]
    lines = ["true\\pred " + " ".join(f"{s:>5}" for s in short)]
    for name, row in zip(short, result["confusion"]):
        lines.append(f"{name:<9} " + " ".join(f"{count:5d}" for count in row))
    return "\n".join(lines)


def format_text(summary: dict) -> str:
    """The human-readable report: sources, table, then each confusion matrix."""
    parts = [f"data: {summary['data_source']}; {summary['num_images']} scored"]
    parts += [f"[{i}] {r['weights']}" for i, r in enumerate(summary["results"])]
    parts += ["", format_table(summary["results"])]
    for i, result in enumerate(summary["results"]):
        parts += ["", f"confusion [{i}]", format_confusion(result)]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> dict:
    """Score the weights (and reference) and print text or JSON; returns the summary."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    images, labels, data_source = load_test_split(args)
    sources = [args.weights] + ([args.reference] if args.reference else [])
    results = [score(source, images, labels, args.device) for source in sources]
    summary = {"data_source": data_source, "num_images": len(labels), "results": results}
    print(json.dumps(summary, indent=2) if args.json else format_text(summary))
    return summary


if __name__ == "__main__":
    main()
