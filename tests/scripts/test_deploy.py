"""What leaves the server: no client-visible value names a server directory, and the Space tree
`scripts/deploy_space.py` ships starts on its own.

The privacy check calls every named endpoint through gradio_client with ``download_files=False``,
so file outputs arrive as the server sent them (its ``path`` and ``url``), and reads the page,
its config and the API description as a browser does. A value leaks when it holds the project
root, the weights folder, the test set's folder, the home folder, or any absolute path whose
first directory exists on this machine, except Gradio's own upload cache: Gradio addresses every
file it serves by its cache path (``/gradio_api/file=<GRADIO_TEMP_DIR>/<hash>/name``), by design.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from conftest import (
    ROOT,
    SHARED,
    AppProcess,
    AppServers,
    HubStandIn,
    _HubStandInHandler,
    app_environment,
    example,
    serving,
    use_hub,
)
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from script_runs import load_script, run_main
from synthetic_data import synthetic_cifar10

from interpret import explain, load_model
from interpret.core.weights import DEFAULT_REPO

# The app samples from a configured test set folder, so a location string of
# `interpret.dataset.sampler` would show up here if it leaked: ../shared's CIFAR-10 test set
# where there is one (the session's server with that setting, shared with the full-test-set
# modules), else a synthetic ImageFolder of 100 images in the session's temp folder.
FULL = SHARED / "cifar10" / "test"
APP_ENV: dict[str, str] = {"INTERPRET_CIFAR10_DIR": str(FULL)} if FULL.is_dir() else {}
CHEAP = {"n_steps": 4, "nt_samples": 2}
# Absolute paths inside a text: a slash not preceded by a word character, a dot or a slash and
# not followed by one (so not "1/2", "host:7860/route" or the "//" of "http://host"), then path
# characters. "shipped:/srv/app/weights" and "file=/tmp/x" are found.
ABSOLUTE = re.compile(r"(?<![\w./-])/(?!/)[\w.@+=~-]+(?:/[\w.@+=~-]*)*")


@pytest.fixture(scope="module", autouse=True)
def configured_test_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Set before conftest's `app_url` starts the app (module-scoped autouse fixtures first)."""
    if "INTERPRET_CIFAR10_DIR" not in APP_ENV:
        APP_ENV["INTERPRET_CIFAR10_DIR"] = str(synthetic_cifar10(tmp_path_factory))
    return Path(APP_ENV["INTERPRET_CIFAR10_DIR"])


@pytest.fixture(scope="module")
def raw_client(app_url: str) -> Iterator[Client]:
    """A client that leaves file outputs as the server sent them (not downloaded)."""
    yield Client(app_url, verbose=False, download_files=False)


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)
    elif value is not None and not isinstance(value, (int, float, bool)):
        yield str(value)


def server_paths(text: str, allowed: tuple[str, ...]) -> list[str]:
    """Absolute paths in `text` whose first directory exists here, outside `allowed`."""
    found = []
    for match in ABSOLUTE.finditer(text):
        path = match.group(0)
        first = "/" + path.strip("/").split("/")[0]
        if path.startswith(allowed) or first == "/" or not Path(first).is_dir():
            continue
        found.append(path)
    return found


class LeakCheck:
    """Collects every client-visible value and says which ones name a server directory."""

    def __init__(self, forbidden: list[Path], allowed: list[Path]) -> None:
        self.forbidden = sorted({str(p) for p in forbidden}, key=len, reverse=True)
        self.allowed = tuple(f"{p}/" for p in allowed)
        self.seen: dict[str, int] = {}
        self.leaks: list[str] = []

    def check(self, where: str, value: Any) -> None:
        count = 0
        for text in strings(value):
            count += 1
            for directory in self.forbidden:
                if directory in text:
                    self.leaks.append(f"{where}: {directory!r} in {text[:300]!r}")
            for path in server_paths(text, self.allowed):
                self.leaks.append(f"{where}: absolute path {path!r} in {text[:300]!r}")
        self.seen[where] = count


