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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
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
# The session's own weights, cache and app servers' folders: ready before collection, so the
# shared app server can start while the tests are collected (pytest_sessionstart).
SESSION_DIR = Path(tempfile.mkdtemp(prefix="interpret-tests-"))
atexit.register(shutil.rmtree, SESSION_DIR, ignore_errors=True)
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
APP_START_LIMIT_S = 180  # the app starts in about 10 s; a hang guard for a busy machine
BACKGROUND_LIMIT_S = 600  # a bound against a hung background command, not a speed claim


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
def reference_net(reference_path: Path) -> Net:
    """The Captum tutorial's own checkpoint (../shared/reference; skips without it)."""
    from interpret import load_model

    return load_model(reference_path, device="cpu")


def session_weights() -> Path:
    """save_pretrained layout written by the test session itself: `seeded_net`'s weights."""
    directory = SESSION_DIR / "pretrained"
    if not directory.is_dir():
        torch.manual_seed(1234)
        Net().eval().save_pretrained(directory, config=hub_config())
    return directory


@pytest.fixture(scope="session")
def pretrained_dir() -> Path:
    """save_pretrained layout written by the test session itself (`seeded_net`'s weights)."""
    return session_weights()


def free_port() -> int:
    """A loopback port nothing listens on now (bound, then released, by the OS's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_environment(**settings: str) -> dict[str, str]:
    """The environment for a `python app.py` of the tests: this session's Hub settings (see
    above), none of the shell's INTERPRET_* or GRADIO_* settings, no Space; then `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERPRET_", "GRADIO_"))}
    env.pop("SPACE_ID", None)
    return env | settings


class AppProcess:
    """`python app.py` in `cwd` with `env` on a free loopback port, started at once (its log in
    `log`); `ready()` waits for it to serve."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        port = free_port()
        env = env | {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
        self.url, self.log = f"http://127.0.0.1:{port}/", log
        self.started = time.monotonic()
        with open(log, "wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "app.py"], cwd=cwd, env=env, stdout=output, stderr=output
            )
        self._ready = False

    def ready(self) -> str:
        """Its URL once it serves; fails the test (with the log) if it exits, or is not ready
        APP_START_LIMIT_S after it started."""
        while not self._ready:
            try:
                with urllib.request.urlopen(self.url + "gradio_api/info", timeout=2) as answer:
                    self._ready = answer.status == 200
            except OSError:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    pytest.fail(f"app.py exited with {code}:\n{self.log.read_text()}")
                if time.monotonic() - self.started > APP_START_LIMIT_S:
                    limit = APP_START_LIMIT_S
                    pytest.fail(f"app.py not ready in {limit} s:\n{self.log.read_text()}")
                time.sleep(0.25)
        return self.url

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running_app(env: dict[str, str], cwd: Path, log: Path) -> Iterator[str]:
    """`python app.py` in `cwd` with `env` on a free loopback port; yields its URL once it
    serves, fails the test (with the log) if it exits or is not ready in APP_START_LIMIT_S."""
    app = AppProcess(env, cwd, log)
    try:
        url = app.ready()
        print(f"app.py ready in {time.monotonic() - app.started:.1f} s")
        yield url
    finally:
        app.stop()


def call_over_http(url: str, api_name: str, data: list, timeout: float = 60) -> tuple[str, Any]:
    """POST `data` to the app's `api_name` (e.g. "predict") over raw HTTP, as any client could,
    and read its event stream to the end: the first event's kind ("complete", "error") and the
    last data sent, decoded (None when none was)."""
    response = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": data}, timeout=timeout)
    response.raise_for_status()
    event_id = response.json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=timeout).text
    lines = stream.splitlines()
    kind = lines[0].removeprefix("event: ") if lines else ""
    data = [json.loads(line.removeprefix("data:")) for line in lines if line.startswith("data:")]
    return kind, data[-1] if data else None


SESSION_CACHE = SESSION_DIR / "interpret-cache"


@pytest.fixture(scope="session")
def interpret_cache_dir() -> Path:
    """The session's INTERPRET_CACHE_DIR: predictions and strategies computed by one app
    server (or test) are reused by the next, and nothing is read from ~/.cache."""
    SESSION_CACHE.mkdir(exist_ok=True)
    return SESSION_CACHE


@pytest.fixture(scope="session")
def library_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache for the library's predictions that tests compare an app's answers or a
    script's output with: computed once per session, never shared with an app server."""
    return tmp_path_factory.mktemp("library-cache")


