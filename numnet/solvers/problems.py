"""Test problems: vector field, Jacobian, initial value, span, invariants, and a reference.

Each right-hand side is written once for NumPy and torch alike (batched, shape (..., d)).
References: the exact solution where one is known (Dahlquist, harmonic oscillator, and
also Kepler through Kepler's equation and the pendulum through Jacobi's elliptic
functions), otherwise ``scipy.integrate.solve_ivp`` at rtol 1e-12 (DOP853, or Radau for
stiff problems), computed once per (problem, t) and kept in memory (``functools.lru_cache``).
Constructors are cached too, so ``kepler()`` is the same object each time.

>>> p = harmonic_oscillator()
>>> p.name, p.t_span, p.solution().round(6).tolist()
('harmonic_oscillator', (0.0, 5.0), [0.283662, 0.958924])
>>> sorted(suite())  # doctest: +NORMALIZE_WHITESPACE
['brusselator', 'dahlquist', 'harmonic_oscillator', 'kepler', 'lotka_volterra', 'pendulum',
 'robertson', 'van_der_pol', 'van_der_pol_stiff']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

REFERENCE_RTOL = 1e-12


def _xp(y):
    if isinstance(y, np.ndarray) or np.isscalar(y):
        return np
    import torch

    return torch


def _vec(parts, y):
    """Stack components (each of shape ...) into (..., d) in y's array library."""
    if isinstance(y, np.ndarray):  # faster than np.stack for the small arrays of a test
        out = np.empty(y.shape[:-1] + (len(parts),), dtype=np.result_type(*parts))
        for i, part in enumerate(parts):
            out[..., i] = part
        return out
    return _xp(y).stack(parts, -1)


def _mat(rows, y):
    """Stack rows of components into (..., d, d)."""
    if isinstance(y, np.ndarray):
        d = len(rows)
        out = np.empty(y.shape[:-1] + (d, d), dtype=np.result_type(*[x for r in rows for x in r]))
        for i, r in enumerate(rows):
            for j, x in enumerate(r):
                out[..., i, j] = x
        return out
    xp = _xp(y)
    return xp.stack([xp.stack(r, -1) for r in rows], -2)


@dataclass(frozen=True, eq=False)
class Problem:
    """An initial value problem y' = f(t, y), y(t0) = y0 on t_span.

    ``exact(t)`` gives y(t) where known; ``invariants`` maps a name to a function of the
    state (batched) that the exact flow keeps constant.
    """

    name: str
    f: Callable
    y0: np.ndarray
    t_span: tuple
    jac: Callable | None = None
    exact: Callable | None = None
    invariants: dict = field(default_factory=dict)
    stiff: bool = False
    ref_atol: float = 1e-12
    description: str = ""

    @property
    def t_end(self) -> float:
        return self.t_span[1]

    @property
    def dim(self) -> int:
        return self.y0.shape[-1]

    def solution(self, t=None) -> np.ndarray:
        """y(t) (default t_end): exact where known, else the cached scipy reference."""
        t = self.t_end if t is None else float(t)
        return np.asarray(self.exact(t), dtype=np.float64) if self.exact is not None else self.reference(t)

    def reference(self, t=None) -> np.ndarray:
        """The scipy reference y(t) at rtol 1e-12 (DOP853, Radau if stiff), cached."""
        return _reference(self, self.t_end if t is None else float(t)).copy()

    def __repr__(self) -> str:
        return f"Problem({self.name}, d={self.dim}, t_span={self.t_span}{', stiff' if self.stiff else ''})"


@functools.lru_cache(maxsize=None)
def _reference(problem: Problem, t: float) -> np.ndarray:
    from scipy.integrate import solve_ivp

    method = "Radau" if problem.stiff else "DOP853"
    kwargs = {"jac": problem.jac} if problem.stiff and problem.jac is not None else {}
    t0 = problem.t_span[0]
    if t == t0:
        return problem.y0.copy()
    sol = solve_ivp(problem.f, (t0, t), problem.y0, method=method, rtol=REFERENCE_RTOL,
                    atol=problem.ref_atol, **kwargs)
    if not sol.success:  # pragma: no cover - the suite's problems all solve
        raise RuntimeError(f"reference solve of {problem.name} failed: {sol.message}")
    return sol.y[:, -1]


