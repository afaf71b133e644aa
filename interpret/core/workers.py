"""Run independent CPU passes on single-threaded workers instead of one two-thread pass.

Torch splits each operation across its intra-op threads and waits for all of them at the
end. A pass of the fast path is hundreds of small operations, so when a neighbour holds one
core, every one of them waits for the slow thread: NoiseTunnel(IG) went from ~100 ms to
~500 ms on a 2-core machine with one core busy. Independent passes on
single-threaded workers wait for nothing and took ~190 ms; on a quiet machine they are a
little faster too. Results are gathered in order, so sums are bit-for-bit those of a
serial run.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")

STARTUP_TIMEOUT_S = 30
log = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_failed = False  # once workers could not start, passes stay serial
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """A forked child (ZeroGPU runs requests in one) has none of the parent's threads."""
    global _pool, _pool_size, _pool_failed
    _pool, _pool_size, _pool_failed = None, 0, False


os.register_at_fork(after_in_child=_forget_pool)


def _single_threaded_pool(size: int) -> ThreadPoolExecutor | None:
    """`size` workers with one intra-op thread each, started now; None if they cannot start.

    `torch.set_num_threads` also sets the default for threads that start using torch later,
    so once every worker has set 1 for itself, the default goes back to `size`.
    """
    global _pool, _pool_size, _pool_failed
    with _pool_lock:
        if _pool_failed:
            return None
        if _pool is None or _pool_size != size:
            started = threading.Barrier(size + 1, timeout=STARTUP_TIMEOUT_S)

            def one_thread() -> None:
                torch.get_num_threads()  # torch's lazy per-thread setup first: it would reset 1
                torch.set_num_threads(1)
                started.wait()

            pool = ThreadPoolExecutor(size, "interpret-pass", initializer=one_thread)
            try:
                for _ in range(size):  # each blocks in the barrier, so each starts a new worker
                    pool.submit(int)
                started.wait()
            except (threading.BrokenBarrierError, RuntimeError):
                log.warning("single-threaded workers did not start; running passes serially")
                pool.shutdown(wait=False, cancel_futures=True)
                _pool_failed = True
                return None
            finally:
                torch.set_num_threads(size)
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = pool, size
        return _pool


def map_in_order(
    function: Callable[[Item], Result], items: Iterable[Item], device: torch.device
) -> list[Result]:
    """[function(item) for item in items], on single-threaded CPU workers where that helps."""
    items = list(items)
    threads = torch.get_num_threads()
    pool = None
    if device.type == "cpu" and threads > 1 and len(items) > 1:
        pool = _single_threaded_pool(threads)
    if pool is None:
        return [function(item) for item in items]
    return list(pool.map(function, items))
