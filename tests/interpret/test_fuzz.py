"""Property-based fuzzing of the library: random bytes and parameters never escape as crashes,
and the many draws that are valid give results with the properties the README promises.

Each fuzz draws from a mix of junk and valid input, counts which path each draw took, and
checks both were taken often (the counts are printed: run with -s to see them).
"""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest
import torch
from conftest import example
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from PIL import Image

from interpret import CLASSES, METHODS, ImageError, ParamError, explain
from interpret.core.preprocess import model_image, to_tensor

PNG = io.BytesIO()
Image.open(example(4)).save(PNG, "PNG")
VALID_PNG = PNG.getvalue()

# ------------------------------------------------------------------------------------ images
junk_or_mutated = st.one_of(
    st.binary(max_size=2048),
    st.builds(
        lambda cut, flips: bytes(
            b ^ 0xFF if i in flips else b for i, b in enumerate(VALID_PNG[:cut])
        ),
        st.integers(0, len(VALID_PNG)),
        st.sets(st.integers(0, len(VALID_PNG) - 1), max_size=8),
    ),
)
LOSSLESS = ("PNG", "BMP", "TIFF", "WEBP")


@st.composite
def encoded_images(draw) -> tuple[bytes, dict]:
    """A real image file: random size, mode, format, and noise or one flat color."""
    width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    mode = draw(st.sampled_from(["RGB", "L", "RGBA"]))
    fmt = draw(st.sampled_from([*LOSSLESS, "JPEG", "GIF"]))
    flat = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    color = rng.integers(0, 256, channels, dtype=np.uint8)
    if flat:
        pixels = np.broadcast_to(color, (height, width, channels)).copy()
    else:
        pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    picture = Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode)
    if fmt in ("JPEG", "BMP") and mode == "RGBA":  # no alpha there (BMP's 4th byte is unused)
        picture = picture.convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buffer.getvalue(), {"picture": picture, "format": fmt, "flat": flat}


def composited_on_white(picture: Image.Image) -> np.ndarray:
    """RGB pixels as the README says transparency is shown: alpha over a white background."""
    rgba = np.asarray(picture.convert("RGBA")).astype(np.float64)
    alpha = rgba[..., 3:] / 255
    return rgba[..., :3] * alpha + 255 * (1 - alpha)


def check_image_properties(picture: Image.Image, source: dict) -> None:
    assert picture.size == (32, 32) and picture.mode == "RGB"
    original = source["picture"]
    if source["format"] not in LOSSLESS:
        return  # JPEG and GIF change colors; size and mode are what they promise
    pixels = np.asarray(picture).astype(int)
    expected = composited_on_white(original)
    if original.size == (32, 32):  # passes through untouched (composited where transparent)
        np.testing.assert_allclose(pixels, expected, atol=0.5 if original.mode != "RGBA" else 1)
    elif source["flat"]:  # cropping and resizing one color leaves that color
        np.testing.assert_allclose(pixels, np.broadcast_to(expected[0, 0], pixels.shape), atol=1)


def test_random_bytes_and_real_images_give_an_image_or_image_error() -> None:
    paths: Counter[str] = Counter()

    @settings(max_examples=150, deadline=None, database=None)
    @given(st.one_of(junk_or_mutated.map(lambda data: (data, None)), encoded_images()))
    def fuzz(drawn: tuple[bytes, dict | None]) -> None:
        data, source = drawn
        try:
            picture = model_image(data)
        except ImageError as error:
            assert str(error)
            assert source is None, f"a valid {source['format']} image was refused: {error}"
            event("refused")
            paths["refused"] += 1
        else:
            event("decoded")
            paths["decoded"] += 1
            if source is not None:
                note(f"{source['format']} {source['picture'].mode} {source['picture'].size}")
                check_image_properties(picture, source)
            else:
                assert picture.size == (32, 32) and picture.mode == "RGB"

    fuzz()
    print(f"image fuzz: {dict(paths)}")
    total = sum(paths.values())
    assert paths["decoded"] >= 0.3 * total and paths["refused"] >= 0.2 * total, paths


# -------------------------------------------------------------------------------- parameters
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


def whole(low: int, high: int) -> st.SearchStrategy:
    """A whole number as a client may send one: int, integral float or digit string."""
    number = st.integers(low, high)
    return st.one_of(number, number.map(float), number.map(str))


# In range, kept cheap: n_steps x nt_samples <= 500 x 8 rows, far below the 20,000 limit.
VALID = {
    "n_steps": st.one_of(st.none(), whole(1, 64), st.just(500)),
    "nt_samples": whole(1, 8),
    "stdevs": st.one_of(st.none(), st.floats(0, 5), st.integers(0, 5)),
    "seed": st.one_of(st.none(), whole(0, 2**31 - 1)),
    "target": st.one_of(
        st.none(),
        st.just(""),
        st.integers(0, 9),
        st.integers(0, 9).map(str),
        st.sampled_from(CLASSES).map(lambda name: f" {name.upper()} "),
        st.sampled_from(CLASSES),
    ),
    "methods": st.lists(st.sampled_from(list(METHODS)), min_size=1, max_size=2),
}
# Text that looks like a number: digits of other scripts, superscripts, circled digits.
NUMBER_LIKE = st.text(st.sampled_from("0123456789-+. ²³①٣"), min_size=1, max_size=3)
OFF = {name: st.one_of(anything, NUMBER_LIKE) for name in VALID} | {
    "methods": st.one_of(
        anything, st.lists(st.sampled_from([*METHODS, "bogus"]), max_size=2), NUMBER_LIKE
    )
}
# The word a refusal must contain when that parameter alone is off.
NAMED_AS = {name: name for name in VALID} | {"methods": "method"}


