"""Publish a weights folder from scripts/train.py to a Hugging Face Hub model repo.

The pushed folder is exactly: config.json, model.safetensors, metrics.json, the training
checkpoints TracIn needs (``checkpoints/``: manifest.json and the files it lists, checked
against the weights, when train.py kept them) and a README.md model card whose metadata
carries the measured CIFAR-10 test accuracy. ``--dry-run DIR``
writes that folder locally and touches no network, so the card can be reviewed first.
A real push makes the repo hold exactly those files (stale remote files are deleted) and
prints the commit id to pin with ``INTERPRET_MODEL_REVISION``. The token comes from
``huggingface-cli login`` or ``HF_TOKEN``, never from the command line.

Example:
    python scripts/push_to_hub.py weights --dry-run /tmp/card-preview
    python scripts/push_to_hub.py weights --repo-id captum-explorer/cifar10-tutorial-net
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interpret.core.model import CLASSES, Net
from interpret.core.weights import DEFAULT_REPO, WeightsError, load_model
from interpret.influence.checkpoints import (
    CHECKPOINTS_DIR,
    MANIFEST,
    HistoryError,
    TrainingHistory,
    history_for,
)

PUSHED_FILES = ("config.json", "model.safetensors", "metrics.json")
CARD_NAME = "README.md"
REFERENCE_TOP1 = 0.584  # Captum's cifar_torchvision.pt on the JPEG ImageFolder test copy
PUBLIC_FIELDS = ("command", "data_source")  # metrics.json fields the model card prints
# An absolute, home-relative or parent-relative path: a directory of the training machine.
LOCAL_PATH = re.compile(r"^(/\S|~|\.\.(/|\\|$)|[A-Za-z]:[\\/])")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the folder, and either a repo id or a dry-run destination."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("weights"))
    parser.add_argument("--repo-id", default=DEFAULT_REPO, help=f"default {DEFAULT_REPO}")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="write the folder, no push")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--commit-message", default="Upload retrained Captum tutorial Net")
    return parser.parse_args(argv)


def read_metrics(folder: Path) -> dict:
    """metrics.json from train.py, after checking every file to push is there."""
    missing = [name for name in PUSHED_FILES if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"{folder}: missing {', '.join(missing)} (run scripts/train.py first)")
    metrics = json.loads((folder / "metrics.json").read_text())
    if not isinstance(metrics.get("test_top1"), (int, float)):
        raise SystemExit(f"{folder / 'metrics.json'}: no numeric test_top1")
    for name in PUBLIC_FIELDS:
        paths = local_paths(str(metrics.get(name, "")))
        if paths:
            raise SystemExit(
                f"{folder / 'metrics.json'}: {name} names a directory of the training machine "
                f"({', '.join(paths)}), and the model card is public; retrain with "
                "scripts/train.py (it records names only) or edit that field"
            )
    return metrics


def local_paths(text: str) -> list[str]:
    """The words of `text` (a shell line or a description) that are machine-local paths,
    also as ``--option=/path`` or quoted."""
    values = []
    for word in text.split():
        value = word.partition("=")[2] if word.startswith("-") else word
        values.append(value.strip("'\"()[],;"))
    return [value for value in values if LOCAL_PATH.match(value)]


def card_data(metrics: dict, model_name: str) -> ModelCardData:
    """YAML metadata: license, dataset, and the test accuracy as a model-index eval result."""
    result = EvalResult(
        task_type="image-classification",
        task_name="Image Classification",
        dataset_type="cifar10",
        dataset_name="CIFAR-10",
        dataset_split="test",
        metric_type="accuracy",
        metric_name="Top-1 accuracy",
        metric_value=round(float(metrics["test_top1"]), 4),
    )
    return ModelCardData(
        license="mit",
        library_name="interpret",
        pipeline_tag="image-classification",
        datasets=["cifar10"],
        metrics=["accuracy"],
        tags=["captum", "interpretability", "cifar10", "pytorch_model_hub_mixin"],
        model_name=model_name,
        eval_results=[result],
    )


def per_class_table(metrics: dict) -> str:
    """Markdown table of per-class test accuracy."""
    rows = ["| class | accuracy |", "|---|---|"]
    per_class = metrics.get("test_per_class", {})
    rows += [f"| {name} | {100 * per_class[name]:.1f}% |" for name in CLASSES if name in per_class]
    return "\n".join(rows)


def checkpoints_section(history: TrainingHistory | None) -> str:
    """The card's "Training checkpoints" section: what they are and how each is weighted."""
    if history is None:
        return ""
    rows = [
        f"| `{CHECKPOINTS_DIR}/{c.path.name}` | {c.epoch} | {e['first_step']}-{e['last_step']} "
        f"| {c.learning_rate:.4g} | {e['learning_rate_at_save']:.3g} |"
        for c, e in zip(history.checkpoints, history.manifest["checkpoints"], strict=True)
    ]
    return f"""
## Training checkpoints

`{CHECKPOINTS_DIR}/` holds {len(history.checkpoints)} states of this model saved during training
(safetensors, the same tensor names as `model.safetensors`; the last one is the final weights)
and `{MANIFEST}`. They serve TracIn in the app: which training images pushed the model toward a
decision, from the loss gradients at `{history.manifest.get("layer", "?")}` summed over the
checkpoints, each weighted by its learning rate. That rate is the mean one-cycle learning rate
over the optimizer steps the checkpoint stands for (those since the previous one): TracIn's sum
over steps, taken per interval. The rate at the instant of saving is listed too but not used:
the schedule ends near 2e-7, which would give the final weights almost no weight.

| file | epoch | optimizer steps | learning rate (interval mean) | rate at save |
|---|---|---|---|---|
{chr(10).join(rows)}

They belong to the final weights with digest `{history.final_weights_digest}`
(`interpret.dataset.predictions.weights_digest`): the app refuses influence for other weights.
"""


