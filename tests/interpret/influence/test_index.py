"""The influence index: cached on disk and checked before it is believed, progress while it
is computed, the hardest-images pages, and every refusal in words a user can act on (no
checkpoints, other weights, no training set, offline). No ../shared needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from influence_history import synthetic_training_set, train_history

from interpret import InfluenceUnavailable, hardest_training_images, influence_index, load_model
from interpret.core.model import CLASSES, Net
from interpret.core.weights import PROJECT_ROOT
from interpret.influence import build_index, history_for
from interpret.influence.index import cache_path, forget_in_memory


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("weights")
    training_set = synthetic_training_set(120, seed=3)
    model = train_history(folder, training_set, epochs=(1, 2, 3), steps_per_epoch=2)
    return folder, training_set, model


def test_the_index_is_cached_on_disk_and_checked(trained, tmp_path: Path) -> None:
    folder, training_set, model = trained
    history = history_for(model, folder)
    calls: list[tuple[int, int, str]] = []
    first = build_index(
        model, history, training_set, cache_dir=tmp_path, progress=lambda *a: calls.append(a)
    )
    assert not first.from_cache and first.activations.shape == (3, 120, 84)
    assert first.gradients.shape == (3, 120, 10) and first.bytes_on_disk > 3 * 120 * 94 * 4
    done = [call[0] for call in calls]
    assert done == sorted(done) and calls[-1][:2] == (360, 360)
    assert "checkpoint 3 of 3" in calls[-1][2]
    assert build_index(model, history, training_set, cache_dir=tmp_path) is first  # in memory
    forget_in_memory()
    again = build_index(model, history, training_set, cache_dir=tmp_path)
    assert again.from_cache and np.array_equal(again.activations, first.activations)
    assert np.array_equal(again.gradients, first.gradients)
    assert np.array_equal(again.predicted, first.predicted)
    # A damaged file is recomputed, not believed.
    path = cache_path(first.weights, training_set.fingerprint, "float32", tmp_path)
    path.write_bytes(path.read_bytes()[:-2000])
    forget_in_memory()
    repaired = build_index(model, history, training_set, cache_dir=tmp_path)
    assert not repaired.from_cache and np.array_equal(repaired.gradients, first.gradients)


def test_the_final_predictions_are_the_models(trained, tmp_path: Path) -> None:
    folder, training_set, model = trained
    index = build_index(model, history_for(model, folder), training_set, cache_dir=tmp_path)
    with torch.no_grad():
        from interpret.dataset.predictions import normalized_batch

        logits = model(normalized_batch(training_set.images, torch.device("cpu")))
    assert np.array_equal(index.predicted, logits.argmax(dim=1).numpy())
    assert np.allclose(index.confidence, torch.softmax(logits, 1).max(1).values.numpy())


def test_hardest_pages_filter_by_class_and_clamp(trained, tmp_path: Path) -> None:
    folder, training_set, model = trained
    index = build_index(model, history_for(model, folder), training_set, cache_dir=tmp_path)
    every = hardest_training_images(index, per_page=50)
    assert every.total == 120 and every.pages == 3 and len(every.items) == 50
    scores = [item.score for item in every.items]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1] > 0
    cats = hardest_training_images(index, label="cat", per_page=5, page=99)
    assert cats.label == CLASSES.index("cat") and cats.total == 12 and cats.page == cats.pages == 3
    assert {item.label_class for item in cats.items} == {"cat"} and len(cats.items) == 2
    first = hardest_training_images(index, label=3, per_page=12).items
    assert [item.index for item in first][-2:] == [item.index for item in cats.items]
    for item in first:
        assert item.predicted == index.predicted[item.index]
        assert item.score == pytest.approx(float(index.self_influence[item.index]))
    assert cats.to_dict()["note"] == index.note


def test_weights_without_checkpoints_are_refused_in_words() -> None:
    tutorial = load_model(PROJECT_ROOT / "weights" / "tutorial", device="cpu")
    with pytest.raises(InfluenceUnavailable) as raised:
        influence_index(tutorial, PROJECT_ROOT / "weights" / "tutorial", name="tutorial")
    assert raised.value.kind == "no-checkpoints"
    assert "model 'tutorial' has no training checkpoints" in str(raised.value)


def test_other_weights_are_refused(trained) -> None:
    folder, training_set, _ = trained
    torch.manual_seed(0)
    with pytest.raises(InfluenceUnavailable, match="belong to other weights") as raised:
        influence_index(Net().eval(), folder, training_set)
    assert raised.value.kind == "other-weights"


@pytest.mark.parametrize("download", [False, True])
def test_no_training_set_says_what_is_missing_and_how_to_get_it(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, download: bool
) -> None:
    folder, _, model = trained
    monkeypatch.delenv("INTERPRET_CIFAR10_DIR", raising=False)
    monkeypatch.setenv("INTERPRET_CIFAR10_ROOT", str(tmp_path / "none"))
    monkeypatch.setenv("INTERPRET_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(InfluenceUnavailable) as raised:
        influence_index(model, folder, download=download)  # the tests' Hub is offline
    assert raised.value.kind == "no-training-set"
    message = str(raised.value)
    assert "INTERPRET_CIFAR10_DIR" in message and "train/" in message
    if download:
        assert "cannot be reached" in message and str(tmp_path) not in message
    else:
        assert "INTERPRET_CIFAR10_DOWNLOAD=1" in message and "120 MB" in message
