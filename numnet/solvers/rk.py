"""One Runge–Kutta step, explicit or implicit, for any tableau; batched over trajectories.

Explicit: k_i = f(t + c_i h, y + h Σ_{j<i} a_ij k_j), only non-zero a_ij touched;
y_{n+1} = y + h Σ b_i k_i. A FSAL tableau (last row of A = b, c_s = 1) hands its last
stage to the next step as k_1. Implicit: the stage increments Z_i = h Σ_j a_ij k_j solve
a simplified Newton iteration (:mod:`numnet.solvers.newton`); then
y_{n+1} = y + Σ d_i Z_i with d = bᵀA⁻¹ when A is invertible (no further f-evaluations and
no amplification of the Newton residual by stiff f), else y + h Σ b_i f(Y_i).

The layout (non-zero a_ij and b_i, FSAL) is the scheme's step plan
(:class:`numnet.schemes.plan.RKPlan`, the same the net stages run); every combination
goes through the shared kernel of :mod:`numnet._combine` (``be.sum``).
"""

from __future__ import annotations

from . import newton


class RKStepper(newton.Stepper):
    """Steps y(t) → y(t + h) with the tableau ``tab``; counts calls of f.

    >>> import numpy as np
    >>> from numnet import schemes
    >>> from numnet.solvers.coefficients import tableau
    >>> from numnet.solvers._backend import NumpyBackend
    >>> st = RKStepper(tableau(schemes.get("rk4")), lambda t, y: -y, NumpyBackend(np.float64))
    >>> y1, _ = st.step(0, 0.0, np.array([1.0]), 0.1)
    >>> float(y1[0]), st.f_calls  # 1 + z + z²/2 + z³/6 + z⁴/24 at z = −0.1
    (0.9048375, 4)
    """

    def step(self, n, t, y, h, k1=None, error=False):
        """(y_{n+1}, k_next) and, with ``error=True``, the embedded error estimate too.

        ``k1`` is f(t, y) when the caller has it (FSAL); ``k_next`` is f(t+h, y_{n+1}) when
        the tableau provides it for free, else None.
        """
        if self.tab.explicit:
            return self._explicit(t, y, h, k1, error)
        return self._implicit(n, t, y, h)

    def _explicit(self, t, y, h, k1, error):
        tab, be, f = self.tab, self.be, self.f
        plan, v = tab.plan, tab.values
        K = [None] * plan.stages
        yi = y
        for i in range(plan.stages):
            if i == 0 and k1 is not None:
                K[0] = k1
                continue
            yi = be.sum(plan.stage_terms(i, v, y, K, scale=h)) if i else y
            K[i] = f(t + tab.c[i] * h, yi)
            self.f_calls += 1
        self.stages = K  # the last step's k_i, for a continuous extension (numnet.solvers.dense)
        if plan.fsal:
            y_new, k_next = yi, K[-1]
        else:
            y_new, k_next = be.sum(plan.update_terms(v, y, K, scale=h)), None
        if not error:
            return y_new, k_next
        err = be.combine(be.zeros_like(y), [(h * e, K[i]) for i, e in tab.error_weights])
        return y_new, k_next, err

    def _implicit(self, n, t, y, h):
        tab, be = self.tab, self.be
        J = self.jacobian(t, y)
        nodes = [t + ci * h for ci in tab.c]
        Z, iters, calls = newton.solve(
            be, self.f, self.jacobian, J, nodes, y, h * tab.A, tol=self.tol, max_iter=self.max_iter,
            scheme=tab.name, step=n, t=t,
        )
        self.f_calls += calls
        self.newton_iters += iters
        m = tab.stages
        if tab.d is not None:
            return be.combine(y, [(float(di), Z[..., i, :]) for i, di in enumerate(tab.d) if di != 0]), None
        K = [self.f(nodes[i], y + Z[..., i, :]) for i in range(m)]
        self.f_calls += m
        return be.sum(tab.plan.update_terms(tab.values, y, K, scale=h)), None
