"""A property-based fuzz of the running app through gradio_client: random bytes and settings
get the library's answer to the same request, or its refusal in the app's own words, never
Gradio's or a server error; settings of the wrong JSON type are refused the same way; and the
server serves normally afterwards. (The library's own fuzz: tests/interpret/test_fuzz.py.)
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import pytest
from conftest import example, refusal
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from hostile_files import png, png_bytes, write_upload
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from interpret import Explanation, ImageError, ParamError, explain, load_model, model_image
from interpret.core.model import Net

pytestmark = pytest.mark.timeout(300)

# Requests that take 0.1-0.5 s here (a saliency map): the bound only tells a stuck server from
# a slow one on a busy machine. Speed is bench.py's business.
HANG_GUARD_S = 30
# app.py's USER_ERRORS: a refusal is the library's own reason in these words.
APP_WORDS = {ImageError: "This image can't be used: {}.", ParamError: "Invalid setting: {}."}
APP_SETTINGS = ("n_steps", "nt_samples", "stdevs", "baseline", "seed")  # app.py's SETTINGS


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


VALID_PNGS = [png_bytes(example(4)), png_bytes(example(7))]
mutated_png = st.builds(
    lambda cut, flips: bytes(
        b ^ 0xFF if i in flips else b for i, b in enumerate(VALID_PNGS[0][:cut])
    ),
    st.integers(0, len(VALID_PNGS[0])),
    st.sets(st.integers(0, len(VALID_PNGS[0]) - 1), max_size=8),
)
hostile_upload = st.one_of(st.binary(max_size=2048), mutated_png, st.just(png(9**5, 9**5)))
# Any JSON value the client can send. Not NaN or infinity: the client refuses those itself
# ("Out of range float values are not JSON compliant") before anything is sent.
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_value = st.one_of(json_scalar, st.lists(st.integers(0, 20), max_size=2))
# Cheap methods only: what one request may cost is test_app's and the cost cap's business.
CHEAP = ["saliency", "deeplift", "grad_cam", "lrp", "integrated_gradients", "input_x_gradient"]
VALID_SETTINGS = {
    "methods": st.lists(st.sampled_from(CHEAP), min_size=1, max_size=3, unique=True),
    "target": st.sampled_from(["predicted", "cat", "7", 3, None]),
    "n_steps": st.integers(1, 16),
    "nt_samples": st.integers(1, 4),
    "stdevs": st.floats(0, 5),
    "baseline": st.sampled_from(["zeros", "black", "blur", "noise", "mean"]),
    "seed": st.integers(0, 2**31 - 1),
    "opacity": st.floats(0, 1),
}
HOSTILE_SETTINGS = dict.fromkeys(VALID_SETTINGS, json_value) | {
    "methods": st.one_of(
        json_value,
        st.text(max_size=12),
        st.lists(st.sampled_from([*CHEAP, "?", ""]), max_size=3),
    ),
}


@st.composite
def explain_requests(draw: st.DrawFn) -> tuple[bytes, dict]:
    """An upload and settings, mostly sensible with up to three hostile parts: each check gets
    its turn, and some requests get through to a real explanation."""
    hostile = draw(st.sets(st.sampled_from(["image", *VALID_SETTINGS]), max_size=3))
    upload = draw(hostile_upload if "image" in hostile else st.sampled_from(VALID_PNGS))
    return upload, {
        name: draw(HOSTILE_SETTINGS[name] if name in hostile else valid)
        for name, valid in VALID_SETTINGS.items()
    }


def _in_the_apps_words(error: Exception) -> str:
    """What app.py says for a library error (HTML-escaped, as Gradio shows it as markup)."""
    template = next(words for kind, words in APP_WORDS.items() if isinstance(error, kind))
    return html.escape(template.format(str(error).rstrip(".")), quote=False)


def _target_as_the_app_reads(target: object) -> object:
    """app.resolve_target for an upload: blank or 'predicted' is the prediction; anything else
    goes to the library as sent ('true label' cannot be drawn here)."""
    name = target.strip().lower() if isinstance(target, str) else target
    return None if name is None or name in ("", "predicted") else target


def _library_answer(net: Net, path: str, options: dict) -> Explanation | str:
    """The library's answer to an /explain request, in the order the app works: decode the
    upload, then explain; a refusal as the app words it."""
    try:
        picture = model_image(path)
        # In app.SETTINGS' order: with several bad settings, the first one checked is named.
        settings = {name: options[name] for name in APP_SETTINGS}
        return explain(
            net,
            picture,
            options["methods"],
            _target_as_the_app_reads(options["target"]),
            alpha=options["opacity"],
            overlays=False,
            **settings,
        )
    except (ImageError, ParamError) as error:
        return _in_the_apps_words(error)


@pytest.fixture(scope="module")
def app_net(pretrained_dir: Path) -> Net:
    """The weights the app serves (conftest gives it `pretrained_dir`)."""
    return load_model(pretrained_dir)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(upload_and_settings=explain_requests())
def test_random_uploads_and_settings_get_a_result_or_the_apps_refusal(
    client: Client, uploads: Path, app_net: Net, upload_and_settings: tuple[bytes, dict]
) -> None:
    """Whatever is sent, the app answers as the library does: the same refusal, in the app's
    words (never Gradio's or a server error), or an explanation of the same prediction."""
    data, options = upload_and_settings
    path = write_upload(uploads, data)
    expected = _library_answer(app_net, path, options)
    try:
        gallery, _, details = client.predict(handle_file(path), **options, api_name="/explain")
    except AppError as error:
        event(str(error).split(":")[0])
        assert str(error) == expected, f"the library: {expected}"
    else:
        event("explained")
        assert isinstance(expected, Explanation), f"explained; the library refused: {expected}"
        assert details["predicted_class"] == expected.predicted_class
        assert details["methods"] == list(expected.methods)
        assert len(gallery) == 1 + len(expected.methods)


@pytest.mark.slow
def test_after_the_fuzz_the_server_serves_normally(client: Client, pretrained_dir: Path) -> None:
    """Runs after the fuzz (file order): the same answer as the library, and not stuck."""
    started = time.perf_counter()
    _, label, details = client.predict(
        handle_file(str(example(6))), methods=["saliency"], nt_samples=2, api_name="/explain"
    )
    seconds = time.perf_counter() - started
    print(f"a saliency request after the fuzz: {seconds:.2f} s")
    assert seconds < HANG_GUARD_S
    expected = explain(load_model(pretrained_dir), example(6), ["saliency"], overlays=False)
    assert label["label"] == details["predicted_class"] == expected.predicted_class


@pytest.mark.parametrize(
    "settings",
    [{"methods": 5}, {"methods": ["saliency", 1]}, {"baseline": ["zeros"]}],
    ids=["methods-number", "methods-with-a-number", "baseline-list"],
)
def test_settings_of_the_wrong_type_get_the_apps_refusal(
    client: Client, app_net: Net, settings: dict
) -> None:
    message = refusal(client, "/explain", handle_file(str(example(2))), **settings)
    with pytest.raises(ParamError) as refused:
        explain(app_net, example(2), **{"methods": None, "baseline": "zeros"} | settings)
    assert message == _in_the_apps_words(refused.value)
