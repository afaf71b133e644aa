"""The learned-features view's app modules without a server: ui/features_api.py (the GPU
call's numpy-only payload and the `Features` rebuilt from it, durations, n_steps, memory),
ui/features_views.py (bars, sums, notes), ui/features_panel.py (what the panel shows),
ui/atlas_panel.py (the heat map, a cell's images) and ui/features_pictures.py (the MCP
tools' pictures), on the 20 bundled images with the shipped weights."""

from __future__ import annotations

import json
import pickle
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from bundled_backend import bundled_backend
from conftest import example
from PIL import Image

from interpret import CLASSES, ParamError, feature_atlas, features
from interpret.concepts import atlas
from interpret.dataset.predictions import predict_test_set
from interpret.dataset.sources import bundled
from ui import api, atlas_panel, features_api, features_panel, features_pictures, features_views


@pytest.fixture(scope="module")
def backend(shipped_net, tmp_path_factory: pytest.TempPathFactory) -> Iterator[api.Backend]:
    """The endpoints configured as app.py does, on the 20 bundled images, caching in a
    folder of this module's."""
    with bundled_backend(shipped_net, tmp_path_factory.mktemp("cache")) as configured:
        yield configured


class Progress:
    """Records what an event function reports to Gradio's progress bar."""

    def __init__(self) -> None:
        self.reports: list[str] = []

    def __call__(self, value=None, desc: str = "") -> None:
        self.reports.append(desc)


def picture(index: int) -> Image.Image:
    return Image.open(example(index)).convert("RGB")


def test_the_gpu_payload_holds_no_tensor_and_rebuilds_the_librarys_result(
    backend, shipped_net
) -> None:
    payload = features_api.features_on_gpu("retrained", picture(3), 0, None, "zeros", 50)
    assert not any(isinstance(v, torch.Tensor) for v in payload.values())
    assert len(pickle.dumps(payload)) < 220_000  # 16 maps of 3x32x32 float32, little else
    rebuilt = features_api.rebuilt(payload)
    expected = features(shipped_net, picture(3), 0)
    assert rebuilt.order == expected.order
    assert rebuilt.to_dict() == pytest.approx(expected.to_dict())
    torch.testing.assert_close(rebuilt.shares.maps, expected.shares.maps.float())


def test_compute_adds_the_sets_top_images_and_answers_the_librarys_dict(
    backend, shipped_net
) -> None:
    found, data, name = features_api.compute(picture(7), "dog", "cat", None, "blur", "80")
    expected = features(shipped_net, picture(7), "dog", "cat", baseline="blur", n_steps=80,
                        images=bundled())  # fmt: skip
    assert name == "retrained" and len(data) == 20
    described = features_api.answer(found, name)
    assert described["channels"] == pytest.approx(expected.to_dict()["channels"])
    assert described["explained"] == "logit[dog] - logit[cat]" and described["model"] == name
    assert features_api.remembered(described["input_sha256"])[0] is found
    assert described == json.loads(json.dumps(described))  # JSON as it is


@pytest.mark.parametrize("steps", [0, 501, 2.5, "many", True, None])
def test_bad_steps_are_refused_in_the_librarys_words(backend, steps) -> None:
    with pytest.raises(ParamError, match="n_steps must be"):
        features_api.compute(picture(3), "predicted", "none", None, "zeros", steps)


def test_a_true_label_needs_a_known_image(backend) -> None:
    found, _, _ = features_api.compute(picture(3), "true label", "none", None, "zeros", 50)
    assert CLASSES[found.target] == "airplane"
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8))
    with pytest.raises(ParamError, match="true label"):
        features_api.compute(noise, "true label", "none", None, "zeros", 50)


def test_durations_grow_with_the_work() -> None:
    one = features_api._features_seconds("m", None, None, None, "zeros", 50)
    assert one <= 6 < features_api._features_seconds("m", None, None, None, "zeros", 500)
    assert features_api._set_seconds("m", "f", 10_000) <= 10
    part = features_api._atlas_part_seconds("m", "f", list(range(features_api.ATLAS_PART)))
    assert part <= 30  # with the x3 margin, well under ZeroGPU's default 60 s


