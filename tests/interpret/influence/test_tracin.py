"""The index and its queries against Captum's own TracInCPFast, on a training history the test
makes (300 synthetic images, 4 checkpoints with different mean learning rates): the same
scores, the same top-8 proponents and opponents, the same self-influence, and the comparison
failing for each planted defect (fc3's bias included, one checkpoint's rate wrong, label
smoothing dropped)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.influence import TracInCPFast
from influence_history import LABEL_SMOOTHING, synthetic_training_set, train_history
from torch import nn
from torch.utils.data import TensorDataset

from interpret.core.model import Net
from interpret.dataset.predictions import normalized_batch
from interpret.influence import build_index, hardest_training_images, training_influence
from interpret.influence.checkpoints import captum_checkpoint_loader, history_for
from interpret.influence.index import loss_gradient
from interpret.influence.query import query_arrays, ranked, scores_for

K = 8
QUERIES = ((5, 3), (17, None), (120, "ship"))  # (training image used as the query, target)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("weights")
    training_set = synthetic_training_set(300)
    model = train_history(folder, training_set)
    history = history_for(model, folder)
    cache = folder / "cache"
    index = build_index(model, history, training_set, storage="float32", cache_dir=cache)
    dataset = TensorDataset(
        normalized_batch(training_set.images, CPU), torch.from_numpy(training_set.labels.copy())
    )

    def tracin(test_loss_fn: nn.Module | None) -> TracInCPFast:
        return TracInCPFast(
            Net(),
            "fc3",
            dataset,
            [str(checkpoint.path) for checkpoint in history.checkpoints],
            checkpoints_load_func=captum_checkpoint_loader(history),
            loss_fn=nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING, reduction="sum"),
            test_loss_fn=test_loss_fn,
            batch_size=64,
        )

    # The query's loss: plain cross-entropy at the target, or the training loss itself.
    tracins = {"target": tracin(nn.CrossEntropyLoss(reduction="sum")), "training": tracin(None)}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # Captum's many small passes: 5x faster than two busy threads
    yield model, history, training_set, index, tracins, cache
    torch.set_num_threads(threads)


_answers: dict[tuple[int, bytes, int], tuple[np.ndarray, list[int], list[int]]] = {}


def captum_answer(tracin: TracInCPFast, pixels: np.ndarray, target: int):
    """Captum's scores, top-k proponents and opponents (computed once per query)."""
    key = (id(tracin), pixels.tobytes(), int(target))
    if key not in _answers:
        _answers[key] = _captum_answer(tracin, pixels, target)
    return _answers[key]


def _captum_answer(tracin: TracInCPFast, pixels: np.ndarray, target: int):
    inputs = (normalized_batch(pixels[None], CPU), torch.tensor([target]))
    scores = tracin.influence(inputs)[0].numpy()
    top = tracin.influence(inputs, k=K, proponents=True)
    bottom = tracin.influence(inputs, k=K, proponents=False)
    return scores, top.indices[0].tolist(), bottom.indices[0].tolist()


def agrees(ours: np.ndarray, theirs: np.ndarray, top: list[int], bottom: list[int]) -> bool:
    """Scores equal to float32 rounding (relative to the largest) and the same rankings."""
    scale = float(np.abs(theirs).max())
    close = float(np.abs(ours - theirs).max()) <= 1e-5 * scale
    return (
        close
        and ranked(ours, K, True).tolist() == top
        and ranked(ours, K, False).tolist() == bottom
    )


@pytest.mark.parametrize("query_loss", ["target", "training"])
@pytest.mark.parametrize(("position", "target"), QUERIES)
def test_scores_and_rankings_are_captums(setup, position: int, target, query_loss: str) -> None:
    model, _, training_set, index, tracins, _ = setup
    tracin = tracins[query_loss]
    pixels = training_set.images[position]
    result = training_influence(index, pixels, target, k=K, query_loss=query_loss)
    assert result.query_loss == query_loss
    with torch.no_grad():
        prediction = int(model(normalized_batch(pixels[None], CPU)).argmax())
    assert result.prediction == prediction
    expected_target = prediction if target is None else result.target
    assert result.target == expected_target
    scores, top, bottom = captum_answer(tracin, pixels, result.target)
    assert scores.shape == result.scores.shape == (300,)
    assert np.abs(scores).max() > 1e-4  # a real signal, not zeros compared with zeros
    assert agrees(result.scores, scores, top, bottom)
    assert [example.index for example in result.proponents] == top
    assert [example.index for example in result.opponents] == bottom
    assert all(a.score >= b.score for a, b in zip(result.proponents, result.proponents[1:]))
    assert result.proponents[0].score > 0 > result.opponents[0].score
    assert result.epochs == (1, 2, 3, 4) and result.learning_rates == tuple(index.learning_rates)