# -- linear problems with exact solutions --------------------------------------------
@functools.lru_cache(maxsize=None)
def dahlquist(lam: float = -1.0, t_end: float = 1.0) -> Problem:
    """y' = λy, y(0) = 1: y = e^{λt}.

    >>> float(dahlquist(-2.0).solution(0.5)[0]) == float(np.exp(-1.0))
    True
    """
    lam = float(lam)
    return Problem(
        "dahlquist", lambda t, y: lam * y, np.array([1.0]), (0.0, float(t_end)),
        jac=lambda t, y: (y * 0 + lam)[..., None], exact=lambda t: np.array([np.exp(lam * t)]),
        description=f"y' = {lam:g} y",
    )


@functools.lru_cache(maxsize=None)
def harmonic_oscillator(omega: float = 1.0, t_end: float = 5.0) -> Problem:
    """q' = p, p' = −ω²q from (1, 0): q = cos ωt, p = −ω sin ωt; energy (p² + ω²q²)/2."""
    w2 = float(omega) ** 2
    w = float(omega)

    def f(t, y):
        return _vec([y[..., 1], -w2 * y[..., 0]], y)

    def jac(t, y):
        z = y[..., 0] * 0
        return _mat([[z, z + 1], [z - w2, z]], y)

    return Problem(
        "harmonic_oscillator", f, np.array([1.0, 0.0]), (0.0, float(t_end)), jac=jac,
        exact=lambda t: np.array([np.cos(w * t), -w * np.sin(w * t)]),
        invariants={"energy": lambda y: (y[..., 1] ** 2 + w2 * y[..., 0] ** 2) / 2},
        description="q'' = -ω² q",
    )


# -- nonlinear conservative problems (exact solutions too) ------------------------------
def _kepler_anomaly(M, e):
    """Eccentric anomaly E with E − e sin E = M, by Newton to machine precision."""
    E = M + e * np.sin(M)
    for _ in range(50):
        dE = (E - e * np.sin(E) - M) / (1 - e * np.cos(E))
        E = E - dE
        if abs(dE) < 1e-16:
            break
    return E


@functools.lru_cache(maxsize=None)
def kepler(e: float = 0.5, t_end: float = 2 * np.pi) -> Problem:
    """Two-body problem q'' = −q/|q|³ from the periapsis of an orbit of eccentricity e
    (period 2π). Exact via Kepler's equation; invariants energy and angular momentum.

    >>> p = kepler()
    >>> np.allclose(p.solution(2 * np.pi), p.y0, atol=1e-14)
    True
    """
    e = float(e)
    if not 0 <= e < 1:
        raise ValueError(f"eccentricity must be in [0, 1) for a bounded orbit, got {e}")
    s = np.sqrt(1 - e * e)

    def f(t, y):
        q1, q2 = y[..., 0], y[..., 1]
        r3 = (q1 * q1 + q2 * q2) ** 1.5
        return _vec([y[..., 2], y[..., 3], -q1 / r3, -q2 / r3], y)

    def jac(t, y):
        q1, q2 = y[..., 0], y[..., 1]
        r2 = q1 * q1 + q2 * q2
        r5 = r2**2.5
        z = q1 * 0
        a11 = (3 * q1 * q1 - r2) / r5
        a22 = (3 * q2 * q2 - r2) / r5
        a12 = 3 * q1 * q2 / r5
        return _mat([[z, z, z + 1, z], [z, z, z, z + 1], [a11, a12, z, z], [a12, a22, z, z]], y)

    def exact(t):
        E = _kepler_anomaly(float(t), e)
        c, sn = np.cos(E), np.sin(E)
        den = 1 - e * c
        return np.array([c - e, s * sn, -sn / den, s * c / den])

    return Problem(
        "kepler", f, np.array([1 - e, 0.0, 0.0, np.sqrt((1 + e) / (1 - e))]), (0.0, float(t_end)),
        jac=jac, exact=exact,
        invariants={
            "energy": lambda y: (y[..., 2] ** 2 + y[..., 3] ** 2) / 2 - 1 / (y[..., 0] ** 2 + y[..., 1] ** 2) ** 0.5,
            "angular_momentum": lambda y: y[..., 0] * y[..., 3] - y[..., 1] * y[..., 2],
        },
        description=f"two-body, e = {e:g}",
    )


