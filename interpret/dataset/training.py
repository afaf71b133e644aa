"""CIFAR-10 loading shared by the training and evaluation scripts.

Source policy (``cifar10_dataset``):

* a directory holding both ``train/`` and ``test/`` is read as a torchvision ``ImageFolder``
  layout; its class folders must be exactly ``CLASSES`` (sorted folder order then gives the
  CIFAR-10 label order, so a mismatch would silently mislabel every image);
* a directory holding only one of ``train/`` or ``test/`` is rejected, because it is almost
  certainly a broken ImageFolder copy and falling back to a download would hide that;
* any other directory (or ``None``: ``$INTERPRET_CIFAR10_ROOT`` or
  ``~/.cache/interpret/cifar10``) is a torchvision ``CIFAR10`` root, downloaded if missing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms
from tqdm import tqdm

from interpret import settings
from interpret.core.model import CLASSES, MEAN, STD

Transform = Callable[[object], object] | None


def model_transform() -> transforms.Compose:
    """PIL image -> normalized tensor, exactly the tutorial's preprocessing the weights expect."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


def normalize_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW batch -> float batch, the same numbers ``model_transform`` gives per image."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (images.float().div_(255.0) - mean) / std


def default_download_root() -> Path:
    """Where torchvision's CIFAR-10 lands when no source is given (overridable by env var)."""
    return settings.read().cifar10_root


def is_imagefolder_root(source: str | Path) -> bool:
    """True for a directory with train/ and test/; raises for a half layout (see module doc)."""
    root = Path(source)
    has = [(root / split).is_dir() for split in ("train", "test")]
    if all(has):
        return True
    if any(has):
        raise ValueError(
            f"{root} has only one of train/ and test/; an ImageFolder source needs both"
        )
    return False


def imagefolder_split(root: str | Path, train: bool, transform: Transform = None) -> Dataset:
    """One split of an ImageFolder copy, refusing class folders that would shift the labels."""
    split_dir = Path(root) / ("train" if train else "test")
    found = sorted(entry.name for entry in split_dir.iterdir() if entry.is_dir())
    if tuple(found) != CLASSES:  # checked before ImageFolder scans (and maybe fails on) files
        raise ValueError(f"class folders in {split_dir} are {found}, expected {list(CLASSES)}")
    return datasets.ImageFolder(split_dir, transform=transform)


def torchvision_split(root: str | Path, train: bool, transform: Transform = None) -> Dataset:
    """One split of torchvision's CIFAR-10, downloading it into ``root`` if it is not there."""
    Path(root).mkdir(parents=True, exist_ok=True)
    return datasets.CIFAR10(str(root), train=train, download=True, transform=transform)


def cifar10_dataset(source: str | Path | None, train: bool, transform: Transform = None) -> Dataset:
    """The requested CIFAR-10 split from an ImageFolder copy or a torchvision root (module doc)."""
    if source is None:
        return torchvision_split(default_download_root(), train, transform)
    if is_imagefolder_root(source):
        return imagefolder_split(source, train, transform)
    return torchvision_split(source, train, transform)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The scripts' shared choice of data: an ImageFolder copy or a torchvision root."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", type=Path, help="ImageFolder root with train/ and test/")
    source.add_argument(
        "--download-root", type=Path, help="torchvision CIFAR10 root (downloaded if missing)"
    )


def split_for_cli(data_dir: Path | None, download_root: Path | None, train: bool) -> Dataset:
    """The scripts' ``--data-dir`` / ``--download-root`` choice: an explicit ``--data-dir`` must
    be an ImageFolder copy, so a mistyped path fails instead of starting a 170 MB download."""
    if data_dir is not None:
        if not is_imagefolder_root(data_dir):
            raise ValueError(f"{data_dir} has no train/ and test/ subfolders")
        return imagefolder_split(data_dir, train)
    if download_root is None:
        raise ValueError("give --data-dir or --download-root")
    return torchvision_split(download_root, train)


FORMAT_NAMES = {".jpg": "JPEGs", ".jpeg": "JPEGs", ".png": "PNGs", ".bmp": "BMPs", ".webp": "WebPs"}


