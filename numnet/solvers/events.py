"""Events: roots of g(t, y) located on the dense output, with scipy's ``solve_ivp`` semantics.

An event is a callable ``g(t, y) -> float`` with optional attributes ``terminal`` (True, or
a count: stop at that occurrence) and ``direction`` (> 0: only rising zero crossings,
< 0 only falling ones, 0 both). After each accepted step the events are evaluated at the
step's end; a sign change (a crossing that touches 0 counts, as in scipy) is located by
Brent's method on the step's interpolant (:mod:`numnet.solvers.dense`) to 4 eps. A
terminal event ends the integration there: the last saved point is (t_event, y(t_event)).

``Solution.t_events[i]`` (NumPy array) and ``y_events[i]`` (shape (k, d)) are the crossings
of event i in time order. Events need one trajectory (y of shape (d,)): in a batch every
trajectory would cross at its own time. The event times are floats (with torch, y_events
carry gradients through the interpolant at the fixed event time, not through the time).

>>> import numpy as np
>>> from numnet.solvers import integrate
>>> def ground(t, y): return y[0]
>>> ground.terminal, ground.direction = True, -1
>>> fall = lambda t, y: np.array([y[1], -9.81])
>>> sol = integrate("dormand_prince", fall, (0, 10), np.array([10.0, 0.0]), rtol=1e-8, atol=1e-10, events=ground)
>>> round(float(sol.t_events[0][0]), 6), round(float(sol.t[-1]), 6)  # sqrt(2·10/9.81)
(1.427843, 1.427843)
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.optimize import brentq

EPS = float(np.finfo(np.float64).eps)


def _value(be, g, t, y, i):
    v = g(t, y)
    if be.is_array(v) or isinstance(v, np.ndarray):
        if tuple(getattr(v, "shape", ())) not in ((), (1,)):
            raise ValueError(f"event {i} must return a number, got an array of shape {tuple(v.shape)}")
        v = float(be.to_numpy(v).reshape(())) if be.is_array(v) else float(v.reshape(()))
    elif isinstance(v, numbers.Real) and not isinstance(v, bool):
        v = float(v)
    else:
        raise TypeError(f"event {i} must return a real number, got {type(v).__name__}")
    if not np.isfinite(v):
        raise ValueError(f"event {i} returned {v} at t = {t:g}; an event function must be finite")
    return v


class Events:
    """The events of one integration, fed step by step (:meth:`step`)."""

    def __init__(self, events, be, t0, y0):
        events = [events] if callable(events) else list(events)
        for i, g in enumerate(events):
            if not callable(g):
                raise TypeError(f"event {i} must be callable as g(t, y), got {g!r}")
        if len(tuple(y0.shape)) != 1:
            raise ValueError(f"events need a single trajectory (y0 of shape (d,)), got shape {tuple(y0.shape)}")
        self.be, self.events, self.d = be, events, int(y0.shape[-1])
        self.terminal = []
        for i, g in enumerate(events):
            term = getattr(g, "terminal", False)
            if isinstance(term, bool):
                self.terminal.append(1 if term else 0)
            elif isinstance(term, numbers.Integral) and term >= 0:
                self.terminal.append(int(term))
            else:
                raise ValueError(f"event {i}: terminal must be a bool or a non-negative integer, got {term!r}")
        self.direction = [float(np.sign(getattr(g, "direction", 0.0))) for g in events]
        with be.no_grad():
            self.g = [_value(be, g, t0, y0, i) for i, g in enumerate(events)]
        self.t_events = [[] for _ in events]
        self.y_events = [[] for _ in events]

    def step(self, t_old, t_new, y_new, interp):
        """Check the step (t_old, t_new]; ``interp(t)`` is the dense output on it.
        Returns None, or the time of a terminal event (where the integration must stop)."""
        be = self.be
        with be.no_grad():
            g_new = [_value(be, g, t_new, y_new, i) for i, g in enumerate(self.events)]
        found = []
        for i, (a, b) in enumerate(zip(self.g, g_new)):
            up, down = a <= 0 <= b, a >= 0 >= b
            d = self.direction[i]
            if (up and d > 0) or (down and d < 0) or ((up or down) and d == 0):
                if a == 0 and b == 0:
                    continue
                found.append((self._root(i, t_old, t_new, a, b, interp), i))
        self.g = g_new
        direction = 1.0 if t_new >= t_old else -1.0
        found.sort(key=lambda x: direction * x[0])
        for t_root, i in found:
            self.t_events[i].append(t_root)
            self.y_events[i].append(interp(t_root))
            if self.terminal[i] and len(self.t_events[i]) >= self.terminal[i]:
                return t_root
        return None

    def _root(self, i, t_old, t_new, a, b, interp):
        if a == 0:
            return t_old
        if b == 0:
            return t_new
        g = self.events[i]
        with self.be.no_grad():
            fun = lambda t: _value(self.be, g, t, interp(t), i)  # noqa: E731
            return float(brentq(fun, t_old, t_new, xtol=4 * EPS, rtol=4 * EPS))

    def result(self):
        """(t_events, y_events) as lists of arrays (one per event)."""
        be = self.be
        ts = [np.array(t, dtype=np.float64) for t in self.t_events]
        ys = []
        for ev in self.y_events:
            ys.append(be.stack(ev, 0) if ev else np.empty((0, self.d)))
        return ts, ys
