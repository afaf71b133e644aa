"""Issue 5's remaining reliability cases, beside test_app, test_preprocess, test_fuzz, test_weights.

(a) Unusable shipped weights: `python app.py` refuses to start, naming the file.
(b) A failing Hub, through the library's default resolution: unreachable with a fake cache,
    and online against conftest's stand-in for the Hub on loopback; a cache that cannot be
    written (a file where a folder should be: this stops root too). Each falls back to the
    shipped weights fast with exactly one warning line, or serves a usable cached copy. And
    `python app.py` against a Hub without the default repo. Nothing here can reach beyond
    127.0.0.1: name lookups of any other host fail (and fail the test).
(c) A property-based fuzz through gradio_client: random bytes and settings get a result or
    the app's own refusal, and the server serves normally afterwards.
(d) Oversized uploads and decompression bombs through the client.
(e) Server-side paths the client names, relative ones too, are never read.
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from conftest import CLOSED_HUB, HUB_COMMIT, ROOT, HubStandIn, example, running_app, use_hub
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import save_file

from interpret import Explanation, ImageError, ParamError, explain, load_model, model_image
from interpret.core import weights
from interpret.core.model import Net, hub_config
from interpret.core.preprocess import MAX_FILE_BYTES, MAX_PIXELS

pytestmark = pytest.mark.timeout(300)

COMMIT = HUB_COMMIT
# A fallback takes ~0.1 s here. The bound separates it from what it replaces (huggingface_hub's
# ~23 s of retries, our 10 s download deadline) with room for a busy 2-core machine; the figure
# is printed.
FALLBACK_LIMIT_S = 5.0
# Requests that take 0.1-0.5 s here (a saliency map, a refusal at the image header): the bound
# only tells a stuck server from a slow one on a busy machine. Speed is bench.py's business.
HANG_GUARD_S = 30
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# app.py's USER_ERRORS: a refusal is the library's own reason in these words.
APP_WORDS = {ImageError: "This image can't be used: {}.", ParamError: "Invalid setting: {}."}
APP_SETTINGS = ("n_steps", "nt_samples", "stdevs", "baseline", "seed")  # app.py's SETTINGS
PIXEL_LIMIT = f"the limit is {MAX_PIXELS:,} pixels"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment for a `python app.py`: no inherited settings, nothing off loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERPRET_", "GRADIO_"))}
    env.pop("SPACE_ID", None)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(_free_port()),
        **extra,
    )
    return env


# ---------------------------------------------------------------- (a) shipped weights


def _app_copy(root: Path, model_bytes: bytes, config: dict) -> Path:
    """app.py, interpret/, ui/ and examples/ with the given weights/ (the app's own layout)."""
    root.mkdir()
    shutil.copy(ROOT / "app.py", root / "app.py")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "interpret", root / "interpret", ignore=ignore)
    shutil.copytree(ROOT / "ui", root / "ui", ignore=ignore)
    shutil.copytree(ROOT / "examples", root / "examples")
    (root / "weights").mkdir()
    (root / "weights" / "model.safetensors").write_bytes(model_bytes)
    (root / "weights" / "config.json").write_text(json.dumps(config))
    return root


def _five_class_weights(path: Path) -> bytes:
    save_file(Net(num_classes=5).state_dict(), str(path))
    return path.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["corrupt", "wrong shape"])
