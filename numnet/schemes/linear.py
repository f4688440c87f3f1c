"""Modified equations of linear problems u' = λu, in exact power-series arithmetic.

On u' = λu a scheme's (principal) numerical solution is exactly e^{λ̃ t}: for an LMM
λ̃h = log ξ₁(z), ξ₁ the principal root of ρ(ξ) − zσ(ξ) (ξ₁(0) = 1); for an RK method
λ̃h = log R(z). Both are expanded in z = hλ with coefficients in an exact sympy domain
(QQ, algebraic fields, rational functions of free symbols).
"""

from __future__ import annotations

import sympy as sp

from .modified import check_order, check_scheme, field_of


def _ser_mul(a, b, n, K):
    out = [K.zero] * (n + 1)
    for i, x in enumerate(a[: n + 1]):
        if x:
            for j, y in enumerate(b[: n + 1 - i]):
                out[i + j] += x * y
    return out


def _ser_div(a, b, n, K):
    """a/b as a series (b[0] ≠ 0)."""
    out = [K.zero] * (n + 1)
    inv0 = K.one / b[0]
    for m in range(n + 1):
        acc = a[m] if m < len(a) else K.zero
        for j in range(1, min(m, len(b) - 1) + 1):
            acc -= b[j] * out[m - j]
        out[m] = acc * inv0
    return out


def _ser_log(a, n, K):
    """log a for a[0] = 1: ∫ a'/a."""
    da = [K.convert(i) * a[i] for i in range(1, len(a))] or [K.zero]
    q = _ser_div(da, a, n, K)
    return [K.zero] + [q[i - 1] / K.convert(i) for i in range(1, n + 1)]


def _poly_series(poly_coeffs, x, n, K):
    """p(x(z)) for a polynomial p (coefficients low to high) and series x: Horner."""
    out = [K.zero] * (n + 1)
    for c in reversed(poly_coeffs):
        out = _ser_mul(out, x, n, K)
        out[0] += c
    return out


def _principal_root(lmm, n):
    K, el = field_of(list(lmm.alpha) + list(lmm.beta))
    s1 = len(lmm.alpha)
    alpha, beta = el[:s1], el[s1:]
    if sum(alpha, K.zero):
        raise ValueError(f"{lmm.name}: rho(1) = {sp.simplify(sum(lmm.alpha))} ≠ 0, so 1 is not a root of rho and there is no principal root")
    d = sum((K.convert(j) * a for j, a in enumerate(alpha)), K.zero)
    if not d:
        raise ValueError(f"{lmm.name}: rho'(1) = 0, the principal root is not simple")
    x = [K.one] + [K.zero] * n
    for m in range(1, n + 1):
        # coefficient of z^m of ρ(x) − zσ(x) with x_m still 0; x_m enters as ρ'(1) x_m
        r = _poly_series(alpha, x, m, K)
        sg = _poly_series(beta, x, m - 1, K)
        x[m] = -(r[m] - sg[m - 1]) / d
    return K, x


def principal_root_series(lmm, n: int) -> sp.Expr:
    """ξ₁(z) through z^n: the root of ρ(ξ) − zσ(ξ) with ξ₁(0) = 1, exactly.

    >>> from numnet.schemes import get
    >>> principal_root_series(get("ab2"), 3)
    -z**3/4 + z**2/2 + z + 1
    """
    from .lmm import LinearMultistep

    if not isinstance(lmm, LinearMultistep):
        raise TypeError(f"principal_root_series needs a LinearMultistep, got {type(lmm).__name__}")
    n = check_order(n)
    K, x = _principal_root(lmm, n)
    z = sp.Symbol("z")
    return _series_expr(K, x, z)


def modified_linear_rate(scheme, n: int) -> sp.Expr:
    """λ̃/λ through z^n, z = hλ: on u' = λu the scheme's (principal) solution is exactly
    e^{λ̃ t}, with λ̃h = log ξ₁(z) (LMM) or log R(z) (RK), expanded in exact arithmetic.

    >>> from numnet.schemes import get
    >>> modified_linear_rate(get("ab2"), 3)
    z**3/4 - 5*z**2/12 + 1
    >>> modified_linear_rate(get("euler"), 2)
    z**2/3 - z/2 + 1
    """
    check_scheme(scheme)
    n = check_order(n)
    z = sp.Symbol("z")
    if scheme.kind == "LMM":
        K, x = _principal_root(scheme, n + 1)
    else:
        num, den = sp.fraction(sp.together(scheme.stability_function()))
        pn, pd = sp.Poly(num, sp.Symbol("z")), sp.Poly(den, sp.Symbol("z"))
        K, el = field_of(pn.all_coeffs() + pd.all_coeffs())
        a = list(reversed(el[: len(pn.all_coeffs())]))
        b = list(reversed(el[len(pn.all_coeffs()) :]))
        x = _ser_div(a, b, n + 1, K)
        if x[0] != K.one:
            raise ValueError(f"{scheme.name}: R(0) = {K.to_sympy(x[0])} ≠ 1; log R is not a power series")
    L = _ser_log(x, n + 1, K)
    return _series_expr(K, L[1 : n + 2], z)


def _series_expr(K, coeffs, z):
    """Σ c_i z^i as a sympy expression, each coefficient factored when symbols remain.

    >>> from numnet.schemes import get
    >>> modified_linear_rate(get("lm_resnet"), 1)
    z*(k - 1)/(2*(k + 1)**3) + 1/(k + 1)
    """
    terms = []
    for i, c in enumerate(coeffs):
        c = K.to_sympy(c)
        terms.append((sp.factor(c) if c.free_symbols else c) * z**i)
    return sp.Add(*terms)
