"""Every weights source, the Hub's fallback and its time bound, and clear failures.

Each test that involves the Hub sets the state it needs (conftest's session default is offline,
with an endpoint where nothing listens): offline, unreachable (`CLOSED_HUB`), or answering
(`hub_stand_in`, a loopback stand-in that answers as huggingface.co does).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import time
from pathlib import Path

import pytest
import torch
from conftest import CLOSED_HUB, HubStandIn, use_hub
from safetensors.torch import save_file

from interpret.core import weights
from interpret.core.model import Net
from interpret.core.weights import WeightsError, load_model

COMMIT = "0123456789abcdef0123456789abcdef01234567"
# A fallback takes ~0.1 s here (a refused connect or one 404, then the shipped weights). The
# bound separates that from what it replaces, huggingface_hub's ~23 s of retries or our 10 s
# download deadline, with room for a busy 2-core machine; each test prints its figure.
FAST_FALLBACK_S = 5.0


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
    use_hub(monkeypatch, CLOSED_HUB, tmp_path, offline=True)
    _fake_hub_cache(tmp_path, "someone/cifar-net", pretrained_dir)
    net = load_model("someone/cifar-net")
    assert _same(net, seeded_net)
    digest = _sha(pretrained_dir / "model.safetensors")
    assert net.weights_source == f"hub:someone/cifar-net@{COMMIT} (sha256 {digest})"
    pinned = load_model(f"someone/cifar-net@{COMMIT}")
    assert pinned.weights_source == f"hub:someone/cifar-net@{COMMIT} (sha256 {digest})"
    assert str(tmp_path) not in net.weights_source  # the Hub cache is a server directory too


@pytest.mark.parametrize("state", ["not found", "unreachable", "offline", "too slow"])
def test_explicit_hub_source_that_cannot_be_had_says_what_happened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_stand_in: HubStandIn, state: str
) -> None:
    """An explicit repo id is an error, never a fallback; the message says which of these it
    was, in words (not huggingface_hub's class names and multi-line texts)."""
    endpoint = CLOSED_HUB if state == "unreachable" else hub_stand_in.endpoint
    use_hub(monkeypatch, endpoint, tmp_path, offline=state == "offline")
    if state == "too slow":
        monkeypatch.setattr(weights, "HUB_DOWNLOAD_DEADLINE_S", 0.2)
        hub_stand_in.delay_s = 1.0  # then a 404, which nobody waits for
    expected = {
        "not found": f"repository not found on the Hub ({endpoint}; a private one needs HF_TOKEN)",
        "unreachable": f"Hub unreachable ({endpoint}) and no cached copy",
        "offline": "HF_HUB_OFFLINE is set and there is no cached copy",
        "too slow": f"no answer from the Hub ({endpoint}) within 0.2 s",
    }[state]
    with pytest.raises(WeightsError) as raised:
        load_model("nobody/nothing")
    assert str(raised.value) == f"hub:nobody/nothing@main: {expected}"
    asked = [r for r in hub_stand_in.requests if "/api/models/nobody/nothing/" in r]
    assert len(asked) == (1 if state in ("not found", "too slow") else 0), hub_stand_in.requests


def _fall_back(caplog: pytest.LogCaptureFixture) -> tuple[Net, list[str], float]:
    """`load_model()` as the app calls it: the net, the warnings it logged, the seconds."""
    if not (weights.SHIPPED_WEIGHTS / "model.safetensors").is_file():
        pytest.fail("weights/model.safetensors is not shipped")
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="interpret"):
        net = load_model()
    seconds = time.perf_counter() - started
    print(f"fell back in {seconds:.2f} s")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return net, warnings, seconds


def test_unreachable_hub_falls_back_to_shipped_weights_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    use_hub(monkeypatch, CLOSED_HUB, tmp_path)
    assert not weights.hub_reachable()  # nothing listens there
    net, warnings, seconds = _fall_back(caplog)
    assert seconds < FAST_FALLBACK_S
    assert net.weights_source.startswith("shipped:")
    assert warnings == [
        f"Using the shipped weights in {weights.SHIPPED_WEIGHTS}: hub:{weights.DEFAULT_REPO}@main: "
        f"Hub unreachable ({CLOSED_HUB}) and no cached copy"
    ]


def test_a_hub_without_the_default_repo_falls_back_fast_and_says_so(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    hub_stand_in: HubStandIn,
) -> None:
    """Online, where the default repo does not exist (a Space today): one look-up, a 404, and
    the shipped weights, with one line saying why in words."""
    use_hub(monkeypatch, hub_stand_in.endpoint, tmp_path)
    assert weights.hub_reachable()
    net, warnings, seconds = _fall_back(caplog)
    assert seconds < FAST_FALLBACK_S
    assert net.weights_source.startswith("shipped:")
    assert warnings == [
        f"Using the shipped weights in {weights.SHIPPED_WEIGHTS}: hub:{weights.DEFAULT_REPO}@main: "
        f"repository not found on the Hub ({hub_stand_in.endpoint}; a private one needs HF_TOKEN)"
    ]
    looked_up = f"GET /api/models/{weights.DEFAULT_REPO}/revision/main"
    assert [r for r in hub_stand_in.requests if "/api/models/" in r] == [looked_up]


def test_empty_repo_setting_skips_the_hub(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    hub_stand_in: HubStandIn,
) -> None:
    use_hub(monkeypatch, hub_stand_in.endpoint, tmp_path)  # it would answer, if asked
    monkeypatch.setenv("INTERPRET_MODEL_REPO", "")
    with caplog.at_level(logging.WARNING, logger="interpret"):
        net = load_model()
    assert net.weights_source.startswith("shipped:") and not caplog.records
    assert hub_stand_in.requests == []


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
