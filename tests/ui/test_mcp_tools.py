"""ui/mcp_tools.py: the tools' cards match the frozen API, images come as base64 data only,
answers are pictures and JSON. The server itself: tests/app/test_mcp.py."""

from __future__ import annotations

import base64
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, example

from interpret import ImageError, model_image
from interpret.core.preprocess import MAX_FILE_BYTES
from ui import api, features_api, influence_api, mcp_influence
from ui.errors import BASE64_ONLY, NO_URLS_BASE64
from ui.files import private_root
from ui.mcp_tools import (
    MAX_BASE64_CHARS,
    TOO_LARGE,
    TOOLS,
    Picture,
    ToolRefusal,
    image_bytes,
    saved_image,
    served_picture,
)
from ui.theme import launch_options

FROZEN = json.loads((ROOT / "tests" / "app" / "api_snapshot.json").read_text())["view_api"]
ENDPOINTS = FROZEN["named_endpoints"]
FUNCTIONS = {
    "/explain": api.explain_image,
    "/predict": api.predict_image,
    "/sample": api.sample_image,
    "/models": api.list_models,
    "/confusion": api.confusion_matrix,
    "/browse": api.browse_images,
    "/strategies": api.find_strategies,
    "/features": features_api.image_features,
    "/feature_atlas": features_api.class_feature_atlas,
    "/influence": influence_api.image_influence,
    "/train_sample": influence_api.train_sample,
    "/hardest": influence_api.hardest,
}
assert mcp_influence.image_influence is TOOLS["/influence"].card  # registered on import
PNG = example(3).read_bytes()
DATA = "data:image/png;base64," + base64.b64encode(PNG).decode()


def refused(reason: str) -> str:
    return f"This image can't be used: {reason}."


# ------------------------------------------------------------------ the cards


def test_every_endpoint_but_download_is_a_tool_named_after_its_function() -> None:
    """Gradio names a tool after the endpoint's function: the card carries the same name."""
    assert set(TOOLS) == set(ENDPOINTS) - {"/download"} == set(FUNCTIONS)
    for endpoint, tool in TOOLS.items():
        assert tool.endpoint == endpoint and tool.name == FUNCTIONS[endpoint].__name__


@pytest.mark.parametrize("endpoint", sorted(TOOLS))
def test_a_card_has_the_endpoints_parameters_and_defaults(endpoint: str) -> None:
    """Arguments reach the endpoint by name, and the schema's defaults are the endpoint's."""
    frozen = ENDPOINTS[endpoint]
    signature = inspect.signature(TOOLS[endpoint].card).parameters
    assert list(signature) == [p["parameter_name"] for p in frozen["parameters"]]
    for parameter in frozen["parameters"]:
        card = signature[parameter["parameter_name"]]
        if parameter["parameter_name"] == "model":  # the app's model, named in the API page
            assert card.default is None
        elif parameter["parameter_has_default"]:
            assert card.default == parameter["parameter_default"], parameter["parameter_name"]
        else:
            assert card.default is inspect.Parameter.empty
    assert len(TOOLS[endpoint].outputs) == len(frozen["returns"])


@pytest.mark.parametrize("endpoint", sorted(TOOLS))
def test_a_card_tells_an_agent_every_argument_and_what_comes_back(endpoint: str) -> None:
    description, parameters = TOOLS[endpoint].describe()
    summary, returns = description.split("\n\nReturns: ")
    assert summary and returns.endswith(".")
    assert set(parameters) == set(inspect.signature(TOOLS[endpoint].card).parameters)
    assert all(text and "  " not in text for text in parameters.values()), parameters


def test_the_explain_card_joins_continued_lines_and_names_its_image() -> None:
    tool = TOOLS["/explain"]
    _, parameters = tool.describe()
    assert parameters["nt_samples"].endswith("n_steps x nt_samples is at most 20000")
    assert (
        "base64" in parameters["image"]
        and "URLs and file paths are refused" in (parameters["image"])
    )
    assert tool.images == ("image",) and TOOLS["/sample"].images == ()


def test_the_input_schema_types_arguments_as_the_card_does() -> None:
    schema = TOOLS["/explain"].input_schema(ENDPOINTS["/explain"]["parameters"])
    properties = schema["properties"]
    assert list(properties) == [p["parameter_name"] for p in ENDPOINTS["/explain"]["parameters"]]
    assert schema["required"] == ["image"]
    assert properties["image"]["type"] == "string" and "format" not in properties["image"]
    assert properties["target"]["enum"][:2] == ["predicted", "true label"]
    assert properties["methods"]["items"]["enum"][0] == "saliency"
    assert properties["n_steps"] == {
        "type": "integer",
        "description": "Integrated Gradients steps, 1-500 (default 50)",
        "default": 50,
    }
    assert properties["seed"]["default"] == 0 and properties["trust_scores"]["default"] is False


