"""Named schemes: family constructors and a registry.

Families are built from their definitions (interpolation for Adams/BDF/Nyström,
collocation for Gauss/Radau/Lobatto), never from typed tables; only the explicit pairs
whose coefficients were found by optimisation (Dormand–Prince, Fehlberg, Cash–Karp,
Bogacki–Shampine, Hairer–Wanner's SDIRK4) are given as published data.

>>> get("ab3").beta
(5/12, -4/3, 23/12, 0)
>>> get("ab33")
Traceback (most recent call last):
...
ValueError: unknown scheme 'ab33'; close matches: ab3, am3, ab6
"""

from __future__ import annotations

import difflib
import functools

import sympy as sp
from sympy.polys.constructor import construct_domain
from sympy.polys.matrices import DomainMatrix

from .lmm import LinearMultistep
from .rk import RungeKutta

_t = sp.Symbol("t")
R = sp.Rational


def _lagrange(nodes, j):
    out = sp.Integer(1)
    for m, x in enumerate(nodes):
        if m != j:
            out *= (_t - x) / (nodes[j] - x)
    return out


def _quadrature_rows(nodes, intervals) -> list:
    """Interpolatory quadrature weights on ``nodes`` for each interval (a, b): the rows W
    with Σ_j W_rj c_j^k = ∫_a^b t^k dt, k < s, i.e. W = M V⁻¹ for the Vandermonde V.
    Solved in the number field the nodes generate (QQ, QQ<√15>, …): only the nodes and
    interval ends are converted into it; powers and the solve are field arithmetic."""
    K, rows, _ = _quadrature_rows_in_field(nodes, intervals)
    return [[sp.expand(K.to_sympy(x)) for x in row] for row in rows]


def _quadrature_rows_in_field(nodes, intervals):
    """:func:`_quadrature_rows` as elements of the nodes' field: (K, rows, nodes in K)."""
    s = len(nodes)
    points = [sp.sympify(x) for x in nodes] + [sp.sympify(e) for ab in intervals for e in ab]
    K, c = construct_domain(points, extension=True)
    if not K.is_Field:
        field = K.get_field()
        K, c = field, [field.convert_from(e, K) for e in c]
    ends, c = c[s:], c[:s]
    V = DomainMatrix([[c[j] ** k for k in range(s)] for j in range(s)], (s, s), K)
    M = DomainMatrix([[K.quo(ends[2 * r + 1] ** (k + 1) - ends[2 * r] ** (k + 1), K.convert(k + 1)) for k in range(s)]
                      for r in range(len(intervals))], (len(intervals), s), K)
    return K, (M * V.inv()).to_list(), c


def _quadrature_weights(nodes, a, b):
    return _quadrature_rows(nodes, [(a, b)])[0]


def _check_steps(s, lo, hi, what):
    if not isinstance(s, int) or isinstance(s, bool) or not lo <= s <= hi:
        raise ValueError(f"{what} must be an integer in {lo}..{hi}, got {s!r}")


# -- linear multistep families ---------------------------------------------------
def adams_bashforth(s: int) -> LinearMultistep:
    """Explicit Adams–Bashforth, s steps, order s: integrate the interpolant of
    f_n … f_{n+s−1} over [t_{n+s−1}, t_{n+s}].

    >>> adams_bashforth(2).beta
    (-1/2, 3/2, 0)
    """
    _check_steps(s, 1, 12, "steps")
    beta = _quadrature_weights(list(range(s)), s - 1, s) + [0]
    return LinearMultistep([0] * (s - 1) + [-1, 1], beta, name=f"ab{s}")


def adams_moulton(k: int) -> LinearMultistep:
    """Implicit Adams–Moulton of order k+1 (AM0 = backward Euler, AM1 = trapezoid):
    interpolate f at max(k,1)+1 … nodes including the new point.

    >>> adams_moulton(1).beta
    (1/2, 1/2)
    """
    _check_steps(k, 0, 12, "k")
    s = max(k, 1)
    nodes = list(range(s - k, s + 1))
    w = _quadrature_weights(nodes, s - 1, s)
    beta = [0] * (s + 1 - len(w)) + w
    return LinearMultistep([0] * (s - 1) + [-1, 1], beta, name=f"am{k}")


