"""What leaves the server: no client-visible value names a server directory, and the Space tree
`scripts/deploy_space.py` ships starts on its own.

The privacy check calls every named endpoint through gradio_client with ``download_files=False``,
so file outputs arrive as the server sent them (its ``path`` and ``url``), and reads the page,
its config and the API description as a browser does. A value leaks when it holds the project
root, the weights folder, the test set's folder, the home folder, or any absolute path whose
first directory exists on this machine, except Gradio's own upload cache: Gradio addresses every
file it serves by its cache path (``/gradio_api/file=<GRADIO_TEMP_DIR>/<hash>/name``), by design.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, example
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from synthetic_data import synthetic_cifar10

# The app samples from a full test set of its own (a synthetic ImageFolder in the session's
# temp folder), so a location string of `interpret.samples` would show up here if it leaked.
APP_ENV: dict[str, str] = {}
CHEAP = {"n_steps": 4, "nt_samples": 2}
# Absolute paths inside a text: a slash not preceded by a word character, a dot or a slash and
# not followed by one (so not "1/2", "host:7860/route" or the "//" of "http://host"), then path
# characters. "shipped:/srv/app/weights" and "file=/tmp/x" are found.
ABSOLUTE = re.compile(r"(?<![\w./-])/(?!/)[\w.@+=~-]+(?:/[\w.@+=~-]*)*")


@pytest.fixture(scope="module", autouse=True)
def full_test_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Set before conftest's `app_url` starts the app (module-scoped autouse fixtures first)."""
    root = synthetic_cifar10(tmp_path_factory)
    APP_ENV["INTERPRET_CIFAR10_DIR"] = str(root)
    return root


@pytest.fixture(scope="module")
def raw_client(app_url: str) -> Iterator[Client]:
    """A client that leaves file outputs as the server sent them (not downloaded)."""
    yield Client(app_url, verbose=False, download_files=False)


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)
    elif value is not None and not isinstance(value, (int, float, bool)):
        yield str(value)


def server_paths(text: str, allowed: tuple[str, ...]) -> list[str]:
    """Absolute paths in `text` whose first directory exists here, outside `allowed`."""
    found = []
    for match in ABSOLUTE.finditer(text):
        path = match.group(0)
        first = "/" + path.strip("/").split("/")[0]
        if path.startswith(allowed) or first == "/" or not Path(first).is_dir():
            continue
        found.append(path)
    return found


class LeakCheck:
    """Collects every client-visible value and says which ones name a server directory."""

    def __init__(self, forbidden: list[Path], allowed: list[Path]) -> None:
        self.forbidden = sorted({str(p) for p in forbidden}, key=len, reverse=True)
        self.allowed = tuple(f"{p}/" for p in allowed)
        self.seen: dict[str, int] = {}
        self.leaks: list[str] = []

    def check(self, where: str, value: Any) -> None:
        count = 0
        for text in strings(value):
            count += 1
            for directory in self.forbidden:
                if directory in text:
                    self.leaks.append(f"{where}: {directory!r} in {text[:300]!r}")
            for path in server_paths(text, self.allowed):
                self.leaks.append(f"{where}: absolute path {path!r} in {text[:300]!r}")
        self.seen[where] = count


@pytest.fixture(scope="module")
def leak_check(
    tmp_path_factory: pytest.TempPathFactory, pretrained_dir: Path, full_test_set: Path
) -> LeakCheck:
    base = tmp_path_factory.getbasetemp()
    gradio_caches = sorted(base.glob("gradio*"))  # conftest's GRADIO_TEMP_DIR for app_url
    assert gradio_caches, f"no Gradio cache folder under {base}"
    forbidden = [ROOT, pretrained_dir, full_test_set, Path.home(), Path(sys.prefix)]
    return LeakCheck(forbidden, gradio_caches)


def test_no_client_visible_value_names_a_server_directory(
    raw_client: Client, app_url: str, leak_check: LeakCheck, tmp_path: Path
) -> None:
    image = handle_file(str(example(3)))
    gallery, label, details = raw_client.predict(image, api_name="/explain", **CHEAP)
    leak_check.check("/explain gallery", gallery)
    leak_check.check("/explain label", label)
    leak_check.check("/explain details", details)

    npz, record = raw_client.predict(image, api_name="/download", **CHEAP)
    leak_check.check("/download files", [npz, record])
    downloaded = httpx.get(record["url"], timeout=30)
    downloaded.raise_for_status()
    leak_check.check("/download JSON", downloaded.json())

    leak_check.check("/predict", raw_client.predict(image, api_name="/predict"))
    for index in (3, None):  # by index, and random
        sample = raw_client.predict(index, api_name="/sample")
        leak_check.check(f"/sample({index})", sample)
        assert "CIFAR-10 test set (100 images)" in sample[2], sample  # the configured set

    for bad, words in [("not-an-image.png", "This image can't be used"), ("index", "test image")]:
        with pytest.raises(AppError) as refused:
            if bad == "index":
                raw_client.predict(10_000, api_name="/sample")
            else:
                path = tmp_path / bad
                path.write_text("plain text, not a picture")
                raw_client.predict(handle_file(str(path)), api_name="/predict")
        assert words in str(refused.value), str(refused.value)
        leak_check.check(f"refusal ({bad})", str(refused.value))

    with httpx.Client(base_url=app_url, timeout=30) as http:
        for route in ("/", "/config", "/gradio_api/info"):
            answer = http.get(route)
            answer.raise_for_status()
            leak_check.check(f"GET {route}", answer.text)
            leak_check.check(f"GET {route} (JSON-unescaped)", _unescaped(answer.text))

    print({where: count for where, count in leak_check.seen.items()})
    assert leak_check.leaks == [], "\n".join(leak_check.leaks)
    assert details["weights"].startswith("dir:model.safetensors (sha256 "), details["weights"]
    assert downloaded.json()["weights"] == details["weights"]


def _unescaped(text: str) -> str:
    """JSON text with "\\/" escapes undone, so escaped paths in an embedded config are found."""
    return text.replace("\\/", "/")


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The detector itself: server directories are found, routes and Gradio cache URLs are not."""
    check = LeakCheck([ROOT], [tmp_path / "gradio"])
    check.check("weights", f"shipped:{ROOT}/weights/model.safetensors (sha256 0123)")
    check.check("sample", {"source": "ImageFolder /tmp/elsewhere/cifar10/test"})
    check.check("home", json.dumps({"x": f"{Path.home()}/.cache/interpret"}))
    check.check("fine", "shipped:weights/model.safetensors · /gradio_api/info · 1/2 · a / b")
    check.check("cache", f"http://127.0.0.1:7860/gradio_api/file={tmp_path}/gradio/ab/x.png")
    assert [leak.split(":")[0] for leak in check.leaks] == ["weights", "weights", "sample", "home"]
