"""The load test's server handling: start `python app.py` offline on a free loopback port,
wait until it serves, stop it, and measure its resident memory (with its children)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
START_LIMIT_S = 180  # app.py starts in ~10 s alone; generous on 2 busy cores


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_loopback(url: str) -> str:
    """The URL, normalized with a trailing slash, if it names this machine; else exit."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"load_test.py: only loopback targets are allowed, not {host!r}")
    return url if url.endswith("/") else url + "/"


@dataclass
class Server:
    """A `python app.py` this script started, with its log."""

    process: subprocess.Popen
    url: str
    log: Path

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_app(
    weights: str | None,
    workdir: Path,
    name: str,
    app: str = "app.py",
    args: tuple[str, ...] = (),
    **env: str,
) -> Server:
    """`python app.py` (or another Gradio script, with `args`) on a free loopback port,
    offline; returns before it is ready."""
    port = free_port()
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("INTERPRET_", "GRADIO_"))
    }
    environment.pop("SPACE_ID", None)
    environment.update(
        INTERPRET_MODEL_REPO="",
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_TEMP_DIR=str(workdir / f"{name}-gradio"),
        **env,
    )
    if weights:
        environment["INTERPRET_WEIGHTS"] = weights
    log = workdir / f"{name}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, app, *args], cwd=ROOT, env=environment, stdout=output, stderr=output
        )
    return Server(process, f"http://127.0.0.1:{port}/", log)


def wait_ready(server: Server, deadline: float) -> float:
    """Seconds until the app answers its API info page; exits with its log if it dies."""
    started = time.monotonic()
    while True:
        if server.process.poll() is not None:
            raise SystemExit(f"app.py exited with {server.process.returncode}:\n{server.tail()}")
        if time.monotonic() > min(deadline, started + START_LIMIT_S):
            raise SystemExit(f"app.py not ready in time:\n{server.tail()}")
        try:
            with urllib.request.urlopen(server.url + "gradio_api/info", timeout=2) as reply:
                if reply.status == 200:
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.25)


def listening_pid(url: str) -> int | None:
    """The process listening on the URL's loopback port, for memory figures of --url."""
    port = urlsplit(url).port
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                return connection.pid
    except psutil.AccessDenied:
        return None
    return None


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its children."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total


class PeakMemory:
    """Samples a process tree's RSS in the background: the peak, and the course over the run
    (a plateau after warm-up is allocator caching; a steady climb is a leak)."""

    def __init__(self, pid: int | None, interval: float = 0.5) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while self.pid is not None and not self._stop.is_set():
            try:
                self.samples.append(rss_bytes(self.pid))
            except psutil.Error:
                return
            self.peak = max(self.peak, self.samples[-1])
            self._stop.wait(self.interval)

    def course_mb(self, points: int = 5) -> list[float]:
        """RSS at evenly spaced moments of the run, first to last sample."""
        if not self.samples:
            return []
        picks = np.linspace(0, len(self.samples) - 1, points).round().astype(int)
        return [round(self.samples[i] / 2**20, 1) for i in picks]

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
