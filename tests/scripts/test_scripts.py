"""End-to-end checks of scripts/{train,evaluate,push_to_hub,convert_tutorial_checkpoint}.py and
interpret.dataset.training.

train.py runs as a user runs it, a process of its own (tests/synthetic_data.py); the others run
their `main` in this process with the arguments a user types (tests/script_runs.py), with the
Hub offline, on a small synthetic CIFAR-10-layout ImageFolder the session writes itself, so a
fresh clone runs every script end to end. Only the measurement of the shipped weights' real
accuracy needs the CIFAR-10 copy in ../shared, and skips cleanly where it is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from script_runs import load_script, run_main, run_script
from synthetic_data import (
    EPOCHS,
    MIN_TOP1,
    TEST_PER_CLASS,
    TRAIN_LIMIT,
    synthetic_cifar10,
    synthetic_image,
    synthetic_weights,
)
from torchvision.transforms.functional import pil_to_tensor

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CIFAR = SHARED / "cifar10"
SHIPPED = REPO / "weights"
METRICS_KEYS = {
    "test_top1",
    "test_per_class",
    "epochs",
    "wall_time_s",
    "data_source",
    "command",
    "seed",
    "torch_version",
    "date",
}
TEST_IMAGES = 10 * TEST_PER_CLASS

needs_cifar = pytest.mark.skipif(not CIFAR.is_dir(), reason=f"{CIFAR} not present")

sys.path.insert(0, str(REPO))
from interpret.core.model import CLASSES  # noqa: E402
from interpret.core.weights import load_model  # noqa: E402
from interpret.dataset import training as data  # noqa: E402


@pytest.fixture(scope="module")
def cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic ImageFolder: 10 classes of 30 training and 10 test images."""
    return synthetic_cifar10(tmp_path_factory)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder from scripts/train.py on the synthetic data."""
    return synthetic_weights(tmp_path_factory)


@pytest.fixture(scope="module")
def rolled_reference(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Captum-style .pt state dict: the trained net with its output rows rolled by one, so it
    predicts class k+1 wherever the trained net predicts k. Its confusion matrix is therefore
    the trained one with the columns rolled, which tells whether --reference really scored it."""
    state = load_model(trained, device="cpu").state_dict()
    state["fc3.weight"] = state["fc3.weight"].roll(1, 0)
    state["fc3.bias"] = state["fc3.bias"].roll(1, 0)
    path = tmp_path_factory.mktemp("reference") / "rolled.pt"
    torch.save(state, path)
    return path


def test_train_writes_a_folder_that_learned_the_classes(trained: Path) -> None:
    assert {"config.json", "model.safetensors", "metrics.json"} <= {
        p.name for p in trained.iterdir()
    }
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics.keys() >= METRICS_KEYS
    assert metrics["train_images"] == TRAIN_LIMIT and metrics["epochs"] == EPOCHS
    assert metrics["test_images"] == TEST_IMAGES
    assert set(metrics["test_per_class"]) == set(CLASSES)
    assert f"--limit {TRAIN_LIMIT}" in metrics["command"]
    # Public provenance: what the data was and the command by names, no directory of this machine.
    assert metrics["data_source"] == (
        "CIFAR-10 train set, ImageFolder of PNGs, 300 images; "
        f"CIFAR-10 test set, ImageFolder of JPEGs, {TEST_IMAGES} images"
    )
    assert metrics["command"].startswith("python scripts/train.py --data-dir synthetic-cifar10 ")
    assert "--out synthetic-weights " in metrics["command"]
    assert str(trained.parent) not in json.dumps(metrics)
    assert metrics["test_top1"] >= MIN_TOP1, metrics  # chance is 0.1
    # Fresh images, labelled by construction rather than by any loader: a train.py that
    # mapped folders to the wrong class indices would score near zero here.
    model = load_model(trained, device="cpu")
    rng = np.random.default_rng(12345)
    labels = torch.arange(len(CLASSES)).repeat_interleave(10)
    images = torch.stack([pil_to_tensor(synthetic_image(int(k), rng)) for k in labels])
    accuracy = (data.predict(model, images) == labels).float().mean().item()
    assert accuracy >= MIN_TOP1, accuracy


