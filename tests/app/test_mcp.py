"""End to end: Gradio's MCP server of `python app.py`, driven by the real `mcp` client over
streamable HTTP (one server for the module).

The tools are the app's twelve (ui/mcp_tools.py, ui/mcp_influence.py), answers equal the
library's and the frozen API's, images come as base64 data only, refusals are the app's
sentences, the API's limits hold, and no answer names a server path.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import struct
import tempfile
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pytest
from conftest import ROOT, example, running_app
from gradio_client import Client, handle_file
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, ImageContent, TextContent
from PIL import Image

from interpret import CLASSES, DEFAULT_METHODS, Net, explain, load_model
from ui.errors import BASE64_ONLY, NO_URLS_BASE64
from ui.mcp_tools import MCP_REQUEST_LIMIT

pytestmark = pytest.mark.timeout(180)

T = TypeVar("T")
TOOLS = {
    "explain_image",
    "predict_image",
    "sample_image",
    "list_models",
    "confusion_matrix",
    "browse_images",
    "find_strategies",
    "image_features",
    "class_feature_atlas",
    "image_influence",
    "train_sample",
    "hardest",
}
FAST = {"nt_samples": 4}


def data_url(path: Path, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


IMAGE = data_url(example(3))


def refused(reason: str) -> str:
    return f"This image can't be used: {reason}."


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`python app.py` with the shipped weights on the CPU, offline, its caches and Gradio's
    folder in this module's temp folder; one event at a time and one waiting (the queue test).
    {"url", "mcp" (its MCP URL), "folders" (where its files are: no answer may name them)}."""
    base = tmp_path_factory.mktemp("mcp-app")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERPRET_", "GRADIO_"))}
    env.pop("SPACE_ID", None)
    env.update(
        INTERPRET_WEIGHTS=str(ROOT / "weights"),
        INTERPRET_MODEL_REPO="",
        INTERPRET_DEVICE="cpu",
        INTERPRET_CACHE_DIR=str(base / "cache"),
        INTERPRET_CIFAR10_ROOT=str(base / "no-cifar10-copy"),
        INTERPRET_CONCURRENCY="1",
        INTERPRET_QUEUE_SIZE="1",
        HF_HUB_OFFLINE="1",
        GRADIO_TEMP_DIR=str(base / "gradio"),
    )
    with running_app(env, ROOT, base / "app.log") as url:
        folders = [str(ROOT), str(base), tempfile.gettempdir()]
        yield {"url": url, "mcp": f"{url}gradio_api/mcp/", "folders": folders}


@pytest.fixture(scope="module")
def net() -> Net:
    return load_model(ROOT / "weights", device="cpu")


