"""Model-parameter randomization test (Adebayo et al., 2018).

The layers are re-initialised top-down, cascading (fc3, then fc3+fc2, ... down to conv1),
and each method's map on the randomized model is compared with its map on the trained model
by Spearman rank correlation. A map that stays similar once every layer is random does not
depend on what the model learned: it is flagged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch

from .compare import rank_correlation, relevance
from .model import Net

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
    trained_maps: dict[str, np.ndarray],
    signs: dict[str, str],
    attribute: Callable[[Net, str], np.ndarray],
    seed: int = 0,
) -> dict[str, dict]:
    """Per method: Spearman rho to the trained map after each cascade stage, and a flag.

    `attribute(randomized_model, key)` recomputes method `key`'s map on a randomized model.
    """
    report = {key: {"layers": [], "spearman": []} for key in trained_maps}
    for layer, randomized in randomized_models(model, seed):
        for key, trained in trained_maps.items():
            random_map = attribute(randomized, key)
            rho = rank_correlation(
                relevance(trained, signs[key]), relevance(random_map, signs[key])
            )
            report[key]["layers"].append(layer)
            report[key]["spearman"].append(rho)
    for entry in report.values():
        entry["final"] = entry["spearman"][-1]
        entry["flagged"] = abs(entry["final"]) >= FLAG_THRESHOLD
    return report
