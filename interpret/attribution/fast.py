"""Exact shortcuts for Integrated Gradients on the tutorial's `Net`.

The first layer, conv1, is linear. Along IG's path b + a(x - b):
    conv1(b + a(x - b)) = conv1(b) + a * W*(x - b)
so all n_steps points share one conv1 forward, and because the gradient back through conv1
is linear too, the weighted sum of the step gradients can be taken at conv1's output and
sent back through one transposed convolution. Same Gauss-Legendre steps and weights as
Captum, same noise draws as Captum's NoiseTunnel: the numbers agree with Captum to float
rounding (tests hold them to 1e-5 relative, against float32 and float64 Captum). Where a
max-pool or ReLU input lies within rounding of a tie, float32 code may take either branch,
Captum's included: `scripts/bench.py --float64` measures both against the exact answer.
Anything else goes through Captum unchanged.

When conv1(baseline) is constant within every 2x2 pooling window (a zeros, black or mean
baseline), the path stays linear through pool1 too: for a > 0,
    maxpool(s + a * d) = s + a * maxpool(d)
with the window's winner fixed along the whole path, so the steps start after pool1 on 4x
fewer values and the weighted gradient goes back through one max-unpool. Float rounding is
monotonic, so the pooled values are bit-for-bit those of the unpooled path (only a window
whose values rounding makes equal may name a different winner).
"""

from __future__ import annotations

from functools import cache

import torch
import torch.nn.functional as F
from captum.attr._utils.approximation_methods import approximation_parameters
from torch import nn
from torch.nn.modules.utils import _pair

from interpret.attribution.ties import EXACT_TIE, NEAR_TIE, UNIT_ROUNDOFF, windows
from interpret.core.model import Net
from interpret.core.workers import map_in_order

# Rows (noise samples x steps) per pass on a CPU: 250 rows of 6x28x28 activations (4.7 MB),
# or 500 of 6x14x14 after pool1, stay in cache; Captum's single 5,000-row batch does not.
ROWS_PER_CHUNK = 250
POOLED_ROWS_PER_CHUNK = 500
# On an accelerator, one pass should fill it: ~30 KB of activations per row, 2 GB a pass.
ACCELERATOR_ROWS_PER_PASS = 65536


def supports(model: nn.Module, inputs: torch.Tensor) -> bool:
    """Only the tutorial's `Net` as it is built, in float32: the shortcuts hard-code its conv1,
    its 2x2 max-pools and ReLUs, and skip `model(...)`, hence any hook or replaced forward.
    Deterministic mode goes to Captum too (max-unpool has no deterministic kernel)."""
    return (
        type(model) is Net
        and inputs.dtype == torch.float32
        and all(p.dtype == torch.float32 for p in model.parameters())
        and not torch.are_deterministic_algorithms_enabled()
        and _plain_conv1(model.conv1)
        and all(_halving_max_pool(pool) for pool in (model.pool1, model.pool2))
        and all(type(relu) is nn.ReLU for relu in (model.relu1, model.relu2))
        and not {"forward", "after_conv1"} & vars(model).keys()
        and not _hooked(model)
    )


def _plain_conv1(conv: nn.Module) -> bool:
    return (
        type(conv) is nn.Conv2d
        and conv.stride == (1, 1)
        and conv.padding == (0, 0)
        and conv.dilation == (1, 1)
        and conv.groups == 1
    )


def _halving_max_pool(pool: nn.Module) -> bool:
    return (
        type(pool) is nn.MaxPool2d
        and _pair(pool.kernel_size) == (2, 2)
        and _pair(pool.stride) == (2, 2)
        and _pair(pool.padding) == (0, 0)
        and _pair(pool.dilation) == (1, 1)
        and not pool.ceil_mode
        and not pool.return_indices
    )


def _hooked(model: nn.Module) -> bool:
    """Any forward or backward hook, on a module of the model or global."""
    hook_tables = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    registry = torch.nn.modules.module
    if any(getattr(registry, "_global" + table, None) for table in hook_tables):
        return True
    return any(getattr(module, table) for module in model.modules() for table in hook_tables)


