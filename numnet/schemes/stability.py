"""Stability machinery shared by LMM and RK schemes.

- :func:`schur_cohn` — vectorised test "all roots strictly inside the unit disk" for a
  batch of polynomials (no root finding), the workhorse of LMM region data.
- :func:`ray_interval` — the connected part of a stability region along a ray from 0,
  with endpoints exact (sympy ``CRootOf``) where the candidate polynomial is exact.
- :func:`root_condition` — zero stability of one concrete polynomial (roots in the closed
  unit disk, those on the circle simple), decided exactly for exact coefficients.
"""

from __future__ import annotations

import functools

import sympy as sp

from .._lazy import lazy_module
from ._exact import exact, tolerance
from ._parse import expression

np = lazy_module("numpy")  # imported at first use: numnet.schemes loads without numpy


def schur_cohn(coeffs: np.ndarray, rtol: float = 1e-12, axis: int = -1):
    """Batched Schur–Cohn test on polynomials with coefficients lowest degree first.

    ``coeffs`` has the n+1 coefficients along ``axis`` (last by default; pass a leading
    axis, one contiguous array per coefficient, for speed on large grids). Returns
    ``(inside, unsure)`` over the other axes: ``inside`` is True where every root lies
    strictly in the unit disk; ``unsure`` marks polynomials where a reduction step had
    |a_0| ≈ |a_n| (a root within ~rtol of the circle), to be settled by root finding.

    One reduction: q(ξ) = (ā_n p(ξ) − a_0 p*(ξ))/ξ with p* the conjugate reversal; p has
    all roots inside iff |a_0| < |a_n| and q has all roots inside.

    >>> inside, _ = schur_cohn(np.array([[0.25, 0, 1.0], [-4.0, 0, 1.0]]))  # ξ²+1/4, ξ²−4
    >>> inside.tolist()
    [True, False]
    """
    p = list(np.moveaxis(np.asarray(coeffs, dtype=complex), axis, 0))  # one array per coefficient
    inside = np.ones(p[0].shape, dtype=bool)
    unsure = np.zeros(p[0].shape, dtype=bool)
    while len(p) > 1:
        a0, an = p[0], p[-1]
        m0, mn = np.abs(a0), np.abs(an)
        scale = np.maximum(m0, mn)
        scale = np.where(scale == 0, 1.0, scale)
        unsure |= inside & (np.abs(mn - m0) <= rtol * scale)
        inside &= m0 < mn
        scale2 = scale**2  # rescaled so that coefficients stay O(1)
        left, right = np.conj(an) / scale2, a0 / scale2
        n = len(p)
        p = [left * p[k] - right * np.conj(p[n - 1 - k]) for k in range(1, n)]  # q(ξ)/ξ
    return inside, unsure


def max_root_modulus(coeffs: np.ndarray) -> np.ndarray:
    """Largest |root| of each polynomial (lowest degree first), by batched companion eigvals;
    ``inf`` where the leading coefficient vanishes."""
    p = np.asarray(coeffs, dtype=complex)
    n = p.shape[-1] - 1
    out = np.full(p.shape[:-1], np.inf)
    lead = p[..., -1]
    ok = lead != 0
    if n == 0:
        return np.zeros(p.shape[:-1])
    q = p[ok] / lead[ok][:, None]
    comp = np.zeros((q.shape[0], n, n), dtype=complex)
    comp[:, 0, :] = -q[:, -2::-1]
    if n > 1:
        comp[:, np.arange(1, n), np.arange(n - 1)] = 1.0
    out[ok] = np.abs(np.linalg.eigvals(comp)).max(axis=-1) if q.shape[0] else out[ok]
    return out