@pytest.fixture(scope="module")
def leak_check(
    app_servers: AppServers, pretrained_dir: Path, configured_test_set: Path
) -> LeakCheck:
    gradio_caches = app_servers.gradio_folders()  # each app server's GRADIO_TEMP_DIR
    assert gradio_caches, "no app server's Gradio cache folder"
    forbidden = [ROOT, pretrained_dir, configured_test_set, Path.home(), Path(sys.prefix)]
    return LeakCheck(forbidden, gradio_caches)


@pytest.mark.slow
def test_no_client_visible_value_names_a_server_directory(
    raw_client: Client, app_url: str, leak_check: LeakCheck, tmp_path: Path
) -> None:
    image = handle_file(str(example(3)))
    gallery, label, details = raw_client.predict(image, api_name="/explain", **CHEAP)
    leak_check.check("/explain gallery", gallery)
    leak_check.check("/explain label", label)
    leak_check.check("/explain details", details)

    npz, record = raw_client.predict(image, api_name="/download", **CHEAP)
    leak_check.check("/download files", [npz, record])
    downloaded = httpx.get(record["url"], timeout=30)
    downloaded.raise_for_status()
    leak_check.check("/download JSON", downloaded.json())

    leak_check.check("/predict", raw_client.predict(image, api_name="/predict"))
    for index in (3, None):  # by index, and random
        sample = raw_client.predict(index, api_name="/sample")
        leak_check.check(f"/sample({index})", sample)
        configured = "(10,000 images)" if FULL.is_dir() else "100 CIFAR-10 test images"
        assert configured in sample[2], sample  # the configured set

    for bad, words in [("not-an-image.png", "This image can't be used"), ("index", "test image")]:
        with pytest.raises(AppError) as refused:
            if bad == "index":
                raw_client.predict(10_000, api_name="/sample")
            else:
                path = tmp_path / bad
                path.write_text("plain text, not a picture")
                raw_client.predict(handle_file(str(path)), api_name="/predict")
        assert words in str(refused.value), str(refused.value)
        leak_check.check(f"refusal ({bad})", str(refused.value))

    with httpx.Client(base_url=app_url, timeout=30) as http:
        for route in ("/", "/config", "/gradio_api/info"):
            answer = http.get(route)
            answer.raise_for_status()
            leak_check.check(f"GET {route}", answer.text)
            leak_check.check(f"GET {route} (JSON-unescaped)", _unescaped(answer.text))

    print({where: count for where, count in leak_check.seen.items()})
    assert leak_check.leaks == [], "\n".join(leak_check.leaks)
    assert details["weights"].startswith("dir:model.safetensors (sha256 "), details["weights"]
    assert downloaded.json()["weights"] == details["weights"]


def _unescaped(text: str) -> str:
    """JSON text with "\\/" escapes undone, so escaped paths in an embedded config are found."""
    return text.replace("\\/", "/")


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The detector itself: server directories are found, routes and Gradio cache URLs are not."""
    check = LeakCheck([ROOT], [tmp_path / "gradio"])
    check.check("weights", f"shipped:{ROOT}/weights/model.safetensors (sha256 0123)")
    check.check("sample", {"source": "ImageFolder /tmp/elsewhere/cifar10/test"})
    check.check("home", json.dumps({"x": f"{Path.home()}/.cache/interpret"}))
    check.check("fine", "shipped:weights/model.safetensors · /gradio_api/info · 1/2 · a / b")
    check.check("cache", f"http://127.0.0.1:7860/gradio_api/file={tmp_path}/gradio/ab/x.png")
    assert [leak.split(":")[0] for leak in check.leaks] == ["weights", "weights", "sample", "home"]


# ------------------------------------------------------------- scripts/deploy_space.py

SCRIPT = ROOT / "scripts" / "deploy_space.py"
# What the Space needs to run the app and show its README; everything else stays home.
SHIPPED_TOP = {"app.py", "README.md", "requirements.txt", ".gitattributes"}
SHIPPED_FOLDERS = ("interpret/", "ui/", "weights/", "examples/")
# The README's images, read here with a plainer pattern than the script's (Markdown only).
README_IMAGES = set(re.findall(r"!\[[^\]]*\]\((docs/[^)\s]+)", (ROOT / "README.md").read_text()))


def load_deploy() -> ModuleType:
    return load_script("deploy_space.py")


def expected_space_files() -> set[str]:
    """What the Space runs, read from the project independently of the script's patterns."""
    files = {name for name in SHIPPED_TOP if (ROOT / name).is_file()} | README_IMAGES
    for folder in SHIPPED_FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            stray = "__pycache__" in relative or path.suffix == ".pyc"
            toolkit = relative.startswith("interpret/testing/")  # tests' toolkit stays home
            if path.is_file() and not stray and not toolkit:
                files.add(relative)
    return files


