"""Explain the Captum CIFAR-10 tutorial's classifier: model, weights, attributions, overlays."""

from .explain import Explanation, add_trust_scores, explain, explain_batch
from .methods import DEFAULT_METHODS, METHODS
from .model import CLASSES, Net
from .params import ParamError, Params, make_params
from .preprocess import ImageError, load_image, model_image
from .weights import WeightsError, load_model

__version__ = "0.1.0"

__all__ = [
    "CLASSES",
    "DEFAULT_METHODS",
    "METHODS",
    "Explanation",
    "ImageError",
    "Net",
    "ParamError",
    "Params",
    "WeightsError",
    "add_trust_scores",
    "explain",
    "explain_batch",
    "load_image",
    "load_model",
    "make_params",
    "model_image",
]
