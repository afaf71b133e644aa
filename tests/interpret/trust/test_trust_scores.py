"""Every method beside the tutorial's four against Captum's own call, contrastive targets, and
the trust scores (faithfulness, the sanity check, method agreement) against their definitions,
scored alone, in batches or afterwards; and scripts/bench_trust.py's figures."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from captum.attr import (
    LRP,
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from captum.metrics import infidelity, sensitivity_max
from conftest import ROOT, Command, Finished, example
from scipy import ndimage
from scipy.stats import spearmanr
from script_runs import load_script

from interpret import (
    CLASSES,
    METHODS,
    ParamError,
    add_trust_scores,
    explain,
    explain_batch,
)
from interpret.core.baselines import make_baseline
from interpret.core.params import make_params
from interpret.core.preprocess import model_image, to_tensor
from interpret.trust.agreement import rank_correlations, relevance
from interpret.trust.faithfulness import deletion_insertion_batch, pixel_order
from interpret.trust.sanity import CASCADE, sanity_check


@pytest.fixture(scope="module")
def image_tensor() -> torch.Tensor:
    return to_tensor(model_image(example(3)))


def test_at_least_twelve_methods_each_explained() -> None:
    assert len(METHODS) >= 12
    for method in METHODS.values():
        assert method.description and method.sign in {"all", "absolute_value", "positive"}


def test_every_method_runs(reference_net) -> None:
    result = explain(
        reference_net, example(3), list(METHODS), target=0, nt_samples=5, shap_samples=5
    )
    for key in METHODS:
        assert result.attributions[key].shape == (3, 32, 32), key
        assert np.isfinite(result.attributions[key]).all(), key
        assert result.overlays[key].width >= 256


def _direct(net, inputs: torch.Tensor, target: int) -> dict[str, torch.Tensor]:
    x = inputs.clone().requires_grad_(True)
    cam = LayerGradCam(net, net.conv2).attribute(x, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, (32, 32), interpolate_mode="bilinear")
    return {
        "input_x_gradient": InputXGradient(net).attribute(x, target=target),
        "guided_backprop": GuidedBackprop(net).attribute(x, target=target),
        "deconvolution": Deconvolution(net).attribute(x, target=target),
        "lrp": LRP(net).attribute(x, target=target),
        "guided_grad_cam": GuidedGradCam(net, net.conv2).attribute(x, target=target),
        "grad_cam": cam.expand(-1, 3, -1, -1) / 3,
        "occlusion": Occlusion(net).attribute(
            x.detach(),
            sliding_window_shapes=(3, 4, 4),
            strides=(3, 2, 2),
            baselines=x.detach() * 0,
            target=target,
        ),
    }


def test_extra_methods_equal_direct_captum_calls(reference_net, image_tensor) -> None:
    result = explain(
        reference_net, example(3), list(_direct(reference_net, image_tensor, 0)), target=0
    )
    for key, expected in _direct(reference_net, image_tensor, 0).items():
        expected = expected.detach().squeeze(0).numpy()
        np.testing.assert_allclose(
            result.attributions[key], expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max()
        )


def test_a_contrast_equal_to_the_target_is_refused(reference_net) -> None:
    """(The contrastive maps themselves are held to the exactness contract in
    test_exactness.py: they explain logit[target] - logit[contrast].)"""
    with pytest.raises(ParamError, match="must differ from the target"):
        explain(reference_net, example(3), "saliency", "cat", contrast="cat")


def test_faithfulness_scores(reference_net) -> None:
    result = explain(reference_net, example(3), target=0, nt_samples=10, faithfulness=True)
    probability = float(result.probabilities[0])
    for key in result.methods:
        scores = result.faithfulness[key]
        assert set(scores) >= {"deletion_auc", "insertion_auc", "infidelity", "sensitivity_max"}
        assert len(scores["deletion"]) == len(scores["insertion"]) == 33
        assert scores["deletion"][0] == pytest.approx(probability, abs=1e-5)
        assert scores["insertion"][-1] == pytest.approx(probability, abs=1e-5)
        assert 0 <= scores["deletion_auc"] <= 1 and 0 <= scores["insertion_auc"] <= 1
        assert scores["infidelity"] >= 0 and scores["sensitivity_max"] >= 0
    assert result.to_dict()["faithfulness"]["deeplift"]["deletion_auc"] > 0


def test_with_a_contrast_the_curves_follow_target_rather_than_contrast(reference_net) -> None:
    """The maps explain logit[target] - logit[contrast]: the curves must measure that, as
    P(target | target or contrast), not the plain P(target)."""
    result = explain(
        reference_net,
        example(3),
        "saliency",
        "airplane",
        contrast="ship",
        faithfulness=True,
        nt_samples=4,
    )
    with torch.no_grad():
        logits = reference_net(to_tensor(model_image(example(3))))[0]
    pairwise = torch.sigmoid(logits[0] - logits[8]).item()
    curve = result.faithfulness["saliency"]
    assert curve["deletion"][0] == pytest.approx(pairwise, abs=1e-5)
    assert curve["insertion"][-1] == pytest.approx(pairwise, abs=1e-5)
    assert abs(pairwise - float(result.probabilities[0])) > 1e-3  # a different quantity


def test_deleting_the_most_relevant_pixels_first_hurts_most(reference_net, image_tensor) -> None:
    """IG's ranking must beat its own reverse (the negated map, read with sign "all"): the
    deletion curve measures something real."""
    result = explain(reference_net, example(3), "integrated_gradients", target=0)
    attribution = result.attributions["integrated_gradients"]
    ranked, reversed_ = deletion_insertion_batch(
        reference_net,
        image_tensor.repeat(2, 1, 1, 1),
        image_tensor.repeat(2, 1, 1, 1) * 0,
        np.stack([attribution, -attribution]),
        ["all", "all"],
        [0, 0],
        [None, None],
    )
    assert ranked["deletion_auc"] < reversed_["deletion_auc"]


def test_sanity_check_randomizes_a_copy(reference_net) -> None:
    before = {k: v.clone() for k, v in reference_net.state_dict().items()}
    rng = torch.random.get_rng_state()
    result = explain(
        reference_net, example(3), "saliency,integrated_gradients,guided_backprop", sanity=True
    )
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in reference_net.state_dict().items())
    for key in result.methods:
        entry = result.sanity[key]
        assert entry["layers"] == ["fc3", "fc2", "fc1", "conv2", "conv1"]
        assert all(-1 <= rho <= 1 for rho in entry["spearman"])
        assert entry["flagged"] == (abs(entry["final"]) >= 0.5)
    # Integrated Gradients depends on the learned weights: its map decorrelates.
    assert not result.sanity["integrated_gradients"]["flagged"]


def test_agreement_matrix_and_versions(reference_net) -> None:
    result = explain(reference_net, example(3), nt_samples=5)
    keys, matrix = result.agreement()
    assert keys == list(result.methods)
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1)
    assert (np.abs(matrix) <= 1 + 1e-9).all()
    details = result.to_dict()
    assert details["agreement"]["methods"] == keys
    assert set(details["versions"]) == {"interpret", "torch", "captum"}


# ------------------------------------------------ infidelity and max-sensitivity, from Captum
# The settings the README and interpret.trust.faithfulness document: a random 8x8 square replaced by
# the baseline, 64 samples drawn from a generator seeded with the request's seed (top, then
# left, per sample); uniform input noise within 0.02, 5 samples, after torch.manual_seed(seed).
SQUARE, INFIDELITY_SAMPLES, RADIUS, SENSITIVITY_SAMPLES = 8, 64, 0.02, 5


def square_removal(baseline: torch.Tensor, seed: int, times_input: bool):
    generator = torch.Generator().manual_seed(seed)

    def perturb(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.zeros(batch.shape[0], 1, 32, 32)
        for i in range(batch.shape[0]):
            top = int(torch.randint(0, 32 - SQUARE + 1, (1,), generator=generator))
            left = int(torch.randint(0, 32 - SQUARE + 1, (1,), generator=generator))
            mask[i, :, top : top + SQUARE, left : left + SQUARE] = 1
        removed = torch.where(mask.bool(), baseline, batch)
        # Maps that already hold (input - baseline) are summed over the square; gradients
        # are multiplied by the change.
        return (mask.expand_as(batch) if times_input else batch - removed), removed

    return perturb


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
@pytest.mark.parametrize("contrast", [None, "ship"])
def test_infidelity_and_max_sensitivity_equal_direct_captum_calls(shipped_net, contrast) -> None:
    seed, n_steps = 7, 8
    methods = ["saliency", "integrated_gradients"]
    result = explain(
        shipped_net,
        example(3),
        methods,
        "airplane",
        contrast=contrast,
        seed=seed,
        n_steps=n_steps,
        faithfulness=True,
        overlays=False,
    )
    inputs = to_tensor(model_image(example(3)))
    if contrast is None:
        forward, target = shipped_net, 0
    else:  # the maps explain logit[airplane] - logit[ship]: so do both scores

        def forward(x: torch.Tensor) -> torch.Tensor:
            logits = shipped_net(x)
            return logits[:, 0:1] - logits[:, CLASSES.index(contrast) : CLASSES.index(contrast) + 1]

        target = 0
    explainers = {
        "saliency": lambda x, target: Saliency(forward).attribute(x, target=target, abs=True),
        "integrated_gradients": lambda x, target: IntegratedGradients(forward).attribute(
            x, baselines=0.0, target=target, n_steps=n_steps
        ),
    }
    for key in methods:
        attribution = torch.from_numpy(result.attributions[key]).unsqueeze(0)
        perturb = square_removal(inputs * 0, seed, METHODS[key].times_input)
        with torch.no_grad():
            expected = infidelity(
                forward,
                perturb,
                inputs,
                attribution,
                target=target,
                n_perturb_samples=INFIDELITY_SAMPLES,
                normalize=True,
            ).item()
        scores = result.faithfulness[key]
        assert scores["infidelity"] == pytest.approx(expected, rel=1e-5), key
        torch.manual_seed(seed)
        expected = sensitivity_max(
            explainers[key],
            inputs,
            perturb_radius=RADIUS,
            n_perturb_samples=SENSITIVITY_SAMPLES,
            target=torch.tensor([target]),
        ).item()
        # Both recompute the maps of perturbed inputs (ours on the fast path for IG): float32
        # rounding of a ratio of norms.
        assert scores["sensitivity_max"] == pytest.approx(expected, rel=1e-3), key
        assert expected > 0 and scores["infidelity"] > 0


# ------------------------------------------------------- baselines, built here from their words
def blurred(inputs: torch.Tensor) -> np.ndarray:
    """A Gaussian of sigma 4 px, 31 taps (radius 15), edges mirrored without repeating the
    edge pixel: scipy's own filter, in float64."""
    return ndimage.gaussian_filter(
        inputs.double().numpy(), sigma=(0, 0, 4, 4), mode="mirror", truncate=15 / 4
    )