@pytest.fixture(scope="session")
def full_test_set():
    """The full CIFAR-10 test set from ../shared, decoded once per session (skips without)."""
    from interpret.dataset import sources as testset

    if not (SHARED / "cifar10" / "test").is_dir():
        pytest.skip(f"no CIFAR-10 copy at {SHARED / 'cifar10'}")
    return testset.open_local(SHARED / "cifar10" / "test")


class AppServers:
    """The session's `python app.py` servers, one per distinct setting: started when a module
    first asks for it (or earlier: `start_background_work`), shared by every module that asks
    for the same, stopped at the session's end. Each is offline, on the session's test weights
    and cache, and reads nothing outside the session's folders for test images (an empty
    INTERPRET_CIFAR10_ROOT: no downloaded copy); a setting adds environment variables to that."""

    def __init__(self, folder: Path, weights: Path, cache: Path) -> None:
        self._folder = folder
        self._base = {
            "INTERPRET_WEIGHTS": str(weights),
            "INTERPRET_MODEL_REPO": "",
            "INTERPRET_CACHE_DIR": str(cache),
            "HF_HUB_OFFLINE": "1",
        }
        self._apps: dict[tuple[tuple[str, str], ...], AppProcess] = {}
        self._lock = threading.Lock()

    def start(self, settings: dict[str, str]) -> AppProcess:
        """The server with `settings`, started now unless it already was."""
        key = tuple(sorted(settings.items()))
        with self._lock:
            if key not in self._apps:
                self._folder.mkdir(parents=True, exist_ok=True)
                home = Path(tempfile.mkdtemp(prefix="app-", dir=self._folder))
                for name in ("no-cifar10-copy", "gradio"):
                    (home / name).mkdir()
                env = app_environment(
                    **{
                        **self._base,
                        "INTERPRET_CIFAR10_ROOT": str(home / "no-cifar10-copy"),
                        "GRADIO_TEMP_DIR": str(home / "gradio"),
                        **settings,  # a setting may replace the base's (a cache of its own)
                    }
                )
                self._apps[key] = AppProcess(env, ROOT, home / "app.log")
            return self._apps[key]

    def gradio_folders(self) -> list[Path]:
        """Each server's GRADIO_TEMP_DIR: where Gradio keeps (and names) the files it serves."""
        return sorted(self._folder.glob("app-*/gradio"))

    def url(self, settings: dict[str, str]) -> str:
        return self.start(settings).ready()

    def close(self) -> None:
        for app in self._apps.values():
            app.stop()
        self._apps.clear()


APP_SERVERS = pytest.StashKey[AppServers]()
# Where the modules that use an app server live: a run that includes any of these starts the
# shared server before collection; one that selects none of their tests stops it after.
SERVED = (ROOT / "tests" / "app", ROOT / "tests" / "browser", ROOT / "tests" / "scripts")


def pytest_sessionstart(session: pytest.Session) -> None:
    """The shared app server starts now, while the tests are collected (about 10 s each), when
    the run includes a folder of SERVED (or one of their files)."""
    paths = [Path(arg.split("::")[0]).resolve() for arg in session.config.args]
    if any(folder == path or path in folder.parents or folder in path.parents
           for path in paths for folder in SERVED):  # fmt: skip
        SESSION_CACHE.mkdir(exist_ok=True)
        servers = AppServers(SESSION_DIR / "apps", session_weights(), SESSION_CACHE)
        servers.start({})
        session.config.stash[APP_SERVERS] = servers


def pytest_sessionfinish(session: pytest.Session) -> None:
    servers = session.config.stash.get(APP_SERVERS, None)
    if servers is not None:
        servers.close()


