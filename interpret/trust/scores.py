"""Per-image trust scores for each map: faithfulness metrics and the randomization test.

Both take a group of images explained by one network and score all their maps together:
the curves of every map share forward passes, infidelity is one Captum call for all maps,
max-sensitivity one per method for all images, and each randomized model explains every
method for every image in one call. Each map keeps the random draws of a single call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from interpret.attribution.methods import METHODS
from interpret.core.params import Params
from interpret.trust.faithfulness import (
    deletion_insertion_batch,
    infidelity_batch,
    sensitivity_batch,
)
from interpret.trust.sanity import sanity_check

# (model, method key, inputs, targets) -> attribution tensor, with fixed parameters.
Attribute = Callable[[nn.Module, str, torch.Tensor, torch.Tensor], torch.Tensor]


def faithfulness_scores(
    model: nn.Module,
    explained: nn.Module,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    targets: Sequence[int],
    explained_targets: torch.Tensor,
    attributions: Sequence[Mapping[str, np.ndarray]],
    attribute: Attribute,
    params: Params,
    contrasts: Sequence[int | None] | None = None,
) -> list[dict[str, dict]]:
    """Deletion/insertion AUC (curves kept), infidelity and max-sensitivity per image and
    method, for N images (`inputs`, `baselines`: N x 3 x H x W) and their maps.

    `model` gives the class probabilities for the curves (of `targets[i]`, or of it rather
    than `contrasts[i]`); `explained` is the network whose outputs `explained_targets` the
    maps explain (the same, or its contrastive copy).
    """
    keys = list(attributions[0])
    count, device = inputs.shape[0], inputs.device
    contrasts = [None] * count if contrasts is None else list(contrasts)
    # One case per (image, method), image by image.
    images = torch.arange(count, device=device).repeat_interleave(len(keys))
    maps = np.stack([attributions[i][key] for i in range(count) for key in keys])
    case_keys = keys * count
    curves = deletion_insertion_batch(
        model,
        inputs[images],
        baselines[images],
        maps,
        [METHODS[key].sign for key in case_keys],
        [targets[i] for i in images.tolist()],
        [contrasts[i] for i in images.tolist()],
    )
    infidelities = infidelity_batch(
        explained,
        inputs[images],
        baselines[images],
        torch.from_numpy(maps).to(device),
        explained_targets[images],
        [METHODS[key].times_input for key in case_keys],
        params.seed,
    )
    sensitivities = {
        key: sensitivity_batch(
            lambda batch, batch_targets, key=key: attribute(explained, key, batch, batch_targets),
            inputs,
            torch.from_numpy(np.stack([maps_of[key] for maps_of in attributions])).to(device),
            explained_targets,
            params.seed,
        )
        for key in keys
    }
    scores: list[dict[str, dict]] = [{} for _ in range(count)]
    for case, (image, key) in enumerate(zip(images.tolist(), case_keys)):
        entry = curves[case]
        entry["infidelity"] = float(infidelities[case])
        entry["sensitivity_max"] = float(sensitivities[key][image])
        scores[image][key] = entry
    return scores


def randomization_test(
    explained: nn.Module,
    inputs: torch.Tensor,
    explained_targets: torch.Tensor,
    attributions: Sequence[Mapping[str, np.ndarray]],
    attribute: Attribute,
    seed: int,
) -> list[dict[str, dict]]:
    """The cascading randomization test for N images' maps; one report per image."""
    keys = list(attributions[0])

    def attribute_all(randomized: nn.Module) -> dict[str, np.ndarray]:
        return {
            key: attribute(randomized, key, inputs, explained_targets)
            .detach()
            .float()
            .cpu()
            .numpy()
            for key in keys
        }

    return sanity_check(
        explained,
        {key: np.stack([maps_of[key] for maps_of in attributions]) for key in keys},
        {key: METHODS[key].sign for key in keys},
        attribute_all,
        seed=seed,
    )
