"""Why, from the data: the training images behind a decision (TracIn over the final layer,
summed over the checkpoints training kept) and the ones the model found hardest.

`influence_index` computes (once per weights and training set, cached on disk) what every
query reuses; `training_influence` scores every training image for one explained image and
target; `hardest_training_images` pages through the self-influence ranking. The math, the
weighting and the limits: docs/INFLUENCE.md.
"""

from interpret.dataset.train_split import TrainingSetMissing, index_note, load_training_set
from interpret.influence.checkpoints import HistoryError, TrainingHistory, history_for
from interpret.influence.hardest import HardestPage, hardest_training_images
from interpret.influence.index import (
    InfluenceIndex,
    InfluenceUnavailable,
    build_index,
    influence_index,
)
from interpret.influence.query import Influence, TrainingExample, training_influence

__all__ = [
    "HardestPage",
    "HistoryError",
    "Influence",
    "InfluenceIndex",
    "InfluenceUnavailable",
    "TrainingExample",
    "TrainingHistory",
    "TrainingSetMissing",
    "build_index",
    "hardest_training_images",
    "history_for",
    "index_note",
    "influence_index",
    "load_training_set",
    "training_influence",
]
