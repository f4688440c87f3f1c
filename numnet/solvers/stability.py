"""Linear stability by integration: does y' = λy with hλ = z stay bounded?

For each z the scheme integrates y' = z·y with h = 1 (all z at once, as one complex
batch) for ``n_steps`` steps — a multistep method from random starting values, so that
every root of its stability polynomial is excited, not only the principal one — and measures the per-step growth factor over the second half,
g = (max|y| over the last quarter / max|y| over the second quarter)^(1/(n/2)), after the
transient of the starting values has died out. g ≤ 1 + ``tol`` is "bounded". This is an
independent check of ``scheme.in_stability_region(z)``, which decides the same question
from the stability function or polynomial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numnet.schemes import as_scheme

from .integrator import integrate


@dataclass
class StabilityCheck:
    """Per z: the measured growth factor, the integration verdict and the scheme's claim."""

    z: np.ndarray
    growth: np.ndarray
    bounded: np.ndarray
    in_region: np.ndarray

    @property
    def agree(self) -> np.ndarray:
        return self.bounded == self.in_region


def linear_stability(scheme, z, *, n_steps=80, tol=1e-3) -> StabilityCheck:
    """Integrate y' = λy at z = hλ (any array shape) and compare with ``in_stability_region``.

    >>> from numnet import schemes
    >>> chk = linear_stability(schemes.get("euler"), [-0.5, -1.5, -2.5, 0.5j])
    >>> chk.bounded.tolist(), chk.in_region.tolist(), bool(chk.agree.all())
    ([True, True, False, False], [True, True, False, False], True)
    """
    scheme = as_scheme(scheme, kinds=("RK", "LMM"))
    z = np.asarray(z, dtype=complex)
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 8:
        raise ValueError(f"n_steps must be an integer ≥ 8, got {n_steps!r}")
    zz = z.reshape(-1, 1)
    y0 = np.ones_like(zz)
    start = None
    if scheme.kind == "LMM" and scheme.steps > 1:
        rng = np.random.default_rng(0)
        start = rng.uniform(0.5, 1.0, (scheme.steps - 1,) + zz.shape) * np.exp(2j * np.pi * rng.uniform(size=(scheme.steps - 1,) + zz.shape))
    with np.errstate(over="ignore", invalid="ignore"):
        sol = integrate(scheme, lambda t, y: zz * y, (0.0, float(n_steps)), y0, h=1.0, start_values=start,
                        jac=lambda t, y: zz[..., None] * np.ones_like(y)[..., None],
                        check_finite=False)  # an overflow is the measurement here: growth = inf
        mag = np.abs(sol.y[..., 0])  # (n_steps + 1, nz)
        q = n_steps // 4
        late = np.max(mag[3 * q:], axis=0)
        mid = np.max(mag[q:2 * q + 1], axis=0)
        growth = np.where(late == 0, 0.0, (late / mid) ** (1.0 / (2 * q)))
    growth = np.where(np.isnan(growth), np.inf, growth).reshape(z.shape)
    return StabilityCheck(z, growth, growth <= 1 + tol, np.asarray(scheme.in_stability_region(z)))
