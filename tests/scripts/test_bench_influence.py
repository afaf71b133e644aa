"""scripts/bench_influence.py on a synthetic training split and a history the test trains, in
this process (the script's `main`); scripts/bench_influence_app.py through its own app.

Its times are printed, not asserted (a busy machine changes them); what is asserted is that
every row ran, that the library's scores are Captum's, and that the Space's two sources were
both measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import free_port
from influence_history import train_history
from script_runs import load_script
from synthetic_data import synthetic_cifar10

from interpret.core.model import hub_config
from interpret.dataset.train_split import open_local_train


def test_every_row_runs(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    cifar = synthetic_cifar10(tmp_path_factory)
    weights = tmp_path / "weights"
    training_set = open_local_train(cifar, cache_dir=tmp_path / "cache")
    model = train_history(weights, training_set, epochs=(1, 2, 3), steps_per_epoch=2)
    model.save_pretrained(weights, config=hub_config())
    bench = load_script("bench_influence.py")
    args = ["--weights", str(weights), "--data-dir", str(cifar), "--repeats", "2"]
    assert bench.main([*args, "--captum-images", "120", "--space", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 300 and report["checkpoints"] == 3
    assert report["decode_cold_s"] > 0 and report["decode_from_cache_s"] > 0
    for storage in ("float16", "float32"):
        assert report["index_cold_s"][storage] > 0 and report["index_from_cache_s"][storage] > 0
    assert report["index_bytes"]["float16"] < 0.6 * report["index_bytes"]["float32"]
    assert report["query_s"] > 0 and report["self_influence_ranking_s"] > 0
    captum = report["captum"]
    assert captum["images"] == 120 and captum["max_difference_relative"] < 1e-5
    assert captum["same_top8"] is True
    assert report["float16"]["max_difference_relative"] < 5e-3
    for loss in ("target", "training"):
        shares = report["bundled_proponents_share_label"][loss]
        assert set(shares) == {"images", "shares", "mean_share", "min_share"}
    space = report["space"]
    assert space["parquet_bytes"] > 0 and space["thumbnails_bytes"] > 0
    assert space["parquet_first_answer_s"] > 0 and space["precomputed_first_answer_s"] > 0


@pytest.mark.slow
def test_the_app_benchmark_times_every_endpoint(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """scripts/bench_influence_app.py: its own `python app.py` on the synthetic training split,
    the shipped weights with a stand-in history; every figure measured, the index its size."""
    cifar = synthetic_cifar10(tmp_path_factory)
    bench = load_script("bench_influence_app.py")
    args = ["--data-dir", str(cifar), "--stand-in", "--repeats", "1", "--port", str(free_port())]
    assert bench.main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["training_images"] == 300 and report["checkpoints"] == 5
    for figure in ("first_hardest_s", "hardest_median_s", "influence_median_s"):
        assert report[figure] > 0
    assert report["first_influence_s (training set load + index + query)"] > 0
    assert report["predict_median_s (upload and queue, same image)"] > 0
    assert 0 < report["influence_range_s"][0] <= report["influence_range_s"][1]
