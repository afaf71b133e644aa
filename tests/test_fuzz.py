"""Property-based fuzzing of the library: random bytes and parameters never escape as crashes."""

from __future__ import annotations

import io

import numpy as np
from conftest import example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from interpret import METHODS, ImageError, ParamError, explain
from interpret.preprocess import model_image

PNG = io.BytesIO()
Image.open(example(4)).save(PNG, "PNG")
VALID_PNG = PNG.getvalue()

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


@settings(max_examples=150, deadline=None)
@given(junk_or_mutated)
def test_random_bytes_give_an_image_or_image_error(data: bytes) -> None:
    try:
        picture = model_image(data)
    except ImageError as error:
        assert str(error)
    else:
        assert picture.size == (32, 32) and picture.mode == "RGB"


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n_steps=anything,
    nt_samples=anything,
    stdevs=anything,
    seed=anything,
    target=anything,
    methods=st.one_of(st.none(), st.lists(st.sampled_from([*METHODS, "bogus"]), max_size=2)),
)
def test_random_parameters_give_a_result_or_param_error(
    seeded_net, n_steps, nt_samples, stdevs, seed, target, methods
) -> None:
    try:
        result = explain(
            seeded_net,
            example(4),
            methods or ["saliency", "ig_smoothgrad_sq"],
            target,
            n_steps=n_steps,
            nt_samples=nt_samples,
            stdevs=stdevs,
            seed=seed,
            overlays=False,
        )
    except ParamError as error:
        assert str(error)
    else:
        assert all(np.isfinite(a).all() for a in result.attributions.values())
        assert 0 <= result.target < 10
