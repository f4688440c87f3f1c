"""A continuous-depth baseline: the same vector field integrated by torchdiffeq.

:class:`ODEBlock` integrates u' = F(u) with one block F over [0, T] with
``torchdiffeq.odeint`` (or ``odeint_adjoint``, which recomputes instead of storing). The
method is named by a numnet scheme and mapped to the torchdiffeq solver *with the same
tableau* — matched by coefficients, not by name, because names differ: torchdiffeq's
``"rk4"`` is Kutta's 3/8 rule (numnet ``rk38``), its ``"heun2"`` is Heun's method. The
classic RK4 has no torchdiffeq twin and gets a clear error.

>>> torchdiffeq_method("rk38"), torchdiffeq_method("ssprk2"), torchdiffeq_method("dormand_prince")
('rk4', 'heun2', 'dopri5')
>>> torchdiffeq_method("rk4")
Traceback (most recent call last):
...
ValueError: torchdiffeq has no solver with the tableau of rk4; schemes with one: euler -> euler, explicit_midpoint -> midpoint, heun -> heun2, rk38 -> rk4, bogacki_shampine -> bosh3, dormand_prince -> dopri5 (torchdiffeq's 'rk4' is the 3/8 rule, numnet's rk38)
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .. import schemes
from .stage import entry_step
from .steps import LMMRule

_TWINS = (  # numnet scheme -> torchdiffeq method with the same Butcher tableau
    ("euler", "euler"),
    ("explicit_midpoint", "midpoint"),
    ("heun", "heun2"),
    ("rk38", "rk4"),
    ("bogacki_shampine", "bosh3"),
    ("dormand_prince", "dopri5"),
)
FIXED_GRID = ("euler", "midpoint", "heun2", "rk4")


def _same_tableau(a, b) -> bool:
    return a.kind == b.kind == "RK" and a.stages == b.stages and a.A == b.A and tuple(a.b) == tuple(b.b)


def torchdiffeq_method(scheme) -> str:
    """The torchdiffeq method whose tableau is ``scheme``'s (a name or a scheme object)."""
    if isinstance(scheme, str):
        scheme = schemes.get(scheme)
    if getattr(scheme, "kind", None) == "LMM" and not scheme.free_symbols and scheme.alpha == schemes.get("ab1").alpha \
            and scheme.beta == schemes.get("ab1").beta:
        return "euler"
    for name, method in _TWINS:
        if _same_tableau(scheme, schemes.get(name)):
            return method
    known = ", ".join(f"{n} -> {m}" for n, m in _TWINS)
    raise ValueError(
        f"torchdiffeq has no solver with the tableau of {getattr(scheme, 'name', scheme)}; schemes with one: {known} "
        f"(torchdiffeq's 'rk4' is the 3/8 rule, numnet's rk38)"
    )


class _Autonomous(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block
        self.nfe = 0

    def forward(self, t, u):
        self.nfe += 1
        return self.block(u)


class ODEBlock(nn.Module):
    """u(T) for u' = F(u), u(0) = u_0, with F = ``block``, integrated by torchdiffeq.

    Fixed-grid methods (euler, midpoint, heun2, rk4) take steps of size ``h`` (T must be
    a multiple); adaptive ones (bosh3, dopri5) use ``rtol``/``atol``. ``adjoint=True``
    uses ``odeint_adjoint`` (memory flat in the number of steps, gradients by a backward
    solve).

    >>> blk = ODEBlock(nn.Conv2d(2, 2, 1), "explicit_midpoint", t_end=1.0, h=0.25)
    >>> blk(torch.randn(1, 2, 3, 3)).shape, blk.func.nfe
    (torch.Size([1, 2, 3, 3]), 8)
    """

    def __init__(self, block, scheme="dormand_prince", *, t_end: float = 1.0, h: float = 1.0,
                 adjoint: bool = False, rtol: float = 1e-3, atol: float = 1e-4):
        super().__init__()
        self.method = torchdiffeq_method(scheme)
        self.scheme = schemes.get(scheme) if isinstance(scheme, str) else scheme
        if not t_end > 0 or not h > 0:
            raise ValueError(f"t_end and h must be positive, got t_end={t_end!r}, h={h!r}")
        if self.method in FIXED_GRID and abs(round(t_end / h) * h - t_end) > 1e-12 * t_end:
            raise ValueError(f"t_end={t_end} must be a multiple of the step h={h} for the fixed-grid method {self.method}")
        self.func = _Autonomous(block)
        self.t_end, self.h, self.adjoint, self.rtol, self.atol = float(t_end), float(h), bool(adjoint), rtol, atol

    def forward(self, u):
        import torchdiffeq

        t = torch.tensor([0.0, self.t_end], dtype=torch.float32 if u.dtype in (torch.float16, torch.bfloat16) else u.dtype,
                         device=u.device)
        options = {"step_size": self.h} if self.method in FIXED_GRID else None
        solve = torchdiffeq.odeint_adjoint if self.adjoint else torchdiffeq.odeint
        return solve(self.func, u, t, method=self.method, options=options, rtol=self.rtol, atol=self.atol)[-1]


class ODEStage(nn.Module):
    """Entry step (an Euler step through the first block's shortcut, as in
    :class:`~numnet.nets.stage.SchemeStage`) followed by an :class:`ODEBlock` over the
    second block."""

    def __init__(self, entry, block, scheme, **ode_options):
        super().__init__()
        self.blocks = nn.ModuleList([entry])
        self.ode = ODEBlock(block, scheme, **ode_options)
        self._euler = LMMRule(schemes.get("ab1"), ode_options.get("h", 1.0))

    def forward(self, u):
        return self.ode(entry_step(self.blocks[0], u, self._euler, self._euler.values())[-1][0])

    def branches(self) -> list:
        """``(module, h)`` per record: the entry block with its Euler step, and the ODE's
        field with its fixed step (``None`` for an adaptive method: no single h)."""
        ode = self.ode.func.block if self.ode.method in FIXED_GRID else None
        return [(self.blocks[0], float(self._euler.h)), (ode, self.ode.h)]

    def step_records(self) -> list:
        return [
            {"kind": "entry", "block": 0, "blocks": (0,), "scheme": self._euler.scheme, "values": {}},
            {"kind": "ode", "block": 1, "blocks": (1,), "scheme": self.ode.scheme, "values": {}},
        ]
