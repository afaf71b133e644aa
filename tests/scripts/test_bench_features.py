"""scripts/bench_features.py on the bundled examples, in this process (the script's `main`).

Its times are printed, not asserted (a busy machine changes them); what is asserted is that
every row ran both sides and that the batched shares are the hooked Captum calls' numbers."""

from __future__ import annotations

import json

import pytest
from script_runs import load_script


def test_every_row_runs_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_script("bench_features.py")
    assert bench.main(["--repeats", "1", "--sample", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 20
    shares = report["shares"]
    assert shares["batched_s"] > 0 and shares["hooked_captum_s"] > 0
    assert shares["max_difference"] < 1e-3  # the same maps, up to float32 rounding at ties
    for row in ("top_images", "atlas"):
        assert report[row]["cold_s"] > 0 and report[row]["cached_s"] > 0
    assert report["atlas"]["correct_images"] > 0
    assert report["atlas_per_image"]["forward_mode_s"] > 0
    assert report["features_with_cached_top_images_s"] > 0
