"""scripts/bench.py end to end, on one image: its JSON report, as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_reports_ratio_exactness_batch_and_app_figures() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "scripts/bench.py",
            *("--images", "1", "--repeats", "1", "--batch", "2", "--weights", "weights"),
            *("--float64", "--app", "--json"),
        ],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    assert report["identical"] is True and report["beyond_tolerance"] == []
    assert set(report["max_relative_error"]) == {
        "saliency",
        "integrated_gradients",
        "ig_smoothgrad_sq",
        "deeplift",
    }
    assert 0 < report["ratio"] < 0.5  # the fast path is several times faster, even on a busy CI
    assert "freed memory retained" in report["machine"]
    for side in ("tutorial", "interpret"):
        assert max(report["float64_error"][side].values()) < 1e-3
    assert report["batch_size"] == 2
    assert report["batch_per_image_s"] > 0 and report["single_per_image_s"] > 0
    app = report["app"]
    assert 0 < app["cold_start_s"] < 120
    assert 0 < app["explain_in_app_s"] < app["explain_round_trip_reused_tls_s"]
    assert app["explain_round_trip_s"] > 0
    # Gradio's floor: the app's answer replayed without computing it is quicker than the app,
    # and gradio_client's default settings (a new TLS context per request) cost more there too.
    assert 0 < app["floor_explain_round_trip_reused_tls_s"] < app["explain_round_trip_reused_tls_s"]
    assert app["floor_explain_round_trip_reused_tls_s"] < app["floor_explain_round_trip_s"]
