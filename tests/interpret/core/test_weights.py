"""Local weights sources (a save_pretrained folder, a .safetensors file, a Captum-style .pt
state dict, the shipped weights), how each is described without a server directory, and clear
failures. The Hub as a source and the fallback from it: test_weights_hub.py."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from interpret.core import weights
from interpret.core.model import Net
from interpret.core.weights import WeightsError, load_model


def _same(a: Net, b: Net) -> bool:
    return all(torch.equal(a.state_dict()[k].cpu(), b.state_dict()[k]) for k in b.state_dict())


def _sha(path: Path) -> str:
    """The digest prefix a weights description carries, computed here independently."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_save_pretrained_directory(pretrained_dir: Path, seeded_net: Net) -> None:
    """Outside the project, a description names the file only: it reaches clients, and the
    server's directories must not (the full path is logged instead)."""
    net = load_model(pretrained_dir)
    assert _same(net, seeded_net) and not net.training
    file = pretrained_dir / "model.safetensors"
    assert net.weights_source == f"dir:model.safetensors (sha256 {_sha(file)})"


def test_safetensors_file(tmp_path: Path, seeded_net: Net, caplog) -> None:
    path = tmp_path / "net.safetensors"
    save_file(seeded_net.state_dict(), str(path))
    with caplog.at_level(logging.INFO, logger="interpret"):
        net = load_model(path)
    assert _same(net, seeded_net)
    assert net.weights_source == f"file:net.safetensors (sha256 {_sha(path)})"
    assert str(tmp_path) not in net.weights_source
    assert f"(read from {path.resolve()})" in caplog.text  # the operator still sees where


def test_shipped_weights_are_named_relative_to_the_project(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("INTERPRET_MODEL_REPO", "")
    with caplog.at_level(logging.INFO, logger="interpret"):
        net = load_model()
    assert f"(read from {weights.PROJECT_ROOT / 'weights'})" in caplog.text
    file = weights.PROJECT_ROOT / "weights" / "model.safetensors"
    assert net.weights_source == f"shipped:weights/model.safetensors (sha256 {_sha(file)})"
    assert str(weights.PROJECT_ROOT) not in net.weights_source
    explicit = load_model(file).weights_source
    assert explicit == f"file:weights/model.safetensors (sha256 {_sha(file)})"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("weights/model.safetensors", "weights/model.safetensors"),
        ("weights/../weights/config.json", "weights/config.json"),
        ("weights/../../elsewhere/model.safetensors", "model.safetensors"),  # climbs out: name
        ("/srv/private/models/net.pt", "net.pt"),
        ("~/models/net.pt", "net.pt"),
    ],
)
def test_public_path_never_shows_a_directory_outside_the_project(given: str, shown: str) -> None:
    inside = given if given.startswith(("/", "~")) else str(weights.PROJECT_ROOT / given)
    assert weights.public_path(inside) == shown
    assert weights.public_path(Path(inside)) == shown


def test_public_path_of_a_relative_path_is_taken_from_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(weights.PROJECT_ROOT)
    assert weights.public_path("weights") == "weights"
    monkeypatch.chdir(tmp_path)
    assert weights.public_path("weights") == "weights"  # tmp_path/weights: its name only
    assert weights.public_path(os.curdir) == tmp_path.name


def test_captum_style_state_dict(tmp_path: Path, seeded_net: Net) -> None:
    path = tmp_path / "cifar_torchvision.pt"
    torch.save(seeded_net.state_dict(), path)
    assert _same(load_model(str(path)), seeded_net)


def test_reference_checkpoint(reference_path: Path) -> None:
    net = load_model(reference_path)
    assert "sha256 228d8332" in net.weights_source


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
