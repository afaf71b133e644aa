"""Model-parameter randomization test (Adebayo et al., 2018).

The layers are re-initialised top-down, cascading (fc3, then fc3+fc2, ... down to conv1),
and each method's map on the randomized model is compared with its map on the trained model
by Spearman rank correlation. A map that stays similar once every layer is random does not
depend on what the model learned: it is flagged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

import numpy as np
import torch

from interpret.core.model import Net
from interpret.trust.agreement import rank_correlations, relevance

CASCADE: tuple[str, ...] = ("fc3", "fc2", "fc1", "conv2", "conv1")
FLAG_THRESHOLD = 0.5


def randomized_models(model: Net, seed: int):
    """Yield (layer name, model with that layer and all above it re-initialised)."""
    randomized = copy.deepcopy(model)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for name in CASCADE:
            getattr(randomized, name).reset_parameters()
            yield name, randomized
    finally:
        torch.random.set_rng_state(generator_state)


def sanity_check(
    model: Net,
    trained_maps: Mapping[str, np.ndarray],
    signs: Mapping[str, str],
    attribute_all: Callable[[Net], Mapping[str, np.ndarray]],
    seed: int = 0,
) -> list[dict[str, dict]]:
    """Per image and method: Spearman rho to the trained map after each cascade stage, and a
    flag.

    `trained_maps[key]` stacks method `key`'s maps of N images (N x 3 x H x W);
    `attribute_all(randomized_model)` recomputes all of them on a randomized model, every
    method for every image in one call. Returns one report per image.
    """
    keys = list(trained_maps)
    trained = np.stack([relevance(trained_maps[key], signs[key]) for key in keys], axis=1)
    layers, stages = [], []
    for layer, randomized in randomized_models(model, seed):
        maps = attribute_all(randomized)
        random = np.stack([relevance(maps[key], signs[key]) for key in keys], axis=1)
        layers.append(layer)
        stages.append(
            rank_correlations(
                trained.reshape(-1, *trained.shape[2:]), random.reshape(-1, *random.shape[2:])
            )
        )
    rhos = np.stack(stages, axis=1).reshape(*trained.shape[:2], len(layers))  # N x M x stages
    reports = []
    for per_image in rhos:
        report = {}
        for key, spearman in zip(keys, per_image.tolist()):
            report[key] = {
                "layers": list(layers),
                "spearman": spearman,
                "final": spearman[-1],
                "flagged": abs(spearman[-1]) >= FLAG_THRESHOLD,
            }
        reports.append(report)
    return reports
