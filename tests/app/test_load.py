"""scripts/load_test.py, shortened for CI, in this process: its load on the session's shared
app server (`--url`: 2 concurrent clients, 2 warm-up and 4 cheap requests, every answer
checked against the library, the server's memory bounded), and a check that its comparison
really catches an answer meant for another request. (A full queue: test_app_queue.py.)

The full run (16 clients, 200 requests, the queue burst) is `python scripts/load_test.py`;
its figures are in the README.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
from conftest import example
from script_runs import load_script

from interpret import CLASSES, explain, load_model
from interpret.explain import input_card

# A bound against hangs, not a speed claim: each run takes seconds here; its latencies and
# throughput are printed as figures, never asserted.
RUN_BUDGET_S = 480
pytestmark = pytest.mark.timeout(RUN_BUDGET_S + 120)


@pytest.fixture(scope="module")
def load_test() -> Iterator[ModuleType]:
    """The script as a module; its import sets loopback-only variables, undone afterwards."""
    saved = dict(os.environ)
    module = load_script("load_test.py")
    os.environ.clear()
    os.environ.update(saved)
    yield module


def _answer_like_the_app(request, directory: Path, net) -> tuple:
    """What /explain returns for `request`, built from the library and saved as the client
    would have downloaded it."""
    result = explain(
        net,
        example(3),
        list(request.methods),
        None,
        alpha=request.opacity,
        n_steps=request.n_steps,
        nt_samples=request.nt_samples,
        stdevs=request.stdevs,
        baseline=request.baseline,
        seed=request.seed,
    )
    directory.mkdir()
    pictures = [("input", input_card(result))] + [(k, result.overlays[k]) for k in result.methods]
    gallery = []
    for name, picture in pictures:
        picture.save(directory / f"{name}.png")
        gallery.append({"image": str(directory / f"{name}.png"), "caption": "?"})
    top_class = result.top(1)[0][0]
    gallery[0]["caption"] = f"Model input 32×32 · predicted {top_class} · true label airplane"
    for item, key in zip(gallery[1:], result.methods):
        item["caption"] = result.caption(key)
    label = {
        "label": result.predicted_class,
        "confidences": [{"label": n, "confidence": p} for n, p in result.top(5)],
    }
    details = json.loads(result.to_json()) | {"true_label": CLASSES[0]}
    return gallery, label, details


def test_the_check_catches_an_answer_for_another_request(
    load_test: ModuleType, pretrained_dir: Path, tmp_path: Path
) -> None:
    """Same image and methods, another seed: only the noisy maps differ, and that is enough."""
    net = load_model(pretrained_dir)
    request = load_test.Request(
        example(3).name, ("saliency", "ig_smoothgrad_sq"), "predicted", 4, 2, 0.5, "noise", 1, 0.5
    )
    other = replace(request, seed=2)
    answer = _answer_like_the_app(request, tmp_path / "answer", net)
    assert load_test.compare(answer, load_test.expected_result(net, request, example(3), 0)) == []
    wrong = load_test.compare(answer, load_test.expected_result(net, other, example(3), 0))
    assert any("ig_smoothgrad_sq image differs" in problem for problem in wrong), wrong
    assert any("details['params']" in problem for problem in wrong), wrong
    assert not any("saliency image differs" in problem for problem in wrong), wrong


def test_the_check_catches_features_meant_for_another_request(
    load_test: ModuleType, pretrained_dir: Path
) -> None:
    """/features for another target (or baseline) is caught; the same request is not."""
    net = load_model(pretrained_dir)
    request = load_test.Request(
        example(3).name, (), "cat", 8, 0, 0.0, "zeros", 0, 0.0, endpoint="/features"
    )
    wanted = load_test.expected_answer(net, request, example(3), 0)
    assert load_test.check_answer(wanted, request, wanted) == []
    for other in (replace(request, target="dog"), replace(request, baseline="blur")):
        answer = load_test.expected_answer(net, other, example(3), 0)
        problems = load_test.check_answer(answer, request, wanted)
        assert any("features' channels" in problem for problem in problems), problems


@pytest.fixture
def environment_kept() -> Iterator[None]:
    """The script sets variables for the process it runs in (INTERPRET_MODEL_REPO...): undone."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.slow
def test_a_short_load_has_no_failure_no_mismatch_and_bounded_memory(
    load_test: ModuleType,
    app_url: str,
    pretrained_dir: Path,
    environment_kept: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As a user runs it against a running app: `--url` and the weights that app serves."""
    status = load_test.main(
        [
            f"--url={app_url}",
            f"--weights={pretrained_dir}",
            "--clients=2",
            "--requests=4",
            "--cheap",
            "--features=0.5",
            f"--max-seconds={RUN_BUDGET_S}",
            "--json",
        ]
    )
    printed = capsys.readouterr()
    report = json.loads(printed.out)
    assert status == 0, printed.err
    assert report["ok"] and report["problems"] == []
    load = report["load"]
    assert load["requests_done"] == 4
    assert set(load["by_endpoint"]) == {"/explain", "/features"}  # both at once, both checked
    assert load["failures"] == 0 and load["mismatches"] == 0, printed.err
    assert report["warmup"]["failures"] == 0 and report["warmup"]["mismatches"] == 0
    assert report["memory"]["growth_pct"] <= 20
    assert report["weights"] == load_model(pretrained_dir).weights_source
    print(printed.err)