def used_rates(hyperparameters: dict, steps_total: int) -> list[float]:
    """The learning rate of every optimizer step of a one-cycle run with train.py's arguments,
    from a OneCycleLR of our own (not train.py's scheduler): read before each step."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=hyperparameters["lr"], momentum=0.9, nesterov=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=hyperparameters["lr"], total_steps=steps_total, pct_start=0.25
    )
    rates = []
    for _ in range(steps_total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_train_keeps_checkpoints_weighted_by_the_rates_the_schedule_used(trained: Path) -> None:
    from interpret.influence.checkpoints import history_for

    metrics = json.loads((trained / "metrics.json").read_text())
    hyper = metrics["hyperparameters"]
    steps_per_epoch = -(-TRAIN_LIMIT // hyper["batch_size"])
    rates = used_rates(hyper, EPOCHS * steps_per_epoch)
    model = load_model(trained, device="cpu")
    history = history_for(model, trained)  # the final weights' own history
    # Every 8 epochs (the default) and after the last: 8 and 12 of the 12.
    assert hyper["checkpoint_every"] == 8 and [c.epoch for c in history.checkpoints] == [8, EPOCHS]
    ends = [0, 8 * steps_per_epoch, EPOCHS * steps_per_epoch]
    entries = history.manifest["checkpoints"]
    for i, (checkpoint, entry) in enumerate(zip(history.checkpoints, entries, strict=True)):
        interval = rates[ends[i] : ends[i + 1]]
        assert (entry["first_step"], entry["last_step"]) == (ends[i] + 1, ends[i + 1])
        assert checkpoint.learning_rate == pytest.approx(sum(interval) / len(interval), rel=1e-12)
        assert entry["learning_rate_at_save"] == pytest.approx(interval[-1], rel=1e-12)
    # The schedule ends near lr / 25 / 1e4: the rate at saving would all but drop the last one.
    assert entries[-1]["learning_rate_at_save"] == pytest.approx(hyper["lr"] / 25e4, rel=1e-6)
    assert history.learning_rates[-1] > 100 * entries[-1]["learning_rate_at_save"]
    final = model.state_dict()
    last = history.states()[-1]
    assert last.keys() == final.keys() and all(torch.equal(last[k], final[k]) for k in final)
    assert history.label_smoothing == hyper["label_smoothing"] == 0.1
    assert history.training_set == (
        "CIFAR-10 train set, ImageFolder of PNGs, 300 images; "
        f"the first {TRAIN_LIMIT} of a class-interleaved order (--limit)"
    )


def test_train_replaces_an_earlier_runs_checkpoints(
    cifar: Path, trained: Path, tmp_path: Path
) -> None:
    """Checkpoints left from another run would belong to other weights: a new run clears them,
    and keeps its own every N epochs and after the last (2 and 3 of 3)."""
    from interpret.influence.checkpoints import history_for

    out = tmp_path / "weights"
    shutil.copytree(trained, out)
    before = {p.name for p in (out / "checkpoints").iterdir()}
    assert before == {"manifest.json", "epoch-08.safetensors", "epoch-12.safetensors"}
    run_script(
        "train.py", "--data-dir", cifar, "--out", out, "--limit", "50", "--epochs", "3",
        "--batch-size", "25", "--checkpoint-every", "2", "--threads", "1",
    )  # fmt: skip
    history = history_for(load_model(out, device="cpu"), out)
    assert [c.epoch for c in history.checkpoints] == [2, 3]
    assert {p.name for p in (out / "checkpoints").iterdir()} == {
        "manifest.json",
        "epoch-02.safetensors",
        "epoch-03.safetensors",
    }
    # 6 steps are too few for one cycle: train.py holds the rate, and the means say so.
    assert history.learning_rates == [0.05, 0.05]
    run_script(
        "train.py", "--data-dir", cifar, "--out", out, "--limit", "50", "--epochs", "1",
        "--checkpoint-every", "0", "--threads", "1",
    )  # fmt: skip
    assert list((out / "checkpoints").iterdir()) == []


def test_evaluate_scores_weights_and_reference_on_the_same_images(
    cifar: Path, trained: Path, rolled_reference: Path
) -> None:
    _, printed = run_main(
        "evaluate.py",
        "--data-dir",
        cifar,
        "--weights",
        trained,
        "--reference",
        rolled_reference,
        "--device",
        "cpu",
        "--json",
    )
    summary = json.loads(printed)
    metrics = json.loads((trained / "metrics.json").read_text())
    ours, reference = summary["results"]
    confusion = np.array(ours["confusion"])
    assert summary["num_images"] == TEST_IMAGES
    assert summary["data_source"] == (
        f"CIFAR-10 test set, ImageFolder of JPEGs, {TEST_IMAGES} images"
    )
    assert confusion.sum(1).tolist() == [TEST_PER_CLASS] * len(CLASSES)  # labels per folder
    # The same weights on the same images as train.py's own final evaluation.
    assert ours["top1"] == metrics["test_top1"] >= MIN_TOP1
    assert ours["per_class"] == metrics["test_per_class"]
    assert ours["top1"] == confusion.trace() / TEST_IMAGES
    assert "model.safetensors" in ours["weights"] and "rolled.pt" in reference["weights"]
    assert reference["confusion"] == np.roll(confusion, 1, axis=1).tolist()
    assert reference["top1"] == np.trace(np.roll(confusion, 1, axis=1)) / TEST_IMAGES


def parse_confusion(text: str, index: int) -> np.ndarray:
    """The counts of evaluate.py's text block 'confusion [index]'."""
    lines = text.splitlines()
    start = lines.index(f"confusion [{index}]") + 2  # title, then the header row
    return np.array([[int(n) for n in line.split()[1:]] for line in lines[start : start + 10]])


