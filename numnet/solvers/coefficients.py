"""Floating-point coefficient tables read from a scheme's step plan (never typed here).

Every number and every layout fact (which terms are non-zero, FSAL, implicitness) comes
from :func:`numnet.schemes.plan.plan_of`, the plan the nets layer reads too: the values are
the exact sympy entries evaluated to 30 digits and rounded once to float64. The tables are
cached per scheme object.

>>> from numnet import schemes
>>> rk = tableau(schemes.get("rk4"))
>>> rk.b.tolist(), rk.explicit
([0.16666666666666666, 0.3333333333333333, 0.3333333333333333, 0.16666666666666666], True)
>>> lmm = tableau(schemes.get("ab2"))
>>> lmm.alpha.tolist(), lmm.beta.tolist()
([0.0, -1.0, 1.0], [-0.5, 1.5, 0.0])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from numnet.schemes.plan import plan_of


@dataclass(frozen=True, eq=False)
class RKTableau:
    """A Butcher tableau as float64 arrays plus what the steppers derive from it.

    ``d`` = bᵀA⁻¹ when A is invertible (the stiffly robust update of implicit methods);
    ``fsal``: the last stage is f(t+h, y_{n+1}) (first same as last). The layout is the
    scheme's :class:`~numnet.schemes.plan.RKPlan` (``plan``).
    """

    name: str
    A: np.ndarray
    b: np.ndarray
    c: np.ndarray
    b_hat: np.ndarray | None
    explicit: bool
    fsal: bool
    d: np.ndarray | None
    order: int
    embedded_order: int | None
    plan: object = None

    @property
    def stages(self) -> int:
        return len(self.b)

    @functools.cached_property
    def values(self) -> list:
        """The plan's slots as Python floats (a_ij row by row, b, c, b̂): what its term
        builders (``plan.stage_terms``, ``plan.update_terms``) read."""
        return self.plan.floats()

    @functools.cached_property
    def error_weights(self):
        """Non-zero (i, b_i − b̂_i): the local error estimate is h Σ (b_i − b̂_i) k_i."""
        return [(i, float(self.b[i] - self.b_hat[i])) for i in self.plan.error_weights]


@dataclass(frozen=True, eq=False)
class LMMTableau:
    """α, β of Σ α_j y_{n+j} = h Σ β_j f_{n+j} (α_s = 1) as float64 arrays, oldest first."""

    name: str
    alpha: np.ndarray
    beta: np.ndarray
    explicit: bool
    order: int
    plan: object = None

    @property
    def steps(self) -> int:
        return len(self.alpha) - 1

    @functools.cached_property
    def values(self) -> list:
        """The plan's slots as Python floats (−α_j for j < s, then β_j): what its term
        builder ``plan.terms`` reads."""
        return self.plan.floats()


def tableau(scheme):
    """The float tables of a concrete scheme (``RKTableau`` or ``LMMTableau``), cached per
    scheme and name (equal schemes under two names, gauss1 and implicit_midpoint, keep
    their own names in results and messages).

    A scheme with free symbols is refused with the names to ``subs``:

    >>> from numnet import schemes
    >>> tableau(schemes.get("lm_resnet"))
    Traceback (most recent call last):
    ...
    ValueError: integration of lm_resnet is undefined while symbols {k} are free; give them values with .subs(k=...)
    """
    kind = getattr(scheme, "kind", None)
    if kind not in ("RK", "LMM"):
        raise TypeError(f"scheme must be a numnet.schemes RungeKutta or LinearMultistep, got {scheme!r}")
    return _tableau(scheme, scheme.name)


@functools.lru_cache(maxsize=256)
def _tableau(scheme, name):
    kind = scheme.kind
    scheme.require_concrete("integration")
    plan = plan_of(scheme)
    if kind == "LMM":
        v, s = np.array(plan.floats(), dtype=np.float64), plan.steps
        alpha = np.append(-v[:s], 1.0) + 0.0  # + 0.0: no negative zeros
        return LMMTableau(scheme.name, alpha, v[s:], not plan.implicit, scheme.order, plan)
    arr = plan.arrays()
    A, b = arr["A"], arr["b"]
    d = None
    if plan.implicit and np.linalg.cond(A) < 1e12:
        d = np.linalg.solve(A.T, b)
    return RKTableau(scheme.name, A, b, arr["c"], arr["b_hat"], not plan.implicit, plan.fsal, d, scheme.order,
                     scheme.embedded_order, plan)
