"""Rank correlation between attribution maps: method agreement and the sanity check."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.stats import spearmanr

from .methods import METHODS


def relevance(attribution: np.ndarray, sign: str) -> np.ndarray:
    """Per-pixel relevance (H x W) as the overlay shows it: channel sum, then the sign rule."""
    summed = attribution.sum(axis=0) if attribution.ndim == 3 else attribution
    if sign == "absolute_value":
        return np.abs(summed)
    if sign == "positive":
        return np.maximum(summed, 0)
    return summed


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho between two maps; 0 when either is constant (no ranking to compare)."""
    a, b = a.ravel(), b.ravel()
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def agreement_matrix(attributions: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Pairwise Spearman correlation between the methods' relevance maps."""
    keys = list(attributions)
    maps = [relevance(attributions[key], METHODS[key].sign) for key in keys]
    matrix = np.eye(len(keys))
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            matrix[i, j] = matrix[j, i] = rank_correlation(maps[i], maps[j])
    return keys, matrix
