"""Contrastive targets, trust scores, method agreement and raw downloads in the app.

Driven through the real gradio_client against the session's `python app.py` (conftest's
`app_url`), and compared with the library's own results for the same request; one browser
check at the end: the scores arrive under maps that stay in view.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from chromium import EXAMPLE, LAPTOP, WAIT_MS, explain_example
from conftest import example, refusal
from gradio_client import Client, handle_file

from interpret import CLASSES, METHODS, explain, load_model, model_image
from interpret.dataset.images import image_fingerprint
from interpret.trust.faithfulness import SCORE_HELP

pytestmark = pytest.mark.timeout(300)

FAST = {"nt_samples": 2, "n_steps": 16}
IMAGE = 7  # cifar10_07_6.png, a frog
NEW_PARAMETERS = {
    "contrast": "none",
    "trust_scores": False,
    "occlusion_window": 4,
    "occlusion_stride": 2,
}


@pytest.fixture(scope="module")
def model(pretrained_dir: Path):
    return load_model(pretrained_dir)


def call(client: Client, api_name: str, **settings):
    image = handle_file(str(example(IMAGE)))
    return client.predict(image, **{**FAST, **settings}, api_name=api_name)


def refused_setting(client: Client, api_name: str, **settings) -> str:
    """The refusal's message, which must be one sentence in the app's own words (app.py's
    "Invalid setting: {}." template), not Gradio's generic error."""
    image = handle_file(str(example(IMAGE)))
    message = refusal(client, api_name, image, **{**FAST, **settings})
    assert message.startswith("Invalid setting: ") and message.endswith("."), message
    return message


def assert_same_maps(arrays, expected: dict[str, np.ndarray]) -> None:
    assert sorted(arrays.files) == sorted(expected)
    for key, attribution in expected.items():
        assert arrays[key].dtype == np.float32 and arrays[key].shape == (3, 32, 32)
        scale = float(np.abs(attribution).max()) or 1.0
        np.testing.assert_allclose(arrays[key], attribution, rtol=1e-5, atol=1e-6 * scale)


def test_new_parameters_come_last_with_defaults_and_outputs_stay(client: Client) -> None:
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for api_name, returns in (("/explain", 3), ("/download", 2)):
        # Then `model` (tests/app/test_app_testset.py), appended after these.
        parameters = named[api_name]["parameters"][:-1]
        assert named[api_name]["parameters"][-1]["parameter_name"] == "model"
        assert [p["parameter_name"] for p in parameters[-4:]] == list(NEW_PARAMETERS)
        assert {p["parameter_name"]: p["parameter_default"] for p in parameters[-4:]} == (
            NEW_PARAMETERS
        )
        assert len(named[api_name]["returns"]) == returns
    explain_names = [p["parameter_name"] for p in named["/explain"]["parameters"]]
    assert explain_names == [p["parameter_name"] for p in named["/download"]["parameters"]]


def test_contrast_captions_and_maps_equal_the_library(client: Client, model) -> None:
    methods = ["saliency", "integrated_gradients", "grad_cam"]
    request = {"methods": methods, "target": "dog", "contrast": "cat"}
    gallery, _, details = call(client, "/explain", **request)
    assert details["target_class"] == "dog" and details["contrast_class"] == "cat"
    for item, key in zip(gallery[1:], methods, strict=True):
        method = METHODS[key]
        assert item["caption"] == f"{method.label} · {method.sign_text} · target: dog vs cat"
    expected = explain(model, example(IMAGE), methods, "dog", contrast="cat", **FAST)
    assert details["deltas"] == pytest.approx(expected.deltas, rel=1e-5, abs=1e-7)
    # The same client right after: /download reuses that result. A new client: recomputed.
    for caller in (client, Client(client.src, verbose=False)):
        arrays_path, record_path = call(caller, "/download", **request)
        assert Path(arrays_path).name == "explanation_dog_vs_cat.npz"
        with np.load(arrays_path) as arrays:
            assert_same_maps(arrays, expected.attributions)
        assert json.loads(Path(record_path).read_text())["captions"] == details["captions"]