def test_app_refuses_to_start_on_unusable_shipped_weights(tmp_path: Path, damage: str) -> None:
    if damage == "corrupt":
        model_bytes = b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all"
    else:
        model_bytes = _five_class_weights(tmp_path / "five.safetensors")
    root = _app_copy(tmp_path / "app", model_bytes, hub_config())
    env = _clean_env(INTERPRET_MODEL_REPO="", GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=root, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode != 0, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("app.py: cannot load the model weights: shipped weights unusable: ")
    assert f"{root / 'weights' / 'model.safetensors'}: " in last
    reason = "not a readable safetensors file" if damage == "corrupt" else "do not fit Net"
    assert reason in last
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- (b) failing Hub


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
    """The Hub unreachable (conftest's closed loopback port: refused at once) and an empty
    cache in tmp; tests that want an answering Hub use `fake_hub`. Returns the cache."""
    cache = tmp_path / "hub-cache"
    cache.mkdir()
    use_hub(monkeypatch, CLOSED_HUB, cache)
    monkeypatch.setenv("INTERPRET_MODEL_REPO", "owner/cifar-net")
    monkeypatch.delenv("INTERPRET_MODEL_REVISION", raising=False)
    return cache


def _unwritable(tmp_path: Path) -> Path:
    """A cache path that cannot be made, whoever runs the test: its parent is a regular file."""
    (tmp_path / "not-a-folder").write_text("")
    return tmp_path / "not-a-folder" / "hub-cache"


def _snapshot_files(source: Path) -> dict[str, bytes]:
    return {name: (source / name).read_bytes() for name in ("config.json", "model.safetensors")}


def _fake_cache(cache: Path, repo_id: str, files: dict[str, bytes]) -> None:
    """The huggingface_hub cache layout a previous download leaves (see test_weights)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)


def _load_with_fallback(caplog: pytest.LogCaptureFixture) -> tuple[Net, list[str], float]:
    """load_model() as the app calls it: the net, every warning logged, and the seconds."""
    started = time.perf_counter()
    with caplog.at_level(logging.INFO):
        net = load_model()
    seconds = time.perf_counter() - started
    print(f"resolved in {seconds:.2f} s")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return net, warnings, seconds


def _assert_one_clear_fallback(
    net: Net, warnings: list[str], seconds: float, shipped: Path, *reasons: str
) -> None:
    assert net.weights_source.startswith("shipped:model.safetensors (sha256 ")
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"Using the shipped weights in {shipped}: "), warnings[0]
    for reason in reasons:
        assert reason in warnings[0], warnings[0]
    assert "\n" not in warnings[0]
    assert seconds < FALLBACK_LIMIT_S, f"fallback took {seconds:.2f} s"


def _cached(source: Path, damage: str, scratch: Path) -> dict[str, bytes]:
    files = _snapshot_files(source)
    if damage == "corrupt":
        files["model.safetensors"] = files["model.safetensors"][:100]
    elif damage == "wrong shape":
        files["model.safetensors"] = _five_class_weights(scratch / "five.safetensors")
    return files


UNREACHABLE = f"Hub unreachable ({CLOSED_HUB}) and no cached copy"


@pytest.mark.parametrize(
    ("case", "reasons"),
    [
        ("missing repo", [f"hub:owner/cifar-net@main: {UNREACHABLE}"]),
        ("missing revision", [f"hub:owner/cifar-net@nonexistent: {UNREACHABLE}"]),
        ("corrupt", [f"snapshots/{COMMIT}/model.safetensors: not a readable safetensors"]),
        ("wrong shape", [f"snapshots/{COMMIT}/model.safetensors: weights do not fit Net"]),
        ("unwritable, empty", ["hub:owner/cifar-net@main: cache ", "not writable (Not a direc"]),
    ],
)
def test_unreachable_hub_and_a_bad_cache_fall_back_once_and_fast(
    hub: Path,
    shipped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    case: str,
    reasons: list[str],
) -> None:
    if case == "missing revision":
        _fake_cache(hub, "owner/cifar-net", _snapshot_files(shipped))
        monkeypatch.setenv("INTERPRET_MODEL_REVISION", "nonexistent")
    elif case in ("corrupt", "wrong shape"):
        _fake_cache(hub, "owner/cifar-net", _cached(shipped, case, tmp_path))
    elif case == "unwritable, empty":
        unwritable = _unwritable(tmp_path)
        monkeypatch.setattr(weights.hub_constants, "HF_HUB_CACHE", str(unwritable))
        reasons = [*reasons, f"cache {unwritable} not writable", "and it holds no copy"]
    net, warnings, seconds = _load_with_fallback(caplog)
    _assert_one_clear_fallback(net, warnings, seconds, shipped, *reasons)


@pytest.fixture
def fake_hub(
    hub: Path, monkeypatch: pytest.MonkeyPatch, hub_stand_in: HubStandIn
) -> Iterator[HubStandIn]:
    """conftest's stand-in for the Hub, answering on loopback; its `repos` say what it holds."""
    use_hub(monkeypatch, hub_stand_in.endpoint, hub)
    yield hub_stand_in


@pytest.mark.parametrize("hub_state", ["unreachable", "offering a newer commit"])
def test_unwritable_cache_with_a_copy_serves_it_without_a_warning(
    fake_hub: HubStandIn,
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
    _fake_cache(hub, "owner/cifar-net", _snapshot_files(pretrained_dir))
    (hub / ".locks").write_text("")
    if hub_state == "unreachable":
        use_hub(monkeypatch, CLOSED_HUB, hub)
    else:
        fake_hub.repos["owner/cifar-net"] = _snapshot_files(pretrained_dir)
        fake_hub.commit = "f" * 40
    net, warnings, seconds = _load_with_fallback(caplog)
    assert net.weights_source.startswith(f"hub:owner/cifar-net@{COMMIT} (sha256 ")
    assert warnings == [] and seconds < FALLBACK_LIMIT_S
    assert fake_hub.requests == []


def test_the_fake_hub_serves_a_good_repo(
    fake_hub: HubStandIn, hub: Path, shipped: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake answers as the Hub does: a good repo is downloaded and used, no warning."""
    fake_hub.repos["owner/cifar-net"] = _snapshot_files(shipped)
    net, warnings, _ = _load_with_fallback(caplog)
    assert net.weights_source.startswith(f"hub:owner/cifar-net@{COMMIT} (sha256 ")
    assert warnings == []
    assert any("/resolve/" in request for request in fake_hub.requests)


@pytest.mark.parametrize(
    ("case", "reasons"),
    [
        ("missing repo", ["hub:owner/cifar-net@main: repository not found on the Hub (http"]),
        ("missing revision", ["hub:owner/cifar-net@nonexistent: revision not found on the Hub"]),
        ("corrupt", [f"snapshots/{COMMIT}/model.safetensors: not a readable safetensors"]),
        ("wrong shape", [f"snapshots/{COMMIT}/model.safetensors: weights do not fit Net"]),
    ],
)
def test_answering_hub_without_usable_weights_falls_back_once_and_fast(
    fake_hub: HubStandIn,
    shipped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    case: str,
    reasons: list[str],
) -> None:
    if case != "missing repo":
        fake_hub.repos["owner/cifar-net"] = _cached(shipped, case, tmp_path)
    if case == "missing revision":
        monkeypatch.setenv("INTERPRET_MODEL_REVISION", "nonexistent")
    net, warnings, seconds = _load_with_fallback(caplog)
    _assert_one_clear_fallback(net, warnings, seconds, shipped, *reasons)


def test_unwritable_cache_with_an_answering_hub_falls_back_with_one_line(
    fake_hub: HubStandIn,
    shipped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cache that cannot be made (a file where its parent folder should be: root ignores
    permission bits, this stops root too) while the Hub offers a good download: nothing is
    asked of the Hub, the line names the cache."""
    fake_hub.repos["owner/cifar-net"] = _snapshot_files(shipped)
    unwritable = _unwritable(tmp_path)
    monkeypatch.setattr(weights.hub_constants, "HF_HUB_CACHE", str(unwritable))
    net, warnings, seconds = _load_with_fallback(caplog)
    reasons = [f"cache {unwritable} not writable (Not a directory", "and it holds no copy"]
    _assert_one_clear_fallback(net, warnings, seconds, shipped, *reasons)
    assert fake_hub.requests == []


def test_a_consistent_snapshot_of_another_shape_falls_back(
    hub: Path, shipped: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = tmp_path / "five"
    Net(num_classes=5).save_pretrained(other, config=hub_config() | {"num_classes": 5})
    _fake_cache(hub, "owner/cifar-net", _snapshot_files(other))
    net, warnings, seconds = _load_with_fallback(caplog)
    _assert_one_clear_fallback(net, warnings, seconds, shipped, "do not fit Net")


@pytest.mark.slow
def test_app_on_a_hub_without_the_default_repo_starts_on_the_shipped_weights_and_says_why(
    tmp_path: Path, pretrained_dir: Path, hub_stand_in: HubStandIn
) -> None:
    """A Space today: the Hub answers, and the default repo does not exist there (404 with
    X-Error-Code: RepoNotFound, as huggingface.co answers). `python app.py` with nothing
    configured looks once, starts on its shipped weights and its log says why in one line."""
    shipped_files = _snapshot_files(pretrained_dir)
    config = json.loads(shipped_files["config.json"])
    root = _app_copy(tmp_path / "app", shipped_files["model.safetensors"], config)
    env = _clean_env(
        HF_ENDPOINT=hub_stand_in.endpoint,
        HF_HUB_CACHE=str(tmp_path / "hub-cache"),
        GRADIO_TEMP_DIR=str(tmp_path / "gradio"),
    )
    del env["HF_HUB_OFFLINE"]
    log = tmp_path / "app.log"
    with running_app(env, root, log) as url:
        assert httpx.get(url, timeout=30).status_code == 200
    lines = log.read_text().splitlines()
    warnings = [line for line in lines if " WARNING " in line]
    reason = (
        f"hub:{weights.DEFAULT_REPO}@main: repository not found on the Hub "
        f"({hub_stand_in.endpoint}; a private one needs HF_TOKEN)"
    )
    assert len(warnings) == 1, lines
    assert warnings[0].endswith(f"Using the shipped weights in {root / 'weights'}: {reason}")
    in_use = "Weights in use: shipped:weights/model.safetensors (sha256 "
    assert any(in_use in line for line in lines), lines
    # One look-up, no retries: a 404 is an answer, not a reason to wait.
    looked_up = [r for r in hub_stand_in.requests if "/api/models/" in r]
    assert looked_up == [f"GET /api/models/{weights.DEFAULT_REPO}/revision/main"], looked_up
    print("the stand-in was asked:", hub_stand_in.requests)


# ---------------------------------------------------------------- (c)-(e) the running app


@pytest.fixture(scope="module")
def client(app_url: str) -> Iterator[Client]:
    """A client that sends nothing beyond loopback (no telemetry)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        patch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        yield Client(app_url, verbose=False, analytics_enabled=False)


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


def _upload(directory: Path, data: bytes, suffix: str = ".png") -> str:
    handle, name = tempfile.mkstemp(dir=directory, suffix=suffix)
    with os.fdopen(handle, "wb") as output:
        output.write(data)
    return name


def _png_bytes(index: int) -> bytes:
    buffer = io.BytesIO()
    Image.open(example(index)).save(buffer, "PNG")
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, pixels: bytes = b"\0" * 64) -> bytes:
    """A grayscale PNG header for width x height, with `pixels` as its compressed data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(pixels, 9))
        + _png_chunk(b"IEND", b"")
    )


VALID_PNGS = [_png_bytes(4), _png_bytes(7)]
mutated_png = st.builds(
    lambda cut, flips: bytes(
        b ^ 0xFF if i in flips else b for i, b in enumerate(VALID_PNGS[0][:cut])
    ),
    st.integers(0, len(VALID_PNGS[0])),
    st.sets(st.integers(0, len(VALID_PNGS[0]) - 1), max_size=8),
)
hostile_upload = st.one_of(st.binary(max_size=2048), mutated_png, st.just(_png(9**5, 9**5)))
# Any JSON value the client can send. Not NaN or infinity: the client refuses those itself
# ("Out of range float values are not JSON compliant") before anything is sent.
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_value = st.one_of(json_scalar, st.lists(st.integers(0, 20), max_size=2))
# Cheap methods only: what one request may cost is test_app's and the cost cap's business.
CHEAP = ["saliency", "deeplift", "grad_cam", "lrp", "integrated_gradients", "input_x_gradient"]
VALID_SETTINGS = {
    "methods": st.lists(st.sampled_from(CHEAP), min_size=1, max_size=3, unique=True),
    "target": st.sampled_from(["predicted", "cat", "7", 3, None]),
    "n_steps": st.integers(1, 16),
    "nt_samples": st.integers(1, 4),
    "stdevs": st.floats(0, 5),
    "baseline": st.sampled_from(["zeros", "black", "blur", "noise", "mean"]),
    "seed": st.integers(0, 2**31 - 1),
    "opacity": st.floats(0, 1),
}
HOSTILE_SETTINGS = dict.fromkeys(VALID_SETTINGS, json_value) | {
    "methods": st.one_of(
        json_value,
        st.text(max_size=12),
        st.lists(st.sampled_from([*CHEAP, "?", ""]), max_size=3),
    ),
}


@st.composite
def explain_requests(draw: st.DrawFn) -> tuple[bytes, dict]:
    """An upload and settings, mostly sensible with up to three hostile parts: each check gets
    its turn, and some requests get through to a real explanation."""
    hostile = draw(st.sets(st.sampled_from(["image", *VALID_SETTINGS]), max_size=3))
    upload = draw(hostile_upload if "image" in hostile else st.sampled_from(VALID_PNGS))
    return upload, {
        name: draw(HOSTILE_SETTINGS[name] if name in hostile else valid)
        for name, valid in VALID_SETTINGS.items()
    }


def _refusal_text(call: Callable[[], object]) -> str | None:
    """None for a result; the refusal's text for an AppError (anything else propagates)."""
    try:
        call()
    except AppError as error:
        return str(error)
    return None


def _in_the_apps_words(error: Exception) -> str:
    """What app.py says for a library error (HTML-escaped, as Gradio shows it as markup)."""
    template = next(words for kind, words in APP_WORDS.items() if isinstance(error, kind))
    return html.escape(template.format(str(error).rstrip(".")), quote=False)


def _target_as_the_app_reads(target: object) -> object:
    """app.resolve_target for an upload: blank or 'predicted' is the prediction; anything else
    goes to the library as sent ('true label' cannot be drawn here)."""
    name = target.strip().lower() if isinstance(target, str) else target
    return None if name is None or name in ("", "predicted") else target


def _library_answer(net: Net, path: str, options: dict) -> Explanation | str:
    """The library's answer to an /explain request, in the order the app works: decode the
    upload, then explain; a refusal as the app words it."""
    try:
        picture = model_image(path)
        # In app.SETTINGS' order: with several bad settings, the first one checked is named.
        settings = {name: options[name] for name in APP_SETTINGS}
        return explain(
            net,
            picture,
            options["methods"],
            _target_as_the_app_reads(options["target"]),
            alpha=options["opacity"],
            overlays=False,
            **settings,
        )
    except (ImageError, ParamError) as error:
        return _in_the_apps_words(error)


@pytest.fixture(scope="module")
def app_net(pretrained_dir: Path) -> Net:
    """The weights the app serves (conftest gives it `pretrained_dir`)."""
    return load_model(pretrained_dir)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(upload_and_settings=explain_requests())
def test_random_uploads_and_settings_get_a_result_or_the_apps_refusal(
    client: Client, uploads: Path, app_net: Net, upload_and_settings: tuple[bytes, dict]
) -> None:
    """Whatever is sent, the app answers as the library does: the same refusal, in the app's
    words (never Gradio's or a server error), or an explanation of the same prediction."""
    data, options = upload_and_settings
    path = _upload(uploads, data)
    expected = _library_answer(app_net, path, options)
    try:
        gallery, _, details = client.predict(handle_file(path), **options, api_name="/explain")
    except AppError as error:
        event(str(error).split(":")[0])
        assert str(error) == expected, f"the library: {expected}"
    else:
        event("explained")
        assert isinstance(expected, Explanation), f"explained; the library refused: {expected}"
        assert details["predicted_class"] == expected.predicted_class
        assert details["methods"] == list(expected.methods)
        assert len(gallery) == 1 + len(expected.methods)


@pytest.mark.slow
def test_after_the_fuzz_the_server_serves_normally(client: Client, pretrained_dir: Path) -> None:
    """Runs after the fuzz (file order): the same answer as the library, and not stuck."""
    started = time.perf_counter()
    _, label, details = client.predict(
        handle_file(str(example(6))), methods=["saliency"], nt_samples=2, api_name="/explain"
    )
    seconds = time.perf_counter() - started
    print(f"a saliency request after the fuzz: {seconds:.2f} s")
    assert seconds < HANG_GUARD_S
    expected = explain(load_model(pretrained_dir), example(6), ["saliency"], overlays=False)
    assert label["label"] == details["predicted_class"] == expected.predicted_class


@pytest.mark.parametrize(
    "settings",
    [{"methods": 5}, {"methods": ["saliency", 1]}, {"baseline": ["zeros"]}],
    ids=["methods-number", "methods-with-a-number", "baseline-list"],
)
def test_settings_of_the_wrong_type_get_the_apps_refusal(
    client: Client, app_net: Net, settings: dict
) -> None:
    image = handle_file(str(example(2)))
    message = _refusal_text(partial(client.predict, image, **settings, api_name="/explain"))
    with pytest.raises(ParamError) as refused:
        explain(app_net, example(2), **{"methods": None, "baseline": "zeros"} | settings)
    assert message == _in_the_apps_words(refused.value)


def test_an_oversized_file_is_refused_before_it_is_sent_and_by_the_server(
    client: Client, app_url: str, uploads: Path
) -> None:
    """Over the upload limit: gradio_client refuses it locally; a client that skips that
    check gets HTTP 413 from the server, which goes on serving."""
    big = Path(_upload(uploads, b""))
    with open(big, "wb") as output:
        output.write(VALID_PNGS[0])
        output.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ValueError, match=f"exceeds the maximum file size of {MAX_FILE_BYTES}"):
        client.predict(handle_file(str(big)), methods=["saliency"], api_name="/explain")
    with open(big, "rb") as upload:
        reply = httpx.post(
            f"{app_url}gradio_api/upload", files={"files": ("big.png", upload)}, timeout=120
        )
    assert reply.status_code == 413
    assert f"maximum allowed size of {MAX_FILE_BYTES} bytes" in reply.text
    big.unlink()
    assert client.predict(handle_file(str(example(1))), api_name="/predict")["label"]


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims width x height."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "png-header": (lambda: _png(100_000, 100_000), ".png"),  # 10 gigapixels claimed
    "png-zeros": (lambda: _png(8_000, 7_000, b"\0" * 8_001 * 7_000), ".png"),  # 56 MP, 55 kB
    "jpeg-header": (lambda: _jpeg_claiming(65_000, 65_000), ".jpg"),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_decompression_bombs_get_the_pixel_limit_in_the_apps_words(
    client: Client, uploads: Path, bomb: str
) -> None:
    make, suffix = BOMBS[bomb]
    path = _upload(uploads, make(), suffix)
    for api_name, extra in (("/predict", {}), ("/explain", {"methods": ["saliency"]})):
        started = time.perf_counter()
        message = _refusal_text(
            partial(client.predict, handle_file(path), **extra, api_name=api_name)
        )
        seconds = time.perf_counter() - started
        print(f"{bomb} refused by {api_name} in {seconds:.2f} s")
        assert seconds < HANG_GUARD_S
        assert message is not None and message.startswith("This image can't be used: ")
        assert PIXEL_LIMIT in message, message
    assert client.predict(handle_file(str(example(1))), api_name="/predict")["label"]


SERVER_PATHS = [
    "examples/cifar10_03_0.png",
    "./app.py",
    "../main/examples/cifar10_03_0.png",
    "weights",
]


def _predict_by_path(app_url: str, path: str) -> tuple[str, str | None]:
    """POST /predict naming a server-side `path` as the image, over raw HTTP as any client
    could: the event the stream ends with, and its error message (None when it has none)."""
    response = httpx.post(
        f"{app_url}gradio_api/call/predict",
        json={"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]},
    )
    event_id = response.json()["event_id"]
    stream = httpx.get(f"{app_url}gradio_api/call/predict/{event_id}", timeout=60).text
    kind = stream.split("\n", 1)[0].removeprefix("event: ")
    data = [
        line.removeprefix("data: ") for line in stream.splitlines() if line.startswith("data: ")
    ]
    message = json.loads(data[-1]).get("error") if kind == "error" and data else None
    return kind, message


@pytest.mark.parametrize("path", SERVER_PATHS)
def test_relative_server_paths_are_never_read(app_url: str, path: str) -> None:
    """test_app checks an absolute path; the app runs in the project folder, so relative
    ones must be refused too (an existing example would otherwise be explained), without
    telling where the server keeps its files."""
    kind, message = _predict_by_path(app_url, path)
    assert kind == "error", (kind, message)
    assert message is None or str(ROOT) not in message, message


@pytest.mark.parametrize("path", SERVER_PATHS)
def test_a_server_path_is_refused_in_the_apps_words(app_url: str, path: str) -> None:
    kind, message = _predict_by_path(app_url, path)
    assert kind == "error" and message is not None, (kind, message)
    assert message.startswith("This image can't be used: "), message
