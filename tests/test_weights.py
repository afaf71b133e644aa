"""Every weights source, the offline fallback and its time bound, and clear failures."""

from __future__ import annotations

import logging
import pickle
import shutil
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from interpret import weights
from interpret.model import Net
from interpret.weights import WeightsError, load_model

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _same(a: Net, b: Net) -> bool:
    return all(torch.equal(a.state_dict()[k].cpu(), b.state_dict()[k]) for k in b.state_dict())


def test_save_pretrained_directory(pretrained_dir: Path, seeded_net: Net) -> None:
    net = load_model(pretrained_dir)
    assert _same(net, seeded_net) and not net.training
    assert net.weights_source.startswith(f"dir:{pretrained_dir}/model.safetensors (sha256 ")


def test_safetensors_file(tmp_path: Path, seeded_net: Net) -> None:
    path = tmp_path / "net.safetensors"
    save_file(seeded_net.state_dict(), str(path))
    net = load_model(path)
    assert _same(net, seeded_net)
    assert net.weights_source.startswith(f"file:{path}")


def test_captum_style_state_dict(tmp_path: Path, seeded_net: Net) -> None:
    path = tmp_path / "cifar_torchvision.pt"
    torch.save(seeded_net.state_dict(), path)
    assert _same(load_model(str(path)), seeded_net)


def test_reference_checkpoint(reference_path: Path) -> None:
    net = load_model(reference_path)
    assert "sha256 228d8332" in net.weights_source


def _fake_hub_cache(cache: Path, repo_id: str, source: Path) -> None:
    """The huggingface_hub cache layout a previous download leaves behind."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(source / name, snapshot / name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)


def test_hub_repo_id_served_from_the_cache_when_offline(
    tmp_path: Path, pretrained_dir: Path, seeded_net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weights.hub_constants, "HF_HUB_CACHE", str(tmp_path))
    _fake_hub_cache(tmp_path, "someone/cifar-net", pretrained_dir)
    net = load_model("someone/cifar-net")
    assert _same(net, seeded_net)
    assert net.weights_source == f"hub:someone/cifar-net@{COMMIT}"
    pinned = load_model(f"someone/cifar-net@{COMMIT}")
    assert pinned.weights_source == f"hub:someone/cifar-net@{COMMIT}"


def test_explicit_hub_source_that_cannot_be_had_is_an_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(weights.hub_constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(WeightsError, match="hub:nobody/nothing@main: Hub unreachable"):
        load_model("nobody/nothing")


def test_unreachable_hub_falls_back_to_shipped_weights_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if not (weights.SHIPPED_WEIGHTS / "model.safetensors").is_file():
        pytest.fail("weights/model.safetensors is not shipped")
    monkeypatch.setattr(weights.hub_constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.delenv("INTERPRET_MODEL_REPO", raising=False)
    assert not weights.hub_reachable()  # this machine has no route to the Hub
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="interpret"):
        net = load_model()
    assert time.perf_counter() - started < 2.0
    assert net.weights_source.startswith("shipped:")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Using the shipped weights" in warnings[0]
    assert f"hub:{weights.DEFAULT_REPO}@main: Hub unreachable" in warnings[0]


def test_empty_repo_setting_skips_the_hub(monkeypatch, caplog) -> None:
    monkeypatch.setenv("INTERPRET_MODEL_REPO", "")
    with caplog.at_level(logging.WARNING, logger="interpret"):
        net = load_model()
    assert net.weights_source.startswith("shipped:") and not caplog.records


def test_corrupt_safetensors_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all")
    with pytest.raises(WeightsError, match=r"broken\.safetensors"):
        load_model(path)


def test_wrong_shapes_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "five_classes.safetensors"
    save_file(Net(num_classes=5).state_dict(), str(path))
    with pytest.raises(WeightsError, match=r"five_classes.safetensors: weights do not fit Net"):
        load_model(path)


def test_directory_without_weights_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"model.safetensors: missing"):
        load_model(tmp_path)


class _Payload:
    """Unpickling this would run code; weights_only must refuse it."""

    def __reduce__(self):
        return (Path("/tmp/interpret-pwned").touch, ())


def test_a_malicious_pickle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"conv1.weight": _Payload()}))
    with pytest.raises(WeightsError, match=r"evil\.pt: not a loadable state dict"):
        load_model(path)
    assert not Path("/tmp/interpret-pwned").exists()


def test_unknown_source_is_an_error() -> None:
    with pytest.raises(WeightsError, match="no such file"):
        load_model("does/not/exist.safetensors")


def test_device_is_honoured(pretrained_dir: Path) -> None:
    assert next(load_model(pretrained_dir, device="cpu").parameters()).device.type == "cpu"