@pytest.fixture(scope="session")
def app_servers(
    request: pytest.FixtureRequest, pretrained_dir: Path, interpret_cache_dir: Path
) -> AppServers:
    """The session's app servers (stopped when the session ends)."""
    stash = request.config.stash
    if APP_SERVERS not in stash:
        stash[APP_SERVERS] = AppServers(SESSION_DIR / "apps", pretrained_dir, interpret_cache_dir)
    return stash[APP_SERVERS]


def uses_an_app_server(item: pytest.Item) -> bool:
    return "app_url" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules run in three groups, each module whole and in its own order: those that use an
    app server first, then those whose tests wait for a `Command` of theirs, then those that
    only run in this process. The servers and commands start at the session's start
    (`start_background_work`) and run while the tests before them wait on servers and browsers:
    one core is left idle there, which the background lane fills; the tests that keep both
    cores busy in this process come last."""
    waiting = {getattr(item, "module", None) for item in items if background_command(item)}
    serving = {getattr(item, "module", None) for item in items if uses_an_app_server(item)}

    def group(item: pytest.Item) -> int:
        module = getattr(item, "module", None)
        return 0 if module in serving else 1 if module in waiting else 2

    items.sort(key=group)


@dataclass(frozen=True)
class Command:
    """A command line a test runs as a process of its own, declared in its module's BACKGROUND
    dict under the test's name so that it can run while other tests do: in ROOT, in
    `app_environment(**env)` less the variables starting with `drop`. `{tmp}` in an argument or
    a value of `env` is a folder of its own, which holds `files` (name -> bytes) before it
    starts."""

    argv: tuple[str, ...]
    env: dict[str, str] | None = None
    files: dict[str, bytes] | None = None
    drop: tuple[str, ...] = ()


@dataclass
class Finished:
    """A `Command` that ran: its exit status, its output, and its `{tmp}` folder."""

    returncode: int
    stdout: str
    stderr: str
    tmp: Path


class BackgroundLane:
    """One thing at a time in a thread of its own, from the session's start: first the app
    servers the tests will want after the first one (each started, then waited for), then the
    selected tests' `Command`s, one after another. pytest keeps one core busy, this lane the
    other. A test asking for its command's result waits for it, or runs it at once if the lane
    has not reached it yet."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._queue: list[str] = []
        self._commands: dict[str, Command] = {}
        self._done: dict[str, threading.Event] = {}
        self._results: dict[str, Finished] = {}
        self._lock = threading.Lock()
        self._servers: list[AppProcess] = []
        self._thread = threading.Thread(target=self._run_queue, name="background-lane", daemon=True)

    def start(self, servers: list[Callable[[], AppProcess]], commands: dict[str, Command]) -> None:
        self._servers = servers
        for key, command in commands.items():
            self._commands[key], self._done[key] = command, threading.Event()
            self._queue.append(key)
        self._thread.start()

    def _take(self, key: str | None = None) -> str | None:
        with self._lock:
            if key is None:
                return self._queue.pop(0) if self._queue else None
            if key in self._queue:
                self._queue.remove(key)
                return key
            return None

    def _run_queue(self) -> None:
        for server in self._servers:
            with suppress(BaseException):  # a server that fails says so to the test that asks
                server().ready()
        while (key := self._take()) is not None:
            self._run(key)

    def _run(self, key: str) -> None:
        command = self._commands[key]
        tmp = self._factory.mktemp("background")
        for name, data in (command.files or {}).items():
            (tmp / name).write_bytes(data)
        argv = [argument.replace("{tmp}", str(tmp)) for argument in command.argv]
        env = app_environment(
            **{
                name: value.replace("{tmp}", str(tmp))
                for name, value in (command.env or {}).items()
            }
        )
        for name in [name for name in env if command.drop and name.startswith(command.drop)]:
            del env[name]
        try:
            done = subprocess.run(
                argv,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=BACKGROUND_LIMIT_S,
            )
            self._results[key] = Finished(done.returncode, done.stdout, done.stderr, tmp)
        except subprocess.TimeoutExpired as error:
            self._results[key] = Finished(-9, str(error.stdout), f"timed out: {error}", tmp)
        finally:
            self._done[key].set()

    def result(self, key: str, command: Command) -> Finished:
        if key not in self._commands:  # not selected at the start (run alone, or -k later)
            self._commands[key], self._done[key] = command, threading.Event()
            self._run(key)
        elif self._take(key) is not None:
            self._run(key)
        self._done[key].wait()
        return self._results[key]


