"""Independent CPU passes on single-threaded workers: same results, torch's threads untouched."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator

import pytest
import torch
from conftest import ROOT, example

from interpret import load_model
from interpret.attribution import fast
from interpret.core.preprocess import model_image, to_tensor
from interpret.core.workers import map_in_order

CPU = torch.device("cpu")


@pytest.fixture
def two_threads() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_results_come_back_in_order_from_worker_threads(two_threads: None) -> None:
    callers = set()

    def square(value: int) -> int:
        callers.add(threading.current_thread().name)
        return value * value

    assert map_in_order(square, range(50), CPU) == [v * v for v in range(50)]
    assert callers and all(name.startswith("interpret-pass") for name in callers)


def test_workers_run_single_threaded_and_leave_torch_defaults_alone(two_threads: None) -> None:
    assert set(map_in_order(lambda _: torch.get_num_threads(), range(8), CPU)) == {1}
    assert torch.get_num_threads() == 2
    seen = []
    later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    later.start()
    later.join()
    assert seen == [2]  # a thread that starts using torch afterwards gets the usual default


def test_one_thread_or_one_item_runs_in_the_caller() -> None:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        names = map_in_order(lambda _: threading.current_thread().name, range(4), CPU)
    finally:
        torch.set_num_threads(previous)
    assert set(names) == {threading.current_thread().name}


def test_smoothgrad_on_workers_is_bit_for_bit_the_serial_result(
    two_threads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load_model(ROOT / "weights", device="cpu")
    inputs = torch.cat([to_tensor(model_image(example(i))) for i in (0, 7)])
    baselines, targets = inputs * 0, torch.tensor([3, 6])
    pooled = fast.ig_smoothgrad_sq(model, inputs, baselines, targets, 50, 30, 0.2, 0)
    monkeypatch.setattr(fast, "map_in_order", lambda f, items, device: [f(i) for i in items])
    serial = fast.ig_smoothgrad_sq(model, inputs, baselines, targets, 50, 30, 0.2, 0)
    assert torch.equal(pooled, serial)


def _in_child(queue) -> None:
    queue.put(map_in_order(lambda v: v + 1, range(6), CPU))


def test_a_forked_child_gets_fresh_workers(two_threads: None) -> None:
    map_in_order(abs, range(4), CPU)  # the parent has its workers
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0, "the child hung or failed on the parent's dead workers"
    assert queue.get(timeout=5) == [1, 2, 3, 4, 5, 6]


def test_one_pass_holding_every_image_gives_the_same_maps(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPU runs all noisy copies of a batch in one pass; CPU passes hold 25 copies here."""
    model = load_model(ROOT / "weights", device="cpu")
    inputs = torch.cat([to_tensor(model_image(example(i))) for i in (1, 2, 9)])
    baselines, targets = inputs * 0, torch.tensor([8, 8, 1])
    passes = []

    def counted(function, items, device):
        items = list(items)
        passes.append(len(items))
        return map_in_order(function, items, device)

    monkeypatch.setattr(fast, "map_in_order", counted)
    chunked = fast.ig_smoothgrad_sq(model, inputs, baselines, targets, 20, 16, 0.2, 3)
    monkeypatch.setattr(fast, "POOLED_ROWS_PER_CHUNK", 65536)
    whole = fast.ig_smoothgrad_sq(model, inputs, baselines, targets, 20, 16, 0.2, 3)
    assert passes == [2, 1]  # 48 noisy copies: 25 a pass, then all of them in one
    assert torch.allclose(whole, chunked, rtol=1e-5, atol=1e-9)


def test_workers_that_cannot_start_leave_passes_serial(
    two_threads: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Once workers failed to start, later passes run serially at once: no second pool is
    built, so no worker tries to start again and nothing waits for one (counted, not timed)."""
    from interpret.core import workers

    real = torch.set_num_threads
    worker_starts: list[str] = []

    def refuse_in_workers(count: int) -> None:
        name = threading.current_thread().name
        if name.startswith("interpret-pass"):
            worker_starts.append(name)
            raise RuntimeError("no threads for you")
        real(count)

    workers._forget_pool()
    monkeypatch.setattr(workers, "STARTUP_TIMEOUT_S", 1)
    monkeypatch.setattr(workers.torch, "set_num_threads", refuse_in_workers)
    try:
        names = map_in_order(lambda _: threading.current_thread().name, range(4), CPU)
        assert set(names) == {threading.current_thread().name}
        assert "running passes serially" in caplog.text
        assert worker_starts, "no worker ever tried to start"
        tried = len(worker_starts)
        caplog.clear()
        assert map_in_order(lambda v: v * 2, range(4), CPU) == [0, 2, 4, 6]
        assert len(worker_starts) == tried  # no second pool, so no second wait for workers
        assert "running passes serially" not in caplog.text
        assert torch.get_num_threads() == 2
    finally:
        workers._forget_pool()
