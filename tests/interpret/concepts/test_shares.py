"""The learned features' shares of an IG map, held against exact answers.

- The 16 shares add up to the IG map under the exactness contract (the float64 map, its
  near-tie points, ROUNDING), and each share equals the toolkit's float64 reference (a direct
  computation: one hooked backward pass per channel) to ROUNDING.
- A share's sum is its channel's contribution; the contributions add up to IG's total, and
  agree with Captum's LayerConductance on pool2 within its Riemann error (50 and 500 steps).
- A contrastive target decomposes the logit difference the same way.
- Planted defects fail: a mask on the wrong channel, a share 0.1 % off.

CI runs this file again under oneDNN's SSE4.1 and AVX2 kernels and with one thread.
"""

from __future__ import annotations

import pytest
import torch
from captum.attr import LayerConductance
from conftest import example
from contract import inputs_of, verdict

from interpret.concepts import channel_shares, contributions, features
from interpret.core.model import CLASSES, Net, contrastive_net
from interpret.testing.exactness import ROUNDING
from interpret.testing.feature_shares import reference_shares, share_bound, share_error

AIRPLANE = CLASSES.index("airplane")


def assert_shares_exact(net: Net, index: int, target: int, n_steps: int = 50) -> None:
    inputs = inputs_of(example(index))
    shares = channel_shares(net, inputs, inputs * 0, target, n_steps)
    summed = verdict(
        net, example(index), "integrated_gradients", target, shares.maps.sum(dim=0), n_steps=n_steps
    )
    assert summed.holds, summed.describe()
    reference = reference_shares(net, inputs, inputs * 0, target, n_steps)
    assert share_error(shares.maps, reference) <= share_bound(summed), summed.describe()


@pytest.mark.parametrize(("index", "target"), [(3, AIRPLANE), (3, None), (7, None), (11, 2)])
def test_the_shares_add_up_to_the_ig_map_and_each_is_exact(
    shipped_net: Net, index: int, target: int | None
) -> None:
    if target is None:
        target = int(shipped_net(inputs_of(example(index))).argmax())
    assert_shares_exact(shipped_net, index, target)


def test_on_the_tutorials_checkpoint(reference_net: Net) -> None:
    assert_shares_exact(reference_net, 3, AIRPLANE)


def test_the_contributions_are_the_shares_sums_and_add_up_to_the_total(shipped_net: Net) -> None:
    result = features(shipped_net, example(3), "airplane")
    shares = result.shares
    assert torch.allclose(shares.contributions, shares.maps.sum(dim=(1, 2, 3)))
    ig_total = float(shares.maps.sum())
    assert abs(result.to_dict()["total"] - ig_total) <= ROUNDING * shares.maps.abs().sum()
    # Completeness: the total is F(x) - F(baseline) up to IG's own (reported) error.
    described = result.to_dict()
    assert described["delta"] == pytest.approx(described["total"] - described["output_difference"])
    assert abs(described["delta"]) < 0.1 * abs(described["output_difference"])
    # Many images at once (forward mode along the path): the same sums, to rounding.
    inputs = torch.cat([inputs_of(example(i)) for i in (3, 4, 5)])
    targets = torch.tensor([AIRPLANE, 1, 6])
    batched = contributions(shipped_net, inputs, inputs * 0, targets, 50)
    for row, (index, target) in enumerate(zip((3, 4, 5), targets.tolist())):
        single = channel_shares(shipped_net, inputs_of(example(index)), inputs[:1] * 0, target, 50)
        scale = single.maps.abs().sum()
        assert float((batched[row] - single.contributions).abs().max()) <= ROUNDING * scale


@pytest.mark.parametrize(("n_steps", "bound"), [(50, 0.05), (500, 0.005)])
def test_the_contributions_are_captums_layer_conductance_within_its_riemann_error(
    reference_net: Net, n_steps: int, bound: float
) -> None:
    """LayerConductance sums pool2's gradient times its change between neighbouring path
    points (a Riemann sum); the shares take the exact derivative at IG's own points."""
    inputs = inputs_of(example(3))
    shares = channel_shares(reference_net, inputs, inputs * 0, AIRPLANE, n_steps)
    conductance = LayerConductance(reference_net, reference_net.pool2).attribute(
        inputs, baselines=inputs * 0, target=AIRPLANE, n_steps=n_steps
    )
    difference = float((conductance.detach().sum(dim=(2, 3))[0] - shares.contributions).abs().max())
    assert difference <= bound


def test_a_contrast_decomposes_the_logit_difference(shipped_net: Net) -> None:
    result = features(shipped_net, example(3), "airplane", "ship")
    logits = shipped_net(inputs_of(example(3)))[0]
    at_baseline = shipped_net(inputs_of(example(3)) * 0)[0]
    described = result.to_dict()
    assert described["explained"] == "logit[airplane] - logit[ship]"
    expected = float((logits[0] - logits[8]) - (at_baseline[0] - at_baseline[8]))
    assert described["output_difference"] == pytest.approx(expected, abs=1e-5)
    contrast = contrastive_net(shipped_net, AIRPLANE, CLASSES.index("ship"))
    found = verdict(contrast, example(3), "integrated_gradients", 0, result.shares.maps.sum(dim=0))
    assert found.holds, found.describe()


def test_one_batched_pass_holds_all_sixteen_masks(shipped_net: Net, monkeypatch) -> None:
    calls: list[int] = []
    original = Net.features_after_conv1

    def counted(self, x):
        calls.append(len(x))
        return original(self, x)

    monkeypatch.setattr(Net, "features_after_conv1", counted)
    inputs = inputs_of(example(3))
    channel_shares(shipped_net, inputs, inputs * 0, AIRPLANE, 50)
    assert calls == [16 * 50, 2]  # the masked path, then F at its two ends


# ------------------------------------------------------------------ planted defects


def test_planted_defects_fail(shipped_net: Net) -> None:
    """On an image whose float64 map has few near ties (5): the honest shares pass first."""
    inputs = inputs_of(example(5))
    honest = channel_shares(shipped_net, inputs, inputs * 0, 6, 50)
    reference = reference_shares(shipped_net, inputs, inputs * 0, 6, 50)
    summed = verdict(shipped_net, example(5), "integrated_gradients", 6, honest.maps.sum(dim=0))
    bound = share_bound(summed)
    assert share_error(honest.maps, reference) <= bound
    wrong_channel = honest.maps[[1, 0, *range(2, 16)]]  # channel 0's mask on channel 1
    assert share_error(wrong_channel, reference) > bound
    off = honest.maps.clone()
    off[int(honest.contributions.abs().argmax())] *= 1.001  # 0.1 % off in the largest share
    assert share_error(off, reference) > bound
