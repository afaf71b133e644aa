"""Attributions equal Captum's own calls on the tutorial's code path, and the tutorial's numbers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from captum.attr import DeepLift, IntegratedGradients, NoiseTunnel, Saliency
from conftest import example

from interpret import METHODS, ParamError, explain, explain_batch, load_model
from interpret.model import Net
from interpret.preprocess import model_image, to_tensor


@pytest.fixture(scope="module")
def reference_net(reference_path) -> Net:
    return load_model(reference_path, device="cpu")


def tutorial_attributions(net: Net, image_path, target: int, n_steps=50, nt_samples=100) -> dict:
    """The Captum tutorial's calls, verbatim in substance (one image, zero baseline)."""
    inputs = to_tensor(model_image(image_path))
    inputs.requires_grad = True
    net.zero_grad()
    saliency = Saliency(net).attribute(inputs, target=target)
    ig, ig_delta = IntegratedGradients(net).attribute(
        inputs,
        baselines=inputs * 0,
        target=target,
        n_steps=n_steps,
        return_convergence_delta=True,
    )
    torch.manual_seed(0)
    nt = NoiseTunnel(IntegratedGradients(net)).attribute(
        inputs,
        baselines=inputs * 0,
        target=target,
        nt_type="smoothgrad_sq",
        nt_samples=nt_samples,
        stdevs=0.2,
        n_steps=n_steps,
    )
    dl, dl_delta = DeepLift(net).attribute(
        inputs, baselines=inputs * 0, target=target, return_convergence_delta=True
    )
    return {
        "saliency": (saliency, None),
        "integrated_gradients": (ig, ig_delta),
        "ig_smoothgrad_sq": (nt, None),
        "deeplift": (dl, dl_delta),
    }


def assert_relative(actual: np.ndarray, expected: torch.Tensor, tolerance: float = 1e-5) -> None:
    expected = expected.detach().squeeze(0).numpy()
    error = np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-12)
    assert error <= tolerance, f"relative max error {error:.2e}"


def test_tutorial_predictions_for_test_images_0_to_3(reference_net: Net) -> None:
    results = explain_batch(reference_net, [example(i) for i in range(4)], "saliency")
    assert [r.predicted_class for r in results] == ["cat", "ship", "ship", "ship"]


def test_tutorial_ig_delta_for_image_3_explained_as_airplane(reference_net: Net) -> None:
    result = explain(reference_net, example(3), "integrated_gradients", target="airplane")
    assert result.target == 0
    assert abs(result.deltas["integrated_gradients"]) == pytest.approx(0.0243, abs=5e-5)


@pytest.mark.parametrize("fast", ["1", "0"], ids=["fast-path", "plain-captum"])
def test_all_four_methods_equal_direct_captum_calls(
    reference_net: Net, fast: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERPRET_FAST", fast)
    result = explain(reference_net, example(3), target=0)
    expected = tutorial_attributions(reference_net, example(3), target=0)
    for key, (attribution, delta) in expected.items():
        assert result.attributions[key].dtype == np.float32
        assert result.attributions[key].shape == (3, 32, 32)
        assert_relative(result.attributions[key], attribution)
        if delta is not None:
            assert result.deltas[key] == pytest.approx(float(delta), rel=1e-4, abs=1e-6)


def test_equality_holds_for_any_weights_and_targets(seeded_net: Net) -> None:
    result = explain(seeded_net, example(7), target="frog", n_steps=20, nt_samples=12)
    expected = tutorial_attributions(seeded_net, example(7), 6, n_steps=20, nt_samples=12)
    for key, (attribution, _) in expected.items():
        assert_relative(result.attributions[key], attribution)


def test_same_request_same_map_and_seed_changes_it(seeded_net: Net) -> None:
    first = explain(seeded_net, example(1), "ig_smoothgrad_sq", nt_samples=8)
    second = explain(seeded_net, example(1), "ig_smoothgrad_sq", nt_samples=8)
    other = explain(seeded_net, example(1), "ig_smoothgrad_sq", nt_samples=8, seed=1)
    key = "ig_smoothgrad_sq"
    assert np.array_equal(first.attributions[key], second.attributions[key])
    assert not np.allclose(first.attributions[key], other.attributions[key])


def test_batch_equals_single_calls(seeded_net: Net) -> None:
    images = [example(i) for i in (0, 5, 9)]
    batch = explain_batch(seeded_net, images, targets=[None, "dog", 2], nt_samples=6)
    for image, target, result in zip(images, [None, "dog", 2], batch):
        single = explain(seeded_net, image, target=target, nt_samples=6)
        assert result.target == single.target and result.prediction == single.prediction
        for key in METHODS:
            if key in single.attributions:
                np.testing.assert_allclose(
                    result.attributions[key], single.attributions[key], rtol=1e-5, atol=1e-7
                )


def test_result_carries_everything(seeded_net: Net) -> None:
    result = explain(seeded_net, example(0), nt_samples=4)
    assert set(result.attributions) == set(result.overlays) == set(result.methods)
    assert set(result.deltas) == {"integrated_gradients", "deeplift"}
    assert set(result.timings) >= {"predict", "render", *result.methods}
    assert result.probabilities.shape == (10,)
    assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.target == result.prediction == int(np.argmax(result.probabilities))
    assert result.device == "cpu" and result.weights == "in-memory model"
    details = result.to_dict()
    assert details["params"]["nt_samples"] == 4 and details["params"]["n_steps"] == 50
    assert details["captions"]["deeplift"].endswith(f"target: {result.target_class}")
    assert len(details["top5"]) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"methods": "saliency,nope"}, "unknown method"),
        ({"methods": []}, "at least one method"),
        ({"target": 10}, "between 0 and 9"),
        ({"target": "unicorn"}, "unknown target class"),
        ({"n_steps": 0}, "n_steps must be between 1 and 500"),
        ({"n_steps": "many"}, "whole number"),
        ({"nt_samples": 2.5}, "whole number"),
        ({"stdevs": float("nan")}, "stdevs must be a number"),
        ({"stdevs": -1}, "between 0.0 and 5.0"),
        ({"n_steps": 500, "nt_samples": 500}, "exceeds the limit"),
        ({"baseline": "pink"}, "unknown baseline"),
        ({"alpha": 2}, "opacity"),
        ({"temperature": 1}, "unknown parameter"),
    ],
)
def test_bad_parameters_are_refused_clearly(seeded_net: Net, kwargs: dict, message: str) -> None:
    with pytest.raises(ParamError, match=message):
        explain(seeded_net, example(0), **kwargs)


