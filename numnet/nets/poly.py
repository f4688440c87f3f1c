"""PolyNet's PolyInception stages (Zhang et al., CVPR 2017), built as the paper writes them.

After the stage's entry block (an Euler step through its shortcut, as in every numnet
stage) each step is one PolyInception module on the state x:

- ``"poly2"``  x + F(x) + F(F(x))  — one block F applied twice (shared weights): the
  second-order truncation of backward Euler's Neumann series (I − F)^{−1} = I + F + F² + …;
- ``"2way"``   x + F(x) + G(x)     — two blocks side by side;
- ``"mpoly"``  x + F(x) + G(F(x))  — two blocks, G fed F's output.

F(F(x)) is F evaluated at F(x), not at x + F(x): for a nonlinear F poly-2 is *not* the
fixed-point backward-Euler step u + F(u + F(u)) (that is ``scheme_net("backward_euler")``
and, as an explicit scheme, ``schemes.get("poly2")``); the two agree for linear F only.

>>> import torch
>>> from numnet.nets.blocks import LinearField
>>> F = LinearField(1, torch.tensor([[0.5]]))
>>> stage = PolyStage([F], "poly2", entry=False)
>>> stage(torch.ones(1, 1, 1, 1)).flatten().tolist()   # 1 + 0.5 + 0.25
[1.75]
"""

from __future__ import annotations

import torch.nn as nn

from .. import schemes
from .stage import _projects, entry_step
from .steps import LMMRule

POLY_KINDS = {"poly2": 1, "2way": 2, "mpoly": 2}
"""PolyInception kinds → blocks per module."""


def poly_module(kind: str, x, F, G=None):
    """One PolyInception module on ``x`` (see the module docstring); plain sums, so it
    runs on tensors and on sympy expressions alike.

    >>> poly_module("mpoly", 2.0, lambda v: 3 * v, lambda v: v + 1)   # 2 + 6 + 7
    15.0
    """
    if kind == "poly2":
        f = F(x)
        return x + f + F(f)
    if kind == "2way":
        return x + F(x) + G(x)
    if kind == "mpoly":
        f = F(x)
        return x + f + G(f)
    raise ValueError(f"PolyInception kind must be one of {list(POLY_KINDS)}, got {kind!r}")


class PolyStage(nn.Module):
    """An entry block, then PolyInception modules of ``kind`` over the remaining blocks
    (one block per module for poly-2, two for 2-way and mpoly)."""

    def __init__(self, blocks, kind: str = "poly2", *, entry: bool = True):
        super().__init__()
        if kind not in POLY_KINDS:
            raise ValueError(f"PolyInception kind must be one of {list(POLY_KINDS)}, got {kind!r}")
        blocks = list(blocks)
        per, first = POLY_KINDS[kind], 1 if entry else 0
        if not blocks or len(blocks) < first or (len(blocks) - first) % per:
            raise ValueError(f"a {kind} stage takes {per} block(s) per module after {first} entry block(s); "
                             f"{len(blocks)} blocks do not split so (choose a depth whose blocks per stage "
                             f"minus {first} are a multiple of {per})")
        self.kind, self.entry = kind, entry
        self.blocks = nn.ModuleList(blocks)
        self.euler = LMMRule(schemes.get("ab1"))
        self.plan = ((("entry", (0,)),) if entry else ()) + tuple(
            (kind, tuple(range(b, b + per))) for b in range(first, len(blocks), per))

    def forward(self, x):
        for kind, idx in self.plan:
            if kind == "entry":
                x = entry_step(self.blocks[0], x, self.euler, self.euler.values())[-1][0]
            else:
                x = poly_module(kind, x, *(self.blocks[i] for i in idx))
        return x

    # -- the bridge back to numerics -------------------------------------------------
    def step_records(self) -> list:
        """Per module: the scheme of its linear, shared-block reading — ``poly2`` for
        poly-2 and mpoly (G = F), the two-stage explicit method b = (1, 1), c = (0, 0)
        for 2-way (exact for any F, G: each stage has its own block)."""
        two_way = schemes.RungeKutta([[0, 0], [0, 0]], [1, 1], name="poly_2way")
        reading = {"entry": self.euler.scheme, "poly2": schemes.get("poly2"), "mpoly": schemes.get("poly2"),
                   "2way": two_way}
        return [{"kind": kind, "block": idx[0], "blocks": idx, "scheme": reading[kind], "values": {}}
                for kind, idx in self.plan]

    def branches(self) -> list:
        """Per module ``(F, 1.0)``; ``None`` for an entry block that changes the shape."""
        return [(None if kind == "entry" and _projects(self.blocks[0]) else self.blocks[idx[0]], 1.0)
                for kind, idx in self.plan]

    def extra_repr(self) -> str:
        return f"kind={self.kind}, blocks={len(self.blocks)}, modules={sum(k != 'entry' for k, _ in self.plan)}"
