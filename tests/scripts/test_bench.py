"""scripts/bench.py end to end, on one image: its JSON report, as a user would run it.

Its speed figures are reported, not asserted (a busy machine changes them); what is asserted
is the report's shape, its exactness verdicts, and that it fails when a map breaks the
contract.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
METHODS = {"saliency", "integrated_gradients", "ig_smoothgrad_sq", "deeplift"}


def run_bench(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), *args, "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_bench_reports_ratio_exactness_batch_and_app_figures() -> None:
    weights = str(REPO / "weights")
    args = ("--images", "1", "--repeats", "1", "--batch", "2", "--weights", weights, "--app")
    completed = run_bench(*args)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    assert report["contract_holds"] is True
    assert {row["method"] for row in report["exactness"]} == METHODS
    for row in report["exactness"]:
        for side in ("tutorial", "interpret"):
            verdict = row[side]
            assert verdict["holds"] and verdict["residual"] <= 1e-5
            assert verdict["tie_flips"] == 0 or verdict["error"] > verdict["residual"]
    for side in ("tutorial", "interpret"):
        assert set(report["error_vs_exact"][side]) == METHODS
    assert report["ratio"] > 0 and "freed memory retained" in report["machine"]
    assert report["batch_size"] == 2
    assert report["batch_per_image_s"] > 0 and report["single_per_image_s"] > 0
    app = report["app"]
    assert 0 < app["cold_start_s"] < 300  # a guard against a hang, not a speed bound
    assert 0 < app["explain_in_app_s"] < app["explain_round_trip_reused_tls_s"]
    for figure in ("explain_round_trip_s", "floor_explain_round_trip_s"):
        assert app[figure] > 0


@pytest.mark.slow
def test_bench_exits_non_zero_when_a_map_breaks_the_contract(tmp_path: Path) -> None:
    """A library whose maps are 0.1 % off: the bench says so and fails."""
    shim = tmp_path / "sitecustomize.py"
    shim.write_text(
        "import dataclasses\n"
        "from interpret.attribution import methods\n"
        "run = methods.METHODS['integrated_gradients'].run\n"
        "def off(*args):\n"
        "    maps, delta = run(*args)\n"
        "    return maps * 1.001, delta\n"
        "methods.METHODS['integrated_gradients'] = dataclasses.replace(\n"
        "    methods.METHODS['integrated_gradients'], run=off)\n"
    )
    path = os.pathsep.join([str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")])
    completed = run_bench(
        "--images", "1", "--repeats", "1", "--weights", str(REPO / "weights"), PYTHONPATH=path
    )
    assert completed.returncode == 1, completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    assert report["contract_holds"] is False
    broken = [row for row in report["exactness"] if not row["interpret"]["holds"]]
    assert [row["method"] for row in broken] == ["integrated_gradients"]
    assert all(row["tutorial"]["holds"] for row in report["exactness"])
