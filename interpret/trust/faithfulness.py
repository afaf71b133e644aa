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

Every score is computed for many maps at once ("cases": one map of one image, stacked), each
with the random draws it gets alone: sample j of every case removes the same square, and
every image gets the same input noise, so a batch gives each map the scores of a single call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from captum.metrics import infidelity, sensitivity_max
from torch import nn

from interpret.attribution.fast import ACCELERATOR_ROWS_PER_PASS
from interpret.trust.agreement import relevance

CURVE_STEPS = 32
INFIDELITY_SQUARE = 8
INFIDELITY_SAMPLES = 64
SENSITIVITY_RADIUS = 0.02
SENSITIVITY_SAMPLES = 5
# Model rows per forward pass: ~12 KB of input each, about 1,000 (a dozen curves) stay in a
# CPU's cache-friendly range; an accelerator takes as many as the fast path's passes.
CPU_ROWS_PER_PASS = 1024

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


def rows_per_pass(device: torch.device) -> int:
    return CPU_ROWS_PER_PASS if device.type == "cpu" else ACCELERATOR_ROWS_PER_PASS


def pixel_order(attribution: np.ndarray, sign: str) -> np.ndarray:
    """Pixel indices (flattened H*W), most relevant first; stable for ties. A stack of maps
    (K x 3 x H x W) gives one order per map (K x H*W)."""
    scores = relevance(attribution, sign)
    return np.argsort(-scores.reshape(*scores.shape[:-2], -1), axis=-1, kind="stable")


def _switched(orders: np.ndarray, steps: int) -> torch.Tensor:
    """K x (steps+1) x P booleans: which pixels step s has switched (the first s * ceil(P /
    steps) of each order)."""
    pixels = orders.shape[1]
    ranks = np.empty_like(orders)
    np.put_along_axis(ranks, orders, np.broadcast_to(np.arange(pixels), orders.shape), axis=1)
    counts = np.minimum(np.arange(steps + 1) * math.ceil(pixels / steps), pixels)
    return torch.from_numpy(ranks[:, None, :] < counts[None, :, None])


def _frames(starts: torch.Tensor, ends: torch.Tensor, switched: torch.Tensor) -> torch.Tensor:
    """K x (steps+1) x C x H x W images going from `starts` to `ends` (K x C x H x W)."""
    cases, channels, height, width = starts.shape
    chosen = switched.to(starts.device).unsqueeze(2)  # K x S x 1 x P
    frames = torch.where(
        chosen,
        ends.reshape(cases, 1, channels, height * width),
        starts.reshape(cases, 1, channels, height * width),
    )
    return frames.view(cases, -1, channels, height, width)


def _curve_inputs(
    start: torch.Tensor, end: torch.Tensor, order: np.ndarray, steps: int
) -> torch.Tensor:
    """steps+1 images going from `start` to `end` (1 x C x H x W), pixels switched in `order`."""
    return _frames(start, end, _switched(order.reshape(1, -1), steps))[0]


