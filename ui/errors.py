"""Library errors become the app's own messages; anything unexpected is logged, never a crash.

Every refusal a client sees is one sentence, "<what> can't be used: <the library's reason>.",
with a title for the browser's toast; the server keeps serving.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr

from interpret import ImageError, ParamError, WeightsError
from interpret.dataset.browse import BrowseError
from interpret.dataset.registry import RegistryError
from interpret.dataset.sampler import SampleError
from interpret.dataset.strategies import StrategyError
from interpret.influence import InfluenceUnavailable

log = logging.getLogger("interpret.app")

USER_ERRORS = {
    ImageError: ("Image not usable", "This image can't be used: {}."),
    ParamError: ("Invalid setting", "Invalid setting: {}."),
    SampleError: ("Invalid test image index", "Can't load that test image: {}."),
    WeightsError: ("Model unavailable", "The model weights can't be used: {}."),
    # The test set's requests: a class, a filter, a page or a model that does not exist.
    BrowseError: ("Invalid setting", "Invalid setting: {}."),
    RegistryError: ("Invalid setting", "Invalid setting: {}."),
    StrategyError: ("Invalid setting", "Invalid setting: {}."),
    # The training-data view: no checkpoints for this model, no training set on this server.
    InfluenceUnavailable: ("Influence unavailable", "Influence can't be computed here: {}."),
}
# Reasons for images refused before any event runs (see ui/gradio_fixes.py).
FILE_ONLY = "send the image as a file (with gradio_client: handle_file(path))"
NO_URLS = "image URLs are not fetched; download the image and upload the file"
NOT_UPLOADED = (
    "only files uploaded to this app are read; upload the image first "
    "(with gradio_client: handle_file(path))"
)
# Reasons for images refused by the MCP tools (ui/mcp_tools.py), which take base64 data only.
BASE64 = 'send the image itself as base64 data ("data:image/png;base64,...")'
BASE64_ONLY = f"{BASE64}; no file path is read"
NO_URLS_BASE64 = f"image URLs are not fetched; {BASE64}"
NO_IMAGE = "No image yet: upload one, click an example or press Random."
# A ZeroGPU Space's refusals (the `spaces` package's titles), in the app's words; its own
# sentence follows as the reason (it says how long to wait, or how much quota is left).
GPU_REFUSALS = {
    "ZeroGPU quota exceeded": (
        "GPU quota used up",
        "The GPU can't be used for you right now: {}. Explanations need it; the Test set "
        "tab's cached pages do not.",
    ),
    "ZeroGPU pending credits exceeded": (
        "GPU quota used up",
        "The GPU can't be used for you right now: {}.",
    ),
    "ZeroGPU queue timeout": (
        "No GPU free",
        "No GPU is free on this Space right now: {}. Please try again in a minute.",
    ),
    "ZeroGPU client error": (
        "No GPU free",
        "No GPU is free on this Space right now: {}. Please try again in a minute.",
    ),
    "ZeroGPU illegal duration": (
        "Request too long",
        "This request needs more GPU time than one call may have: {}. Choose fewer methods, "
        "steps or samples.",
    ),
    "ZeroGPU worker error": (
        "GPU task failed",
        "The GPU task stopped before it finished ({}); it has been logged. Please try again.",
    ),
}


def app_error(error: Exception) -> gr.Error:
    """The app's message for one of the library's user errors (USER_ERRORS)."""
    title, template = next(v for k, v in USER_ERRORS.items() if isinstance(error, k))
    message = html.escape(template.format(str(error).rstrip(".")), quote=False)
    return gr.Error(message, title=title, print_exception=False)


def image_refused(reason: str) -> gr.Error:
    """An image refused for `reason`, in the app's words."""
    return app_error(ImageError(reason))


def gpu_refusal(error: gr.Error) -> gr.Error:
    """A ZeroGPU refusal (quota, no free GPU, a failed worker) in the app's words; any other
    `gr.Error` as it is."""
    found = GPU_REFUSALS.get(getattr(error, "title", None) or "")
    if found is None:
        return error
    title, template = found
    reason = html.escape(str(getattr(error, "message", error)).strip().rstrip("."), quote=False)
    return gr.Error(template.format(reason), title=title, print_exception=False)


def no_image() -> gr.Error:
    return gr.Error(NO_IMAGE, title="No image", print_exception=False)


@contextmanager
def user_errors(action: str) -> Iterator[None]:
    """Run one request: its user errors become the app's messages, anything else "try again"."""
    try:
        yield
    except gr.Error as error:
        refused = gpu_refusal(error)
        if refused is not error:
            log.info("%s refused by ZeroGPU: %s", action, error)
            raise refused from None
        raise
    except tuple(USER_ERRORS) as error:
        log.info("%s refused: %s", action, error)
        raise app_error(error) from None
    except Exception:
        log.exception("%s failed", action)
        raise gr.Error(
            f"Something went wrong on the server while trying to {action}; it has been logged. "
            "Please try again.",
            title="Server error",
            print_exception=False,
        ) from None
