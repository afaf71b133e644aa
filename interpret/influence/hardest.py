"""The training images the model found hardest: ranked by self-influence.

An image's self-influence, ``sum_c lr_c |G_cj|^2 |A_cj|^2`` (TracInCPFast.self_influence over
the final layer), is how much its own training steps moved its own loss: large for images
the model kept getting wrong or could not fit, a known signal of mislabeled or atypical
examples (Pruthi et al. 2020, section 4). The ranking is computed once per index; a page is
numpy indexing.
"""

from __future__ import annotations

from dataclasses import dataclass

from interpret.core.model import CLASSES
from interpret.explain import resolve_target
from interpret.influence.index import InfluenceIndex
from interpret.influence.query import TrainingExample, examples

PER_PAGE = 24


@dataclass(frozen=True)
class HardestPage:
    """One page of the ranking: `items` (highest self-influence first, ties by index),
    `page` of `pages` (1-based), `total` images matching `label` (None: every class)."""

    items: tuple[TrainingExample, ...]
    page: int
    pages: int
    total: int
    label: int | None
    training_set: str
    fingerprint: str
    note: str

    def to_dict(self) -> dict:
        return {
            "items": [item.to_dict() for item in self.items],
            "page": self.page,
            "pages": self.pages,
            "total": self.total,
            "label": None if self.label is None else CLASSES[self.label],
            "training_set": self.training_set,
            "fingerprint": self.fingerprint,
            "note": self.note,
        }


def hardest_training_images(
    index: InfluenceIndex,
    label: int | str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> HardestPage:
    """Page `page` (1-based, clamped to the last) of the training images of class `label`
    (an index or name; None: all), highest self-influence first, each with its true label,
    the final model's prediction and its score."""
    order = index.self_influence_order
    chosen = None if label is None or label == "" else resolve_target(label, 0)
    if chosen is not None:
        order = order[index.labels[order] == chosen]
    per_page = max(1, int(per_page))
    pages = max(1, -(-len(order) // per_page))
    page = min(max(1, int(page)), pages)
    shown = order[(page - 1) * per_page : page * per_page]
    return HardestPage(
        items=examples(index, shown, index.self_influence),
        page=page,
        pages=pages,
        total=len(order),
        label=chosen,
        training_set=index.training_set,
        fingerprint=index.fingerprint,
        note=index.note,
    )