@pytest.fixture(scope="module")
def space_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`deploy_space.py OWNER/NAME --dry-run DIR` (its main, here: tests/script_runs.py)."""
    tree = tmp_path_factory.mktemp("space") / "tree"
    _, printed = run_main("deploy_space.py", "owner/space", "--dry-run", tree)
    assert f"wrote {len(expected_space_files())} files to {tree}" in printed, printed
    return tree


def tree_files(tree: Path) -> set[str]:
    return {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}


def test_dry_run_writes_exactly_what_the_space_needs(space_tree: Path) -> None:
    files = tree_files(space_tree)
    assert files == expected_space_files()
    for name in files - {"requirements.txt"}:
        assert (space_tree / name).read_bytes() == (ROOT / name).read_bytes(), name
    # The default hardware, ZeroGPU, runs only the torch releases it lists: the tree pins one.
    project = (ROOT / "requirements.txt").read_text().splitlines()
    tree = (space_tree / "requirements.txt").read_text().splitlines()
    changed = {(a, b) for a, b in zip(project, tree) if a != b}
    assert len(project) == len(tree) and {a.split(">=")[0] for a, _ in changed} == {
        "torch",
        "torchvision",
    }, changed
    assert {b.split("  #")[0] for _, b in changed} == {"torch==2.11.0", "torchvision==0.26.0"}
    assert {"app.py", "weights/model.safetensors", "examples/cifar10_03_0.png"} <= files
    # The training checkpoints TracIn reads travel with the weights: the manifest and the five
    # files it lists (every 8 of the 40 epochs).
    assert {name for name in files if name.startswith("weights/checkpoints/")} == {
        "weights/checkpoints/manifest.json",
        *(f"weights/checkpoints/epoch-{epoch:02d}.safetensors" for epoch in (8, 16, 24, 32, 40)),
    }
    assert any(name.startswith("ui/") for name in files) == (ROOT / "ui").is_dir()
    for absent in ("tests/", "scripts/", ".ci/", ".git/", "artifacts/", "docs/ARCH"):
        assert not any(name.startswith(absent) for name in files), absent
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in files)
    assert not {"pyproject.toml", "requirements-dev.txt", ".gitignore"} & files


def test_a_cpu_basic_tree_keeps_the_projects_requirements(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    run_main("deploy_space.py", "owner/space", "--dry-run", tree, "--hardware", "cpu-basic")
    assert (tree / "requirements.txt").read_bytes() == (ROOT / "requirements.txt").read_bytes()


def test_patterns_keep_caches_tests_and_unshown_images_out(tmp_path: Path) -> None:
    """The allow/ignore patterns on a project tree holding every kind of stray file."""
    deploy = load_deploy()
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    wanted = [
        "app.py",
        "requirements.txt",
        "interpret/__init__.py",
        "interpret/sub/module.py",
        "ui/page.py",
        "ui/style.css",
        "weights/model.safetensors",
        "weights/tutorial/LICENSE",
        "weights/checkpoints/manifest.json",
        "weights/checkpoints/epoch-40.safetensors",
        "examples/cifar10_00_3.png",
        *README_IMAGES,
    ]
    strays = [
        "interpret/__pycache__/explain.cpython-311.pyc",
        "ui/__pycache__/page.cpython-311.pyc",
        "interpret/sub/stale.pyc",
        "interpret/testing/exactness.py",  # the toolkit stays home: the app never imports it
        "interpret/.pytest_cache/v/cache/lastfailed",
        "ui/.DS_Store",
        "ui/page.py~",
        "tests/app/test_app.py",
        "scripts/train.py",
        ".ci/run",
        ".git/config",
        "docs/unused-figure.png",  # not shown by the README
        "artifacts/browser-laptop.png",
        "pyproject.toml",
        "notes.txt",
    ]
    for name in wanted + strays:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert deploy.space_files(tmp_path) == sorted([*wanted, "README.md"])


def test_readme_images_are_found_in_markdown_and_html() -> None:
    deploy = load_deploy()
    readme = (
        '![a](docs/a.png) ![b](./docs/b.png "title") <img alt="c" src="docs/c.webp">\n'
        "![remote](https://example.com/x.png) ![data](data:image/png;base64,AAAA) "
        "[link](docs/d.png)"
    )
    assert deploy.readme_images(readme) == ["docs/a.png", "docs/b.png", "docs/c.webp"]
    assert set(deploy.readme_images((ROOT / "README.md").read_text())) == README_IMAGES
    assert {"docs/screenshot.png", "docs/faithfulness.png"} <= README_IMAGES


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("sdk: gradio", "sdk: streamlit"), "sdk must be gradio, found 'streamlit'"),
        (("sdk_version: ", "sdk_version: 1.0.0 #"), "sdk_version must be the Gradio tested here"),
        (("app_file: app.py", "app_file: main.py"), "app_file must name a file of the project"),
        (('python_version: "', "python_version: 3.10 #"), "python_version must be a quoted"),
        (("license: mit\n", ""), "license is missing"),
        (("colorFrom: indigo", "colorFrom: teal"), "colorFrom must be one of"),
        (("short_description: ", "short_description: " + "x" * 61 + " "), "at most 60 allowed"),
    ],
)
def test_a_wrong_front_matter_is_refused_before_anything_is_written(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    readme = (ROOT / "README.md").read_text()
    assert change[0] in readme, change  # the README still has the field this case edits
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text(readme.replace(change[0], change[1], 1))
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, project / name)
    for image in README_IMAGES:
        (project / image).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / image, project / image)
    deploy = load_deploy()
    assert any(problem in found for found in deploy.front_matter_problems(project))
    with pytest.raises(SystemExit, match="front matter is not ready for a Space") as refused:
        deploy.write_tree(project, tmp_path / "tree")
    assert problem in str(refused.value)
    assert not (tmp_path / "tree").exists()


def test_the_project_front_matter_is_ready() -> None:
    assert load_deploy().front_matter_problems(ROOT) == []


@pytest.mark.slow
def test_the_dry_run_tree_starts_as_a_space_does_and_serves_explanations_on_its_own(
    space_tree: Path, tmp_path: Path, hub_stand_in: HubStandIn
) -> None:
    """`python app.py` from the tree alone: no project beside it, no ../shared, nothing beyond
    loopback. As on a Space today, nothing is configured and the Hub answers without the
    default repo (404 with X-Error-Code: RepoNotFound, as huggingface.co answers): the app
    looks once, starts on its shipped weights and its log says why in one line. A real
    /explain through gradio_client then equals the library's answer on the tree's weights."""
    env = app_environment(
        HF_ENDPOINT=hub_stand_in.endpoint,
        HF_HUB_CACHE=str(tmp_path / "hub-cache"),
        GRADIO_TEMP_DIR=str(tmp_path / "gradio"),
    )
    for name in ("PYTHONPATH", "HF_HUB_OFFLINE"):
        env.pop(name, None)
    log = tmp_path / "app.log"
    app = AppProcess(env, space_tree, log)  # starts; checked below once the origin is
    try:
        # The tree's packages are the ones imported (the project is not installed anywhere).
        origin = subprocess.run(
            [sys.executable, "-c", "import interpret, ui; print(interpret.__file__, ui.__file__)"],
            cwd=space_tree,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert all(Path(path).is_relative_to(space_tree) for path in origin), origin
        client = Client(app.ready(), verbose=False, download_files=str(tmp_path / "downloads"))
        image = space_tree / "examples" / "cifar10_03_0.png"
        gallery, label, details = client.predict(
            handle_file(str(image)), api_name="/explain", **CHEAP
        )
    finally:
        app.stop()
    lines = log.read_text().splitlines()
    warnings = [line for line in lines if " WARNING " in line]
    reason = (
        f"hub:{DEFAULT_REPO}@main: repository not found on the Hub "
        f"({hub_stand_in.endpoint}; a private one needs HF_TOKEN)"
    )
    assert len(warnings) == 1, lines
    assert warnings[0].endswith(f"Using the shipped weights in {space_tree / 'weights'}: {reason}")
    # One look-up, no retries: a 404 is an answer, not a reason to wait.
    looked_up = [r for r in hub_stand_in.requests if "/api/models/" in r]
    assert looked_up == [f"GET /api/models/{DEFAULT_REPO}/revision/main"], looked_up
    model = space_tree / "weights" / "model.safetensors"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    in_use = f"shipped:weights/model.safetensors (sha256 {digest})"
    assert any(f"Weights in use: {in_use}" in line for line in lines), lines
    assert details["weights"] == in_use
    expected = explain(load_model(space_tree / "weights"), image, None, None, **CHEAP)
    assert label["label"] == expected.predicted_class
    for (name, p), (got_name, got_p) in zip(expected.top(5), details["top5"]):
        assert name == got_name and abs(p - got_p) < 1e-6
    assert len(gallery) == 1 + len(expected.methods)
    assert all(Path(item["image"]).is_file() for item in gallery)


class SpaceHubStandIn(HubStandIn):
    """conftest's Hub stand-in, also answering the calls a Space deploy makes, as huggingface.co
    does: create a repo, list its files, ask how to upload each (all "regular": content inline,
    so no LFS or Xet storage is needed) and commit. `spaces` holds each Space's files."""

    def __init__(self) -> None:
        super().__init__()
        self.RequestHandlerClass = _SpaceHandler
        self.spaces: dict[str, dict[str, bytes]] = {}
        self.created: list[dict] = []
        self.commits: list[list[dict]] = []
        self.validated: list[dict] = []
        self.hardware: list[tuple[str, dict]] = []  # (Space, request) per hardware request
        self.refuse_token = False  # answer every write as a Hub does for a bad token
        self.refuse_hardware: str | None = None  # the Hub's reason for refusing hardware