def bdf(s: int) -> LinearMultistep:
    """Backward differentiation formula, s steps, order s: differentiate the interpolant
    of y_n … y_{n+s} at t_{n+s}.

    >>> bdf(2).alpha, bdf(2).beta
    ((1/3, -4/3, 1), (0, 0, 2/3))
    """
    _check_steps(s, 1, 12, "steps")
    nodes = list(range(s + 1))
    alpha = [sp.diff(_lagrange(nodes, j), _t).subs(_t, s) for j in nodes]
    return LinearMultistep(alpha, [0] * s + [1], name=f"bdf{s}")


def nystrom(s: int) -> LinearMultistep:
    """Explicit Nyström, s steps, order s: y_{n+s} = y_{n+s−2} + ∫ over two steps of the
    interpolant of f_n … f_{n+s−1}. Two steps is the leapfrog (explicit midpoint) rule.

    >>> nystrom(2).beta
    (0, 2, 0)
    """
    _check_steps(s, 2, 12, "steps")
    beta = _quadrature_weights(list(range(s)), s - 2, s) + [0]
    alpha = [0] * (s - 2) + [-1, 0, 1]
    return LinearMultistep(alpha, beta, name=f"nystrom{s}")


def milne_simpson(s: int = 2) -> LinearMultistep:
    """Implicit Milne–Simpson, s steps: y_{n+s} = y_{n+s−2} + ∫ of the interpolant of
    f_n … f_{n+s}; two steps is Simpson's rule, order 4.

    >>> milne_simpson().beta
    (1/3, 4/3, 1/3)
    """
    _check_steps(s, 2, 12, "steps")
    beta = _quadrature_weights(list(range(s + 1)), s - 2, s)
    return LinearMultistep([0] * (s - 2) + [-1, 0, 1], beta, name="milne_simpson" if s == 2 else f"milne_simpson{s}")


def lm_resnet(k=None) -> LinearMultistep:
    """LM-ResNet's step u_{n+1} = (1−k) u_n + k u_{n−1} + h f(u_n) (Lu et al., 2018).

    ``k`` defaults to a free symbol; a number gives one concrete block.

    >>> lm_resnet().alpha, lm_resnet(-0.999).is_zero_stable
    ((-k, k - 1, 1), True)
    """
    sym = sp.Symbol("k")
    family = LinearMultistep([-sym, sym - 1, 1], [0, 1, 0], name="lm_resnet")
    return family if k is None else family.subs(k=k)  # one exact substitution path (ρ(1) = 0 kept for floats)


def adams_net(steps: int, learnable: bool = False) -> LinearMultistep:
    """The Adams nets' step (Yan, 2019): u_{n+1} = u_n + h Σ_j b_j f(u_{n+1−j}).

    Fixed: the Adams–Bashforth weights. Learnable: free weights b1 (on f_n), b2 (on
    f_{n−1}), … with the oldest fixed by Σ b_j = 1, which keeps the step consistent.

    >>> adams_net(2, learnable=True).beta
    (1 - b1, b1, 0)
    """
    _check_steps(steps, 2, 3, "steps")
    if not learnable:
        ab = adams_bashforth(steps)
        return LinearMultistep(ab.alpha, ab.beta, name=f"adams{steps}")
    free = sp.symbols(" ".join(f"b{j}" for j in range(1, steps)))
    free = free if isinstance(free, tuple) else (free,)
    newest_first = list(free) + [1 - sum(free)]
    beta = list(reversed(newest_first)) + [0]
    return LinearMultistep([0] * (steps - 1) + [-1, 1], beta, name=f"adams{steps}_learnable")


# -- Runge–Kutta families ---------------------------------------------------------
def _shifted_legendre(n):
    return sp.legendre(n, 2 * _t - 1)


