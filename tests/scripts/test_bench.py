"""scripts/bench.py end to end, on one image: its JSON report, as a user runs it (with --app it
starts `python app.py` and scripts/gradio_floor.py itself). Both runs are processes of their
own, run in conftest's background lane while other tests run.

Its speed figures are reported, not asserted (a busy machine changes them); what is asserted
is the report's shape, its exactness verdicts, and that it fails when a map breaks the
contract.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from conftest import ROOT, Command, Finished
from contract import OFF_BY_A_THOUSANDTH

BENCHED = {"saliency", "integrated_gradients", "ig_smoothgrad_sq", "deeplift"}
ONE_IMAGE = ("--images", "1", "--repeats", "1", "--weights", "weights", "--json")
BACKGROUND = {
    "test_bench_reports_ratio_exactness_batch_and_app_figures": Command(
        (sys.executable, "scripts/bench.py", *ONE_IMAGE, "--batch", "2", "--app")
    ),
    "test_bench_exits_non_zero_when_a_map_breaks_the_contract": Command(
        (sys.executable, "scripts/bench.py", *ONE_IMAGE),
        env={"PYTHONPATH": f"{{tmp}}{os.pathsep}{ROOT}"},
        files={"sitecustomize.py": OFF_BY_A_THOUSANDTH},
    ),
}


@pytest.mark.slow
def test_bench_reports_ratio_exactness_batch_and_app_figures(background_run: Finished) -> None:
    assert background_run.returncode == 0, background_run.stderr[-2000:]
    report = json.loads(background_run.stdout)
    assert report["contract_holds"] is True
    assert {row["method"] for row in report["exactness"]} == BENCHED
    for row in report["exactness"]:
        for side in ("tutorial", "interpret"):
            verdict = row[side]
            assert verdict["holds"] and verdict["residual"] <= 1e-5
            assert verdict["tie_flips"] == 0 or verdict["error"] > verdict["residual"]
    for side in ("tutorial", "interpret"):
        assert set(report["error_vs_exact"][side]) == BENCHED
    assert report["ratio"] > 0 and "freed memory retained" in report["machine"]
    assert report["batch_size"] == 2
    assert report["batch_per_image_s"] > 0 and report["single_per_image_s"] > 0
    app = report["app"]
    assert 0 < app["cold_start_s"] < 300  # a guard against a hang, not a speed bound
    for figure in (
        "explain_in_app_s",
        "explain_round_trip_s",
        "explain_round_trip_reused_tls_s",
        "floor_explain_round_trip_s",
    ):
        assert app[figure] > 0


@pytest.mark.slow
def test_bench_exits_non_zero_when_a_map_breaks_the_contract(background_run: Finished) -> None:
    """A library whose maps are 0.1 % off: the bench says so and fails."""
    assert background_run.returncode == 1, background_run.stderr[-2000:]
    report = json.loads(background_run.stdout)
    assert report["contract_holds"] is False
    broken = [row for row in report["exactness"] if not row["interpret"]["holds"]]
    assert [row["method"] for row in broken] == ["integrated_gradients"]
    assert all(row["tutorial"]["holds"] for row in report["exactness"])
