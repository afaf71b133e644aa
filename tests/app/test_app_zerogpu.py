"""The app under ZeroGPU's rules (tests/zerogpu_server.py: the real `python app.py`, its GPU
functions run by the stand-in of `spaces.GPU` in forked workers, arguments and results by
pickle), through the real gradio_client: every endpoint answers, with the library's numbers;
what crosses into and out of each GPU call stays small and tensor-free; each call declares a
duration that fits its request; the caches spare a second GPU call; and ZeroGPU's refusals
reach the client in the app's words while the server keeps serving.

The page's events under the same server: tests/browser/test_browser_zerogpu.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import example, refusal
from gradio_client import Client, handle_file
from PIL import Image
from zerogpu_server import ENV, FOLDER, SET_BYTES, calls, fail_next, quota_left

from interpret import DEFAULT_METHODS, explain, load_model
from ui.zerogpu import LONGEST

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
APP_ENV = ENV

# (arguments, result) bytes each GPU function may pickle: names, a 32x32 picture and settings
# in; one image's maps (3x32x32 float32 each), never their rendered overlays, out.
BUDGETS = {
    "explain_on_gpu": (8_192, 65_536),
    "score_on_gpu": (65_536, 81_920),  # the maps in, the maps and their scores out
    "predict_on_gpu": (8_192, 24_576),
    "set_predictions_on_gpu": (1_024, 1_024),  # the predictions come back through the disk
    "strategies_on_gpu": (1_024, 65_536),
    "batch_on_gpu": (1_024, 8 * 65_536),
}
SET_FUNCTIONS = ("set_predictions_on_gpu", "strategies_on_gpu", "batch_on_gpu")
DEFAULTS = {
    "methods": list(DEFAULT_METHODS),
    "target": "predicted",
    "n_steps": 50,
    "nt_samples": 100,
    "stdevs": 0.2,
    "baseline": "zeros",
    "seed": 0,
    "opacity": 0.5,
}


def explained(client: Client, **settings: Any):
    return client.predict(handle_file(example(3)), **{**DEFAULTS, **settings}, api_name="/explain")


def checked(made: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`made`, each call held to its byte budgets, run in a worker (not the server), and
    answering with no tensor."""
    for call in made:
        arguments, result = BUDGETS[call["function"]]
        assert call["outcome"] == "ok", call
        assert call["args_bytes"] <= arguments and call["result_bytes"] <= result, call
        assert call["tensors"] == [], call
        assert call["worker"] != call["server"], call
        assert 1 <= call["duration"] <= LONGEST, call
    return made


def test_explanations_run_in_a_reused_worker_with_the_librarys_maps(
    client: Client, pretrained_dir: Path
) -> None:
    mark = len(calls())
    first = explained(client)
    second = explained(client)
    assert [caption for _, caption in first[0]] == [caption for _, caption in second[0]]
    npz, _ = client.predict(handle_file(example(3)), **DEFAULTS, api_name="/download")
    made = checked(calls(mark))
    # /download reuses the client's last result: two GPU calls, in one worker, made once
    assert [call["function"] for call in made] == ["explain_on_gpu"] * 2
    assert made[0]["worker"] == made[1]["worker"] and not made[1]["new_worker"]
    expected = explain(load_model(pretrained_dir, device="cpu"), Image.open(example(3)))
    with np.load(npz) as served:
        for key in DEFAULT_METHODS:
            np.testing.assert_allclose(served[key], expected.attributions[key], rtol=0, atol=1e-6)


def test_each_call_declares_a_duration_that_fits_its_request(client: Client) -> None:
    mark = len(calls())
    explained(client)
    explained(client, trust_scores=True)
    explained(client, n_steps=40, nt_samples=500)
    plain, with_maps, scores, heavy = checked(calls(mark))
    assert plain["function"] == with_maps["function"] == heavy["function"] == "explain_on_gpu"
    assert scores["function"] == "score_on_gpu"
    assert plain["duration"] <= 10  # a plain explanation: a few seconds, not the default 60
    assert scores["duration"] > 3 * plain["duration"]  # trust scores: several times longer
    assert plain["duration"] < heavy["duration"] < scores["duration"]  # 4x the noisy samples
    for call in (plain, scores, heavy):  # what it took here, on a CPU, fits what it declared
        assert call["seconds"] < call["duration"], call


def test_predict_sample_and_a_second_model(client: Client) -> None:
    mark = len(calls())
    label = client.predict(handle_file(example(3)), api_name="/predict")
    assert label["label"] and len(label["confidences"]) == 5
    image, true_label, _, index = client.predict(5, api_name="/sample")
    assert Path(image).is_file() and index == 5 and true_label
    other = explained(client, model="tutorial")
    assert other[2]["model"] == "tutorial"
    made = checked(calls(mark))
    assert [call["function"] for call in made] == ["predict_on_gpu", "explain_on_gpu"]


