"""Stochastic depth (Huang et al., 2016) for any scheme: blocks dropped at random in training.

Two schedules (:data:`SCHEDULES`), each with its own scaling:

- ``"official"`` — the LM-ResNet authors' code (github.com/2prime/LM-ResNet, ``MResNet``
  with ``BasicBlockWithDeathRate``, e.g. ``MResNetSD110``):
  ``death_rates=[i/(n-1)*(1-PL) for i in range(n)]`` over the n blocks, and in
  ``BasicBlockWithDeathRate.forward`` ``if self.training: out /= (1. - self.death_rate)``
  for a kept block. Block i = 0 … L−1 survives with p_i = 1 − i/(L−1)·(1 − p_L) (the first
  always, the last with p_L), in the *inverted* form: a kept block's f-value is scaled by
  1/p_i in training, so E[f̃] = f, and evaluation uses the plain f. The default of LM nets.
- ``"huang"`` — Huang et al.'s: block l = 1 … L survives with p_l = 1 − (l/L)(1 − p_L), a
  kept block's f is used as it is in training and evaluation scales it by its expectation,
  f·p_l. The default of the other nets.

A drop acts on the block, not on one evaluation: every f-value the block gives in one
forward pass (RK stages, implicit iterations) shares it.

Modes: ``"batch"`` drops the block for the whole mini-batch (Huang et al.; the LM-ResNet
paper's stochastic nets) and skips its computation; ``"sample"`` draws one Bernoulli per
example (as torchvision's ``stochastic_depth(mode="row")``), without data-dependent
control flow, so it suits ``torch.compile``.

>>> [round(p, 3) for p in survival_probabilities(4, 0.5)]
[0.875, 0.75, 0.625, 0.5]
>>> [round(p, 3) for p in survival_probabilities(5, 0.5, "official")]
[1.0, 0.875, 0.75, 0.625, 0.5]
"""

from __future__ import annotations

import torch

from .steps import DROPPED

MODES = ("batch", "sample")

PAPER_P_L = {56: 0.8, 110: 0.5}
"""p_L used by the LM-ResNet paper (Lu et al., 2018) for its stochastic nets, by depth."""


SCHEDULES = {"official": True, "huang": False}
"""Schedule name → whether it is inverted (kept f scaled by 1/p in training, plain f at
test) rather than scaled by its expectation p at test time."""


def check_schedule(schedule) -> str:
    if schedule not in SCHEDULES:
        raise ValueError(f"stochastic depth schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
    return schedule


def survival_probabilities(n_blocks: int, p_L: float, schedule: str = "huang") -> list:
    """Huang et al.'s p_l = 1 − (l/L)(1 − p_L), l = 1 … L, or the official LM-ResNet code's
    p_i = 1 − i/(L−1)·(1 − p_L), i = 0 … L−1 (L ≥ 2: its death rates divide by L − 1)."""
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 1:
        raise ValueError(f"n_blocks must be a positive integer, got {n_blocks!r}")
    check_p_L(p_L)
    if check_schedule(schedule) == "huang":
        return [1.0 - (l / n_blocks) * (1.0 - p_L) for l in range(1, n_blocks + 1)]
    if n_blocks < 2:
        raise ValueError("the official schedule's death rates i/(L-1)*(1-p_L) need L >= 2 blocks, got 1")
    return [1.0 - (i / (n_blocks - 1)) * (1.0 - p_L) for i in range(n_blocks)]


def check_p_L(p_L) -> float:
    if isinstance(p_L, bool) or not isinstance(p_L, (int, float)) or not 0.0 < p_L <= 1.0:
        raise ValueError(f"stochastic depth survival probability p_L must be in (0, 1], got {p_L!r}")
    return float(p_L)


def paper_p_L(depth: int) -> float:
    """p_L of the LM-ResNet paper for ``depth`` (56 → 0.8, 110 → 0.5).

    >>> paper_p_L(110)
    0.5
    >>> paper_p_L(20)
    Traceback (most recent call last):
    ...
    ValueError: the LM-ResNet paper gives p_L for depths [56, 110] only, got 20; pass stochastic_depth=<p_L>
    """
    if depth not in PAPER_P_L:
        raise ValueError(
            f"the LM-ResNet paper gives p_L for depths {sorted(PAPER_P_L)} only, got {depth}; pass stochastic_depth=<p_L>"
        )
    return PAPER_P_L[depth]


def sample_gates(survival, like: torch.Tensor, mode: str, inverted: bool = True) -> list:
    """One gate per block for one training forward pass: None (always kept, or kept
    unscaled), :data:`~numnet.nets.steps.DROPPED`, the float 1/p (batch mode, kept,
    inverted) or a per-example mask with entries 0 or 1/p (sample mode; 0 or 1 when not
    inverted)."""
    gates = []
    for p in survival:
        if p >= 1.0:
            gates.append(None)
        elif mode == "batch":
            gates.append(DROPPED if not bool(torch.rand(()) < p) else 1.0 / p if inverted else None)
        else:
            shape = (like.shape[0],) + (1,) * (like.dim() - 1)
            mask = torch.empty(shape, dtype=like.dtype, device=like.device).bernoulli_(p)
            gates.append(mask.div_(p) if inverted else mask)
    return gates


def eval_gates(survival, inverted: bool) -> list:
    """The gates of an evaluation pass: none for the inverted form, the expectation p
    otherwise (Huang et al.'s test-time scaling).

    >>> eval_gates([1.0, 0.75], inverted=False), eval_gates([1.0, 0.75], inverted=True)
    ([None, 0.75], [None, None])
    """
    return [None if inverted or p >= 1.0 else p for p in survival]


def gated(block, gate):
    """The vector field of ``block`` under ``gate``: f, f·gate, or DROPPED (not computed).

    >>> gated(torch.nn.Identity(), DROPPED)(torch.ones(1)) is DROPPED
    True
    """
    if gate is DROPPED:
        return lambda u: DROPPED
    if gate is None:
        return block
    return lambda u: block(u) * gate
