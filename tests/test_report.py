"""scripts/faithfulness_report.py: CSV, plot, summary, and resuming without recomputing."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest
from conftest import ROOT, SHARED


def run_report(out, images: int, weights) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "scripts/faithfulness_report.py",
            "--images",
            str(images),
            "--methods",
            "saliency,integrated_gradients",
            "--nt-samples",
            "4",
            "--weights",
            str(weights),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_report_writes_and_resumes(tmp_path, pretrained_dir) -> None:
    if not (SHARED / "cifar10" / "test").is_dir():
        pytest.skip("../shared/cifar10 not available")
    first = run_report(tmp_path, 2, pretrained_dir)
    assert first.returncode == 0, first.stderr
    second = run_report(tmp_path, 3, pretrained_dir)
    assert second.returncode == 0, second.stderr
    with (tmp_path / "faithfulness.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    pairs = [(row["index"], row["method"]) for row in rows]
    assert len(pairs) == len(set(pairs)) == 6  # image 3 added, images 1-2 not recomputed
    labels = {row["label"] for row in rows}
    assert len(labels) == 3  # class-balanced: three different classes
    summary = (tmp_path / "summary.md").read_text()
    assert "| Integrated Gradients |" in summary and "| Saliency |" in summary
    assert (tmp_path / "faithfulness.png").stat().st_size > 10_000