def deletion_insertion_batch(
    model: nn.Module,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    attributions: np.ndarray,
    signs: Sequence[str],
    targets: Sequence[int],
    contrasts: Sequence[int | None],
    steps: int = CURVE_STEPS,
) -> list[dict[str, list[float] | float]]:
    """Both curves (target probability per step) and their areas for K cases: map k of
    input k (K x 3 x H x W each), read with sign k, for class k (rather than contrast k).

    With a contrast class the maps explain logit[target] - logit[contrast], so the curves
    follow P(target | target or contrast) = sigmoid of that difference, not P(target).
    Whole cases go through the model together, as many as fill a pass."""
    orders = np.stack(
        [pixel_order(attribution, sign) for attribution, sign in zip(attributions, signs)]
    )
    per_pass = max(1, rows_per_pass(inputs.device) // (2 * (steps + 1)))
    probabilities = []
    for first in range(0, len(orders), per_pass):
        rows = slice(first, first + per_pass)
        switched = _switched(orders[rows], steps)
        deletion = _frames(inputs[rows], baselines[rows], switched)
        insertion = _frames(baselines[rows], inputs[rows], switched)
        frames = torch.cat([deletion, insertion], dim=1)  # each case: deletion, then insertion
        with torch.no_grad():
            logits = model(frames.flatten(0, 1)).view(*frames.shape[:2], -1)
        probabilities.append(_curve_probabilities(logits, targets[rows], contrasts[rows]))
    curves = torch.cat(probabilities).cpu().numpy().astype(float)
    fractions = np.linspace(0, 1, steps + 1)
    results = []
    for curve in curves:
        deleted, inserted = curve[: steps + 1], curve[steps + 1 :]
        results.append(
            {
                "fractions": fractions.tolist(),
                "deletion": deleted.tolist(),
                "insertion": inserted.tolist(),
                "deletion_auc": float(np.trapezoid(deleted, fractions)),
                "insertion_auc": float(np.trapezoid(inserted, fractions)),
            }
        )
    return results


def _curve_probabilities(
    logits: torch.Tensor, targets: Sequence[int], contrasts: Sequence[int | None]
) -> torch.Tensor:
    """K x frames: P(target), or P(target | target or contrast), per frame of each case."""
    device = logits.device
    chosen = (
        torch.tensor(list(targets), device=device).view(-1, 1, 1).expand(-1, logits.shape[1], 1)
    )
    probabilities = torch.softmax(logits, dim=-1).gather(-1, chosen).squeeze(-1)
    if all(contrast is None for contrast in contrasts):
        return probabilities
    others = [target if c is None else c for target, c in zip(targets, contrasts)]
    other = torch.tensor(others, device=device).view(-1, 1, 1).expand_as(chosen)
    pairwise = torch.sigmoid((logits.gather(-1, chosen) - logits.gather(-1, other)).squeeze(-1))
    contrasted = torch.tensor([c is not None for c in contrasts], device=device).view(-1, 1)
    return torch.where(contrasted, pairwise, probabilities)


def _square_masks(corners: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """n x 1 x H x W masks, 1 on the INFIDELITY_SQUARE square at each (top, left) corner."""
    size = INFIDELITY_SQUARE
    rows, columns = torch.arange(height), torch.arange(width)
    top, left = corners[:, :1], corners[:, 1:]
    in_rows = (rows >= top) & (rows < top + size)  # n x H
    in_columns = (columns >= left) & (columns < left + size)  # n x W
    return (in_rows[:, :, None] & in_columns[:, None, :]).unsqueeze(1).float()


def infidelity_batch(
    model: nn.Module,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    attributions: torch.Tensor,
    targets: torch.Tensor,
    times_input: Sequence[bool],
    seed: int,
) -> np.ndarray:
    """Captum's infidelity under random square removal for K cases, in one call.

    The squares come from one generator seeded `seed`, (top, left) per sample: sample j
    removes the same square in every case, the square a single case's call would draw."""
    generator = torch.Generator().manual_seed(seed)
    height, width = inputs.shape[-2:]
    if height != width:
        raise ValueError(f"square inputs only (the model takes 32x32), got {height}x{width}")
    bound, cases = height - INFIDELITY_SQUARE + 1, inputs.shape[0]
    gradient_like = ~torch.tensor(list(times_input), device=inputs.device).view(-1, 1, 1, 1)

    def perturb(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        samples = batch.shape[0] // cases  # Captum lays the rows out case by case
        # (top, left) per sample, drawn in the order a loop of scalar draws takes them
        corners = torch.randint(0, bound, (samples, 2), generator=generator)
        mask = _square_masks(corners, height, width).to(batch.device).repeat(cases, 1, 1, 1)
        removed = batch * (1 - mask) + baselines.repeat_interleave(samples, 0) * mask
        change = torch.where(
            gradient_like.repeat_interleave(samples, 0), batch - removed, mask.expand_as(batch)
        )
        return change, removed

    # Captum slices the samples so that each call holds at most this many rows.
    per_call = cases * min(max(1, rows_per_pass(inputs.device) // cases), INFIDELITY_SAMPLES)
    with torch.no_grad():
        scores = infidelity(
            model,
            perturb,
            inputs,
            attributions,
            target=targets,
            n_perturb_samples=INFIDELITY_SAMPLES,
            max_examples_per_batch=per_call,
            normalize=True,
        )
    return scores.reshape(-1).cpu().numpy().astype(float)


def sensitivity_batch(
    explain_inputs: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    maps: torch.Tensor,
    targets: torch.Tensor,
    seed: int,
) -> np.ndarray:
    """Captum's max-sensitivity of one method for N inputs whose `maps` are known.

    `explain_inputs(batch, targets)` recomputes the method's maps; it runs once, on all
    N x 5 perturbed inputs. Each input gets the noise a single call draws after
    `torch.manual_seed(seed)` (Captum's default perturbation, from a private generator
    here, so the global random state is left alone)."""
    generator = torch.Generator().manual_seed(seed)

    def perturb(batch: torch.Tensor, radius: float) -> torch.Tensor:
        samples = batch.shape[0] // inputs.shape[0]  # Captum lays the rows out input by input
        noise = torch.empty((samples, *batch.shape[1:])).uniform_(
            -radius, radius, generator=generator
        )
        return batch + noise.to(batch.device).repeat(inputs.shape[0], 1, 1, 1)

    def explanation(batch, target: torch.Tensor):
        if isinstance(batch, tuple):  # Captum's first call: the inputs, whose maps are known
            return (maps,) if batch[0] is inputs else (explanation(batch[0], target),)
        with torch.enable_grad():
            return explain_inputs(batch, target).detach()

    scores = sensitivity_max(
        explanation,
        inputs,
        perturb_func=perturb,
        perturb_radius=SENSITIVITY_RADIUS,
        n_perturb_samples=SENSITIVITY_SAMPLES,
        target=targets,
    )
    return scores.reshape(-1).cpu().numpy().astype(float)
