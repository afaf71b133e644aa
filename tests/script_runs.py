"""Running scripts/ from the tests: as a user runs one (a process of its own), or its `main` in
this process, where a process adds nothing to check and would cost its start-up."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from contextlib import redirect_stdout
from inspect import signature
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
# What a user's offline run of a script sees of the Hub and of the weights settings.
OFFLINE = {"HF_HUB_OFFLINE": "1", "INTERPRET_MODEL_REPO": ""}


def run_script(name: str, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run scripts/<name> as a user would, offline; fail the test on a non-zero exit.

    The working directory is the repository root, as in the README's commands, whatever the
    directory pytest was started from.
    """
    env = {**os.environ, **OFFLINE}
    command = [sys.executable, f"scripts/{name}", *map(str, args)]
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done


_LOADED: dict[str, ModuleType] = {}


def load_script(name: str) -> ModuleType:
    """scripts/<name> imported as a module (once per session), scripts/ importable as when it
    runs (a script may import its neighbours)."""
    if name not in _LOADED:
        if str(SCRIPTS) not in sys.path:
            sys.path.insert(0, str(SCRIPTS))
        path = SCRIPTS / name
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while being built
        spec.loader.exec_module(module)
        _LOADED[name] = module
    return _LOADED[name]


def run_main(name: str, *args: str | Path) -> tuple[Any, str]:
    """scripts/<name>'s `main(argv)` in this process, as `python scripts/<name> ARGS` runs it
    from the repository root, offline: its return value and what it printed. The working
    directory, the environment and torch's thread count (scripts set it) are restored."""
    import torch

    module = load_script(name)
    argv = [str(arg) for arg in args]
    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    threads = torch.get_num_threads()
    printed = io.StringIO()
    try:
        os.environ.update(OFFLINE)
        os.chdir(REPO)
        sys.argv = [f"scripts/{name}", *argv]  # for a main() that reads its command line
        with redirect_stdout(printed):
            result = module.main(argv) if signature(module.main).parameters else module.main()
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        torch.set_num_threads(threads)
    return result, printed.getvalue()
