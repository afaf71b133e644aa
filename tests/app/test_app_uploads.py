"""The running app reads only what a client uploaded, within its limits: a path on the server
(absolute or relative to where the app runs), a file value without Gradio's meta, an image URL,
an oversized file and a decompression bomb are each refused in the app's own words, without
naming the server's folders, and the server goes on serving. Raw HTTP where a careless or
hostile client would send what gradio_client never does; gradio_client otherwise.

(The Gradio behaviour each of these works around: tests/ui/test_gradio_fixes.py.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, call_over_http, example, refusal
from gradio_client import Client, handle_file
from hostile_files import jpeg_claiming, png, png_bytes, write_upload

from interpret.core.preprocess import MAX_FILE_BYTES, MAX_PIXELS

pytestmark = pytest.mark.timeout(300)

FILE_DATA = {"_type": "gradio.FileData"}
NOT_UPLOADED = (
    "This image can't be used: only files uploaded to this app are read; upload the image "
    "first (with gradio_client: handle_file(path))."
)
NOT_A_FILE = (
    "This image can't be used: send the image as a file (with gradio_client: handle_file(path))."
)
# Requests that take 0.1-0.5 s here (a refusal at the image header): the bound only tells a
# stuck server from a slow one on a busy machine. Speed is bench.py's business.
HANG_GUARD_S = 30
PIXEL_LIMIT = f"the limit is {MAX_PIXELS:,} pixels"


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


def still_serving(client: Client) -> None:
    assert client.predict(handle_file(str(example(1))), api_name="/predict")["label"]


# ------------------------------------------------------------------ files on the server


@pytest.mark.parametrize(
    "path",
    [
        str(example(5)),
        "examples/cifar10_03_0.png",
        "./app.py",
        "../main/examples/cifar10_03_0.png",
        "weights",
    ],
    ids=["absolute", "relative", "dot-relative", "climbing", "a-folder"],
)
def test_a_server_path_is_never_read_and_is_refused_in_the_apps_words(
    app_url: str, path: str
) -> None:
    """Gradio refuses a path outside its upload folder before any event runs
    (InvalidPathError, which on its own reaches the client as {"error": null}); the app words
    it, without naming the server's folders. The app runs in the project folder, so a relative
    path to an existing example would otherwise be explained."""
    kind, answer = call_over_http(app_url, "predict", [{"path": path, "meta": FILE_DATA}])
    assert kind == "error", (kind, answer)  # no prediction
    assert answer["error"] == NOT_UPLOADED, answer
    assert str(ROOT) not in answer["error"]


@pytest.mark.parametrize(
    "path", [str(example(5)), "examples/cifar10_05_6.png"], ids=["absolute", "relative"]
)
def test_a_file_without_gradios_meta_is_never_read(app_url: str, path: str) -> None:
    """Without `"meta": {"_type": "gradio.FileData"}` Gradio skips its upload-folder check and
    hands the path to the event as it came: the app must still read uploads only."""
    kind, answer = call_over_http(app_url, "predict", [{"path": path}])
    assert kind == "error", (kind, answer)
    assert answer["error"] == NOT_A_FILE


def test_an_image_url_is_refused_before_gradio_downloads_it(app_url: str) -> None:
    """Gradio would fetch an http(s) URL sent as the image before any event runs; the app
    refuses it first (here the lookup of example.com would fail with a generic error)."""
    value = {"path": "https://example.com/a.png", "meta": FILE_DATA}
    kind, answer = call_over_http(app_url, "predict", [value])
    assert kind == "error", (kind, answer)
    assert answer["error"] == (
        "This image can't be used: image URLs are not fetched; download the image and upload "
        "the file."
    )


# ------------------------------------------------------------------ size and pixel limits


def test_an_oversized_file_is_refused_before_it_is_sent_and_by_the_server(
    client: Client, app_url: str, uploads: Path
) -> None:
    """Over the upload limit: gradio_client refuses it locally; a client that skips that
    check gets HTTP 413 from the server, which goes on serving."""
    big = Path(write_upload(uploads, b""))
    with open(big, "wb") as output:
        output.write(png_bytes(example(4)))
        output.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ValueError, match=f"exceeds the maximum file size of {MAX_FILE_BYTES}"):
        client.predict(handle_file(str(big)), methods=["saliency"], api_name="/explain")
    with open(big, "rb") as upload:
        reply = httpx.post(
            f"{app_url}gradio_api/upload", files={"files": ("big.png", upload)}, timeout=120
        )
    assert reply.status_code == 413
    assert f"maximum allowed size of {MAX_FILE_BYTES} bytes" in reply.text
    big.unlink()
    still_serving(client)


BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "png-header": (lambda: png(100_000, 100_000), ".png"),  # 10 gigapixels claimed
    "png-zeros": (lambda: png(8_000, 7_000, b"\0" * 8_001 * 7_000), ".png"),  # 56 MP, 55 kB
    "jpeg-header": (lambda: jpeg_claiming(65_000, 65_000), ".jpg"),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_decompression_bombs_get_the_pixel_limit_in_the_apps_words(
    client: Client, uploads: Path, bomb: str
) -> None:
    make, suffix = BOMBS[bomb]
    path = write_upload(uploads, make(), suffix)
    for api_name, extra in (("/predict", {}), ("/explain", {"methods": ["saliency"]})):
        started = time.perf_counter()
        message = refusal(client, api_name, handle_file(path), **extra)
        seconds = time.perf_counter() - started
        print(f"{bomb} refused by {api_name} in {seconds:.2f} s")
        assert seconds < HANG_GUARD_S
        assert message.startswith("This image can't be used: ")
        assert PIXEL_LIMIT in message, message
    still_serving(client)
