"""Observed orders of convergence, and a verdict against the scheme's symbolic order.

:func:`convergence` integrates a problem with a ladder of steps h = T/N and fits the
least-squares slope of log(error) against log(h). The error is the max-norm of y − y(t)
over the points of the coarsest grid (t_end among them), not at t_end alone, so that a
component passing through zero at t_end cannot bend the slope. Without ``hs`` the ladder
is chosen so that the errors lie in the asymptotic regime and above round-off: N doubles
from ``n_min`` (4) until the error falls below ``floor`` or N exceeds ``n_max`` (512);
the slope is fitted on the last ``fit_points`` (4) errors above the floor, i.e. the
smallest steps. High-order methods thus stop at coarse steps, low-order ones at fine
steps. The floor is 1e-12 against an exact solution (rounding after 512 steps stays near
1e-14) and 1e-9 against a scipy reference (rtol 1e-12).

:func:`verify` does this on two problems with exact solutions in float64 — the harmonic
oscillator (linear: it sees only the stability function) and the pendulum (nonlinear, so
that the other Butcher trees count too) — and calls a scheme verified when every observed
order is within ``tol`` (0.15) of ``scheme.order``. Kepler's problem, also exact, is
harder: at the steps where round-off allows, orders 5–6 are still pre-asymptotic near
the periapsis, so it is not a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from numnet.schemes import as_scheme

from . import problems as _problems
from .finite import NonFiniteError
from .integrator import integrate
from .newton import ConvergenceError

FLOOR_EXACT, FLOOR_REFERENCE = 1e-12, 1e-9


@dataclass
class Convergence:
    """Errors at each step size, the fitted order and which points entered the fit."""

    scheme: str
    problem: str
    hs: np.ndarray
    errors: np.ndarray
    used: np.ndarray
    order: float
    symbolic_order: int | None = None

    @property
    def slopes(self) -> np.ndarray:
        """Local orders between consecutive step sizes."""
        return np.diff(np.log(self.errors)) / np.diff(np.log(self.hs))

    @property
    def error_constant(self) -> float:
        """C in error ≈ C·h^p fitted with the symbolic p on the used points (NaN if unknown)."""
        if self.symbolic_order is None or not self.used.any():
            return float("nan")
        p = self.symbolic_order
        return float(np.exp(np.mean(np.log(self.errors[self.used]) - p * np.log(self.hs[self.used]))))

    @property
    def label(self) -> str:
        return f"{self.scheme} on {self.problem}: order {self.order:.2f}"


def fit_order(hs, errors) -> float:
    """Least-squares slope of log(error) against log(h).

    >>> fit_order([0.1, 0.05, 0.025], [1e-2, 2.5e-3, 6.25e-4])
    2.0
    """
    x, y = np.log(np.asarray(hs, float)), np.log(np.asarray(errors, float))
    if len(x) < 2:
        return float("nan")
    return float(round(np.polyfit(x, y, 1)[0], 12))


def _error(scheme, problem, n, checkpoints, backend, kwargs):
    """Max-norm error over the checkpoint times (the last is t_end) with n steps; inf when
    the implicit solve fails or the solution overflows (too coarse a step)."""
    t0, t_end = problem.t_span[0], checkpoints[-1]
    try:
        sol = integrate(scheme, problem.f, (t0, t_end), problem.y0, n_steps=int(n), jac=problem.jac,
                        backend=backend, **kwargs)
    except (ConvergenceError, NonFiniteError):
        return np.inf
    stride = int(n) // (len(checkpoints))
    y = sol.y[stride::stride]
    y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
    exact = np.stack([problem.solution(t) for t in checkpoints])
    with np.errstate(invalid="ignore", over="ignore"):
        err = float(np.max(np.abs(y - exact)))
    return err if np.isfinite(err) else np.inf


def convergence(scheme, problem, hs=None, *, t_end=None, n_min=4, n_max=512, floor=None, fit_points=4,
                backend="numpy", **kwargs) -> Convergence:
    """Observed order of ``scheme`` on ``problem`` (a :class:`~numnet.solvers.problems.Problem`
    or a name in the suite). ``hs`` must divide the span; extra keywords go to
    :func:`~numnet.solvers.integrate`.

    >>> from numnet import schemes
    >>> c = convergence(schemes.get("heun"), "harmonic_oscillator", hs=[0.1, 0.05, 0.025])
    >>> round(c.order, 1)
    2.0
    """
    scheme = as_scheme(scheme, kinds=("RK", "LMM"))
    problem = _problems.get(problem) if isinstance(problem, str) else problem
    t0 = problem.t_span[0]
    t_end = problem.t_end if t_end is None else float(t_end)
    if floor is None:
        floor = FLOOR_EXACT if problem.exact is not None else FLOOR_REFERENCE
    span = abs(t_end - t0)
    if hs is not None:
        hs = np.asarray(hs, dtype=float)
        if hs.ndim != 1 or len(hs) < 2 or np.any(hs <= 0):
            raise ValueError(f"hs must be at least two positive step sizes, got {hs!r}")
        ns = np.rint(span / hs)
        if np.any(np.abs(ns * hs - span) > 1e-9 * span):
            raise ValueError(f"every h must divide the span {span:g}; got hs = {hs.tolist()}")
        ns = ns.astype(int)
        coarse = int(ns.min())
        m = coarse if np.all(ns % coarse == 0) else 1
        checkpoints = [t0 + (t_end - t0) * j / m for j in range(1, m + 1)]
        errors = np.array([_error(scheme, problem, n, checkpoints, backend, kwargs) for n in ns])
        used = np.isfinite(errors) & (errors > 0)
    else:
        ns, errs = [], []
        n = int(n_min)
        checkpoints = [t0 + (t_end - t0) * j / n for j in range(1, n + 1)]
        while n <= n_max:
            ns.append(n)
            errs.append(_error(scheme, problem, n, checkpoints, backend, kwargs))
            if errs[-1] < floor:
                break
            n *= 2
        ns, errors = np.array(ns, float), np.array(errs)
        above = np.flatnonzero(np.isfinite(errors) & (errors >= floor))
        used = np.zeros(len(errors), bool)
        used[above[-fit_points:]] = True
        hs = span / ns
    order = fit_order(hs[used], errors[used])
    return Convergence(scheme.name, problem.name, span / ns, errors, used, order, scheme.order)


def default_problems():
    """The two exact-solution problems of :func:`verify`: linear and nonlinear."""
    return (_problems.harmonic_oscillator(), _problems.pendulum())


@dataclass
class Verification:
    """A scheme's symbolic data beside its observed orders, with a verdict."""

    scheme: str
    kind: str
    order: int
    observed: dict
    error_constant: object
    stability_interval: object
    tol: float
    convergences: list = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return all(abs(o - self.order) <= self.tol for o in self.observed.values())

    @property
    def verdict(self) -> str:
        if self.passed:
            return "ok"
        bad = [f"{k} {v:.2f}" for k, v in self.observed.items() if not abs(v - self.order) <= self.tol]
        return f"MISMATCH ({', '.join(bad)} vs {self.order})"

    def row(self) -> dict:
        """A flat dict for tables: scheme, kind, order, one column per problem, error
        constant (exact when rational), stability interval on the negative axis, verdict."""
        out = {"scheme": self.scheme, "kind": self.kind, "order": self.order}
        out.update({f"observed ({k})": f"{v:.3f}" for k, v in self.observed.items()})
        from numnet.schemes.table import format_interval, format_number  # the catalog table's formats

        out.update({"error constant": format_number(self.error_constant),
                    "stability interval": format_interval(self.stability_interval), "verdict": self.verdict})
        return out


def verify(scheme, problems=None, *, tol=0.15, **kwargs) -> Verification:
    """Symbolic order vs observed order on two problems, with a verdict.

    >>> from numnet import schemes
    >>> v = verify(schemes.get("rk4"))
    >>> v.verdict, v.observed  # doctest: +SKIP
    ('ok', {'harmonic_oscillator': 4.0, 'pendulum': 4.0})
    >>> v.passed
    True
    """
    scheme = as_scheme(scheme, kinds=("RK", "LMM"))
    problems = default_problems() if problems is None else problems
    convs = [convergence(scheme, p, **kwargs) for p in problems]
    return Verification(
        scheme=scheme.name, kind=scheme.kind, order=scheme.order, observed={c.problem: c.order for c in convs},
        error_constant=scheme.error_constant, stability_interval=scheme.stability_interval(), tol=tol,
        convergences=convs,
    )
