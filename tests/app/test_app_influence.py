"""/influence, /train_sample and /hardest of `python app.py` through the real gradio_client,
against `interpret.influence` computed here on the same weights, checkpoints and training set.

The server (shared with tests/browser/test_browser_influence.py) runs as a ZeroGPU Space
runs it (tests/zerogpu_server.py's stand-in of `spaces.GPU`), on a synthetic CIFAR-10 folder
and weights trained on its train/ split with their checkpoints (tests/influence_app.py): the
training-data view makes no GPU call, which the stand-in's record shows. Refusals are the
app's own words: a model without checkpoints, an unknown class or model, an index or k out of
range. The shared server (no checkpoints, no training set) says so too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import example, refusal
from gradio_client import Client, handle_file
from influence_app import influence_env
from PIL import Image
from zerogpu_server import calls

from interpret import CLASSES, load_model
from interpret.dataset.train_split import read_train_folder
from interpret.influence import hardest_training_images, influence_index, training_influence

pytestmark = pytest.mark.timeout(300)

APP_ENV: dict[str, str] = {}  # ENV and the synthetic training folder: filled in by `app_url`


@pytest.fixture(scope="module")
def app_url(app_servers, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The ZeroGPU server with a training set and checkpoints (the browser test's too)."""
    APP_ENV.update(influence_env(tmp_path_factory))
    return app_servers.url(APP_ENV)


@pytest.fixture(scope="module")
def library(app_url: str, tmp_path_factory: pytest.TempPathFactory):
    """The library's index of the same weights, checkpoints and training split, built here."""
    weights = Path(APP_ENV["INTERPRET_WEIGHTS"])
    train = Path(APP_ENV["INTERPRET_CIFAR10_DIR"]) / "train"
    cache = tmp_path_factory.mktemp("influence-library")
    data = read_train_folder(train, cache_dir=cache)
    model = load_model(weights, device="cpu")
    return influence_index(model, weights, data, cache_dir=cache), data


def test_influence_equals_the_library_and_makes_no_gpu_call(client: Client, library) -> None:
    index, data = library
    mark = len(calls())
    answer = client.predict(handle_file(str(example(3))), api_name="/influence")
    expected = training_influence(index, example(3))
    assert answer["target"] == expected.target_class
    for side in ("proponents", "opponents"):
        got, want = answer[side], [e.to_dict() for e in getattr(expected, side)]
        assert len(got) == 8
        assert [e["index"] for e in got] == [e["index"] for e in want]
        assert [e["label"] for e in got] == [e["label"] for e in want]
        np.testing.assert_allclose(
            [e["score"] for e in got], [e["score"] for e in want], rtol=1e-5, atol=1e-9
        )
    assert answer["proponents"][0]["score"] > 0 > answer["opponents"][0]["score"]
    assert [c["epoch"] for c in answer["checkpoints"]] == [1, 2, 3, 4]
    assert answer["train_set"] == {
        "name": data.name,
        "source": data.source,
        "size": 300,
        "fingerprint": data.fingerprint,
    }
    assert "Indices refer to" in answer["note"]
    # Another target and k: the same query, a few matrix products on the server's CPU.
    cat = client.predict(handle_file(str(example(3))), "cat", "default", 3, api_name="/influence")
    want = training_influence(index, example(3), "cat", k=3)
    assert [e["index"] for e in cat["proponents"]] == [e.index for e in want.proponents]
    assert cat["target"] == "cat" and len(cat["opponents"]) == 3
    assert calls(mark) == []  # no GPU call: neither the index nor a query


def test_train_sample_gives_the_training_image_and_its_label(client: Client, library) -> None:
    _, data = library
    for index in (0, 137, 299):
        path, label = client.predict(index, api_name="/train_sample")
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), data.image(index))
        assert label == CLASSES[int(data.labels[index])]


