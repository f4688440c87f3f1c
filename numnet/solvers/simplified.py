"""The simplified Newton iteration of the adaptive implicit solvers (RADAU5, NDF/BDF).

z ← z + Δz with Δz from a matrix factored earlier; the increments' scaled norms w_k give
the contraction rate θ = w_k/w_{k−1}. The iteration gives up when θ ≥ 1 or when θ predicts
that the remaining iterations cannot reach ``tol`` (θ^(N−k+1)/(1 − θ)·w > tol), and
converges when the predicted remaining error θ/(1 − θ)·w is below ``tol`` (or w = 0):
Hairer & Wanner II, §IV.8, as scipy's ``Radau`` and ``BDF``. At least two iterations are
needed to know θ.

>>> ok, iterations, z, rate = iterate(lambda z: (0.5 * (1.0 - z), abs(0.5 * (1.0 - z))), 0.0, 30, 1e-6)
>>> ok, iterations, rate  # z → 1 with θ = 1/2: stops once θ/(1 − θ)·w < 1e-6
(True, 20, 0.5)
"""

from __future__ import annotations


def iterate(increment, z, max_iter, tol, update=None):
    """Run z ← z + Δz (or ``update(z, Δz)``), ``increment(z)`` returning (Δz, its scaled
    norm) or None when f was not finite. Returns (converged, iterations, z, rate)."""
    w_old = rate = None
    for it in range(1, max_iter + 1):
        step = increment(z)
        if step is None:
            return False, it, z, rate
        dz, w = step
        if w_old is not None:
            rate = w / w_old
            if rate >= 1 or rate ** (max_iter - it + 1) / (1 - rate) * w > tol:
                return False, it, z, rate
        z = z + dz if update is None else update(z, dz)
        if w == 0 or (rate is not None and rate / (1 - rate) * w < tol):
            return True, it, z, rate
        w_old = w
    return False, max_iter, z, rate
