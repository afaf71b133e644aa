"""The exactness contract for the path methods, and the check that holds a float32 map to it.

The ground truth is the exact answer: the same method, steps and noise draws, in float64.
A float32 computation of it differs from it in two ways, and only two:

1. Rounding. With its branches fixed, a map is a sum of products of the weights: float32 gets
   it to within a few units of float32 rounding, relative to the map's largest magnitude.
2. Branches. `Net` is piecewise linear: each ReLU is on or off, and each max-pool window sends
   the gradient to one winner. Where a path point lies within float32 rounding of such a
   boundary (a near tie), float32 arithmetic may take the other branch, and that point's
   gradient is then the one from the other side: equally legitimate, and a different number.
   Which points flip depends on the CPU, its vector kernels and the thread count, for Captum's
   float32 code as for ours: no float32 implementation is exact on every machine.

So, for Saliency (one point), Integrated Gradients (n_steps points) and IG + SmoothGrad²
(nt_samples x n_steps points), the contract is: the float32 map equals the exact map with at
most k path points' gradients taken from the other side of a near tie, to within ROUNDING of
the map's largest magnitude. Which points are near ties is decided in float64, so it is the
same on every machine: a branch whose margin is within NEAR_TIE units of float32 rounding of
the values it compares (each value's rounding scale being the sum of the magnitudes of the
products it adds up, carried layer by layer). The multiples are several times the largest
margin measured to flip, over all 20 bundled images and oneDNN's SSE4.1, AVX2 and AVX-512
kernels, with one and two threads.

`PathCheck` computes the exact map, its near-tie points and each one's other gradients, and
finds the flips that explain a float32 map best. A wrong target, baseline, noise level or path
point, or a map off by 0.1 %, leaves a residual far beyond rounding: the contract is broken.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from captum.attr._utils.approximation_methods import approximation_parameters

from interpret.attribution.ties import NEAR_TIE
from interpret.core.model import Net
from interpret.core.params import Params
from interpret.testing.branches import (
    Branches,
    NearTie,
    conv1_gradients,
    exact_branches,
    first_layer,
    input_gradients,
    outcomes,
    switch,
)
from interpret.testing.flip_search import best_move, fewest_flips, greedy, refine

# What float32 rounding alone may leave, relative to the map's largest magnitude.
ROUNDING = 1e-5
PATH_METHODS = ("saliency", "integrated_gradients", "ig_smoothgrad_sq")
MAX_INTEGER_PROGRAM = 4000  # flip options solved for exactly; beyond, a greedy search
RELINEARIZATIONS = 3  # searches again around the flips found (SmoothGrad² only)
# Flips' cross terms are products of two gradient changes: a search that leaves more than this
# (relative to the map's largest magnitude) is not worth searching again around.
CROSS_TERMS = 1e-2
MAX_SHIFTS = 64  # moves within groups of alike flips after a search
GRADIENT_ROWS = 512  # float64 points per gradient pass (memory, not speed)


@dataclass(frozen=True)
class Flip:
    """One near tie of one path point taken the other way."""

    point: int  # which near-tie point (index into `PathCheck.near`)
    tie: int  # which of its near ties
    winner: int | None  # the window position taken instead (pools)
    on: bool  # the ReLU state seen instead
    gradient_change: torch.Tensor  # other gradient - exact gradient, 3 x H x W, float64


@dataclass(frozen=True)
class NearTiePoint:
    """A path point with at least one near tie: where it is, and its exact branches."""

    sample: int
    step: int
    branches: Branches  # one row
    ties: list[NearTie]
    conv1_gradient: torch.Tensor  # exact, 1 x 6 x 28 x 28


@dataclass
class Verdict:
    """How a float32 map compares with the exact one under the contract."""

    method: str
    error: float  # max |map - exact| / max |exact|
    residual: float  # the same, once the flips that explain it best are taken into account
    flipped_points: int  # path points whose other branch explains the difference
    near_ties: int  # path points that may flip on some machine
    points: int  # path points in the map
    changes: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return self.residual <= ROUNDING

    def describe(self) -> str:
        text = f"{self.method}: {self.error:.1e} from the exact map"
        if self.flipped_points:
            text += (
                f"; {self.flipped_points} of its {self.near_ties} near-tie path points (of "
                f"{self.points}) took the other branch, leaving {self.residual:.1e}"
            )
        return text + (" (holds)" if self.holds else f": BROKEN, beyond {ROUNDING:.0e}")


class PathCheck:
    """The exact (float64) map of one path method on one image, and its near-tie points.

    `inputs` and `baselines` are the float32 1 x 3 x H x W tensors the float32 code was given.
    SmoothGrad²'s noise is Captum's NoiseTunnel draw (torch.manual_seed(seed), then one
    float32 torch.normal over all samples), as the tutorial and `interpret` draw it.
    """

    @torch.no_grad()
    def __init__(
        self,
        model: Net,
        method: str,
        inputs: torch.Tensor,
        target: int,
        baselines: torch.Tensor | None = None,
        n_steps: int = 50,
        nt_samples: int = 100,
        stdevs: float = 0.2,
        seed: int = 0,
        near_tie: dict[str, float] | None = None,
    ) -> None:
        if method not in PATH_METHODS:
            raise ValueError(f"{method!r} is not a path method ({', '.join(PATH_METHODS)})")
        self.model = copy.deepcopy(model).cpu()  # never move the caller's model
        self.method, self.target = method, target
        image = inputs.detach().cpu().double()
        if method == "ig_smoothgrad_sq":
            torch.manual_seed(seed)
            scale = torch.tensor(float(stdevs)).repeat((nt_samples, *image.shape[1:]))
            self.samples = image + torch.normal(0, scale).double()
        else:
            self.samples = image
        if method == "saliency":
            self.baselines = torch.zeros_like(self.samples)
            steps, alphas = [1.0], [1.0]
        else:
            self.baselines = baselines.detach().cpu().double().expand_as(self.samples)
            steps_of, alphas_of = approximation_parameters("gausslegendre")
            steps, alphas = steps_of(n_steps), alphas_of(n_steps)
        # Captum weighs the steps in float32 whatever the inputs' dtype; so does the answer.
        self.steps = torch.tensor(steps).float().double()
        self.n_steps = len(steps)
        self.points = self.samples.shape[0] * self.n_steps
        self.per_sample = torch.zeros_like(self.samples)
        self.near: list[NearTiePoint] = []
        self._flips: list[Flip] | None = None
        self._alike: list[list[int]] | None = None
        alpha = torch.tensor(alphas, dtype=torch.float64).view(1, -1, 1, 1, 1)
        samples_per_pass = max(1, GRADIENT_ROWS // self.n_steps)
        for first in range(0, self.samples.shape[0], samples_per_pass):
            self._add_samples(first, samples_per_pass, alpha, near_tie or NEAR_TIE)
        self.exact = self._combine(self.per_sample)

    @property
    def near_ties(self) -> int:
        return len(self.near)

    def _add_samples(self, first: int, count: int, alpha: torch.Tensor, near_tie) -> None:
        samples = self.samples[first : first + count]
        bases = self.baselines[first : first + count]
        start, direction, start_scale, direction_scale = first_layer(self.model, samples, bases)
        z1 = (start.unsqueeze(1) + alpha * direction.unsqueeze(1)).flatten(0, 1)
        s1 = (start_scale.unsqueeze(1) + alpha * direction_scale.unsqueeze(1)).flatten(0, 1)
        branches, ties = exact_branches(self.model, z1, s1, near_tie)
        conv1_grad = conv1_gradients(self.model, branches, self.target)
        per_point = conv1_grad.view(samples.shape[0], self.n_steps, *conv1_grad.shape[1:])
        grads = input_gradients(self.model, torch.einsum("j,sj...->s...", self.steps, per_point))
        if self.method != "saliency":
            grads = grads * (samples - bases)
        self.per_sample[first : first + count] = grads
        for point, point_ties in enumerate(ties):
            if point_ties:
                sample, step = divmod(point, self.n_steps)
                self.near.append(
                    NearTiePoint(
                        first + sample,
                        step,
                        branches.row(point),
                        point_ties,
                        conv1_grad[point : point + 1],
                    )
                )

    def _other_gradients(self, switches: list[tuple[int, list[tuple[int, int | None, bool]]]]):
        """Input-gradient changes of near-tie points with some of their ties switched:
        `switches` is [(point, [(tie, winner, on), ...]), ...]."""
        changes = []
        for chunk in _chunks(switches, GRADIENT_ROWS):
            rows = []
            for point, switched in chunk:
                other = self.near[point].branches.row(0)
                for tie, winner, on in switched:
                    switch(other, self.near[point].ties[tie], winner, on)
                rows.append(other)
            other_grad = conv1_gradients(self.model, Branches.stack(rows), self.target)
            own = torch.cat([self.near[point].conv1_gradient for point, _ in chunk])
            changes.append(input_gradients(self.model, other_grad - own))
        return torch.cat(changes) if changes else torch.zeros(0)

    @property
    @torch.no_grad()
    def flips(self) -> list[Flip]:
        """Every near tie of every near-tie point taken the other way, with its gradient.
        Computed when a check first needs them: most maps are within rounding without."""
        if self._flips is None:
            singles = [
                (point, [(tie, winner, on)])
                for point, near in enumerate(self.near)
                for tie, entry in enumerate(near.ties)
                for winner, on in outcomes(entry)
            ]
            changes = self._other_gradients(singles)
            self._flips = [
                Flip(point, tie, winner, on, change)
                for (point, [(tie, winner, on)]), change in zip(singles, changes)
            ]
        return self._flips

    @property
    def alike(self) -> list[list[int]]:
        """Flips (indices) taking one near tie the same way at several steps of one sample's
        path: one pooling window tied along a stretch of it. They move that sample's map in
        nearly one direction, so which of them float32 took shows only through their sum."""
        if self._alike is None:
            groups: dict[tuple, list[int]] = {}
            for index, flip in enumerate(self.flips):
                near = self.near[flip.point]
                tie = near.ties[flip.tie]
                key = (near.sample, tie.layer, tie.where, flip.winner, flip.on)
                groups.setdefault(key, []).append(index)
            self._alike = [members for members in groups.values() if len(members) > 1]
        return self._alike

    def describe(self, flip: Flip) -> str:
        near = self.near[flip.point]
        other = near.branches.row(0)
        words = switch(other, near.ties[flip.tie], flip.winner, flip.on)
        return f"sample {near.sample}, step {near.step}: {words}"

    def _combine(self, per_sample: torch.Tensor) -> np.ndarray:
        if self.method == "saliency":
            return per_sample[0].abs().numpy()
        if self.method == "integrated_gradients":
            return per_sample[0].numpy()
        return (per_sample**2).mean(0).numpy()

    def _sample_change(self, sample: int, step: int, gradient_change: torch.Tensor):
        """How a path point's gradient change moves its sample's map (before squaring)."""
        if self.method == "saliency":
            return gradient_change
        factor = self.samples[sample] - self.baselines[sample]
        return self.steps[step] * gradient_change * factor

    @torch.no_grad()
    def _flipped_samples(self, chosen: list[Flip]) -> torch.Tensor:
        """Each sample's map before combining, with the chosen near ties taken the other way
        (several ties of one point together, through that point's exact gradient for all of
        them at once)."""
        by_point: dict[int, list[tuple[int, int | None, bool]]] = {}
        for flip in chosen:
            by_point.setdefault(flip.point, []).append((flip.tie, flip.winner, flip.on))
        switches = list(by_point.items())
        per_sample = self.per_sample.clone()
        for (point, _), change in zip(switches, self._other_gradients(switches)):
            near = self.near[point]
            per_sample[near.sample] += self._sample_change(near.sample, near.step, change)
        return per_sample

    def with_flips(self, chosen: list[Flip]) -> np.ndarray:
        """The exact map with the chosen near ties taken the other way."""
        return self._combine(self._flipped_samples(chosen))

    def _effect(self, flip: Flip, per_sample: torch.Tensor, sign: int = 1) -> np.ndarray:
        """A flip's change of the map on its own, taken (sign 1) or undone (-1) from the samples'
        state `per_sample` (SmoothGrad²: without other flips' cross terms)."""
        near = self.near[flip.point]
        change = sign * self._sample_change(near.sample, near.step, flip.gradient_change)
        own = per_sample[near.sample]
        if self.method == "saliency":
            return ((own + change).abs() - own.abs()).numpy()
        if self.method == "integrated_gradients":
            return change.numpy()
        return ((2 * own + change) * change / self.samples.shape[0]).numpy()

    def check(self, candidate: np.ndarray) -> Verdict:
        """Does a float32 map keep the contract? Finds the flips that explain it best."""
        candidate = np.asarray(candidate, dtype=np.float64).reshape(self.exact.shape)
        scale = max(float(np.abs(self.exact).max()), 1e-300)
        error = float(np.abs(candidate - self.exact).max()) / scale
        chosen: list[int] = []
        left = error
        if error > ROUNDING and self.near:
            effects = np.stack([self._effect(flip, self.per_sample).ravel() for flip in self.flips])
            difference = (candidate - self.exact).ravel()
            # The quick search first; the integer program only where that leaves too much.
            quick = self._quick(difference, effects, self.flips, scale)
            for exhaustive in (False, True):
                found = (
                    self._fewest(difference, effects, self.flips, scale, quick)
                    if exhaustive
                    else quick
                )
                found, found_left = self._relinearized(candidate, found, scale, exhaustive)
                found, found_left = self._shifted(candidate, found, found_left, scale)
                if found_left < left:
                    chosen, left = found, found_left
                if left <= ROUNDING:
                    break
        flips = [self.flips[i] for i in chosen]
        return Verdict(
            method=self.method,
            error=error,
            residual=left,
            flipped_points=len({flip.point for flip in flips}),
            near_ties=self.near_ties,
            points=self.points,
            changes=[self.describe(flip) for flip in flips],
        )

    def _left(self, candidate: np.ndarray, chosen: list[int], scale: float) -> float:
        """What the chosen flips leave unexplained, relative to the map's largest magnitude."""
        flipped = self.with_flips([self.flips[i] for i in chosen])
        return float(np.abs(candidate - flipped).max()) / scale

    def _relinearized(
        self, candidate: np.ndarray, chosen: list[int], scale: float, exhaustive: bool
    ) -> tuple[list[int], float]:
        """SmoothGrad² squares each sample's gradient, so flips in one sample do not add up:
        search again around the flips found, toggling any of them, while that helps. The
        flips and what they leave unexplained."""
        left = self._left(candidate, chosen, scale)
        for _ in range(RELINEARIZATIONS if self.method == "ig_smoothgrad_sq" else 0):
            if left <= ROUNDING or left > CROSS_TERMS or not chosen:
                break
            toggled = self._toggled(candidate, chosen, scale, exhaustive)
            toggled_left = self._left(candidate, toggled, scale)
            if toggled_left >= left:
                break
            chosen, left = toggled, toggled_left
        return chosen, left

    def _shifted(
        self, candidate: np.ndarray, chosen: list[int], left: float, scale: float
    ) -> tuple[list[int], float]:
        """Among alike flips (`alike`) a search over summed effects may pick steps whose sum is
        near, not at, float32's: move one at a time within such a group (drop, take or swap
        one), each effect taken from the state the chosen flips make, while that helps. Only
        where such a move could close the gap: a larger one is no near miss of a sum."""
        if left <= ROUNDING:
            return chosen, left
        state = self._flipped_samples([self.flips[i] for i in chosen])
        for _ in range(MAX_SHIFTS):
            residual = (candidate - self._combine(state)).ravel()
            taken = set(chosen)
            busy = {(self.flips[i].point, self.flips[i].tie) for i in chosen}
            best: tuple[float, int | None, int | None] = (float(np.abs(residual).max()), None, None)
            reach = 0.0  # the most one move changes the map by
            for members in self.alike:
                undo = [i for i in members if i in taken]
                if not undo:
                    continue
                take = [i for i in members if (self.flips[i].point, self.flips[i].tie) not in busy]
                undone, gained = self._effects(undo, state, -1), self._effects(take, state, 1)
                reach = max(reach, float(np.abs(undone).max() + np.abs(gained).max(initial=0)))
                value, dropped, added = best_move(residual, undone, gained)
                if value < best[0]:
                    best = (
                        value,
                        None if dropped is None else undo[dropped],
                        None if added is None else take[added],
                    )
            if left * scale > reach or (best[1] is None and best[2] is None):
                break
            moved = sorted(taken.symmetric_difference(i for i in best[1:] if i is not None))
            moved_state = self._flipped_samples([self.flips[i] for i in moved])
            moved_left = float(np.abs(candidate - self._combine(moved_state)).max()) / scale
            if moved_left >= left:
                break
            chosen, left, state = moved, moved_left, moved_state
            if left <= ROUNDING:
                break
        return chosen, left

    def _effects(self, indices: list[int], state: torch.Tensor, sign: int) -> np.ndarray:
        rows = [self._effect(self.flips[i], state, sign).ravel() for i in indices]
        return np.stack(rows) if rows else np.zeros((0, self.exact.size))

    def _toggled(
        self, candidate: np.ndarray, chosen: list[int], scale: float, exhaustive: bool
    ) -> list[int]:
        """The chosen flips, with those toggled (undone, or newly taken where their near tie
        has no outcome chosen) that best explain what they leave, each effect taken from the
        state the chosen flips make."""
        state = self._flipped_samples([self.flips[i] for i in chosen])
        busy = {(self.flips[i].point, self.flips[i].tie) for i in chosen}
        taken = set(chosen)
        toggles = [
            i
            for i, flip in enumerate(self.flips)
            if i in taken or (flip.point, flip.tie) not in busy
        ]
        effects = np.stack(
            [self._effect(self.flips[i], state, -1 if i in taken else 1).ravel() for i in toggles]
        )
        difference = (candidate - self._combine(state)).ravel()
        options = [self.flips[i] for i in toggles]
        found = self._quick(difference, effects, options, scale)
        if exhaustive:
            found = self._fewest(difference, effects, options, scale, found)
        return sorted(taken.symmetric_difference(toggles[i] for i in found))

    @staticmethod
    def _explains(difference: np.ndarray, effects: np.ndarray, chosen: list[int], scale: float):
        return np.abs(difference - effects[chosen].sum(0)).max() / scale <= ROUNDING / 2

    def _quick(
        self, difference: np.ndarray, effects: np.ndarray, options: list[Flip], scale: float
    ) -> list[int]:
        """Options (at most one outcome per near tie) whose effects explain `difference`:
        greedy least squares refined by single moves."""
        chosen = greedy(difference, effects, options)
        if not self._explains(difference, effects, chosen, scale):
            chosen = refine(difference, effects, options, chosen)
        return chosen

    def _fewest(
        self,
        difference: np.ndarray,
        effects: np.ndarray,
        options: list[Flip],
        scale: float,
        quick: list[int],
    ) -> list[int]:
        """Where the quick search's options leave more than rounding (many near ties acting
        alike, e.g. one window at many steps of a path), the fewest that explain it, as an
        integer program (HiGHS, through scipy); else, or if none does, the quick ones."""
        if self._explains(difference, effects, quick, scale) or len(options) > MAX_INTEGER_PROGRAM:
            return quick
        ties: dict[tuple[int, int], list[int]] = {}
        for index, option in enumerate(options):
            ties.setdefault((option.point, option.tie), []).append(index)
        for slack in (ROUNDING / 10, ROUNDING / 2):  # tight first: the likeliest flips
            fewest = fewest_flips(difference / scale, effects / scale, list(ties.values()), slack)
            if fewest is not None:
                return fewest
        return quick


def _chunks(items: list, size: int) -> Iterator[list]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


def path_check(
    model: Net,
    key: str,
    inputs: torch.Tensor,
    target: int,
    baselines: torch.Tensor | None,
    params: Params,
) -> PathCheck:
    """`PathCheck` for a method key and `interpret.Params`, as `explain` runs them."""
    return PathCheck(
        model,
        key,
        inputs,
        target,
        baselines,
        n_steps=params.n_steps,
        nt_samples=params.nt_samples,
        stdevs=params.stdevs,
        seed=params.seed,
    )
