"""Shared fixtures: data paths beside the project, a checkpoint the tests write themselves,
the Hub environment every test starts from, and a stand-in for the Hub on loopback."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# ------------------------------------------------------------- the session's Hub environment
# Tests own their environment: whatever HF_* settings the shell has (HF_HUB_OFFLINE, an
# HF_ENDPOINT, a token, a cache holding real downloads), every test and every subprocess it
# starts sees the same state: offline, an endpoint on a loopback port where nothing listens (a
# socket bound but never listening: connections are refused at once, and no other program can
# take the port), and an empty Hub home. huggingface_hub reads these at import into
# huggingface_hub.constants, so this runs before anything imports it. A test that wants the Hub
# online points huggingface_hub.constants at a `HubStandIn` (see `use_hub`).
HUB_SETTINGS = ("HF_", "HUGGINGFACE_", "HUGGING_FACE_", "TRANSFORMERS_OFFLINE")
WEIGHTS_SETTINGS = ("INTERPRET_WEIGHTS", "INTERPRET_MODEL_REPO", "INTERPRET_MODEL_REVISION")
if "huggingface_hub" in sys.modules:  # a plugin got there first: its constants are not ours
    pytest.exit("huggingface_hub was imported before tests/conftest.py set its environment", 3)
_CLOSED_PORT = socket.socket()
_CLOSED_PORT.bind(("127.0.0.1", 0))  # bound for the whole session, never listening
CLOSED_HUB = f"http://127.0.0.1:{_CLOSED_PORT.getsockname()[1]}"
SESSION_HF_HOME = tempfile.mkdtemp(prefix="interpret-tests-hf-home-")
atexit.register(shutil.rmtree, SESSION_HF_HOME, ignore_errors=True)
for _name in [n for n in os.environ if n.startswith(HUB_SETTINGS) or n in WEIGHTS_SETTINGS]:
    del os.environ[_name]
os.environ.update(
    HF_ENDPOINT=CLOSED_HUB,
    HF_HUB_OFFLINE="1",
    HF_HOME=SESSION_HF_HOME,
    HF_HUB_DISABLE_TELEMETRY="1",
    GRADIO_ANALYTICS_ENABLED="False",  # gradio_client phones home unless told not to
)

import torch  # noqa: E402
from huggingface_hub import constants as hub_constants  # noqa: E402

from interpret.core.model import Net, hub_config  # noqa: E402

assert hub_constants.ENDPOINT == CLOSED_HUB and hub_constants.HF_HUB_OFFLINE

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference" / "cifar_torchvision.pt"
EXAMPLES = ROOT / "examples"
APP_START_LIMIT_S = 60  # the app starts in about 10 s; generous for a busy 2-core machine


def example(index: int) -> Path:
    """Bundled CIFAR-10 test image `index` (0-19)."""
    (path,) = EXAMPLES.glob(f"cifar10_{index:02d}_*.png")
    return path


@pytest.fixture(scope="session")
def reference_path() -> Path:
    if not REFERENCE.is_file():
        pytest.skip(f"reference checkpoint not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def seeded_net() -> Net:
    """A randomly initialised Net with a fixed seed: real weights without ../shared."""
    torch.manual_seed(1234)
    return Net().eval()


@pytest.fixture(scope="session")
def shipped_net() -> Net:
    """The shipped weights: trained, real, and in every clone (no ../shared needed)."""
    from interpret import load_model

    return load_model(ROOT / "weights", device="cpu")


@pytest.fixture(scope="session")
def pretrained_dir(tmp_path_factory: pytest.TempPathFactory, seeded_net: Net) -> Path:
    """save_pretrained layout written by the test session itself."""
    directory = tmp_path_factory.mktemp("pretrained")
    seeded_net.save_pretrained(directory, config=hub_config())
    return directory


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_app(env: dict[str, str], cwd: Path, log: Path) -> Iterator[str]:
    """`python app.py` in `cwd` with `env` on a free loopback port; yields its URL once it
    serves, fails the test (with the log) if it exits or is not ready in APP_START_LIMIT_S."""
    port = _free_port()
    env = env | {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    url = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=cwd, env=env, stdout=output, stderr=output
        )
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() - started > APP_START_LIMIT_S:
                pytest.fail(f"app.py not ready in {APP_START_LIMIT_S} s:\n{log.read_text()}")
            try:
                if urllib.request.urlopen(url + "gradio_api/info", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.25)
        print(f"app.py ready in {time.monotonic() - started:.1f} s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def interpret_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's INTERPRET_CACHE_DIR: predictions and strategies computed by one app
    server (or test) are reused by the next, and nothing is read from ~/.cache."""
    return tmp_path_factory.mktemp("interpret-cache")