@functools.lru_cache(maxsize=None)
def pendulum(theta0: float = 1.0, t_end: float = 5.0) -> Problem:
    """θ'' = −sin θ released at rest from θ0: θ = 2 arcsin(k sn(K − t | k²)),
    θ' = −2k cn(K − t | k²), k = sin(θ0/2); energy θ'²/2 − cos θ."""
    from scipy.special import ellipj, ellipk

    k = np.sin(float(theta0) / 2)
    m = k * k
    K = ellipk(m)
    def f(t, y):
        return _vec([y[..., 1], -_xp(y).sin(y[..., 0])], y)

    def jac(t, y):
        z = y[..., 0] * 0
        return _mat([[z, z + 1], [-_xp(y).cos(y[..., 0]), z]], y)

    def exact(t):
        sn, cn, _, _ = ellipj(K - t, m)
        return np.array([2 * np.arcsin(k * sn), -2 * k * cn])

    return Problem(
        "pendulum", f, np.array([float(theta0), 0.0]), (0.0, float(t_end)), jac=jac, exact=exact,
        invariants={"energy": lambda y: y[..., 1] ** 2 / 2 - _xp(y).cos(y[..., 0])},
        description=f"θ'' = -sin θ, θ0 = {theta0:g}",
    )


@functools.lru_cache(maxsize=None)
def lotka_volterra(a=1.5, b=1.0, c=3.0, d=1.0, t_end=15.0) -> Problem:
    """x' = ax − bxy, y' = dxy − cy from (10, 5); invariant dx − c ln x + by − a ln y."""

    def f(t, y):
        x, v = y[..., 0], y[..., 1]
        return _vec([a * x - b * x * v, d * x * v - c * v], y)

    def jac(t, y):
        x, v = y[..., 0], y[..., 1]
        return _mat([[a - b * v, -b * x], [d * v, d * x - c]], y)

    def invariant(y):
        xp = _xp(y)
        return d * y[..., 0] - c * xp.log(y[..., 0]) + b * y[..., 1] - a * xp.log(y[..., 1])

    return Problem("lotka_volterra", f, np.array([10.0, 5.0]), (0.0, float(t_end)), jac=jac,
                   invariants={"V": invariant}, description="predator–prey")


# -- dissipative and stiff problems -------------------------------------------------
@functools.lru_cache(maxsize=None)
def van_der_pol(mu: float = 1.0, t_end: float | None = None) -> Problem:
    """x'' = μ(1 − x²)x' − x from (2, 0). Stiff for large μ (μ = 1000: spans (0, 2) and is
    referenced with Radau); μ = 1 spans (0, 10)."""
    mu = float(mu)
    stiff = mu >= 100
    t_end = (2.0 if stiff else 10.0) if t_end is None else float(t_end)

    def f(t, y):
        x, v = y[..., 0], y[..., 1]
        return _vec([v, mu * (1 - x * x) * v - x], y)

    def jac(t, y):
        x, v = y[..., 0], y[..., 1]
        z = x * 0
        return _mat([[z, z + 1], [-2 * mu * x * v - 1, mu * (1 - x * x)]], y)

    return Problem("van_der_pol_stiff" if stiff else "van_der_pol", f, np.array([2.0, 0.0]), (0.0, t_end),
                   jac=jac, stiff=stiff, description=f"μ = {mu:g}")


@functools.lru_cache(maxsize=None)
def robertson(t_end: float = 40.0) -> Problem:
    """Robertson's chemical kinetics (k = 0.04, 3e7, 1e4) from (1, 0, 0); stiff; y1+y2+y3 = 1."""

    def f(t, y):
        a, b, c = y[..., 0], y[..., 1], y[..., 2]
        r1, r2, r3 = 0.04 * a, 1e4 * b * c, 3e7 * b * b
        return _vec([-r1 + r2, r1 - r2 - r3, r3], y)

    def jac(t, y):
        a, b, c = y[..., 0], y[..., 1], y[..., 2]
        z = a * 0
        return _mat(
            [[z - 0.04, 1e4 * c, 1e4 * b], [z + 0.04, -1e4 * c - 6e7 * b, -1e4 * b], [z, 6e7 * b, z]], y
        )

    return Problem("robertson", f, np.array([1.0, 0.0, 0.0]), (0.0, float(t_end)), jac=jac, stiff=True,
                   ref_atol=1e-14, invariants={"mass": lambda y: y[..., 0] + y[..., 1] + y[..., 2]},
                   description="stiff chemical kinetics")


