"""A stand-in for the `spaces` package's ZeroGPU wrapper, for a real `python app.py` on a machine
without CUDA (the real package needs a CUDA device to start its worker: docs/ZEROGPU.md).

Put this folder first on PYTHONPATH with SPACES_ZERO_GPU=true and `import spaces` gets this
module. It keeps what the app depends on, as `spaces/zero/wrappers.py` (0.51) does it:

- `spaces.GPU`, `@spaces.GPU` or `@spaces.GPU(duration=...)`, with `duration` an int, a
  timedelta or a callable of the call's arguments; outside ZeroGPU the function as it is;
- one worker per decorated function, forked at its first call and reused while it lives and
  is idle (a call that finds it busy, or dead, forks another);
- arguments and result cross by pickle, so nothing the call changes reaches the server;
- a worker closes, first thing, its copies of the server's sockets (the listening port and
  every connection to it), as `worker_init` does: a copy left open keeps a connection the
  server has closed alive for the browser, whose next request on it is never read (a picture
  that never draws);
- a decorated function called inside a worker runs there directly;
- a `gr.Error` raised in the worker comes back as it is; any other exception as the real
  wrapper's `gr.Error("<class name>", title="ZeroGPU worker error")`; a worker that dies, as
  "GPU task aborted".

For the tests:
- ZEROGPU_STANDIN_RECORD (a file): one JSON line per call, written by the server: the
  function, the declared duration in seconds, the pickled bytes of the arguments and of the
  result, the worker's pid and whether it was new, the seconds it took, the devices of any
  tensor in the result, and the outcome.
- ZEROGPU_STANDIN_CONTROL (a file, read at each call): {"fail": KIND} makes the next call fail
  as the real client does (KIND: "quota", "no_gpu", "queue_timeout", "illegal_duration"), or
  "abort" kills its worker first; the file is then removed. {"left": SECONDS} refuses, with the
  real quota message, every call that declares more than SECONDS while the file exists.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import multiprocessing
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import gradio as gr

DEFAULT_DURATION = 60  # spaces.zero.client.DEFAULT_SCHEDULE_DURATION
_fork = multiprocessing.get_context("fork")
_forked = False  # True in a worker: decorated calls run directly there
_record_lock = threading.Lock()


def _zero_gpu() -> bool:
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def GPU(task: Callable | None = None, *, duration: Any = None, size: str | None = None, **_: Any):
    """`spaces.GPU`: the ZeroGPU decorator (see the module doc)."""
    if task is None:
        return functools.partial(GPU, duration=duration, size=size)
    if not _zero_gpu():
        return task
    return _Wrapped(task, duration)


# ------------------------------------------------------------------ the real client's refusals


def _error(title: str, message: str) -> gr.Error:
    return gr.Error(message, title=title, print_exception=False)  # spaces.zero.gradio.error


def _refusal(kind: str, requested: int, left: int = 0) -> gr.Error:
    """The exceptions `spaces.zero.client.schedule` raises, with its titles and messages."""
    if kind == "quota":
        return _error(
            "ZeroGPU quota exceeded",
            f"You have exceeded your free ZeroGPU quota ({requested}s requested vs. {left}s "
            "left). Try again in 0:05:00. ",
        )
    if kind == "no_gpu":
        return _error("ZeroGPU client error", "No GPU was available")
    if kind == "queue_timeout":
        return _error(
            "ZeroGPU quota exceeded",
            "No GPU was available after 60s. Try re-running outside of examples if it "
            "happened after clicking one",
        )
    if kind == "illegal_duration":
        return _error(
            "ZeroGPU illegal duration",
            f"The requested GPU duration ({requested}s) is larger than the maximum allowed",
        )
    raise ValueError(f"unknown failure {kind!r}")


def _control(requested: int) -> gr.Error | str | None:
    path = os.environ.get("ZEROGPU_STANDIN_CONTROL")
    if not path or not os.path.exists(path):
        return None
    try:
        with open(path) as file:
            control = json.load(file)
    except (OSError, ValueError):
        return None
    if "fail" in control:
        os.remove(path)
        return "abort" if control["fail"] == "abort" else _refusal(control["fail"], requested)
    if "left" in control and requested > int(control["left"]):
        return _refusal("quota", requested, int(control["left"]))
    return None


# ------------------------------------------------------------------ pickles and the record


def _dumps(value: Any) -> tuple[bytes, list[str]]:
    """`value` pickled, and the device of every torch tensor in it."""
    devices: list[str] = []
    torch = sys.modules.get("torch")

    class Pickler(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if torch is not None and isinstance(obj, torch.Tensor):
                devices.append(str(obj.device))
            return NotImplemented

    buffer = io.BytesIO()
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue(), devices


def _record(entry: dict[str, Any]) -> None:
    path = os.environ.get("ZEROGPU_STANDIN_RECORD")
    if not path:
        return
    with _record_lock, open(path, "a") as file:
        file.write(json.dumps(entry) + "\n")


def _seconds(duration: Any, args: tuple, kwargs: dict) -> int:
    """The declared duration of one call, as the real wrapper computes it."""
    if callable(duration):
        duration = duration(*args, **kwargs)
    if duration is None:
        return DEFAULT_DURATION
    if isinstance(duration, timedelta):
        return int(duration.total_seconds())
    return int(timedelta(seconds=duration).total_seconds())


# ------------------------------------------------------------------ the worker


def _server_sockets() -> list[int]:
    """This process's TCP sockets on a port it listens on: the server's listener and its
    connections (spaces.zero.utils.get_process_connections, with the ports it listens on
    instead of Gradio's `server.config.port`)."""
    ports: dict[str, int] = {}  # socket inode -> local port
    listening: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as file:
            for line in file.read().splitlines()[1:]:
                fields = line.split()
                if len(fields) >= 10 and fields[9] != "0":
                    port = int(fields[1].rsplit(":", 1)[1], 16)
                    ports[fields[9]] = port
                    if fields[3] == "0A":  # LISTEN
                        listening.add(port)
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:[") and ports.get(target[8:-1]) in listening:
            found.append(int(name))
    return found


class _Worker:
    """A forked process running `task` for each pickled (args, kwargs) it receives."""

    def __init__(self, task: Callable) -> None:
        self.connection, child = _fork.Pipe()
        server = _server_sockets()
        args = (task, child, server, os.getpid())
        self.process = _fork.Process(target=_serve, args=args, daemon=True)
        self.process.start()
        child.close()

    def call(self, payload: bytes) -> bytes:
        self.connection.send_bytes(payload)
        return self.connection.recv_bytes()

    def close(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.join(5)


def _die_with_the_server(server: int) -> None:
    """A worker ends when its server does, even when the server was killed (later workers hold
    copies of earlier workers' pipes, so EOF never comes). Watched, not by prctl's parent-death
    signal: that follows the thread that forked, and Gradio's pool threads end when idle."""

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="server-watch", daemon=True).start()


def _serve(task: Callable, connection: Any, server: list[int], server_pid: int) -> None:
    global _forked
    _forked = True
    _die_with_the_server(server_pid)
    for fd in server:  # spaces.zero.wrappers.worker_init: "Immediately close file descriptors"
        with contextlib.suppress(OSError):
            os.close(fd)
    while True:
        try:
            args, kwargs = pickle.loads(connection.recv_bytes())
        except (EOFError, OSError):
            return
        outcome: list[tuple[str, Any]] = []
        # In a thread, as the real worker runs each task.
        thread = threading.Thread(target=_run, args=(task, args, kwargs, outcome))
        thread.start()
        thread.join()
        try:
            payload, _ = _dumps(outcome[0])
        except Exception as error:  # an unpicklable result
            payload, _ = _dumps(("error", type(error).__name__))
        connection.send_bytes(payload)


def _run(task: Callable, args: tuple, kwargs: dict, outcome: list[tuple[str, Any]]) -> None:
    try:
        outcome.append(("ok", task(*args, **kwargs)))
    except Exception as error:  # spaces.zero.wrappers.exception_result
        if isinstance(error, gr.Error):
            outcome.append(("gradio_error", error))
        else:
            traceback.print_exc()
            outcome.append(("error", type(error).__name__))


class _Wrapped:
    """One decorated function: its idle worker, and its calls."""

    def __init__(self, task: Callable, duration: Any) -> None:
        functools.update_wrapper(self, task)
        self.task, self.duration = task, duration
        self.idle: _Worker | None = None
        self.lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _forked:
            return self.task(*args, **kwargs)
        requested = _seconds(self.duration, args, kwargs)
        entry: dict[str, Any] = {"function": self.task.__name__, "duration": requested}
        refused = _control(requested)
        if isinstance(refused, gr.Error):
            _record({**entry, "outcome": f"refused: {refused.title}"})
            raise refused
        with self.lock:  # a busy worker is not shared: the call gets a new one
            worker, self.idle = self.idle, None
        new = worker is None or not worker.process.is_alive()
        if new:
            worker = _Worker(self.task)
        if refused == "abort":
            worker.process.kill()
            worker.process.join()
        started = time.perf_counter()
        payload, _ = _dumps((args, kwargs))
        try:
            answer = worker.call(payload)
        except (EOFError, OSError):
            worker.close()
            _record({**entry, "args_bytes": len(payload), "outcome": "aborted"})
            raise _error("ZeroGPU worker error", "GPU task aborted") from None
        kind, value = pickle.loads(answer)
        _, devices = _dumps(value)
        _record(
            {
                **entry,
                "args_bytes": len(payload),
                "result_bytes": len(answer),
                "worker": worker.process.pid,
                "new_worker": new,
                "server": os.getpid(),
                "seconds": round(time.perf_counter() - started, 4),
                "tensors": devices,
                "outcome": kind,
            }
        )
        if kind == "ok":
            with self.lock:
                if self.idle is None:
                    self.idle, worker = worker, None
            if worker is not None:
                worker.close()
            return value
        worker.close()
        if kind == "gradio_error":
            raise value
        raise _error("ZeroGPU worker error", value)