@cache
def _gauss_legendre_nodes(n_steps: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Captum's step sizes and alphas (numpy root finding: worth computing once per n_steps)."""
    step_sizes_func, alphas_func = approximation_parameters("gausslegendre")
    return tuple(step_sizes_func(n_steps)), tuple(alphas_func(n_steps))


def _gauss_legendre(n_steps: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    steps, alphas = _gauss_legendre_nodes(n_steps)
    return (
        torch.tensor(steps, dtype=torch.float32, device=device),
        torch.tensor(alphas, dtype=torch.float32, device=device),
    )


def _after_pool1(model: Net, x: torch.Tensor) -> torch.Tensor:
    """`Net.after_conv1` from pool1's output on, max-pool before ReLU (see below)."""
    x = model.relu2(model.pool2(model.conv2(model.relu1(x))))
    x = torch.flatten(x, 1)
    x = model.relu3(model.fc1(x))
    x = model.relu4(model.fc2(x))
    return model.fc3(x)


def _after_conv1_pooling_first(model: Net, x: torch.Tensor) -> torch.Tensor:
    """`Net.after_conv1` with each max-pool before its ReLU: 4x fewer ReLU elements.

    Exact in value and gradient: ReLU is monotonic, so max(relu(z)) = relu(max(z)); where the
    window's maximum is positive both orders route the gradient to the same (first) maximum,
    and where it is not, ReLU's zero gradient removes it in both.
    """
    return _after_pool1(model, model.pool1(x))


def _target_gradient(
    model: Net, forward, points: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """d logit[target] / d points, one target per row, through `forward(model, points)`."""
    points = points.requires_grad_(True)
    with torch.enable_grad():
        chosen = forward(model, points).gather(1, targets.view(-1, 1)).sum()
        (gradients,) = torch.autograd.grad(chosen, points)
    return gradients


def _pools_exactly(model: Net, baselines: torch.Tensor) -> bool:
    """Is conv1(baseline) constant within every 2x2 pooling window (bit for bit), for every
    baseline? Then the pooled shortcut applies to every pass."""
    start = F.conv2d(baselines, model.conv1.weight, model.conv1.bias)
    pooled = start[..., ::2, ::2]
    return torch.equal(start, pooled.repeat_interleave(2, -2).repeat_interleave(2, -1))


def _rows_per_pass(pooled: bool, device: torch.device, n_steps: int) -> int:
    """Inputs (images or noise samples) per pass: cache-sized on a CPU, large on a GPU."""
    if device.type != "cpu":
        rows = ACCELERATOR_ROWS_PER_PASS if pooled else ACCELERATOR_ROWS_PER_PASS // 4
    else:
        rows = POOLED_ROWS_PER_CHUNK if pooled else ROWS_PER_CHUNK
    return max(1, rows // n_steps)


def _exact_winners(
    weight: torch.Tensor, inputs: torch.Tensor, baselines: torch.Tensor, direction: torch.Tensor
) -> torch.Tensor:
    """Each 2x2 window's winner of `direction` = conv1(x - b), as float64 decides it.

    A winner holds for every step of the path, so a window whose two largest values lie
    within float32 rounding of each other would send all of them down one branch that the
    exact answer may not take, by the luck of this machine's rounding. Those windows (a few
    per image) are decided again in float64: their four values from the exact x - b.
    """
    _, winners = F.max_pool2d_with_indices(direction, 2)
    top = windows(direction).topk(2, dim=-1).values
    scale = windows(F.conv2d((inputs - baselines).abs(), weight.abs())).amax(-1)
    unsure = top[..., 0] - top[..., 1] <= NEAR_TIE["pool1"] * UNIT_ROUNDOFF * scale
    if not unsure.any():
        return winners
    rows, channels, i, j = unsure.nonzero(as_tuple=True)
    exact = inputs[rows].double() - baselines[rows].double()
    exact = exact.unfold(2, 5, 1).unfold(3, 5, 1)  # K x 3 x 28 x 28 x 5 x 5
    kernels = weight.double()[channels]  # K x 3 x 5 x 5
    unsure_windows = torch.arange(len(rows), device=direction.device)
    values = torch.stack(
        [
            (exact[unsure_windows, :, 2 * i + p // 2, 2 * j + p % 2] * kernels).sum((1, 2, 3))
            for p in range(4)
        ],
        dim=1,
    )
    # The first maximum, as max-pooling takes it; float64 rounding cannot split a tie.
    tolerance = scale[rows, channels, i, j].double() * EXACT_TIE
    position = (values >= values.amax(1, keepdim=True) - tolerance.unsqueeze(1)).to(torch.int8)
    position = position.argmax(dim=1)
    width = direction.shape[-1]
    winners[rows, channels, i, j] = (2 * i + position // 2) * width + 2 * j + position % 2
    return winners


def _weighted_path_gradients(
    model: Net,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    targets: torch.Tensor,
    steps: torch.Tensor,
    alphas: torch.Tensor,
    pooled: bool,
) -> torch.Tensor:
    """sum_i w_i * dF_t/dx at b + a_i(x - b), for each row of `inputs` (N x 3 x H x W).

    `pooled`: conv1(baselines) is constant in each pooling window (`_pools_exactly`)."""
    weight, bias = model.conv1.weight, model.conv1.bias
    start = F.conv2d(baselines, weight, bias)  # N x C x h x w
    direction = F.conv2d(inputs - baselines, weight)  # no bias: the linear part only
    conv1_size = direction.shape[-2:]
    if pooled:  # Gauss-Legendre alphas are > 0: each window's winner is that of `direction`
        winners = _exact_winners(weight, inputs, baselines, direction)
        direction = direction.flatten(2).gather(2, winners.flatten(2)).view_as(winners)
        start = start[..., ::2, ::2]
    n_rows, n_steps = inputs.shape[0], alphas.shape[0]
    path = start.unsqueeze(1) + alphas.view(1, -1, 1, 1, 1) * direction.unsqueeze(1)
    gradients = _target_gradient(
        model,
        _after_pool1 if pooled else _after_conv1_pooling_first,
        path.reshape(n_rows * n_steps, *start.shape[1:]),
        targets.repeat_interleave(n_steps),
    )
    # Weighted sum over the steps as one matrix product per row (no n_steps-sized temporary).
    summed = torch.matmul(steps, gradients.reshape(n_rows, n_steps, -1)).view_as(direction)
    if pooled:
        summed = F.max_unpool2d(summed, winners, 2, output_size=conv1_size)
    return F.conv_transpose2d(summed, weight)


def integrated_gradients(
    model: Net,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    targets: torch.Tensor,
    n_steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Captum's IntegratedGradients (Gauss-Legendre) attributions and convergence deltas."""
    steps, alphas = _gauss_legendre(n_steps, inputs.device)
    pooled = _pools_exactly(model, baselines)
    per_pass = _rows_per_pass(pooled, inputs.device, n_steps)

    def weighted_gradients(first: int) -> torch.Tensor:
        rows = slice(first, first + per_pass)
        return _weighted_path_gradients(
            model, inputs[rows], baselines[rows], targets[rows], steps, alphas, pooled
        )

    passes = map_in_order(weighted_gradients, range(0, inputs.shape[0], per_pass), inputs.device)
    attributions = torch.cat(passes) * (inputs - baselines)
    with torch.no_grad():
        ends = model(torch.cat([inputs, baselines]))
    rows = torch.arange(inputs.shape[0], device=inputs.device)
    end, start = ends[: len(rows)][rows, targets], ends[len(rows) :][rows, targets]
    deltas = attributions.flatten(1).sum(dim=1) - (end - start)
    return attributions, deltas


def _noisy_copies(image: torch.Tensor, nt_samples: int, stdevs: float, seed: int) -> torch.Tensor:
    """Captum's NoiseTunnel draw for one image: reseeded, one `torch.normal` over all samples."""
    torch.manual_seed(seed)
    scale = torch.tensor(stdevs, device=image.device).repeat((nt_samples, *image.shape))
    return image.unsqueeze(0) + torch.normal(0, scale)


def ig_smoothgrad_sq(
    model: Net,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    targets: torch.Tensor,
    n_steps: int,
    nt_samples: int,
    stdevs: float,
    seed: int,
) -> torch.Tensor:
    """NoiseTunnel(IG, smoothgrad_sq) with the tutorial's noise: reseeded per image.

    Each image's noise is drawn as Captum draws it for that image alone, so image i of a
    batch gets the same map as a single call; the noisy copies of all images then share
    passes (one pass holds many images on a GPU).
    """
    steps, alphas = _gauss_legendre(n_steps, inputs.device)
    noisy = torch.cat([_noisy_copies(image, nt_samples, stdevs, seed) for image in inputs])
    owners = torch.arange(inputs.shape[0], device=inputs.device).repeat_interleave(nt_samples)
    pooled = _pools_exactly(model, baselines)
    per_pass = _rows_per_pass(pooled, inputs.device, n_steps)

    def squared_attributions(first: int) -> torch.Tensor:
        rows = owners[first : first + per_pass]
        chunk, base = noisy[first : first + per_pass], baselines[rows]
        grads = _weighted_path_gradients(model, chunk, base, targets[rows], steps, alphas, pooled)
        return (grads * (chunk - base)) ** 2

    firsts = range(0, noisy.shape[0], per_pass)
    squares = torch.cat(map_in_order(squared_attributions, firsts, inputs.device))
    # A plain reduction per image, not atomic adds: the same request gives the same bits on
    # a GPU too.
    return squares.view(inputs.shape[0], nt_samples, *inputs.shape[1:]).sum(dim=1) / nt_samples
