"""Dense output: a continuous y(t) over the steps of an integration, and ``t_eval``.

Each step [t_n, t_n + h] carries its own interpolant, a polynomial in θ = (t − t_n)/h:

- :class:`Hermite` — the cubic through y_n, y_{n+1} with slopes f_n, f_{n+1} (local error
  O(h⁴)); used for every method without a continuous extension of its own;
- :class:`Polynomial` — y_n + Σ_k Q_k θ^(k+1): the collocation polynomial of Radau IIA
  (:mod:`numnet.solvers.radau`), the interpolant a method builds from its own stages;
- :class:`Newton` — the interpolating polynomial of variable-order BDF through its
  backward differences (:mod:`numnet.solvers.bdf`).

Both are linear combinations of the step's arrays with float weights (``be.combine``),
so with torch they are batched and differentiable like the states themselves.
:class:`DenseOutput` holds the pieces and the breakpoints; ``sol(t)`` for a float gives
shape (..., d), for an array of n times (n, ..., d). A time outside the integrated span
is refused (no silent extrapolation).

>>> import numpy as np
>>> from numnet.solvers import integrate
>>> sol = integrate("rk4", lambda t, y: -y, (0, 1), np.array([1.0]), n_steps=20, dense_output=True)
>>> bool(abs(sol.sol(0.33)[0] - np.exp(-0.33)) < 1e-6), sol.sol([0.0, 0.5]).shape
(True, (2, 1))
>>> sol.sol(1.5)
Traceback (most recent call last):
...
ValueError: dense output is defined on [0, 1]; t = 1.5 lies outside
"""

from __future__ import annotations

import numpy as np


class Hermite:
    """The cubic Hermite interpolant on the step from (t0, y0, f0) to (t0 + h, y1, f1)."""

    __slots__ = ("be", "t0", "h", "y0", "y1", "f0", "f1")

    def __init__(self, be, t0, h, y0, y1, f0, f1):
        self.be, self.t0, self.h, self.y0, self.y1, self.f0, self.f1 = be, float(t0), float(h), y0, y1, f0, f1

    def __call__(self, t):
        x = (t - self.t0) / self.h
        x2, x3 = x * x, x * x * x
        w1 = -2 * x3 + 3 * x2  # weight of y1 (y0's is 1 − w1)
        return self.be.combine(self.y0, [(w1, self.y1), (-w1, self.y0), (self.h * (x3 - 2 * x2 + x), self.f0),
                                         (self.h * (x3 - x2), self.f1)])


class Polynomial:
    """y0 + Σ_k θ^(k+1) Q[k], θ = (t − t0)/h, for a list of arrays Q (shape (..., d) each)."""

    __slots__ = ("be", "t0", "h", "y0", "Q")

    def __init__(self, be, t0, h, y0, Q):
        self.be, self.t0, self.h, self.y0, self.Q = be, float(t0), float(h), y0, Q

    def __call__(self, t):
        x = (t - self.t0) / self.h
        return self.be.combine(self.y0, [(x ** (k + 1), q) for k, q in enumerate(self.Q)])


class Newton:
    """D[0] + Σ_j D[j] Π_{m<j} (t − t_shift[m]) / denom[m]: the backward-difference form of
    a variable-order BDF step (:mod:`numnet.solvers.bdf`)."""

    __slots__ = ("be", "D", "t_shift", "denom")

    def __init__(self, be, D, t_shift, denom):
        self.be, self.D, self.t_shift, self.denom = be, D, [float(x) for x in t_shift], [float(x) for x in denom]

    def __call__(self, t):
        terms, p = [], 1.0
        for j in range(1, len(self.D)):
            p *= (t - self.t_shift[j - 1]) / self.denom[j - 1]
            terms.append((p, self.D[j]))
        return self.be.combine(self.D[0], terms)


class DenseOutput:
    """Piecewise y(t): ``ts`` (n + 1 breakpoints, in the direction of integration) and
    ``pieces`` (n interpolants, piece i called with t in [ts[i], ts[i+1]])."""

    def __init__(self, be, ts, pieces):
        self.be = be
        self.ts = np.asarray(ts, dtype=np.float64)
        self.pieces = list(pieces)
        if len(self.pieces) != len(self.ts) - 1:
            raise ValueError(f"{len(self.ts)} breakpoints need {len(self.ts) - 1} pieces, got {len(self.pieces)}")
        self.direction = 1.0 if len(self.ts) < 2 or self.ts[-1] >= self.ts[0] else -1.0

    @property
    def t_min(self):
        return float(min(self.ts[0], self.ts[-1]))

    @property
    def t_max(self):
        return float(max(self.ts[0], self.ts[-1]))

    def _one(self, t):
        t = float(t)
        if not (self.t_min <= t <= self.t_max):
            raise ValueError(f"dense output is defined on [{self.t_min:g}, {self.t_max:g}]; t = {t:g} lies outside")
        key = self.direction * self.ts
        i = int(np.searchsorted(key, self.direction * t, side="right")) - 1
        return self.pieces[min(max(i, 0), len(self.pieces) - 1)](t)

    def __call__(self, t):
        arr = np.asarray(t, dtype=np.float64)
        if arr.ndim == 0:
            return self._one(arr)
        if arr.ndim != 1:
            raise ValueError(f"t must be a number or a 1-d array of times, got shape {arr.shape}")
        return self.be.stack([self._one(x) for x in arr], 0)

    def __repr__(self) -> str:
        return f"DenseOutput({len(self.pieces)} steps on [{self.t_min:g}, {self.t_max:g}])"


def check_t_eval(t_eval, t0, t1):
    """``t_eval`` as a float64 array after checking it lies in the span and is sorted in
    the direction of integration (scipy's rule)."""
    arr = np.asarray(t_eval, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"t_eval must be a non-empty 1-d array of times, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("t_eval contains NaN or infinite values")
    lo, hi = min(t0, t1), max(t0, t1)
    bad = arr[(arr < lo) | (arr > hi)]
    if bad.size:
        raise ValueError(f"t_eval must lie within t_span [{lo:g}, {hi:g}]; {bad[0]:g} does not")
    d = np.diff(arr) * (1.0 if t1 >= t0 else -1.0)
    if np.any(d < 0):
        raise ValueError("t_eval must be sorted in the direction of integration")
    return arr
