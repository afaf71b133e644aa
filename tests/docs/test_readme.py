"""The README stays a landing page and stays true: its tables are checked against the code they
describe, so nothing in it is kept in sync by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT

from interpret import METHODS

README = ROOT / "README.md"
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "SECURITY.md", ROOT / "CHANGELOG.md"]
SNAPSHOT = ROOT / "tests" / "app" / "api_snapshot.json"
MAX_LINES = 250


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of the Markdown table whose header row starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def code_names(cells: list[list[str]]) -> list[str]:
    return [re.fullmatch(r"`([^`]+)`", row[0]).group(1) for row in cells]


def test_the_readme_is_a_landing_page() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= MAX_LINES
    for heading in ("## Quickstart", "## API", "## Weights", "## Deploy", "## Environment"):
        assert heading in text, heading


def test_the_quickstart_is_two_lines_and_ci_runs_the_second() -> None:
    block = re.search(r"## Quickstart\n\n```bash\n(.*?)```", README.read_text(), re.S).group(1)
    install_app, install_tests = block.strip().splitlines()
    assert install_app == "pip install -r requirements.txt && python app.py"
    assert install_tests == 'pip install -r requirements-dev.txt && python -m pytest -m "not slow"'
    ci = [line.split("  #")[0] for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "python -m pip install -r requirements-dev.txt" in ci
    quick = ci.index('python -m pytest -m "not slow"')  # the README's line, then the rest
    assert ci[quick + 1] == "python -m pytest -m slow"


def test_the_methods_table_is_the_registry() -> None:
    rows = table_rows((ROOT / "docs" / "METHODS.md").read_text(), "key")
    expected = [[f"`{m.key}`", m.label, m.sign_text, m.description] for m in METHODS.values()]
    assert rows == expected


def test_the_endpoint_table_is_the_frozen_api() -> None:
    """Each endpoint with its parameters, in order, as `view_api` shows them."""
    rows = table_rows(README.read_text(), "endpoint")
    frozen = json.loads(SNAPSHOT.read_text())["view_api"]["named_endpoints"]
    assert sorted(code_names(rows)) == sorted(frozen)
    listed = {}
    for name, parameters in zip(code_names(rows), (row[1] for row in rows), strict=True):
        if parameters == "the same parameters":
            listed[name] = listed["/explain"]
        else:
            listed[name] = re.findall(r"`([a-z_]+)`", "" if parameters == "none" else parameters)
    for name, endpoint in frozen.items():
        assert listed[name] == [p["parameter_name"] for p in endpoint["parameters"]], name


def variables_read_by_the_code() -> set[str]:
    found = set()
    for path in [
        ROOT / "app.py",
        *(ROOT / "interpret").rglob("*.py"),
        *(ROOT / "ui").rglob("*.py"),
    ]:
        found |= set(re.findall(r"[\"'](INTERPRET_[A-Z0-9_]+)[\"']", path.read_text()))
    return found


def test_the_environment_table_lists_every_variable_the_code_reads() -> None:
    listed = set(code_names(table_rows(README.read_text(), "variable")))
    read = variables_read_by_the_code()
    assert len(read) >= 10  # the scan found them
    assert {name for name in listed if name.startswith("INTERPRET_")} == read


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_relative_links_point_at_files(page: Path) -> None:
    links = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", page.read_text())
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    missing = [link for link in local if not (page.parent / link).exists()]
    assert not missing, missing


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_no_page_counts_tests_or_tells_how_it_was_made(page: Path) -> None:
    text = page.read_text()
    assert not re.search(r"\b\d[\d,]* (tests|passed)\b", text)
    assert not re.search(r"\b(issue|session) #?\d+", text, re.I)


def test_the_accuracies_are_the_weights_own_metrics() -> None:
    """The README's two top-1 figures are what each shipped model's metrics.json records."""
    text = README.read_text()
    for folder in ("weights", "weights/tutorial"):
        top1 = json.loads((ROOT / folder / "metrics.json").read_text())["test_top1"]
        assert f"**{100 * top1:.2f} %" in text, (folder, top1)


def test_the_endpoint_count_is_the_apps() -> None:
    endpoints = json.loads(SNAPSHOT.read_text())["view_api"]["named_endpoints"]
    words = {10: "Ten", 11: "Eleven", 12: "Twelve", 13: "Thirteen", 14: "Fourteen", 15: "Fifteen"}
    assert f"{words[len(endpoints)]} named endpoints" in README.read_text()


def test_the_documented_reruns_are_cis() -> None:
    """EXACTNESS.md's commands rerun the files `.ci/run` reruns under other CPUs' rounding."""
    ci = re.search(r"^exactness=\((.*)\)$", (ROOT / ".ci" / "run").read_text(), re.M).group(1)
    text = (ROOT / "docs" / "EXACTNESS.md").read_text()
    documented = re.search(r'^exactness="(.*)"$', text, re.M).group(1)
    assert documented.split() == ci.split()
    for file in ci.split():
        assert (ROOT / file).is_file(), file