def test_self_influence_and_its_ranking_are_captums(setup) -> None:
    index, tracin = setup[3], setup[4]["training"]
    theirs = tracin.self_influence().numpy()
    np.testing.assert_allclose(index.self_influence, theirs, rtol=1e-5, atol=1e-9)
    page = hardest_training_images(index, per_page=10)
    assert [item.index for item in page.items] == np.argsort(-theirs, kind="stable")[:10].tolist()
    assert page.total == 300 and page.pages == 30


def test_float16_storage_keeps_the_scores_to_float16_precision(setup) -> None:
    model, history, training_set, index, tracins, cache = setup
    tracin = tracins["target"]
    half = build_index(model, history, training_set, storage="float16", cache_dir=cache)
    assert half.bytes_on_disk < 0.6 * index.bytes_on_disk
    for position, target in QUERIES:
        pixels = training_set.images[position]
        result = training_influence(half, pixels, target, k=K)
        scores = captum_answer(tracin, pixels, result.target)[0]
        scale = float(np.abs(scores).max())
        assert float(np.abs(result.scores - scores).max()) <= 2e-3 * scale
        # Every float16 proponent is within float16's error of Captum's top 8.
        eighth = np.sort(scores)[-K]
        assert all(scores[e.index] >= eighth - 4e-3 * scale for e in result.proponents)


def planted(setup, defect: str) -> np.ndarray:
    """Our scores for query 0 with one defect planted in the index or the query."""
    model, history, training_set, index, _, cache = setup
    pixels = training_set.images[QUERIES[0][0]]
    target = QUERIES[0][1]
    if defect == "smoothing dropped":
        wrong = dataclasses.replace(history, label_smoothing=0.0)
        index = build_index(model, wrong, training_set, cache_dir=cache, use_cache=False)
    activations, logits = query_arrays(index, pixels)
    targets = torch.full((len(logits),), target)
    gradients = loss_gradient(torch.from_numpy(logits), targets, 0.0).numpy()  # query: "target"
    if defect == "bias included":  # fc3's bias: a constant 1 appended to its input
        ones = np.ones((*index.activations.shape[:2], 1), dtype=np.float32)
        index = dataclasses.replace(
            index, activations=np.concatenate([index.activations, ones], axis=2)
        )
        activations = np.concatenate([activations, np.ones((len(activations), 1))], axis=1)
    if defect == "one rate wrong":
        rates = index.learning_rates.copy()
        rates[1] *= 2
        index = dataclasses.replace(index, learning_rates=rates)
    return scores_for(index, activations.astype(np.float32), gradients)


@pytest.mark.parametrize("defect", ["none", "bias included", "one rate wrong", "smoothing dropped"])
def test_the_comparison_fails_for_each_planted_defect(setup, defect: str) -> None:
    tracin, training_set = setup[4]["target"], setup[2]
    position, target = QUERIES[0]
    scores, top, bottom = captum_answer(tracin, training_set.images[position], target)
    assert agrees(planted(setup, defect), scores, top, bottom) == (defect == "none")


def test_ties_are_broken_by_index() -> None:
    scores = np.array([0.5, 1.0, 1.0, -2.0, 0.0, -2.0], dtype=np.float32)
    assert ranked(scores, 3, largest=True).tolist() == [1, 2, 0]
    assert ranked(scores, 3, largest=False).tolist() == [3, 5, 4]
    tied = np.array([0.0, 2.0, 2.0, 2.0, 1.0, 2.0], dtype=np.float32)  # a tie across the k-th
    assert ranked(tied, 2, largest=True).tolist() == [1, 2]
    assert ranked(tied, 9, largest=True).tolist() == [1, 2, 3, 5, 4, 0]
    assert ranked(tied, 0, largest=False).tolist() == []


def test_a_result_says_which_training_set_its_indices_mean(setup) -> None:
    _, _, training_set, index, _, _ = setup
    result = training_influence(index, training_set.images[0], k=3)
    described = result.to_dict()
    assert described["fingerprint"] == training_set.fingerprint
    assert described["training_set"] == training_set.name
    assert "JPEG" in described["note"] and "Space" in described["note"]
    assert len(described["proponents"]) == len(described["opponents"]) == 3
    assert [c["epoch"] for c in described["checkpoints"]] == [1, 2, 3, 4]
    assert result.scores.dtype == np.float32 and len(result.scores) == 300


def test_a_query_image_of_any_size_is_the_explained_pixels(setup, tmp_path: Path) -> None:
    from PIL import Image

    _, _, training_set, index, _, _ = setup
    path = tmp_path / "big.png"
    Image.fromarray(training_set.images[9]).resize((96, 96), Image.Resampling.NEAREST).save(path)
    from interpret.core.preprocess import model_image

    expected = training_influence(index, np.asarray(model_image(path)), "cat")
    assert np.array_equal(training_influence(index, path, "cat").scores, expected.scores)