def _roots(poly_expr, what):
    """The roots of a polynomial in t with only real roots, ascending: radicals where
    sympy's closed forms are real (exact by construction), else ``CRootOf``."""
    poly = sp.Poly(sp.expand(poly_expr), _t)
    found = sp.roots(poly, multiple=True)
    if len(found) == poly.degree() and not any(r.has(sp.I) for r in found):
        return sorted(found, key=float)
    return sorted(poly.all_roots(), key=float)


def _collocation(c, name):
    K, rows, cK = _quadrature_rows_in_field(c, [(0, ci) for ci in c] + [(0, 1)])
    *A, b = [[sp.expand(K.to_sympy(x)) for x in row] for row in rows]
    method = RungeKutta(A, b, c, name=name)
    method._field_cache = (K, rows[:-1], rows[-1], cK)  # exact queries start from the nodes' field
    return method


def gauss_legendre(s: int) -> RungeKutta:
    """Gauss–Legendre collocation, s stages, order 2s (s = 1 is the implicit midpoint rule).

    >>> gauss_legendre(2).c
    (1/2 - sqrt(3)/6, sqrt(3)/6 + 1/2)
    """
    _check_steps(s, 1, 5, "stages")
    return _collocation(_roots(_shifted_legendre(s), "Gauss nodes"), f"gauss{s}")


def radau_iia(s: int) -> RungeKutta:
    """Radau IIA collocation, s stages, order 2s−1, c_s = 1 (s = 1 is backward Euler).
    For s ≥ 4 the nodes are ``CRootOf`` (Cardano would need complex radicals), and exact
    coefficients are long: s = 4 builds in about a second, s = 5 in about a minute.

    >>> radau_iia(2).c
    (1/3, 1)
    """
    _check_steps(s, 1, 5, "stages")
    return _collocation(_roots(_shifted_legendre(s) - _shifted_legendre(s - 1), "Radau nodes"), f"radau_iia{s}")


def _lobatto_nodes(s):
    return _roots(_t * (_t - 1) * sp.diff(_shifted_legendre(s - 1), _t), "Lobatto nodes") if s > 2 else [sp.Integer(0), sp.Integer(1)]


def lobatto_iiia(s: int) -> RungeKutta:
    """Lobatto IIIA collocation, s stages, order 2s−2 (s = 2 is the trapezoidal rule).

    >>> lobatto_iiia(2).A
    Matrix([
    [  0,   0],
    [1/2, 1/2]])
    """
    _check_steps(s, 2, 5, "stages")
    m = _collocation(_lobatto_nodes(s), f"lobatto_iiia{s}")
    return m


def lobatto_iiib(s: int) -> RungeKutta:
    """Lobatto IIIB, the symplectic partner of IIIA: b_i a^B_ij + b_j a^A_ji = b_i b_j.

    >>> lobatto_iiib(2).A
    Matrix([
    [1/2, 0],
    [1/2, 0]])
    """
    a = lobatto_iiia(s)
    b = a.b
    A = [[sp.radsimp(b[j] * (1 - a.A[j, i] / b[i])) for j in range(s)] for i in range(s)]
    return RungeKutta(A, b, a.c, name=f"lobatto_iiib{s}")


def lobatto_iiic(s: int) -> RungeKutta:
    """Lobatto IIIC: a_i1 = b_1 for all i and C(s−1); L-stable, order 2s−2.

    >>> lobatto_iiic(2).A
    Matrix([
    [1/2, -1/2],
    [1/2,  1/2]])
    """
    a = lobatto_iiia(s)
    c, b = a.c, a.b
    rows = []
    for i in range(s):
        x = sp.symbols(f"x0:{s}")
        eqs = [sp.Eq(x[0], b[0])] + [sp.Eq(sum(x[j] * c[j] ** (k - 1) for j in range(s)), c[i] ** k / k) for k in range(1, s)]
        sol = sp.solve(eqs, x, dict=True)[0]
        rows.append([sp.radsimp(sol[x[j]]) for j in range(s)])
    return RungeKutta(rows, b, c, name=f"lobatto_iiic{s}")


def _explicit(rows, b, name, b_hat=None):
    s = len(b)
    A = [[R(x) if isinstance(x, str) else x for x in row] + [0] * (s - len(row)) for row in rows]
    return RungeKutta(A, [R(x) if isinstance(x, str) else x for x in b], name=name,
                      b_hat=None if b_hat is None else [R(x) if isinstance(x, str) else x for x in b_hat])


