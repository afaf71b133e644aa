"""End-to-end checks of scripts/{train,evaluate,push_to_hub}.py and interpret.data.

The scripts run as subprocesses (as a user would run them) with the Hub forced offline, so
nothing here needs the network. Tests that need the CIFAR-10 copy in ../shared skip cleanly
where it is absent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CIFAR = SHARED / "cifar10"
REFERENCE = SHARED / "reference" / "cifar_torchvision.pt"
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

needs_cifar = pytest.mark.skipif(not CIFAR.is_dir(), reason=f"{CIFAR} not present")

sys.path.insert(0, str(REPO))
from interpret import data  # noqa: E402
from interpret.model import CLASSES  # noqa: E402


def run_script(name: str, *args: str | Path) -> subprocess.CompletedProcess:
    """Run scripts/<name> from the repo root, offline, failing the test on a non-zero exit."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "INTERPRET_MODEL_REPO": ""}
    command = [sys.executable, str(REPO / "scripts" / name), *map(str, args)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done


def load_script(name: str):
    """Import scripts/<name> as a module, for the few checks that need its functions."""
    path = REPO / "scripts" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder from a tiny training run, shared by the tests that need one."""
    if not CIFAR.is_dir():
        pytest.skip(f"{CIFAR} not present")
    out = tmp_path_factory.mktemp("weights")
    run_script(
        "train.py",
        "--data-dir",
        CIFAR,
        "--out",
        out,
        "--limit",
        "512",
        "--epochs",
        "1",
        "--threads",
        "1",
    )
    return out


def test_train_writes_loadable_folder(trained: Path) -> None:
    assert {"config.json", "model.safetensors", "metrics.json"} <= {
        p.name for p in trained.iterdir()
    }
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics.keys() >= METRICS_KEYS
    assert metrics["train_images"] == 512 and metrics["epochs"] == 1
    assert set(metrics["test_per_class"]) == set(CLASSES)
    assert "--limit 512" in metrics["command"]
    from interpret.weights import load_model

    model = load_model(trained, device="cpu")
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


@needs_cifar
def test_evaluate_prints_accuracies() -> None:
    weights = REFERENCE if REFERENCE.is_file() else SHIPPED
    text = run_script(
        "evaluate.py",
        "--data-dir",
        CIFAR,
        "--weights",
        weights,
        "--reference",
        weights,
        "--limit",
        "50",
    ).stdout
    assert "50 images" in text and "[1] " in text and "confusion [1]" in text
    (top1_row,) = [line for line in text.splitlines() if line.startswith("top-1")]
    first, second = top1_row.split()[1:]
    assert first == second and 0.0 <= float(first.rstrip("%")) <= 100.0
    assert all(any(line.startswith(name) for line in text.splitlines()) for name in CLASSES)


@needs_cifar
def test_shipped_weights_accuracy() -> None:
    """Balanced 2000-image subset (200 per class) as a quick proxy for the >= 74% full score."""
    summary = json.loads(
        run_script(
            "evaluate.py", "--data-dir", CIFAR, "--weights", SHIPPED, "--limit", "2000", "--json"
        ).stdout
    )
    (result,) = summary["results"]
    assert summary["num_images"] == 2000 and sum(map(sum, result["confusion"])) == 2000
    assert set(result["per_class"]) == set(CLASSES)
    assert result["top1"] >= 0.72, result


def test_push_dry_run_writes_model_card(trained: Path, tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    out = tmp_path / "staged"
    run_script("push_to_hub.py", trained, "--repo-id", "someone/net", "--dry-run", out)
    assert {p.name for p in out.iterdir()} == {
        "config.json",
        "model.safetensors",
        "metrics.json",
        "README.md",
    }
    card = ModelCard.load(out / "README.md")
    metrics = json.loads((out / "metrics.json").read_text())
    (result,) = card.data.eval_results
    assert result.metric_type == "accuracy" and result.dataset_type == "cifar10"
    assert result.metric_value == pytest.approx(metrics["test_top1"], abs=1e-4)
    assert card.data.license == "mit"
    assert metrics["command"] in card.text


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
            calls["files"] = sorted(p.name for p in Path(bound.arguments["folder_path"]).iterdir())
            url = "https://huggingface.co/someone/net/commit/" + "a" * 40
            return CommitInfo(url, "msg", "", "a" * 40)

    monkeypatch.setattr(push, "HfApi", FakeApi)
    push.main([str(trained), "--repo-id", "someone/net"])
    assert calls["create_repo"].arguments["exist_ok"] is True
    assert calls["upload_folder"].arguments["repo_id"] == "someone/net"
    assert calls["files"] == ["README.md", "config.json", "metrics.json", "model.safetensors"]
    assert f"INTERPRET_MODEL_REVISION={'a' * 40}" in capsys.readouterr().out


def test_batch_normalization_matches_the_tutorial_transform() -> None:
    from PIL import Image

    pixels = torch.randint(0, 256, (32, 32, 3), dtype=torch.uint8)
    image = Image.fromarray(pixels.numpy())
    expected = data.model_transform()(image)
    got = data.normalize_uint8(pixels.permute(2, 0, 1).unsqueeze(0))[0]
    assert torch.allclose(got, expected, atol=1e-6)


@needs_cifar
def test_imagefolder_source_is_recognized() -> None:
    test_split = data.cifar10_dataset(CIFAR, train=False)
    assert len(test_split) == 10_000 and tuple(test_split.classes) == CLASSES
    assert data.describe_source(CIFAR, train=False).startswith("ImageFolder ")
