"""Each learned feature's share of an Integrated Gradients map, and its contribution.

pool2 (16 channels x 5 x 5) carries everything the classifier head sees. Restricting the
backward pass at pool2 to one channel (`out*mask + (out*(1-mask)).detach()`) gives that
channel's share of the IG map; the 16 shares add up to the IG map, and a share's sum is the
channel's conductance taken exactly along IG's own path (Captum's `LayerConductance` on pool2
approaches it as its steps grow). One batched pass holds the 16 masks.

For many images only the sums are needed: the same numbers come from a forward-mode
derivative of pool2 along the path (`torch.func.jvp`), all channels at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
import torch.nn.functional as F
from captum.attr._utils.approximation_methods import approximation_parameters

from interpret.core.model import Net

# The rows of one jvp pass in `contributions` (path points): cache-sized on a CPU.
CONTRIBUTION_ROWS = 2000


@cache
def _nodes(n_steps: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Captum's Gauss-Legendre step sizes and alphas: IG's own path points and weights."""
    step_sizes, alphas = approximation_parameters("gausslegendre")
    return tuple(step_sizes(n_steps)), tuple(alphas(n_steps))


def path(
    inputs: torch.Tensor, baselines: torch.Tensor, n_steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(points, weights): IG's path points for each image (image-major, n_steps rows each)
    and the step weights, in the inputs' dtype."""
    steps, alphas = _nodes(n_steps)
    alpha = torch.tensor(alphas, dtype=inputs.dtype, device=inputs.device).view(1, -1, 1, 1, 1)
    weight = torch.tensor(steps, dtype=inputs.dtype, device=inputs.device)
    points = baselines.unsqueeze(1) + alpha * (inputs - baselines).unsqueeze(1)
    return points.reshape(-1, *inputs.shape[1:]), weight


def _conv1_path(
    model: Net, inputs: torch.Tensor, baselines: torch.Tensor, n_steps: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(points, direction, weights) of IG's path after conv1: conv1 is affine, so conv1 of a
    path point is conv1(baseline) + alpha * (conv1(input) - conv1(baseline)), and the path's
    direction there is their difference. Computed once per image rather than per point."""
    with torch.no_grad():
        ends = model.conv1(torch.cat([inputs, baselines]))
    at_input, at_baseline = ends[: len(inputs)], ends[len(inputs) :]
    points, weights = path(at_input, at_baseline, n_steps)
    return points, (at_input - at_baseline).repeat_interleave(n_steps, dim=0), weights


@dataclass(frozen=True)
class Shares:
    """One image's IG map split by pool2 channel: `maps[c]` is channel c's share (C x 3 x H x
    W, summing to the IG map), `contributions[c]` its sum; `at_input` and `at_baseline` are the
    explained output (a logit or a logit difference) at the two ends of the path."""

    maps: torch.Tensor
    contributions: torch.Tensor
    at_input: float
    at_baseline: float

    @property
    def total(self) -> float:
        return float(self.contributions.double().sum())

    @property
    def delta(self) -> float:
        """Sum of the contributions minus F(x) - F(baseline): IG's completeness error."""
        return self.total - (self.at_input - self.at_baseline)


def channel_shares(
    model: Net, inputs: torch.Tensor, baselines: torch.Tensor, target: int, n_steps: int
) -> Shares:
    """Channel shares of IG(model, inputs, baselines, target, n_steps) for one image
    (1 x 3 x H x W), in the model's dtype: one backward pass over 16 masked copies of the
    path, from conv1's output on (its input gradient is conv1's transpose, applied once per
    channel to the step-weighted sum)."""
    points, _, weights = _conv1_path(model, inputs, baselines, n_steps)
    channels = model.conv2.out_channels
    rows = points.repeat(channels, 1, 1, 1).detach().requires_grad_(True)
    eye = torch.eye(channels, dtype=points.dtype, device=points.device)
    mask = eye.repeat_interleave(n_steps, dim=0).view(-1, channels, 1, 1)
    with torch.enable_grad():
        features = model.features_after_conv1(rows)
        restricted = features * mask + (features * (1 - mask)).detach()
        chosen = model.head(restricted)[:, target].sum()
        (gradients,) = torch.autograd.grad(chosen, rows)
    weighted = gradients.view(channels, n_steps, *points.shape[1:]) * weights.view(1, -1, 1, 1, 1)
    to_input = torch.nn.grad.conv2d_input(
        (channels, *inputs.shape[1:]), model.conv1.weight.detach(), weighted.sum(dim=1)
    )
    maps = to_input * (inputs - baselines)
    with torch.no_grad():
        ends = model(torch.cat([inputs, baselines]))[:, target]
    return Shares(maps, maps.sum(dim=(1, 2, 3)), float(ends[0]), float(ends[1]))


@torch.no_grad()
def _features_and_rate(
    model: Net, points: torch.Tensor, direction: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """pool2's output at conv1-output `points` and its derivative along `direction`: forward
    mode by hand through `Net.features_after_conv1` (piecewise linear: ReLU passes the
    tangent where its input is > 0, a max-pool where its first maximum is, as their backward
    passes route gradients). Unlike `torch.func.jvp`, safe on several threads at once."""
    pool1, pool2 = model.pool1, model.pool2

    def pooled(
        values: torch.Tensor, tangent: torch.Tensor, pool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out, where = F.max_pool2d(
            values, pool.kernel_size, pool.stride, pool.padding, pool.dilation,
            ceil_mode=pool.ceil_mode, return_indices=True,
        )  # fmt: skip
        picked = tangent.flatten(2).gather(2, where.flatten(2)).view_as(out)
        return out, picked

    active = points > 0
    hidden, tangent = pooled(model.relu1(points), direction * active, pool1)
    convolved = model.conv2(hidden)
    tangent = F.conv2d(tangent, model.conv2.weight, None, model.conv2.stride, model.conv2.padding)
    active = convolved > 0
    return pooled(model.relu2(convolved), tangent * active, pool2)


def contributions(
    model: Net,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    targets: torch.Tensor,
    n_steps: int,
    rows: int = CONTRIBUTION_ROWS,
) -> torch.Tensor:
    """Every pool2 channel's contribution to IG's total for each image (N x C): the sums of
    `channel_shares`' maps, from pool2's derivative along the path (forward mode, after
    conv1), in batches of about `rows` path points."""
    per_pass = max(1, rows // n_steps)
    out = []
    for start in range(0, len(inputs), per_pass):
        x = inputs[start : start + per_pass]
        points, direction, weights = _conv1_path(
            model, x, baselines[start : start + per_pass], n_steps
        )
        features, rate = _features_and_rate(model, points, direction)
        features = features.requires_grad_(True)
        chosen = targets[start : start + per_pass].repeat_interleave(n_steps)
        with torch.enable_grad():
            logits = model.head(features)
            (gradient,) = torch.autograd.grad(logits.gather(1, chosen.view(-1, 1)).sum(), features)
        per_point = (gradient * rate).sum(dim=(2, 3)).view(len(x), n_steps, -1)
        out.append((per_point * weights.view(1, -1, 1)).sum(dim=1))
    channels = model.conv2.out_channels
    return torch.cat(out) if out else inputs.new_zeros((0, channels))
