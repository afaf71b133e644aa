"""scripts/deploy_space.py reads the Gradio pin also when requirements.txt names an extra
(``gradio[mcp]==X``, the MCP server's), so the front-matter check still compares it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import gradio
import pytest
from conftest import ROOT


def load_deploy() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "deploy_space", ROOT / "scripts" / "deploy_space.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("line", "pinned"),
    [
        ("gradio==6.31.0", "6.31.0"),
        ("gradio[mcp]==6.31.0  # the MCP server", "6.31.0"),
        ("gradio [mcp, oauth] == 6.0.1", "6.0.1"),
        ("gradio_client==2.0", None),
        ("gradio>=6", None),
        ("# gradio==1.0", None),
    ],
)
def test_the_gradio_pin_is_read_with_or_without_extras(
    tmp_path: Path, line: str, pinned: str | None
) -> None:
    (tmp_path / "requirements.txt").write_text(f"torch>=2.9\n{line}\n")
    assert load_deploy().gradio_pin(tmp_path / "requirements.txt") == pinned


def test_the_project_pins_the_gradio_it_is_tested_with() -> None:
    assert load_deploy().gradio_pin(ROOT / "requirements.txt") == gradio.__version__