def parse_table(text: str) -> dict[str, list[str]]:
    """evaluate.py's accuracy table: class (and 'top-1') -> one cell per weights source."""
    lines = text.splitlines()
    (header,) = [i for i, line in enumerate(lines) if line.split()[:1] == ["class"]]
    rows = [line.split() for line in lines[header + 1 : header + 2 + len(CLASSES)]]
    return {row[0]: row[1:] for row in rows}


def test_evaluate_text_report_with_a_balanced_limit(
    cifar: Path, trained: Path, rolled_reference: Path
) -> None:
    _, text = run_main(
        "evaluate.py",
        "--data-dir",
        cifar,
        "--weights",
        trained,
        "--reference",
        rolled_reference,
        "--device",
        "cpu",
        "--limit",
        "50",
    )
    assert f"data: CIFAR-10 test set, ImageFolder of JPEGs, {TEST_IMAGES} images; 50 scored" in text
    assert str(cifar.parent) not in text
    assert re.search(r"^\[0\] .*model\.safetensors", text, re.MULTILINE)
    assert re.search(r"^\[1\] .*rolled\.pt", text, re.MULTILINE)
    ours, reference = parse_confusion(text, 0), parse_confusion(text, 1)
    assert ours.sum(1).tolist() == [5] * len(CLASSES)  # --limit 50 takes 5 of each class
    assert np.array_equal(reference, np.roll(ours, 1, axis=1))
    table = parse_table(text)
    assert list(table) == [*CLASSES, "top-1"]
    printed = [float(cell.rstrip("%")) for cell in table["top-1"]]
    assert printed == pytest.approx([2 * ours.trace(), 2 * reference.trace()], abs=0.005)
    assert printed[0] >= 100 * MIN_TOP1
    per_class = [float(table[name][0].rstrip("%")) for name in CLASSES]
    assert per_class == pytest.approx((100 * ours.diagonal() / 5).tolist(), abs=0.005)


def test_evaluate_names_classes_a_small_limit_leaves_out(cifar: Path, trained: Path) -> None:
    """--limit 5 scores one image of each of the first five classes; the other five have no
    accuracy, and the text report says so instead of failing."""
    argv = ["--data-dir", cifar, "--weights", trained, "--device", "cpu", "--limit", "5"]
    summary, printed = run_main("evaluate.py", *argv)
    (result,) = summary["results"]
    assert summary["num_images"] == 5
    assert [result["per_class"][name] is None for name in CLASSES] == [False] * 5 + [True] * 5
    table = parse_table(printed)
    assert [table[name] for name in CLASSES[5:]] == [["n/a"]] * 5
    assert table["top-1"] == [f"{100 * result['top1']:.2f}%"]


@needs_cifar
def test_shipped_weights_accuracy() -> None:
    """Balanced 2000-image subset (200 per class) as a quick proxy for the >= 74% full score."""
    _, printed = run_main(
        "evaluate.py", "--data-dir", CIFAR, "--weights", SHIPPED, "--limit", "2000", "--json"
    )
    summary = json.loads(printed)
    (result,) = summary["results"]
    assert summary["num_images"] == 2000 and sum(map(sum, result["confusion"])) == 2000
    assert set(result["per_class"]) == set(CLASSES)
    assert result["top1"] >= 0.72, result