@functools.lru_cache(maxsize=None)
def brusselator(A: float = 1.0, B: float = 3.0, t_end: float = 20.0) -> Problem:
    """x' = A + x²y − (B+1)x, y' = Bx − x²y from (1.5, 3) (HNW I, §II.10)."""

    def f(t, y):
        x, v = y[..., 0], y[..., 1]
        return _vec([A + x * x * v - (B + 1) * x, B * x - x * x * v], y)

    def jac(t, y):
        x, v = y[..., 0], y[..., 1]
        return _mat([[2 * x * v - (B + 1), x * x], [B - 2 * x * v, -x * x]], y)

    return Problem("brusselator", f, np.array([1.5, 3.0]), (0.0, float(t_end)), jac=jac,
                   description=f"A = {A:g}, B = {B:g}")


# The published reference at t = 321.8122 (Mazzia & Magherini, Test Set for IVP Solvers, HIRES).
HIRES_REFERENCE = np.array([
    0.7371312573325668e-3, 0.1442485726316185e-3, 0.5888729740967575e-4, 0.1175651343283149e-2,
    0.2386356198831331e-2, 0.6238968252742796e-2, 0.2849998395185769e-2, 0.2850001604814231e-2,
])


@functools.lru_cache(maxsize=None)
def hires(t_end: float = 321.8122) -> Problem:
    """HIRES, 8 stiff reactions of plant physiology (Schäfer 1975; HW II §IV.10) on
    [0, 321.8122]; the reference at that t_end is the published one (``HIRES_REFERENCE``),
    elsewhere scipy's Radau at rtol 1e-12.

    >>> p = hires()
    >>> p.dim, float(p.solution()[7])
    (8, 0.002850001604814231)
    """

    def f(t, y):
        y1, y2, y3, y4, y5, y6, y7, y8 = (y[..., i] for i in range(8))
        r = 280.0 * y6 * y8
        return _vec([
            -1.71 * y1 + 0.43 * y2 + 8.32 * y3 + 0.0007,
            1.71 * y1 - 8.75 * y2,
            -10.03 * y3 + 0.43 * y4 + 0.035 * y5,
            8.32 * y2 + 1.71 * y3 - 1.12 * y4,
            -1.745 * y5 + 0.43 * y6 + 0.43 * y7,
            -r + 0.69 * y4 + 1.71 * y5 - 0.43 * y6 + 0.69 * y7,
            r - 1.81 * y7,
            -r + 1.81 * y7,
        ], y)

    def jac(t, y):
        y6, y8 = y[..., 5], y[..., 7]
        z = y6 * 0
        rows = [[z] * 8 for _ in range(8)]
        for (i, j), v in {(0, 0): -1.71, (0, 1): 0.43, (0, 2): 8.32, (1, 0): 1.71, (1, 1): -8.75, (2, 2): -10.03,
                          (2, 3): 0.43, (2, 4): 0.035, (3, 1): 8.32, (3, 2): 1.71, (3, 3): -1.12, (4, 4): -1.745,
                          (4, 5): 0.43, (4, 6): 0.43, (5, 3): 0.69, (5, 4): 1.71, (5, 6): 0.69, (6, 6): -1.81,
                          (7, 6): 1.81}.items():
            rows[i][j] = z + v
        rows[5][5], rows[5][7] = -280.0 * y8 - 0.43, -280.0 * y6
        rows[6][5], rows[6][7] = 280.0 * y8, 280.0 * y6
        rows[7][5], rows[7][7] = -280.0 * y8, -280.0 * y6
        return _mat(rows, y)

    def published(t):
        if t != 321.8122:
            raise ValueError(f"HIRES has a published reference only at t = 321.8122, not {t:g}; use .reference(t)")
        return HIRES_REFERENCE.copy()

    t_end = float(t_end)
    return Problem("hires", f, np.array([1.0, 0, 0, 0, 0, 0, 0, 0.0057]), (0.0, t_end), jac=jac, stiff=True,
                   exact=published if t_end == 321.8122 else None, ref_atol=1e-14,
                   description="stiff plant physiology")


def suite() -> dict:
    """The standard problems by name (van_der_pol is μ = 1, van_der_pol_stiff μ = 1000)."""
    problems = [
        dahlquist(), harmonic_oscillator(), kepler(), van_der_pol(1.0), van_der_pol(1000.0),
        lotka_volterra(), robertson(), brusselator(), pendulum(),
    ]
    return {p.name: p for p in problems}


def get(name: str) -> Problem:
    """A problem of :func:`suite` by name.

    >>> get("kepler").dim
    4
    """
    problems = suite()
    if name not in problems:
        raise ValueError(f"unknown problem {name!r}; known: {', '.join(problems)}")
    return problems[name]