def card_body(metrics: dict, repo_id: str, history: TrainingHistory | None = None) -> str:
    """Markdown below the metadata: what the model is, how it was trained, how to load it."""
    top1 = 100 * float(metrics["test_top1"])
    images = metrics.get("test_images", "?")
    return f"""
# Captum CIFAR-10 tutorial `Net`, retrained

The small LeNet-style classifier from Captum's
[CIFAR-10 interpretability tutorial](https://captum.ai/tutorials/CIFAR_TorchVision_Interpret),
with the architecture and layer names unchanged, retrained with random-crop + flip
augmentation and a one-cycle schedule: **{top1:.1f}% top-1** on {images} CIFAR-10 test
images (the tutorial's own checkpoint: {100 * REFERENCE_TOP1:.1f}% on the ImageFolder test copy).
Inputs are 32x32 RGB, normalized with mean 0.5 and std 0.5 per channel (see `config.json`);
outputs are logits for {", ".join(CLASSES)}.

## Use

```python
from interpret import load_model
model = load_model("{repo_id}")  # or interpret.Net.from_pretrained(...)
```

## Training

- command: `{metrics.get("command", "?")}`
- data: {metrics.get("data_source", "?")}
- epochs: {metrics.get("epochs", "?")}, seed: {metrics.get("seed", "?")},
  wall time: {metrics.get("wall_time_s", "?")} s on CPU, torch {metrics.get("torch_version", "?")},
  date: {metrics.get("date", "?")}
- hyperparameters and per-epoch history: `metrics.json`

## Test accuracy per class

{per_class_table(metrics)}
{checkpoints_section(history)}
## Credits

CIFAR-10: Alex Krizhevsky, *Learning Multiple Layers of Features from Tiny Images*, 2009.
Architecture: the Captum tutorial (BSD-3-Clause). Weights: MIT.
"""