def roots_satisfy_condition(coeffs: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Root condition for a batch of polynomials (lowest degree first), by batched
    companion eigenvalues: all |ξ| ≤ 1 + tol, and the roots with |ξ| ≈ 1 simple (no other
    root within √tol). A vanishing leading coefficient (a root at infinity) fails.

    >>> roots_satisfy_condition(np.array([[-1, 0, 1], [1, -2, 1], [-4, 0, 1]])).tolist()  # ξ²−1, (ξ−1)², ξ²−4
    [True, False, False]
    """
    p = np.asarray(coeffs, dtype=complex)
    shape, n = p.shape[:-1], p.shape[-1] - 1
    p = p.reshape(-1, n + 1)
    lead = p[:, -1]
    out = np.zeros(p.shape[0], dtype=bool)
    ok = np.abs(lead) > 0
    if n == 0 or not ok.any():
        out[ok] = True
        return out.reshape(shape)
    q = p[ok] / lead[ok, None]
    comp = np.zeros((q.shape[0], n, n), dtype=complex)
    comp[:, 0, :] = -q[:, -2::-1]
    if n > 1:
        comp[:, np.arange(1, n), np.arange(n - 1)] = 1.0
    r = np.linalg.eigvals(comp)  # (m, n)
    mod = np.abs(r)
    inside = np.all(mod <= 1 + tol, axis=-1)
    on = np.abs(mod - 1) <= tol
    close = np.abs(r[:, :, None] - r[:, None, :]) <= np.sqrt(tol)
    close[:, np.arange(n), np.arange(n)] = False
    repeated_on_circle = np.any(on & close.any(axis=-1), axis=-1)
    out[ok] = inside & ~repeated_on_circle
    return out.reshape(shape)


def ray_interval(candidates: sp.Poly | None, member, direction=-1):
    """Largest R ≥ 0 such that every point r·direction, 0 ≤ r < R, passes ``member``.

    ``candidates`` is a polynomial in r whose positive real roots include every point
    where membership can change; ``member(z_array) -> bool array`` decides numerically at
    midpoints between consecutive candidates. R is exact (``CRootOf``, Rational or a
    radical) when the polynomial is exact, ``sp.oo`` when the whole ray is inside, and
    None when 0 itself is not a member.

    >>> ray_interval(sp.Poly(sp.Symbol("r") - 2), lambda z: np.abs(1 + z) <= 1)
    2
    """
    direction = complex(direction)
    if not member(np.array([0j]))[0]:
        return None
    pts = [] if candidates is None or candidates.is_zero else _positive_real_roots(candidates)
    left = sp.Integer(0)
    for r in pts:
        fl, fr = float(sp.N(left, 30)), float(sp.N(r, 30))
        if fr > fl and not member(np.array([0.5 * (fl + fr) * direction]))[0]:
            return left
        left = r
    fl = float(sp.N(left, 30))
    if not member(np.array([max(2 * fl, fl + 1.0) * direction]))[0]:
        return left
    return sp.oo


def _positive_real_roots(poly: sp.Poly) -> list:
    """Positive real roots: exact ``CRootOf`` for rational coefficients, else mpmath
    roots at the coefficients' precision (50 digits for exact algebraic ones)."""
    dom = poly.get_domain()
    if not (dom.is_ZZ or dom.is_QQ) and dom.is_Exact:
        try:  # algebraic numbers that simplify to rationals (sqrt(3)**2 …)
            poly = sp.Poly([sp.nsimplify(sp.simplify(c), rational=False) for c in poly.all_coeffs()], *poly.gens)
            poly = sp.Poly(poly.as_expr(), *poly.gens, domain="QQ")
            dom = poly.get_domain()
        except (sp.polys.polyerrors.CoercionFailed, sp.polys.polyerrors.PolificationFailed, ValueError, TypeError):
            pass
    if dom.is_ZZ or dom.is_QQ:
        roots = [r for r in sp.real_roots(poly) if r.is_positive]
        return sorted(set(roots), key=lambda r: float(sp.N(r)))
    from ._exact import precision_digits

    digits = precision_digits(poly.all_coeffs()) or 50
    import mpmath

    with mpmath.workdps(digits + 10):
        coeffs = [mpmath.mpmathify(complex(sp.N(c, digits + 10))) if not c.is_real else mpmath.mpf(str(sp.N(c, digits + 10))) for c in poly.all_coeffs()]
        while coeffs and coeffs[0] == 0:
            coeffs.pop(0)
        if len(coeffs) < 2:
            return []
        rts = mpmath.polyroots(coeffs, maxsteps=200, extraprec=4 * digits)
        tol = mpmath.mpf(10) ** (-(digits // 2))
        out = [sp.Float(mpmath.re(r), digits) for r in rts if abs(mpmath.im(r)) <= tol * max(1, abs(r)) and mpmath.re(r) > tol]
    return sorted(out, key=float)


def root_condition(poly: sp.Poly, digits: int | None = None) -> bool:
    """Root condition of a concrete polynomial: all roots in |ξ| ≤ 1, those with |ξ| = 1 simple.

    Decided exactly, without root finding and without a tolerance. Float coefficients are
    read as the binary fractions they store (:func:`._exact.exact`): a learned k = −0.999
    is zero-stable, k = 1 + 2⁻⁵² is not. For rational (and Gaussian-rational) coefficients
    (:func:`gaussian_root_condition`): a squarefree decomposition, then per factor q the
    part g = gcd(q, q*) holding every root on the circle (q* the conjugate reversal) and
    the rest q/g, which must lie strictly inside (exact Schur–Cohn); g's roots must all
    lie on the circle (counted exactly through the Cayley map), and a repeated factor
    must lie strictly inside. Other algebraic coefficients: a root can lie on the circle
    only in a self-reciprocal irreducible factor, and is repeated only in a factor of
    multiplicity > 1, judged from 40-digit roots. ``digits`` is accepted and ignored.
    Build ``poly`` from :func:`._exact.exact` of an expression mixing Floats and exact
    numbers: ``sp.Poly`` would round such a mix to its RR domain.

    >>> xi = sp.Symbol("xi")
    >>> root_condition(sp.Poly(xi**2 - 1, xi)), root_condition(sp.Poly((xi - 1)**2, xi))
    (True, False)
    >>> k = exact(sp.Float(-0.999))  # a learned k: zero-stable, roots 1 and 0.999
    >>> root_condition(sp.Poly(xi**2 - (1 - k) * xi - k, xi)), root_condition(sp.Poly(xi**2 - xi * 2**-52 - (1 + 2**-52), xi))
    (True, False)
    """
    if poly.free_symbols - set(poly.gens):
        raise ValueError(f"root condition needs concrete coefficients, got {poly.as_expr()}")
    if len(poly.gens) != 1:
        raise ValueError(f"root condition needs a polynomial in one variable, got {poly.as_expr()}")
    poly = sp.Poly(exact(poly.as_expr()), *poly.gens)
    if poly.is_zero:
        raise ValueError("root condition of the zero polynomial is undefined")
    dom = poly.get_domain()
    if dom.is_ZZ or dom.is_QQ or dom in (sp.ZZ_I, sp.QQ_I):
        K = sp.QQ if dom.is_ZZ or dom.is_QQ else sp.QQ_I
        return gaussian_root_condition(tuple(poly.set_domain(K).rep.to_list()), K, poly.gens[0])
    _, factors = sp.factor_list(poly)
    for g, m in factors:
        if g.degree() == 0:
            continue
        for r in g.nroots(n=40):
            a = abs(r)
            if a > 1 + sp.Float("1e-30"):
                return False
            if abs(a - 1) <= sp.Float("1e-30") and m > 1:
                return False
    return True


@functools.lru_cache(maxsize=4096)
def gaussian_root_condition(coeffs: tuple, K, gen) -> bool:
    """The root condition for a polynomial over K = QQ or QQ_I (``coeffs``: elements of K,
    highest degree first, leading one non-zero), exactly (see :func:`root_condition`);
    cached, since a net's steps repeat schemes.

    >>> gaussian_root_condition((sp.QQ(1), sp.QQ(0), sp.QQ(-1)), sp.QQ, sp.Symbol("xi"))  # ξ² − 1
    True
    """
    p = sp.Poly.new(sp.Poly(0, gen, domain=K).rep.from_list(list(coeffs), 0, K), gen)
    for q, m in p.sqf_list()[1]:
        if q.degree() == 0:
            continue
        if m > 1:
            if not _strictly_inside(q):
                return False
            continue
        g = sp.gcd(q, _conj_reversal(q))
        if not _strictly_inside(sp.exquo(q, g)):
            return False
        if g.degree() > 0 and _roots_on_circle(g) != g.degree():
            return False
    return True


def _conj(c):
    return type(c)(c.x, -c.y) if hasattr(c, "y") else c


def _norm2(c):
    return c.x**2 + c.y**2 if hasattr(c, "y") else c * c


def _conj_reversal(q: sp.Poly) -> sp.Poly:
    """q*(ξ) = ξⁿ conj(q(1/conj ξ)): its roots are the roots of q reflected in the circle."""
    return sp.Poly.new(type(q.rep).from_list([_conj(c) for c in reversed(q.rep.to_list())], 0, q.domain), *q.gens)


def _strictly_inside(q: sp.Poly) -> bool:
    """Exact Schur–Cohn: every root of q strictly inside the unit circle. A step with
    |a₀| ≥ |aₙ| ends it (the roots' product |a₀/aₙ| ≥ 1 then, or the reduction shows it)."""
    a = q.rep.to_list()[::-1]  # lowest degree first
    while len(a) > 1:
        a0, an = a[0], a[-1]
        if _norm2(a0) >= _norm2(an):
            return False
        n, cn = len(a), _conj(an)
        a = [cn * a[k] - a0 * _conj(a[n - 1 - k]) for k in range(1, n)]
    return True


def _roots_on_circle(g: sp.Poly) -> int:
    """Number of distinct roots of g on |ξ| = 1, exactly: ξ = 1, plus the real roots w of
    G(w) = (w + i)ⁿ g((w − i)/(w + i)) — the Cayley map sends the real line onto the rest
    of the circle; a real root of G is a common real root of Re G and Im G."""
    n = g.degree()
    lo = g.rep.to_list()[::-1]  # lowest degree first
    if n == 1:  # a root −a₀/a₁ is on the circle iff |a₀| = |a₁|
        return int(_norm2(lo[0]) == _norm2(lo[1]))
    K = sp.QQ_I
    lo = [K.convert_from(c, g.domain) for c in lo]
    minus, plus = [K(0, -1), K.one], [K(0, 1), K.one]  # w − i, w + i
    G = [K.zero] * (n + 1)
    for j, c in enumerate(lo):
        term = [c]
        for factor in [minus] * j + [plus] * (n - j):
            term = _times(term, factor, K)
        G = [x + y for x, y in zip(G, term)]
    re_part = sp.Poly([c.x for c in reversed(G)], sp.Symbol("w"), domain=sp.QQ)
    im_part = sp.Poly([c.y for c in reversed(G)], sp.Symbol("w"), domain=sp.QQ)
    R = sp.gcd(re_part, im_part)
    count = 1 if g.eval(1) == 0 else 0
    return count + (R.count_roots() if R.degree() > 0 else 0)


def _times(p: list, q: list, K) -> list:
    """Product of two polynomials given as coefficient lists, lowest degree first."""
    out = [K.zero] * (len(p) + len(q) - 1)
    for i, x in enumerate(p):
        for j, y in enumerate(q):
            out[i + j] += x * y
    return out


def critical_values(expr, xi: sp.Symbol, param: sp.Symbol) -> sp.Poly | None:
    """Polynomial in the real parameter whose real roots include every parameter value at
    which the root condition of ``expr`` (a polynomial in ξ) can change.

    A change needs a root crossing the unit circle, roots colliding, or the degree
    dropping. Per irreducible factor f (over the coefficients' field): the resultant of f
    with its conjugate reversal (a root on the circle; it vanishes identically for
    factors like ξ − 1 whose roots stay there), its discriminant, its leading
    coefficient; and the resultants between factors (collisions across factors).

    >>> k, xi = sp.symbols("k xi")
    >>> critical_values(xi**2 - (1 - k) * xi - k, xi, k)  # LM-ResNet: k = ±1
    Poly(k**2 - 1, k, domain='ZZ')
    """
    given = param
    param = sp.Symbol(param.name, real=True)
    expr = expression(expr, "expr").subs(given, param)
    # a Float is an exact binary fraction: work with that rational exactly (algebra on
    # Floats in sympy is slow and loses the exactness of the resultant)
    expr = sp.expand(exact(expr))
    ext = [sp.I] if expr.has(sp.I) else []
    _, flist = sp.factor_list(expr, xi, param, extension=ext or None)
    factors = [sp.Poly(f, xi) for f, _ in flist if f.has(xi)]
    parts = []
    for i, f in enumerate(factors):
        n = f.degree()
        fe = f.as_expr()
        rev = sp.Poly(sp.expand(xi**n * sp.conjugate(fe).subs(sp.conjugate(xi), xi).subs(xi, 1 / xi)), xi)
        parts += [sp.resultant(f, rev), f.LC()]
        if n > 1:
            parts.append(sp.discriminant(fe, xi))
        for g in factors[i + 1 :]:
            parts.append(sp.resultant(f, g))
    out = sp.Poly(1, param)
    for expr in parts:
        expr = sp.expand(expr)
        if expr == 0 or not expr.has(param):
            continue
        re_part, im_part = (sp.Poly(sp.expand(x), param) for x in expr.as_real_imag())
        g = re_part if im_part.is_zero else sp.gcd(re_part, im_part)
        if g.degree() > 0:
            out = out * g.sqf_part()
    out = out.sqf_part() if out.degree() > 0 else out
    if out.degree() > 0:
        out = out.monic() if out.get_domain().is_Field else out
    return sp.Poly(out.as_expr().subs(param, given), given) if out.degree() > 0 else None


def nonnegative_on_reals(expr, t) -> bool:
    """Exact check that a real polynomial is ≥ 0 for every real t."""
    return nonnegative_on_interval(expr, t, -sp.oo, sp.oo)


def nonnegative_on_interval(expr, t, lo, hi) -> bool:
    """Check that a real polynomial is ≥ 0 on [lo, hi]: its sign between consecutive real
    roots (exact roots for rational coefficients) is probed at 40 digits."""
    if expr == 0:
        return True
    poly = sp.Poly(expr, t)
    if poly.degree() <= 0:
        return bool(poly.LC() >= 0)
    if poly.get_domain().is_Exact and (poly.get_domain().is_QQ or poly.get_domain().is_ZZ):
        pts = sorted(set(sp.real_roots(poly)), key=lambda r: float(r))
    else:
        pts = sorted({float(sp.re(r)) for r in sp.Poly(poly, t).nroots(n=30) if abs(sp.im(r)) < 1e-20})
    fl = [float(sp.N(p, 30)) for p in pts]
    flo, fhi = float(lo), float(hi)
    fl = [x for x in fl if flo < x < fhi]
    ends = ([flo] if np.isfinite(flo) else [(fl[0] if fl else 0.0) - 1.0]) + fl + ([fhi] if np.isfinite(fhi) else [(fl[-1] if fl else 0.0) + 1.0])
    probes = [(x + y) / 2 for x, y in zip(ends[:-1], ends[1:])]
    f = sp.lambdify(t, poly.as_expr(), "mpmath")
    import mpmath

    with mpmath.workdps(40):
        return all(f(mpmath.mpf(p)) >= 0 for p in probes)


def root_condition_set(expr, xi: sp.Symbol, param: sp.Symbol) -> sp.Set:
    """The exact set of real values of ``param`` for which the polynomial ``expr`` in ξ
    satisfies the root condition (roots in |ξ| ≤ 1, those on the circle simple).

    The real line is cut at the :func:`critical_values`; each open piece is decided at one
    rational probe and each critical value on its own, both exactly by
    :func:`root_condition`. Works for any polynomial in ξ whose coefficients are
    polynomials in the parameter (with ``I`` allowed: z = i·y on the imaginary axis).

    >>> w, xi = sp.symbols("w xi")
    >>> root_condition_set(xi**2 - (2 - w) * xi + 1, xi, w)  # Störmer–Verlet, w = h²ab
    Interval.open(0, 4)
    >>> y = sp.Symbol("y")
    >>> root_condition_set(xi**2 - 2 * sp.I * y * xi - 1, xi, y)  # midpoint at z = i·y
    Interval.open(-1, 1)
    """
    pr = sp.Symbol(param.name, real=True)
    expr = sp.expand(exact(expression(expr, "expr").subs(param, pr)))  # Floats as their binary values
    cv = critical_values(expr, xi, pr)
    crit = [] if cv is None else sorted(set(cv.real_roots()), key=lambda r: float(r))

    def ok(val):
        return root_condition(sp.Poly(expr.subs(pr, val), xi))

    result = sp.S.EmptySet
    edges = [-sp.oo] + crit + [sp.oo]
    for lo, hi in zip(edges[:-1], edges[1:]):
        if lo == -sp.oo and hi == sp.oo:
            mid = sp.Integer(0)
        elif lo == -sp.oo:
            mid = sp.floor(hi) - 1
        elif hi == sp.oo:
            mid = sp.ceiling(lo) + 1
        else:
            mid = sp.nsimplify((sp.N(lo, 30) + sp.N(hi, 30)) / 2, rational=True)
        if ok(mid):
            result = result | sp.Interval.open(lo, hi)
    for c in crit:
        if ok(c):
            result = result | sp.FiniteSet(c)
    return sp.simplify(result)