def sdirk4() -> RungeKutta:
    """Hairer–Wanner's L-stable SDIRK4 (HW II, §IV.6, Table 6.5): 5 stages, γ = 1/4, order 4,
    stiffly accurate, with its embedded order-3 weights b̂ (an implicit pair).

    >>> m = sdirk4()
    >>> m.order, m.embedded_order, m.is_L_stable
    (4, 3, True)
    """
    g = R(1, 4)
    A = [
        [g, 0, 0, 0, 0],
        [R(1, 2), g, 0, 0, 0],
        [R(17, 50), R(-1, 25), g, 0, 0],
        [R(371, 1360), R(-137, 2720), R(15, 544), g, 0],
        [R(25, 24), R(-49, 48), R(125, 16), R(-85, 12), g],
    ]
    return RungeKutta(A, A[-1], name="sdirk4", b_hat=[R(59, 48), R(-17, 96), R(225, 32), R(-85, 12), 0])


def rk2_family() -> RungeKutta:
    """The general explicit 2-stage method, free a21, b1, b2 (solve for order 2 with
    :meth:`RungeKutta.solve_order_conditions`)."""
    a21, b1, b2 = sp.symbols("a21 b1 b2")
    return RungeKutta([[0, 0], [a21, 0]], [b1, b2], name="rk2_family")


_TABLEAUS = {
    "euler": lambda: _explicit([[]], ["1"], "euler"),
    "explicit_midpoint": lambda: _explicit([[], ["1/2"]], [0, 1], "explicit_midpoint"),
    "heun": lambda: _explicit([[], [1]], ["1/2", "1/2"], "heun"),
    "ralston": lambda: _explicit([[], ["2/3"]], ["1/4", "3/4"], "ralston"),
    "kutta3": lambda: _explicit([[], ["1/2"], [-1, 2]], ["1/6", "2/3", "1/6"], "kutta3"),
    "rk4": lambda: _explicit([[], ["1/2"], [0, "1/2"], [0, 0, 1]], ["1/6", "1/3", "1/3", "1/6"], "rk4"),
    "rk38": lambda: _explicit([[], ["1/3"], ["-1/3", 1], [1, -1, 1]], ["1/8", "3/8", "3/8", "1/8"], "rk38"),
    "ssprk2": lambda: _explicit([[], [1]], ["1/2", "1/2"], "ssprk2"),
    "ssprk3": lambda: _explicit([[], [1], ["1/4", "1/4"]], ["1/6", "1/6", "2/3"], "ssprk3"),
    # backward Euler by two fixed-point sweeps, u + h f(u + h f(u)); on a linear field PolyNet's poly-2 block
    "poly2": lambda: _explicit([[], [1]], [0, 1], "poly2"),
    "bogacki_shampine": lambda: _explicit(
        [[], ["1/2"], [0, "3/4"], ["2/9", "1/3", "4/9"]],
        ["2/9", "1/3", "4/9", 0],
        "bogacki_shampine",
        b_hat=["7/24", "1/4", "1/3", "1/8"],
    ),
    "dormand_prince": lambda: _explicit(
        [
            [],
            ["1/5"],
            ["3/40", "9/40"],
            ["44/45", "-56/15", "32/9"],
            ["19372/6561", "-25360/2187", "64448/6561", "-212/729"],
            ["9017/3168", "-355/33", "46732/5247", "49/176", "-5103/18656"],
            ["35/384", 0, "500/1113", "125/192", "-2187/6784", "11/84"],
        ],
        ["35/384", 0, "500/1113", "125/192", "-2187/6784", "11/84", 0],
        "dormand_prince",
        b_hat=["5179/57600", 0, "7571/16695", "393/640", "-92097/339200", "187/2100", "1/40"],
    ),
    "fehlberg45": lambda: _explicit(
        [
            [],
            ["1/4"],
            ["3/32", "9/32"],
            ["1932/2197", "-7200/2197", "7296/2197"],
            ["439/216", -8, "3680/513", "-845/4104"],
            ["-8/27", 2, "-3544/2565", "1859/4104", "-11/40"],
        ],
        ["25/216", 0, "1408/2565", "2197/4104", "-1/5", 0],
        "fehlberg45",
        b_hat=["16/135", 0, "6656/12825", "28561/56430", "-9/50", "2/55"],
    ),
    "cash_karp": lambda: _explicit(
        [
            [],
            ["1/5"],
            ["3/40", "9/40"],
            ["3/10", "-9/10", "6/5"],
            ["-11/54", "5/2", "-70/27", "35/27"],
            ["1631/55296", "175/512", "575/13824", "44275/110592", "253/4096"],
        ],
        ["37/378", 0, "250/621", "125/594", 0, "512/1771"],
        "cash_karp",
        b_hat=["2825/27648", 0, "18575/48384", "13525/55296", "277/14336", "1/4"],
    ),
}


