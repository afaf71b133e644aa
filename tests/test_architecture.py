"""The layout keeps its promises: no import circle, a small top level, a library that knows
nothing of the app, app modules a notebook can reuse without Gradio, and an explanation that
loads none of the exactness toolkit."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from conftest import ROOT, Command, Finished

PACKAGES = ("interpret", "ui")
MAX_TOP_LEVEL_MODULES = 10
MAX_MODULE_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules `path` imports, wherever in the file (lazy imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:  # a name imported from a module: the module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    files = {module_name(p): p for package in packages for p in (ROOT / package).rglob("*.py")}
    known = set(files)
    return {name: imports_of(path, name, known) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it, or None. A package's ``__init__`` importing
    its own submodules is not one (Python runs it first either way)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if node.startswith(target + "."):  # a module importing its own package's __init__
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if state.get(target) is None and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if state.get(start) is None and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_circle_in_the_library_or_the_app() -> None:
    graph = import_graph()
    assert len(graph) > 40  # the walk found the packages
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_planted_circle() -> None:
    graph = import_graph()
    graph["interpret.core.model"] = {*graph["interpret.core.model"], "interpret.explain"}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and "interpret.core.model" in cycle


def test_lazy_and_relative_imports_count(tmp_path: Path) -> None:
    path = tmp_path / "interpret" / "dataset" / "browse.py"
    path.parent.mkdir(parents=True)
    path.write_text("def later():\n    from ..explain import explain\n    from . import images\n")
    known = {"interpret.explain", "interpret.dataset.images", "interpret.dataset"}
    assert imports_of(path, "interpret.dataset.browse", known) == {
        "interpret.explain",
        "interpret.dataset.images",
        "interpret.dataset",
    }


def test_the_library_top_level_stays_small_and_grouped_by_job() -> None:
    top = sorted(
        p.name
        for p in (ROOT / "interpret").glob("*.py")
        if p.name not in {"__init__.py", "__main__.py"}
    )
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    for package in ("core", "attribution", "trust", "dataset", "concepts", "influence", "testing"):
        assert (ROOT / "interpret" / package / "__init__.py").is_file(), package


def test_no_module_is_over_the_limit() -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for package in (*PACKAGES, "scripts")
        for path in (ROOT / package).rglob("*.py")
    }
    assert len(sizes) > 50
    assert not {name: size for name, size in sizes.items() if size > MAX_MODULE_LINES}


def test_the_library_imports_nothing_of_the_app_or_gradio() -> None:
    for name, targets in import_graph().items():
        if name.startswith("interpret"):
            assert not {t for t in targets if t.startswith("ui")}, name
    for path in (ROOT / "interpret").rglob("*.py"):
        assert "gradio" not in path.read_text(), path


def test_packages_depend_downward_only() -> None:
    """core <- attribution <- trust <- explain; dataset on core and attribution; concepts on
    those and dataset; influence on core and dataset; testing on
    anything; nothing but tests and scripts on testing."""
    allowed = {
        "core": {"core"},
        "attribution": {"core", "attribution"},
        "trust": {"core", "attribution", "trust"},
        "dataset": {"core", "attribution", "dataset"},
        "concepts": {"core", "attribution", "dataset", "concepts"},
        "influence": {"core", "dataset", "influence"},
        "testing": {"core", "attribution", "testing"},
    }
    for name, targets in import_graph(("interpret",)).items():
        parts = name.split(".")
        if len(parts) < 3 or parts[1] not in allowed:
            continue
        for target in targets:
            target_parts = target.split(".")
            if len(target_parts) >= 2 and target_parts[1] in allowed:
                assert target_parts[1] in allowed[parts[1]], f"{name} imports {target}"


# What the CLI or a notebook may reuse of the app without Gradio.
GRADIO_FREE_UI = ("ui.pictures", "ui.models", "ui.dataset", "ui.views", "ui.figures")
# A fresh interpreter explains an example through the library (every method, trust scores on;
# small sample counts, the same code paths) and through the CLI, then lists the `interpret`
# modules it loaded.
EXPLAIN_BOTH_WAYS = (
    "import json, sys\n"
    "from interpret import explain, load_model, METHODS\n"
    "from interpret.cli import main\n"
    "explain(load_model('weights'), 'examples/cifar10_03_0.png', list(METHODS),"
    " n_steps=8, nt_samples=2, shap_samples=2, faithfulness=True, sanity=True)\n"
    "main(['explain', 'examples/cifar10_03_0.png', '--nt-samples', '2',"
    " '--out', sys.argv[1]])\n"
    "print(json.dumps(sorted(m for m in sys.modules if m.startswith('interpret'))))\n"
)
BACKGROUND = {  # fresh interpreters in the project folder: what they load is their own doing
    "test_the_app_modules_a_notebook_can_reuse_import_no_gradio": Command(
        (
            sys.executable,
            "-c",
            f"import sys, {', '.join(GRADIO_FREE_UI)}; print('gradio' in sys.modules)",
        )
    ),
    "test_an_explanation_loads_none_of_the_exactness_toolkit": Command(
        (sys.executable, "-c", EXPLAIN_BOTH_WAYS, "{tmp}")
    ),
}


def test_the_app_modules_a_notebook_can_reuse_import_no_gradio(background_run: Finished) -> None:
    assert background_run.returncode == 0, background_run.stderr[-2000:]
    assert background_run.stdout.strip() == "False"


def test_an_explanation_loads_none_of_the_exactness_toolkit(background_run: Finished) -> None:
    assert background_run.returncode == 0, background_run.stderr[-2000:]
    loaded = json.loads(background_run.stdout.strip().splitlines()[-1])
    assert "interpret.attribution.fast" in loaded  # the explanation really ran
    assert "interpret.cli" in loaded and (background_run.tmp / "result.json").is_file()
    assert not [m for m in loaded if m.startswith("interpret.testing")], loaded