def build_card(metrics: dict, repo_id: str, history: TrainingHistory | None = None) -> ModelCard:
    """The full model card; validated by parsing the metadata back."""
    data = card_data(metrics, model_name=repo_id.split("/")[-1])
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n{card_body(metrics, repo_id, history)}")
    if card.data.eval_results is None:  # the model-index must round-trip
        raise RuntimeError("model card metadata lost its eval results")
    return card


def training_history(folder: Path, model: Net) -> TrainingHistory | None:
    """The folder's checkpoints, every file checked and all belonging to its weights (else
    refused: published, they would give wrong influence); None when train.py kept none."""
    if not (folder / CHECKPOINTS_DIR / MANIFEST).is_file():
        return None
    try:
        return history_for(model, folder)
    except HistoryError as error:
        raise SystemExit(f"error: {error}") from error


def staged_names(history: TrainingHistory | None) -> dict[str, set[str]]:
    """What a staging folder may hold: top-level names, and the checkpoints folder's."""
    if history is None:
        return {"": {*PUSHED_FILES, CARD_NAME}}
    files = {MANIFEST, *(c.path.name for c in history.checkpoints)}
    return {"": {*PUSHED_FILES, CARD_NAME, CHECKPOINTS_DIR}, CHECKPOINTS_DIR: files}


def refuse_strays(destination: Path, allowed: dict[str, set[str]]) -> None:
    """A staging folder holds nothing but what is pushed (the push deletes all else remotely)."""
    for sub, names in allowed.items():
        folder = destination / sub
        if folder.is_dir():
            strays = sorted(p.name for p in folder.iterdir() if p.name not in names)
            if strays:
                raise SystemExit(
                    f"{folder}: not empty ({', '.join(strays)}); choose another folder"
                )


def copy_checkpoints(history: TrainingHistory, destination: Path) -> None:
    """The manifest and the files it lists, byte for byte."""
    target = destination / CHECKPOINTS_DIR
    target.mkdir(exist_ok=True)
    for path in (history.folder / MANIFEST, *(c.path for c in history.checkpoints)):
        shutil.copyfile(path, target / path.name)


def stage(folder: Path, destination: Path, repo_id: str) -> Path:
    """Write exactly the files to push into ``destination`` (created; refused if it has others)."""
    metrics = read_metrics(folder)
    try:  # refuse to publish weights the app could not load
        model = load_model(folder, device="cpu")
    except WeightsError as error:
        raise SystemExit(f"error: {error}") from error
    history = training_history(folder, model)
    destination.mkdir(parents=True, exist_ok=True)
    refuse_strays(destination, staged_names(history))
    if folder.resolve() != destination.resolve():
        for name in PUSHED_FILES:
            shutil.copyfile(folder / name, destination / name)
        if history is not None:
            copy_checkpoints(history, destination)
    build_card(metrics, repo_id, history).save(destination / CARD_NAME)
    return destination


def push(staged: Path, repo_id: str, private: bool, message: str) -> str:
    """Create the repo if needed and commit the staged folder; returns the commit id."""
    api = HfApi()
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id,
        repo_type="model",
        folder_path=staged,
        commit_message=message,
        delete_patterns=["*"],  # the repo ends up exactly the staged folder (+ .gitattributes)
    )
    print(f"pushed {commit.commit_url}")
    return commit.oid


def main(argv: list[str] | None = None) -> None:
    """Dry run: write the folder. Otherwise stage in a temp dir, push, print the pin."""
    args = parse_args(argv)
    if args.dry_run is not None:
        staged = stage(args.folder, args.dry_run, args.repo_id)
        print(f"wrote {', '.join(sorted(p.name for p in staged.iterdir()))} to {staged}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        oid = push(
            stage(args.folder, Path(tmp), args.repo_id),
            args.repo_id,
            args.private,
            args.commit_message,
        )
    print(f"INTERPRET_MODEL_REPO={args.repo_id}")
    print(f"INTERPRET_MODEL_REVISION={oid}")


if __name__ == "__main__":
    main()
