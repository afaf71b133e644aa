"""Rank correlation between attribution maps: method agreement and the sanity check."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.stats import rankdata

from interpret.attribution.methods import METHODS


def relevance(attribution: np.ndarray, sign: str) -> np.ndarray:
    """Per-pixel relevance (H x W) as the overlay shows it: channel sum, then the sign rule.

    A stack of maps (... x 3 x H x W) gives a stack of relevances (... x H x W)."""
    summed = attribution.sum(axis=-3) if attribution.ndim >= 3 else attribution
    if sign == "absolute_value":
        return np.abs(summed)
    if sign == "positive":
        return np.maximum(summed, 0)
    return summed


def rank_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of every pair of maps a[i], b[i] (stacks of equal shape), at once; 0
    where either map is constant (no ranking to compare).

    Spearman's rho is Pearson's correlation of the (average-tie) ranks, as scipy computes it;
    ranking all maps in one call saves scipy's per-call overhead, which the randomization
    test would otherwise pay 65 times per image."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    ranks = rankdata(np.concatenate([a, b]), axis=1)
    centered = ranks - ranks.mean(axis=1, keepdims=True)
    first, second = centered[: len(a)], centered[len(a) :]
    scale = np.sqrt((first * first).sum(axis=1) * (second * second).sum(axis=1))
    constant = (np.ptp(a, axis=1) == 0) | (np.ptp(b, axis=1) == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.clip((first * second).sum(axis=1) / scale, -1.0, 1.0)
    return np.where(constant, 0.0, rho)


def agreement_matrix(attributions: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Pairwise Spearman correlation between the methods' relevance maps (the ranks of all
    maps taken once, instead of once per pair)."""
    keys = list(attributions)
    maps = np.stack([relevance(attributions[key], METHODS[key].sign).ravel() for key in keys])
    ranks = rankdata(maps.astype(np.float64), axis=1)
    centered = ranks - ranks.mean(axis=1, keepdims=True)
    norms = np.sqrt((centered * centered).sum(axis=1))
    constant = np.ptp(maps, axis=1) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.clip(centered @ centered.T / np.outer(norms, norms), -1.0, 1.0)
    matrix[constant, :] = 0.0
    matrix[:, constant] = 0.0
    np.fill_diagonal(matrix, 1.0)
    return keys, matrix
