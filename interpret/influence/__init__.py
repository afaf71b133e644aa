"""Why, from the data: the training images behind a decision (TracIn over the final layer,
summed over the checkpoints training kept) and the ones the model found hardest."""
