"""Shared fixtures: data paths beside the project, a checkpoint the tests write themselves."""

from __future__ import annotations

import os

# gradio_client and huggingface_hub phone home unless told not to; tests stay on loopback.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from interpret.model import Net, hub_config

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
def pretrained_dir(tmp_path_factory: pytest.TempPathFactory, seeded_net: Net) -> Path:
    """save_pretrained layout written by the test session itself."""
    directory = tmp_path_factory.mktemp("pretrained")
    seeded_net.save_pretrained(directory, config=hub_config())
    return directory


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pretrained_dir: Path
) -> Iterator[str]:
    """`python app.py` on a free loopback port, offline, with the test weights and examples;
    a test module's APP_ENV dict adds environment variables."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERPRET_", "GRADIO_"))}
    env.pop("SPACE_ID", None)
    env.update(
        INTERPRET_WEIGHTS=str(pretrained_dir),
        INTERPRET_MODEL_REPO="",
        HF_HUB_OFFLINE="1",
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_TEMP_DIR=str(tmp_path_factory.mktemp("gradio")),
    )
    env.update(getattr(request.module, "APP_ENV", {}))
    log = tmp_path_factory.mktemp("app") / "app.log"
    url = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=output, stderr=output
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
