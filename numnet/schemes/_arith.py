"""Number systems for evaluating many order conditions at once.

The elementary-weight recursion Φ(u∘v) = Φ(u) ⊙ (A Φ(v)) is the same in every number
system; only the arrays differ. Three back-ends share one recursion
(:func:`condition_residuals`):

- ``float``: numpy float64 (BLAS), for float coefficients and fast scans;
- ``exact``: numpy object arrays of sympy domain elements (QQ, QQ<√15>, ZZ[k], …);
- ``dd``: double-double (~32 digits) numpy arithmetic, for published 60-digit data,
  where float64 rounding swamps the residuals of high-order conditions.

:class:`Evaluator` returns residuals b·Φ(t) − 1/γ(t) and a bound on their rounding error
(a forward bound from the |A|, |b| magnitudes), so a condition "holds" exactly when its
residual is below the error the arithmetic can make — no hand-tuned tolerance.
"""

from __future__ import annotations

import sympy as sp

from .._lazy import lazy_module
from .trees import Forest

np = lazy_module("numpy")  # imported at first use: numnet.schemes loads without numpy

_SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitter
_EPS_DD = 2.0**-104


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a):
    t = _SPLIT * a
    hi = t - (t - a)
    return hi, a - hi


def _two_prod(a, b):
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


class DD:
    """Array of double-double numbers hi + lo (|lo| ≤ ulp(hi)/2)."""

    __slots__ = ("hi", "lo")

    def __init__(self, hi, lo=None):
        self.hi = np.asarray(hi, dtype=float)
        self.lo = np.zeros_like(self.hi) if lo is None else np.asarray(lo, dtype=float)

    @classmethod
    def from_decimal(cls, values):
        """From exact/high-precision sympy numbers (each split into two float64 parts)."""
        import sympy as sp

        vals = [sp.Float(v, 40) if not isinstance(v, sp.Float) else v for v in np.ravel(values)]
        hi = np.array([float(v) for v in vals])
        lo = np.array([float(v - sp.Float(h, 40)) for v, h in zip(vals, hi)])
        shape = np.shape(values)
        return cls(hi.reshape(shape), lo.reshape(shape))

    def __mul__(self, other):
        p, e = _two_prod(self.hi, other.hi)
        e = e + (self.hi * other.lo + self.lo * other.hi)
        hi, lo = _two_sum(p, e)
        return DD(hi, lo)

    def __add__(self, other):
        s, e = _two_sum(self.hi, other.hi)
        e = e + (self.lo + other.lo)
        hi, lo = _two_sum(s, e)
        return DD(hi, lo)

    def __getitem__(self, idx):
        return DD(self.hi[idx], self.lo[idx])

    def __setitem__(self, idx, value):
        self.hi[idx] = value.hi
        self.lo[idx] = value.lo


def _dd_reciprocal(g: np.ndarray) -> DD:
    """1/g in double-double for integers g < 2**53: hi = fl(1/g), lo = (1 − hi g)/g with
    1 − hi g formed exactly by an error-free product."""
    hi = 1.0 / g
    p, e = _two_prod(hi, g)
    return DD(hi, ((1.0 - p) - e) / g)