def describe_dataset(dataset: Dataset, split: str) -> str:
    """Provenance for metrics.json and the model card, e.g. "CIFAR-10 test set, ImageFolder of
    JPEGs, 10,000 images": what the data was, never where it lay (a model card is public, and
    this machine's directories mean nothing there and say too much)."""
    count = f"{len(dataset):,} images"
    if isinstance(dataset, datasets.CIFAR10):
        return f"CIFAR-10 {split} set, torchvision's CIFAR10 (python version), {count}"
    suffixes = {Path(path).suffix.lower() for path, _ in getattr(dataset, "samples", [])}
    kinds = sorted({FORMAT_NAMES.get(s, f"{s or 'unnamed'} files") for s in suffixes})
    return f"CIFAR-10 {split} set, ImageFolder of {' and '.join(kinds) or 'no files'}, {count}"


def dataset_labels(dataset: Dataset) -> list[int]:
    """Labels without decoding images (ImageFolder ``targets`` / CIFAR10 ``targets``)."""
    targets = getattr(dataset, "targets", None)
    if targets is None:
        raise TypeError(f"{type(dataset).__name__} has no targets attribute")
    return [int(t) for t in targets]


def balanced_indices(labels: Sequence[int], limit: int | None) -> list[int]:
    """The first ``limit`` indices of a class-interleaved order: a small, balanced, stable subset.

    ImageFolder lists samples class by class, so "the first N" would be all airplanes;
    interleaving takes the first image of every class, then the second, and so on.
    """
    if limit is None or limit >= len(labels):
        return list(range(len(labels)))
    rank: dict[int, int] = {}
    keyed = []
    for index, label in enumerate(labels):
        keyed.append((rank.get(label, 0), label, index))
        rank[label] = rank.get(label, 0) + 1
    return [index for _, _, index in sorted(keyed)[:limit]]


def _uint8_chw(image: object) -> torch.Tensor:
    """PIL RGB image -> uint8 CHW tensor (no scaling), for compact in-memory storage."""
    return transforms.functional.pil_to_tensor(image)


def load_uint8(
    dataset: Dataset,
    indices: Sequence[int] | None = None,
    num_workers: int = 0,
    desc: str = "decoding",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a split once into (uint8 N x 3 x 32 x 32, int64 labels).

    Decoding 50k JPEGs every epoch costs more than training this small net, so the
    scripts decode once and augment/normalize whole batches with tensor ops instead.
    """
    if isinstance(dataset, datasets.CIFAR10):  # torchvision keeps it decoded (N x 32 x 32 x 3)
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
        labels = torch.tensor(dataset_labels(dataset), dtype=torch.int64)
        if indices is not None:
            picked = torch.tensor(list(indices), dtype=torch.int64)
            images, labels = images[picked], labels[picked]
        return images, labels
    if indices is not None:
        dataset = torch.utils.data.Subset(dataset, list(indices))
    base = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
    saved_transform = base.transform
    base.transform = _uint8_chw
    try:
        loader = DataLoader(dataset, batch_size=500, shuffle=False, num_workers=num_workers)
        images, labels = [], []
        for batch_images, batch_labels in tqdm(loader, desc=desc, unit="batch", leave=False):
            images.append(batch_images)
            labels.append(batch_labels)
    finally:
        base.transform = saved_transform
    return torch.cat(images), torch.cat(labels).to(torch.int64)


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted labels for decoded uint8 images, batched so 10k images fit in little memory."""
    model.eval()
    device = next(model.parameters()).device
    chunks = [
        model(normalize_uint8(images[start : start + batch_size]).to(device)).argmax(1).cpu()
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(chunks) if chunks else torch.empty(0, dtype=torch.int64)


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """counts[true, predicted]; everything the scripts report is derived from it."""
    num_classes = len(CLASSES)
    flat = labels.to(torch.int64) * num_classes + predictions.to(torch.int64)
    return torch.bincount(flat, minlength=num_classes**2).view(num_classes, num_classes)


def accuracy_report(confusion: torch.Tensor) -> dict:
    """Top-1 and per-class accuracy (fractions) from a confusion matrix, JSON-ready."""
    per_class_total = confusion.sum(1)
    correct = confusion.diag()
    total = int(per_class_total.sum())
    return {
        "top1": float(correct.sum()) / total if total else float("nan"),
        "num_images": total,
        "per_class": {
            name: (float(correct[i]) / int(per_class_total[i]) if per_class_total[i] else None)
            for i, name in enumerate(CLASSES)
        },
    }