def test_test_set_calls_send_names_not_the_set(client: Client) -> None:
    mark = len(calls())
    matrix = client.predict("tutorial", api_name="/confusion")
    assert matrix["total"] == np.asarray(matrix["matrix"]).sum() == SET_BYTES // 3072
    page = client.predict(api_name="/browse")
    assert page["total"] == matrix["total"] and page["items"]
    found = client.predict("cat", "tutorial", api_name="/strategies")
    assert found["class"] == "cat" and found["clusters"]
    rows = client.predict(api_name="/models")
    assert {row["name"] for row in rows} >= {"tutorial", "retrained"}
    made = checked(calls(mark))
    assert {call["function"] for call in made} <= set(SET_FUNCTIONS)
    assert "strategies_on_gpu" in {call["function"] for call in made}
    for call in made:  # a name, the set's fingerprint and a class: not the set's 31 MB
        assert call["args_bytes"] < SET_BYTES / 50, call


def test_a_second_request_answers_from_the_cache_without_a_gpu_call(client: Client) -> None:
    first = client.predict("retrained", api_name="/confusion")
    client.predict("dog", "retrained", api_name="/strategies")
    mark = len(calls())
    assert client.predict("retrained", api_name="/confusion") == first
    client.predict(outcome="wrong", model="retrained", api_name="/browse")
    client.predict("dog", "retrained", api_name="/strategies")
    assert calls(mark) == []  # the server's memory and the disk answered
    assert list((FOLDER / "cache" / "predictions").glob("*.npz"))
    assert list((FOLDER / "cache" / "strategies").glob("*.npz"))


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("quota", "The GPU can't be used for you right now: You have exceeded your free"),
        ("queue_timeout", "The GPU can't be used for you right now: No GPU was available after"),
        ("no_gpu", "No GPU is free on this Space right now: No GPU was available. Please try"),
        ("illegal_duration", "This request needs more GPU time than one call may have"),
        ("abort", "The GPU task stopped before it finished (GPU task aborted)"),
    ],
)
def test_zerogpu_refusals_in_the_apps_words_and_the_next_call_works(
    client: Client, kind: str, words: str
) -> None:
    fail_next(kind)
    assert words in refusal(client, "/explain", handle_file(example(3)), **DEFAULTS)
    mark = len(calls())
    assert explained(client)[2]["prediction"]
    assert [call["outcome"] for call in calls(mark)] == ["ok"]


def test_a_visitor_with_little_quota_left_still_gets_a_plain_explanation(
    client: Client,
) -> None:
    explained(client)
    quota_left(10)
    try:
        assert explained(client)[2]["prediction"]  # declares under 10 s: allowed
        message = refusal(
            client, "/explain", handle_file(example(3)), **DEFAULTS, trust_scores=True
        )
        assert "requested vs. 10s left" in message and "Try again in" in message
        assert client.predict("retrained", api_name="/confusion")["total"]  # cached: no GPU
    finally:
        quota_left(None)


def test_a_library_refusal_inside_the_worker_keeps_the_apps_words(client: Client) -> None:
    mark = len(calls())
    message = refusal(client, "/explain", handle_file(example(3)), **{**DEFAULTS, "n_steps": 0})
    assert message.startswith("Invalid setting: n_steps must be between 1 and 500"), message
    assert [call["outcome"] for call in calls(mark)] == ["gradio_error"]  # raised in the worker


def test_an_agents_tools_run_on_the_gpu_workers_too(app_url: str) -> None:
    """The MCP server's tools reach the same GPU functions (through Gradio's loopback client):
    explain answers with its pictures through a GPU call, a second confusion matrix from the
    cache."""
    from test_mcp import IMAGE
    from test_mcp import call as tool

    mcp = {"mcp": f"{app_url}gradio_api/mcp/", "folders": [str(FOLDER)]}
    mark = len(calls())
    explained_by_agent = tool(mcp, "explain_image", image=IMAGE, nt_samples=4)
    assert not explained_by_agent.isError, explained_by_agent.content
    assert len(explained_by_agent.content) == 2 * (1 + len(DEFAULT_METHODS)) + 1
    assert [call["function"] for call in checked(calls(mark))] == ["explain_on_gpu"]
    first = tool(mcp, "confusion_matrix", model="retrained")
    mark = len(calls())
    again = tool(mcp, "confusion_matrix", model="retrained")
    assert not again.isError and again.content == first.content
    assert calls(mark) == []