def in_model_space(pixels: np.ndarray) -> np.ndarray:
    """[0, 1] pixels as the tutorial's Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) maps them."""
    return (pixels - 0.5) / 0.5


def independent_baseline(kind: str, inputs: torch.Tensor, seed: int) -> np.ndarray:
    shape = tuple(inputs.shape)
    if kind == "zeros":  # the tutorial's input * 0: mid-gray
        return np.zeros(shape)
    if kind == "black":
        return np.full(shape, -1.0)
    if kind == "blur":
        return blurred(inputs)
    if kind == "noise":  # one uniform draw in pixel space from a CPU generator seeded `seed`
        draw = torch.rand((1, *shape[1:]), generator=torch.Generator().manual_seed(seed))
        return np.broadcast_to(in_model_space(draw.double().numpy()), shape).copy()
    if kind == "mean":  # the CIFAR-10 training set's per-channel mean, in [0, 1]
        mean = np.array([0.4914, 0.4822, 0.4465]).reshape(1, 3, 1, 1)
        return np.broadcast_to(in_model_space(mean), shape).copy()
    raise AssertionError(kind)


BASELINE_KINDS = ["zeros", "black", "blur", "noise", "mean"]


@pytest.mark.parametrize("kind", BASELINE_KINDS)
def test_baselines_equal_their_independent_construction(kind: str) -> None:
    inputs = torch.cat([to_tensor(model_image(example(i))) for i in (3, 8)])
    for seed in (0, 11):
        expected = independent_baseline(kind, inputs, seed)
        built = make_baseline(kind, inputs, seed)
        assert built.shape == inputs.shape and built.dtype == torch.float32
        np.testing.assert_allclose(built.numpy(), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", BASELINE_KINDS)
def test_explain_integrates_from_that_baseline(shipped_net, kind: str) -> None:
    """IG's reported delta is sum(map) - (f(x) - f(baseline)). Recomputed here with the
    baseline built above, it agrees only if explain really started from that baseline."""
    seed, target = 5, 3
    result = explain(
        shipped_net,
        example(8),
        "integrated_gradients",
        target,
        baseline=kind,
        seed=seed,
        n_steps=16,
    )
    inputs = to_tensor(model_image(example(8)))
    reference = torch.from_numpy(independent_baseline(kind, inputs, seed)).float()
    with torch.no_grad():
        score, start = shipped_net(torch.cat([inputs, reference]))[:, target].double()
    total = float(result.attributions["integrated_gradients"].astype(np.float64).sum())
    delta = total - float(score - start)
    assert result.deltas["integrated_gradients"] == pytest.approx(delta, abs=2e-5)


# ----------------------------------------------------------- batched trust scores, as single calls
def test_sensitivity_of_a_reseeding_method_equals_direct_captum_calls(shipped_net) -> None:
    """SmoothGrad² reseeds the global generator itself. Its perturbations must still be the
    documented ones (uniform noise drawn right after seeding with the request's seed), not
    whatever state the method's own noise draw leaves: Captum called with those draws."""
    seed, n_steps, nt_samples = 3, 4, 6
    result = explain(
        shipped_net,
        example(3),
        "ig_smoothgrad_sq",
        "airplane",
        seed=seed,
        n_steps=n_steps,
        nt_samples=nt_samples,
        faithfulness=True,
        overlays=False,
    )
    inputs = to_tensor(model_image(example(3)))

    def smoothgrad(x, target: torch.Tensor):
        if isinstance(x, tuple):  # Captum's first call passes a tuple and wants one back
            return (smoothgrad(x[0], target),)
        target = target.expand(x.shape[0]) if target.numel() == 1 else target
        maps = []
        for row in range(x.shape[0]):  # each input reseeded, as the library explains it
            torch.manual_seed(seed)
            maps.append(
                NoiseTunnel(IntegratedGradients(shipped_net)).attribute(
                    x[row : row + 1],
                    baselines=x[row : row + 1] * 0,
                    target=target[row : row + 1],
                    nt_type="smoothgrad_sq",
                    nt_samples=nt_samples,
                    stdevs=0.2,
                    n_steps=n_steps,
                )
            )
        return torch.cat(maps)

    generator = torch.Generator().manual_seed(seed)

    def perturb(x: torch.Tensor, radius: float) -> torch.Tensor:
        noise = torch.empty(x.shape).uniform_(-radius, radius, generator=generator)
        return x + noise

    expected = sensitivity_max(
        smoothgrad,
        inputs,
        perturb_func=perturb,
        perturb_radius=RADIUS,
        n_perturb_samples=SENSITIVITY_SAMPLES,
        target=torch.tensor([0]),
    ).item()
    got = result.faithfulness["ig_smoothgrad_sq"]["sensitivity_max"]
    assert expected > 0 and got == pytest.approx(expected, rel=1e-3)


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
@pytest.mark.parametrize(
    "contrast, methods",
    [(None, list(METHODS)), ("cat", ["saliency", "ig_smoothgrad_sq", "gradient_shap"])],
)
def test_a_batch_gets_the_trust_scores_of_single_calls(shipped_net, contrast, methods) -> None:
    """Trust scores run image groups and maps together: each image must still get the
    scores (and the random draws) of its own call, every method, with and without a
    contrast (then each target/contrast pair is its own group)."""
    images, targets = [example(3), example(8)], ["airplane", "ship"]
    settings = dict(
        contrast=contrast,
        nt_samples=3,
        n_steps=5,
        shap_samples=3,
        seed=4,
        faithfulness=True,
        sanity=True,
        overlays=False,
    )
    batch = explain_batch(shipped_net, images, methods, targets, **settings)
    for image, target, together in zip(images, targets, batch):
        alone = explain_batch(shipped_net, [image], methods, [target], **settings)[0]
        for key in methods:
            # The maps themselves: float32 rounding of batched kernels, relative to the map.
            scale = np.abs(alone.attributions[key]).max()
            np.testing.assert_allclose(
                together.attributions[key], alone.attributions[key], rtol=0, atol=1e-5 * scale
            )
            for score in ("deletion_auc", "insertion_auc", "infidelity", "sensitivity_max"):
                assert together.faithfulness[key][score] == pytest.approx(
                    alone.faithfulness[key][score], rel=1e-4, abs=1e-7
                ), (key, score)
            np.testing.assert_allclose(
                together.sanity[key]["spearman"], alone.sanity[key]["spearman"], atol=1e-4
            )
            assert together.sanity[key]["flagged"] == alone.sanity[key]["flagged"]
        assert together.timings["faithfulness"] > 0 and together.timings["sanity"] > 0


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
@pytest.mark.parametrize("contrast", [None, "cat"])
def test_trust_scores_added_afterwards_equal_those_of_one_call(shipped_net, contrast) -> None:
    """The app shows the maps first and scores them after: `add_trust_scores` on results made
    without scores must give the numbers `explain_batch(..., faithfulness, sanity)` gives."""
    images, targets = [example(3), example(8)], ["airplane", "ship"]
    methods = ["saliency", "ig_smoothgrad_sq", "deeplift", "gradient_shap"]
    settings = dict(contrast=contrast, nt_samples=3, n_steps=5, shap_samples=3, seed=4)
    together = explain_batch(
        shipped_net, images, methods, targets, faithfulness=True, sanity=True, **settings
    )
    plain = explain_batch(shipped_net, images, methods, targets, **settings)
    assert all(not result.faithfulness and not result.sanity for result in plain)
    scored = add_trust_scores(shipped_net, plain)
    assert scored == plain  # the same objects, scored in place
    for late, once in zip(scored, together):
        assert late.faithfulness == once.faithfulness
        assert late.sanity == once.sanity
        assert late.timings["faithfulness"] > 0 and late.timings["sanity"] > 0
    alone = explain(shipped_net, images[0], methods, targets[0], faithfulness=True, **settings)
    only_curves = add_trust_scores(
        shipped_net,
        [explain(shipped_net, images[0], methods, targets[0], **settings)],
        sanity=False,
    )[0]
    assert only_curves.faithfulness == alone.faithfulness and not only_curves.sanity


def test_trust_scores_refuse_results_of_different_settings(shipped_net) -> None:
    first = explain(shipped_net, example(3), ["saliency"], nt_samples=3)
    other = explain(shipped_net, example(8), ["saliency"], nt_samples=4)
    with pytest.raises(ParamError, match="same methods and settings"):
        add_trust_scores(shipped_net, [first, other])
    first.attributions.clear()
    with pytest.raises(ParamError, match="needs its maps"):
        add_trust_scores(shipped_net, [first])


def test_curves_equal_their_step_by_step_construction(shipped_net) -> None:
    """The curves' frames are built for all maps at once; each frame must be the image with
    exactly the first step * 32 pixels of the map's order switched, as a loop builds it."""
    result = explain(shipped_net, example(5), list(METHODS), nt_samples=3, faithfulness=True)
    inputs = to_tensor(model_image(example(5)))
    baseline = inputs * 0
    target = result.target
    for key in METHODS:
        order = pixel_order(result.attributions[key], METHODS[key].sign)
        curves = {}
        for name, start, end in (("deletion", inputs, baseline), ("insertion", baseline, inputs)):
            frames = start.repeat(33, 1, 1, 1).view(33, 3, 1024)
            for step in range(33):
                chosen = torch.as_tensor(order[: step * 32])
                frames[step][:, chosen] = end.view(3, 1024)[:, chosen]
            with torch.no_grad():
                logits = shipped_net(frames.view(33, 3, 32, 32))
            curves[name] = torch.softmax(logits, dim=1)[:, target].numpy()
        scores = result.faithfulness[key]
        for name, curve in curves.items():
            np.testing.assert_allclose(scores[name], curve, rtol=0, atol=1e-6, err_msg=key)
            fractions = np.linspace(0, 1, 33)
            area = float(np.trapezoid(curve.astype(float), fractions))
            assert scores[f"{name}_auc"] == pytest.approx(area, abs=1e-6), key


def test_rank_correlations_equal_scipy_pair_by_pair() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 32, 32))
    b = a + rng.normal(size=a.shape) * rng.uniform(0, 3, size=(12, 1, 1))
    a[1] = np.round(a[1])  # ties
    b[2] = 7.0  # constant: no ranking, 0 by convention
    b[3] = -a[3]
    expected = [
        0.0 if np.ptp(x) == 0 or np.ptp(y) == 0 else spearmanr(x.ravel(), y.ravel()).statistic
        for x, y in zip(a, b)
    ]
    np.testing.assert_allclose(rank_correlations(a, b), expected, rtol=0, atol=1e-12)
    assert rank_correlations(a, b)[3] == pytest.approx(-1)


