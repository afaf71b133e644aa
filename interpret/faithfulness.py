"""How far to trust a map: deletion/insertion curves and Captum's infidelity and sensitivity.

- Deletion: pixels are replaced by the baseline, most relevant first (32 steps of 32 pixels);
  the model's probability for the target should fall fast, so a LOWER area is better.
- Insertion: pixels of the image are put onto the baseline, most relevant first; the
  probability should rise fast, so a HIGHER area is better.
- Infidelity (Captum, Yeh et al. 2019), with square-removal perturbations: a random 8x8
  square of the image is replaced by the baseline (64 samples, seeded); the score is the
  expected squared error between the change of the explained score and what the map
  predicts for it (the map's sum over the square, times (input - baseline) for gradient-like
  maps), with the map optimally rescaled. LOWER is better.
- Max-sensitivity (Captum, Yeh et al. 2019): the largest relative change of the map when the
  input moves uniformly within +-0.02 (5 samples); LOWER is more stable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from captum.metrics import infidelity, sensitivity_max
from torch import nn

from .compare import relevance

CURVE_STEPS = 32
INFIDELITY_SQUARE = 8
INFIDELITY_SAMPLES = 64
SENSITIVITY_RADIUS = 0.02
SENSITIVITY_SAMPLES = 5

SCORE_HELP: dict[str, str] = {
    "deletion_auc": "area under the target probability (with a contrast, against that class "
    "alone) as the most relevant pixels are removed first; lower is better (the map found what "
    "the model needs)",
    "insertion_auc": "area under the target probability (with a contrast, against that class "
    "alone) as the most relevant pixels are added to the baseline first; higher is better",
    "infidelity": "how badly the map predicts the score drop when a random 8×8 square "
    "is replaced by the baseline (Captum infidelity); lower is better",
    "sensitivity_max": "how much the map changes when the input moves by at most 0.02 "
    "(Captum sensitivity_max); lower is more stable",
}


def pixel_order(attribution: np.ndarray, sign: str) -> np.ndarray:
    """Pixel indices (flattened H*W), most relevant first; stable for ties."""
    return np.argsort(-relevance(attribution, sign).ravel(), kind="stable")


def _curve_inputs(
    start: torch.Tensor, end: torch.Tensor, order: np.ndarray, steps: int
) -> torch.Tensor:
    """steps+1 images going from `start` to `end`, pixels switched in `order`."""
    _, channels, height, width = start.shape
    frames = start.repeat(steps + 1, 1, 1, 1).view(steps + 1, channels, height * width)
    target_pixels = end.view(channels, height * width)
    per_step = int(np.ceil(order.size / steps))
    for step in range(1, steps + 1):
        chosen = torch.as_tensor(order[: step * per_step], device=start.device)
        frames[step][:, chosen] = target_pixels[:, chosen]
    return frames.view(steps + 1, channels, height, width)


def deletion_insertion(
    model: nn.Module,
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    attribution: np.ndarray,
    sign: str,
    target: int,
    steps: int = CURVE_STEPS,
    contrast: int | None = None,
) -> dict[str, list[float] | float]:
    """Both curves (target probability per step) and their areas, for one 1x3xHxW input.

    With a `contrast` class the maps explain logit[target] - logit[contrast], so the curves
    follow P(target | target or contrast) = sigmoid of that difference, not P(target)."""
    order = pixel_order(attribution, sign)
    deletion = _curve_inputs(inputs, baseline, order, steps)
    insertion = _curve_inputs(baseline, inputs, order, steps)
    with torch.no_grad():
        logits = model(torch.cat([deletion, insertion]))
    if contrast is None:
        probabilities = torch.softmax(logits, dim=1)[:, target]
    else:
        probabilities = torch.sigmoid(logits[:, target] - logits[:, contrast])
    probabilities = probabilities.cpu().numpy().astype(float)
    fractions = np.linspace(0, 1, steps + 1)
    deleted, inserted = probabilities[: steps + 1], probabilities[steps + 1 :]
    return {
        "fractions": fractions.tolist(),
        "deletion": deleted.tolist(),
        "insertion": inserted.tolist(),
        "deletion_auc": float(np.trapezoid(deleted, fractions)),
        "insertion_auc": float(np.trapezoid(inserted, fractions)),
    }


def infidelity_score(
    model: nn.Module,
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    attribution: torch.Tensor,
    target: int,
    times_input: bool,
    seed: int,
) -> float:
    """Captum's infidelity under random square removal (see the module docstring)."""
    generator = torch.Generator().manual_seed(seed)
    size, height, width = INFIDELITY_SQUARE, inputs.shape[-2], inputs.shape[-1]

    def perturb(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.zeros_like(batch[:, :1])
        for row in mask:
            top = int(torch.randint(0, height - size + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - size + 1, (1,), generator=generator))
            row[:, top : top + size, left : left + size] = 1
        removed = batch * (1 - mask) + baseline * mask
        return (mask.expand_as(batch) if times_input else batch - removed), removed

    with torch.no_grad():
        score = infidelity(
            model,
            perturb,
            inputs,
            attribution,
            target=target,
            n_perturb_samples=INFIDELITY_SAMPLES,
            normalize=True,
        )
    return float(score.reshape(-1)[0])


def sensitivity_score(
    explain_inputs: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    target: int,
    seed: int,
) -> float:
    """`explain_inputs(batch, targets)` recomputes the method's map for perturbed inputs."""

    def explanation(batch, target: torch.Tensor):
        # Captum passes a tuple first and a tensor later, and expects the same form back.
        if isinstance(batch, tuple):
            return (explanation(batch[0], target),)
        with torch.enable_grad():
            return explain_inputs(batch, target).detach()

    torch.manual_seed(seed)
    score = sensitivity_max(
        explanation,
        inputs,
        perturb_radius=SENSITIVITY_RADIUS,
        n_perturb_samples=SENSITIVITY_SAMPLES,
        target=torch.tensor([target], device=inputs.device),
    )
    return float(score.reshape(-1)[0])
