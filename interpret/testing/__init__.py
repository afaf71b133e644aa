"""The exactness toolkit (as `numpy.testing` is numpy's): the float64 ground truth of a map,
its near ties and the fewest float32 flips that explain a difference. Tests and
`scripts/bench.py` use it; no explanation imports it.
"""