def test_agreement_matrix_equals_scipy_pair_by_pair(reference_net) -> None:
    result = explain(reference_net, example(3), list(METHODS), nt_samples=3, overlays=False)
    result.attributions["grad_cam"] = np.zeros_like(result.attributions["grad_cam"])  # constant
    keys, matrix = result.agreement()
    for i, first in enumerate(keys):
        for j, second in enumerate(keys):
            a = relevance(result.attributions[first], METHODS[first].sign).ravel()
            b = relevance(result.attributions[second], METHODS[second].sign).ravel()
            if i == j:
                expected = 1.0
            elif np.ptp(a) == 0 or np.ptp(b) == 0:
                expected = 0.0
            else:
                expected = spearmanr(a, b).statistic
            assert matrix[i, j] == pytest.approx(expected, abs=1e-12), (first, second)


def test_each_randomized_model_explains_every_method_and_image_in_one_call(shipped_net) -> None:
    """The cascade's models are made once for a group; each explains everything in one call,
    and every image's report equals the one it gets alone."""
    images = torch.cat([to_tensor(model_image(example(i))) for i in (3, 8, 11)])
    targets = torch.tensor([0, 8, 1])
    keys = ["saliency", "integrated_gradients", "guided_backprop"]
    settings = make_params(n_steps=8)

    def maps_of(model, inputs, rows) -> dict[str, np.ndarray]:
        return {
            key: METHODS[key]
            .run(model, inputs.clone().requires_grad_(True), rows, inputs * 0, settings)[0]
            .detach()
            .numpy()
            for key in keys
        }

    trained = maps_of(shipped_net, images, targets)
    calls = []

    def attribute_all(randomized):
        calls.append(len(images))
        return maps_of(randomized, images, targets)

    signs = {key: METHODS[key].sign for key in keys}
    reports = sanity_check(shipped_net, trained, signs, attribute_all, seed=2)
    assert calls == [3] * 5 and len(reports) == 3
    for i in range(3):
        alone = sanity_check(
            shipped_net,
            {key: trained[key][i : i + 1] for key in keys},
            signs,
            lambda randomized, i=i: maps_of(randomized, images[i : i + 1], targets[i : i + 1]),
            seed=2,
        )[0]
        for key in keys:
            assert reports[i][key]["layers"] == list(CASCADE)
            np.testing.assert_allclose(
                reports[i][key]["spearman"], alone[key]["spearman"], atol=1e-5
            )
            assert reports[i][key]["flagged"] == alone[key]["flagged"]


