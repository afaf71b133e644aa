"""ui/api.py and ui/first_visit.py in this process: the endpoint functions as Gradio calls them
(raw values), compared with the library; the page's opening result.

The server, the client and the frozen API are tests/app/test_app.py's; here the functions
themselves: what they hand to Gradio (finished PNG files, never PIL images), what they refuse
and how, and that the first visit is the default request on example 3.
"""

from __future__ import annotations

import inspect
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from conftest import example
from PIL import Image

from interpret import DEFAULT_METHODS, explain, model_image
from interpret.core.params import Params
from interpret.dataset.sampler import Sampler
from interpret.explain import input_card
from ui import api, files
from ui.config import REQUEST
from ui.explain_tab import summarize_while_scoring
from ui.first_visit import FirstVisit, default_request
from ui.inputs import request_key
from ui.views import TRUST_PENDING, summary_text, verdict

FAST = {
    "methods": ["saliency", "integrated_gradients", "grad_cam"],
    "target": "predicted",
    "n_steps": 8,
    "nt_samples": 2,
    "stdevs": 0.2,
    "baseline": "zeros",
    "seed": 0,
    "opacity": 0.5,
}


def no_progress(*args, **kwargs) -> None:
    return None


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def backend(shipped_net, uploads: Path) -> Iterator[api.Backend]:
    saved = api._backend
    yield api.configure(shipped_net, Sampler(), str(uploads))
    api._backend = saved


def upload(uploads: Path, index: int) -> dict:
    """Example `index` as Gradio hands an upload to an event: a dict naming its cache copy."""
    folder = uploads / f"upload{index}"
    folder.mkdir(exist_ok=True)
    path = folder / example(index).name
    shutil.copyfile(example(index), path)
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def pixels(path: str) -> np.ndarray:
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB"))


def test_the_endpoints_keep_their_parameters() -> None:
    """Names, order and defaults of the frozen API, at the function (the server's view_api is
    compared with tests/app/api_snapshot.json by test_app)."""
    explain_parameters = inspect.signature(api.explain_image).parameters
    assert list(explain_parameters) == ["image", *REQUEST, "progress"]
    download_parameters = inspect.signature(api.download_files).parameters
    assert list(download_parameters) == ["image", *REQUEST, "last"]
    tutorial = Params()
    for parameters in (explain_parameters, download_parameters):
        defaults = {n: p.default for n, p in parameters.items() if n in REQUEST}
        assert defaults["contrast"] == "none" and defaults["trust_scores"] is False
        assert defaults["occlusion_window"] == tutorial.occlusion_window
        assert defaults["occlusion_stride"] == tutorial.occlusion_stride
    assert list(inspect.signature(api.predict_image).parameters) == ["image"]
    assert [(n, p.default) for n, p in inspect.signature(api.sample_image).parameters.items()] == [
        ("index", None)
    ]


def test_explain_hands_gradio_finished_pngs_equal_to_the_librarys(
    backend: api.Backend, uploads: Path
) -> None:
    image = upload(uploads, 3)
    gallery, label, details, last = api.explain_image(image, **FAST, progress=no_progress)
    settings = {k: FAST[k] for k in ("n_steps", "nt_samples", "stdevs", "baseline", "seed")}
    expected = explain(backend.model, example(3), FAST["methods"], alpha=0.5, **settings)
    assert all(isinstance(path, str) for path, _ in gallery)  # never a PIL image
    paths = [Path(path) for path, _ in gallery]
    assert all(p.name == "image.png" and p.is_relative_to(files.private_root()) for p in paths)
    assert np.array_equal(pixels(gallery[0][0]), np.asarray(input_card(expected)))
    for (path, caption), key in zip(gallery[1:], FAST["methods"], strict=True):
        assert caption == expected.caption(key)
        assert np.array_equal(pixels(path), np.asarray(expected.overlays[key].convert("RGB")))
    assert label == dict(expected.top(5))
    assert details["true_label"] == "airplane" and details["methods"] == FAST["methods"]
    assert last["key"] == request_key(image, FAST | last_tail())
    for key in FAST["methods"]:
        np.testing.assert_array_equal(last["attributions"][key], expected.attributions[key])


def test_the_page_shows_the_maps_first_then_the_same_maps_scored(
    backend: api.Backend, uploads: Path
) -> None:
    """A visitor sees the maps at the speed of the maps: the page's event answers with the
    plain explanation, marked pending, then with the library's scored result (same files);
    /explain gives API clients that last answer only."""
    image = upload(uploads, 3)
    request = {**last_tail(True), **FAST}
    progress = []
    answers = list(
        api.explain_on_page(
            lambda *a, **k: progress.append(k), image, *[request[name] for name in REQUEST]
        )
    )
    assert len(answers) == 2
    (gallery, label, first, stored_first), (again, label_again, details, last) = answers
    assert again == gallery and label_again == label  # the same finished PNGs, not redrawn
    assert first[TRUST_PENDING] is True and not first["faithfulness"] and not first["sanity"]
    assert TRUST_PENDING not in details
    # Nothing after the maps: Gradio would cover them with its progress bar again.
    assert progress and "trust scores next" in progress[-1]["desc"]
    settings = {k: FAST[k] for k in ("n_steps", "nt_samples", "stdevs", "baseline", "seed")}
    expected = explain(
        backend.model, example(3), FAST["methods"], faithfulness=True, sanity=True, **settings
    )
    assert details["faithfulness"] == expected.faithfulness
    assert details["sanity"] == expected.sanity
    for key in ("prediction", "deltas", "captions", "agreement"):
        assert first[key] == details[key], key
    assert stored_first["key"] == last["key"] == request_key(image, request)
    assert last["record"]["faithfulness"] == expected.faithfulness
    assert "faithfulness=True" in last["record"]["reproduce"]
    *_, answered, _ = api.explain_image(image, **request, progress=no_progress)
    assert answered["faithfulness"] == details["faithfulness"]
    assert answered["sanity"] == details["sanity"] and TRUST_PENDING not in answered
    values = {**last_tail(), **FAST}
    plain = list(api.explain_on_page(no_progress, image, *[values[n] for n in REQUEST]))
    assert len(plain) == 1  # without trust scores, one answer
    # The summary follows the first answer at once, and leaves the last to the chain after it.
    summary, heading = summarize_while_scoring(first)
    assert (summary, heading.label) == (summary_text(first), verdict(first))
    assert "**Explaining:** why the model would say" in summary
    assert summarize_while_scoring(details) == (gr.skip(), gr.skip())
    assert summarize_while_scoring(None) == (gr.skip(), gr.skip())