def test_trust_scores_for_every_method(client: Client, model) -> None:
    methods = ["saliency", "deeplift", "occlusion"]
    occlusion = {"occlusion_window": 8, "occlusion_stride": 4}
    _, _, details = call(client, "/explain", methods=methods, trust_scores=True, **occlusion)
    assert details["params"]["occlusion_window"] == 8
    assert details["params"]["occlusion_stride"] == 4
    expected = explain(
        model, example(IMAGE), methods, faithfulness=True, sanity=True, **FAST, **occlusion
    )
    assert set(details["faithfulness"]) == set(details["sanity"]) == set(methods)
    for key in methods:
        scores = details["faithfulness"][key]
        assert set(SCORE_HELP) | {"deletion", "insertion", "fractions"} <= set(scores)
        for name in SCORE_HELP:
            expected_score = expected.faithfulness[key][name]
            assert scores[name] == pytest.approx(expected_score, rel=1e-4, abs=1e-6)
        sanity = details["sanity"][key]
        assert sanity["final"] == pytest.approx(expected.sanity[key]["final"], abs=1e-4)
        assert sanity["flagged"] == expected.sanity[key]["flagged"]
    assert details["agreement"]["methods"] == methods
    _, matrix = expected.agreement()
    np.testing.assert_allclose(details["agreement"]["spearman"], matrix, atol=1e-5)


def test_a_client_gets_one_answer_with_the_scores(client: Client) -> None:
    """The page shows the maps before their scores (its own, private event); /explain keeps
    answering API clients once, scored, so a client reading the first event gets the scores."""
    methods = ["saliency", "deeplift"]
    image = handle_file(str(example(IMAGE)))
    job = client.submit(image, methods=methods, trust_scores=True, **FAST, api_name="/explain")
    *_, details = job.result(timeout=120)
    assert len(job.outputs()) == 1
    assert "trust_scores_pending" not in details
    assert set(details["faithfulness"]) == set(details["sanity"]) == set(methods)


def test_agreement_always_and_no_trust_scores_by_default(client: Client) -> None:
    _, _, details = call(client, "/explain", methods=["saliency", "deeplift"])
    assert details["faithfulness"] == {} and details["sanity"] == {}
    assert details["contrast"] is None and details["contrast_class"] is None
    spearman = np.asarray(details["agreement"]["spearman"])
    assert spearman.shape == (2, 2) and np.allclose(np.diag(spearman), 1)


def test_downloads_reproduce_the_request(client: Client, model, pretrained_dir: Path) -> None:
    methods = ["integrated_gradients", "lrp"]
    request = {"target": "true label", "baseline": "blur", "seed": 3, "trust_scores": True}
    arrays_path, record_path = call(client, "/download", methods=methods, **request)
    frog = CLASSES.index("frog")
    settings = {"baseline": "blur", "seed": 3, **FAST}
    expected = explain(
        model, example(IMAGE), methods, frog, faithfulness=True, sanity=True, **settings
    )
    with np.load(arrays_path) as arrays:
        assert_same_maps(arrays, expected.attributions)
    record = json.loads(Path(record_path).read_text())
    assert record["params"] == json.loads(json.dumps(expected.params.to_dict()))
    assert set(record["versions"]) == {"interpret", "torch", "captum"}
    assert record["weights"] == model.weights_source  # names the file, never a server path
    assert record["true_label"] == record["target_class"] == "frog"
    assert record["request"]["target"] == "true label" and record["request"]["trust_scores"]
    assert record["model_input_sha256"] == image_fingerprint(model_image(example(IMAGE)))
    assert "explain(model, IMAGE" in record["reproduce"]
    assert set(record["faithfulness"]) == set(record["sanity"]) == set(methods)


