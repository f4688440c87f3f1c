"""Adaptive implicit Runge–Kutta steps: Radau IIA with RADAU5's error estimate (Hairer–Wanner II, §IV.8).

The structure of Hairer–Wanner's RADAU5 (as scipy's ``Radau``), for any implicit tableau
with an invertible A whose coefficients come from :mod:`numnet.schemes`:

- stages: the increments Z_i = Y_i − y solve (A⁻¹/h ⊗ I) Z = F(Z) by simplified Newton,
  the matrix A⁻¹/h ⊗ I − I ⊗ J factored once (batched over trajectories) and reused over
  iterations, rejected steps and later steps while it works (an SDIRK: stage by stage with
  the one matrix I/(hγ) − J, each f(Y_j) recovered from its converged Z_j); Z starts from the previous
  step's collocation polynomial extrapolated to the new nodes. The increments are measured
  in the eigenbasis of A⁻¹ (W = T⁻¹Z, T normalised as in RADAU5: its last row 1, 1, 0; for
  an SDIRK, whose A⁻¹ has one defective eigenvalue, Z itself), in the tolerance-scaled RMS norm; iterations stop when the contraction rate θ predicts
  θ/(1 − θ)·‖ΔW‖ < newton_tol = max(10 eps/rtol, min(0.03, √rtol)), and give up after
  ``NEWTON_MAXITER`` or when θ ≥ 1 or θ predicts failure. A failure with a stale Jacobian
  re-evaluates J at the step's start, with a fresh one halves h.
- error: for a stiffly accurate collocation tableau without b̂ (Radau IIA), RADAU5's
  embedded formula ŷ = y + h(γ₀ f(t, y) + Σ b̂_i f(Y_i)), γ₀ = 1/μ the real eigenvalue of A⁻¹
  inverted and b̂ of order s, filtered as err = (I − hγ₀J)⁻¹(ŷ − y₁) (and, after a
  rejection, once more through f: HW's remedy for stiff components); for a tableau with
  b̂ (an embedded SDIRK pair) h Σ (b_i − b̂_i) f(Y_i) through the same filter, γ₀ = a_ss.
- step control: Gustafsson's predictive controller (HW II (8.25)), exponent 1/(q + 1)
  for the embedded order q, safety 0.9·(2N + 1)/(2N + iterations), factors 0.2 … 10; the
  step (and the factorisation) is kept when it would grow by less than 1.2 and J is
  re-evaluated after a step only when Newton needed more than 2 iterations at rate > 1e-3.
- dense output: the collocation polynomial through (0, y), (c_i, Y_i) (:class:`~numnet.solvers.dense.Polynomial`),
  also the predictor of the next step's stages; for an SDIRK pair (stage order 1) a Hermite
  cubic, and the stages start from Z_i = c_i h f(t, y).

>>> import numpy as np
>>> from numnet.solvers import integrate
>>> sol = integrate("radau_iia3", lambda t, y: -1000 * (y - np.cos(t)), (0, 1), np.array([0.0]), rtol=1e-6, atol=1e-9)
>>> exact = (1e6 * np.cos(1) + 1e3 * np.sin(1)) / (1e6 + 1)  # + a term e^(-1000)
>>> bool(abs(sol.y_final[0] - exact) < 1e-9), sol.n_steps, sol.n_lu
(True, 57, 48)
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .adaptive import _norm as _rms
from .adaptive import check_precision, check_steps, propose, start
from .dense import Hermite, Polynomial
from .finite import Guard
from .newton import SINGULAR, ConvergenceError, Jacobian
from .output import Output
from .simplified import iterate
from .solution import Solution

NEWTON_MAXITER = 6
MIN_FACTOR, MAX_FACTOR = 0.2, 10.0


class Coefficients:
    """What an adaptive implicit RK step needs, derived in float64 from the tableau:
    A⁻¹, the transformation T⁻¹ to A⁻¹'s eigenbasis, γ₀, the error weights E (err =
    (μ/h − J)⁻¹(f₀ + Σ E_i Z_i/h)), the update weights d = bᵀA⁻¹, the interpolation matrix
    P (collocation polynomial coefficients Q = P Z) and the embedded order q."""

    def __init__(self, tab):
        A, b, c = tab.A, tab.b, tab.c
        s = len(b)
        if np.linalg.cond(A) > 1e12:
            raise ValueError(f"adaptive implicit steps need an invertible A; {tab.name}'s is singular")
        self.s, self.c = s, c
        self.AI = np.linalg.inv(A)
        self.d = tab.d
        lam, V = np.linalg.eig(self.AI)
        real = [i for i in range(s) if abs(lam[i].imag) < 1e-12 * abs(lam[i])]
        stiffly_accurate = c[-1] == 1 and np.allclose(A[-1], b, rtol=0, atol=1e-15)
        if tab.b_hat is not None:
            self.gamma0 = float(A[-1, -1]) if np.all(np.diag(A) == A[0, 0]) else 1.0 / float(lam[real[0]].real)
            e = (b - tab.b_hat) @ self.AI  # h Σ (b − b̂) f(Y_i) = Σ e_i Z_i
            self.E = e / self.gamma0
            self.f0_weight = 0.0
            self.q = tab.embedded_order
            self.collocation = False
            self.T = np.eye(s)  # an SDIRK's A⁻¹ is not diagonalisable: increments measured as they are
            # singly diagonally implicit: stage by stage, each with the one matrix I − hγJ
            self.sdirk = bool(np.all(np.triu(A, 1) == 0) and np.all(np.diag(A) == A[0, 0]))
        elif stiffly_accurate and real and self._collocation(A, c):
            mu = max(float(lam[i].real) for i in real)
            self.gamma0 = 1.0 / mu
            k = np.arange(1, s + 1)
            Vc = c[None, :] ** (k[:, None] - 1)  # Σ_i b̂_i c_i^(k−1) = 1/k − γ₀[k = 1]
            b_hat = np.linalg.solve(Vc, 1.0 / k - self.gamma0 * (k == 1))
            self.E = mu * ((b_hat - b) @ self.AI)
            self.f0_weight = 1.0
            self.q = s
            self.collocation = True
            self.sdirk = False
            self.T = self._basis(lam, V, real)
        else:
            raise ValueError(
                f"adaptive steps with the implicit {tab.name} need an error estimate: an embedded pair (b_hat, e.g. "
                f"sdirk4) or a stiffly accurate collocation method with nodes in (0, 1] and a real eigenvalue of "
                f"A (radau_iia1, radau_iia3); give h=/n_steps= for fixed steps"
            )
        self.TI = np.linalg.inv(self.T)
        self.P = np.linalg.inv(c[:, None] ** np.arange(1, s + 1)[None, :])  # Z_i = Σ_k Q_k c_i^k

    @staticmethod
    def _collocation(A, c):
        """Distinct nodes in (0, 1] and A c^(k−1) = c^k/k for k = 1 … s (condition C(s))."""
        s = len(c)
        if np.any(c <= 0) or len(set(np.round(c, 12))) < s:
            return False
        return all(np.allclose(A @ c ** (k - 1), c**k / k, rtol=0, atol=1e-13) for k in range(1, s + 1))

    @staticmethod
    def _basis(lam, V, real):
        cols, seen = [], set()
        for i in range(len(lam)):
            v = V[:, i] / V[-1, i]
            if i in real:
                cols.append(v.real)
            elif i not in seen and lam[i].imag < 0:
                j = int(np.argmin(np.abs(lam - lam[i].conjugate())))
                seen.update((i, j))
                cols += [v.real, v.imag]
        return np.array(cols).T


@functools.lru_cache(maxsize=64)
def coefficients(tab):
    return Coefficients(tab)


def _predict(h_abs, h_old, err, err_old, k):
    """HW II (8.25): min(1, h/h_old·(err_old/err)^(1/k))·err^(−1/k)."""
    if err == 0:
        return MAX_FACTOR
    mult = 1.0 if err_old is None or h_old is None else h_abs / h_old * (err_old / err) ** (1.0 / k)
    return min(1.0, mult) * err ** (-1.0 / k)


def integrate_implicit(tab, f, t_span, y0, be, *, rtol, atol, jac=None, first_step=None, max_steps=100_000,
                       save="all", guard=None, t_eval=None, dense_output=False, events=None,
                       max_newton_iter=NEWTON_MAXITER):
    """Adaptive integration with an implicit RK tableau; called by :func:`~numnet.solvers.integrate`."""
    co = coefficients(tab)
    check_precision(tab.name, be)
    guard = Guard(be, tab.name) if guard is None else guard
    k_exp = co.q + 1
    f, f0, t0, t1, direction, rtol, atol, h_abs, calls = start(tab.name, be, f, t_span, y0, guard, rtol, atol,
                                                              max_steps, first_step, k_exp)
    s, batch, d = co.s, tuple(y0.shape[:-1]), y0.shape[-1]
    newton_tol = max(10 * be.eps / rtol, min(0.03, rtol**0.5))
    AI, TI, P = be.const(co.AI), be.const(co.TI), be.const(co.P)
    eye_s, eye_d = be.const(np.eye(s)), be.const(np.eye(d))
    jacobian = Jacobian(be, f, jac)
    out = Output(be, t0, t1, y0, save=save, dense=dense_output, t_eval=t_eval, events=events)
    t, y, fy = t0, y0, f0
    J, current_jac = jacobian(t0, y0, f0), True
    solve_M = solve_E = None
    h_old = err_old = None
    poly = None
    n_steps = n_rejected = n_lu = newton_iters = 0

    def factor(h):
        nonlocal n_lu
        if co.sdirk:  # the stage matrix is the error filter's: one LU
            try:
                se = be.factor(be.eye(d, like=y0) / (co.gamma0 * h) - J)
            except np.linalg.LinAlgError:
                raise ConvergenceError(tab.name, n_steps, t, float("nan"), 0, reason=SINGULAR) from None
            n_lu += 1
            return se, se
        blocks = (AI[:, None, :, None] / h) * eye_d[None, :, None, :] - eye_s[:, None, :, None] * J[..., None, :, None, :]
        try:
            sm = be.factor(blocks.reshape(batch + (s * d, s * d)))
            se = be.factor(be.eye(d, like=y0) / (co.gamma0 * h) - J)
        except np.linalg.LinAlgError:
            raise ConvergenceError(tab.name, n_steps, t, float("nan"), 0, reason=SINGULAR) from None
        n_lu += 2
        return sm, se

    bad_f = None  # (step, t, max |y|) of the last stage where f returned inf/NaN

    def newton(h, Z, scale):
        nodes = [t + ci * h for ci in co.c]

        def increment(Z):
            nonlocal calls, bad_f
            F = be.stack([f(nodes[i], y + Z[..., i, :]) for i in range(s)], -2)
            calls += s
            if not be.all_finite(F):
                i = next(i for i in range(s) if not be.all_finite(F[..., i, :]))
                bad_f = (n_steps, nodes[i], be.maxabs(y + Z[..., i, :]))
                return None
            dZ = solve_M((F - be.linear(AI, Z) / h).reshape(batch + (s * d,))).reshape(batch + (s, d))
            return dZ, _rms(be, be.linear(TI, dZ), scale, stages=True)

        return iterate(increment, Z, max_newton_iter, newton_tol)

    A = tab.A  # the DIRK stages read it row by row

    def newton_sdirk(h, Z, scale):
        """Stage by stage: Z_i = h Σ_{j<i} a_ij F_j + hγ f(y + Z_i), each by simplified Newton
        with (I/(hγ) − J)⁻¹, F_j recovered from the converged Z_j without calling f (HW IV.8)."""
        hg = h * co.gamma0
        Fs, Zs, worst_it, worst_rate = [], [], 0, None
        for i in range(s):
            known = be.combine(be.zeros_like(y), [(h * float(A[i, j]), Fs[j]) for j in range(i) if A[i, j] != 0])
            node = t + co.c[i] * h

            def increment(zi):
                nonlocal calls, bad_f
                fi = f(node, y + zi)
                calls += 1
                if not be.all_finite(fi):
                    bad_f = (n_steps, node, be.maxabs(y + zi))
                    return None
                dz = solve_M((known - zi) / hg + fi)
                return dz, _rms(be, dz, scale)

            ok, it, zi, rate = iterate(increment, Z[..., i, :], max_newton_iter, newton_tol)
            if not ok:
                return False, it, Z, rate
            Zs.append(zi)
            Fs.append((zi - known) / hg)
            worst_it = max(worst_it, it)
            worst_rate = rate if worst_rate is None or (rate is not None and rate > worst_rate) else worst_rate
        return True, worst_it, be.stack(Zs, -2), worst_rate

    solve_stages = newton_sdirk if co.sdirk else newton

    while direction * (t - t1) < 0:
        check_steps(tab.name, n_steps, max_steps, t, t1)
        h_start = h_abs
        rejected = False
        while True:
            t_new, h, h_abs = propose(tab.name, t, h_abs, t1, direction, nonfinite=bad_f)
            if not co.collocation:  # the stages of an SDIRK are no polynomial's values: Z_i ≈ c_i h f(y)
                Z0 = be.stack([fy * (ci * h) for ci in co.c], -2)
            elif poly is None:
                Z0 = be.stack([be.zeros_like(y)] * s, -2)
            else:
                Z0 = be.stack([poly(t + ci * h) - y for ci in co.c], -2)
            scale = atol + be.abs(y) * rtol
            while True:
                if solve_M is None:
                    solve_M, solve_E = factor(h)
                ok, n_iter, Z, rate = solve_stages(h, Z0, scale)
                newton_iters += n_iter
                if ok or current_jac:
                    break
                J, current_jac = jacobian(t, y, fy), True
                solve_M = None
            if not ok:
                h_abs *= 0.5
                solve_M = None
                n_rejected += 1
                continue
            y_new = be.combine(y, [(float(w), Z[..., i, :]) for i, w in enumerate(co.d) if w != 0])
            EZ = be.combine(be.zeros_like(y), [(float(e) / h, Z[..., i, :]) for i, e in enumerate(co.E) if e != 0])
            rhs = EZ + fy if co.f0_weight else EZ
            err = solve_E(rhs)  # (μ/h − J)⁻¹(f₀ + Σ E_i Z_i / h) = (I − hγ₀J)⁻¹(ŷ − y₁)
            scale = atol + be.maximum(be.abs(y), be.abs(y_new)) * rtol
            en = _rms(be, err, scale)
            safety = 0.9 * (2 * max_newton_iter + 1) / (2 * max_newton_iter + n_iter)
            if rejected and en > 1 and co.f0_weight:  # HW: f at y + err damps the stiff components again
                err = solve_E(f(t, y + err) + EZ)
                calls += 1
                en = _rms(be, err, scale)
            if not math.isfinite(en):
                if guard.enabled and not be.all_finite(y_new):
                    raise guard.diagnose(n_steps, t, y, lambda watch: [watch(f)(ti, y + Z[..., i, :]) for i, ti in
                                                                       enumerate(t + co.c * h)])
                en = math.inf
            if en > 1:
                fac = _predict(h_abs, h_old, en, err_old, k_exp) if math.isfinite(en) else MIN_FACTOR
                h_abs *= max(MIN_FACTOR, safety * fac)
                solve_M = None
                rejected = True
                n_rejected += 1
                continue
            break
        recompute_jac = n_iter > 2 and rate is not None and rate > 1e-3
        fac = min(MAX_FACTOR, safety * _predict(h_abs, h_old, en, err_old, k_exp))
        if not recompute_jac and fac < 1.2:
            fac = 1.0
        else:
            solve_M = None
        guard.state(n_steps, t, y, y_new, lambda watch: [watch(f)(t_new, y_new)])
        f_new = f(t_new, y_new)
        calls += 1
        guard.f_value(n_steps + 1, t_new, y_new, f_new)
        if recompute_jac:
            J, current_jac = jacobian(t_new, y_new, f_new), True
        else:
            current_jac = False
        h_old, err_old, bad_f = h_start, en, None
        h_abs *= fac
        if co.collocation:
            Q = be.linear(P, Z)
            poly = Polynomial(be, t, h, y, [Q[..., k, :] for k in range(s)])
        else:
            poly = Hermite(be, t, h, y, y_new, fy, f_new) if out.needs_piece else None
        stop = out.accept(t, t_new, y_new, poly if out.needs_piece else None)
        t, y, fy = t_new, y_new, f_new
        n_steps += 1
        if stop is not None:
            break
    return Solution(
        **out.fields(), scheme=tab.name, backend=be.name, n_steps=n_steps,
        n_f_evals=calls + jacobian.f_calls, n_jac_evals=jacobian.n_evals, n_newton_iters=newton_iters,
        n_rejected=n_rejected, n_lu=n_lu,
    )
