"""The float64 reference for the learned features' shares of an IG map.

Computed the direct way, independent of `interpret.concepts.shares`' shortcuts: each channel
in its own backward pass, from the input (no conv1 path), the restriction made by a forward
hook on the model's pool2 module (`out*mask + (out*(1-mask)).detach()`), in float64, then
Captum's own step weights. A float32 share must equal it to rounding, or, where near-tie path
points flipped (the verdict on the shares' sum says how many), within what the flips explain.
"""

from __future__ import annotations

import copy

import torch
from captum.attr._utils.approximation_methods import approximation_parameters

from interpret.core.model import Net
from interpret.testing.exactness import ROUNDING, Verdict


def reference_shares(
    model: Net, inputs: torch.Tensor, baselines: torch.Tensor, target: int, n_steps: int
) -> torch.Tensor:
    """C x 3 x H x W float64 shares of IG(model, inputs, baselines, target) for one image."""
    net = copy.deepcopy(model).double().cpu()
    x, x0 = inputs.double().cpu(), baselines.double().cpu()
    step_sizes, alphas = approximation_parameters("gausslegendre")
    weights = torch.tensor(step_sizes(n_steps), dtype=torch.float64)
    alpha = torch.tensor(alphas(n_steps), dtype=torch.float64).view(-1, 1, 1, 1)
    points = (x0 + alpha * (x - x0)).requires_grad_(True)
    shares = []
    for channel in range(net.conv2.out_channels):
        mask = torch.zeros(1, net.conv2.out_channels, 1, 1, dtype=torch.float64)
        mask[0, channel] = 1

        def restrict(module, args, out, mask=mask):
            return out * mask + (out * (1 - mask)).detach()

        handle = net.pool2.register_forward_hook(restrict)
        try:
            (gradient,) = torch.autograd.grad(net(points)[:, target].sum(), points)
        finally:
            handle.remove()
        shares.append((gradient * weights.view(-1, 1, 1, 1)).sum(dim=0) * (x - x0)[0])
    return torch.stack(shares)


def share_error(shares: torch.Tensor, reference: torch.Tensor) -> float:
    """max |share - reference| over every channel, relative to the largest |IG map| value."""
    scale = reference.sum(dim=0).abs().max()
    return float((shares.double().cpu() - reference).abs().max() / scale)


def share_bound(map_verdict: Verdict) -> float:
    """How far a float32 share may be from its float64 reference, given the verdict on the
    shares' sum (the IG map): ROUNDING, or, where near-tie path points took the other branch,
    the map's own distance before those flips, plus ROUNDING: a flipped pool2 window moves its
    channel's share exactly as much as the map, and a flip before pool2 spreads the same change."""
    if not map_verdict.holds:
        return 0.0
    return map_verdict.error + ROUNDING if map_verdict.flipped_points else ROUNDING