def git_blob_id(data: bytes) -> str:
    """The id git (and the Hub's tree listing) gives a file's content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _SpaceHandler(_HubStandInHandler):
    server: SpaceHubStandIn

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        for space, files in self.server.spaces.items():
            if path.startswith(f"/api/spaces/{space}/tree/"):
                self.server.requests.append(f"GET {self.path}")
                listing = [
                    {"type": "file", "path": name, "size": len(data), "oid": git_blob_id(data)}
                    for name, data in files.items()
                ]
                return self._json(listing)
        return super().do_GET()

    def do_POST(self) -> None:
        self.server.requests.append(f"POST {self.path}")
        path, server = self.path.split("?")[0], self.server
        if server.refuse_token or not self.headers.get("Authorization", "").startswith("Bearer "):
            body = b'{"error": "Invalid credentials in Authorization header"}'
            return self._reply(401, body, Content_Type="application/json")
        if path == "/api/validate-yaml":  # the Hub checks a README's metadata before a commit
            server.validated.append(json.loads(self._body()))
            return self._json({"errors": [], "warnings": []})
        if path == "/api/repos/create":
            request = json.loads(self._body())
            server.created.append(request)
            space = f"{request['organization']}/{request['name']}"
            url = json.dumps({"url": f"{server.endpoint}/spaces/{space}"}).encode()
            if space in server.spaces:
                return self._reply(409, url, Content_Type="application/json")
            server.spaces[space] = {".gitattributes": b"*.bin filter=lfs\n", "README.md": b"---\n"}
            return self._reply(200, url, Content_Type="application/json")
        for space, files in server.spaces.items():
            if path == f"/api/spaces/{space}/hardware":
                request = json.loads(self._body())
                server.hardware.append((space, request))
                if server.refuse_hardware is not None:
                    body = json.dumps({"error": server.refuse_hardware}).encode()
                    return self._reply(403, body, Content_Type="application/json")
                hardware = {"current": None, "requested": request["flavor"]}
                return self._json({"stage": "BUILDING", "hardware": hardware})
            if path.startswith(f"/api/spaces/{space}/preupload/"):
                asked = json.loads(self._body())["files"]
                mode = {"uploadMode": "regular", "shouldIgnore": False}
                return self._json({"files": [{"path": f["path"], **mode} for f in asked]})
            if path.startswith(f"/api/spaces/{space}/commit/"):
                lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
                server.commits.append(lines)
                for line in lines:
                    if line["key"] == "file":
                        files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
                    elif line["key"] == "deletedFile":
                        files.pop(line["value"]["path"])
                oid = commit_id(files)
                url = f"{server.endpoint}/spaces/{space}/commit/{oid}"
                return self._json({"commitUrl": url, "commitOid": oid, "pullRequestUrl": None})
        return self._missing("RepoNotFound")


def commit_id(files: dict[str, bytes]) -> str:
    """The stand-in's commit id: a digest of the tree it holds."""
    return hashlib.sha1(
        json.dumps({k: git_blob_id(v) for k, v in sorted(files.items())}).encode()
    ).hexdigest()


