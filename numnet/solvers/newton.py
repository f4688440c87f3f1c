"""Damped Newton iteration for the implicit equations of RK stages and implicit LMMs.

Both are the same problem: find the increments Z = (Z_1 … Z_m) with

    Z_i = Σ_j W_ij f(t_j, base + Z_j),   W = h·A (RK, m = s)  or  W = h·β_s (LMM, m = 1),

i.e. G(Z) = Z − W F(Z) = 0, from Z = 0 (the previous state for RK stages, the explicit
part of the formula for an LMM). Each iteration solves (I − W ⊗ J) ΔZ = G(Z) — the matrix
factored once and reused while it works (simplified Newton), batched over all
trajectories — and takes Z − λΔZ with the longest λ ∈ {1, ½, ¼, …} that cuts the scaled
residual ‖G‖ (max over components of |G| / (1 + |Z| + |base|)) by the factor 1 − 10⁻⁴λ.
A step that fails this with a Jacobian from an earlier iterate is retried with J
re-evaluated at the current one (full Newton), as is every iteration after a damped or
slowly contracting (> ½) one. Convergence is judged on both: every accepted iterate has
cut the residual, and the iteration stops when the Newton correction ΔZ at the current
iterate (J fresh, or stale but the last step cut ‖G‖ by ½ or more) is at most ``tol``
(relative, as above), or the contraction rate θ predicts that what is left, θ/(1 − θ)·‖ΔZ‖,
is (Hairer–Wanner II, §IV.8), or ‖G‖ is at rounding level (16 eps); the last correction is
applied without calling f. Otherwise :class:`ConvergenceError` names the scheme, step, t and residual;
a singular Newton matrix, and f not finite at the starting point
(:class:`~numnet.solvers.finite.NonFiniteError`), are named as such.

Why damping: on Robertson's problem from (1, 0, 0) the Jacobian has no stiff part
(y2 = y3 = 0): the first step overshoots to y2 = 0.04h, the next simplified one to
y2 ≈ −48 (h = 0.1), and Newton then converges to the stage equations' second root,
y2 ≈ −4e-5. The residual test keeps the
iterates on the branch that starts at Z = 0 for h → 0 (tests/test_solvers_trust.py).

With torch the Jacobian and the factorisation are constants (no gradient); the solution's
gradient flows through the unrolled iterations, whose derivative converges with them.
"""

from __future__ import annotations

import numbers

import numpy as np

ARMIJO = 1e-4  # a step of length λ must cut the residual norm by the factor 1 − ARMIJO·λ
LAMBDA_MIN = 2.0**-20  # the shortest damped step tried before giving up
SINGULAR = (
    "the Newton matrix I - W*J (W = h*A, or h*beta_s for a multistep; J = df/dy) is singular: h times an "
    "eigenvalue of A times one of J equals 1; change h, or check jac="
)


class ConvergenceError(RuntimeError):
    """An implicit solve did not converge; carries ``scheme``, ``step``, ``t``, ``residual``,
    ``iterations`` and ``reason`` (None for too many iterations).

    >>> str(ConvergenceError("gauss2", 3, 0.5, 1e-3, 50))  # doctest: +ELLIPSIS
    'implicit solve of gauss2 did not converge at step 3 (t = 0.5): residual norm 1.00e-03 after 50 Newton iterations; ...'
    >>> str(ConvergenceError("gauss2", 3, 0.3, float("nan"), 0, reason=SINGULAR))  # doctest: +ELLIPSIS
    'implicit solve of gauss2 failed at step 3 (t = 0.3): the Newton matrix I - W*J (W = h*A, or h*beta_s ...'
    """

    def __init__(self, scheme, step, t, residual, iterations, reason=None):
        self.scheme, self.step, self.t, self.residual, self.iterations = scheme, step, t, residual, iterations
        self.reason = reason
        if reason == SINGULAR:
            msg = f"implicit solve of {scheme} failed at step {step} (t = {t:g}): {reason}"
        else:
            why = "" if reason is None else f" ({reason})"
            msg = (f"implicit solve of {scheme} did not converge at step {step} (t = {t:g}): residual norm "
                   f"{residual:.2e} after {iterations} Newton iterations{why}; reduce h, pass jac=, or raise "
                   f"max_newton_iter")
        super().__init__(msg)

    def renamed(self, scheme):
        """The same failure reported for ``scheme`` (the one the user asked for)."""
        return ConvergenceError(scheme, self.step, self.t, self.residual, self.iterations, self.reason)


