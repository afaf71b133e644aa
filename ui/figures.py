"""The trust panel's matplotlib figures, built from an explanation's details dict (no Gradio).

Figures are made with `Figure` directly, not pyplot: no global state shared between requests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from interpret import METHODS


def method_color(key: str):
    """A fixed color per method (tab20, dark shades first) so plots agree across images."""
    index = list(METHODS).index(key)
    return colormaps["tab20"]((2 * index) % 20 + (2 * index) // 20)


def curves_figure(details: dict[str, Any]) -> Figure | None:
    """Deletion and insertion curves of every method: target probability vs pixel fraction."""
    scores = details.get("faithfulness")
    if not scores:
        return None
    figure = Figure(figsize=(10, 4.2), dpi=100, layout="constrained")
    deletion, insertion = figure.subplots(1, 2, sharey=True)
    for key in details["methods"]:
        score = scores[key]
        for axes, curve in ((deletion, "deletion"), (insertion, "insertion")):
            axes.plot(
                score["fractions"],
                score[curve],
                color=method_color(key),
                linewidth=1.6,
                label=METHODS[key].label,
            )
    target = details["target_class"]
    deletion.set_title("Deletion: most relevant pixels removed first\n(lower area is better)")
    insertion.set_title("Insertion: most relevant pixels added first\n(higher area is better)")
    contrast = details.get("contrast_class")
    deletion.set_ylabel(
        f"probability of {target}" + (f"\nrather than {contrast}" if contrast else "")
    )
    for axes in (deletion, insertion):
        axes.set_xlabel("fraction of pixels")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.02)
        axes.grid(alpha=0.3)
    figure.legend(
        *deletion.get_legend_handles_labels(),
        loc="outside lower center",
        ncol=min(len(details["methods"]), 5),
        fontsize=8,
        frameon=False,
    )
    return figure


def agreement_figure(details: dict[str, Any]) -> Figure | None:
    """The methods' pairwise Spearman ρ as an annotated heat map; None for one method."""
    agreement = details.get("agreement") or {}
    keys, matrix = agreement.get("methods") or [], np.asarray(agreement.get("spearman") or [])
    if len(keys) < 2:
        return None
    size = 2.6 + 0.42 * len(keys)
    figure = Figure(figsize=(size + 1.4, size + 1.0), dpi=100, layout="constrained")
    axes = figure.subplots()
    shown = axes.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu_r")
    labels = [METHODS[key].label for key in keys]
    axes.set_xticks(range(len(keys)), labels, rotation=40, ha="right", fontsize=8)
    axes.set_yticks(range(len(keys)), labels, fontsize=8)
    font = 8 if len(keys) <= 8 else 6
    for i in range(len(keys)):
        for j in range(len(keys)):
            light = abs(matrix[i, j]) > 0.6
            axes.text(
                j,
                i,
                f"{matrix[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=font,
                color="white" if light else "black",
            )
    axes.set_title("How far the methods agree: Spearman ρ of the maps", fontsize=9)
    figure.colorbar(shown, ax=axes, shrink=0.8, label="rank correlation")
    return figure


def atlas_figure(atlas: dict[str, Any]) -> Figure:
    """The class x feature atlas (/feature_atlas's answer) as an annotated heat map: red
    against the class, blue for it."""
    matrix = np.array(
        [[np.nan if v is None else v for v in row] for row in atlas["matrix"]], dtype=float
    )
    largest = float(np.nanmax(np.abs(matrix))) if np.isfinite(matrix).any() else 1.0
    figure = Figure(figsize=(11, 5.2), dpi=100, layout="constrained")
    axes = figure.subplots()
    shown = axes.imshow(matrix, vmin=-largest, vmax=largest, cmap="RdBu", aspect="auto")
    axes.set_xticks(range(matrix.shape[1]), [str(c) for c in range(matrix.shape[1])])
    axes.set_yticks(range(len(atlas["classes"])), atlas["classes"])
    axes.set_xlabel("learned feature (pool2 channel)")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if np.isfinite(matrix[i, j]):
                light = abs(matrix[i, j]) > 0.6 * largest
                axes.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7,
                          color="white" if light else "black")  # fmt: skip
    axes.set_title(
        "Mean contribution of each feature over each class's correctly classified images",
        fontsize=10,
    )
    figure.colorbar(shown, ax=axes, shrink=0.8, label="mean contribution")
    return figure