@pytest.fixture
def space_hub() -> Iterator[SpaceHubStandIn]:
    yield from serving(SpaceHubStandIn())


@pytest.fixture
def frozen_project(space_tree: Path, tmp_path: Path) -> Path:
    """A still copy of the project to deploy from: the dry-run tree plus the script itself (the
    working tree may change while a deploy runs; this copy does not)."""
    project = tmp_path / "project"
    shutil.copytree(space_tree, project)
    (project / "scripts").mkdir()
    shutil.copy(SCRIPT, project / "scripts" / SCRIPT.name)
    return project


@dataclass
class Deployed:
    """What a deploy_space.py run ends with: its exit status, its output, its error line."""

    returncode: int
    stdout: str
    stderr: str


def run_deploy(
    hub: SpaceHubStandIn,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *args: str,
    project: Path = ROOT,
    token: str | None = "hf_stand_in_token",
) -> Deployed:
    """deploy_space.py's `main(args)` in this process, deploying `project`, huggingface_hub
    pointed at the stand-in, with `token` (None: no token anywhere); an error ends it as the
    script's process would end: status 1 and its message on stderr."""
    script = load_script("deploy_space.py")
    monkeypatch.setattr(script, "ROOT", project)
    use_hub(monkeypatch, hub.endpoint, tmp_path / "hub-cache")
    if token is None:
        monkeypatch.delenv("HF_TOKEN", raising=False)  # and the session's HF_HOME holds none
    else:
        monkeypatch.setenv("HF_TOKEN", token)
    printed = io.StringIO()
    try:
        with redirect_stdout(printed):
            script.main(list(args))
    except SystemExit as error:
        return Deployed(1, printed.getvalue(), f"{error.code}\n")
    return Deployed(0, printed.getvalue(), "")


