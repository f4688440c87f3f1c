"""What an integration keeps: saved steps or ``t_eval`` values, dense output, events.

One :class:`Output` per integration is fed every accepted step (t_old → t_new, the new
state, and the step's interpolant when one is needed); it returns the time at which a
terminal event stops the run. ``t_eval`` values are read off each step's interpolant as
the step passes them (scipy's ``solve_ivp``: then ``Solution.t`` is ``t_eval``, cut at a
terminal event).

>>> import numpy as np
>>> from numnet.solvers import integrate
>>> sol = integrate("dormand_prince", lambda t, y: -y, (0, 2), np.array([1.0]), rtol=1e-9, atol=1e-12,
...                 t_eval=[0.5, 1.0, 2.0])
>>> sol.t.tolist(), bool(np.allclose(sol.y[:, 0], np.exp(-sol.t), atol=1e-8))
([0.5, 1.0, 2.0], True)
"""

from __future__ import annotations

import numpy as np

from .dense import DenseOutput, check_t_eval
from .events import Events


class Output:
    def __init__(self, be, t0, t1, y0, *, save="all", dense=False, t_eval=None, events=None):
        if save not in ("all", "last"):
            raise ValueError(f"save must be one of ('all', 'last'), got {save!r}")
        if save == "last" and (t_eval is not None or dense):
            raise ValueError("save='last' keeps only the end point; it cannot be combined with t_eval= or dense_output=")
        self.be, self.save, self.dense = be, save, bool(dense)
        self.t_eval = None if t_eval is None else check_t_eval(t_eval, t0, t1)
        self.events = None if events is None else Events(events, be, t0, y0)
        self.needs_piece = self.dense or self.t_eval is not None or self.events is not None
        self.i_eval = 0
        self.ts, self.ys = ([], []) if self.t_eval is not None else ([t0], [y0])
        self.breaks, self.pieces = [t0], []
        self.direction = 1.0 if t1 > t0 else -1.0
        if self.t_eval is not None:
            self._emit(t0, lambda t: y0)
        self.t_last, self.y_last = t0, y0

    def _emit(self, t_new, interp):
        te, d = self.t_eval, self.direction
        while self.i_eval < len(te) and d * (te[self.i_eval] - t_new) <= 0:
            t = float(te[self.i_eval])
            self.ts.append(t)
            self.ys.append(interp(t))
            self.i_eval += 1

    def accept(self, t_old, t_new, y_new, piece=None):
        """Record the step; returns the stop time of a terminal event, else None."""
        stop = None
        if self.events is not None:
            stop = self.events.step(t_old, t_new, y_new, piece)
            if stop is not None:
                t_new, y_new = stop, piece(stop)
        if self.needs_piece:
            self.breaks.append(t_new)
            self.pieces.append(piece)
        if self.t_eval is not None:
            self._emit(t_new, lambda t: y_new if t == t_new else piece(t))
        elif self.save == "all":
            self.ts.append(t_new)
            self.ys.append(y_new)
        self.t_last, self.y_last = t_new, y_new
        return stop

    def fields(self):
        """t, y, sol, t_events, y_events for :class:`~numnet.solvers.solution.Solution`."""
        ts, ys = self.ts, self.ys
        if self.t_eval is None and self.save == "last":
            ts, ys = ts + [self.t_last], ys + [self.y_last]
        if ys:
            y = self.be.stack(ys, 0)
        else:  # t_eval entirely past a terminal event
            y = self.be.empty((0,) + tuple(self.y_last.shape), like=self.y_last)
        out = dict(t=np.array(ts, dtype=np.float64), y=y)
        out["sol"] = DenseOutput(self.be, self.breaks, self.pieces) if self.dense else None
        if self.events is not None:
            out["t_events"], out["y_events"] = self.events.result()
        return out