@pytest.fixture(scope="session")
def full_test_set():
    """The full CIFAR-10 test set from ../shared, decoded once per session (skips without)."""
    from interpret.dataset import sources as testset

    if not (SHARED / "cifar10" / "test").is_dir():
        pytest.skip(f"no CIFAR-10 copy at {SHARED / 'cifar10'}")
    return testset.open_local(SHARED / "cifar10" / "test")


@pytest.fixture(scope="module")
def app_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pretrained_dir: Path,
    interpret_cache_dir: Path,
) -> Iterator[str]:
    """`python app.py` on a free loopback port, offline, with the test weights and examples;
    a test module's APP_ENV dict adds environment variables. Nothing outside the session's
    folders is read for test images (an empty INTERPRET_CIFAR10_ROOT: no downloaded copy)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERPRET_", "GRADIO_"))}
    env.pop("SPACE_ID", None)
    env.update(
        INTERPRET_WEIGHTS=str(pretrained_dir),
        INTERPRET_MODEL_REPO="",
        INTERPRET_CACHE_DIR=str(interpret_cache_dir),
        INTERPRET_CIFAR10_ROOT=str(tmp_path_factory.mktemp("no-cifar10-copy")),
        HF_HUB_OFFLINE="1",
        GRADIO_TEMP_DIR=str(tmp_path_factory.mktemp("gradio")),
    )
    env.update(getattr(request.module, "APP_ENV", {}))
    log = tmp_path_factory.mktemp("app") / "app.log"
    with running_app(env, ROOT, log) as url:
        yield url


# ------------------------------------------------------------- a stand-in for the Hub

HUB_COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubStandIn(ThreadingHTTPServer):
    """Answers, on loopback, the few Hub calls `snapshot_download` makes, as huggingface.co does:
    the repos in `repos` (name -> files) at commit `commit`, and for anything else 404 with
    ``X-Error-Code: RepoNotFound`` (``RevisionNotFound`` for another revision of a repo it
    holds), the headers huggingface_hub turns into its errors. `requests` lists what it got;
    `delay_s` holds each answer back, for a Hub that answers too late."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HubStandInHandler)
        self.repos: dict[str, dict[str, bytes]] = {}
        self.commit = HUB_COMMIT
        self.requests: list[str] = []
        self.delay_s = 0.0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _HubStandInHandler(BaseHTTPRequestHandler):
    server: HubStandIn

    def log_message(self, *args) -> None:
        return None

    def _reply(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value: object) -> None:
        self._reply(200, json.dumps(value).encode(), Content_Type="application/json")

    def _missing(self, code: str) -> None:
        body = json.dumps({"error": f"{code} (stand-in)"}).encode()
        self._reply(404, body, X_Error_Code=code, Content_Type="application/json")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        time.sleep(self.server.delay_s)
        path, commit = self.path.split("?")[0], self.server.commit
        for repo, files in self.server.repos.items():
            if path.startswith(f"/api/models/{repo}/revision/"):
                if path.rsplit("/", 1)[1] not in ("main", commit):
                    return self._missing("RevisionNotFound")
                siblings = [{"rfilename": name} for name in files]
                return self._json({"id": repo, "sha": commit, "siblings": siblings})
            if path.startswith(f"/api/models/{repo}/tree/"):
                return self._json(
                    [
                        {"type": "file", "path": name, "size": len(data), "oid": f"{i:040x}"}
                        for i, (name, data) in enumerate(files.items())
                    ]
                )
            if path.startswith(f"/{repo}/resolve/{commit}/"):
                data = files[path.rsplit("/", 1)[1]]
                etag = f'"{hashlib.sha1(data).hexdigest()}"'
                return self._reply(200, data, X_Repo_Commit=commit, ETag=etag)
        return self._missing("RepoNotFound")


def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """`server` answering from a thread for as long as the caller holds it (a fixture's body)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hub_stand_in() -> Iterator[HubStandIn]:
    """A running `HubStandIn` holding no repo (every repo: not found) until a test adds some."""
    yield from serving(HubStandIn())


def use_hub(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, cache: Path, *, offline: bool = False
) -> None:
    """Point huggingface_hub, in this process, at `endpoint` and `cache` (its constants are
    read at import, so setting the environment now would change nothing)."""
    monkeypatch.setattr(hub_constants, "ENDPOINT", endpoint)
    template = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", offline)