def test_the_bars_are_the_channels_in_order_with_their_signs() -> None:
    described = {
        "explained": "logit[cat]",
        "channels": [{"channel": 4, "contribution": -2.0}, {"channel": 1, "contribution": 1.0}],
    }
    shown = features_views.bars_html(described)
    assert shown.count('class="feature-bar"') == 2 and shown.index("channel 4") < shown.index(
        "channel 1"
    )
    assert "left: 0.00%;width:50.00%" in shown and "left: 50%;width:25.00%" in shown
    assert "-2.000" in shown and "+1.000" in shown


def test_the_notes_say_where_the_windows_come_from() -> None:
    assert "still loading" in features_views.windows_note(None, loading=True)
    few = features_views.windows_note({"name": "the 20 bundled", "size": 20, "full": False})
    assert "only" in few and "say little" in few
    full = {"name": "the CIFAR-10 test set (10,000 images)", "size": 10_000, "full": True}
    assert features_views.windows_note(full).endswith("(10,000 images).")


def test_the_panel_shows_bars_maps_and_windows_that_name_their_images(backend) -> None:
    path = str(example(3))
    upload = {"path": path, "meta": {"_type": "gradio.FileData"}}
    api.backend().upload_folder = None  # any path (the page's uploads are checked by Gradio)
    answers = list(features_panel.show(upload, "airplane", "none", None, "zeros", 50, Progress()))
    heading, bars, total, shares, note, windows, indices, npz, record = answers[-1]
    assert "logit[airplane]" in heading and bars.count('class="feature-bar"') == 16
    assert total.startswith("The 16 contributions add up to")
    assert len(shares) == 6 and "the 20 bundled" in note
    assert len(windows) == len(indices) == 6 * 8
    data = bundled()
    for (_, caption), index in zip(windows, indices, strict=True):
        assert caption.endswith(f"#{index} {CLASSES[int(data.labels[index])]}")
    arrays = np.load(npz)
    assert arrays["share_maps"].shape == (16, 3, 32, 32) and arrays["top_images"].shape == (16, 8)
    assert json.loads(Path(record).read_text())["layer"] == "pool2"
    assert features_panel.pick_window(SimpleNamespace(index=9), indices) == indices[9]