@pytest.mark.parametrize("baseline", ["zeros", "black", "blur", "noise", "mean"])
def test_every_baseline_runs_and_ig_stays_complete(seeded_net: Net, baseline: str) -> None:
    result = explain(seeded_net, example(2), "integrated_gradients,deeplift", baseline=baseline)
    assert abs(result.deltas["integrated_gradients"]) < 0.05
    assert np.isfinite(result.attributions["deeplift"]).all()


@pytest.mark.parametrize("fill", ["flat", "halves"])
def test_fast_path_is_exact_where_max_pool_windows_tie(
    reference_net: Net, fill: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flat regions make every 2x2 pooling window tie: the fast path must route like Captum."""
    pixels = np.full((32, 32, 3), 200, dtype=np.uint8)
    if fill == "halves":
        pixels[:, :16] = 0
    keys = "integrated_gradients,ig_smoothgrad_sq"
    fast = explain(reference_net, pixels, keys, target=3, nt_samples=6)
    monkeypatch.setenv("INTERPRET_FAST", "0")
    plain = explain(reference_net, pixels, keys, target=3, nt_samples=6)
    for key in keys.split(","):
        reference = plain.attributions[key]
        error = np.abs(fast.attributions[key] - reference).max() / max(
            np.abs(reference).max(), 1e-12
        )
        assert error <= 1e-5, (key, error)


@pytest.mark.parametrize(
    ("baseline", "pooled"),
    [("zeros", True), ("black", True), ("mean", True), ("blur", False), ("noise", False)],
)
def test_fast_path_equals_exact_float64_captum_for_every_baseline(
    reference_net: Net, baseline: str, pooled: bool
) -> None:
    """Constant baselines take the after-pool1 shortcut, the others the full conv1 path.

    The reference is Captum in float64: where a max-pool or ReLU input lies within float32
    rounding of a tie, float32 code may take either branch, Captum's own included (here,
    Captum's float32 map for the mean baseline is 1.2e-5 off its float64 one; ours 1e-7).
    """
    from interpret import fast
    from interpret.baselines import make_baseline

    inputs = to_tensor(model_image(example(5)))
    references = make_baseline(baseline, inputs)
    assert fast._pools_exactly(reference_net, references) is pooled
    settings = {"n_steps": 30, "nt_samples": 12, "stdevs": 0.2}
    quick = explain(
        reference_net,
        example(5),
        "integrated_gradients,ig_smoothgrad_sq",
        6,
        baseline=baseline,
        **settings,
    )
    exact = copy.deepcopy(reference_net).double()
    ig = IntegratedGradients(exact).attribute(
        inputs.double(), baselines=references.double(), target=6, n_steps=30
    )
    torch.manual_seed(0)
    nt = NoiseTunnel(IntegratedGradients(exact)).attribute(
        inputs.double(),
        baselines=references.double(),
        target=6,
        nt_type="smoothgrad_sq",
        **settings,
    )
    assert_relative(quick.attributions["integrated_gradients"], ig.float())
    assert_relative(quick.attributions["ig_smoothgrad_sq"], nt.float())


def _doubled_output(module, args, output):
    return output * 2


def _swap_pool1(net: Net) -> None:
    net.pool1 = torch.nn.AvgPool2d(2)


def _swap_relu1(net: Net) -> None:
    net.relu1 = torch.nn.GELU()


def _pad_conv1(net: Net) -> None:
    net.conv1.padding = (1, 1)


def _hook_output(net: Net) -> None:
    net.register_forward_hook(_doubled_output)


def _hook_conv2(net: Net) -> None:
    net.conv2.register_forward_hook(_doubled_output)


def _replace_forward(net: Net) -> None:
    net.forward = lambda x: Net.forward(net, x) * 2


@pytest.mark.parametrize(
    "change",
    [_swap_pool1, _swap_relu1, _pad_conv1, _hook_output, _hook_conv2, _replace_forward],
)
def test_a_changed_net_goes_through_captum_unchanged(seeded_net: Net, change) -> None:
    """The shortcuts hard-code the tutorial's layers and skip `model(...)`: a Net whose
    layers, hooks or forward differ must get Captum's answer, not the shortcut's."""
    from interpret import fast

    net = copy.deepcopy(seeded_net)
    change(net)
    inputs = to_tensor(model_image(example(4)))
    assert fast.supports(seeded_net, inputs) and not fast.supports(net, inputs)
    result = explain(net, example(4), "integrated_gradients,ig_smoothgrad_sq", 2, nt_samples=4)
    expected = IntegratedGradients(net).attribute(inputs, baselines=inputs * 0, target=2)
    assert_relative(result.attributions["integrated_gradients"], expected)
    torch.manual_seed(0)
    noisy = NoiseTunnel(IntegratedGradients(net)).attribute(
        inputs, baselines=inputs * 0, target=2, nt_type="smoothgrad_sq", nt_samples=4, stdevs=0.2
    )
    assert_relative(result.attributions["ig_smoothgrad_sq"], noisy)


def test_a_global_hook_or_deterministic_mode_turns_the_shortcuts_off(seeded_net: Net) -> None:
    from interpret import fast

    inputs = to_tensor(model_image(example(4)))
    handle = torch.nn.modules.module.register_module_forward_hook(_doubled_output)
    try:
        assert not fast.supports(seeded_net, inputs)
    finally:
        handle.remove()
    torch.use_deterministic_algorithms(True)
    try:
        assert not fast.supports(seeded_net, inputs)
        result = explain(seeded_net, example(4), "integrated_gradients", 2, n_steps=10)
        expected = IntegratedGradients(seeded_net).attribute(inputs, target=2, n_steps=10)
        assert_relative(result.attributions["integrated_gradients"], expected)
    finally:
        torch.use_deterministic_algorithms(False)
    assert not fast.supports(seeded_net, inputs.double())
    assert fast.supports(seeded_net, inputs)


def test_noise_baseline_batch_equals_single_calls(seeded_net: Net) -> None:
    images = [example(i) for i in (1, 2)]
    batch = explain_batch(seeded_net, images, "integrated_gradients", 3, baseline="noise")
    for image, result in zip(images, batch):
        single = explain(seeded_net, image, "integrated_gradients", 3, baseline="noise")
        np.testing.assert_allclose(
            result.attributions["integrated_gradients"],
            single.attributions["integrated_gradients"],
            rtol=1e-5,
            atol=1e-7,
        )


def test_limits_follow_the_methods_that_run(seeded_net: Net) -> None:
    """The row cap is NoiseTunnel's; IG alone may take its 500 steps. A stride beyond the
    window is refused in words only when Occlusion runs (Captum would assert)."""
    result = explain(seeded_net, example(0), "integrated_gradients", n_steps=500)
    assert abs(result.deltas["integrated_gradients"]) < 0.05
    with pytest.raises(ParamError, match="exceeds the limit of 20,000"):
        explain(seeded_net, example(0), "ig_smoothgrad_sq", n_steps=500)
    with pytest.raises(ParamError, match=r"occlusion_stride \(8\) must not exceed"):
        explain(seeded_net, example(0), "occlusion", occlusion_window=4, occlusion_stride=8)
    equal = explain(seeded_net, example(0), "saliency,occlusion", occlusion_stride=4)
    assert np.isfinite(equal.attributions["occlusion"]).all()
    assert "saliency" in explain(seeded_net, example(0), "saliency", occlusion_stride=8).methods


def test_every_delta_is_the_sum_minus_what_it_should_add_up_to(seeded_net: Net) -> None:
    """One sign for the whole delta column: IG's sum minus the score's change from the
    baseline; LRP's (no baseline) sum minus the score itself."""
    result = explain(seeded_net, example(3), "lrp,integrated_gradients", 1)
    inputs = to_tensor(model_image(example(3)))
    with torch.no_grad():
        score, start = seeded_net(inputs)[0, 1].item(), seeded_net(inputs * 0)[0, 1].item()
    lrp_sum = float(result.attributions["lrp"].sum())
    ig_sum = float(result.attributions["integrated_gradients"].sum())
    assert result.deltas["lrp"] == pytest.approx(lrp_sum - score, rel=1e-4, abs=1e-5)
    assert result.deltas["integrated_gradients"] == pytest.approx(
        ig_sum - (score - start), rel=1e-3, abs=1e-5
    )