@pytest.mark.parametrize("api_name", ["/explain", "/download"])
@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"target": "cat", "contrast": "cat"}, "the contrast class must differ from the target"),
        ({"contrast": "unicorn"}, "unknown contrast class 'unicorn'; choose 'none' or one of"),
        ({"contrast": "12"}, "unknown contrast class '12'"),
        ({"contrast": "²"}, "unknown contrast class '²'"),  # str.isdigit() would pass it
        ({"trust_scores": "maybe"}, "trust_scores must be true or false, got 'maybe'"),
        ({"occlusion_window": 0}, "occlusion_window must be between 1 and 32, got 0"),
        ({"occlusion_stride": 40}, "occlusion_stride must be between 1 and 32, got 40"),
    ],
)
def test_bad_new_settings_are_refused_in_the_apps_words(
    client: Client, api_name: str, settings: dict, expected: str
) -> None:
    message = refused_setting(client, api_name, **settings)
    assert message.startswith("Invalid setting: ") and expected in message, message


# Each change on the page (ms since the page opened): the trust note, the gallery's images and
# its status tracker.
RECORD_WHILE_SCORING = """() => {
    window.whileScoring = [];
    new MutationObserver(() => {
        const gallery = document.querySelector("#gallery");
        // The note's own text: the Markdown, not the timer of the status tracker beside it.
        const note = document.querySelector("#trust-note .prose");
        const tracker = gallery.querySelector("[data-testid='status-tracker']");
        window.whileScoring.push({
            t: Math.round(performance.now()),
            note: note ? note.innerText.trim() : "",
            maps: gallery.querySelectorAll("img").length,
            status: tracker ? tracker.className : "",
        });
    }).observe(document.body, {subtree: true, childList: true, characterData: true,
                               attributes: true});
}"""


@pytest.mark.browser
@pytest.mark.slow
def test_trust_scores_and_contrast_in_the_browser(browser, app_url: str, model) -> None:
    from playwright.sync_api import expect

    predicted = explain(model, example(EXAMPLE), ["saliency"], overlays=False).predicted_class
    other = next(name for name in CLASSES if name != predicted)
    page = browser.new_page(viewport=LAPTOP)
    explain_example(page, app_url)
    expect(page.locator("#agreement img")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#trust-table")).to_be_hidden()
    expect(page.locator("#npz-file")).to_contain_text(".npz", timeout=WAIT_MS)

    page.evaluate(RECORD_WHILE_SCORING)
    page.locator("#trust-scores input").check()
    table = page.locator("#trust-table")
    expect(table).to_be_visible(timeout=WAIT_MS)
    # While the scores were computed, the note said so under the maps, which stayed in
    # view: the gallery's status was "generating" (Gradio's border), then hidden; never
    # the cover Gradio puts over a pending output.
    moments = page.evaluate("window.whileScoring")
    scoring = [m for m in moments if m["note"].startswith("Computing the trust scores")]
    assert any("generating" in m["status"] for m in scoring), moments
    uncovered = ("generating" in m["status"] or "hide" in m["status"] for m in scoring)
    assert all(uncovered) and all(m["maps"] == 5 for m in scoring), scoring
    for label in ("Saliency", "Integrated Gradients", "IG + SmoothGrad²", "DeepLift"):
        expect(table).to_contain_text(label)
    expect(page.locator("#trust-note")).to_contain_text("Sanity check")
    expect(page.locator("#curves img")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("lowest deletion AUC")

    page.locator("#contrast input").click()
    page.get_by_role("option", name=other, exact=True).click()
    expect(page.locator("#gallery .caption-label").nth(1)).to_contain_text(
        f"target: {predicted} vs {other}", timeout=WAIT_MS
    )
    # The file list shows the name and its extension in separate elements.
    expect(page.locator("#json-file")).to_contain_text(
        f"explanation_{predicted}_vs_{other}", timeout=WAIT_MS
    )
    page.close()
