"""The tutorial's numbers, batches, settings and the fast path's dispatch.

Exactness against the float64 answer (the contract every float32 map keeps, on any CPU) is
tests/interpret/testing/test_exactness.py; here a map is compared with Captum's float32 call
only where both run the very same computation in this process (a Net the shortcuts do not apply to).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, NoiseTunnel
from conftest import example
from contract import assert_keeps_contract, relative_error

from interpret import METHODS, ParamError, explain, explain_batch
from interpret.core.model import Net
from interpret.core.preprocess import model_image, to_tensor
from interpret.explain import render_overlays
from interpret.testing.exactness import PATH_METHODS, ROUNDING


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


def test_same_request_same_map_and_seed_changes_it(seeded_net: Net) -> None:
    first = explain(seeded_net, example(1), "ig_smoothgrad_sq", nt_samples=8)
    second = explain(seeded_net, example(1), "ig_smoothgrad_sq", nt_samples=8)
    other = explain(seeded_net, example(1), "ig_smoothgrad_sq", nt_samples=8, seed=1)
    key = "ig_smoothgrad_sq"
    assert np.array_equal(first.attributions[key], second.attributions[key])
    assert not np.allclose(first.attributions[key], other.attributions[key])


def test_batch_equals_single_calls(shipped_net: Net) -> None:
    """Each image of a batch gets its single call's maps: the path maps keep the contract
    against the exact answer to the single request (a batch runs other float32 kernels, so
    near ties may flip otherwise), the others agree to float32 rounding."""
    images = [example(i) for i in (0, 5, 9)]
    batch = explain_batch(shipped_net, images, targets=[None, "dog", 2], nt_samples=6)
    for image, target, result in zip(images, [None, "dog", 2], batch):
        single = explain(shipped_net, image, target=target, nt_samples=6)
        assert result.target == single.target and result.prediction == single.prediction
        assert_keeps_contract(shipped_net, image, result)
        for key in set(single.attributions) - set(PATH_METHODS):
            error = relative_error(result.attributions[key], single.attributions[key])
            assert error <= ROUNDING, (key, error)


def test_overlays_drawn_later_are_the_ones_explain_draws(seeded_net: Net) -> None:
    drawn = explain(seeded_net, example(0), nt_samples=4, alpha=0.3)
    bare = explain(seeded_net, example(0), nt_samples=4, overlays=False)
    assert bare.overlays == {}
    later = render_overlays(bare, 0.3)
    assert later is bare and set(later.overlays) == set(drawn.methods)
    for key, picture in drawn.overlays.items():
        assert np.array_equal(np.asarray(later.overlays[key]), np.asarray(picture)), key


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


@pytest.mark.parametrize(
    ("baseline", "pooled"),
    [("zeros", True), ("black", True), ("mean", True), ("blur", False), ("noise", False)],
)
def test_constant_baselines_take_the_after_pool1_shortcut(
    shipped_net: Net, baseline: str, pooled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conv1(baseline) is constant in every pooling window exactly when the baseline is a
    constant image; the shortcut then runs the path on 4x smaller activations, so its CPU
    passes hold twice the rows (POOLED_ROWS_PER_CHUNK): 10 noisy copies at 50 steps take one
    pass instead of two. The maps of both branches are held to the contract in
    test_exactness."""
    from interpret.attribution import fast

    passes = []

    def counted(function, items, device):
        items = list(items)
        passes.append(len(items))
        return [function(item) for item in items]

    monkeypatch.setattr(fast, "map_in_order", counted)
    explain(shipped_net, example(5), "ig_smoothgrad_sq", baseline=baseline, nt_samples=10)
    rows = fast.POOLED_ROWS_PER_CHUNK if pooled else fast.ROWS_PER_CHUNK
    assert passes == [math.ceil(10 / (rows // 50))] == [1 if pooled else 2]


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
    from interpret.attribution import fast

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
    from interpret.attribution import fast

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


@pytest.mark.parametrize("key", list(METHODS))
def test_no_method_hooks_the_shared_model(seeded_net: Net, key: str) -> None:
    """Captum hooks the modules of the model some methods run on. On the app's one model,
    another thread's pass through it (a /features request during an explanation) would fire
    them: both answers wrong, or a shape error. Those methods hook a private copy instead."""
    shared = set(seeded_net.modules())
    hooked = {"shared": 0, "copy": 0}

    def look(module: torch.nn.Module, args: tuple) -> None:
        if module._forward_hooks or module._forward_pre_hooks or module._backward_hooks:
            hooked["shared" if module in shared else "copy"] += 1

    handle = torch.nn.modules.module.register_module_forward_pre_hook(look)
    try:
        explain(seeded_net, example(4), key, 2, n_steps=4, nt_samples=2, shap_samples=2)
    finally:
        handle.remove()
    assert hooked["shared"] == 0
    assert (hooked["copy"] > 0) == METHODS[key].hooks_the_model  # the flag says what Captum does


def test_noise_baseline_batch_equals_single_calls(shipped_net: Net) -> None:
    """One noise draw serves every image of a batch, as it serves a single call."""
    images = [example(i) for i in (1, 2)]
    batch = explain_batch(shipped_net, images, "integrated_gradients", 3, baseline="noise")
    for image, result in zip(images, batch):
        assert_keeps_contract(shipped_net, image, result)


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
