"""Variable-step, variable-order BDF 1–5 in the quasi-constant step-size form (Shampine–Reichelt 1997, as scipy's ``BDF``).

The state is carried as backward differences D_0 = y_n, D_j = ∇^j y_n (scaled to the
current step h); a step-size change by a factor ρ maps them by the matrix R(ρ)·U
(the differences of the same interpolating polynomial on the new grid). A step of order
k predicts y⁽⁰⁾ = Σ_{j≤k} D_j and solves

    y − y⁽⁰⁾ = c·f(t_{n+1}, y) − ψ,  c = h/α_k,  ψ = Σ_{j=1..k} γ_j D_j / α_k,

by simplified Newton with the matrix I − cJ (J reused over steps; re-evaluated at the
prediction when Newton fails with a stale one; h halved when it fails with a fresh one).
With d = y_{n+1} − y⁽⁰⁾ = ∇^{k+1} y_{n+1} the local error is C_k·d; after k + 1 steps of
one size the order moves to whichever of k − 1, k, k + 1 allows the largest step.

- γ_k = Σ_{j≤k} 1/j and the error constants |C_{k+1}| = 1/(k+1) are read from the catalog's
  ``bdf1`` … ``bdf5`` (γ_k = 1/β_k, C = −error_constant);
- ``"bdf"`` is the pure BDF (κ = 0, as LSODA/VODE); ``"ndf"`` is Klopfenstein–Shampine's
  NDF with κ = (−0.1850, −1/9, −0.0823, −0.0415, 0) (MATLAB's ode15s, scipy's ``BDF``):
  α_k = (1 − κ_k)γ_k and error constants κ_kγ_k + 1/(k+1);
- Newton tolerance max(10 eps/rtol, min(0.03, √rtol)), at most 4 iterations, safety
  0.9·(2·4 + 1)/(2·4 + iterations), step factors 0.2 … 10, first step from the order-1
  estimate; dense output the interpolating polynomial (:class:`~numnet.solvers.dense.Newton`).

>>> import numpy as np
>>> from numnet.solvers import integrate
>>> sol = integrate("bdf", lambda t, y: -1000 * (y - np.cos(t)), (0, 1), np.array([0.0]), rtol=1e-6, atol=1e-9)
>>> exact = (1e6 * np.cos(1) + 1e3 * np.sin(1)) / (1e6 + 1)
>>> bool(abs(sol.y_final[0] - exact) < 1e-6)
True
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .adaptive import _norm as _rms
from .adaptive import check_precision, check_steps, propose, start
from .dense import Newton
from .finite import Guard
from .newton import SINGULAR, ConvergenceError, Jacobian
from .output import Output
from .simplified import iterate
from .solution import Solution

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR, MAX_FACTOR = 0.2, 10.0
KAPPA = {"bdf": (0.0,) * 6, "ndf": (0.0, -0.1850, -1.0 / 9, -0.0823, -0.0415, 0.0)}
METHODS = tuple(KAPPA)


@functools.lru_cache(maxsize=None)
def constants(method):
    """(α, γ, error constants), each indexed by the order 0 … MAX_ORDER.

    >>> alpha, gamma, err = constants("bdf")
    >>> gamma.round(4).tolist(), err[1:].round(4).tolist()
    ([0.0, 1.0, 1.5, 1.8333, 2.0833, 2.2833], [0.5, 0.3333, 0.25, 0.2, 0.1667])
    """
    from numnet import schemes

    from .coefficients import tableau

    gamma = [0.0] + [1.0 / float(tableau(schemes.get(f"bdf{k}")).beta[-1]) for k in range(1, MAX_ORDER + 1)]
    err = [1.0] + [-float(schemes.get(f"bdf{k}").error_constant) for k in range(1, MAX_ORDER + 1)]  # 1/(k+1)
    kappa, gamma = np.array(KAPPA[method]), np.array(gamma)
    alpha = (1 - kappa) * gamma
    error_const = kappa * gamma + np.array(err)
    return alpha, gamma, error_const


def _R(order, factor):
    I = np.arange(1, order + 1)[:, None]
    J = np.arange(1, order + 1)
    M = np.zeros((order + 1, order + 1))
    M[1:, 1:] = (I - 1 - factor * J) / I
    M[0] = 1
    return np.cumprod(M, axis=0)


def _rescale(be, D, order, factor):
    """The differences D[:order+1] for a step size changed by ``factor`` (a new list)."""
    RU = _R(order, factor) @ _R(order, 1.0)
    new = [be.combine(be.zeros_like(D[0]), [(float(RU[j, i]), D[j]) for j in range(order + 1) if RU[j, i] != 0])
           for i in range(order + 1)]
    return new + D[order + 1:]


def integrate_bdf(method, f, t_span, y0, be, *, rtol, atol, jac=None, first_step=None, max_steps=100_000,
                  save="all", guard=None, t_eval=None, dense_output=False, events=None):
    """Variable-order BDF ("bdf") or NDF ("ndf"); called by :func:`~numnet.solvers.integrate`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    alpha, gamma, error_const = constants(method)
    check_precision(method, be)
    guard = Guard(be, method) if guard is None else guard
    f, f0, t0, t1, direction, rtol, atol, h_abs, calls = start(method, be, f, t_span, y0, guard, rtol, atol,
                                                              max_steps, first_step, 2)
    d_dim = y0.shape[-1]
    newton_tol = max(10 * be.eps / rtol, min(0.03, rtol**0.5))
    jacobian = Jacobian(be, f, jac)
    J = jacobian(t0, y0, f0)
    eye = be.eye(d_dim, like=y0)
    zero = be.zeros_like(y0)
    D = [y0, f0 * (h_abs * direction)] + [zero] * (MAX_ORDER + 1)
    order, n_equal = 1, 0
    solve = None
    out = Output(be, t0, t1, y0, save=save, dense=dense_output, t_eval=t_eval, events=events)
    t, y = t0, y0
    n_steps = n_rejected = n_lu = newton_iters = 0

    def factor(c):
        nonlocal n_lu
        try:
            s = be.factor(eye - c * J)
        except np.linalg.LinAlgError:
            raise ConvergenceError(method, n_steps, t, float("nan"), 0, reason=SINGULAR) from None
        n_lu += 1
        return s

    bad_f = None  # (step, t, max |y|) of the last f that returned inf/NaN in the implicit solve

    def newton(t_new, y_pred, c, psi, scale):
        """(converged, iterations, y_new, d = y_new − y_pred) of y − y_pred = c f(t_new, y) − ψ."""

        def increment(z):  # z = (y_k, d_k), both accumulated as scipy does (the same rounding)
            nonlocal calls, bad_f
            yk, dsum = z
            fy = f(t_new, yk)
            calls += 1
            if not be.all_finite(fy):
                bad_f = (n_steps, t_new, be.maxabs(yk))
                return None
            dy = solve(c * fy - psi - dsum)
            return dy, _rms(be, dy, scale)

        ok, it, (yk, dsum), _ = iterate(increment, (y_pred, zero), NEWTON_MAXITER, newton_tol,
                                        update=lambda z, dy: (z[0] + dy, z[1] + dy))
        return ok, it, yk, dsum

    while direction * (t - t1) < 0:
        check_steps(method, n_steps, max_steps, t, t1)
        current_jac = False
        while True:
            t_new, h, h_new = propose(method, t, h_abs, t1, direction, nonfinite=bad_f)
            if direction * (t + direction * h_abs - t1) > 0:  # cut at t1: the differences follow
                D = _rescale(be, D, order, h_new / h_abs)
                n_equal, solve = 0, None
            h_abs = h_new
            y_pred = be.combine(D[0], [(1.0, D[j]) for j in range(1, order + 1)])
            scale = atol + rtol * be.abs(y_pred)
            psi = be.combine(zero, [(float(gamma[j] / alpha[order]), D[j]) for j in range(1, order + 1)])
            c = h / alpha[order]
            while True:
                if solve is None:
                    solve = factor(c)
                ok, n_iter, y_new, dsum = newton(t_new, y_pred, c, psi, scale)
                newton_iters += n_iter
                if ok or current_jac:
                    break
                J, current_jac = jacobian(t_new, y_pred), True
                if not be.all_finite(J):  # the prediction left f's domain: J at the last accepted point
                    J = jacobian(t, y)
                    guard.f_value(n_steps, t, y, J)
                solve = None
            if not ok:
                h_abs *= 0.5
                D = _rescale(be, D, order, 0.5)
                n_equal, solve = 0, None
                n_rejected += 1
                continue
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            scale = atol + rtol * be.abs(y_new)
            en = _rms(be, dsum, scale) * error_const[order]
            if not math.isfinite(en):
                raise guard.diagnose(n_steps, t, y, lambda watch: watch(f)(t_new, y_new))
            if en > 1:
                fac = max(MIN_FACTOR, safety * en ** (-1.0 / (order + 1)))
                h_abs *= fac
                D = _rescale(be, D, order, fac)
                n_equal = 0
                n_rejected += 1
                continue
            break
        guard.state(n_steps, t, y, y_new, lambda watch: watch(f)(t_new, y_new))
        n_equal += 1
        bad_f = None
        t_old, t, y = t, t_new, y_new
        D = list(D)
        D[order + 2] = dsum - D[order + 1]
        D[order + 1] = dsum
        for i in reversed(range(order + 1)):
            D[i] = D[i] + D[i + 1]
        if n_equal >= order + 1:
            em = _rms(be, D[order], scale) * error_const[order - 1] if order > 1 else math.inf
            ep = _rms(be, D[order + 2], scale) * error_const[order + 1] if order < MAX_ORDER else math.inf
            norms = np.array([em, en, ep])
            with np.errstate(divide="ignore"):
                factors = norms ** (-1.0 / np.arange(order, order + 3))
            order += int(np.argmax(factors)) - 1
            fac = min(MAX_FACTOR, safety * float(np.max(factors)))
            h_abs *= fac
            D = _rescale(be, D, order, fac)
            n_equal, solve = 0, None
        piece = None
        if out.needs_piece:
            hd = h_abs * direction
            piece = Newton(be, D[: order + 1], [t - hd * j for j in range(order)], [hd * (1 + j) for j in range(order)])
        n_steps += 1
        if out.accept(t_old, t, y, piece) is not None:
            break
    return Solution(
        **out.fields(), scheme=method, backend=be.name, n_steps=n_steps,
        n_f_evals=calls + jacobian.f_calls, n_jac_evals=jacobian.n_evals, n_newton_iters=newton_iters,
        n_rejected=n_rejected, n_lu=n_lu,
    )