def test_the_app_launches_gradios_mcp_server() -> None:
    assert launch_options()["mcp_server"] is True


# ------------------------------------------------------------------ images in


def test_base64_data_is_decoded_even_with_line_breaks() -> None:
    assert image_bytes(DATA) == PNG
    wrapped = base64.encodebytes(PNG).decode()  # a line break every 76 characters
    assert image_bytes(f"  data:image/PNG;BASE64,{wrapped}") == PNG


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("/etc/passwd", BASE64_ONLY),
        (str(example(3)), BASE64_ONLY),
        ("examples/cifar10_03_0.png", BASE64_ONLY),
        ("../../etc/hostname", BASE64_ONLY),
        (base64.b64encode(PNG).decode(), BASE64_ONLY),  # no "data:" header
        ("data:image/png,%89PNG", BASE64_ONLY),  # not base64
        ("data:image/png;base64,iVBO*w0K", BASE64_ONLY),
        ("data:image/png;base64", BASE64_ONLY),
        ({"path": str(example(3)), "meta": {"_type": "gradio.FileData"}}, BASE64_ONLY),
        (None, BASE64_ONLY),
        (5, BASE64_ONLY),
        ([DATA], BASE64_ONLY),
        ("http://127.0.0.1:7860/gradio_api/file=/etc/passwd", NO_URLS_BASE64),
        ("https://169.254.169.254/latest/meta-data/", NO_URLS_BASE64),
        ("http://10.0.0.1/cat.png", NO_URLS_BASE64),
        ("HTTP://[::1]/cat.png", NO_URLS_BASE64),
        ("file:///etc/passwd", NO_URLS_BASE64),
        ("ftp://example.com/cat.png", NO_URLS_BASE64),
    ],
)
def test_anything_but_base64_data_is_refused_in_the_apps_words(value: Any, reason: str) -> None:
    with pytest.raises(ToolRefusal) as caught:
        image_bytes(value)
    assert str(caught.value) == refused(reason)


def test_data_larger_than_an_upload_is_refused_in_the_librarys_words() -> None:
    with pytest.raises(ImageError) as library:
        model_image(bytes(MAX_FILE_BYTES + 1))
    assert str(library.value) == TOO_LARGE
    with pytest.raises(ToolRefusal, match="larger than"):
        image_bytes("data:image/png;base64," + "A" * (MAX_BASE64_CHARS + 1))  # never decoded
    with pytest.raises(ToolRefusal, match="larger than"):  # decoded: over MAX_FILE_BYTES
        image_bytes("data:image/png;base64," + "A" * (MAX_BASE64_CHARS // 4 * 4))


def test_an_image_is_saved_in_a_fresh_private_folder() -> None:
    first, second = Path(saved_image(DATA)), Path(saved_image(DATA))
    assert first.read_bytes() == second.read_bytes() == PNG
    assert first.parent != second.parent
    assert first.parent.parent == private_root()


# ------------------------------------------------------------------ answers out


def _file(path: Path) -> dict[str, Any]:
    return {"path": str(path), "url": None, "meta": {"_type": "gradio.FileData"}}


def _read(file: dict[str, Any]) -> Picture:
    return Picture(Path(file["path"]).read_bytes(), "image/png")


def test_an_answer_sends_pictures_with_their_captions_then_the_rest_as_json() -> None:
    gallery = [{"image": _file(example(1)), "caption": "one"}, {"image": _file(example(2))}]
    parts = TOOLS["/explain"].answer([gallery, {"label": "cat"}, {"deltas": {}}], _read)
    assert parts[:4] == [_read(_file(example(1))), "one", _read(_file(example(2))), ""]
    assert json.loads(parts[4]) == {"label": {"label": "cat"}, "details": {"deltas": {}}}
    sampled = TOOLS["/sample"].answer([_file(example(3)), "airplane", "bundled", 3], _read)
    assert sampled[0] == Picture(PNG, "image/png")
    assert json.loads(sampled[1]) == {"true_label": "airplane", "source": "bundled", "index": 3}
    assert TOOLS["/models"].answer([[{"name": "a"}]], _read) == ['[{"name": "a"}]']  # bare
    with pytest.raises(RuntimeError):
        TOOLS["/predict"].answer([{"label": "cat"}, None], _read)


def test_a_served_picture_is_read_from_gradios_cache_only(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "image.png").write_bytes(PNG)
    assert served_picture(_file(tmp_path / "a" / "image.png"), tmp_path) == Picture(
        PNG, "image/png"
    )
    for outside in (example(3), tmp_path / ".." / example(3).name, "/etc/passwd"):
        with pytest.raises(RuntimeError):
            served_picture(_file(Path(outside)), tmp_path)