def test_the_atlas_in_parts_equals_the_one_call_atlas_and_resumes(
    backend, shipped_net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts of ATLAS_PART images (a multiple of the library's chunk; both small here, so the
    20 bundled images make several parts) put together are the one-call atlas, bit for bit;
    a part refused halfway (the quota) leaves the parts before it kept for the next request."""
    monkeypatch.setattr(atlas, "CHUNK", 2)
    monkeypatch.setattr(features_api, "ATLAS_PART", 4)
    data = api.test_set()
    name = api.backend().models.default
    correct = np.flatnonzero(predict_test_set(shipped_net, data).predicted == data.labels)
    correct = correct[np.argsort(data.labels[correct], kind="stable")]
    whole = atlas.compute_atlas(shipped_net, data, correct)
    real, sent = features_api.atlas_part_on_gpu, []

    def part(model: str, fingerprint: str, indices: list[int]) -> np.ndarray:
        sent.append(indices)
        if len(sent) == 3:
            raise RuntimeError("ZeroGPU quota exceeded")
        return real(model, fingerprint, indices)

    monkeypatch.setattr(features_api, "atlas_part_on_gpu", part)
    compute = features_api.atlas_in_parts(name, data.fingerprint)
    with pytest.raises(RuntimeError, match="quota"):
        compute(correct, None)
    reports: list[tuple[int, int]] = []
    parts = compute(correct, lambda done, total, _: reports.append((done, total)))
    assert np.array_equal(parts, whole) and parts.dtype == np.float32
    count = -(-len(correct) // 4)
    assert len(correct) > 8 and len(sent) == count + 1  # the two kept parts not sent again
    assert all(isinstance(i, int) for indices in sent for i in indices)
    assert [len(indices) for indices in sent[3:]] == [4] * (count - 3) + [len(correct) % 4 or 4]
    assert reports[-1] == (len(correct), len(correct)) and len(reports) == count
    assert features_api._parts == {}  # nothing kept once the atlas is whole


def test_the_atlas_table_and_a_cell_are_the_librarys(backend, shipped_net) -> None:
    progress = Progress()
    caption, table, *_ = atlas_panel.show(None, progress)
    assert any("contribution" in report for report in progress.reports)  # computed, reported
    expected = feature_atlas(shipped_net, bundled())
    assert "correctly classified images" in caption
    frame = table.data
    assert list(frame["class"]) == list(CLASSES) and frame.shape == (10, 17)
    row = int(np.argmax(expected.counts()))
    heading, items, shown = atlas_panel.pick_cell(SimpleNamespace(index=(row, 6)), None)
    assert f"{CLASSES[row]}**, feature 5" in heading
    assert shown == [i for i, _ in expected.strongest(row, 5, atlas_panel.LISTED)]
    assert len(items) == len(shown)


def test_the_mcp_pictures_come_from_the_remembered_result(backend) -> None:
    found, _, name = features_api.compute(picture(3), "predicted", "none", None, "zeros", 50)
    described = features_api.answer(found, name)
    parts = features_pictures.feature_pictures(described)
    assert len(parts) == 12 and all(data.startswith(b"\x89PNG") for data, _ in parts)
    assert features_pictures.feature_pictures({**described, "input_sha256": "gone"}) == []
    atlas = features_api.class_feature_atlas(None)
    ((heat_map, caption),) = features_pictures.atlas_pictures(atlas)
    assert heat_map.startswith(b"\x89PNG") and caption.startswith("class x feature atlas")


class Loading:
    """A test set still loading: not ready, then the bundled images once waited for."""

    ready = False

    def get(self, waiting=None):
        if waiting is not None:
            waiting("Loading the test set (once per server start)")
        return bundled()


def test_while_the_set_loads_the_panel_says_so_then_fills_in_the_windows(backend) -> None:
    upload = {"path": str(example(3)), "meta": {"_type": "gradio.FileData"}}
    saved, api.backend().dataset = api.backend().dataset, Loading()
    try:
        early, last = list(
            features_panel.show(upload, "cat", "none", None, "zeros", 50, Progress())
        )
    finally:
        api.backend().dataset = saved
    assert "still loading" in early[4] and early[5] is None and len(early[3]) == 6
    assert early[1] == last[1]  # the same bars, before and after
    assert "the 20 bundled" in last[4] and len(last[5]) == 48


def test_identical_requests_make_one_gpu_call(backend, monkeypatch) -> None:
    """Opening the panel as the first maps arrive asks twice for the same split, at once or
    one after the other: one call; another request makes its own."""
    import threading
    import time

    real, calls, started = features_api.features_on_gpu, [], threading.Event()

    def counted(*args):
        calls.append(args[0])
        started.set()
        time.sleep(0.3)  # the second request arrives while this one computes
        return real(*args)

    monkeypatch.setattr(features_api, "features_on_gpu", counted)
    monkeypatch.setattr(features_api, "_decided", OrderedDict())  # none kept from other tests
    answers = []

    def ask() -> None:
        answers.append(features_api.decision(picture(3), "predicted", "none", None, "zeros", 50))

    first = threading.Thread(target=ask)
    first.start()
    started.wait(30)
    ask()
    first.join()
    assert calls == ["retrained"]
    (one, name), (two, _) = answers
    assert name == "retrained" and one.to_dict() == two.to_dict()
    (later, _) = features_api.decision(picture(3), "predicted", "none", None, "zeros", 50)
    assert calls == ["retrained"] and later.to_dict() == one.to_dict()  # kept
    later.shares.maps.zero_()  # a caller's change stays in its own copy
    later.shares.contributions.zero_()
    again, _ = features_api.decision(picture(3), "predicted", "none", None, "zeros", 50)
    assert calls == ["retrained"] and again.to_dict() == one.to_dict()
    assert torch.equal(again.shares.maps, one.shares.maps) and one.shares.maps.abs().sum() > 0
    features_api.decision(picture(3), "predicted", "none", None, "zeros", 20)
    assert len(calls) == 2  # other steps: another decision
    for steps in range(21, 21 + features_api.DECISIONS_KEPT):  # the first one pushed out
        features_api.decision(picture(3), "predicted", "none", None, "zeros", steps)
    features_api.decision(picture(3), "predicted", "none", None, "zeros", 50)
    assert len(calls) == 3 + features_api.DECISIONS_KEPT
