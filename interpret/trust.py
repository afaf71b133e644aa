"""Per-image trust scores for each map: faithfulness metrics and the randomization test."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .faithfulness import deletion_insertion, infidelity_score, sensitivity_score
from .methods import METHODS
from .params import Params
from .sanity import sanity_check

# (model, inputs, targets) -> attribution tensor, for one method with fixed parameters.
Attribute = Callable[[nn.Module, str, torch.Tensor, torch.Tensor], torch.Tensor]


def faithfulness_scores(
    model: nn.Module,
    explained: nn.Module,
    inputs: torch.Tensor,
    baseline: torch.Tensor,
    target: int,
    explained_target: int,
    attributions: dict[str, np.ndarray],
    attribute: Attribute,
    params: Params,
    contrast: int | None = None,
) -> dict[str, dict]:
    """Deletion/insertion AUC (curves kept), infidelity and max-sensitivity per method.

    `model` gives the class probabilities for the curves (of `target`, or of `target` rather
    than `contrast`); `explained` is the network whose output `explained_target` the maps
    explain (the same, or its contrastive copy).
    """
    scores: dict[str, dict] = {}
    for key, attribution in attributions.items():
        sign = METHODS[key].sign
        entry = deletion_insertion(
            model, inputs, baseline, attribution, sign, target, contrast=contrast
        )
        as_tensor = torch.from_numpy(attribution).unsqueeze(0).to(inputs.device)
        entry["infidelity"] = infidelity_score(
            explained,
            inputs,
            baseline,
            as_tensor,
            explained_target,
            METHODS[key].times_input,
            params.seed,
        )
        entry["sensitivity_max"] = sensitivity_score(
            lambda batch, targets, key=key: attribute(explained, key, batch, targets),
            inputs,
            explained_target,
            params.seed,
        )
        scores[key] = entry
    return scores


def randomization_test(
    explained: nn.Module,
    inputs: torch.Tensor,
    explained_target: int,
    attributions: dict[str, np.ndarray],
    attribute: Attribute,
    seed: int,
) -> dict[str, dict]:
    targets = torch.tensor([explained_target], device=inputs.device)
    return sanity_check(
        explained,
        attributions,
        {key: METHODS[key].sign for key in attributions},
        lambda randomized, key: (
            attribute(randomized, key, inputs, targets)[0].detach().float().cpu().numpy()
        ),
        seed=seed,
    )
