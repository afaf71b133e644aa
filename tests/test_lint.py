"""The lint the developers' guide asks for, run with the tests so CI catches a slip: ruff's
checks and formatting, with the settings in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def ruff(*args: str) -> subprocess.CompletedProcess:
    command = [shutil.which("ruff")] if shutil.which("ruff") else [sys.executable, "-m", "ruff"]
    return subprocess.run(
        [*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("args", [("check", "."), ("format", "--check", ".")], ids=" ".join)
def test_ruff_finds_nothing(args: tuple[str, ...]) -> None:
    done = ruff(*args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
