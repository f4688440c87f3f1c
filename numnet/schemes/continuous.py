"""Continuous extensions (dense output) of Runge–Kutta tableaux, as exact data.

A continuous extension gives y(t₀ + θh) = y₀ + h Σ_i b_i(θ) k_i from a step's own stages,
with polynomial weights b_i(θ) = Σ_k P[i, k] θ^(k+1) and b_i(1) = b_i. Its order on
[0, 1] is that of the RK method (A/θ, b(θ)/θ) — the step of length θh — so it is checked
by the ordinary Butcher conditions (:func:`order`).

- Dormand–Prince 5(4): the order-4 interpolant of Dormand & Prince / Shampine (1986) as in
  Hairer's ``dopri5`` and scipy's ``RK45`` (its coefficients, as exact rationals).

>>> from numnet import schemes
>>> P = weights(schemes.get("dormand_prince"))
>>> P.shape, order(schemes.get("dormand_prince"))
((7, 4), 4)
>>> weights(schemes.get("rk4")) is None
True
"""

from __future__ import annotations

import functools

import sympy as sp

THETA = sp.Symbol("theta")

_R = sp.Rational
_DATA = {
    "dormand_prince": [
        [1, _R(-8048581381, 2820520608), _R(8663915743, 2820520608), _R(-12715105075, 11282082432)],
        [0, 0, 0, 0],
        [0, _R(131558114200, 32700410799), _R(-68118460800, 10900136933), _R(87487479700, 32700410799)],
        [0, _R(-1754552775, 470086768), _R(14199869525, 1410260304), _R(-10690763975, 1880347072)],
        [0, _R(127303824393, 49829197408), _R(-318862633887, 49829197408), _R(701980252875, 199316789632)],
        [0, _R(-282668133, 205662961), _R(2019193451, 616988883), _R(-1453857185, 822651844)],
        [0, _R(40617522, 29380423), _R(-110615467, 29380423), _R(69997945, 29380423)],
    ],
}


def weights(scheme):
    """The exact matrix P (stages × degree) of ``scheme``'s continuous extension, or None
    when the catalog knows none for it (the tableau must equal the catalog's exactly)."""
    return _weights(scheme.name, tuple(scheme.A), tuple(scheme.b)) if getattr(scheme, "kind", None) == "RK" else None


@functools.lru_cache(maxsize=None)
def _weights(name, A, b):
    from .catalog import get

    if name not in _DATA:
        return None
    ref = get(name)
    if tuple(ref.A) != A or tuple(ref.b) != b:
        return None
    return sp.Matrix(_DATA[name])


def polynomials(scheme):
    """b_i(θ) as sympy polynomials in ``THETA``."""
    P = weights(scheme)
    if P is None:
        return None
    return [sp.expand(sum(P[i, k] * THETA ** (k + 1) for k in range(P.shape[1]))) for i in range(P.shape[0])]


def order(scheme, p_max=6):
    """The largest p ≤ ``p_max`` for which every Butcher condition of (A/θ, b(θ)/θ) holds
    identically in θ (None without an extension)."""
    from .rk import RungeKutta

    bt = polynomials(scheme)
    if bt is None:
        return None
    s = len(bt)
    A = [[scheme.A[i, j] / THETA for j in range(s)] for i in range(s)]
    method = RungeKutta(A, [x / THETA for x in bt], c=[sum(A[i]) for i in range(s)], name="extension")
    p = 0
    for q in range(1, p_max + 1):
        conds = method.order_conditions(q)
        if not all(c is sp.true or (isinstance(c, sp.Eq) and sp.cancel(c.lhs - c.rhs) == 0) for c in conds):
            break
        p = q
    return p
