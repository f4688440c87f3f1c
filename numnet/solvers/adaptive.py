"""Adaptive step sizes for explicit embedded Runge–Kutta pairs (Hairer–Nørsett–Wanner I, §II.4).

- The step advances with the scheme's own weights b (order p); the error estimate is
  h Σ (b_i − b̂_i) k_i, of order q + 1 with q = min(p, p̂), so the controller exponent uses
  k = q + 1 (Dormand–Prince and Cash–Karp extrapolate locally; Fehlberg's b is the
  order-4 rule, as the catalog defines it).
- Error norm (Hairer): err = sqrt(mean_i (e_i / sc_i)²), sc_i = atol + rtol·max(|y_i|, |ŷ_i|);
  for a batch the largest norm over trajectories, so every trajectory meets the tolerance.
  A step is accepted when err < 1.
- Controller: "PI" (default, Gustafsson; HNW I §II.4) h_new = h·min(fac_max, max(fac_min,
  safety·err^(−0.7/k)·err_prev^(0.4/k))); "I" the elementary h·safety·err^(−1/k), which
  is scipy's rule; safety 0.9, fac_min 0.2, fac_max 10; after a rejection the step may
  not grow; a rejected step shrinks by max(fac_min, safety·err^(−1/k)).
- First step: HNW's starting-step algorithm (as scipy's ``select_initial_step``).
- A NaN/inf error estimate or new state raises :class:`~numnet.solvers.finite.NonFiniteError`
  (with ``check_finite=False`` such a step is rejected and shrunk instead); a step size that
  is NaN (f non-finite at t0 without the check) raises at once instead of looping.
"""

from __future__ import annotations

import math

import numpy as np

from .finite import Guard
from .dense import Hermite, Polynomial
from .grid import check_span
from .output import Output
from .rk import RKStepper
from .solution import Solution

SAFETY, FAC_MIN, FAC_MAX = 0.9, 0.2, 10.0
CONTROLLERS = ("PI", "I")


