"""Which branch each point of a path takes through `Net`, in float64, and which are near ties.

`Net` is piecewise linear: once every ReLU state and every max-pool winner is fixed, it is a
linear map, and its gradient is the transposed map applied to one logit. This module finds
those branches for many points at once (conv1 is linear along a path, so it runs once per
image), the near ties among them (a margin within a few units of float32 rounding of the values
compared), and the gradient through any chosen branches: what `interpret.testing.exactness` needs to
say which float32 maps are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from interpret.attribution.ties import EXACT_TIE, UNIT_ROUNDOFF, windows
from interpret.core.model import Net


@dataclass(frozen=True)
class Branches:
    """The branches a pass of `Net` takes, per point (the first axis of each)."""

    pool1: torch.Tensor  # winner's flat index in conv1's output plane, M x 6 x 14 x 14
    gate1: torch.Tensor  # the winner is positive (its ReLU is on); same shape
    pool2: torch.Tensor  # M x 16 x 5 x 5
    gate2: torch.Tensor
    relu3: torch.Tensor  # M x 120
    relu4: torch.Tensor  # M x 84

    def row(self, index: int) -> Branches:
        return Branches(*(part[index : index + 1].clone() for part in self._parts()))

    def _parts(self) -> tuple[torch.Tensor, ...]:
        return (self.pool1, self.gate1, self.pool2, self.gate2, self.relu3, self.relu4)

    @staticmethod
    def stack(rows: list[Branches]) -> Branches:
        return Branches(*(torch.cat(parts) for parts in zip(*(b._parts() for b in rows))))


@dataclass(frozen=True)
class NearTie:
    """One branch of one point within float32 rounding of its boundary."""

    layer: str  # pool1, pool2, relu3, relu4
    where: tuple[int, ...]  # (channel, row, column) of a pooling window, or (unit,)
    winners: tuple[int, ...]  # window positions 0-3 float32 may pick; the exact one first
    gates: tuple[bool, ...]  # ReLU states float32 may see; the exact one first


def _gather(values: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Each window's value at a flat plane index (PyTorch's max-pool indices)."""
    return values.flatten(2).gather(2, indices.flatten(2)).view_as(indices)


