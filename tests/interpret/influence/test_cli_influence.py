"""``python -m interpret influence``: the top proponents and opponents printed, the scores and
the JSON written, the numbers the library's; weights without checkpoints refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import example
from influence_history import train_history
from synthetic_data import synthetic_cifar10

from interpret.cli import main
from interpret.core.model import hub_config
from interpret.core.weights import PROJECT_ROOT
from interpret.dataset.train_split import load_training_set
from interpret.influence import build_index, history_for, training_influence


def test_influence_prints_and_writes_the_librarys_answer(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cifar = synthetic_cifar10(tmp_path_factory)
    monkeypatch.setenv("INTERPRET_CIFAR10_DIR", str(cifar))
    monkeypatch.setenv("INTERPRET_CACHE_DIR", str(tmp_path / "cache"))
    training_set = load_training_set()
    weights = tmp_path / "weights"
    model = train_history(weights, training_set, epochs=(1, 2), steps_per_epoch=2)
    model.save_pretrained(weights, config=hub_config())
    out = tmp_path / "out"
    status = main(
        ["influence", str(example(3)), "--weights", str(weights), "--k", "3", "--out", str(out)]
    )
    assert status == 0
    printed = capsys.readouterr().out
    expected = training_influence(
        build_index(model, history_for(model, weights), training_set), example(3), k=3
    )
    written = json.loads((out / "influence.json").read_text())
    assert written == json.loads(json.dumps(expected.to_dict()))
    assert np.array_equal(np.load(out / "scores.npz")["scores"], expected.scores)
    first = expected.proponents[0]
    assert f"proponents: #{first.index} {first.label_class}" in printed
    assert f"TracIn over {len(training_set):,} images" in printed
    args = ["influence", str(example(3)), "--weights", str(weights), "--target", "cat"]
    assert main([*args, "--out", str(tmp_path / "cat")]) == 0
    cat = json.loads((tmp_path / "cat" / "influence.json").read_text())
    assert cat["target"] == "cat" and len(cat["proponents"]) == 8
    assert main([*args, "--query-loss", "training", "--out", str(tmp_path / "smoothed")]) == 0
    smoothed = json.loads((tmp_path / "smoothed" / "influence.json").read_text())
    literal = training_influence(
        build_index(model, history_for(model, weights), training_set),
        example(3),
        "cat",
        query_loss="training",
    )
    assert smoothed == json.loads(json.dumps(literal.to_dict())) != cat


def test_weights_without_checkpoints_exit_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tutorial = PROJECT_ROOT / "weights" / "tutorial"
    status = main(
        ["influence", str(example(0)), "--weights", str(tutorial), "--out", str(tmp_path)]
    )
    error = capsys.readouterr().err.strip()
    assert status == 2 and error.startswith("error: model 'tutorial' has no training checkpoints")
    assert "\n" not in error