def test_push_dry_run_writes_model_card(trained: Path, tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    # The synthetic classes usually all score 100 %; distinct per-class figures make a card
    # that mixes up the classes visible.
    folder = tmp_path / "weights"
    shutil.copytree(trained, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["test_per_class"] = {name: 0.5 + i / 100 for i, name in enumerate(CLASSES)}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    out = tmp_path / "staged"
    run_main("push_to_hub.py", folder, "--repo-id", "someone/net", "--dry-run", out)
    assert {p.name for p in out.iterdir()} == {
        "config.json",
        "model.safetensors",
        "metrics.json",
        "README.md",
        "checkpoints",
    }
    assert (out / "model.safetensors").read_bytes() == (trained / "model.safetensors").read_bytes()
    card = ModelCard.load(out / "README.md")
    metrics = json.loads((out / "metrics.json").read_text())
    (result,) = card.data.eval_results
    assert result.metric_type == "accuracy" and result.dataset_type == "cifar10"
    assert result.metric_value == pytest.approx(metrics["test_top1"], abs=1e-4)
    assert card.data.license == "mit"
    assert metrics["command"] in card.text and metrics["data_source"] in card.text
    assert str(trained.parent) not in card.text and str(REPO) not in card.text
    for name in CLASSES:
        assert f"| {name} | {100 * metrics['test_per_class'][name]:.1f}% |" in card.text


def test_the_checkpoint_manifest_round_trips_through_a_dry_run(
    trained: Path, tmp_path: Path
) -> None:
    from interpret.influence.checkpoints import history_for, read_history

    out = tmp_path / "staged"
    run_main("push_to_hub.py", trained, "--repo-id", "someone/net", "--dry-run", out)
    source = read_history(trained / "checkpoints")
    staged = history_for(load_model(out, device="cpu"), out)  # and they fit the staged weights
    assert staged.manifest == source.manifest
    assert [(c.path.name, c.epoch, c.learning_rate, c.sha256) for c in staged.checkpoints] == [
        (c.path.name, c.epoch, c.learning_rate, c.sha256) for c in source.checkpoints
    ]
    assert staged.final_weights_digest == source.final_weights_digest
    assert {p.name for p in (out / "checkpoints").iterdir()} == {
        "manifest.json",
        "epoch-08.safetensors",
        "epoch-12.safetensors",
    }
    card = (out / "README.md").read_text()
    assert "## Training checkpoints" in card and "TracIn" in card
    assert source.final_weights_digest in card
    for checkpoint, entry in zip(source.checkpoints, source.manifest["checkpoints"], strict=True):
        assert f"| `checkpoints/{checkpoint.path.name}` | {checkpoint.epoch} |" in card
        assert f"| {checkpoint.learning_rate:.4g} | {entry['learning_rate_at_save']:.3g} |" in card


def test_push_refuses_checkpoints_of_other_weights_or_damaged(
    trained: Path, tmp_path: Path
) -> None:
    """Published, they would give influence that is wrong for the weights beside them."""
    push = load_script("push_to_hub.py")
    folder = tmp_path / "other"
    shutil.copytree(trained, folder)
    manifest_path = folder / "checkpoints" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps(manifest | {"final_weights_digest": "0" * 64}))
    with pytest.raises(SystemExit, match="these checkpoints belong to other weights"):
        push.stage(folder, tmp_path / "staged", "someone/net")
    manifest_path.write_text(json.dumps(manifest))
    (folder / "checkpoints" / "epoch-08.safetensors").write_bytes(b"not the checkpoint")
    with pytest.raises(SystemExit, match="sha256 mismatch"):
        push.stage(folder, tmp_path / "staged", "someone/net")
    assert not (tmp_path / "staged").exists()


def test_push_refuses_metrics_that_name_a_directory_of_the_training_machine(
    trained: Path, tmp_path: Path
) -> None:
    """metrics.json written before paths were reduced to names would publish them in the card."""
    push = load_script("push_to_hub.py")
    for field, value in [
        ("command", "python scripts/train.py --data-dir ../shared/cifar10 --out weights"),
        ("command", "python /home/me/interpret/scripts/train.py --out=/srv/weights"),
        ("data_source", "ImageFolder /work/shared/cifar10"),
        ("data_source", "torchvision CIFAR10 (root ~/.cache/interpret/cifar10)"),
    ]:
        folder = tmp_path / f"{field}-{len(value)}"
        shutil.copytree(trained, folder)
        metrics = json.loads((folder / "metrics.json").read_text()) | {field: value}
        (folder / "metrics.json").write_text(json.dumps(metrics))
        with pytest.raises(SystemExit, match=f"{field} names a directory of the training machine"):
            push.stage(folder, tmp_path / "staged", "someone/net")
        assert not (tmp_path / "staged").exists()


def test_shipped_metrics_publish_no_local_path(tmp_path: Path) -> None:
    """The shipped weights' card, as push_to_hub.py would publish it, with every figure kept."""
    push = load_script("push_to_hub.py")
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    assert metrics["test_top1"] == 0.7445 and metrics["test_images"] == 10_000
    assert push.local_paths(metrics["command"]) == push.local_paths(metrics["data_source"]) == []
    assert "ImageFolder of JPEGs, 10,000 images" in metrics["data_source"]
    card = push.stage(SHIPPED, tmp_path / "card", "someone/net") / "README.md"
    text = card.read_text()
    assert metrics["command"] in text and "../" not in text and str(REPO.parent) not in text


def test_train_records_its_command_with_paths_reduced_to_names(tmp_path: Path) -> None:
    train = load_script("train.py")
    argv = [
        "--data-dir",
        str(tmp_path / "private" / "cifar10"),
        f"--out={tmp_path / 'runs' / 'w1'}",
        "--epochs",
        "3",
    ]
    line = train.command_line(train.parse_args(argv), argv)
    assert line == "python scripts/train.py --data-dir cifar10 --out=w1 --epochs 3"
    argv = ["--download-root", "../shared/torchvision", "--out", "weights"]
    line = train.command_line(train.parse_args(argv), argv)
    assert line == "python scripts/train.py --download-root torchvision --out weights"


def test_convert_tutorial_checkpoint_writes_the_same_tensors_its_license_and_no_local_path(
    rolled_reference: Path, cifar: Path, tmp_path: Path
) -> None:
    """scripts/convert_tutorial_checkpoint.py on a Captum-style .pt: the safetensors hold the
    very tensors, the license travels with them, the accuracy is evaluate.py's, and
    metrics.json (shipped to a Space) names its inputs by name, never by directory."""
    out = tmp_path / "converted"
    run_main(
        "convert_tutorial_checkpoint.py",
        "--checkpoint", rolled_reference, "--out", out, "--data-dir", cifar,
    )  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [
        "LICENSE", "config.json", "metrics.json", "model.safetensors",
    ]  # fmt: skip
    original = torch.load(rolled_reference, map_location="cpu", weights_only=True)
    converted = load_model(out, device="cpu").state_dict()
    assert converted.keys() == original.keys()
    assert all(torch.equal(converted[name], original[name]) for name in original)
    assert "BSD 3-Clause License" in (out / "LICENSE").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    _, printed = run_main("evaluate.py", "--data-dir", cifar, "--weights", out, "--json")
    evaluated = json.loads(printed)["results"][0]
    assert metrics["test_top1"] == evaluated["top1"]
    assert metrics["command"] == (
        "python scripts/convert_tutorial_checkpoint.py --checkpoint rolled.pt "
        f"--out converted --data-dir {cifar.name}"
    )
    assert metrics["measured_by"] == (
        f"python scripts/evaluate.py --data-dir {cifar.name} --weights converted"
    )
    assert str(tmp_path) not in json.dumps(metrics)


def test_shipped_tutorial_metrics_publish_no_local_path() -> None:
    push = load_script("push_to_hub.py")
    metrics = json.loads((SHIPPED / "tutorial" / "metrics.json").read_text())
    assert metrics["test_top1"] == 0.5842 and metrics["test_images"] == 10_000
    for field in ("command", "measured_by", "data_source"):
        assert push.local_paths(metrics[field]) == [], field
        assert "../" not in metrics[field], field


def test_balanced_indices_interleave_classes() -> None:
    labels = [0] * 5 + [1] * 5 + [2] * 2
    assert data.balanced_indices(labels, 6) == [0, 5, 10, 1, 6, 11]
    assert data.balanced_indices(labels, None) == list(range(12))
    assert data.balanced_indices(labels, 100) == list(range(12))


def test_imagefolder_with_wrong_classes_is_refused(tmp_path: Path) -> None:
    for split in ("train", "test"):
        for name in ("cats", "dogs"):
            (tmp_path / split / name).mkdir(parents=True)
    with pytest.raises(ValueError, match="expected"):
        data.cifar10_dataset(tmp_path, train=True)


def test_half_imagefolder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match="only one of"):
        data.cifar10_dataset(tmp_path, train=False)