@pytest.mark.slow
def test_deploy_creates_the_space_and_commits_exactly_the_tree(
    space_hub: SpaceHubStandIn,
    space_tree: Path,
    frozen_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real upload path (huggingface_hub's HfApi over HTTP) against the loopback stand-in:
    a Gradio Space is created, it ends up holding exactly the dry-run tree, byte for byte, and
    the script prints its URL and the commit to pin. A second deploy removes what no longer
    ships and finds the Space already there."""
    cpu = ("--hardware", "cpu-basic")
    done = run_deploy(space_hub, monkeypatch, tmp_path, "owner/space", *cpu, project=frozen_project)
    assert done.returncode == 0, done.stderr
    assert space_hub.created == [
        {
            "name": "space",
            "organization": "owner",
            "type": "space",
            "sdk": "gradio",
            "hardware": "cpu-basic",
        }
    ]
    assert space_hub.hardware == [("owner/space", {"flavor": "cpu-basic"})]
    assert "hardware: cpu-basic (CPU Basic)" in done.stdout
    # Exactly the dry-run tree, byte for byte: not scripts/ (which the copy also holds).
    shipped = {name: (space_tree / name).read_bytes() for name in tree_files(space_tree)}
    assert space_hub.spaces["owner/space"] == shipped  # README and .gitattributes replaced
    readme = (space_tree / "README.md").read_text()
    assert space_hub.validated == [{"content": readme, "repoType": "space"}]
    (commit,) = space_hub.commits
    assert commit[0]["key"] == "header" and commit[0]["value"]["summary"].startswith("Deploy")
    oid = commit_id(shipped)
    assert f"Space: {space_hub.endpoint}/spaces/owner/space" in done.stdout, done.stdout
    assert f"commit: {oid}  (pin: owner/space@{oid})" in done.stdout, done.stdout

    space_hub.spaces["owner/space"]["old_module.py"] = b"left from an earlier deploy"
    again = run_deploy(
        space_hub, monkeypatch, tmp_path, "owner/space", *cpu, project=frozen_project
    )
    assert again.returncode == 0, again.stderr
    assert space_hub.spaces["owner/space"] == shipped
    deleted = [
        line["value"]["path"] for line in space_hub.commits[-1] if line["key"] == "deletedFile"
    ]
    assert deleted == ["old_module.py"]
    assert len(space_hub.created) == 2  # asked again; the 409 "exists" is fine


def test_deploy_without_a_usable_token_says_so_in_one_line(
    space_hub: SpaceHubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token: refused before any request. A token the Hub refuses: the Hub's own words."""
    done = run_deploy(space_hub, monkeypatch, tmp_path, "owner/space", token=None)
    assert done.returncode == 1 and space_hub.requests == []
    assert done.stderr == "error: no Hugging Face token: set HF_TOKEN or run `hf auth login`\n"

    space_hub.refuse_token = True
    refused = run_deploy(space_hub, monkeypatch, tmp_path, "owner/space", "--hardware", "cpu-basic")
    assert refused.returncode == 1 and space_hub.spaces == {}
    assert refused.stderr.strip() == (
        "error: the Hub refused the deploy of owner/space (HTTP 401): "
        "Invalid credentials in Authorization header"
    ), refused.stderr


def with_python(project: Path, version: str) -> Path:
    """`project` with README.md's python_version set to `version`."""
    readme = project / "README.md"
    text = re.sub(
        r'^python_version: "[^"]*"$',
        f'python_version: "{version}"',
        readme.read_text(),
        count=1,
        flags=re.MULTILINE,
    )
    readme.write_text(text)
    return project


def test_zerogpu_is_the_default_and_needs_a_python_it_runs(
    space_hub: SpaceHubStandIn,
    frozen_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default hardware is ZeroGPU, asked for at creation and after the upload; a
    python_version ZeroGPU does not run is refused before any request; a Hub that refuses
    ZeroGPU (no PRO plan) is named in one line, after the files went up."""
    with_python(frozen_project, "3.11")
    refused = run_deploy(space_hub, monkeypatch, tmp_path, "owner/space", project=frozen_project)
    assert refused.returncode == 1 and space_hub.requests == []
    assert refused.stderr == (
        "error: python_version '3.11' is not one ZeroGPU runs (3.10 or 3.12); "
        "set one, or deploy with --hardware cpu-basic\n"
    )
    with_python(frozen_project, "3.12")
    done = run_deploy(space_hub, monkeypatch, tmp_path, "owner/space", project=frozen_project)
    assert done.returncode == 0, done.stderr
    assert space_hub.created[0]["hardware"] == "zero-a10g"
    assert space_hub.hardware == [("owner/space", {"flavor": "zero-a10g"})]
    assert "hardware: zero-a10g (ZeroGPU)" in done.stdout

    space_hub.refuse_hardware = "ZeroGPU is only available to PRO users"
    again = run_deploy(space_hub, monkeypatch, tmp_path, "owner/space", project=frozen_project)
    assert again.returncode == 1 and len(space_hub.commits) == 2
    assert again.stderr.startswith(
        "error: owner/space holds the new files, but the Hub refused the hardware zero-a10g "
        "(HTTP 403): ZeroGPU is only available to PRO users; ZeroGPU needs a PRO"
    ), again.stderr
    assert "--hardware cpu-basic runs on any" in again.stderr
