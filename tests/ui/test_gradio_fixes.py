"""ui/gradio_fixes.py: each Gradio workaround, checked two ways.

- Shape: the Gradio internals the app relies on still look as they did in 6.31 (signature,
  attribute, behaviour of a plain call). A new Gradio that changes them fails here, loudly,
  before a workaround silently stops working.
- Still needed: Gradio, without the workaround, still does what it works around (a server path
  gets no words, a file dict without `meta` reaches the event unchecked, a URL is fetched, a
  picture is rewritten in place). When one of these starts failing, Gradio fixed it upstream:
  the workaround can go.

Two small Gradio apps run in this process on loopback: a plain `gr.Blocks`, and the app's
`UploadsOnlyBlocks`, each echoing what its event receives for an image input.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from conftest import call_over_http, example, free_port
from gradio import processing_utils
from gradio.exceptions import InvalidPathError
from gradio_client.utils import is_file_obj_with_meta, is_http_url_like
from PIL import Image

from ui.errors import FILE_ONLY, NO_URLS, NOT_UPLOADED
from ui.files import write_atomically
from ui.gradio_fixes import UploadsOnlyBlocks, upload_folder, upload_refusal

pytestmark = pytest.mark.timeout(120)

META = {"_type": "gradio.FileData"}
URL = "https://example.com/cat.png"


def _echo_app(blocks_class: type[gr.Blocks]) -> tuple[gr.Blocks, gr.Image, list[Any]]:
    """An app whose /seen endpoint returns the raw image value its event got (events skip
    preprocessing, as the app's do); with the list of URLs it was asked to fetch."""
    fetched: list[Any] = []
    with blocks_class(analytics_enabled=False) as demo:
        image = gr.Image(type="filepath")
        if isinstance(demo, UploadsOnlyBlocks):
            demo.uploads_only(image)
        seen = gr.JSON()
        gr.Button().click(
            lambda value: {"value": value}, image, seen, api_name="seen", preprocess=False
        )
    fetch = image.async_move_resource_to_block_cache

    async def spy(url_or_file_path):  # records what Gradio moves or downloads for the event
        fetched.append(url_or_file_path)
        if isinstance(url_or_file_path, str) and is_http_url_like(url_or_file_path):
            raise RuntimeError("the test stops the download here")
        return await fetch(url_or_file_path)

    image.async_move_resource_to_block_cache = spy
    return demo, image, fetched


@pytest.fixture(scope="module")
def temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Gradio's upload folder for this module's apps (read from GRADIO_TEMP_DIR)."""
    folder = tmp_path_factory.mktemp("gradio")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("GRADIO_TEMP_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def apps(temp_dir: Path) -> Iterator[dict[str, tuple[str, list[Any]]]]:
    """{"plain": (url, fetched), "app": (url, fetched)}, both serving."""
    running = {}
    launched = []
    for name, kind in (("plain", gr.Blocks), ("app", UploadsOnlyBlocks)):
        demo, _, fetched = _echo_app(kind)
        demo.queue()
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        launched.append(demo)
        running[name] = (f"http://127.0.0.1:{port}/", fetched)
    yield running
    for demo in launched:
        demo.close(verbose=False)


def _call(url: str, value: Any) -> tuple[str, Any]:
    """/seen called with `value` as its image over raw HTTP: ("complete", data) or ("error",
    payload)."""
    return call_over_http(url, "seen", [value])


def _upload(url: str, path: Path) -> str:
    with open(path, "rb") as file:
        reply = httpx.post(f"{url}gradio_api/upload", files={"files": (path.name, file)})
    reply.raise_for_status()
    return reply.json()[0]


def _words(reason: str) -> str:
    return f"This image can't be used: {reason}."


# ------------------------------------------------------------------ 1. uploads only: shape


def test_preprocess_data_is_the_hook_gradio_calls_before_every_event() -> None:
    """UploadsOnlyBlocks overrides this coroutine: its name, parameters and its call from
    process_api must not move."""
    assert inspect.iscoroutinefunction(gr.Blocks.preprocess_data)
    parameters = inspect.signature(gr.Blocks.preprocess_data).parameters
    assert list(parameters) == ["self", "block_fn", "inputs", "state", "explicit_call"]
    assert parameters["explicit_call"].default is False
    assert "self.preprocess_data(" in inspect.getsource(gr.Blocks.process_api)
    move = inspect.signature(processing_utils.async_move_files_to_cache).parameters
    assert "check_in_upload_folder" in move
    assert issubclass(InvalidPathError, ValueError)


def test_gradios_file_helpers_still_tell_files_and_urls_apart() -> None:
    assert is_file_obj_with_meta({"path": "a.png", "meta": META})
    assert not is_file_obj_with_meta({"path": "a.png"})
    assert is_http_url_like(URL) and not is_http_url_like("examples/a.png")


def test_the_upload_folder_is_every_components_cache(
    temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert upload_folder() == gr.Image().GRADIO_CACHE == str(temp_dir)
    monkeypatch.delenv("GRADIO_TEMP_DIR")
    assert upload_folder() == gr.Image().GRADIO_CACHE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ({"path": "/tmp/gradio/x/a.png", "meta": META}, None),
        ("examples/a.png", FILE_ONLY),
        (5, FILE_ONLY),
        ({"path": ""}, FILE_ONLY),
        ({"path": 5, "meta": META}, FILE_ONLY),
        ({"path": "/tmp/gradio/x/a.png"}, FILE_ONLY),  # no meta: Gradio would not check it
        ({"path": URL, "meta": META}, NO_URLS),
        ({"path": URL}, NO_URLS),
        ({"path": "ftp://host/a.png", "meta": META}, NO_URLS),
    ],
)
def test_upload_refusal(value: Any, expected: str | None) -> None:
    assert upload_refusal(value) == expected


# ------------------------------------------------------------------ 1. uploads only: needed


def test_plain_gradio_gives_a_server_path_no_words(apps) -> None:
    url, _ = apps["plain"]
    kind, payload = _call(url, {"path": str(example(3)), "meta": META})
    assert kind == "error" and payload["error"] is None, payload


def test_plain_gradio_hands_a_file_without_meta_to_the_event_unchecked(apps) -> None:
    url, _ = apps["plain"]
    kind, data = _call(url, {"path": str(example(3))})
    assert kind == "complete" and data[0]["value"]["path"] == str(example(3)), data


def test_plain_gradio_fetches_an_image_url(apps) -> None:
    url, fetched = apps["plain"]
    kind, payload = _call(url, {"path": URL, "meta": META})
    assert URL in fetched, fetched  # it went to download it
    assert kind == "error" and payload["error"] is None, payload


def test_plain_gradio_gives_a_value_that_is_not_a_file_no_words(apps) -> None:
    url, _ = apps["plain"]
    kind, payload = _call(url, "examples/cifar10_03_0.png")
    assert kind == "error" and payload["error"] is None, payload


# ------------------------------------------------------------------ 1. uploads only: fixed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"path": str(example(3)), "meta": META}, NOT_UPLOADED),
        ({"path": "../../etc/hostname", "meta": META}, NOT_UPLOADED),
        ({"path": str(example(3))}, FILE_ONLY),
        ({"path": URL, "meta": META}, NO_URLS),
        ("examples/cifar10_03_0.png", FILE_ONLY),
        ({"path": "a.png", "meta": META, "size": "big"}, FILE_ONLY),
    ],
    ids=["server-path", "relative-path", "no-meta", "url", "text", "bad-field"],
)
def test_the_apps_blocks_refuse_in_the_apps_words(apps, value: Any, reason: str) -> None:
    url, fetched = apps["app"]
    kind, payload = _call(url, value)
    assert kind == "error" and payload["error"] == _words(reason), payload
    assert payload["title"] == "Image not usable"
    assert URL not in fetched


def test_the_apps_blocks_pass_an_upload_through(apps, temp_dir: Path) -> None:
    url, _ = apps["app"]
    uploaded = _upload(url, example(3))
    kind, data = _call(url, {"path": uploaded, "meta": META, "orig_name": "a.png"})
    assert kind == "complete", data
    path = Path(data[0]["value"]["path"])
    assert path.resolve().is_relative_to(temp_dir.resolve())
    assert path.read_bytes() == example(3).read_bytes()
    assert _call(url, None) == ("complete", [{"value": None}])  # the event says "no image"


# ------------------------------------------------------------------ 2. pictures as files


def _big_picture() -> Image.Image:
    """About 7 MB as BMP: long enough to write that a reader can catch it half-way."""
    return Image.frombytes("RGB", (1500, 1500), os.urandom(1500 * 1500 * 3))


def _short_reads(write: Callable[[int], None], files: Callable[[], list[Path]], size: int) -> int:
    """Run `write(n)` for n = 0..29 while a reader polls `files()`: how many times it saw one
    shorter than `size` bytes (half-written)."""
    done, short = threading.Event(), 0

    def writer() -> None:
        for number in range(30):
            write(number)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        for path in files():
            with contextlib.suppress(FileNotFoundError):  # between two renames
                short += path.stat().st_size < size
    thread.join()
    return short


def test_plain_gradio_rewrites_a_picture_in_place_where_a_client_can_read_it_half_written(
    tmp_path: Path,
) -> None:
    """`save_pil_to_cache` names a picture by content and rewrites that same file on every
    render: a concurrent reader sees it short. Hence the app never hands Gradio PIL images."""
    picture = _big_picture()
    size = len(processing_utils.encode_pil_to_bytes(picture, "bmp"))
    path = Path(processing_utils.save_pil_to_cache(picture, str(tmp_path), format="bmp"))
    assert path.stat().st_size == size

    def render(_: int) -> None:
        assert processing_utils.save_pil_to_cache(picture, str(tmp_path), format="bmp") == str(path)

    short = _short_reads(render, lambda: [path], size)
    print(f"save_pil_to_cache: {short} half-written reads in 30 renders")
    assert short > 0


def test_gradios_file_copy_and_the_apps_writes_are_never_seen_half_written(
    tmp_path: Path,
) -> None:
    """What the app relies on instead: it writes each file whole (`write_atomically`), and
    Gradio copies a file path into its cache with `save_file_to_cache`, also whole."""
    picture = _big_picture()
    source = tmp_path / "big.bmp"
    picture.save(source)
    size = source.stat().st_size
    assert list(inspect.signature(processing_utils.save_file_to_cache).parameters) == [
        "file_path",
        "cache_dir",
    ]

    def copy(number: int) -> None:  # a fresh cache each time: Gradio reuses an existing copy
        processing_utils.save_file_to_cache(source, str(tmp_path / f"cache{number}"))

    def copies() -> list[Path]:
        return list(tmp_path.glob("cache*/*/big.bmp"))

    assert _short_reads(copy, copies, size) == 0
    assert len(copies()) == 30
    data = source.read_bytes()
    ours = tmp_path / "ours.bmp"
    assert _short_reads(lambda _: write_atomically(ours, data), lambda: [ours], size) == 0


@pytest.mark.parametrize("kind", [gr.Gallery, gr.Image])
def test_a_file_path_output_is_copied_never_re_encoded(
    kind: type, tmp_path: Path, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gallery and image outputs take the app's PNG paths without `save_pil_to_cache`."""

    def refuse(*args, **kwargs):
        raise AssertionError("save_pil_to_cache was called")

    monkeypatch.setattr(processing_utils, "save_pil_to_cache", refuse)
    component = kind(format="png")
    picture = tmp_path / "image.png"
    Image.open(example(3)).save(picture)
    value = [(str(picture), "caption")] if isinstance(component, gr.Gallery) else str(picture)
    shown = component.postprocess(value)
    served = shown.root[0].image.path if isinstance(component, gr.Gallery) else shown.path
    assert served == str(picture)  # the file as given; Gradio copies it when it serves it
    cached = Path(processing_utils.save_file_to_cache(served, str(temp_dir)))
    assert cached.name == "image.png" and cached.read_bytes() == picture.read_bytes()


def test_write_atomically_replaces_a_file_whole_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "image.png"
    write_atomically(target, b"old")
    write_atomically(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert [path.name for path in tmp_path.iterdir()] == ["image.png"]


# ------------------------------------------------------------------ 4. the MCP server: shape

import asyncio  # noqa: E402
import base64  # noqa: E402
import contextvars  # noqa: E402

from gradio import routes  # noqa: E402
from gradio.mcp import GradioMCPServer  # noqa: E402
from gradio_client.utils import OutputUpdate  # noqa: E402
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager  # noqa: E402

from ui import gradio_fixes  # noqa: E402
from ui.errors import BASE64_ONLY, NO_URLS_BASE64  # noqa: E402
from ui.gradio_fixes import AgentMCPServer  # noqa: E402
from ui.mcp_tools import MCP_REQUEST_LIMIT, Tool, ToolRefusal  # noqa: E402

HOOKS = [
    "get_tool_to_endpoint",
    "get_fn_description",
    "get_input_schema",
    "convert_strings_to_filedata",
    "_prepare_tool_call_args",
    "_execute_tool_without_progress",
    "_execute_tool_with_progress",
    "pop_returned_state",
    "postprocess_output_data",
]
PNG_DATA = "data:image/png;base64," + base64.b64encode(example(3).read_bytes()).decode()


def show_image(image: str) -> None:
    """Show an image, labeled.

    Args:
        image: the image as base64 data
    Returns:
        the image, then its label.
    """


def _gallery_app(blocks_class: type[gr.Blocks], **kwargs: Any) -> gr.Blocks:
    """/show: an image in, a gallery, a label and the session's State out (as /explain);
    /other: another endpoint."""

    def show_image(image: Any) -> tuple[Any, Any, Any]:  # its tool's card: the one above
        return [], None, image

    with blocks_class(analytics_enabled=False, **kwargs) as demo:
        image, gallery, label = gr.Image(type="filepath"), gr.Gallery(), gr.Label()
        outputs = [gallery, label, gr.State()]
        gr.Button().click(show_image, image, outputs, api_name="show")
        gr.Button().click(lambda: None, None, None, api_name="other")
    return demo


class _Job:
    """What the loopback client's job gives for an event with two outputs, or (iterated, as
    with a progress token) for a refusal titled "T"."""

    def result(self) -> tuple[Any, Any]:
        return ([], {"label": "cat"})

    async def __aiter__(self) -> Any:
        yield OutputUpdate(outputs={"title": "T", "error": "It can't."}, success=False, final=True)

    def exception(self) -> None:
        return None


@pytest.fixture(scope="module")
def servers(temp_dir: Path) -> dict[str, Any]:
    """Gradio's MCP server for a plain Blocks, and what the app's Blocks put in its place."""
    plain = _gallery_app(gr.Blocks)
    tools = {"/show": Tool("/show", show_image, ("gallery", "label"))}
    app = _gallery_app(UploadsOnlyBlocks, mcp_tools=tools)
    app.mcp_server_obj = GradioMCPServer(app)  # as App.setup_mcp_server does
    return {"plain": GradioMCPServer(plain), "app": app.mcp_server_obj, "blocks": app}


def _served_png(temp_dir: Path) -> dict[str, Any]:
    """A picture in Gradio's cache, as an event's gallery hands it on."""
    folder = temp_dir / "served"
    folder.mkdir(exist_ok=True)
    (folder / "image.png").write_bytes(example(3).read_bytes())
    return {"path": str(folder / "image.png"), "url": None, "meta": META}


def test_gradio_creates_its_mcp_server_where_the_apps_blocks_replace_it() -> None:
    setup = inspect.getsource(routes.App.setup_mcp_server)
    assert "blocks.mcp_server_obj = gradio.mcp.GradioMCPServer(blocks)" in setup
    assert "self.tool_to_endpoint = self.get_tool_to_endpoint()" in inspect.getsource(
        GradioMCPServer.__init__
    )


def test_the_mcp_servers_hooks_keep_their_names_parameters_and_callers() -> None:
    for name in HOOKS:
        ours = inspect.signature(getattr(AgentMCPServer, name)).parameters
        assert list(inspect.signature(getattr(GradioMCPServer, name)).parameters) == list(ours)
    handlers = inspect.getsource(GradioMCPServer.create_mcp_server)
    for call in (
        "self._prepare_tool_call_args(name, arguments)",
        "await self._execute_tool_without_progress(job)",
        "self.pop_returned_state(block_fn.outputs, output_data)",
        "self.postprocess_output_data(output_data, root_url)",
        "self.get_fn_description(block_fn, tool_name)",
        "self.get_input_schema(tool_name, parameters)",
    ):
        assert call in handlers, call
    progress = inspect.getsource(GradioMCPServer._execute_tool_with_progress)
    for line in ("async for update in job:", 'output.get("title")', "job.exception()"):
        assert line in progress, line
    prepare = inspect.getsource(GradioMCPServer._prepare_tool_call_args)
    assert "self.get_input_schema(name)" in prepare
    assert "self.convert_strings_to_filedata(" in prepare


def test_the_mcp_sdk_refuses_requests_over_4_mib_and_gradio_keeps_that_limit() -> None:
    """ui/mcp_tools.py and the tools' descriptions say an image is at most 3 MB."""
    manager = inspect.signature(StreamableHTTPSessionManager).parameters
    assert manager["max_request_body_size"].default == MCP_REQUEST_LIMIT
    assert "max_request_body_size" not in inspect.getsource(GradioMCPServer.__init__)


# ------------------------------------------------------------------ 4. the MCP server: needed


def test_gradios_mcp_server_fails_every_call_of_an_endpoint_with_a_state_output() -> None:
    """The loopback client's answer holds no State value: popping its position fails."""
    outputs = [gr.Gallery(), gr.Label(), gr.State()]
    for answer in ([([], {})], [[], {}]):  # without, with a progress token
        with pytest.raises(IndexError, match="pop index out of range"):
            GradioMCPServer.pop_returned_state(outputs, list(answer))


def test_gradios_mcp_server_answers_several_outputs_as_one_value(servers) -> None:
    answer = asyncio.run(servers["plain"]._execute_tool_without_progress(_Job()))
    assert answer == [([], {"label": "cat"})]


def test_gradios_mcp_server_titles_a_refusal_only_with_a_progress_token(servers) -> None:
    with pytest.raises(RuntimeError, match=r"^T: It can't\.$"):
        asyncio.run(servers["plain"]._execute_tool_with_progress(_Job(), "token"))


def test_gradios_mcp_server_shows_a_gallery_as_text_naming_server_paths(
    servers, temp_dir: Path
) -> None:
    file = _served_png(temp_dir)
    content = servers["plain"].postprocess_output_data([[{"image": file, "caption": "c"}]], "")
    assert [part.type for part in content] == ["text"] and file["path"] in content[0].text


def test_gradios_mcp_server_hands_an_image_url_on_and_echoes_other_text(servers) -> None:
    plain = servers["plain"]
    assert plain.convert_strings_to_filedata({"image": URL}, [["image"]])["image"]["path"] == URL
    with pytest.raises(ValueError, match="provide a url") as caught:
        plain.convert_strings_to_filedata({"image": "/etc/passwd"}, [["image"]])
    assert "/etc/passwd" in str(caught.value)
    block_fn = plain.get_block_fn_from_endpoint_name("/show")
    assert "upload_file_to_gradio" in plain.get_fn_description(block_fn, "show_image")[0]
    assert set(plain.tool_to_endpoint.values()) == {"/show", "/other"}


# ------------------------------------------------------------------ 4. the MCP server: fixed


def test_the_apps_blocks_serve_their_tools_only(servers) -> None:
    app = servers["app"]
    assert type(app) is AgentMCPServer and servers["blocks"].mcp_server_obj is app
    assert app.tool_to_endpoint == {"show_image": "/show"}  # named after the event's function
    assert app.get_fn_description(None, "show_image") == (
        "Show an image, labeled.\n\nReturns: the image, then its label.",
        {"image": "the image as base64 data"},
    )
    schema, images = app.get_input_schema("show_image")
    assert images == [["image"]] and schema["properties"]["image"]["type"] == "string"
    with pytest.raises(ValueError, match="Unknown tool"):
        app.get_input_schema("other")
    plain = _gallery_app(UploadsOnlyBlocks)  # no tools given: Gradio's server as it is
    plain.mcp_server_obj = server = GradioMCPServer(plain)
    assert plain.mcp_server_obj is server


def test_the_apps_server_takes_images_as_base64_data_only(servers) -> None:
    app = servers["app"]
    converted = app.convert_strings_to_filedata({"image": PNG_DATA, "n": 1}, [["image"]])
    assert Path(converted["image"]["path"]).read_bytes() == example(3).read_bytes()
    assert converted["n"] == 1 and is_file_obj_with_meta(converted["image"])
    for value, reason in [
        ("/etc/passwd", BASE64_ONLY),
        ({"path": str(example(3)), "meta": META}, BASE64_ONLY),
        (URL, NO_URLS_BASE64),
    ]:
        with pytest.raises(ToolRefusal) as caught:
            app.convert_strings_to_filedata({"image": value}, [["image"]])
        assert str(caught.value) == _words(reason)


def test_the_apps_server_answers_pictures_captions_and_json(servers, temp_dir: Path) -> None:
    app, outputs = servers["app"], [gr.Gallery(), gr.Label(), gr.State()]
    answer = asyncio.run(app._execute_tool_without_progress(_Job()))
    assert answer == [[], {"label": "cat"}]
    with pytest.raises(RuntimeError, match=r"^It can't\.$"):  # as without a progress token
        asyncio.run(app._execute_tool_with_progress(_Job(), "token"))
    assert app.pop_returned_state(outputs, answer) == answer
    assert app.pop_returned_state(outputs, [*answer, "state"]) == answer  # a State value: gone
    file = _served_png(temp_dir)

    def render() -> list[Any]:
        gradio_fixes._endpoint.set("/show")
        return app.postprocess_output_data([[{"image": file, "caption": "c"}], {"x": 1}], "")

    image, caption, rest = contextvars.copy_context().run(render)
    assert image.type == "image" and image.mimeType == "image/png"
    assert base64.b64decode(image.data) == example(3).read_bytes()
    assert (caption.text, rest.text) == ("c", '{"x": 1}')
