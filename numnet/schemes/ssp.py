"""Strong-stability-preserving (SSP) coefficients, exact.

The SSP coefficient C of a method is the largest step-size factor for which the method
preserves every convex functional bound that forward Euler keeps for steps h ≤ h_FE:
it does so for h ≤ C·h_FE.

- Runge–Kutta (Kraaijevanger's radius of absolute monotonicity, as in nodepy's
  ``absolute_monotonicity_radius``): with K = [[A, 0], [bᵀ, 0]] and X(r) = I + rK, the
  largest R such that for all 0 ≤ r ≤ R, X(r) is invertible and X⁻¹K ≥ 0, X⁻¹e ≥ 0
  (componentwise). Every entry is N(r)/det X(r) with N = adj(X)·K or adj(X)·e a
  polynomial, so R is 0, ``oo`` or a root of one of these polynomials: found exactly
  by sweeping their positive real roots and deciding each interval between them at one
  rational point, in exact field arithmetic.
- Linear multistep (y_{n+s} = −Σ α_j y_{n+j} + h Σ β_j f_{n+j}): C = min_{j<s, β_j>0} −α_j/β_j
  when every α_j ≤ 0 (j < s) and β_j ≥ 0, else 0 (Lenferink; nodepy's ``ssp_coefficient``);
  ``oo`` when no β_j (j < s) is positive (backward Euler, BDF1).

>>> from numnet.schemes import get
>>> get("ssprk3").ssp_coefficient, get("rk4").ssp_coefficient, get("backward_euler").ssp_coefficient
(1, 0, oo)
>>> get("ab1").ssp_coefficient, get("ab2").ssp_coefficient, get("am1").ssp_coefficient
(1, 0, 2)
"""

from __future__ import annotations

import sympy as sp
from sympy.polys.matrices import DomainMatrix

_R = sp.Symbol("r")


def rk_ssp_coefficient(method) -> sp.Expr:
    """Kraaijevanger's radius of absolute monotonicity of a Runge–Kutta method (see the
    module docstring): exact (Rational, algebraic ``CRootOf``) for exact coefficients, a
    Float at their precision for floats (each float taken as the exact binary fraction
    it is), ``oo`` when unbounded.

    >>> from numnet.schemes import get
    >>> get("heun").ssp_coefficient, get("explicit_midpoint").ssp_coefficient, get("implicit_midpoint").ssp_coefficient
    (1, 0, 2)
    """
    method._require_concrete("ssp_coefficient")
    digits = method.precision
    if digits is not None:
        from .rk import RungeKutta

        rational = {f: sp.Rational(f) for x in tuple(method.A) + method.b for f in x.atoms(sp.Float)}
        R = rk_ssp_coefficient(RungeKutta(method.A.xreplace(rational), [x.xreplace(rational) for x in method.b]))
        return R if R in (0, sp.oo) else sp.Float(sp.N(R, digits), digits)
    K, A, b, _ = method._field()
    s = method.stages
    sign = _signer(K)
    if any(sign(x) < 0 for row in A for x in row) or any(sign(x) < 0 for x in b):
        return sp.Integer(0)  # at r → 0+, X⁻¹K = K − rK² + … keeps K's negative entries
    ring = K[_R]
    one, zero, r = ring.one, ring.zero, ring.gens[0]
    Kt = [[ring(x) for x in row] + [zero] for row in A] + [[ring(x) for x in b] + [zero]]
    n = s + 1
    X = DomainMatrix([[(one if i == j else zero) + r * Kt[i][j] for j in range(n)] for i in range(n)], (n, n), ring)
    adj, det = X.adj_det()
    numerators = (adj * DomainMatrix(Kt, (n, n), ring)).to_list()
    sums = (adj * DomainMatrix([[one]] * n, (n, 1), ring)).to_list()
    nums = [p for row in numerators + sums for p in row if p != 0]

    def holds(r0):
        return sign(det(r0)) > 0 and all(sign(p(r0)) >= 0 for p in nums)

    critical = _positive_real_roots(nums + [det], det, K)
    left = sp.Integer(0)
    for c, is_pole in critical:
        if not holds(_between(left, c)):
            return left
        if is_pole:  # X(c) is singular
            return c
        left = c
    return left if not holds(sp.floor(left) + 1) else sp.oo


def lmm_ssp_coefficient(method) -> sp.Expr:
    """min_{j<s, β_j>0} −α_j/β_j if every α_j ≤ 0 (j < s) and every β_j ≥ 0, else 0
    (``oo`` if no β_j, j < s, is positive); see the module docstring.

    >>> from numnet.schemes import get
    >>> get("bdf2").ssp_coefficient, get("bdf1").ssp_coefficient
    (0, oo)
    """
    method._require_concrete("ssp_coefficient")
    alpha, beta = method.alpha, method.beta
    if any(a > 0 for a in alpha[:-1]) or any(b < 0 for b in beta):
        return sp.Integer(0)
    ratios = [-a / b for a, b in zip(alpha[:-1], beta[:-1]) if b > 0]
    return min(ratios) if ratios else sp.oo


def _signer(K):
    """Sign of a field element: exact zero test, then the sign of a 60-digit value."""
    if K.is_QQ or K.is_ZZ:
        return lambda x: (x > 0) - (x < 0)

    def sign(x):
        if K.is_zero(x):
            return 0
        return 1 if sp.N(K.to_sympy(x), 60) > 0 else -1

    return sign


def _positive_real_roots(polys, det, K):
    """[(root, divides det)] over the distinct irreducible factors (over QQ: for an
    algebraic field, of the norms) of ``polys``, ascending, positive roots only."""
    factors = {}
    for p in polys:
        P = sp.Poly(p.as_expr(), _R, domain=K) if not (K.is_QQ or K.is_ZZ) else sp.Poly(p.as_expr(), _R, domain="QQ")
        if P.degree() <= 0:
            continue
        if not P.get_domain().is_QQ and not P.get_domain().is_ZZ:
            P = P.norm()  # its roots include P's
        for g, _ in P.factor_list()[1]:
            if g.degree() > 0:
                factors.setdefault(g.monic(), None)
    D = sp.Poly(det.as_expr(), _R, domain=K)
    out = []
    for g in factors:
        pole = D.degree() > 0 and sp.rem(sp.Poly(D.as_expr(), _R, domain=D.get_domain()), sp.Poly(g.as_expr(), _R, domain=D.get_domain())).is_zero \
            if (D.get_domain().is_QQ or D.get_domain().is_ZZ) else None
        for root in g.real_roots():
            if root.is_positive:
                out.append((root, pole if pole is not None else D.degree() > 0 and D.eval(root).equals(0)))
    return sorted(out, key=lambda t: sp.N(t[0], 50))


def _between(a, b) -> sp.Rational:
    """A rational strictly between the real algebraic numbers a < b."""
    mid = sp.Rational(str(sp.N((a + b) / 2, 60)))
    if not (a < mid < b):  # pragma: no cover - roots closer than 1e-55
        raise ValueError(f"critical values {a} and {b} are too close to separate")
    return mid
