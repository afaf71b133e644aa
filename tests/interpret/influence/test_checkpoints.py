"""interpret.influence.checkpoints: the manifest written and read back, every refusal in the
words a user sees, and the loader Captum's TracIn calls, run by Captum itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from captum.influence import TracInCPFast
from torch import nn
from torch.utils.data import TensorDataset

from interpret.core.model import Net
from interpret.core.weights import PROJECT_ROOT, load_model
from interpret.dataset.predictions import weights_digest
from interpret.influence.checkpoints import (
    CHECKPOINTS_DIR,
    FORMAT,
    MANIFEST,
    HistoryError,
    captum_checkpoint_loader,
    checkpoint_entry,
    history_for,
    read_history,
    write_checkpoint,
    write_manifest,
)

EPOCHS = (2, 4, 6)
STEPS_PER_EPOCH = 5
TRAINING_SET = "CIFAR-10 train set, ImageFolder of PNGs, 50 images"


def net(seed: int) -> Net:
    """A `Net` with its own seeded weights: each checkpoint differs from the others."""
    torch.manual_seed(seed)
    return Net()


def rates_of(epoch: int) -> list[float]:
    """Made-up per-step rates of the two epochs a checkpoint stands for (distinct per step)."""
    first = (epoch - 2) * STEPS_PER_EPOCH + 1
    return [0.01 * step for step in range(first, first + 2 * STEPS_PER_EPOCH)]


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Path, list[Net]]:
    """A weights folder whose checkpoints/ holds three states, the last being the final one."""
    models = [net(seed) for seed in range(len(EPOCHS))]
    folder = tmp_path / "weights" / CHECKPOINTS_DIR
    entries = []
    for model, epoch in zip(models, EPOCHS, strict=True):
        path = write_checkpoint(model, folder, epoch)
        entries.append(
            checkpoint_entry(path, epoch, (epoch - 2) * STEPS_PER_EPOCH + 1, rates_of(epoch))
        )
    write_manifest(folder, entries, models[-1], 0.1, TRAINING_SET)
    return tmp_path / "weights", models


def test_the_manifest_round_trips(trained: tuple[Path, list[Net]]) -> None:
    weights, models = trained
    history = read_history(weights / CHECKPOINTS_DIR)
    assert [c.epoch for c in history.checkpoints] == list(EPOCHS)
    assert [c.path.name for c in history.checkpoints] == [
        "epoch-02.safetensors",
        "epoch-04.safetensors",
        "epoch-06.safetensors",
    ]
    expected = [sum(rates_of(e)) / len(rates_of(e)) for e in EPOCHS]
    assert history.learning_rates == pytest.approx(expected, rel=1e-15)
    assert history.final_weights_digest == weights_digest(models[-1])
    assert history.label_smoothing == 0.1 and history.training_set == TRAINING_SET
    for state, model in zip(history.states(), models, strict=True):
        assert state.keys() == model.state_dict().keys()
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    manifest = json.loads((weights / CHECKPOINTS_DIR / MANIFEST).read_text())
    assert manifest == history.manifest
    assert manifest["format"] == FORMAT and manifest["layer"] == "fc3.weight"
    assert manifest["loss"] == {
        "function": "cross_entropy",
        "label_smoothing": 0.1,
        "reduction": "sum",
    }
    assert "mean" in manifest["learning_rate_weighting"]
    last = manifest["checkpoints"][-1]
    assert (last["first_step"], last["last_step"]) == (21, 30)
    assert last["learning_rate_at_save"] == rates_of(6)[-1]
    assert len(last["sha256"]) == 64


def test_a_tampered_checkpoint_is_refused(trained: tuple[Path, list[Net]]) -> None:
    weights, _ = trained
    folder = weights / CHECKPOINTS_DIR
    history = read_history(folder)
    path = folder / "epoch-04.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1  # one bit of one tensor's last byte
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match=r"epoch-04\.safetensors differs from its manifest"):
        history.states()  # changed after the manifest was read
    with pytest.raises(HistoryError, match="sha256 mismatch"):
        read_history(folder)


def test_other_weights_are_refused_in_the_users_words(trained: tuple[Path, list[Net]]) -> None:
    weights, models = trained
    assert history_for(models[-1], weights).checkpoints[-1].epoch == EPOCHS[-1]
    with pytest.raises(HistoryError) as refused:
        history_for(models[0], weights, name="mine")
    assert str(refused.value) == (
        "model 'mine': these checkpoints belong to other weights; influence would be wrong"
    )


def test_the_tutorial_model_has_no_training_history() -> None:
    folder = PROJECT_ROOT / "weights" / "tutorial"
    assert not (folder / CHECKPOINTS_DIR).exists()
    with pytest.raises(HistoryError, match=r"^model 'tutorial' has no training checkpoints: "):
        history_for(load_model(folder, device="cpu"), folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m.update(format="interpret-checkpoints/9"),
            "has format 'interpret-checkpoints/9'",
        ),
        (lambda m: m["checkpoints"][0].update(file="../model.safetensors"), "outside its folder"),
        (lambda m: m["checkpoints"][0].pop("sha256"), "entry is malformed"),
        (lambda m: m["checkpoints"][1].update(learning_rate=0.0), "no usable learning rate"),
        (lambda m: m.update(checkpoints=[]), "lists no checkpoint"),
    ],
)
def test_a_wrong_manifest_is_refused(trained: tuple[Path, list[Net]], change, message: str) -> None:
    path = trained[0] / CHECKPOINTS_DIR / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(HistoryError, match=message):
        read_history(path.parent)


def test_a_missing_or_unreadable_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no training checkpoints manifest at"):
        read_history(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(HistoryError, match="is unreadable") as refused:
        read_history(tmp_path)
    assert str(tmp_path.parent) not in str(refused.value)  # no server directory in the message


def test_the_captum_loader_loads_the_state_and_returns_the_manifest_rate(
    trained: tuple[Path, list[Net]],
) -> None:
    weights, models = trained
    history = read_history(weights / CHECKPOINTS_DIR)
    load = captum_checkpoint_loader(history)
    model = Net()
    for checkpoint, source in zip(history.checkpoints, models, strict=True):
        assert load(model, str(checkpoint.path)) == checkpoint.learning_rate
        assert all(torch.equal(model.state_dict()[k], v) for k, v in source.state_dict().items())
    with pytest.raises(HistoryError, match="not one of this model's training checkpoints"):
        load(model, str(weights / "model.safetensors"))


def test_captum_tracin_runs_on_the_loader(trained: tuple[Path, list[Net]]) -> None:
    """Captum's own TracInCPFast with the loader: its self-influence is the sum over
    checkpoints of rate x |gradient of the loss w.r.t. fc3.weight|² (the manifest's layer: Captum
    leaves the bias out), computed here by hand."""
    weights, models = trained
    history = read_history(weights / CHECKPOINTS_DIR)
    torch.manual_seed(5)
    images, labels = torch.randn(6, 3, 32, 32), torch.arange(6)
    tracin = TracInCPFast(
        Net(),
        "fc3",
        TensorDataset(images, labels),
        [str(c.path) for c in history.checkpoints],
        checkpoints_load_func=captum_checkpoint_loader(history),
        loss_fn=nn.CrossEntropyLoss(reduction="sum"),
        batch_size=6,
    )
    scores = tracin.self_influence(show_progress=False)
    expected = torch.zeros(6)
    for checkpoint, model in zip(history.checkpoints, models, strict=True):
        for i in range(6):
            model.zero_grad()
            nn.functional.cross_entropy(model(images[i : i + 1]), labels[i : i + 1]).backward()
            grad = model.fc3.weight.grad
            expected[i] += checkpoint.learning_rate * grad.pow(2).sum()
    assert torch.allclose(scores, expected, rtol=1e-4), (scores, expected)


def test_the_shipped_weights_come_with_their_own_history() -> None:
    """weights/checkpoints/: five checkpoints of the shipped run, every 8 of its 40 epochs,
    the last one the shipped weights themselves, weighted by the schedule's interval means."""
    folder = PROJECT_ROOT / "weights"
    model = load_model(folder, device="cpu")
    history = history_for(model, folder)
    assert [c.epoch for c in history.checkpoints] == [8, 16, 24, 32, 40]
    entries = history.manifest["checkpoints"]
    assert [(e["first_step"], e["last_step"]) for e in entries] == [
        (1 + 3128 * i, 3128 * (i + 1)) for i in range(5)
    ]
    # The one-cycle rates of 40 x 391 steps (max 0.05), averaged per interval of 3,128 steps.
    expected = [0.020386525713, 0.048403139895, 0.037134888752, 0.017495556535, 0.002822271809]
    assert history.learning_rates == pytest.approx(expected, rel=1e-9)
    assert entries[-1]["learning_rate_at_save"] == pytest.approx(2e-7)
    final = model.state_dict()
    last = history.states()[-1]
    assert last.keys() == final.keys() and all(torch.equal(last[k], final[k]) for k in final)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["data_source"].startswith(f"{history.training_set}; ")
    assert history.label_smoothing == metrics["hyperparameters"]["label_smoothing"]
