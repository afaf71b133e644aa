"""scripts/faithfulness_report.py: CSV, plot, summary, and resuming without recomputing.

It runs on the synthetic CIFAR-10-layout ImageFolder and weights trained on it
(tests/synthetic_data.py), so it needs nothing beside the project; its `main` runs in this
process, with the arguments a user types (tests/script_runs.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from script_runs import run_main
from synthetic_data import TEST_PER_CLASS, synthetic_cifar10, synthetic_weights

from interpret import explain
from interpret.core.weights import load_model
from interpret.dataset.training import cifar10_dataset, load_uint8, predict


def run_report(out: Path, images: int, weights: Path, data_dir: Path) -> None:
    status, _ = run_main(
        "faithfulness_report.py",
        "--data-dir",
        data_dir,
        "--images",
        images,
        "--methods",
        "saliency,integrated_gradients",
        "--nt-samples",
        "4",
        "--weights",
        weights,
        "--out",
        out,
    )
    assert status == 0


def test_report_writes_and_resumes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data_dir, weights = synthetic_cifar10(tmp_path_factory), synthetic_weights(tmp_path_factory)
    run_report(tmp_path, 1, weights, data_dir)
    table = tmp_path / "faithfulness.csv"
    first_rows = table.read_text().splitlines()
    run_report(tmp_path, 2, weights, data_dir)
    assert table.read_text().splitlines()[: len(first_rows)] == first_rows  # appended, kept
    with table.open() as handle:
        rows = list(csv.DictReader(handle))
    pairs = [(row["index"], row["method"]) for row in rows]
    assert len(pairs) == len(set(pairs)) == 4  # image 2 added, image 1 not recomputed
    # Class-balanced: the first image of each of the first two classes, with its true label
    # and the prediction of the given weights for that very image.
    indices = [0, TEST_PER_CLASS]
    images, labels = load_uint8(cifar10_dataset(data_dir, train=False), indices)
    net = load_model(weights, device="cpu")
    predictions = predict(net, images)
    expected = {
        (str(i), str(int(label)), str(int(predicted)))
        for i, label, predicted in zip(indices, labels, predictions)
    }
    assert {(row["index"], row["label"], row["prediction"]) for row in rows} == expected
    assert labels.tolist() == [0, 1]
    # Each row's scores are those of its own image: the areas differ from image to image by
    # about 1e-2 here, and the same computation in this process repeats them.
    dataset = cifar10_dataset(data_dir, train=False)
    by_key = {(int(row["index"]), row["method"]): row for row in rows}
    for index in indices:
        expected_scores = explain(
            net, dataset[index][0], ["saliency"], overlays=False, faithfulness=True
        ).faithfulness["saliency"]
        for score in ("deletion_auc", "insertion_auc"):
            got = float(by_key[index, "saliency"][score])
            assert got == pytest.approx(expected_scores[score], rel=1e-3), (index, score)
    for row in rows:
        assert 0 <= float(row["deletion_auc"]) <= 1 and 0 <= float(row["insertion_auc"]) <= 1
        assert row["sanity_flagged"] in {"0", "1"}
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("2 CIFAR-10 test images, weights ")
    assert "| Integrated Gradients |" in summary and "| Saliency |" in summary
    assert (tmp_path / "faithfulness.png").stat().st_size > 10_000
