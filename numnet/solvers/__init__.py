"""Integrate ODEs with any scheme object, and check its symbolic claims numerically.

- :func:`integrate` — every concrete catalog scheme (explicit/implicit RK and LMM), fixed
  steps or adaptive (explicit embedded pairs; Radau IIA and SDIRK pairs by RADAU5's
  machinery, :mod:`~numnet.solvers.radau`; ``"bdf"``/``"ndf"`` variable-order BDF,
  :mod:`~numnet.solvers.bdf`), batched, NumPy or torch; ``t_eval``, ``dense_output`` and
  ``events`` as scipy's ``solve_ivp`` (:mod:`~numnet.solvers.dense`,
  :mod:`~numnet.solvers.events`); a NaN/inf raises :class:`NonFiniteError`, an implicit
  solve that fails :class:`ConvergenceError`.
- :mod:`~numnet.solvers.problems` — test problems with exact or cached scipy references.
- :func:`convergence`, :func:`verify` — observed orders against ``scheme.order``.
- :func:`linear_stability` — bounded/growing integration of y' = λy against
  ``scheme.in_stability_region``.
- :mod:`~numnet.solvers.compare` — the adaptive pairs beside scipy's RK23/RK45/DOP853.

Reads :mod:`numnet.schemes`; never imports :mod:`numnet.nets` or matplotlib; torch only
when a torch array is integrated.

>>> import numpy as np
>>> from numnet import schemes, solvers
>>> sol = solvers.integrate(schemes.get("ab3"), lambda t, y: -y, (0, 1), np.ones((5, 2)), h=0.01)
>>> sol.y.shape, bool(np.allclose(sol.y_final, np.exp(-1), atol=1e-7))
((101, 5, 2), True)
"""

from . import problems
from .finite import NonFiniteError
from .integrator import integrate
from .newton import ConvergenceError
from .orders import Convergence, Verification, convergence, verify
from .solution import Solution
from .stability import StabilityCheck, linear_stability

__all__ = [
    "integrate", "Solution", "ConvergenceError", "NonFiniteError", "convergence", "verify", "Convergence", "Verification",
    "linear_stability", "StabilityCheck", "problems",
]