def test_hardest_equals_the_library_with_its_class_filter(client: Client, library) -> None:
    index, _ = library
    mark = len(calls())
    first = client.predict(api_name="/hardest")
    expected = hardest_training_images(index)
    assert (first["total"], first["page"], first["pages"]) == (300, 1, 13)
    assert [i["index"] for i in first["items"]] == [i.index for i in expected.items]
    np.testing.assert_allclose(
        [i["self_influence"] for i in first["items"]],
        [i.score for i in expected.items],
        rtol=1e-5,
    )
    assert all(set(i) == {"index", "label", "predicted_label", "self_influence"}
               for i in first["items"])  # fmt: skip
    cats = client.predict("cat", 2, api_name="/hardest")
    want = hardest_training_images(index, "cat", 2)
    assert (cats["total"], cats["page"], cats["pages"]) == (30, 2, 2)
    assert [i["index"] for i in cats["items"]] == [i.index for i in want.items]
    assert {i["label"] for i in cats["items"]} == {"cat"}
    last = client.predict("3", 99, api_name="/hardest")  # past the last page: the last
    assert last["page"] == 2 and last["items"] == cats["items"]
    assert calls(mark) == []


@pytest.mark.parametrize(
    ("api_name", "args", "words"),
    [
        ("/influence", {"model": "tutorial"}, "model 'tutorial' has no training checkpoints"),
        ("/influence", {"model": "nonesuch"}, "unknown model"),
        ("/influence", {"k": 0}, "k must be a whole number between 1 and 50"),
        ("/influence", {"k": 51}, "k must be a whole number between 1 and 50"),
        ("/influence", {"target": "zebra"}, "unknown target class"),
        ("/hardest", {"model": "tutorial"}, "model 'tutorial' has no training checkpoints"),
        ("/hardest", {"true_class": "zebra"}, "unknown class 'zebra'"),
        ("/hardest", {"page": 0}, "page must be a whole number of at least 1"),
        ("/train_sample", {"index": 300}, "training image index must be between 0 and 299"),
        ("/train_sample", {"index": -1}, "training image index must be between 0 and 299"),
    ],
)
def test_bad_requests_get_the_apps_own_words(client: Client, api_name, args, words) -> None:
    if api_name == "/influence":
        args = {"image": handle_file(str(example(3))), **args}
    message = refusal(client, api_name, **args)
    assert words in message
    if "checkpoints" in words:
        assert message.startswith("Influence can't be computed here:")


def test_the_shared_server_says_what_is_missing(app_servers) -> None:
    """The session's plain server: weights without checkpoints, no training set."""
    plain = Client(app_servers.url({}), verbose=False, analytics_enabled=False)
    message = refusal(plain, "/influence", handle_file(str(example(3))))
    assert "model 'default' has no training checkpoints" in message
    message = refusal(plain, "/train_sample", 0)
    assert "no training set is configured: set INTERPRET_CIFAR10_DIR" in message


def test_the_mcp_tool_sends_the_strips_and_the_apis_answer(app_url: str, client: Client) -> None:
    """image_influence over MCP (ui/mcp_influence.py): the proponents' and opponents' strips
    of training images, then /influence's JSON."""
    import asyncio
    import base64
    import io
    import json

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.types import ImageContent, TextContent

    image = "data:image/png;base64," + base64.b64encode(example(3).read_bytes()).decode()

    async def main():
        async with (
            streamable_http_client(f"{app_url}gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool("image_influence", {"image": image, "k": 4})

    result = asyncio.run(main())
    assert not result.isError, result.content
    strip, proponents, _, opponents, last = result.content
    assert isinstance(strip, ImageContent) and isinstance(last, TextContent)
    assert Image.open(io.BytesIO(base64.b64decode(strip.data))).size == (4 * 96, 96)
    assert proponents.text.startswith("proponents (their training lowered the loss): #")
    assert opponents.text.startswith("opponents (their training raised the loss): #")
    expected = client.predict(handle_file(str(example(3))), k=4, api_name="/influence")
    assert json.loads(last.text) == expected