def test_augment_is_a_padded_crop_or_its_mirror() -> None:
    train = load_script("train.py")
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    out = train.augment(images, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for original, crop in zip(padded, out):
        candidates = [original[:, y : y + 32, x : x + 32] for y in range(9) for x in range(9)]
        assert any(torch.equal(c, crop) or torch.equal(c.flip(2), crop) for c in candidates)


def test_torchvision_arrays_become_nchw_uint8() -> None:
    """The download path cannot run offline; check its array conversion on a stand-in."""
    fake = object.__new__(data.datasets.CIFAR10)
    fake.data = torch.randint(0, 256, (6, 32, 32, 3), dtype=torch.uint8).numpy()
    fake.targets = [3, 1, 4, 1, 5, 9]
    images, labels = data.load_uint8(fake, indices=[5, 0])
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.equal(images[0], torch.from_numpy(fake.data[5]).permute(2, 0, 1))
    assert labels.tolist() == [9, 3]


def test_push_uses_the_hub_api_as_documented(
    trained: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """No network: a stand-in HfApi binds each call to the real method's signature."""
    import inspect

    from huggingface_hub import CommitInfo, HfApi

    push = load_script("push_to_hub.py")
    calls: dict[str, inspect.BoundArguments] = {}

    class FakeApi:
        def create_repo(self, *args, **kwargs):
            calls["create_repo"] = inspect.signature(HfApi.create_repo).bind(self, *args, **kwargs)

        def upload_folder(self, *args, **kwargs):
            bound = inspect.signature(HfApi.upload_folder).bind(self, *args, **kwargs)
            calls["upload_folder"] = bound
            folder = Path(bound.arguments["folder_path"])
            calls["files"] = sorted(
                p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
            )
            url = "https://huggingface.co/someone/net/commit/" + "a" * 40
            return CommitInfo(url, "msg", "", "a" * 40)

    monkeypatch.setattr(push, "HfApi", FakeApi)
    push.main([str(trained), "--repo-id", "someone/net"])
    assert calls["create_repo"].arguments["exist_ok"] is True
    assert calls["upload_folder"].arguments["repo_id"] == "someone/net"
    assert calls["files"] == [
        "README.md",
        "checkpoints/epoch-08.safetensors",
        "checkpoints/epoch-12.safetensors",
        "checkpoints/manifest.json",
        "config.json",
        "metrics.json",
        "model.safetensors",
    ]
    assert calls["upload_folder"].arguments["delete_patterns"] == ["*"]  # stale files go
    assert f"INTERPRET_MODEL_REVISION={'a' * 40}" in capsys.readouterr().out


def test_batch_normalization_matches_the_tutorial_transform() -> None:
    from PIL import Image

    pixels = torch.randint(0, 256, (32, 32, 3), dtype=torch.uint8)
    image = Image.fromarray(pixels.numpy())
    expected = data.model_transform()(image)
    got = data.normalize_uint8(pixels.permute(2, 0, 1).unsqueeze(0))[0]
    assert torch.allclose(got, expected, atol=1e-6)


def test_imagefolder_source_is_recognized(cifar: Path) -> None:
    test_split = data.cifar10_dataset(cifar, train=False)
    assert len(test_split) == TEST_IMAGES and tuple(test_split.classes) == CLASSES
    assert data.dataset_labels(test_split) == [k for k in range(10) for _ in range(TEST_PER_CLASS)]
    assert data.describe_dataset(test_split, "test") == (
        f"CIFAR-10 test set, ImageFolder of JPEGs, {TEST_IMAGES} images"
    )


@needs_cifar
def test_shared_imagefolder_is_the_full_test_set() -> None:
    test_split = data.cifar10_dataset(CIFAR, train=False)
    assert len(test_split) == 10_000 and tuple(test_split.classes) == CLASSES
    assert data.describe_dataset(test_split, "test") == (
        "CIFAR-10 test set, ImageFolder of JPEGs, 10,000 images"
    )