@st.composite
def one_off(draw) -> tuple[str, dict]:
    """Valid settings but one, drawn from anything: its refusal must name it."""
    name = draw(st.sampled_from(list(VALID)))
    drawn = draw(st.fixed_dictionaries(VALID))
    drawn[name] = draw(OFF[name])
    return name, drawn


DEFAULTS = {"n_steps": 50, "nt_samples": 100, "stdevs": 0.2, "seed": 0}
NON_NEGATIVE = ("saliency", "ig_smoothgrad_sq", "grad_cam")  # magnitudes, squares, ReLU'd


def resolved_target(target, prediction: int) -> int:
    """What the README says a target means: none -> the prediction; a class name in any case;
    an index 0-9, also as text."""
    if target is None or (isinstance(target, str) and not target.strip()):
        return prediction
    if isinstance(target, str) and target.strip().lower() in CLASSES:
        return CLASSES.index(target.strip().lower())
    return int(target)


def check_result(net, result, drawn: dict, methods: list[str]) -> None:
    inputs = to_tensor(model_image(example(4)))
    with torch.no_grad():
        logits = net(torch.cat([inputs, inputs * 0]))
    probabilities = torch.softmax(logits[0], 0).numpy()
    np.testing.assert_allclose(result.probabilities, probabilities, rtol=1e-5, atol=1e-7)
    assert result.prediction == int(probabilities.argmax())
    assert result.target == resolved_target(drawn["target"], result.prediction)
    for name, default in DEFAULTS.items():
        value = drawn[name]
        assert getattr(result.params, name) == (default if value is None else float(value))
    assert list(result.attributions) == list(dict.fromkeys(methods))
    for key, attribution in result.attributions.items():
        assert attribution.shape == (3, 32, 32) and attribution.dtype == np.float32, key
        assert np.isfinite(attribution).all(), key
        if key in NON_NEGATIVE:
            assert (attribution >= 0).all(), key
    if "integrated_gradients" in result.attributions:
        # The reported delta is what it says: sum of the map minus the score change from the
        # baseline (zeros); and with enough steps the map adds up to that change (completeness,
        # measured within 20 % for this net and image from 24 steps on).
        change = float(logits[0, result.target] - logits[1, result.target])
        total = float(result.attributions["integrated_gradients"].astype(np.float64).sum())
        delta = result.deltas["integrated_gradients"]
        scale = float(logits[:, result.target].abs().sum()) + float(
            np.abs(result.attributions["integrated_gradients"]).sum()
        )  # float32 rounding of both sides is ~1e-8 of this; a 0.1 % error in the map is not
        assert abs(delta - (total - change)) <= 1e-6 * scale, (delta, total, change)
        if result.params.n_steps >= 24:
            assert abs(delta) <= 0.3 * abs(change) + 1e-6, (delta, change, result.params)


def test_random_parameters_give_a_result_or_param_error(seeded_net) -> None:
    paths: Counter[str] = Counter()
    cases = st.one_of(
        st.fixed_dictionaries(VALID).map(lambda drawn: (None, drawn)),
        one_off(),
        st.fixed_dictionaries(OFF).map(lambda drawn: ("", drawn)),  # anything anywhere
    )

    @settings(max_examples=50, deadline=None, database=None)
    @given(cases)
    def fuzz(case: tuple[str | None, dict]) -> None:
        off, drawn = case
        methods = drawn["methods"] or ["saliency", "ig_smoothgrad_sq"]
        try:
            result = explain(
                seeded_net,
                example(4),
                methods,
                drawn["target"],
                n_steps=drawn["n_steps"],
                nt_samples=drawn["nt_samples"],
                stdevs=drawn["stdevs"],
                seed=drawn["seed"],
                overlays=False,
            )
        except ParamError as error:
            assert off is not None, f"valid settings refused: {error}"
            if off:
                assert NAMED_AS[off] in str(error), (off, str(error))
            event("refused")
            paths["refused"] += 1
        else:
            event("explained")
            paths["explained"] += 1
            check_result(seeded_net, result, drawn, methods)

    fuzz()
    print(f"parameter fuzz: {dict(paths)}")
    total = sum(paths.values())
    assert paths["explained"] >= 0.2 * total and paths["refused"] >= 0.2 * total, paths


@pytest.mark.parametrize("target", ["²", "-³", "①", "1²", "--3"])
def test_number_like_text_that_is_no_number_is_refused_as_a_target(seeded_net, target) -> None:
    """str.isdigit() accepts superscripts and circled digits that int() cannot read."""
    with pytest.raises(ParamError, match="target"):
        explain(seeded_net, example(4), "saliency", target, overlays=False)
