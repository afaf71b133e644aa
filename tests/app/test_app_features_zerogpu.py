"""/features and /feature_atlas under ZeroGPU's rules (tests/zerogpu_server.py: the real
`python app.py` with the stand-in of `spaces.GPU`, shared with tests/app/test_app_zerogpu.py):
each GPU call runs in a worker, sends names and a 32x32 picture in and numpy arrays (or
nothing) back within its byte budget, declares a duration its work fits, and a second request
finds the top images and the atlas in the server's memory: no GPU call for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import example
from gradio_client import Client, handle_file
from zerogpu_server import ENV, FOLDER, FULL, calls

from interpret import features, load_model
from interpret.concepts.atlas import ATLAS_STEPS, CHUNK, compute_atlas
from interpret.concepts.cached import cache_entry
from interpret.core.disk_cache import load_arrays
from interpret.dataset.sources import bundled, open_local
from ui.features_api import ATLAS_PART
from ui.zerogpu import LONGEST

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
APP_ENV = ENV

# (arguments, result) bytes: a name, the picture and settings in; the 16 share maps (16 x 3 x
# 32 x 32 float32, 196,608 bytes) out; the top images (16 x 8 indices and positions) out; an
# atlas part's 500 indices in and their 500 x 16 float32 contributions (32,000 bytes) out;
# the predictions the atlas needs through the disk only.
BUDGETS = {
    "features_on_gpu": (8_192, 215_000),
    "top_images_on_gpu": (1_024, 8_192),
    "atlas_part_on_gpu": (2_048, 33_000),
    "set_predictions_on_gpu": (1_024, 1_024),  # the atlas's predictions, through the disk
}


def checked(made: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for call in made:
        arguments, result = BUDGETS[call["function"]]
        assert call["outcome"] == "ok", call
        assert call["args_bytes"] <= arguments and call["result_bytes"] <= result, call
        assert call["tensors"] == [] and call["worker"] != call["server"], call
        assert 1 <= call["duration"] <= LONGEST and call["seconds"] < call["duration"], call
    return made


def test_features_run_in_workers_and_equal_the_library(
    client: Client, pretrained_dir: Path
) -> None:
    mark = len(calls())
    first = client.predict(handle_file(str(example(3))), "airplane", api_name="/features")
    made = checked(calls(mark))
    # The first request of the session: the share maps, then the top images (onto the disk)
    assert [call["function"] for call in made] == ["features_on_gpu", "top_images_on_gpu"]
    expected = features(load_model(pretrained_dir, device="cpu"), example(3), "airplane")
    assert [c["channel"] for c in first["channels"]] == expected.order
    np.testing.assert_allclose(
        [c["contribution"] for c in first["channels"]],
        [c["contribution"] for c in expected.to_dict()["channels"]],
        rtol=1e-5,
        atol=1e-6,
    )
    assert all(len(c["top_images"]) == 8 for c in first["channels"])

    mark = len(calls())
    again = client.predict(handle_file(str(example(3))), "airplane", api_name="/features")
    assert again == first
    assert calls(mark) == []  # the same request: the decision and the top images kept

    mark = len(calls())
    other = client.predict(handle_file(str(example(3))), "cat", api_name="/features")
    assert other["target"] == "cat"
    (call,) = checked(calls(mark))  # the top images from the server's memory
    assert call["function"] == "features_on_gpu" and call["duration"] <= 10


@pytest.mark.skipif(
    not FULL.is_dir(),
    reason="the atlas needs correctly classified images: the session's seeded test weights get "
    "none of the 20 bundled images right (the full test set is in ../shared)",
)
def test_the_atlas_comes_in_short_parts_equal_to_the_one_call_atlas(
    client: Client, pretrained_dir: Path
) -> None:
    """Each part declares a short duration (a visitor with little quota builds it), and the
    parts put together are the one-call atlas bit for bit: the rows around a part's boundary
    and the last part, computed again here in one call over the same library chunks."""
    mark = len(calls())
    atlas = client.predict(api_name="/feature_atlas")
    made = [call for call in checked(calls(mark)) if call["function"] == "atlas_part_on_gpu"]
    correct = sum(atlas["images"])
    assert len(made) == -(-correct // ATLAS_PART) and len(atlas["matrix"]) == 10 and correct
    assert all(call["duration"] <= 30 for call in made), made
    net = load_model(pretrained_dir, device="cpu")
    data = open_local(FULL) if FULL.is_dir() else bundled()
    stored = load_arrays(*cache_entry(net, data, "atlas", FOLDER / "cache", n_steps=ATLAS_STEPS))
    assert stored is not None and len(stored["indices"]) == correct
    last = (correct - 1) // ATLAS_PART * ATLAS_PART
    rows = [slice(max(0, ATLAS_PART - CHUNK), ATLAS_PART + CHUNK), slice(last, correct)]
    for chosen in rows:
        again = compute_atlas(net, data, stored["indices"][chosen]).astype(np.float32)
        assert np.array_equal(stored["contributions"][chosen], again), chosen
    mark = len(calls())
    assert client.predict(api_name="/feature_atlas") == atlas
    assert calls(mark) == []  # from the server's memory
