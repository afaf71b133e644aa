"""Which near ties a float32 map took the other way: a search over the flips' effects.

Each option is one near tie of one path point taken the other way, with its effect on the map
(a vector). The search finds options, at most one outcome per near tie, whose effects add up to
the difference between a float32 map and the exact one: greedy least squares refined by single
moves, and where many options act alike, moves within groups of them (`best_move`) or the
fewest flips as an integer program (HiGHS).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

INTEGER_PROGRAM_SECONDS = 30.0
MAX_REFINEMENTS = 64  # single moves after the greedy search
MAX_SWAPS = 200_000  # chosen x options beyond which the refinement is skipped (time)
PROBE_PIXELS = 64  # where a move is bounded from below before it is measured everywhere


@contextmanager
def _native_stdout_silenced() -> Iterator[None]:
    """HiGHS prints some solver notes from C++ straight to file descriptor 1, whatever `disp`
    says; a report on stdout (bench.py --json) must stay clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class Option(Protocol):
    point: int  # which near-tie point
    tie: int  # which of its near ties


def fewest_flips(
    difference: np.ndarray, effects: np.ndarray, ties: list[list[int]], slack: float
) -> list[int] | None:
    """min sum(c) over c in {0, 1}^n with |difference - c @ effects| <= slack everywhere and
    at most one outcome per near tie; None when HiGHS finds none in time."""
    n = effects.shape[0]
    rows = [row for row, options in enumerate(ties) for _ in options]
    columns = [index for options in ties for index in options]
    one_per_tie = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(ties), n))
    with _native_stdout_silenced():
        result = milp(
            np.ones(n),
            constraints=[
                LinearConstraint(
                    sparse.csr_matrix(effects.T), difference - slack, difference + slack
                ),
                LinearConstraint(one_per_tie, 0, 1),
            ],
            integrality=np.ones(n),
            bounds=Bounds(0, 1),
            options={"time_limit": INTEGER_PROGRAM_SECONDS, "disp": False},
        )
    if result.x is None:
        return None
    return [int(i) for i in np.nonzero(result.x > 0.5)[0]]


def greedy(difference: np.ndarray, effects: np.ndarray, flips: list[Option]) -> list[int]:
    """Least squares one flip at a time: add the flip (or drop a chosen one) that lowers the
    squared residual most, at most one outcome per near tie, until nothing lowers it."""
    norms = (effects**2).sum(1)
    residual = difference.copy()
    tie_of = [(flip.point, flip.tie) for flip in flips]
    chosen: dict[tuple[int, int], int] = {}
    for _ in range(2 * len(flips) + 1):
        dots = effects @ residual
        gains = 2 * dots - norms  # of adding each flip
        taken = np.array([chosen.get(tie) == i for i, tie in enumerate(tie_of)])
        busy = np.array([tie in chosen for tie in tie_of])
        gains[busy] = -np.inf
        gains[taken] = -(2 * dots[taken] + norms[taken])  # of dropping it
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        if taken[best]:
            del chosen[tie_of[best]]
            residual += effects[best]
        else:
            chosen[tie_of[best]] = best
            residual -= effects[best]
    return list(chosen.values())


def refine(
    difference: np.ndarray, effects: np.ndarray, flips: list[Option], chosen: list[int]
) -> list[int]:
    """Improve a greedy choice by single moves on the largest residual: add a flip, drop one,
    or swap one for another (many near ties act alike, e.g. one pooling window at many
    steps of a path, where least squares alone picks the wrong ones)."""
    tie_of = [(flip.point, flip.tie) for flip in flips]
    chosen = list(chosen)
    residual = difference - effects[chosen].sum(0)
    for _ in range(MAX_REFINEMENTS):
        if len(chosen) * len(flips) > MAX_SWAPS:
            break
        busy = {tie_of[i] for i in chosen}
        free = [j for j in range(len(flips)) if tie_of[j] not in busy and j not in chosen]
        probe = np.argsort(np.abs(residual))[-PROBE_PIXELS:]
        probed = effects[:, probe]
        best, after = float(np.abs(residual).max()), None
        if free:
            best, row = _best_row(residual, free, effects, probe, probed, best)
            after = after if row is None else [*chosen, row]
        for position, i in enumerate(chosen):
            others = chosen[:position] + chosen[position + 1 :]
            dropped = float(np.abs(residual + effects[i]).max())
            if dropped < best:
                best, after = dropped, others
            swaps = free + [j for j in range(len(flips)) if tie_of[j] == tie_of[i] and j != i]
            if swaps:
                best, row = _best_row(residual + effects[i], swaps, effects, probe, probed, best)
                after = after if row is None else [*others, row]
        if after is None:
            break
        chosen = after
        residual = difference - effects[chosen].sum(0)
    return chosen


def _best_row(
    base: np.ndarray,
    rows: list[int],
    effects: np.ndarray,
    probe: np.ndarray,
    probed: np.ndarray,
    bound: float,
) -> tuple[float, int | None]:
    """The row j of `rows` with the smallest max |base - effects[j]|, if below `bound`. The
    probe pixels (where the residual is largest) bound each row from below, so only rows
    that may beat `bound` are measured on every pixel: the same answer, for less work."""
    lower = np.abs(base[probe] - probed[rows]).max(1)
    hopeful = np.asarray(rows)[lower < bound]
    if not len(hopeful):
        return bound, None
    values = np.abs(base - effects[hopeful]).max(1)
    best = int(values.argmin())
    if values[best] >= bound:
        return bound, None
    return float(values[best]), int(hopeful[best])


def best_move(
    residual: np.ndarray, undo: np.ndarray, take: np.ndarray
) -> tuple[float, int | None, int | None]:
    """The best single move within one group of alike options: undo a taken one (a row of
    `undo`: the effect of undoing it), take a free one (a row of `take`), or both at once.
    The largest residual it leaves, and the rows it moves (None: that side stays)."""
    best: tuple[float, int | None, int | None] = (float(np.abs(residual).max()), None, None)
    dropped = np.abs(residual - undo).max(1)
    if dropped.min() < best[0]:
        best = (float(dropped.min()), int(dropped.argmin()), None)
    if len(take):
        added = np.abs(residual - take).max(1)
        if added.min() < best[0]:
            best = (float(added.min()), None, int(added.argmin()))
        for row, undone in enumerate(undo):
            swapped = np.abs(residual - undone - take).max(1)
            if swapped.min() < best[0]:
                best = (float(swapped.min()), row, int(swapped.argmin()))
    return best
