"""ui/zerogpu.py without a server: the durations its GPU functions declare, where a worker
finds the test set, and the stand-in of `spaces.GPU` the ZeroGPU tests run the app with
(tests/zerogpu_standin): what it keeps of the real wrapper is what those tests rely on."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import gradio as gr
import pytest
from conftest import ROOT

from interpret import DEFAULT_METHODS, METHODS
from interpret.dataset.sampler import Sampler
from ui import zerogpu
from ui.config import DEFAULTS
from ui.dataset import TestSetSource

SETTINGS = {"n_steps": 50, "nt_samples": 100, "stdevs": 0.2, "baseline": "zeros", "seed": 0}
EXTRA = {"occlusion_window": DEFAULTS.occlusion_window, "occlusion_stride": 2}


def explain_duration(methods=DEFAULT_METHODS, settings=SETTINGS, **extra) -> int:
    args = ("default", None, list(methods), None, 0.5, settings, None, {**EXTRA, **extra})
    return zerogpu._explain_seconds(*args)


def test_every_method_has_a_measured_cost() -> None:
    assert set(zerogpu.METHOD_SECONDS) == set(METHODS)


def test_durations_fit_the_request() -> None:
    plain = explain_duration()
    assert plain <= 10  # a few seconds, not ZeroGPU's default 60
    assert explain_duration(["saliency"]) < plain
    assert explain_duration(settings={**SETTINGS, "nt_samples": 500}) > plain
    assert explain_duration(["occlusion"], occlusion_stride=1) > explain_duration(["occlusion"])
    scored = explain_duration(faithfulness=True, sanity=True)
    assert scored > 3 * plain  # trust scores: several times longer
    assert explain_duration(list(METHODS), faithfulness=True) <= zerogpu.LONGEST
    assert zerogpu._set_predictions_seconds("default", "x", 10_000) > zerogpu.seconds(0)
    assert zerogpu._strategies_seconds("default", "x", 10_000, "cat") > plain


def test_a_duration_never_fails_on_bad_input() -> None:
    # The wrapper computes it before the call: the library refuses the values inside it.
    assert explain_duration("no such method", settings={"n_steps": "x", "nt_samples": None}) > 0
    assert explain_duration(["saliency"], occlusion_stride="?") > 0


def test_a_worker_finds_the_set_by_fingerprint_or_says_it_changed() -> None:
    source = TestSetSource(Sampler(), environ={})  # no folder configured: the bundled images
    source.join()
    saved = zerogpu._served
    zerogpu.serve(lambda: type("Served", (), {"dataset": source})())
    try:
        assert zerogpu.images(source.get().fingerprint) is source.get()
        with pytest.raises(RuntimeError, match="changed on disk"):
            zerogpu.images("0" * 64)  # loaded again: another set
    finally:
        zerogpu.serve(saved)


# ------------------------------------------------------------------ the stand-in itself


@pytest.fixture
def spaces(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The stand-in module (under another name: the real `spaces` stays untouched), in
    ZeroGPU mode, recording to a file of this test."""
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setenv("ZEROGPU_STANDIN_RECORD", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("ZEROGPU_STANDIN_CONTROL", str(tmp_path / "control.json"))
    path = ROOT / "tests" / "zerogpu_standin" / "spaces" / "__init__.py"
    spec = importlib.util.spec_from_file_location("zerogpu_standin_spaces", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.tmp_path = tmp_path
    return module


CHANGED: list[int] = []


def test_the_standin_forks_once_pickles_and_shares_nothing_back(spaces) -> None:
    @spaces.GPU(duration=lambda n: 2 * n)
    def inner(n: int) -> int:
        return os.getpid()

    @spaces.GPU(duration=5)
    def outer(n: int) -> tuple[int, int, int]:
        CHANGED.append(n)
        return os.getpid(), inner(n), len(CHANGED)

    first, second = outer(1), outer(2)
    assert first[0] != os.getpid() and first[0] == second[0]  # one worker, reused
    assert first[1] == first[0]  # a decorated call inside the worker runs there, directly
    assert (first[2], second[2]) == (1, 2) and CHANGED == []  # the worker's, not ours
    assert inner(7) != os.getpid()
    record = [
        json.loads(line) for line in (spaces.tmp_path / "calls.jsonl").read_text().splitlines()
    ]
    assert [(r["function"], r["duration"], r["new_worker"]) for r in record] == [
        ("outer", 5, True),
        ("outer", 5, False),
        ("inner", 14, True),
    ]
    assert all(r["args_bytes"] > 0 and r["result_bytes"] > 0 for r in record)


def test_the_standin_fails_as_zerogpu_does(spaces) -> None:
    @spaces.GPU
    def broken() -> None:
        raise KeyError("not a gr.Error")

    @spaces.GPU
    def refused() -> None:
        raise gr.Error("in the app's words", title="Invalid setting")

    with pytest.raises(gr.Error) as caught:
        broken()
    assert (caught.value.title, caught.value.message) == ("ZeroGPU worker error", "KeyError")
    with pytest.raises(gr.Error) as caught:
        refused()
    assert (caught.value.title, caught.value.message) == ("Invalid setting", "in the app's words")
    control = spaces.tmp_path / "control.json"
    control.write_text(json.dumps({"fail": "quota"}))
    with pytest.raises(gr.Error) as caught:
        refused()
    assert caught.value.title == "ZeroGPU quota exceeded" and not control.exists()
    assert "(60s requested vs. 0s left)" in caught.value.message  # the default duration


def test_outside_zerogpu_the_standin_changes_nothing(spaces, monkeypatch) -> None:
    monkeypatch.setenv("SPACES_ZERO_GPU", "false")

    def plain() -> int:
        return os.getpid()

    assert spaces.GPU(plain) is plain and spaces.GPU(duration=3)(plain) is plain


def test_a_worker_outlives_the_thread_that_forked_it(spaces) -> None:
    """Gradio runs each call in a pool thread that ends when idle (anyio's, after 10 s): the
    worker such a call forked keeps serving the calls of other threads."""
    import threading
    import time

    @spaces.GPU(duration=5)
    def worker_pid() -> int:
        return os.getpid()

    forked: list[int] = []
    thread = threading.Thread(target=lambda: forked.append(worker_pid()))
    thread.start()
    thread.join()
    time.sleep(0.5)  # what the thread's end would do to the worker, done
    assert worker_pid() == forked[0]


def test_a_stand_in_worker_ends_when_its_server_is_killed(tmp_path: Path) -> None:
    """Workers must not outlive a killed server (the real ones are the Space's processes)."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "server.py"
    script.write_text(
        "import os, spaces\n"
        "@spaces.GPU(duration=5)\n"
        "def worker_pid():\n"
        "    return os.getpid()\n"
        "print(worker_pid(), flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    env = {
        **os.environ,
        "SPACES_ZERO_GPU": "true",
        "PYTHONPATH": str(ROOT / "tests" / "zerogpu_standin"),
        "ZEROGPU_STANDIN_RECORD": str(tmp_path / "calls.jsonl"),
    }
    server = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE)
    worker = int(server.stdout.readline())
    assert worker != server.pid and Path(f"/proc/{worker}").exists()
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{worker}").exists(), "the stand-in's worker outlived its server"
