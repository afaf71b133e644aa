"""Where float32 may take a different branch through `Net` than exact arithmetic does.

The fast path needs these at run time to pick max-pool winners exactly;
`interpret.testing` uses the same definitions to check maps against float64.
"""

from __future__ import annotations

import torch

UNIT_ROUNDOFF = 2.0**-24  # float32
# A branch this close to its boundary, in units of float32 rounding of the compared values,
# may be taken the other way by float32 code on some machine. Largest flips measured (units):
# pool1 11.4, pool2 1.3, relu3 0.01, relu4 0.0003 (oneDNN AVX2 kernels, the worst).
NEAR_TIE: dict[str, float] = {"pool1": 64.0, "pool2": 8.0, "relu3": 1.0, "relu4": 1.0}
# Values closer than this (relative to their magnitude sums) are equal as far as float64 can
# tell: a window of them is a tie, and a tie goes to the first maximum, as max-pooling does.
EXACT_TIE = 1e-12


def windows(values: torch.Tensor) -> torch.Tensor:
    """N x C x H x W -> N x C x H/2 x W/2 x 4: each 2x2 pooling window's values, row-major."""
    n, c, h, w = values.shape
    quads = values.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5)
    return quads.reshape(n, c, h // 2, w // 2, 4)