def background_command(item: pytest.Item) -> Command | None:
    """The `Command` a test declared in its module's BACKGROUND, if any."""
    declared = getattr(getattr(item, "module", None), "BACKGROUND", {})
    return declared.get(getattr(item, "originalname", None))


def background_key(item: pytest.Item) -> str:
    return f"{item.nodeid.split('::')[0]}::{getattr(item, 'originalname', item.name)}"


@pytest.fixture(scope="session")
def background_lane(tmp_path_factory: pytest.TempPathFactory) -> BackgroundLane:
    return BackgroundLane(tmp_path_factory)


@pytest.fixture
def background_run(request: pytest.FixtureRequest, background_lane: BackgroundLane) -> Finished:
    """The result of the test's own `Command` (its module's BACKGROUND[test name])."""
    name = getattr(request.node, "originalname", request.node.name)
    return background_lane.result(background_key(request.node), request.module.BACKGROUND[name])


@pytest.fixture(scope="session", autouse=True)
def start_background_work(request: pytest.FixtureRequest) -> None:
    """At the session's start, without waiting for them: the app server the first selected
    module that serves asks for (by its APP_ENV as collected; one filled in later starts when
    asked), and, in the background lane, the others, then the selected tests' `Command`s."""
    wanted: list[dict[str, str]] = []
    for item in request.session.items:
        settings = dict(getattr(item.module, "APP_ENV", {})) if uses_an_app_server(item) else None
        if settings is not None and settings not in wanted:
            wanted.append(settings)
    commands = {background_key(item): background_command(item) for item in request.session.items}
    commands = {key: command for key, command in commands.items() if command is not None}
    servers = request.getfixturevalue("app_servers") if wanted else None
    if servers is not None:
        servers.start(wanted[0])
    elif APP_SERVERS in request.config.stash:  # started before collection, needed by none
        request.config.stash[APP_SERVERS].close()
    if wanted[1:] or commands:  # the first server ready before the next starts, and so on
        in_turn = [partial(servers.start, settings) for settings in wanted]
        request.getfixturevalue("background_lane").start(in_turn, commands)


@pytest.fixture(scope="module")
def app_url(request: pytest.FixtureRequest, app_servers: AppServers) -> str:
    """The URL of a `python app.py` serving this module: the session's shared server, or, for a
    module whose APP_ENV dict sets something else (a test set, ...), the session's server with
    those settings (shared with any other module that sets the same)."""
    return app_servers.url(getattr(request.module, "APP_ENV", {}))


@pytest.fixture(scope="module")
def client(app_url: str):
    """A gradio_client on this module's app (telemetry off: conftest's environment)."""
    from gradio_client import Client

    return Client(app_url, verbose=False, analytics_enabled=False)


def refusal(client, api_name: str, *args, **kwargs) -> str:
    """The message the client gets for a refused request, which must be the app's own words:
    not Gradio's generic error, no traceback."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        client.predict(*args, **kwargs, api_name=api_name)
    message = str(caught.value)
    for foreign in ("upstream", "preprocess", "Traceback"):
        assert foreign not in message, message
    return message


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Headless Chromium for a module's browser tests (skips without Playwright or Chromium);
    closed with the module, before the event loop it runs on could meet another test's."""
    from chromium import launched

    yield from launched()


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
            if path.startswith(prefix := f"/{repo}/resolve/{commit}/"):
                data = files[unquote(path.removeprefix(prefix))]  # a name may hold folders
                etag = f'"{hashlib.sha1(data).hexdigest()}"'
                return self._reply(200, data, X_Repo_Commit=commit, ETag=etag)
        return self._missing("RepoNotFound")


def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """`server` answering from a thread for as long as the caller holds it (a fixture's body)."""
    # A short poll: shutdown() waits for the loop's next look (0.5 s by default), per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
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