def default_tol(eps: float) -> float:
    """Newton tolerance for a dtype with machine epsilon eps: 1e-12 in float64, 50·eps below.

    >>> default_tol(np.finfo(np.float64).eps), round(default_tol(np.finfo(np.float32).eps), 8)
    (1e-12, 5.96e-06)
    """
    return max(1e-12, 50 * float(eps))


class Jacobian:
    """∂f/∂y at a point: the user's ``jac(t, y)`` or the backend's (finite differences /
    autograd). Counts the calls of f it costs and checks the shape once."""

    def __init__(self, be, f, jac):
        self.be, self.f, self.jac = be, f, jac
        self.n_evals = 0
        self.f_calls = 0
        self._checked = False

    def __call__(self, t, y, fy=None):
        self.n_evals += 1
        if self.jac is not None:
            J = self.jac(t, y)
            if not self._checked:
                want = tuple(y.shape) + (y.shape[-1],)
                if not self.be.is_array(J) or tuple(J.shape) != want:
                    got = tuple(J.shape) if hasattr(J, "shape") else type(J).__name__
                    raise ValueError(f"jac(t, y) must return an array of shape (..., d, d) = {want}, got {got}")
                self._checked = True
            return J
        if fy is None:
            fy = self.f(t, y)
            self.f_calls += 1
        J, calls = self.be.jacobian(self.f, t, y, fy)
        self.f_calls += calls
        return J


class Stepper:
    """What RK and LMM steppers share: f, the backend, f-call counts, and for implicit
    schemes the Jacobian and Newton settings."""

    def __init__(self, tab, f, be, jac=None, newton_tol=None, max_newton_iter=50):
        self.tab, self.f, self.be = tab, f, be
        self.f_calls = 0
        self.newton_iters = 0
        self.jacobian = None if tab.explicit else Jacobian(be, f, jac)
        if isinstance(max_newton_iter, bool) or not isinstance(max_newton_iter, numbers.Integral) or max_newton_iter < 1:
            raise ValueError(f"max_newton_iter must be a positive integer, got {max_newton_iter!r}")
        if newton_tol is not None and (isinstance(newton_tol, bool) or not isinstance(newton_tol, numbers.Real)
                                       or not (0 < newton_tol < 1)):
            raise ValueError(f"newton_tol must be a number in (0, 1), got {newton_tol!r}")
        if not tab.explicit and be.eps > 1e-6:
            raise TypeError(
                f"the implicit scheme {tab.name} needs float32 or float64 (eps = {be.eps:.1e} here): its Newton "
                f"matrix is LU-factored, which torch does not do in 16-bit floats, and a 3-digit Newton iteration "
                f"cannot meet a tolerance; pass dtype=torch.float32"
            )
        self.tol = default_tol(be.eps) if newton_tol is None else float(newton_tol)
        self.max_iter = int(max_newton_iter)

    @property
    def jac_evals(self) -> int:
        return 0 if self.jacobian is None else self.jacobian.n_evals

    @property
    def total_f_calls(self) -> int:
        """Calls of f, including those of finite-difference Jacobians."""
        return self.f_calls + (0 if self.jacobian is None else self.jacobian.f_calls)


def _factor(be, Wc, Jt, base, scheme, step, t):
    """Factor I − (W ⊗ I)·blockdiag(J_j) for Jt of shape (..., d, m or 1, d) (J_j[a, b] at
    Jt[..., a, j, b]), laid out as (..., m·d, m·d)."""
    m, d = Wc.shape[0], base.shape[-1]
    block = Wc.reshape(m, 1, m, 1) * Jt[..., None, :, :, :]
    M = be.eye(m * d, like=base) - block.reshape(tuple(base.shape[:-1]) + (m * d, m * d))
    try:
        return be.factor(M)
    except np.linalg.LinAlgError:
        raise ConvergenceError(scheme, step, t, float("nan"), 0, reason=SINGULAR) from None


