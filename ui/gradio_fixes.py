"""Every place the app works around Gradio (6.31), each with why, and a test that fails when
Gradio changes under it (tests/ui/test_gradio_fixes.py).

1. Image inputs accept uploads only, refused in the app's words (`UploadsOnlyBlocks`).
   Gradio checks an event's file inputs before any event function runs
   (`Blocks.preprocess_data` -> `processing_utils.async_move_files_to_cache`):
   - an http(s) URL sent as the image is downloaded by the server (gradio-app/gradio#10840
     asks for exactly that); the app never fetches URLs;
   - a server-side path is refused with `InvalidPathError`, which reaches the client as
     ``{"error": null}``: no words at all (the error's text names the server's folders, so
     `show_error` is no answer; cf. gradio-app/gradio#10231);
   - a value that is not a file, or a file dict without Gradio's ``meta`` (which skips the
     upload-folder check altogether, so the event would get a server path), fails in pydantic
     or passes unchecked.
   No public hook runs before that check: `validator=` functions go through the same
   preprocessing, a `gr.FileData`/`data_model` validation runs after the cache move, and
   subclassing `gr.Image` makes Gradio write a ``.pyi`` stub beside the module. So the app's
   Blocks check those inputs first, in `preprocess_data`, and word Gradio's own refusals.
   The events still read only paths inside Gradio's upload folder (ui/inputs.py), whatever
   reaches them.

2. Pictures are handed to Gradio as finished files, never as PIL images (ui/files.py).
   `processing_utils.save_pil_to_cache` names a picture by its content and rewrites that file
   in place on every render of the same picture: under concurrency a client can fetch it
   half-written (scripts/load_test.py saw 2 empty images in 200 requests). For a file path
   Gradio copies with `save_file_to_cache`, which writes a temporary file and renames it into
   place. This replaces the earlier patch of `save_pil_to_cache`; no upstream issue found.

3. A parameter appended to an endpoint keeps calls written before it working
   (`UploadsOnlyBlocks.appended`). gradio_client fills in every parameter a call leaves out,
   but a plain HTTP call (``POST /gradio_api/call/explain`` with the 13 values /explain took
   before `model`) is refused by `Blocks.validate_inputs` ("didn't receive enough input
   values"), which reaches the client as ``{"error": null}``. For the endpoints named in
   `appended`, a call that leaves out only appended parameters gets their API defaults.

4. Gradio's MCP server serves the app's tools (`AgentMCPServer`, ui/mcp_tools.py; docs/MCP.md).
   `launch(mcp_server=True)` makes every public endpoint a tool, described by the frozen
   docstrings written for gradio_client, and in 6.31:
   - a queued endpoint with a `gr.State` output (/explain) fails every call with "pop index
     out of range": `pop_returned_state` pops the State's position from the loopback client's
     answer, which holds no State value; and without a progress token that answer is one
     tuple of all the outputs, rendered as a single text;
   - a Gallery, or any file output not at the top level, becomes Python's repr of dicts
     holding server paths, and a top-level picture comes with "Image URL: <path>";
   - with a progress token, a refusal reads "<title>: <message>" ("Invalid setting: Invalid
     setting: ..."), the message alone without one;
   - an image argument may be an http(s) URL (handed on for the server to fetch) or base64;
     anything else is refused with "provide a url" and the text echoed; a file dict would
     have its path read by the loopback client, were the schema not checked first.
   Gradio creates its server in `App.setup_mcp_server` (``blocks.mcp_server_obj =
   gradio.mcp.GradioMCPServer(blocks)``); `UploadsOnlyBlocks` given `mcp_tools` puts an
   `AgentMCPServer` in its place, whose tools are those endpoints only, described by their
   cards, taking images as base64 data only, and answering with pictures and JSON. Calls
   still go through Gradio's loopback client, so the queue, its size and the upload limit
   hold as for any API call.
"""

from __future__ import annotations

import base64
import contextvars
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import gradio as gr
from gradio.components import State
from gradio.exceptions import InvalidPathError
from gradio.mcp import GradioMCPServer
from gradio.utils import get_upload_folder
from gradio_client import handle_file
from gradio_client.utils import is_file_obj_with_meta, is_http_url_like
from pydantic import ValidationError

from .errors import FILE_ONLY, NO_URLS, NOT_UPLOADED, image_refused
from .mcp_tools import Picture, Tool, saved_image, served_picture

# Gradio's own server, made before `AgentMCPServer` replaces it, warns of /download's State
# input; /download is no tool of the app's server.
warnings.filterwarnings("ignore", "This MCP server includes a tool that has a gr.State input")


def upload_refusal(value: Any) -> str | None:
    """Why an image input's raw value is not an upload Gradio may check (None: let it check)."""
    if value is None:
        return None  # the event says "No image yet"
    path = value.get("path") if isinstance(value, dict) else None
    if not isinstance(path, str) or not path:
        return FILE_ONLY
    if is_http_url_like(path) or "://" in path:
        return NO_URLS
    if not is_file_obj_with_meta(value):
        return FILE_ONLY
    return None


