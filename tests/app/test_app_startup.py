"""`python app.py` without usable weights refuses to start, in one line naming the file and
the damage: app.py run here (runpy, as `python app.py` runs it) ends in a SystemExit carrying
that line, which Python prints alone, without a traceback, and exits 1 with.

(The fallback from the Hub to the shipped weights: tests/interpret/core/test_weights_hub.py.
A Space tree starting on its shipped weights where the Hub lacks the default repo:
tests/scripts/test_deploy.py.)
"""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from safetensors.torch import save_file

from interpret.core import weights
from interpret.core.model import Net


@pytest.mark.parametrize("damage", ["corrupt", "wrong shape"])
def test_the_app_refuses_to_start_on_unusable_shipped_weights(
    tmp_path: Path, pretrained_dir: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    shipped = tmp_path / "weights"
    shutil.copytree(pretrained_dir, shipped)
    if damage == "corrupt":
        (shipped / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json")
    else:  # weights of a 5-class Net beside the config of the app's 10-class one
        save_file(Net(num_classes=5).state_dict(), str(shipped / "model.safetensors"))
    monkeypatch.setattr(weights, "SHIPPED_WEIGHTS", shipped)
    monkeypatch.setenv("INTERPRET_MODEL_REPO", "")
    with pytest.raises(SystemExit) as refused:
        runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
    line = str(refused.value.code)
    assert line.startswith("app.py: cannot load the model weights: shipped weights unusable: ")
    assert f"{shipped / 'model.safetensors'}: " in line and "\n" not in line
    reason = "not a readable safetensors file" if damage == "corrupt" else "do not fit Net"
    assert reason in line
