"""Explain the Captum CIFAR-10 tutorial's classifier: model, weights, attributions, overlays.

The names below are the public API; the subpackages hold the rest by job: `core` (model,
weights, preprocessing, rendering, runtime), `attribution`, `trust`, `concepts` (the learned
features behind a decision), `influence` (the training images behind a decision),
`dataset`, and `testing`
(the exactness toolkit, which no explanation imports).
"""

from interpret.attribution.methods import DEFAULT_METHODS, METHODS, TUTORIAL_METHODS
from interpret.concepts import feature_atlas, features
from interpret.core.devices import exact_float32
from interpret.core.memory import retain_freed_memory
from interpret.core.model import CLASSES, Net
from interpret.core.params import ParamError, Params, make_params
from interpret.core.preprocess import ImageError, load_image, model_image
from interpret.core.weights import WeightsError, load_model
from interpret.explain import Explanation, add_trust_scores, explain, explain_batch
from interpret.influence import (
    InfluenceUnavailable,
    hardest_training_images,
    influence_index,
    training_influence,
)

__version__ = "0.2.0"

__all__ = [
    "CLASSES",
    "DEFAULT_METHODS",
    "METHODS",
    "TUTORIAL_METHODS",
    "Explanation",
    "ImageError",
    "InfluenceUnavailable",
    "Net",
    "ParamError",
    "Params",
    "WeightsError",
    "add_trust_scores",
    "exact_float32",
    "explain",
    "explain_batch",
    "feature_atlas",
    "features",
    "hardest_training_images",
    "influence_index",
    "load_image",
    "load_model",
    "make_params",
    "model_image",
    "retain_freed_memory",
    "training_influence",
]
