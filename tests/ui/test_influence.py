"""The training-data view's app side, in this process: the training split's background load
and what it says when there is none, the requests' checks in the app's words, the captions
and headings, the downloads. Through a server: tests/app/test_app_influence.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CLOSED_HUB, HUB_COMMIT, HubStandIn, use_hub
from influence_history import synthetic_training_set, train_history

from interpret import CLASSES
from interpret.core.params import ParamError
from interpret.core.weights import SHIPPED_WEIGHTS
from interpret.influence import InfluenceUnavailable, influence_index, training_influence
from interpret.influence.checkpoints import CHECKPOINTS_DIR, history_for
from ui import influence_api, influence_panel, influence_views, training_set

OFFLINE = {"INTERPRET_CIFAR10_DOWNLOAD": "0", "HF_HUB_OFFLINE": "1"}


def source_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **settings: str):
    """A `TrainingSetSource` under these settings (nothing else of the shell's)."""
    for name in ("INTERPRET_CIFAR10_DIR", "INTERPRET_CIFAR10_ROOT", "INTERPRET_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTERPRET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("INTERPRET_CIFAR10_ROOT", str(tmp_path / "no-copy"))
    for name, value in {**OFFLINE, **settings}.items():
        monkeypatch.setenv(name, value)
    found = training_set.TrainingSetSource()
    assert not found.started and not found.ready  # nothing is read until asked
    assert found.status() == "The training set is loaded when it is first needed."
    found.start()
    found.join(60)
    return found


def test_without_a_training_set_it_says_what_is_missing_and_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    found = source_with(monkeypatch, tmp_path)
    assert found.ready
    status = found.status()
    assert status.startswith("No training set here: no training set is configured: set ")
    assert "INTERPRET_CIFAR10_DIR" in status and "INTERPRET_CIFAR10_DOWNLOAD=1" in status
    with pytest.raises(InfluenceUnavailable) as caught:
        found.get()
    assert caught.value.kind == "no-training-set" and "INTERPRET_CIFAR10_DIR" in str(caught.value)
    assert influence_views.unavailable(str(caught.value)).startswith(
        "**Not available here.** no training set is configured"
    )


def test_a_configured_folder_loads_in_the_background_and_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "cifar"
    data = synthetic_training_set(40)
    for j, label in enumerate(data.labels):
        folder = root / "train" / CLASSES[int(label)]
        folder.mkdir(parents=True, exist_ok=True)
        data.image(j).save(folder / f"{j:04d}.png")
    found = source_with(monkeypatch, tmp_path, INTERPRET_CIFAR10_DIR=str(root))
    loaded = found.get()
    assert len(loaded) == 40 and found.progress == (40, 40)
    assert found.status() == f"Training set: {loaded.name} ({loaded.source})."
    assert loaded.name == "40 CIFAR-10 training images (not the full set of 50,000)"


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1), ("8", 8), (50.0, 50)]
)  # fmt: skip
def test_k_is_a_whole_number_from_1_to_50(value, expected) -> None:
    assert influence_api._k(value) == expected


@pytest.mark.parametrize("value", [0, 51, 2.5, "x", None, True, float("nan")])
def test_a_bad_k_is_refused_in_the_apps_words(value) -> None:
    with pytest.raises(ParamError, match="k must be a whole number between 1 and 50"):
        influence_api._k(value)


def test_classes_and_pages_are_read_as_the_test_set_tab_reads_them() -> None:
    assert [influence_api.true_class(v) for v in ("any", "", None, "Cat", "3", 9)] == [
        None,
        None,
        None,
        3,
        3,
        9,
    ]
    for bad in ("zebra", "10", "-1"):
        with pytest.raises(ParamError, match="unknown class"):
            influence_api.true_class(bad)
    assert influence_api.parse_page("2") == 2
    for bad in (0, -3, 1.5, "two", None):
        with pytest.raises(ParamError, match="page must be a whole number of at least 1"):
            influence_api.parse_page(bad)