BACKGROUND = {
    "test_trust_benchmark_prints_consistent_figures": Command(
        (
            sys.executable,
            "scripts/bench_trust.py",
            *("--images", "1", "--repeats", "1", "--methods", "default"),
            *("--compare-with", str(ROOT), "--json"),
        ),
        env={"INTERPRET_MODEL_REPO": ""},
    )
}


def test_trust_benchmark_prints_consistent_figures(background_run: Finished) -> None:
    """scripts/bench_trust.py, shortest run, compared with this very checkout: the same
    code must give the same scores, and the figures must be the ratios they claim to be. Run
    as a user runs it, in conftest's background lane while other tests run."""
    assert background_run.returncode == 0, background_run.stderr[-2000:]
    report = json.loads(background_run.stdout)
    figures = report["sets"]["default"]
    assert set(report["sets"]) == {"default"} and report["images"] == 1
    assert figures["ratio"] == pytest.approx(figures["trust_ms"] / figures["plain_ms"])
    assert figures["floor_ratio"] == pytest.approx(figures["floor_ms"] / figures["plain_ms"])
    assert figures["speedup"] == pytest.approx(figures["compared_trust_ms"] / figures["trust_ms"])
    assert min(figures["plain_ms"], figures["floor_ms"], figures["sanity_ms"]) > 0
    assert figures["faithfulness_ms"] + figures["sanity_ms"] < figures["trust_ms"]
    # The trust scores re-explain every map 10 times: they cannot cost less than the maps.
    assert figures["trust_ms"] > figures["plain_ms"]
    assert all(value == 0 for value in figures["compared_score_drift"].values())
    assert len(report["load_average"]["before"]) == 3
    assert "page" not in report  # only with --page


def test_trust_benchmark_times_the_pages_two_answers(
    shipped_net, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench_trust.py --page's figures, one round after its warm-up: the Explain tab's event
    shows the maps before their scores."""
    from ui import api

    monkeypatch.setattr(api, "_backend", api._backend)  # the bench configures its own: undone
    page = load_script("bench_trust.py").page_figures(shipped_net, 1)
    assert 0 < page["trust_maps_shown_ms"] < page["trust_scores_shown_ms"]
    assert page["plain_ms"] > 0
