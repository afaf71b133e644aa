"""`python -m interpret`: explain round trip, predict, methods, and one-line errors.

The commands run in this process (`interpret.cli.main`, what `python -m interpret` calls);
one real process checks what only a process shows: exit status 2 and a one-line error, no
traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import Command, Finished, example

from interpret import DEFAULT_METHODS, METHODS, explain, features, load_model
from interpret.cli import main
from interpret.dataset.sources import bundled


def test_explain_round_trip(tmp_path: Path, pretrained_dir: Path, capsys) -> None:
    out = tmp_path / "out"
    status = main(
        [
            "explain",
            str(example(3)),
            "--weights",
            str(pretrained_dir),
            "--target",
            "airplane",
            "--nt-samples",
            "6",
            "--n-steps",
            "20",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "explained target airplane" in printed.out
    arrays = np.load(out / "attributions.npz")
    assert sorted(arrays.files) == sorted(DEFAULT_METHODS)
    details = json.loads((out / "result.json").read_text())
    assert details["target_class"] == "airplane" and details["params"]["seed"] == 3
    assert details["weights"].startswith("dir:") and set(details["deltas"]) == {
        "integrated_gradients",
        "deeplift",
    }
    for key in DEFAULT_METHODS:
        assert (out / f"{key}.png").stat().st_size > 1000
    # The files hold exactly what the library computes for the same request.
    again = explain(
        load_model(pretrained_dir), example(3), target=0, nt_samples=6, n_steps=20, seed=3
    )
    for key in DEFAULT_METHODS:
        np.testing.assert_array_equal(arrays[key], again.attributions[key])


def test_features_writes_what_the_library_computes(
    tmp_path: Path, pretrained_dir: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a configured test set, the top images come from the 20 bundled examples."""
    monkeypatch.delenv("INTERPRET_CIFAR10_DIR", raising=False)
    out = tmp_path / "out"
    args = ["features", str(example(3)), "--weights", str(pretrained_dir), "--target", "1"]
    status = main([*args, "--contrast", "airplane", "--top", "2", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert printed.out.startswith("logit[automobile] - logit[airplane]: total ")
    described = json.loads((out / "features.json").read_text())
    expected = features(load_model(pretrained_dir), example(3), 1, "airplane", images=bundled())
    assert described == json.loads(json.dumps(expected.to_dict()))
    assert described["top_images_from"]["size"] == 20
    shares = np.load(out / "shares.npz")
    np.testing.assert_array_equal(shares["shares"], expected.shares.maps.numpy())
    drawn = sorted(path.name for path in out.glob("channel_*.png"))
    first, second = expected.order[:2]
    assert drawn == sorted(
        [f"channel_{c:02d}.png" for c in (first, second)]
        + [f"channel_{c:02d}_top.png" for c in (first, second)]
    )


def test_predict_prints_top5(pretrained_dir: Path, capsys) -> None:
    status = main(["predict", str(example(0)), str(example(1)), "--weights", str(pretrained_dir)])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    lines = printed.out.strip().splitlines()
    assert len(lines) == 2 and all(line.count("%") == 5 for line in lines)


def test_methods_lists_every_key(capsys) -> None:
    assert main(["methods"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list(METHODS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "/etc/hostname"], "error: not an image file"),
        (["explain", "/nonexistent.png"], "error: no such image file"),
        (["explain", "IMAGE", "--methods", "magic"], "error: unknown method(s) magic"),
        (["explain", "IMAGE", "--n-steps", "0"], "error: n_steps must be between 1 and 500"),
        (["explain", "IMAGE", "--target", "llama"], "error: unknown target class 'llama'"),
        (["explain", "IMAGE", "--weights", "/tmp/nope.pt"], "error: /tmp/nope.pt: no such file"),
        (["features", "/nonexistent.png"], "error: no such image file"),
        (["features", "IMAGE", "--n-steps", "501"], "error: n_steps must be between 1 and 500"),
        (["features", "IMAGE", "--target", "llama"], "error: unknown target class 'llama'"),
        (["features", "IMAGE", "--baseline", "fog"], "error: unknown baseline 'fog'"),
        (["features", "IMAGE", "--contrast", "cat", "--target", "cat"], "error: the contrast"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, pretrained_dir, tmp_path, capsys
) -> None:
    args = [str(example(0)) if a == "IMAGE" else a for a in args]
    if "--weights" not in args:
        args += ["--weights", str(pretrained_dir)]
    assert main([*args, "--out", str(tmp_path)]) == 2
    stderr = capsys.readouterr().err.strip()
    assert stderr.startswith(message) and len(stderr.splitlines()) == 1


BACKGROUND = {
    "test_a_real_process_exits_2_without_traceback": Command(
        (sys.executable, "-m", "interpret", "explain", "{tmp}/notes.png", "--out", "{tmp}"),
        env={"INTERPRET_MODEL_REPO": ""},
        files={"notes.png": b"not really a picture"},
    )
}


def test_a_real_process_exits_2_without_traceback(background_run: Finished) -> None:
    assert background_run.returncode == 2
    assert background_run.stderr.strip() == (
        "error: not an image file PIL can read (PNG, JPEG, GIF, WebP, TIFF, BMP...)"
    )