def test_captions_and_headings_name_what_is_shown() -> None:
    item = {"index": 12, "label": "cat", "score": -0.00123}
    assert influence_views.score_caption(item) == "-0.0012 cat"
    hard = {"index": 7, "label": "dog", "predicted_label": "cat", "self_influence": 0.5}
    assert influence_views.hardest_caption(hard) == "dog → cat"
    described = {
        "target": "airplane",
        "prediction": "ship",
        "model": "retrained",
        "checkpoints": [{"epoch": 8}, {"epoch": 40}],
        "train_set": {"size": 50_000},
    }
    assert influence_views.influence_heading(described) == (
        "Loss at **airplane** (predicted: ship) by model `retrained`, over 50,000 training "
        "images and the checkpoints of epochs 8, 40."
    )
    page = {"page": 2, "pages": 209, "total": 5000, "true_class": "cat", "model": "m"}
    assert influence_views.hardest_heading(page).startswith(
        "Page 2 of 209: the 5,000 training images labelled cat, hardest first"
    )


def test_the_downloads_hold_every_score_and_the_answer(tmp_path: Path) -> None:
    data = synthetic_training_set(60)
    model = train_history(tmp_path / "weights", data, epochs=(1, 2), steps_per_epoch=2)
    index = influence_index(model, tmp_path / "weights", data, cache_dir=tmp_path / "cache")
    found = training_influence(index, data.image(3), k=4)
    described = {**found.to_dict(), "model": "m"}
    arrays, record = influence_panel.downloads(found, index, described)
    with np.load(arrays) as saved:
        np.testing.assert_array_equal(saved["scores"], found.scores)
        np.testing.assert_array_equal(saved["labels"], index.labels)
        assert list(saved["proponents"]) == [e.index for e in found.proponents]
        assert list(saved["opponents"]) == [e.index for e in found.opponents]
    written = json.loads(Path(record).read_text())
    assert written["proponents"] == described["proponents"]
    assert written["index"]["images"] == 60 and len(written["index"]["checkpoints"]) == 2


def shipped_repo() -> dict[str, bytes]:
    """The shipped weights with their training checkpoints, as a Hub repo holds them."""
    names = ["config.json", "model.safetensors"]
    names += [
        f"{CHECKPOINTS_DIR}/{path.name}" for path in (SHIPPED_WEIGHTS / CHECKPOINTS_DIR).iterdir()
    ]
    return {name: (SHIPPED_WEIGHTS / name).read_bytes() for name in sorted(names)}


def test_hub_weights_bring_their_checkpoints_on_a_space_and_from_the_cache_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hub_stand_in: HubStandIn, shipped_net
) -> None:
    """A model loaded from the Hub finds its history beside it: downloaded on a Space (the
    checkpoints only), from the Hub's cache anywhere else, where nothing is asked online."""
    repo = shipped_repo()
    hub_stand_in.repos["owner/cifar-net"] = repo
    use_hub(monkeypatch, hub_stand_in.endpoint, tmp_path / "hub")
    source = f"hub:owner/cifar-net@{HUB_COMMIT} (config.json, model.safetensors)"
    monkeypatch.setattr(influence_api, "_hub_folders", {})
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert influence_api._hub_checkpoints(source) is None  # not cached, not on a Space
    assert hub_stand_in.requests == []

    monkeypatch.setenv("SPACE_ID", "owner/space")
    folder = influence_api._hub_checkpoints(source)
    assert folder is not None and not (folder / "model.safetensors").exists()
    fetched = {
        f"{CHECKPOINTS_DIR}/{path.name}": path.read_bytes()
        for path in (folder / CHECKPOINTS_DIR).iterdir()
    }
    assert fetched == {
        name: data for name, data in repo.items() if name.startswith(CHECKPOINTS_DIR)
    }
    assert len(fetched) == 6  # 5 checkpoints and the manifest
    history = history_for(shipped_net, folder, "hub")  # these weights' own history
    assert [c.epoch for c in history.checkpoints] == [8, 16, 24, 32, 40]

    monkeypatch.delenv("SPACE_ID")  # a later process, elsewhere: the cache, asked nothing
    monkeypatch.setattr(influence_api, "_hub_folders", {})
    hub_stand_in.requests.clear()
    assert influence_api._hub_checkpoints(source) == folder
    assert hub_stand_in.requests == []


def test_an_unreachable_hub_leaves_hub_weights_without_history_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import time

    use_hub(monkeypatch, CLOSED_HUB, tmp_path / "hub")
    monkeypatch.setattr(influence_api, "_hub_folders", {})
    monkeypatch.setenv("SPACE_ID", "owner/space")
    started = time.perf_counter()
    assert influence_api._hub_checkpoints(f"hub:owner/cifar-net@{HUB_COMMIT}") is None
    assert time.perf_counter() - started < 5, "a refused connection must not be retried for long"
    assert influence_api._hub_folders == {}  # asked again next time: a Space may come online