def solve(be, f, jacobian, J, t_nodes, base, W, *, tol, max_iter, scheme, step, t):
    """Solve Z_i = Σ_j W_ij f(t_nodes[j], base + Z_j) by damped Newton's method from Z = 0.

    ``base`` (..., d), ``W`` an (m, m) float array (h already applied), ``J`` (..., d, d) the
    Jacobian at the start of the step, for all stages; ``jacobian(t, y)`` evaluates it afresh.
    Returns (Z of shape (..., m, d), iterations, calls of f).
    """
    m = W.shape[0]
    d = base.shape[-1]
    batch = tuple(base.shape[:-1])
    Wc = be.const(W)
    base_scale = 1.0 + be.abs(base)[..., None, :]

    def evaluate(Z):
        F = be.stack([f(t_nodes[i], base + Z[..., i, :]) for i in range(m)], -2)
        G = Z - be.linear(Wc, F)
        r = be.maxabs(G / (base_scale + be.abs(Z)))
        return F, G, (r if np.isfinite(r) else np.inf)

    def direction(solve_M, G):
        return solve_M(G.reshape(batch + (m * d,))).reshape(batch + (m, d))

    def refresh(Z):
        Js = [jacobian(t_nodes[i], base + Z[..., i, :]) for i in range(m)]
        return _factor(be, Wc, be.stack(Js, -2), base, scheme, step, t)

    Z = be.stack([be.zeros_like(base)] * m, -2)
    F, G, r = evaluate(Z)
    calls = m
    if r == np.inf:  # f is not finite at the (finite) starting point: name the first such stage
        from .finite import NonFiniteError

        i = next((i for i in range(m) if not be.all_finite(F[..., i, :])), 0)
        raise NonFiniteError(scheme, step, t_nodes[i], "f", be.maxabs(base + Z[..., i, :]))
    solve_M = _factor(be, Wc, J[..., :, None, :], base, scheme, step, t)
    if r <= 16 * be.eps:  # Z = 0 solves it to rounding (f ≈ 0 at base)
        return Z - direction(solve_M, G), 0, calls
    fresh = True  # the Jacobian is that at the current iterate
    previous = np.inf
    for it in range(1, max_iter + 1):
        dZ = direction(solve_M, G)
        # converged: the Newton correction is below tol, or the contraction rate θ predicts
        # that what is left, θ/(1 − θ)·‖ΔZ‖, is (Hairer–Wanner II §IV.8). The Jacobian is then
        # fresh, or stale but contracting by ½ or better: ΔZ measures the distance to the root
        change = be.maxabs(dZ / (base_scale + be.abs(Z)))
        theta = change / previous
        if change <= tol or (previous < np.inf and theta < 1 and theta / (1 - theta) * change <= 0.01 * tol):
            return Z - dZ, it, calls
        lam = 1.0
        while True:
            Zt = Z - dZ if lam == 1.0 else Z - lam * dZ
            _, Gt, rt = evaluate(Zt)
            calls += m
            if rt <= (1.0 - ARMIJO * lam) * r:
                break
            if not fresh:  # a stale Jacobian's step: take the full Newton step from here instead
                solve_M, fresh = refresh(Z), True
                dZ, lam = direction(solve_M, G), 1.0
                change = be.maxabs(dZ / (base_scale + be.abs(Z)))
                continue
            if change <= tol:  # the residual is down to rounding
                return Zt, it, calls
            lam *= 0.5
            if lam < LAMBDA_MIN:
                raise ConvergenceError(scheme, step, t, r, it, reason="no damped Newton step reduces the residual")
        contraction = rt / r if r > 0 else 0.0
        Z, G, r = Zt, Gt, rt
        if r <= 16 * be.eps:  # the residual is at rounding level; G in hand buys one more correction
            return Z - direction(solve_M, G), it, calls
        previous = change if lam == 1.0 else np.inf  # a damped step says nothing about the distance
        if contraction > 0.5 or lam < 1.0:  # slow or damped: full Newton from here
            solve_M, fresh = refresh(Z), True
        else:
            fresh = False
    raise ConvergenceError(scheme, step, t, r, max_iter)
