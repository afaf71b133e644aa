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
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.exceptions import InvalidPathError
from gradio.utils import get_upload_folder
from gradio_client.utils import is_file_obj_with_meta, is_http_url_like
from pydantic import ValidationError

from .errors import FILE_ONLY, NO_URLS, NOT_UPLOADED, image_refused


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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


def upload_folder() -> str:
    """Where Gradio keeps uploads and the copies it serves (every component's GRADIO_CACHE):
    $GRADIO_TEMP_DIR, else <tmp>/gradio."""
    return get_upload_folder()
