"""The result of an integration: saved times and states plus the work it cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Solution:
    """Times ``t`` (NumPy, shape (n,)) and states ``y`` (backend array, shape (n, ..., d)).

    ``sol`` is the :class:`~numnet.solvers.dense.DenseOutput` (``dense_output=True``);
    ``t_events[i]``/``y_events[i]`` the times and states where event i fired (``events=``);
    ``n_lu`` counts LU factorisations of the Newton matrix (adaptive implicit methods).
    ``n_f_evals`` counts evaluations of f per trajectory (a batched call counts once, as
    scipy's ``nfev`` would for one trajectory), including those spent on starting values,
    finite-difference Jacobians and step-size selection.
    """

    t: np.ndarray
    y: object
    scheme: str
    backend: str
    n_steps: int
    n_f_evals: int
    n_jac_evals: int = 0
    n_newton_iters: int = 0
    n_rejected: int = 0
    h: float | None = None
    # dense output, t_eval and events (numnet.solvers.dense / events), scipy's solve_ivp names
    sol: object = None
    t_events: list | None = None
    y_events: list | None = None
    n_lu: int = 0

    @property
    def y_final(self):
        """The state at the last saved time, shape (..., d)."""
        return self.y[-1]

    def __repr__(self) -> str:
        shape = tuple(self.y.shape)
        step = f"h={self.h:g}" if self.h is not None else f"adaptive, {self.n_rejected} rejected"
        return (
            f"Solution({self.scheme}, {self.backend}, t=[{self.t[0]:g}, {self.t[-1]:g}], y{shape}, "
            f"{self.n_steps} steps ({step}), {self.n_f_evals} f-evals)"
        )
