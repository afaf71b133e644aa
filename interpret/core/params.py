"""Attribution parameters: the tutorial's defaults, bounds, and user-facing errors.

Every bound exists so one request cannot exhaust the server (n_steps x nt_samples is the
number of forward/backward rows NoiseTunnel(IG) runs) or produce a meaningless map.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

BASELINES: dict[str, str] = {
    "zeros": "zeros in normalized space (a mid-gray image), the tutorial's input * 0",
    "black": "an all-black image",
    "blur": "the input blurred with a Gaussian (sigma 4 px at 32x32)",
    "noise": "uniform noise in pixel space, seeded",
    "mean": "the CIFAR-10 training-set mean color",
}


class ParamError(ValueError):
    """A parameter out of its bounds; the message is meant for the user."""


@dataclass(frozen=True)
class Params:
    """Settings shared by the methods; the defaults reproduce the Captum tutorial."""

    n_steps: int = 50
    nt_samples: int = 100
    stdevs: float = 0.2
    seed: int = 0
    baseline: str = "zeros"
    occlusion_window: int = 4
    occlusion_stride: int = 2
    shap_samples: int = 20

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


INT_BOUNDS: dict[str, tuple[int, int]] = {
    "n_steps": (1, 500),
    "nt_samples": (1, 500),
    "seed": (0, 2**31 - 1),
    "occlusion_window": (1, 32),
    "occlusion_stride": (1, 32),
    "shap_samples": (1, 200),
}
STDEVS_BOUNDS = (0.0, 5.0)
MAX_COST = 20_000  # n_steps * nt_samples; the tutorial's setting costs 5,000


def _as_int(name: str, value: Any) -> int:
    low, high = INT_BOUNDS[name]
    if isinstance(value, bool):
        raise ParamError(f"{name} must be a whole number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParamError(f"{name} must be a whole number, got {value!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise ParamError(f"{name} must be a whole number, got {value!r}")
    if not low <= number <= high:
        raise ParamError(f"{name} must be between {low} and {high}, got {int(number)}")
    return int(number)


def _as_stdevs(value: Any) -> float:
    low, high = STDEVS_BOUNDS
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParamError(f"stdevs must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or not low <= number <= high:
        raise ParamError(f"stdevs must be a number between {low} and {high}, got {value!r}")
    return number


def make_params(**overrides: Any) -> Params:
    """Validated `Params`; unknown names, bad types, out-of-range values raise `ParamError`."""
    known = {field.name for field in fields(Params)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ParamError(
            f"unknown parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if name == "stdevs":
            values[name] = _as_stdevs(value)
        elif name == "baseline":
            if not isinstance(value, str) or value not in BASELINES:
                raise ParamError(f"unknown baseline {value!r}; choose from {', '.join(BASELINES)}")
            values[name] = value
        else:
            values[name] = _as_int(name, value)
    return replace(Params(), **values)


def check_for_methods(params: Params, methods: Iterable[str]) -> None:
    """The limits that depend on which methods run: IG alone may take 500 steps, and an
    Occlusion stride only matters (and must not skip pixels) when Occlusion runs."""
    if "ig_smoothgrad_sq" in methods:
        cost = params.n_steps * params.nt_samples
        if cost > MAX_COST:
            raise ParamError(
                f"IG + SmoothGrad² runs n_steps x nt_samples = {cost:,} rows, which exceeds "
                f"the limit of {MAX_COST:,}; lower one of them"
            )
    if "occlusion" in methods and params.occlusion_stride > params.occlusion_window:
        raise ParamError(
            f"occlusion_stride ({params.occlusion_stride}) must not exceed occlusion_window "
            f"({params.occlusion_window}): a larger stride would leave pixels never occluded"
        )
