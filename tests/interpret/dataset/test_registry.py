"""The model registry: the built-in models (the shipped weights and the converted tutorial
checkpoint), more from INTERPRET_MODELS, accuracy from metrics.json or measured, and errors
in words that name no server directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, SHARED
from safetensors.torch import load_file

from interpret import Net, load_model
from interpret.dataset import predictions as predictions_module
from interpret.dataset import sources as testset
from interpret.dataset.registry import Registry, RegistryError, default_registry, parse_models

TUTORIAL = ROOT / "weights" / "tutorial"
FULL = SHARED / "cifar10"


def test_built_in_models_with_their_recorded_accuracy() -> None:
    registry = default_registry({})
    assert registry.names() == ["retrained", "tutorial"]
    rows = {row["name"]: row for row in registry.describe()}
    shipped = json.loads((ROOT / "weights" / "metrics.json").read_text())["test_top1"]
    assert rows["retrained"]["accuracy"] == shipped
    assert rows["tutorial"]["accuracy"] == 0.5842
    assert rows["retrained"]["weights"] == "weights"
    assert rows["tutorial"]["weights"] == "weights/tutorial"
    assert rows["tutorial"]["accuracy_source"].startswith("metrics.json (CIFAR-10 test set")
    net = registry.load("tutorial")
    assert registry.load("tutorial") is net  # loaded once
    described = {row["name"]: row for row in registry.describe()}["tutorial"]["weights"]
    assert described.startswith("dir:weights/tutorial/model.safetensors (sha256 e5300b9c")


def test_tutorial_weights_are_the_tutorials_checkpoint_under_its_license(reference_path) -> None:
    original = torch.load(reference_path, map_location="cpu", weights_only=True)
    converted = load_file(TUTORIAL / "model.safetensors")
    assert converted.keys() == original.keys()
    for name, tensor in original.items():
        assert torch.equal(converted[name], tensor), name
    metrics = json.loads((TUTORIAL / "metrics.json").read_text())
    assert metrics["license"] == "BSD-3-Clause"
    assert metrics["source_sha256"].startswith("228d8332")
    assert (TUTORIAL / "LICENSE").read_text().startswith("BSD 3-Clause License")
    assert not (TUTORIAL / "README.md").exists()  # the mixin's card would say MIT


@pytest.mark.skipif(not FULL.is_dir(), reason=f"no CIFAR-10 copy at {FULL}")
@pytest.mark.slow
def test_recorded_accuracies_are_what_the_full_test_set_gives(tmp_path: Path) -> None:
    """metrics.json of both built-in models against the library's own predictions on the
    same copy (test_browse checks those against scripts/evaluate.py)."""
    data = testset.open_local(FULL)
    registry = default_registry({})
    for name in registry.names():
        recorded, _ = registry.accuracy(name)
        measured = predictions_module.predict_test_set(
            registry.load(name), data, cache_dir=tmp_path
        ).accuracy
        assert recorded == pytest.approx(measured, abs=1e-4), name


def test_models_from_the_environment(pretrained_dir: Path) -> None:
    text = f"mine={pretrained_dir}, other=owner/repo@abc123 ,bare/repo, x=, mine=dup, bad!name=a/b"
    entries, problems = parse_models(text)
    assert [(e.name, e.source) for e in entries] == [
        ("mine", str(pretrained_dir)),
        ("other", "owner/repo@abc123"),
        ("repo", "bare/repo"),
    ]
    assert problems == [
        "INTERPRET_MODELS entry 'x=' has no weights source",
        "INTERPRET_MODELS names 'mine' twice; the first is kept",
        "INTERPRET_MODELS entry 'bad!name=a/b': a name is 1-40 letters, digits, spaces or "
        "_ . + -, starting with a letter or digit",
    ]
    registry = default_registry({"INTERPRET_MODELS": text})
    assert registry.names() == ["retrained", "tutorial", "mine", "other", "repo"]
    assert registry.problems == problems
    mine = registry.load("mine")
    reference = load_model(pretrained_dir, device="cpu")
    for name, tensor in reference.state_dict().items():
        assert torch.equal(mine.state_dict()[name], tensor)


def test_unknown_and_unloadable_models_say_why_without_server_paths(tmp_path: Path) -> None:
    hidden = tmp_path / "private-server-dir" / "weights"
    hidden.mkdir(parents=True)
    (hidden / "model.safetensors").write_bytes(b"not safetensors")
    registry = default_registry({"INTERPRET_MODELS": f"broken={hidden},hub=owner/missing@main"})
    with pytest.raises(RegistryError) as unknown:
        registry.load("resnet")
    assert str(unknown.value) == (
        "unknown model 'resnet'; choose one of retrained, tutorial, broken, hub"
    )
    with pytest.raises(RegistryError) as broken:
        registry.load("broken")
    assert str(broken.value) == "model 'broken' cannot be loaded (see the server log)"
    with pytest.raises(RegistryError) as offline:
        registry.load("hub")  # the session is offline (conftest)
    assert str(offline.value).startswith("model 'hub' cannot be loaded (hub:owner/missing@main:")
    assert "HF_HUB_OFFLINE" in str(offline.value)
    rows = {row["name"]: row for row in registry.describe()}
    assert rows["broken"]["weights"] == "weights"  # the folder's name only, not where it is
    assert "private-server-dir" not in json.dumps(rows)


def test_an_environment_entry_may_replace_a_built_in_name(pretrained_dir: Path) -> None:
    registry = default_registry({"INTERPRET_MODELS": f"tutorial={pretrained_dir}"})
    assert registry.names() == ["retrained", "tutorial"]
    assert registry.entry("tutorial").source == str(pretrained_dir)


def test_accuracy_without_metrics_is_measured_on_a_full_set_or_explained(
    pretrained_dir: Path, tmp_path: Path
) -> None:
    registry = Registry()
    registry.add("seeded", pretrained_dir)
    bundled = testset.bundled()
    accuracy, why = registry.accuracy("seeded", bundled)
    assert accuracy is None
    assert why == "no metrics.json, and only the 20 bundled CIFAR-10 test images to measure on"
    assert registry.accuracy("seeded") == (None, "no metrics.json, and no test set to measure on")
    as_full = testset.ImageSet(bundled.images, bundled.labels, "a full set", "test", full=True)
    accuracy, why = registry.accuracy("seeded", as_full, cache_dir=tmp_path)
    expected = predictions_module.predict_test_set(
        Net.from_pretrained(pretrained_dir).eval(), as_full, cache_dir=tmp_path
    ).accuracy
    assert (accuracy, why) == (expected, "measured on a full set")
    assert 0.0 <= accuracy <= 1.0 and np.isfinite(accuracy)


def test_a_loaded_model_can_be_registered_as_it_is(shipped_net) -> None:
    registry = Registry()
    registry.add("app", ROOT / "weights", "what the app serves", model=shipped_net)
    assert registry.load("app") is shipped_net