def in_session(app: dict[str, Any], work: Callable[[ClientSession], Awaitable[T]]) -> T:
    """`work(session)` in an MCP session with the app."""

    async def main() -> T:
        async with (
            streamable_http_client(app["mcp"]) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return asyncio.run(main())


def no_server_paths(app: dict[str, Any], result: CallToolResult) -> CallToolResult:
    for content in result.content:
        if isinstance(content, TextContent):
            for folder in app["folders"]:
                assert folder not in content.text, content.text
    return result


def call(app: dict[str, Any], name: str, **arguments: Any) -> CallToolResult:
    result = in_session(app, lambda session: session.call_tool(name, arguments))
    return no_server_paths(app, result)


def refusals(app: dict[str, Any], name: str, images: list[Any]) -> list[str]:
    """What `name` answers each image, in one session: each must be a refusal."""

    async def each(session: ClientSession) -> list[CallToolResult]:
        return [await session.call_tool(name, {"image": image}) for image in images]

    messages = []
    for result in in_session(app, each):
        assert result.isError, result.content
        (content,) = no_server_paths(app, result).content
        messages.append(content.text)
    return messages


def answer(app: dict[str, Any], name: str, **arguments: Any) -> tuple[list[Image.Image], Any]:
    """A successful call's pictures and the JSON that ends it."""
    result = call(app, name, **arguments)
    assert not result.isError, result.content
    *pictures, last = result.content
    assert isinstance(last, TextContent), last
    return [picture(content) for content in pictures], json.loads(last.text)


def picture(content: Any) -> Image.Image:
    assert isinstance(content, ImageContent) and content.mimeType == "image/png", content
    image = Image.open(io.BytesIO(base64.b64decode(content.data)))
    assert image.format == "PNG"
    return image


def refusal(app: dict[str, Any], name: str, **arguments: Any) -> str:
    result = call(app, name, **arguments)
    assert result.isError, result.content
    (content,) = result.content
    return content.text


@pytest.fixture(scope="module")
def client(app: dict[str, Any]) -> Client:
    return Client(app["url"], verbose=False)


# ------------------------------------------------------------------ the tools


def test_the_tools_are_the_apps_twelve_described_for_agents(app: dict[str, Any]) -> None:
    tools = in_session(app, lambda session: session.list_tools()).tools
    assert {tool.name for tool in tools} == TOOLS  # no /download, no page event
    for tool in tools:
        assert "Returns: " in tool.description and "upload_file_to_gradio" not in tool.description
        for name, schema in tool.inputSchema["properties"].items():
            assert schema["description"], (tool.name, name)
        image = tool.inputSchema["properties"].get("image")
        if image is not None:
            assert image["type"] == "string" and "base64" in image["description"]
            assert "url to a file" not in json.dumps(image)
    explain_schema = next(t for t in tools if t.name == "explain_image").inputSchema
    assert explain_schema["required"] == ["image"]
    assert "true label" in explain_schema["properties"]["target"]["enum"]
    assert explain_schema["properties"]["seed"]["default"] == 0


def test_the_training_data_tools_say_what_is_missing(app: dict[str, Any]) -> None:
    """The tutorial's weights come without checkpoints, and this server has no training set:
    each tool says so in the app's words (the answers: tests/app/test_app_influence.py)."""
    tools = {t.name: t for t in in_session(app, lambda session: session.list_tools()).tools}
    assert tools["image_influence"].inputSchema["required"] == ["image"]
    assert tools["image_influence"].inputSchema["properties"]["k"]["default"] == 8
    assert tools["hardest"].inputSchema["properties"]["true_class"]["default"] == "any"
    for name, arguments in (
        ("image_influence", {"image": IMAGE, "model": "tutorial"}),
        ("hardest", {"true_class": "cat", "model": "tutorial"}),
    ):
        assert refusal(app, name, **arguments) == (
            "Influence can't be computed here: model 'tutorial' has no training checkpoints: "
            "its weights come without the training history influence needs (scripts/train.py "
            "writes it)."
        )
    message = refusal(app, "train_sample", index=0)
    assert message.startswith("Influence can't be computed here: no training set is configured")


@pytest.mark.parametrize("name", ["download_files", "explain_on_page", "show_matrix"])
def test_other_endpoints_and_page_events_are_no_tools(app: dict[str, Any], name: str) -> None:
    assert refusal(app, name, image=IMAGE) == f"Unknown tool for this Gradio app: {name}"


def test_explain_gives_the_librarys_maps_prediction_and_deltas(
    app: dict[str, Any], net: Net
) -> None:
    result = call(app, "explain_image", image=IMAGE, **FAST)
    assert not result.isError, result.content
    *pairs, last = result.content
    pictures = [picture(content) for content in pairs[::2]]
    captions = [content.text for content in pairs[1::2]]
    assert all(isinstance(content, TextContent) for content in pairs[1::2])
    found = json.loads(last.text)

    expected = explain(net, example(3), list(DEFAULT_METHODS), **FAST)
    assert len(pictures) == len(captions) == 1 + len(DEFAULT_METHODS)
    assert all(image.width == 256 for image in pictures)
    assert captions[0].startswith("Model input 32×32") and "true label airplane" in captions[0]
    assert captions[1:] == [expected.caption(key) for key in DEFAULT_METHODS]
    assert found["label"]["label"] == CLASSES[expected.prediction]
    assert found["details"]["prediction"] == expected.prediction
    assert found["details"]["deltas"] == pytest.approx(expected.deltas, rel=1e-5, abs=1e-7)
    assert found["details"]["true_label"] == "airplane"


def test_predict_sample_and_models_equal_the_frozen_api(
    app: dict[str, Any], client: Client
) -> None:
    _, label = answer(app, "predict_image", image=IMAGE)
    assert label == client.predict(handle_file(str(example(3))), api_name="/predict")
    (image,), sampled = answer(app, "sample_image", index=3)
    assert np.array_equal(np.asarray(image.convert("RGB")), np.asarray(Image.open(example(3))))
    assert sampled["true_label"] == "airplane" and sampled["index"] == 3
    _, models = answer(app, "list_models")
    assert models == client.predict(api_name="/models")


def test_confusion_and_browse_equal_the_frozen_api(app: dict[str, Any], client: Client) -> None:
    _, confusion = answer(app, "confusion_matrix")
    assert confusion == client.predict(api_name="/confusion")
    assert confusion["total"] == 20 and sum(map(sum, confusion["matrix"])) == 20
    settings = {"outcome": "correct", "sort": "least confident first", "max_confidence": 0.9}
    _, page = answer(app, "browse_images", **settings)
    assert page == client.predict(**settings, api_name="/browse")
    assert page["items"] and all(item["confidence"] <= 0.9 for item in page["items"])


def test_features_sends_the_top_channels_maps_and_windows_and_the_api_json(
    app: dict[str, Any], client: Client
) -> None:
    result = call(app, "image_features", image=IMAGE, target="airplane")
    assert not result.isError, result.content
    *pairs, last = result.content
    found = json.loads(last.text)
    expected = client.predict(handle_file(str(example(3))), "airplane", api_name="/features")
    assert found == expected
    pictures = [picture(content) for content in pairs[::2]]
    captions = [content.text for content in pairs[1::2]]
    top = [item["channel"] for item in found["channels"][:6]]
    assert len(pictures) == 12  # a share map and a strip of 8 windows per top channel
    for number, channel in enumerate(top):
        assert captions[2 * number].startswith(f"channel {channel}: ")
        windows = ", ".join(f"#{i}" for i in found["channels"][number]["top_images"])
        assert captions[2 * number + 1] == f"channel {channel}: most active in {windows}"
        strip = pictures[2 * number + 1]  # 8 windows side by side
        assert strip.width % 8 == 0 and strip.width > 4 * strip.height


def test_the_atlas_sends_its_heat_map_and_the_api_json(app: dict[str, Any], client: Client) -> None:
    result = call(app, "class_feature_atlas")
    assert not result.isError, result.content
    image, caption, last = result.content
    heat_map, atlas = picture(image), json.loads(last.text)
    assert caption.text.startswith("class x feature atlas")
    assert atlas == client.predict(api_name="/feature_atlas")
    assert heat_map.width > heat_map.height > 300
    assert len(atlas["matrix"]) == 10 and all(len(row) == 16 for row in atlas["matrix"])


# ------------------------------------------------------------------ hostile images

SERVER_PATHS = [
    "/etc/passwd",
    str(example(3)),  # the project's own file
    "examples/cifar10_03_0.png",
    "./app.py",
    "../../etc/hostname",
    "weights",
    "data:image/png,not-base64",
    "data:image/png;base64,@@@@",
]


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server recording every request (none may come): its URL and log."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(example(3).read_bytes())

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/cat.png", seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("tool", ["predict_image", "explain_image"])
def test_a_path_or_non_base64_text_is_refused_in_the_apps_words(
    app: dict[str, Any], tool: str
) -> None:
    assert refusals(app, tool, SERVER_PATHS) == [refused(BASE64_ONLY)] * len(SERVER_PATHS)


@pytest.mark.parametrize("tool", ["predict_image", "explain_image"])
def test_no_url_is_fetched(app: dict[str, Any], tool: str, listener: tuple[str, list[str]]) -> None:
    """Loopback (the app's own file= route, a listener), private, link-local (cloud metadata)
    and file URLs: refused in the app's words, none fetched."""
    url, seen = listener
    urls = [
        url,
        f"{app['url']}gradio_api/file={example(3)}",
        "http://10.0.0.1/cat.png",
        "http://169.254.169.254/latest/meta-data/",
        "HTTP://[::1]:22/",
        "https://example.com/cat.png",
        "file:///etc/passwd",
    ]
    assert refusals(app, tool, urls) == [refused(NO_URLS_BASE64)] * len(urls)
    assert seen == []


def test_a_file_object_is_refused_before_anything_reads_it(app: dict[str, Any]) -> None:
    """Gradio's loopback client would upload the file a FileData dict names; the tool's schema
    takes a string only."""
    file = {"path": str(example(3)), "meta": {"_type": "gradio.FileData"}}
    arguments = {"image": file}
    result = in_session(app, lambda session: session.call_tool("predict_image", arguments))
    assert result.isError, result.content  # the message echoes the argument, path and all
    (content,) = result.content
    assert "is not of type 'string'" in content.text and "airplane" not in content.text


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_gets_the_pixel_limit_in_the_librarys_words(
    app: dict[str, Any],
) -> None:
    bomb = "data:image/png;base64," + base64.b64encode(_png_claiming(100_000, 100_000)).decode()
    for tool, extra in (("predict_image", {}), ("explain_image", {"methods": ["saliency"]})):
        message = refusal(app, tool, image=bomb, **extra)
        assert message.startswith("This image can't be used: "), message
        assert "the limit is 50,000,000 pixels" in message, message


def test_an_image_that_is_no_image_is_refused_by_the_library(app: dict[str, Any]) -> None:
    text = "data:text/plain;base64," + base64.b64encode(b"root:x:0:0:root:/root\n").decode()
    assert refusal(app, "predict_image", image=text) == refused(
        "not an image file PIL can read (PNG, JPEG, GIF, WebP, TIFF, BMP...)"
    )


# ------------------------------------------------------------------ the API's limits


def test_the_parameter_caps_hold_in_the_libraries_words(app: dict[str, Any]) -> None:
    assert refusal(app, "explain_image", image=IMAGE, n_steps=0) == (
        "Invalid setting: n_steps must be between 1 and 500, got 0."
    )
    message = refusal(app, "explain_image", image=IMAGE, n_steps=500, nt_samples=500)
    assert message.startswith("Invalid setting: IG + SmoothGrad² runs n_steps x nt_samples")


def test_a_call_with_progress_reports_it_and_answers_alike(app: dict[str, Any]) -> None:
    """With a progress token Gradio streams the queue's and the methods' progress, and words a
    refusal as without one."""
    reports: list[str | None] = []

    async def report(progress: float, total: float | None, message: str | None) -> None:
        reports.append(message)

    async def two(session: ClientSession) -> list[CallToolResult]:
        arguments = {"image": IMAGE, "methods": ["saliency"]}
        done = await session.call_tool("explain_image", arguments, progress_callback=report)
        bad = {**arguments, "n_steps": 0}
        refused = await session.call_tool("explain_image", bad, progress_callback=report)
        return [done, refused]

    done, refused = in_session(app, two)
    assert not no_server_paths(app, done).isError and len(done.content) == 2 * 2 + 1
    assert refused.isError and refused.content[0].text == (
        "Invalid setting: n_steps must be between 1 and 500, got 0."
    )
    assert any(message and "Saliency" in message for message in reports), reports


def test_a_request_over_the_mcp_limit_is_refused_unread_and_one_under_it_served(
    app: dict[str, Any], tmp_path: Path
) -> None:
    """The MCP SDK's 4 MiB per request: 413 before parsing. An image of 2.5 MB fits."""
    big = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    big["params"] = {"name": "predict_image", "arguments": {"image": "A" * MCP_REQUEST_LIMIT}}
    headers = {"Accept": "application/json, text/event-stream"}
    response = httpx.post(app["mcp"], json=big, headers=headers, timeout=60)
    assert response.status_code == 413

    noise = np.random.default_rng(0).integers(0, 256, (900, 900, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    assert 2_400_000 < (tmp_path / "noise.png").stat().st_size < 3 * 2**20
    _, label = answer(app, "predict_image", image=data_url(tmp_path / "noise.png"))
    assert label["label"] in CLASSES


def test_a_full_queue_answers_busy(app: dict[str, Any]) -> None:
    """One event at a time and one waiting (the module's app): the others are told to try
    again, as API clients are; the queue is the API's."""
    heavy = {"image": IMAGE, "methods": ["ig_smoothgrad_sq"]}  # the tutorial's: 5,000 rows

    async def six(session: ClientSession) -> list[CallToolResult]:
        calls = [session.call_tool("explain_image", heavy) for _ in range(6)]
        return list(await asyncio.gather(*calls))

    results = in_session(app, six)
    busy = [result.content[0].text for result in results if result.isError]
    assert busy and all("try again" in message for message in busy), busy
    assert len(busy) < len(results)
    assert not call(app, "predict_image", image=IMAGE).isError
