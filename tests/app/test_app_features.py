"""/features and /feature_atlas through the real gradio_client on the session's shared server
(the 20 bundled test images), against the library on the same weights and images: the
contributions, their order and sum, the top images, the atlas; and bad input refused in the
app's words. tests/app/test_app_features_full.py does the same over the full test set.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import example, refusal
from gradio_client import Client, handle_file

from interpret import CLASSES, feature_atlas, features, load_model
from interpret.dataset.sources import bundled

pytestmark = pytest.mark.timeout(300)


def image(index: int):
    return handle_file(str(example(index)))


def test_features_equal_the_library(client: Client, pretrained_dir: Path) -> None:
    served = client.predict(image(7), "dog", "none", "default", "blur", 80, api_name="/features")
    net, images = load_model(pretrained_dir), bundled()
    expected = features(net, example(7), "dog", baseline="blur", n_steps=80, images=images)
    described = expected.to_dict()
    assert served["layer"] == "pool2" and served["target"] == "dog" and served["n_steps"] == 80
    assert served["model"] == "default" and served["prediction"] == described["prediction"]
    assert [c["channel"] for c in served["channels"]] == expected.order
    np.testing.assert_allclose(
        [c["contribution"] for c in served["channels"]],
        [c["contribution"] for c in described["channels"]],
        rtol=1e-5,
        atol=1e-6,
    )
    for item, want in zip(served["channels"], described["channels"], strict=True):
        assert item["top_images"] == want["top_images"]  # test-set indices, most active first
    magnitudes = [abs(c["contribution"]) for c in served["channels"]]
    assert magnitudes == sorted(magnitudes, reverse=True) and len(magnitudes) == 16
    total = math.fsum(c["contribution"] for c in served["channels"])
    assert served["total"] == pytest.approx(total, abs=1e-6)
    assert served["delta"] == pytest.approx(served["total"] - served["output_difference"], abs=1e-6)
    assert served["top_images_from"] == {"name": images.name, "size": 20, "full": False}


def test_features_defaults_and_a_contrast(client: Client, pretrained_dir: Path) -> None:
    served = client.predict(image(3), api_name="/features")
    expected = features(load_model(pretrained_dir), example(3))
    assert served["target"] == CLASSES[expected.prediction] and served["contrast"] is None
    assert (served["baseline"], served["n_steps"]) == ("zeros", 50)
    contrast = "cat" if served["target"] != "cat" else "dog"
    split = client.predict(image(3), "true label", contrast, api_name="/features")
    assert split["target"] == "airplane" and split["contrast"] == contrast
    assert split["explained"] == f"logit[airplane] - logit[{contrast}]"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"target": "zebra"}, "Invalid setting: unknown target class 'zebra'"),
        ({"contrast": "zebra"}, "Invalid setting: unknown contrast class 'zebra'"),
        ({"model": "nope"}, "Invalid setting: unknown model 'nope'"),
        ({"n_steps": 0}, "Invalid setting: n_steps must be between 1 and 500, got 0."),
        ({"n_steps": 501}, "Invalid setting: n_steps must be between 1 and 500, got 501."),
        ({"n_steps": 2.5}, "Invalid setting: n_steps must be a whole number"),
        ({"baseline": "pink"}, "Invalid setting: "),
        ({"target": "cat", "contrast": "cat"}, "the contrast class must differ from the target"),
    ],
)
def test_bad_settings_are_refused_in_the_apps_words(
    client: Client, arguments: dict, expected: str
) -> None:
    assert expected in refusal(client, "/features", image(3), **arguments)


def test_an_unusable_image_is_refused_in_the_apps_words(client: Client, tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    message = refusal(client, "/features", handle_file(str(text)))
    assert message.startswith("This image can't be used: ")


def test_the_atlas_equals_the_library(client: Client, pretrained_dir: Path) -> None:
    served = client.predict(api_name="/feature_atlas")
    expected = feature_atlas(load_model(pretrained_dir), bundled())
    assert served["classes"] == list(CLASSES) and served["channels"] == 16
    assert served["images"] == expected.counts() and served["model"] == "default"
    matrix = np.array([[np.nan if v is None else v for v in row] for row in served["matrix"]])
    np.testing.assert_allclose(matrix, expected.matrix, rtol=1e-5, atol=1e-6)
    assert served["test_set"]["size"] == 20 and served["test_set"]["full"] is False
    assert served == client.predict("default", api_name="/feature_atlas")  # from the cache


def test_the_atlas_refuses_an_unknown_model(client: Client) -> None:
    assert "Invalid setting: unknown model 'nope'" in refusal(client, "/feature_atlas", "nope")
