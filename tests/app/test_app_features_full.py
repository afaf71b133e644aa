"""/features and /feature_atlas on the full CIFAR-10 test set (INTERPRET_CIFAR10_DIR set to
../shared/cifar10/test; skipped cleanly without it), through the real gradio_client, against
the library computed here on the same weights and images (its own cache folder, so nothing is
read from the server's). The server is the session's with that setting, shared with
tests/app/test_app_testset_full.py and the browser tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED, example
from gradio_client import Client, handle_file

from interpret import feature_atlas, features, load_model

FULL = SHARED / "cifar10"
pytestmark = [
    pytest.mark.skipif(not (FULL / "test").is_dir(), reason=f"no CIFAR-10 copy at {FULL}"),
    pytest.mark.slow,
    pytest.mark.timeout(600),
]
APP_ENV = {"INTERPRET_CIFAR10_DIR": str(FULL / "test")}


def test_the_top_images_are_the_librarys_over_the_full_set(
    client: Client, pretrained_dir: Path, full_test_set, tmp_path: Path
) -> None:
    served = client.predict(handle_file(str(example(3))), "airplane", api_name="/features")
    expected = features(
        load_model(pretrained_dir), example(3), "airplane", images=full_test_set, cache_dir=tmp_path
    ).to_dict()
    assert served["top_images_from"]["size"] == 10_000 and served["top_images_from"]["full"]
    order = [c["channel"] for c in expected["channels"]]
    assert [c["channel"] for c in served["channels"]] == order
    for item, want in zip(served["channels"], expected["channels"], strict=True):
        assert item["top_images"] == want["top_images"]


def test_the_atlas_is_the_librarys_over_the_full_set(
    client: Client, pretrained_dir: Path, full_test_set, tmp_path: Path
) -> None:
    served = client.predict(api_name="/feature_atlas")
    expected = feature_atlas(load_model(pretrained_dir), full_test_set, cache_dir=tmp_path)
    assert served["images"] == expected.counts() and served["test_set"]["size"] == 10_000
    matrix = np.array([[np.nan if v is None else v for v in row] for row in served["matrix"]])
    np.testing.assert_allclose(matrix, expected.matrix, rtol=1e-4, atol=1e-6)