def _build_registry():
    reg = {}
    for s in range(1, 7):
        reg[f"ab{s}"] = functools.partial(adams_bashforth, s)
        reg[f"bdf{s}"] = functools.partial(bdf, s)
    for k in range(0, 6):
        reg[f"am{k}"] = functools.partial(adams_moulton, k)
    reg["bdf7"] = functools.partial(bdf, 7)  # kept for the zero-stability counterexample
    for s in (2, 3, 4):
        reg[f"nystrom{s}"] = functools.partial(nystrom, s)
    reg["leapfrog"] = lambda: _renamed(nystrom(2), "leapfrog")
    reg["milne_simpson"] = milne_simpson
    reg["lm_resnet"] = lm_resnet
    for n in (2, 3):
        reg[f"adams{n}"] = functools.partial(adams_net, n)
        reg[f"adams{n}_learnable"] = functools.partial(adams_net, n, True)
    reg.update(_TABLEAUS)
    reg["backward_euler"] = lambda: _renamed(radau_iia(1), "backward_euler")
    reg["implicit_midpoint"] = lambda: _renamed(gauss_legendre(1), "implicit_midpoint")
    for s in (1, 2, 3):
        reg[f"gauss{s}"] = functools.partial(gauss_legendre, s)
        reg[f"radau_iia{s}"] = functools.partial(radau_iia, s)
    for s in (2, 3, 4):
        reg[f"lobatto_iiia{s}"] = functools.partial(lobatto_iiia, s)
        reg[f"lobatto_iiib{s}"] = functools.partial(lobatto_iiib, s)
        reg[f"lobatto_iiic{s}"] = functools.partial(lobatto_iiic, s)
    reg["sdirk4"] = sdirk4
    reg["rk2_family"] = rk2_family
    return reg


def _renamed(scheme, name):
    scheme.name = name
    return scheme


_REGISTRY = _build_registry()
_ALIASES = {"forward_euler": "euler", "resnet": "euler", "trapezoid": "am1", "nystrom": "nystrom2", "midpoint": "explicit_midpoint"}


@functools.lru_cache(maxsize=None)
def _cached(name):
    return _REGISTRY[name]()


def names() -> list:
    """All registered scheme names, in catalog order.

    >>> "rk4" in names() and "lm_resnet" in names()
    True
    """
    return list(_REGISTRY)


def get(name: str):
    """The scheme registered under ``name`` (aliases: forward_euler, resnet, trapezoid, …).

    Schemes are immutable in use; each call returns the same cached object.
    """
    if not isinstance(name, str):
        raise TypeError(f"scheme name must be a string, got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        close = difflib.get_close_matches(key, list(_REGISTRY) + list(_ALIASES), n=3, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else f"; known: {', '.join(_REGISTRY)}"
        raise ValueError(f"unknown scheme {name!r}{hint}")
    return _cached(key)


def catalog(include_families: bool = False) -> list:
    """Every named scheme (concrete ones; ``include_families`` adds those with free symbols).

    >>> len(catalog()) > 50
    True
    """
    out = [get(n) for n in _REGISTRY if n != "bdf7"]
    return [s for s in out if include_families or not s.free_symbols]
