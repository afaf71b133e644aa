"""The app's shape stays findable: app.py is the entry point only, and docs/ARCHITECTURE.md
names every module of ui/ (and no other)."""

from __future__ import annotations

import re

from conftest import ROOT

APP_LINES = 150
UI = ROOT / "ui"


def lines(path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_app_py_is_the_entry_point_only() -> None:
    assert lines(ROOT / "app.py") <= APP_LINES


def test_the_architecture_page_names_every_ui_module() -> None:
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/])ui/(\w+)\.py", page))
    present = {path.stem for path in UI.glob("*.py")} - {"__init__"}
    assert named == present
