"""Exact shortcuts for Integrated Gradients on the tutorial's `Net`.

The first layer, conv1, is linear. Along IG's path b + a(x - b):
    conv1(b + a(x - b)) = conv1(b) + a * W*(x - b)
so all n_steps points share one conv1 forward, and because the gradient back through conv1
is linear too, the weighted sum of the step gradients can be taken at conv1's output and
sent back through one transposed convolution. Same Gauss-Legendre steps and weights as
Captum, same noise draws as Captum's NoiseTunnel: the numbers agree with Captum to float
rounding (tests hold them to 1e-5 relative). Anything else goes through Captum unchanged.
"""

from __future__ import annotations

from functools import cache

import torch
import torch.nn.functional as F
from captum.attr._utils.approximation_methods import approximation_parameters

from .model import Net

# Rows (noise samples x steps) per pass: 250 rows of 6x28x28 activations (4.7 MB) stay in
# cache; Captum's single 5,000-row batch does not.
ROWS_PER_CHUNK = 250


def supports(model: torch.nn.Module) -> bool:
    """Only the exact tutorial architecture: a subclass may change what forward computes."""
    return type(model) is Net


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


def _after_conv1_pooling_first(model: Net, x: torch.Tensor) -> torch.Tensor:
    """`Net.after_conv1` with each max-pool before its ReLU: 4x fewer ReLU elements.

    Exact in value and gradient: ReLU is monotonic, so max(relu(z)) = relu(max(z)); where the
    window's maximum is positive both orders route the gradient to the same (first) maximum,
    and where it is not, ReLU's zero gradient removes it in both.
    """
    x = model.relu1(model.pool1(x))
    x = model.relu2(model.pool2(model.conv2(x)))
    x = torch.flatten(x, 1)
    x = model.relu3(model.fc1(x))
    x = model.relu4(model.fc2(x))
    return model.fc3(x)


def _weighted_path_gradients(
    model: Net,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    targets: torch.Tensor,
    steps: torch.Tensor,
    alphas: torch.Tensor,
) -> torch.Tensor:
    """sum_i w_i * dF_t/dx at b + a_i(x - b), for each row of `inputs` (N x 3 x H x W)."""
    weight, bias = model.conv1.weight, model.conv1.bias
    start = F.conv2d(baselines, weight, bias)  # N x C x h x w
    direction = F.conv2d(inputs - baselines, weight)  # no bias: the linear part only
    n_rows, n_steps = inputs.shape[0], alphas.shape[0]
    path = start.unsqueeze(1) + alphas.view(1, -1, 1, 1, 1) * direction.unsqueeze(1)
    path = path.reshape(n_rows * n_steps, *start.shape[1:]).requires_grad_(True)
    with torch.enable_grad():
        logits = _after_conv1_pooling_first(model, path)
        chosen = logits.gather(1, targets.repeat_interleave(n_steps).view(-1, 1)).sum()
        (gradients,) = torch.autograd.grad(chosen, path)
    # Weighted sum over the steps as one matrix product per row (no n_steps-sized temporary).
    summed = torch.matmul(steps, gradients.reshape(n_rows, n_steps, -1))
    return F.conv_transpose2d(summed.view(n_rows, *start.shape[1:]), weight)


def integrated_gradients(
    model: Net,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    targets: torch.Tensor,
    n_steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Captum's IntegratedGradients (Gauss-Legendre) attributions and convergence deltas."""
    steps, alphas = _gauss_legendre(n_steps, inputs.device)
    per_chunk = max(1, ROWS_PER_CHUNK // n_steps)
    attributions = torch.cat(
        [
            _weighted_path_gradients(
                model,
                inputs[i : i + per_chunk],
                baselines[i : i + per_chunk],
                targets[i : i + per_chunk],
                steps,
                alphas,
            )
            for i in range(0, inputs.shape[0], per_chunk)
        ]
    ) * (inputs - baselines)
    with torch.no_grad():
        ends = model(torch.cat([inputs, baselines]))
    rows = torch.arange(inputs.shape[0], device=inputs.device)
    end, start = ends[: len(rows)][rows, targets], ends[len(rows) :][rows, targets]
    deltas = attributions.flatten(1).sum(dim=1) - (end - start)
    return attributions, deltas


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

    The noise for each image is drawn exactly as Captum draws it for a single image
    (`torch.manual_seed(seed)`, then one `torch.normal` over all samples), so image i of a
    batch gets the same map as a single call.
    """
    steps, alphas = _gauss_legendre(n_steps, inputs.device)
    per_chunk = max(1, ROWS_PER_CHUNK // n_steps)
    results = []
    for image, baseline, target in zip(inputs, baselines, targets):
        torch.manual_seed(seed)
        scale = torch.tensor(stdevs, device=inputs.device).repeat((nt_samples, *image.shape))
        noisy = image.unsqueeze(0) + torch.normal(0, scale)
        squares = torch.zeros_like(image)
        for i in range(0, nt_samples, per_chunk):
            chunk = noisy[i : i + per_chunk]
            base = baseline.unsqueeze(0).expand_as(chunk)
            grads = _weighted_path_gradients(
                model, chunk, base, target.repeat(chunk.shape[0]), steps, alphas
            )
            squares += ((grads * (chunk - base)) ** 2).sum(dim=0)
        results.append(squares / nt_samples)
    return torch.stack(results)
