"""The Hub as a weights source: an explicit repo id (from the cache, or a clear error), and the
default resolution's fallback to the shipped weights, fast and with exactly one warning line.

Each test sets the Hub state it needs (conftest's session default is offline, with an endpoint
where nothing listens): offline, unreachable (`CLOSED_HUB`: refused at once), or answering
(`hub_stand_in`, a loopback stand-in that answers as huggingface.co does). Caches are made
here: empty, holding a copy a previous download left, or impossible to write (a file where a
folder should be: this stops root too). Nothing here can reach beyond 127.0.0.1: name lookups
of any other host fail, and fail the test.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from conftest import CLOSED_HUB, HUB_COMMIT, HubStandIn, use_hub
from safetensors.torch import save_file

from interpret.core import weights
from interpret.core.model import Net, hub_config
from interpret.core.weights import WeightsError, load_model

COMMIT = HUB_COMMIT
REPO = "owner/cifar-net"
# A fallback takes ~0.1 s here (a refused connect or one 404, then the shipped weights). The
# bound separates it from what it replaces, huggingface_hub's ~23 s of retries or our 10 s
# download deadline, with room for a busy 2-core machine; each test prints its figure.
FALLBACK_LIMIT_S = 5.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
UNREACHABLE = f"Hub unreachable ({CLOSED_HUB}) and no cached copy"


def same_weights(a: Net, b: Net) -> bool:
    return all(torch.equal(a.state_dict()[k].cpu(), b.state_dict()[k]) for k in b.state_dict())


def snapshot_files(source: Path) -> dict[str, bytes]:
    """A save_pretrained folder's files, as a Hub repo holds them."""
    return {name: (source / name).read_bytes() for name in ("config.json", "model.safetensors")}


def fake_cache(cache: Path, repo_id: str, files: dict[str, bytes]) -> None:
    """The huggingface_hub cache layout a previous download of `repo_id` at COMMIT leaves."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)


def five_class_weights(path: Path) -> bytes:
    save_file(Net(num_classes=5).state_dict(), str(path))
    return path.read_bytes()


def damaged(source: Path, damage: str, scratch: Path) -> dict[str, bytes]:
    """`source`'s files with its model.safetensors cut short ("corrupt") or of another shape."""
    files = snapshot_files(source)
    if damage == "corrupt":
        files["model.safetensors"] = files["model.safetensors"][:100]
    elif damage == "wrong shape":
        files["model.safetensors"] = five_class_weights(scratch / "five.safetensors")
    return files


def unwritable(tmp_path: Path) -> Path:
    """A cache path that cannot be made, whoever runs the test: its parent is a regular file."""
    (tmp_path / "not-a-folder").write_text("")
    return tmp_path / "not-a-folder" / "hub-cache"


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Name lookups of anything but loopback fail here, and are listed for the test to see."""
    attempts: list[str] = []
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK:
            attempts.append(name)
            raise OSError(f"test guard: no traffic beyond loopback ({name})")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield attempts
    assert attempts == [], f"tried to reach {attempts}"


@pytest.fixture
def shipped(tmp_path: Path, pretrained_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Shipped weights of the test session's own (the real ones may be in training)."""
    directory = tmp_path / "shipped"
    shutil.copytree(pretrained_dir, directory)
    monkeypatch.setattr(weights, "SHIPPED_WEIGHTS", directory)
    return directory


@pytest.fixture
def hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_only: list[str], shipped: Path
) -> Path:
    """The default resolution with REPO configured, the Hub unreachable and an empty cache in
    tmp; tests that want an answering Hub use `answering_hub`. Returns the cache."""
    cache = tmp_path / "hub-cache"
    cache.mkdir()
    use_hub(monkeypatch, CLOSED_HUB, cache)
    monkeypatch.setenv("INTERPRET_MODEL_REPO", REPO)
    monkeypatch.delenv("INTERPRET_MODEL_REVISION", raising=False)
    return cache


@pytest.fixture
def answering_hub(
    hub: Path, monkeypatch: pytest.MonkeyPatch, hub_stand_in: HubStandIn
) -> Iterator[HubStandIn]:
    """conftest's stand-in for the Hub, answering on loopback; its `repos` say what it holds."""
    use_hub(monkeypatch, hub_stand_in.endpoint, hub)
    yield hub_stand_in