def first_winners(z: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Each 2x2 window's winner as a flat plane index (max-pooling's indices): the first
    maximum, values within float64 rounding of each other counting as equal. (Float64 itself
    breaks an exact tie, as in a flat image region, by the luck of its own rounding.)"""
    values = windows(z)
    top = values.amax(-1, keepdim=True)
    tolerance = windows(scale).amax(-1, keepdim=True) * EXACT_TIE
    position = (values >= top - tolerance).to(torch.int8).argmax(-1)
    height, width = position.shape[-2:]
    rows = torch.arange(height, device=z.device).view(-1, 1) * 2 + position // 2
    columns = torch.arange(width, device=z.device).view(1, -1) * 2 + position % 2
    return rows * z.shape[-1] + columns


def _pool_ties(z: torch.Tensor, scale: torch.Tensor, winners: torch.Tensor, tie: float):
    """(point, NearTie fields) for every pooling window of `z` that has a near tie."""
    values, tolerance = windows(z), windows(scale).amax(-1) * tie
    top = values.amax(-1)
    first_max = values.argmax(-1)  # where the gradient goes when the window is on
    width = z.shape[-1]
    exact = ((winners // width) % 2) * 2 + (winners % width) % 2
    exact = torch.where(top > 0, exact, first_max)
    rivals = (top.unsqueeze(-1) - values < tolerance.unsqueeze(-1)) & (top > -tolerance).unsqueeze(
        -1
    )
    near_gate = top.abs() < tolerance
    for point, *where in torch.nonzero((rivals.sum(-1) > 1) | near_gate).tolist():
        index = (point, *where)
        first = int(exact[index])
        others = [p for p in torch.nonzero(rivals[index]).flatten().tolist() if p != first]
        on = bool(top[index] > 0)
        yield point, tuple(where), (first, *others), (on, not on) if near_gate[index] else (on,)


def first_layer(
    model: Net, samples: torch.Tensor, bases: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """conv1 along each path, which is linear in the step: conv1(b + a(x - b)) = start +
    a * direction, and likewise its rounding scale (for |b| + a|x - b|, how float32 code may
    have formed the point): (start, direction, start_scale, direction_scale), float64."""
    weight, bias = model.conv1.weight.double(), model.conv1.bias.double()
    return (
        F.conv2d(bases, weight, bias),
        F.conv2d(samples - bases, weight),
        F.conv2d(bases.abs(), weight.abs(), bias.abs()),
        F.conv2d((samples - bases).abs(), weight.abs()),
    )


def exact_branches(
    model: Net, z1: torch.Tensor, s1: torch.Tensor, near_tie: dict[str, float]
) -> tuple[Branches, list[list[NearTie]]]:
    """The branches PyTorch takes in float64 after conv1 (its output `z1`, rounding scale
    `s1`) for each point, and the near ties among them."""
    w2, b2 = model.conv2.weight.double(), model.conv2.bias.double()
    w3, b3 = model.fc1.weight.double(), model.fc1.bias.double()
    w4, b4 = model.fc2.weight.double(), model.fc2.bias.double()
    pool1 = first_winners(z1, s1)
    gate1 = _gather(z1, pool1) > 0
    pooled1 = _gather(z1, pool1) * gate1
    z2 = F.conv2d(pooled1, w2, b2)
    s2 = F.conv2d(pooled1.abs() + windows(s1).amax(-1), w2.abs(), b2.abs())
    pool2 = first_winners(z2, s2)
    gate2 = _gather(z2, pool2) > 0
    pooled2 = (_gather(z2, pool2) * gate2).flatten(1)
    z3 = F.linear(pooled2, w3, b3)
    s3 = F.linear(pooled2.abs() + windows(s2).amax(-1).flatten(1), w3.abs(), b3.abs())
    a3 = F.relu(z3)
    z4 = F.linear(a3, w4, b4)
    s4 = F.linear(a3 + s3, w4.abs(), b4.abs())
    ties: list[list[NearTie]] = [[] for _ in range(z1.shape[0])]
    for layer, z, s, winners in (("pool1", z1, s1, pool1), ("pool2", z2, s2, pool2)):
        tie = near_tie[layer] * UNIT_ROUNDOFF
        for point, where, options, gates in _pool_ties(z, s, winners, tie):
            ties[point].append(NearTie(layer, where, options, gates))
    for layer, z, s in (("relu3", z3, s3), ("relu4", z4, s4)):
        for point, unit in torch.nonzero(z.abs() < s * near_tie[layer] * UNIT_ROUNDOFF).tolist():
            on = bool(z[point, unit] > 0)
            ties[point].append(NearTie(layer, (unit,), (), (on, not on)))
    return Branches(pool1, gate1, pool2, gate2, z3 > 0, z4 > 0), ties


def conv1_gradients(model: Net, branches: Branches, target: int) -> torch.Tensor:
    """d output[target] / d conv1's output, float64, through the given branches: once they
    are fixed `Net` is linear, so this is the transposed network applied to one logit."""
    rows = branches.relu4.shape[0]
    grad = model.fc3.weight.double()[target].expand(rows, -1) * branches.relu4
    grad = (grad @ model.fc2.weight.double()) * branches.relu3
    grad = (grad @ model.fc1.weight.double()).view(rows, 16, 5, 5) * branches.gate2
    grad = F.max_unpool2d(grad, branches.pool2, 2, output_size=(10, 10))
    grad = F.conv_transpose2d(grad, model.conv2.weight.double()) * branches.gate1
    return F.max_unpool2d(grad, branches.pool1, 2, output_size=(28, 28))


def input_gradients(model: Net, conv1_grad: torch.Tensor) -> torch.Tensor:
    """Back through conv1 (linear): conv1's output gradient -> the input's."""
    return F.conv_transpose2d(conv1_grad, model.conv1.weight.double())


def switch(branches: Branches, tie: NearTie, winner: int | None, on: bool) -> str:
    """Set one near tie of a one-point `branches` to (winner, on), in place; describe it."""
    if tie.layer in ("relu3", "relu4"):
        getattr(branches, tie.layer)[(0, *tie.where)] = on
        return f"{tie.layer} unit {tie.where[0]} {'on' if on else 'off'}"
    plane = branches.pool1 if tie.layer == "pool1" else branches.pool2
    gate = branches.gate1 if tie.layer == "pool1" else branches.gate2
    channel, row, col = tie.where
    width = plane.shape[-1] * 2
    plane[0, channel, row, col] = (row * 2 + winner // 2) * width + col * 2 + winner % 2
    gate[0, channel, row, col] = on
    return f"{tie.layer} window {tie.where} -> {winner}" + ("" if on else " (off)")


def outcomes(tie: NearTie) -> list[tuple[int | None, bool]]:
    """The (winner, ReLU state) pairs float32 code may see at a near tie, but the exact one."""
    winners = tie.winners or (None,)
    exact = (winners[0], tie.gates[0])
    return [(w, on) for w in winners for on in tie.gates if (w, on) != exact]