class UploadsOnlyBlocks(gr.Blocks):
    """`gr.Blocks` whose image inputs marked with `uploads_only` take uploaded files only, and
    whose refusals of anything else are the app's own sentences (see 1. above)."""

    mcp_tools: Mapping[str, Tool] | None = None  # endpoint -> tool, for `mcp_server_obj`

    def __init__(
        self, *args: Any, mcp_tools: Mapping[str, Tool] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mcp_tools = mcp_tools
        self.upload_inputs: set[int] = set()
        # api_name -> the values of the parameters appended last, in order (see 3. above)
        self.appended: dict[str, list[Any]] = {}

    def uploads_only(self, image: gr.Image) -> gr.Image:
        """Mark `image` (an input of this Blocks' events) as taking uploads only."""
        self.upload_inputs.add(image._id)
        return image

    async def preprocess_data(
        self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False
    ) -> list[Any]:
        appended = self.appended.get(getattr(block_fn, "api_name", None) or "")
        missing = len(block_fn.inputs) - len(inputs)
        if appended and 0 < missing <= len(appended):
            inputs = [*inputs, *appended[len(appended) - missing :]]
        guarded = [i for i, block in enumerate(block_fn.inputs) if block._id in self.upload_inputs]
        for i in guarded:
            reason = upload_refusal(inputs[i]) if i < len(inputs) else None
            if reason:
                raise image_refused(reason)
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except InvalidPathError:  # Gradio's refusal of a path it did not receive as an upload
            if guarded:
                raise image_refused(NOT_UPLOADED) from None
            raise
        except ValidationError:  # a file dict Gradio's FileData/ImageData model refuses
            if guarded:
                raise image_refused(FILE_ONLY) from None
            raise

    @property
    def mcp_server_obj(self) -> Any:
        return self.__dict__.get("_mcp_server")

    @mcp_server_obj.setter
    def mcp_server_obj(self, server: Any) -> None:
        """Gradio's MCP server, replaced by the app's when it has `mcp_tools` (see 4. above)."""
        if type(server) is GradioMCPServer and self.mcp_tools:
            server = AgentMCPServer(self, self.mcp_tools)
        self.__dict__["_mcp_server"] = server


_endpoint: contextvars.ContextVar[str] = contextvars.ContextVar("mcp_endpoint")


class AgentMCPServer(GradioMCPServer):
    """Gradio's MCP server with the app's tools (see 4. above): `tools` maps an endpoint to
    its `ui.mcp_tools.Tool`. Each call runs in its own task: `_endpoint` tells the answer's
    rendering which endpoint answered."""

    def __init__(self, blocks: gr.Blocks, tools: Mapping[str, Tool]) -> None:
        self.tools = dict(tools)  # before Gradio's __init__, which lists the tools
        super().__init__(blocks)

    def get_tool_to_endpoint(self) -> dict[str, str]:
        named = super().get_tool_to_endpoint()
        return {tool: endpoint for tool, endpoint in named.items() if endpoint in self.tools}

    def _tool(self, tool_name: str) -> Tool:
        endpoint = self.tool_to_endpoint.get(tool_name)
        if endpoint is None:
            raise ValueError(f"Unknown tool for this Gradio app: {tool_name}")
        return self.tools[endpoint]

    def get_fn_description(self, block_fn: Any, tool_name: str) -> tuple[str, dict[str, str]]:
        return self._tool(tool_name).describe()

    def get_input_schema(
        self, tool_name: str, parameters: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], list[list[str | int]]]:
        tool = self._tool(tool_name)
        api = self.api_info["named_endpoints"][tool.endpoint]["parameters"]
        images = [[p["parameter_name"]] for p in api if p["parameter_name"] in tool.images]
        return tool.input_schema(api), images

    def convert_strings_to_filedata(
        self, value: Any, filedata_positions: list[list[str | int]]
    ) -> Any:
        """Image arguments: base64 data only, saved for the loopback client to upload."""
        images = {position[0] for position in filedata_positions}
        return {
            name: handle_file(saved_image(argument)) if name in images else argument
            for name, argument in value.items()
        }

    def _prepare_tool_call_args(self, name: str, arguments: dict[str, Any]) -> Any:
        prepared = super()._prepare_tool_call_args(name, arguments)
        _endpoint.set(prepared[0])
        return prepared

    async def _execute_tool_without_progress(self, job: Any) -> list[Any]:
        (result,) = await super()._execute_tool_without_progress(job)
        return list(result) if isinstance(result, tuple) else [result]  # one value per output

    async def _execute_tool_with_progress(self, job: Any, progress_token: str | int) -> Any:
        return await super()._execute_tool_with_progress(_Untitled(job), progress_token)

    @staticmethod
    def pop_returned_state(components: Sequence[Any], data: Any) -> list:
        if len(data) != len(components):  # the loopback's answer: no State values in it
            return list(data)
        return [
            value for c, value in zip(components, data, strict=True) if not isinstance(c, State)
        ]

    def postprocess_output_data(self, data: Any, root_url: str) -> list[Any]:
        folder = upload_folder()
        parts = self.tools[_endpoint.get()].answer(
            list(data), lambda file: served_picture(file, folder)
        )
        return [
            self.types.ImageContent(
                type="image", data=base64.b64encode(part.data).decode(), mimeType=part.mime_type
            )
            if isinstance(part, Picture)
            else self.types.TextContent(type="text", text=part)
            for part in parts
        ]


class _Untitled:
    """A loopback client's job whose refusal carries the app's message alone, as it does
    without a progress token (see 4. above)."""

    def __init__(self, job: Any) -> None:
        self.job = job

    async def __aiter__(self) -> Any:
        async for update in self.job:
            if update.type == "output" and not update.success and isinstance(update.outputs, dict):
                update.outputs = {k: v for k, v in update.outputs.items() if k != "title"}
            yield update

    def exception(self) -> BaseException | None:
        return self.job.exception()


def upload_folder() -> str:
    """Where Gradio keeps uploads and the copies it serves (every component's GRADIO_CACHE):
    $GRADIO_TEMP_DIR, else <tmp>/gradio."""
    return get_upload_folder()