def last_tail(trust_scores: bool = False) -> dict:
    """The parameters after opacity at their defaults (`model` None: the app's model)."""
    return {
        "contrast": "none",
        "trust_scores": trust_scores,
        "occlusion_window": 4,
        "occlusion_stride": 2,
        "model": None,
    }


def test_download_reuses_the_sessions_result_and_recomputes_the_same(
    backend: api.Backend, uploads: Path
) -> None:
    image = upload(uploads, 6)
    *_, last = api.explain_image(image, **FAST, progress=no_progress)
    reused = api.download_files(image, **FAST, last=last)
    recomputed = api.download_files(image, **FAST, last=None)
    other = api.download_files(image, **FAST | {"seed": 1}, last=last)  # not that result
    for npz, record in (reused, recomputed, other):
        assert Path(npz).name == Path(reused[0]).name and Path(record).suffix == ".json"
    with np.load(reused[0]) as first, np.load(recomputed[0]) as second:
        assert sorted(first.files) == sorted(FAST["methods"])
        for key in FAST["methods"]:
            np.testing.assert_array_equal(first[key], second[key])
    assert len({Path(npz).parent for npz, _ in (reused, recomputed, other)}) == 3


def test_predict_and_sample(backend: api.Backend, uploads: Path) -> None:
    expected = explain(backend.model, example(11), ["saliency"], overlays=False)
    assert api.predict_image(upload(uploads, 11)) == dict(expected.top(5))
    path, label, source, index = api.sample_image(3)
    assert (label, index) == ("airplane", 3) and "#3" in source
    assert Path(path).name == "image.png"
    assert np.array_equal(pixels(path), np.asarray(Image.open(example(3)).convert("RGB")))
    assert api.random_sample()[3] in range(20)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (
            lambda image: api.explain_image(image, **FAST | {"n_steps": 0}, progress=no_progress),
            "Invalid setting: n_steps must be between 1 and 500, got 0.",
        ),
        (
            lambda image: api.predict_image({"path": str(example(3))}),
            "This image can't be used: only files uploaded to this app are read; upload the image "
            "first (with gradio_client: handle_file(path)).",
        ),
        (
            lambda image: api.predict_image(None),
            "No image yet: upload one, click an example or press Random.",
        ),
        (
            lambda image: api.sample_image(20),
            "Can't load that test image: the image index must be between 0 and 19, got 20.",
        ),
    ],
    ids=["setting", "not-uploaded", "no-image", "index"],
)
def test_refusals_are_the_apps_words(backend, uploads: Path, call, words: str) -> None:
    with pytest.raises(gr.Error) as refused:
        call(upload(uploads, 2))
    assert refused.value.message == words


def test_the_first_visit_is_the_default_request_on_example_3(
    backend: api.Backend, uploads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opening = FirstVisit()
    computed = []
    explanation = api.explanation

    def counted(*args, **kwargs):  # the explanations the first visit computes
        computed.append(1)
        return explanation(*args, **kwargs)

    monkeypatch.setattr(api, "explanation", counted)
    threads = [threading.Thread(target=opening.shown) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert computed == [1]  # once, whoever asks first; the others wait for it
    monkeypatch.undo()  # the click below is explained as any request is
    image, truth, target, index, gallery, label, details, npz, record = opening.outputs()
    assert Path(image).read_bytes() == example(3).read_bytes()
    assert (truth, index) == ("airplane (bundled example #3)", 3)
    assert target.value == "predicted" and ("true label (airplane)", "true label") in [
        tuple(choice) for choice in target.choices
    ]
    for path in [image, npz, record, *(path for path, _ in gallery)]:  # never pruned
        assert Path(path).is_file() and not Path(path).is_relative_to(files.private_root())
    assert details["methods"] == list(DEFAULT_METHODS) and details["params"] == Params().to_dict()
    # As if the example had been clicked with the controls as they start:
    request = default_request()
    clicked = api.explain_image(upload(uploads, 3), **request, progress=no_progress)
    assert [caption for _, caption in gallery] == [caption for _, caption in clicked[0]]
    assert label == clicked[1]
    for key in ("prediction", "probabilities", "deltas", "captions", "true_label", "weights"):
        assert details[key] == clicked[2][key], key
    for (ours, _), (theirs, _) in zip(gallery, clicked[0], strict=True):
        assert np.array_equal(pixels(ours), pixels(theirs))
    assert model_image(image).tobytes() == model_image(example(3)).tobytes()


def test_a_first_visit_that_fails_leaves_the_page_as_it_was(backend: api.Backend) -> None:
    opening = FirstVisit(example=99)  # there is no bundled example 99
    assert opening.shown() is None
    assert all(value == gr.skip() for value in opening.outputs())
