"""Nonlinear stability and symmetry of Runge–Kutta methods, decided exactly.

- Algebraic stability (Burrage–Butcher; Crouzeix): b_i ≥ 0 and M = BA + AᵀB − bbᵀ
  positive semidefinite (B = diag b). It implies B-stability (contractivity on
  dissipative problems) and, for non-confluent methods, is equivalent to BN-stability.
  PSD is decided by exact symmetric elimination in the coefficients' number field.
- The adjoint method (Hairer–Lubich–Wanner, GNI II.3): the step of size −h run
  backwards, A* = e bᵀ − A, b* = b, c* = 1 − c, stages renumbered in reverse. A method
  is symmetric when it equals its adjoint up to the order of its stages.

>>> from numnet.schemes import get
>>> [get(n).is_algebraically_stable for n in ("gauss2", "radau_iia2", "lobatto_iiic2", "lobatto_iiia2")]
[True, True, True, False]
>>> [get(n).is_symmetric for n in ("gauss2", "lobatto_iiia3", "radau_iia2", "rk4")]
[True, True, False, False]
"""

from __future__ import annotations

import sympy as sp

from .._lazy import lazy_module
from ._exact import tolerance
from .ssp import _signer

np = lazy_module("numpy")


def algebraic_stability_matrix(method) -> sp.Matrix:
    """M = BA + AᵀB − bbᵀ, B = diag(b), with entries as exact as the coefficients.

    >>> from numnet.schemes import get
    >>> algebraic_stability_matrix(get("gauss2"))
    Matrix([
    [0, 0],
    [0, 0]])
    """
    A, b = sp.Matrix(method.A), sp.Matrix(method.b)
    B = sp.diag(*method.b)
    return (B * A + A.T * B - b * b.T).applyfunc(sp.radsimp)


def is_algebraically_stable(method) -> bool:
    """b ≥ 0 and M positive semidefinite: exactly for exact coefficients; for floats, with
    the coefficients' rounding as tolerance (eigenvalues of M ≥ −tol·‖M‖).

    >>> from numnet.schemes import get
    >>> is_algebraically_stable(get("rk4")), is_algebraically_stable(get("backward_euler"))
    (False, True)
    """
    method._require_concrete("is_algebraically_stable")
    digits = method.precision
    if digits is not None:
        tol = max(tolerance(digits), 1e-14)
        b = np.array([float(x) for x in method.b])
        M = np.array(algebraic_stability_matrix(method).tolist(), dtype=float)
        scale = max(1.0, float(np.abs(M).max()))
        return bool(b.min() >= -tol and np.linalg.eigvalsh(M).min() >= -tol * scale)
    K, A, b, _ = method._field()
    sign = _signer(K)
    if any(sign(x) < 0 for x in b):
        return False
    s = method.stages
    M = [[b[i] * A[i][j] + b[j] * A[j][i] - b[i] * b[j] for j in range(s)] for i in range(s)]
    return _is_psd(M, K, sign)


def _is_psd(M, K, sign) -> bool:
    """Exact PSD test of a symmetric matrix: symmetric Gaussian elimination; a negative
    pivot, or a zero pivot with a non-zero entry left in its row, means not PSD."""
    M = [row[:] for row in M]
    n = len(M)
    for k in range(n):
        d = M[k][k]
        sd = sign(d)
        if sd < 0:
            return False
        if sd == 0:
            if any(not K.is_zero(M[k][j]) for j in range(k + 1, n)):
                return False
            continue
        for i in range(k + 1, n):
            f = M[i][k] / d
            for j in range(k + 1, n):
                M[i][j] -= f * M[k][j]
    return True


def adjoint(method):
    """The adjoint method: A*_ij = b_{s+1−j} − a_{s+1−i,s+1−j}, b*_i = b_{s+1−i},
    c*_i = 1 − c_{s+1−i}. Its stability function is R*(z) = 1/R(−z); the adjoint of
    the adjoint is the method itself.

    >>> from numnet.schemes import get
    >>> adjoint(get("euler")).stability_function()
    1/(1 - z)
    """
    s = method.stages
    rev = list(range(s - 1, -1, -1))
    A = [[sp.radsimp(method.b[rev[j]] - method.A[rev[i], rev[j]]) for j in range(s)] for i in range(s)]
    b = [method.b[rev[i]] for i in range(s)]
    c = [sp.radsimp(1 - method.c[rev[i]]) for i in range(s)]
    b_hat = None if method.b_hat is None else [method.b_hat[rev[i]] for i in range(s)]
    return type(method)(A, b, c, name=f"{method.name}*", b_hat=b_hat)


def is_symmetric(method) -> bool:
    """Whether the method equals its adjoint up to a renumbering of the stages:
    a_{π(i)π(j)} + a_ij = b_j and b_{π(i)} = b_i, with π the permutation taking each node
    c_i to 1 − c_i (distinct nodes), else the reversal of the stages (Hairer–Lubich–Wanner,
    GNI Thm V.2.3). Exactly, in the coefficients' number field.

    >>> from numnet.schemes import get
    >>> is_symmetric(get("implicit_midpoint")), is_symmetric(get("backward_euler"))
    (True, False)
    """
    method._require_concrete("is_symmetric")
    s = method.stages
    if method.precision is not None:
        tol = max(tolerance(method.precision), 1e-14)
        A = np.array(method.A.tolist(), dtype=float)
        b = np.array([float(x) for x in method.b])
        zero = lambda x: abs(x) <= tol * max(1.0, np.abs(A).max())  # noqa: E731
        c = A.sum(axis=1)
        sub = lambda x, y: x - y  # noqa: E731
    else:
        K, A, b, c = method._field()
        zero, sub = K.is_zero, lambda x, y: x - y  # noqa: E731
        A = [list(row) for row in A]
    one = 1.0 if method.precision is not None else K.one
    perm = list(range(s - 1, -1, -1))
    distinct = all(not zero(sub(c[i], c[j])) for i in range(s) for j in range(i))
    if distinct:
        perm = []
        for i in range(s):
            match = [j for j in range(s) if zero(sub(c[j], one - c[i]))]
            if len(match) != 1:
                return False
            perm.append(match[0])
    Aget = (lambda i, j: A[i, j]) if method.precision is not None else (lambda i, j: A[i][j])
    return all(zero(sub(b[perm[i]], b[i])) for i in range(s)) and all(
        zero(Aget(perm[i], perm[j]) + Aget(i, j) - b[j]) for i in range(s) for j in range(s)
    )


def is_symmetric_lmm(method) -> bool:
    """α_j = −α_{s−j} and β_j = β_{s−j}: the LMM equals its adjoint (leapfrog, Milne–Simpson,
    the trapezoidal rule; GNI Sect. XV.4).

    >>> from numnet.schemes import get
    >>> [is_symmetric_lmm(get(n)) for n in ("leapfrog", "milne_simpson", "am1", "ab2", "bdf2")]
    [True, True, True, False, False]
    """
    a, b, s = method.alpha, method.beta, method.steps
    results = [method._zero(a[j] + a[s - j]) for j in range(s + 1)] + [method._zero(b[j] - b[s - j]) for j in range(s + 1)]
    if any(r is None for r in results):
        method._require_concrete("is_symmetric")
    return all(results)