class Evaluator:
    """Incremental elementary weights of one tableau in one number system.

    >>> import sympy as sp
    >>> from numnet.schemes.trees import forest
    >>> ev = Evaluator([[0, 0], [sp.Rational(1, 2), 0]], [0, 1], "exact")
    >>> [ev.holds(n) for n in (1, 2, 3)]
    [True, True, False]
    """

    def __init__(self, A, b, mode: str):
        import sympy as sp
        from sympy.polys.matrices import DomainMatrix

        self.mode = mode
        s = len(b)
        self.s = s
        if mode == "exact":
            M = DomainMatrix.from_Matrix(sp.Matrix(A).row_join(sp.Matrix(b)), extension=True).to_field()
            K = M.domain
            self.K = K
            dm = M.to_list()
            self.A = np.empty((s, s), dtype=object)
            self.b = np.empty(s, dtype=object)
            for i in range(s):
                for j in range(s):
                    self.A[i, j] = dm[i][j]
                self.b[i] = dm[i][s]
            self.one = K.one
        elif mode == "float":
            self.A = np.array([[float(x) for x in row] for row in A], dtype=float)
            self.b = np.array([float(x) for x in b], dtype=float)
            self.absA, self.absb = np.abs(self.A), np.abs(self.b)
        elif mode == "dd":
            self.A = DD.from_decimal(np.array(A, dtype=object))
            self.b = DD.from_decimal(np.array(b, dtype=object))
            self.absA, self.absb = np.abs(self.A.hi), np.abs(self.b.hi)
            # rows with a non-zero in each column, for a sparse Φ Aᵀ
            self.rows_of_col = [np.nonzero(self.A.hi[:, j] != 0)[0] for j in range(s)]
        else:
            raise ValueError(f"mode must be 'exact', 'float' or 'dd', got {mode!r}")
        self.forest = None
        self.phi = []  # per order: Φ of its trees (trees × stages)
        self.aphi = []  # A Φ
        self.mag = []  # |A|-magnitudes, for rounding bounds

    def _matT(self, phi):
        """Φ Aᵀ: in double-double one stage column at a time (s Python steps over whole
        arrays), skipping the zero part of a lower-triangular A."""
        if self.mode == "dd":
            n = phi.hi.shape[0]
            out = DD(np.zeros((n, self.s)))
            for j in range(self.s):
                rows = self.rows_of_col[j]
                if len(rows) == 0:
                    continue
                col = DD(phi.hi[:, j : j + 1], phi.lo[:, j : j + 1])
                a = DD(self.A.hi[rows, j][None, :], self.A.lo[rows, j][None, :])
                out[:, rows] = out[:, rows] + col * a
            return out
        return phi @ self.A.T

    def _ensure(self, n: int):
        """Φ for all orders ≤ n, and A Φ for orders < n (A Φ of order n is only needed
        for order n + 1, so it is formed lazily)."""
        from .trees import forest

        if self.forest is None or self.forest.max_order < n:
            self.forest = forest(max(n, 1))
        while len(self.phi) < n:
            m = len(self.phi) + 1
            phi, mag = self._weights(m, self.forest.of_order(m))
            self.phi.append(phi)
            self.mag.append(mag)
        while len(self.aphi) < n - 1:
            self.aphi.append(self._matT(self.phi[len(self.aphi)]))

    def _weights(self, m: int, ids: range):
        """Φ(t) and its |A|-magnitude for the trees ``ids`` (all of order m)."""
        f = self.forest
        if m == 1:
            if self.mode == "exact":
                phi = np.full((1, self.s), self.one, dtype=object)
            elif self.mode == "dd":
                phi = DD(np.ones((1, self.s)))
            else:
                phi = np.ones((1, self.s))
            return phi, np.ones((1, self.s))
        self._ensure(m - 1)
        while len(self.aphi) < m - 1:
            self.aphi.append(self._matT(self.phi[len(self.aphi)]))
        u, v = f.u[ids.start : ids.stop], f.v[ids.start : ids.stop]
        phi = self._gather(self.phi, u) * self._gather(self.aphi, v)
        if self.mode == "exact":
            return phi, None
        mag = self._gather_np(self.mag, u) * (self._gather_np(self.mag, v) @ self.absA.T)
        return phi, mag

    def _gather(self, parts, ids):
        f = self.forest
        orders = f.order[ids]
        if self.mode == "dd":
            hi = np.empty((len(ids), self.s))
            lo = np.empty_like(hi)
            for m in np.unique(orders):
                sel = orders == m
                local = ids[sel] - f.starts[m - 1]
                hi[sel] = parts[m - 1].hi[local]
                lo[sel] = parts[m - 1].lo[local]
            return DD(hi, lo)
        out = np.empty((len(ids), self.s), dtype=object if self.mode == "exact" else float)
        for m in np.unique(orders):
            sel = orders == m
            out[sel] = parts[m - 1][ids[sel] - f.starts[m - 1]]
        return out

    def _gather_np(self, parts, ids):
        if self.mode == "exact":
            return 1
        f = self.forest
        orders = f.order[ids]
        out = np.empty((len(ids), self.s))
        for m in np.unique(orders):
            sel = orders == m
            out[sel] = parts[m - 1][ids[sel] - f.starts[m - 1]]
        return out

    def exact_residuals(self, n: int) -> list:
        """Residuals of the trees of order n as sympy numbers (exact mode only)."""
        self._ensure(n)
        res, _ = self._residuals(n, self.phi[n - 1], self.mag[n - 1], self.forest.of_order(n))
        return [self.K.to_sympy(r) for r in res]

    def weights(self, n: int) -> list:
        """b·Φ(t) for the trees of order n as elements of the domain ``K`` (exact mode):
        the B-series coefficients of one step.

        >>> import sympy as sp
        >>> ev = Evaluator([[0, 0], [sp.Rational(1, 2), 0]], [0, 1], "exact")
        >>> [str(x) for x in ev.weights(3)]
        ['0', '1/4']
        """
        if self.mode != "exact":
            raise ValueError(f"weights() needs mode 'exact', this evaluator is {self.mode!r}")
        self._ensure(n)
        return self._bphi(self.phi[n - 1])

    def _bphi(self, phi) -> list:
        K = self.K
        return [sum((bi * p for bi, p in zip(self.b, row)), K.zero) for row in phi]

    def _residuals(self, n, phi, mag, ids):
        f = self.forest
        gam = f.gamma[ids.start : ids.stop]
        if self.mode == "exact":
            K = self.K
            res = [w - K.one / K.convert(g) for w, g in zip(self._bphi(phi), gam)]
            return res, [0] * len(res)
        if self.mode == "float":
            res = phi @ self.b - 1.0 / np.array(gam, dtype=float)
            eps = 2.0**-53
        else:
            acc = DD(np.zeros(phi.hi.shape[0]))
            for i in range(self.s):
                if self.b.hi[i] != 0:
                    acc = acc + phi[:, i] * self.b[i : i + 1]
            res_dd = acc + _dd_reciprocal(np.array(gam, dtype=float)) * DD(-np.ones(len(gam)))
            res = res_dd.hi + res_dd.lo
            eps = _EPS_DD
        bound = 4 * (2 * n + self.s) * eps * (mag @ self.absb + 1.0 / np.array(gam, dtype=float))
        return res, bound

    def holds(self, n: int, chunk: int = 8192) -> bool:
        """Whether every condition of order n holds (exactly, or within the rounding bound).

        Order n is evaluated in chunks and abandoned at the first failing one, so proving
        that a method of order p is not of order p + 1 rarely costs the whole order."""
        if n > 1:
            self._ensure(n - 1)
        if self.forest is None or self.forest.max_order < n:
            from .trees import forest

            self.forest = forest(n)
        ids = self.forest.of_order(n)
        parts = []
        for start in range(ids.start, ids.stop, chunk):
            sub = range(start, min(start + chunk, ids.stop))
            phi, mag = self._weights(n, sub)
            res, bound = self._residuals(n, phi, mag, sub)
            if self.mode == "exact":
                ok = all(self.K.is_zero(r) for r in res)
            else:
                ok = bool(np.all(np.abs(res) <= bound))
            if not ok:
                return False
            parts.append((phi, mag))
        if len(self.phi) == n - 1:  # keep the whole order for the next one
            self.phi.append(_concat([p for p, _ in parts], self.mode))
            self.mag.append(None if self.mode == "exact" else np.concatenate([m for _, m in parts]))
        return True


def _concat(parts, mode):
    if mode == "dd":
        return DD(np.concatenate([p.hi for p in parts]), np.concatenate([p.lo for p in parts]))
    return np.concatenate(parts)
