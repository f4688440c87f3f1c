"""Linear multistep stepping: a history of s states and f-values, explicit or implicit.

y_{n+s} = −Σ_{j<s} α_j y_{n+j} + h Σ_{j<s} β_j f_{n+j} + h β_s f(y_{n+s}); only the
non-zero coefficients are touched: the explicit part is the scheme's step plan
(:meth:`numnet.schemes.plan.LMMPlan.terms`, the same the net stages run) summed by the
shared kernel of :mod:`numnet._combine` (``be.sum``). The implicit part is solved by the
same simplified Newton iteration as implicit RK stages (one "stage", W = h β_s, Jacobian
at the newest known state), and f_{n+s} is recovered as Z / (h β_s) without another call
of f.

Starting values y_1 … y_{s−1} come from a one-step Runge–Kutta method, by default
Dormand–Prince (order 5) for explicit and Radau IIA (3 stages, order 5, L-stable, so stiff
problems start cleanly) for implicit LMMs, each start step split into ``substeps`` (4)
equal sub-steps. Their error, O(h⁶)/4⁵, stays below the global error O(h^p) of every
catalog LMM (p ≤ 6).
"""

from __future__ import annotations

import numpy as np

from . import newton

DEFAULT_STARTERS = {True: "dormand_prince", False: "radau_iia3"}
DEFAULT_SUBSTEPS = 4


class LMMStepper(newton.Stepper):
    """Runs an LMM over a uniform grid once the history is filled.

    >>> import numpy as np
    >>> from numnet import schemes
    >>> from numnet.solvers.coefficients import tableau
    >>> from numnet.solvers._backend import NumpyBackend
    >>> st = LMMStepper(tableau(schemes.get("ab2")), lambda t, y: -y, NumpyBackend(np.float64))
    >>> ys = [np.array([1.0]), np.array([0.9])]
    >>> fs = [-ys[0], -ys[1]]
    >>> float(st.step(2, 0.1, ys, fs, 0.1)[0][0])  # 0.9 + 0.1·(1.5·(−0.9) − 0.5·(−1))
    0.815
    """

    def step(self, n, t_last, ys, fs, h):
        """(y_{n+s}, f_{n+s}) from the histories ``ys``, ``fs`` (oldest first, length s);
        ``t_last`` is t_{n+s−1}, the newest known time."""
        be = self.be
        base = be.sum(self.tab.plan.terms(self.tab.values, ys, fs, scale=h))
        t_new = t_last + h
        if self.tab.explicit:
            self.f_calls += 1
            return base, self.f(t_new, base)
        hb = h * float(self.tab.beta[-1])
        J = self.jacobian(t_last, ys[-1], fs[-1])
        Z, iters, calls = newton.solve(
            be, self.f, self.jacobian, J, [t_new], base, np.array([[hb]]), tol=self.tol,
            max_iter=self.max_iter, scheme=self.tab.name, step=n, t=t_last,
        )
        self.f_calls += calls
        self.newton_iters += iters
        Z = Z[..., 0, :]
        return base + Z, Z * (1.0 / hb)