def _check_tol(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return float(value)


def _norm(be, x, scale, stages=False):
    """Hairer's RMS norm per trajectory, then the largest over the batch (a float); x is
    (..., d), or (..., s, d) with ``stages`` (s stage vectors, one norm over all)."""
    r = be.abs(x) / (scale[..., None, :] if stages else scale)
    axes = (-2, -1) if stages else -1
    if be.name == "numpy":
        return float(np.sqrt(np.max(np.mean(r.real**2, axis=axes))))
    return float((r.detach() ** 2).mean(dim=axes).max().sqrt())


def initial_step(be, f, t0, y0, f0, t1, k, rtol, atol):
    """HNW I §II.4 first step: h0 = 0.01‖y0‖/‖f0‖, one Euler probe, h1 = (0.01/max(‖f0‖, ‖f'‖))^(1/k).

    Returns (|h|, calls of f spent).
    """
    direction = 1.0 if t1 > t0 else -1.0
    length = abs(t1 - t0)
    scale = atol + be.abs(y0) * rtol
    d0, d1 = _norm(be, y0, scale), _norm(be, f0, scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, length)
    y1 = be.combine(y0, [(h0 * direction, f0)])
    f1 = f(t0 + h0 * direction, y1)
    d2 = _norm(be, f1 - f0, scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / k)
    return min(100 * h0, h1, length), 1


def start(name, be, f, t_span, y0, guard, rtol, atol, max_steps, first_step, k):
    """The checks and first values every adaptive loop starts from:
    (f as f(t, y), f(t0, y0), t0, t1, direction, rtol, atol, first |h|, calls of f so far);
    ``k`` is the exponent of the error's step-size dependence (for the first step)."""
    from .integrator import prepare_f

    rtol, atol = _check_tol("rtol", rtol), _check_tol("atol", atol)
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol cannot both be 0")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    t0, t1 = check_span(t_span)
    direction = 1.0 if t1 > t0 else -1.0
    guard = Guard(be, name) if guard is None else guard
    f, f0 = prepare_f(f, be, t0, y0, guard)
    calls = 1
    if first_step is None:
        h_abs, c = initial_step(be, f, t0, y0, f0, t1, k, rtol, atol)
        calls += c
    else:
        h_abs = float(first_step)
        if not (math.isfinite(h_abs) and h_abs > 0):
            raise ValueError(f"first_step must be a positive finite number, got {first_step!r}")
    if not math.isfinite(h_abs):
        raise ValueError(f"{name}: the initial step size is NaN because f(t0, y0) is not finite")
    return f, f0, t0, t1, direction, rtol, atol, h_abs, calls


def check_precision(name, be):
    """Adaptive implicit methods LU-factor their Newton matrix: float32 or float64 only."""
    if be.eps > 1e-6:
        raise TypeError(f"{name} needs float32 or float64 (eps = {be.eps:.1e} here): its Newton matrix is "
                        f"LU-factored; pass dtype=torch.float32")


def check_steps(name, n_steps, max_steps, t, t1):
    if n_steps >= max_steps:
        raise RuntimeError(f"{name}: reached max_steps={max_steps} at t = {t:g} before t1 = {t1:g}")


def propose(name, t, h_abs, t1, direction, hint="", nonfinite=None):
    """(t_new, h, |h|) for a step of size ``h_abs`` from t, cut at t1; a step below ten
    spacings of the floats at t is an underflow (an error). ``nonfinite`` = (step, t, max |y|)
    of the last f that returned inf/NaN for a finite y (an implicit solve shrinks h on it):
    the underflow is then reported as that :class:`~numnet.solvers.finite.NonFiniteError`."""
    if h_abs < 10 * abs(np.nextafter(t, direction * np.inf) - t):
        if nonfinite is not None:
            from .finite import NonFiniteError

            raise NonFiniteError(name, *nonfinite[:2], "f", nonfinite[2])
        raise RuntimeError(f"{name}: step size underflow (h = {h_abs:.3g}) at t = {t:g}{hint}")
    t_new = t + direction * h_abs
    if direction * (t_new - t1) > 0:
        t_new = t1
    return t_new, t_new - t, abs(t_new - t)


def integrate_adaptive(tab, f, t_span, y0, be, *, rtol, atol, first_step=None, max_steps=100_000,
                       controller="PI", save="all", safety=SAFETY, fac_min=FAC_MIN, fac_max=FAC_MAX, guard=None,
                       t_eval=None, dense_output=False, events=None, continuous=None):
    """Adaptive integration with an explicit embedded pair; called by :func:`integrate`.

    >>> import numpy as np
    >>> from numnet.solvers import integrate
    >>> sol = integrate("dormand_prince", lambda t, y: -y, (0, 1), np.array([1.0]), rtol=1e-8, atol=1e-10)
    >>> bool(abs(sol.y_final[0] - np.exp(-1)) < 1e-8), sol.n_rejected
    (True, 0)

    ``continuous``: the float matrix P of the tableau's continuous extension
    (:mod:`numnet.schemes.continuous`) for dense output; without one, Hermite cubics.
    """
    if not hasattr(tab, "A") or tab.b_hat is None:
        raise ValueError(
            f"adaptive steps need an embedded pair (a scheme with b_hat); {tab.name} has none — "
            f"use bogacki_shampine, dormand_prince, fehlberg45 or cash_karp, or give h=/n_steps="
        )
    if not tab.explicit:
        raise ValueError(f"adaptive steps are implemented for explicit pairs; {tab.name} is implicit")
    if controller not in CONTROLLERS:
        raise ValueError(f"controller must be one of {CONTROLLERS}, got {controller!r}")
    guard = Guard(be, tab.name) if guard is None else guard
    k = min(tab.order, tab.embedded_order) + 1
    alpha, beta = (0.7 / k, 0.4 / k) if controller == "PI" else (1.0 / k, 0.0)
    run = start(tab.name, be, f, t_span, y0, guard, rtol, atol, max_steps, first_step, k)
    f, f0, t0, t1, direction, rtol, atol, h_abs, calls = run
    st = RKStepper(tab, f, be)
    t, y, kf = t0, y0, f0
    out = Output(be, t0, t1, y0, save=save, dense=dense_output, t_eval=t_eval, events=events)
    err_prev = 1e-4
    n_steps = n_rejected = 0
    while direction * (t - t1) < 0:
        check_steps(tab.name, n_steps, max_steps, t, t1)
        rejected = False
        while True:
            t_new, h, h_abs = propose(tab.name, t, h_abs, t1, direction, "; the problem may be stiff")
            if kf is None:
                kf = f(t, y)
                calls += 1
            y_new, k_next, err = st.step(n_steps, t, y, h, k1=kf, error=True)
            scale = atol + be.maximum(be.abs(y), be.abs(y_new)) * rtol
            en = _norm(be, err, scale)
            if not math.isfinite(en):
                if guard.enabled:
                    raise guard.diagnose(n_steps, t, y, lambda watch: RKStepper(tab, watch(f), be).step(n_steps, t, y, h))
                en = math.inf
            if en < 1:
                if en == 0:
                    factor = fac_max
                else:
                    factor = min(fac_max, max(fac_min, safety * en ** (-alpha) * err_prev**beta))
                if rejected:
                    factor = min(1.0, factor)
                h_abs *= factor
                err_prev = max(en, 1e-4)
                break
            h_abs *= max(fac_min, safety * en ** (-1.0 / k)) if math.isfinite(en) else fac_min
            rejected = True
            n_rejected += 1
        guard.state(n_steps, t, y, y_new, lambda watch: RKStepper(tab, watch(f), be).step(n_steps, t, y, h))
        piece = None
        if out.needs_piece and continuous is not None:  # the method's own interpolant from its stages
            piece = Polynomial(be, t, h, y, [be.combine(be.zeros_like(y), [(h * float(w), st.stages[i]) for i, w in
                                                                           enumerate(col) if w != 0])
                                             for col in continuous.T])
        elif out.needs_piece:  # the Hermite cubic needs f at the new point (the next step's k1 anyway)
            if k_next is None:
                k_next = f(t_new, y_new)
                calls += 1
            piece = Hermite(be, t, h, y, y_new, kf, k_next)
        stop = out.accept(t, t_new, y_new, piece)
        t, y, kf = t_new, y_new, k_next
        n_steps += 1
        if stop is not None:
            break
    return Solution(
        **out.fields(), scheme=tab.name, backend=be.name, n_steps=n_steps,
        n_f_evals=calls + st.f_calls, n_rejected=n_rejected,
    )
