"""scripts/bench_machinery.py reports each piece of machinery it measures.

Its figures are printed, not asserted (a busy machine changes them); what is asserted is that
every row ran both sides. It runs in this process (the script's `main`), without the memory row,
whose two extra processes measure what tests/interpret/core/test_memory.py already checks.
"""

from __future__ import annotations

import re

import pytest
from script_runs import load_script

ROW = re.compile(r"^\| (\S[^|]*) \| quiet \| ([\d,.]+) \| ([\d,.]+) \| [\d.]+ \|", re.M)


def test_every_row_runs_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_script("bench_machinery.py")
    bench.main(
        [
            "--repeats",
            "1",
            "--images",
            "1",
            "--neighbour",
            "quiet",
            "--only",
            "workers",
            "disk",
            "first_visit",
        ]
    )
    printed = capsys.readouterr().out
    rows = {name: (without, with_) for name, without, with_ in ROW.findall(printed)}
    assert set(rows) == {"workers", "disk cache", "first visit"}, printed
    assert all(
        float(a.replace(",", "")) > 0 and float(b.replace(",", "")) > 0 for a, b in rows.values()
    )