def load_with_fallback(caplog: pytest.LogCaptureFixture) -> tuple[Net, list[str], float]:
    """`load_model()` as the app calls it: the net, every warning logged, and the seconds."""
    started = time.perf_counter()
    with caplog.at_level(logging.INFO):
        net = load_model()
    seconds = time.perf_counter() - started
    print(f"resolved in {seconds:.2f} s")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return net, warnings, seconds


def assert_one_clear_fallback(
    net: Net, warnings: list[str], seconds: float, shipped: Path, *reasons: str
) -> None:
    assert net.weights_source.startswith("shipped:model.safetensors (sha256 ")
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"Using the shipped weights in {shipped}: "), warnings[0]
    for reason in reasons:
        assert reason in warnings[0], warnings[0]
    assert "\n" not in warnings[0]
    assert seconds < FALLBACK_LIMIT_S, f"fallback took {seconds:.2f} s"


# ------------------------------------------------------------------ an explicit repo id


def test_a_repo_id_is_served_from_the_cache_when_offline(
    tmp_path: Path, pretrained_dir: Path, seeded_net: Net, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_hub(monkeypatch, CLOSED_HUB, tmp_path, offline=True)
    fake_cache(tmp_path, "someone/cifar-net", snapshot_files(pretrained_dir))
    net = load_model("someone/cifar-net")
    assert same_weights(net, seeded_net)
    digest = hashlib.sha256((pretrained_dir / "model.safetensors").read_bytes()).hexdigest()[:16]
    assert net.weights_source == f"hub:someone/cifar-net@{COMMIT} (sha256 {digest})"
    pinned = load_model(f"someone/cifar-net@{COMMIT}")
    assert pinned.weights_source == f"hub:someone/cifar-net@{COMMIT} (sha256 {digest})"
    assert str(tmp_path) not in net.weights_source  # the Hub cache is a server directory too


@pytest.mark.parametrize("state", ["not found", "unreachable", "offline", "too slow"])
def test_an_explicit_repo_that_cannot_be_had_says_what_happened(
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


# ------------------------------------------------------------------ the default resolution


@pytest.mark.parametrize(
    ("case", "reasons"),
    [
        ("nothing configured", [f"hub:{weights.DEFAULT_REPO}@main: {UNREACHABLE}"]),
        ("missing revision", [f"hub:{REPO}@nonexistent: {UNREACHABLE}"]),
        ("corrupt", [f"snapshots/{COMMIT}/model.safetensors: not a readable safetensors"]),
        ("wrong shape", [f"snapshots/{COMMIT}/model.safetensors: weights do not fit Net"]),
        ("unwritable, empty", [f"hub:{REPO}@main: cache ", "not writable (Not a direc"]),
    ],
)
def test_an_unreachable_hub_and_a_bad_cache_fall_back_once_and_fast(
    hub: Path,
    shipped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    case: str,
    reasons: list[str],
) -> None:
    if case == "nothing configured":  # the default repo, looked for where nothing listens
        monkeypatch.delenv("INTERPRET_MODEL_REPO")
        assert not weights.hub_reachable()
    elif case == "missing revision":
        fake_cache(hub, REPO, snapshot_files(shipped))
        monkeypatch.setenv("INTERPRET_MODEL_REVISION", "nonexistent")
    elif case in ("corrupt", "wrong shape"):
        fake_cache(hub, REPO, damaged(shipped, case, tmp_path))
    elif case == "unwritable, empty":
        cache = unwritable(tmp_path)
        monkeypatch.setattr(weights.hub_constants, "HF_HUB_CACHE", str(cache))
        reasons = [*reasons, f"cache {cache} not writable", "and it holds no copy"]
    net, warnings, seconds = load_with_fallback(caplog)
    assert_one_clear_fallback(net, warnings, seconds, shipped, *reasons)


@pytest.mark.parametrize("hub_state", ["unreachable", "offering a newer commit"])
def test_an_unwritable_cache_with_a_copy_serves_it_without_a_warning(
    answering_hub: HubStandIn,
    hub: Path,
    pretrained_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    hub_state: str,
) -> None:
    """A cache that holds a copy but takes no download (huggingface_hub's lock folder is a
    regular file: no lock can be made, whoever runs this): the copy is used, no warning. With a
    newer commit on the Hub, trying to download it would fail and fall back to the shipped
    weights; the cache's copy is what this deployment provided."""
    fake_cache(hub, REPO, snapshot_files(pretrained_dir))
    (hub / ".locks").write_text("")
    if hub_state == "unreachable":
        use_hub(monkeypatch, CLOSED_HUB, hub)
    else:
        answering_hub.repos[REPO] = snapshot_files(pretrained_dir)
        answering_hub.commit = "f" * 40
    net, warnings, seconds = load_with_fallback(caplog)
    assert net.weights_source.startswith(f"hub:{REPO}@{COMMIT} (sha256 ")
    assert warnings == [] and seconds < FALLBACK_LIMIT_S
    assert answering_hub.requests == []


def test_an_answering_hub_serves_a_good_repo(
    answering_hub: HubStandIn, shipped: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The stand-in answers as the Hub does: a good repo is downloaded and used, no warning."""
    answering_hub.repos[REPO] = snapshot_files(shipped)
    net, warnings, _ = load_with_fallback(caplog)
    assert net.weights_source.startswith(f"hub:{REPO}@{COMMIT} (sha256 ")
    assert warnings == []
    assert any("/resolve/" in request for request in answering_hub.requests)


@pytest.mark.parametrize(
    ("case", "reasons"),
    [
        (
            "nothing configured",
            [
                f"hub:{weights.DEFAULT_REPO}@main: repository not found on the Hub "
                "({endpoint}; a private one needs HF_TOKEN)"
            ],
        ),
        ("missing revision", [f"hub:{REPO}@nonexistent: revision not found on the Hub"]),
        ("corrupt", [f"snapshots/{COMMIT}/model.safetensors: not a readable safetensors"]),
        ("wrong shape", [f"snapshots/{COMMIT}/model.safetensors: weights do not fit Net"]),
    ],
)
def test_an_answering_hub_without_usable_weights_falls_back_once_and_fast(
    answering_hub: HubStandIn,
    shipped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    case: str,
    reasons: list[str],
) -> None:
    """ "nothing configured" is a Space today: the default repo does not exist there. One
    look-up, a 404, and the shipped weights, with one line saying why in words."""
    if case == "nothing configured":
        monkeypatch.delenv("INTERPRET_MODEL_REPO")
        assert weights.hub_reachable()
        reasons = [reason.format(endpoint=answering_hub.endpoint) for reason in reasons]
    else:
        answering_hub.repos[REPO] = damaged(shipped, case, tmp_path)
    if case == "missing revision":
        monkeypatch.setenv("INTERPRET_MODEL_REVISION", "nonexistent")
    net, warnings, seconds = load_with_fallback(caplog)
    assert_one_clear_fallback(net, warnings, seconds, shipped, *reasons)
    if case == "nothing configured":  # one look-up, no retries: a 404 is an answer
        looked_up = [r for r in answering_hub.requests if "/api/models/" in r]
        assert looked_up == [f"GET /api/models/{weights.DEFAULT_REPO}/revision/main"]


def test_an_unwritable_cache_with_an_answering_hub_falls_back_with_one_line(
    answering_hub: HubStandIn,
    shipped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cache that cannot be made while the Hub offers a good download: nothing is asked of
    the Hub, the line names the cache."""
    answering_hub.repos[REPO] = snapshot_files(shipped)
    cache = unwritable(tmp_path)
    monkeypatch.setattr(weights.hub_constants, "HF_HUB_CACHE", str(cache))
    net, warnings, seconds = load_with_fallback(caplog)
    reasons = [f"cache {cache} not writable (Not a directory", "and it holds no copy"]
    assert_one_clear_fallback(net, warnings, seconds, shipped, *reasons)
    assert answering_hub.requests == []


def test_a_consistent_snapshot_of_another_shape_falls_back(
    hub: Path, shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = tmp_path / "five"
    Net(num_classes=5).save_pretrained(other, config=hub_config() | {"num_classes": 5})
    fake_cache(hub, REPO, snapshot_files(other))
    net, warnings, seconds = load_with_fallback(caplog)
    assert_one_clear_fallback(net, warnings, seconds, shipped, "do not fit Net")


def test_an_empty_repo_setting_skips_the_hub(
    answering_hub: HubStandIn, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    answering_hub.repos[REPO] = {}  # it would answer, if asked
    monkeypatch.setenv("INTERPRET_MODEL_REPO", "")
    with caplog.at_level(logging.WARNING, logger="interpret"):
        net = load_model()
    assert net.weights_source.startswith("shipped:") and not caplog.records
    assert answering_hub.requests == []
