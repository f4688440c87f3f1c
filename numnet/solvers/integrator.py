"""``integrate``: any scheme, fixed steps or (embedded pairs) adaptive, NumPy or torch.

>>> import numpy as np
>>> from numnet import schemes
>>> sol = integrate(schemes.get("rk4"), lambda t, y: -y, (0.0, 1.0), np.array([1.0, 2.0]), n_steps=10)
>>> sol
Solution(rk4, numpy, t=[0, 1], y(11, 2), 10 steps (h=0.1), 40 f-evals)
>>> np.allclose(sol.y_final, np.exp(-1.0) * np.array([1.0, 2.0]), atol=1e-5)
True
"""

from __future__ import annotations

import functools
import inspect
import numbers

import numpy as np

from . import lmm as _lmm
from ._backend import resolve
from .coefficients import tableau
from .dense import Hermite
from .finite import Guard, NonFiniteError
from .grid import Grid
from .lmm import LMMStepper
from .newton import ConvergenceError
from .output import Output
from .rk import RKStepper
from .solution import Solution

SAVE = ("all", "last")


def integrate(
    scheme,
    f,
    t_span,
    y0,
    h=None,
    n_steps=None,
    *,
    backend=None,
    dtype=None,
    device=None,
    jac=None,
    rtol=None,
    atol=None,
    first_step=None,
    max_steps=100_000,
    controller="PI",
    last_step="error",
    save="all",
    starter=None,
    start_substeps=_lmm.DEFAULT_SUBSTEPS,
    start_values=None,
    newton_tol=None,
    max_newton_iter=50,
    check_finite=True,
    t_eval=None,
    dense_output=False,
    events=None,
) -> Solution:
    """Solve y' = f(t, y), y(t0) = y0 with ``scheme`` (an object or catalog name).

    Fixed steps: give ``h`` (a positive step that divides the span, see
    :mod:`numnet.solvers.grid` and ``last_step``) or ``n_steps``. Adaptive steps: give
    ``rtol``/``atol`` instead — explicit embedded pairs (:mod:`numnet.solvers.adaptive`),
    implicit RK with an estimate, e.g. ``radau_iia3`` (RADAU5, :mod:`numnet.solvers.radau`),
    and ``"bdf"``/``"ndf"``, variable-order BDF/NDF 1–5 (:mod:`numnet.solvers.bdf`).

    - ``f(t, y)`` maps a batch y of shape (..., d) to (..., d) row by row (each trajectory
      evolves on its own); t is a Python float. A callable of one argument is taken as
      autonomous f(y).
    - ``y0``: shape (d,) or (..., d), one trajectory per leading index. A torch tensor
      selects the torch backend (differentiable; its dtype and device are kept), anything
      else NumPy; ``backend=`` forces one.
    - adaptive implicit methods use RADAU5's / NDF's own simplified Newton (at most 6 / 4
      iterations, tolerance from rtol; ``jac`` as below); with fixed steps
      implicit schemes solve their stages by damped Newton (:mod:`numnet.solvers.newton`)
      with ``jac(t, y)`` → (..., d, d) when given, else forward differences (NumPy) or
      autograd (torch), in float32/float64; non-convergence or a singular Newton matrix
      raises :class:`~numnet.solvers.newton.ConvergenceError` naming the scheme asked for
      (also when its starter failed).
    - multistep schemes take their s − 1 starting values from ``starter`` (a one-step RK
      scheme; default Dormand–Prince for explicit, Radau IIA3 for implicit LMMs) with
      ``start_substeps`` sub-steps per step, or exactly the given ``start_values``
      (shape (s − 1, ..., d): y_1 … y_{s−1}); see :mod:`numnet.solvers.lmm`.
    - ``save="all"`` keeps every step, ``"last"`` only t0 and the end.
    - ``t_eval``: return the solution at these times instead (read off the dense output);
      ``dense_output=True``: ``Solution.sol(t)`` anywhere in the span; ``events``: roots of
      g(t, y) (scipy's ``solve_ivp`` semantics, see :mod:`numnet.solvers.events`). The
      interpolant is the method's own where it has one (Dormand–Prince's order-4
      extension, Radau's collocation polynomial, BDF's interpolating polynomial), else a
      Hermite cubic. Fixed steps interpolate by Hermite cubics (f at each step end,
      counted in ``n_f_evals``) and look for events after the run.
    - a NaN or inf in f(t0, y0) or in any new state raises
      :class:`~numnet.solvers.finite.NonFiniteError` naming the step, t and whether f or
      the step's arithmetic produced it; ``check_finite=False`` returns the raw trajectory.

    >>> integrate("lm_resnet", lambda y: y, (0, 1), [1.0], n_steps=4)
    Traceback (most recent call last):
    ...
    ValueError: integration of lm_resnet is undefined while symbols {k} are free; give them values with .subs(k=...)
    """
    if isinstance(scheme, str) and scheme in _VARIABLE_ORDER:
        return _variable_order(scheme, f, t_span, y0, h, n_steps, backend, dtype, device, jac, rtol, atol,
                               first_step, max_steps, save, check_finite, t_eval, dense_output, events)
    scheme = _scheme(scheme)
    tab = tableau(scheme)
    if save not in SAVE:
        raise ValueError(f"save must be one of {SAVE}, got {save!r}")
    be, y0 = resolve(y0, backend, dtype, device)
    guard = Guard(be, tab.name, check_finite)
    adaptive = rtol is not None or atol is not None
    if adaptive:
        if h is not None or n_steps is not None:
            raise ValueError("give either h=/n_steps= (fixed steps) or rtol=/atol= (adaptive steps), not both")
        if hasattr(tab, "A") and not tab.explicit:  # implicit RK: RADAU5's machinery (numnet.solvers.radau)
            from .radau import integrate_implicit

            return integrate_implicit(
                tab, f, t_span, y0, be, rtol=1e-3 if rtol is None else rtol, atol=1e-6 if atol is None else atol,
                jac=jac, first_step=first_step, max_steps=max_steps, save=save, guard=guard, t_eval=t_eval,
                dense_output=dense_output, events=events,
            )
        from .adaptive import integrate_adaptive

        return integrate_adaptive(
            tab, f, t_span, y0, be, rtol=1e-3 if rtol is None else rtol, atol=1e-6 if atol is None else atol,
            first_step=first_step, max_steps=max_steps, controller=controller, save=save, guard=guard,
            t_eval=t_eval, dense_output=dense_output, events=events, continuous=_continuous(scheme),
        )
    if h is None and n_steps is None:
        raise ValueError("give h= or n_steps= for fixed steps, or rtol=/atol= for adaptive steps (embedded pairs)")
    grid = Grid.make(t_span, h, n_steps, last_step)
    out = Output(be, grid.t0, grid.t1, y0, save=save, dense=dense_output, t_eval=t_eval, events=events)
    save = "all" if out.needs_piece else save
    f, f0 = prepare_f(f, be, grid.t0, y0, guard)
    opts = dict(jac=jac, newton_tol=newton_tol, max_newton_iter=max_newton_iter)
    if hasattr(tab, "A") and start_values is not None:
        raise ValueError(f"start_values are for multistep schemes; {tab.name} is a one-step method")
    if hasattr(tab, "A"):
        ys, stepper = _run_rk(tab, f, be, grid, y0, f0, _Recorder(be, y0, grid.n_steps, save), opts, guard)
        n_f = 1 + stepper.total_f_calls
    else:
        if grid.h_last is not None:
            raise ValueError(f"{tab.name} is a multistep method and needs equal steps; last_step='shorten' is for one-step methods")
        start = (starter, start_substeps) if start_values is None else _start_values(tab, be, y0, start_values)
        ys, stepper, start_calls = _run_lmm(tab, f, be, grid, y0, f0, _Recorder(be, y0, grid.n_steps, save), opts,
                                            start, guard)
        n_f = 1 + stepper.total_f_calls + start_calls
    times = grid.times()
    if out.needs_piece:
        n_f += _hermite_output(out, be, f, times, ys, f0)
        fields = out.fields()
    else:
        fields = dict(t=times if save == "all" else times[[0, -1]], y=ys)
    return Solution(
        **fields, scheme=tab.name, backend=be.name, n_steps=grid.n_steps, n_f_evals=n_f,
        n_jac_evals=stepper.jac_evals, n_newton_iters=stepper.newton_iters, h=abs(grid.h),
    )


def _hermite_output(out, be, f, times, ys, f0):
    """Feed a fixed-step trajectory to ``out`` step by step with Hermite pieces (f at each
    step end); returns the calls of f spent."""
    fa = f0
    for n in range(len(times) - 1):
        t0, t1 = float(times[n]), float(times[n + 1])
        fb = f(t1, ys[n + 1])
        if out.accept(t0, t1, ys[n + 1], Hermite(be, t0, t1 - t0, ys[n], ys[n + 1], fa, fb)) is not None:
            return n + 1
        fa = fb
    return len(times) - 1


@functools.lru_cache(maxsize=64)
def _continuous(scheme):
    """The float weights of ``scheme``'s continuous extension, or None (Hermite then)."""
    from numnet.schemes import continuous

    P = continuous.weights(scheme)
    return None if P is None else np.array(P.evalf(30).tolist(), dtype=np.float64)


_VARIABLE_ORDER = ("bdf", "ndf")


def _variable_order(method, f, t_span, y0, h, n_steps, backend, dtype, device, jac, rtol, atol, first_step,
                    max_steps, save, check_finite, t_eval, dense_output, events):
    """``integrate("bdf" | "ndf", ...)``: variable-order BDF/NDF 1–5 (:mod:`numnet.solvers.bdf`)."""
    if h is not None or n_steps is not None:
        raise ValueError(f"{method} chooses its own steps and order (give rtol=/atol=); for fixed steps use "
                         f"bdf1 … bdf5 with h=/n_steps=")
    from .bdf import integrate_bdf

    be, y0 = resolve(y0, backend, dtype, device)
    return integrate_bdf(
        method, f, t_span, y0, be, rtol=1e-3 if rtol is None else rtol, atol=1e-6 if atol is None else atol,
        jac=jac, first_step=first_step, max_steps=max_steps, save=save, guard=Guard(be, method, check_finite),
        t_eval=t_eval, dense_output=dense_output, events=events,
    )


def _scheme(scheme):
    if isinstance(scheme, str):
        from numnet import schemes

        return schemes.get(scheme)
    return scheme


def prepare_f(f, be, t0, y0, guard):
    """(f as f(t, y), f(t0, y0)) after checking that f maps y0's shape to itself, and
    (``guard``) that f(t0, y0) is finite."""
    if not callable(f):
        raise TypeError(f"f must be callable as f(t, y), got {f!r}")
    g = _two_arg(f)
    out = g(t0, y0)
    if not be.is_array(out):
        raise TypeError(
            f"f must return a {be.name} array for a {be.name} y (shape {tuple(y0.shape)}), got {type(out).__name__}"
        )
    if tuple(out.shape) != tuple(y0.shape):
        raise ValueError(
            f"f returned shape {tuple(out.shape)} for y of shape {tuple(y0.shape)}; f must map (..., d) to (..., d)"
        )
    guard.f_value(0, t0, y0, out)
    return g, out


def _two_arg(f):
    target = getattr(f, "forward", f)  # a torch.nn.Module is called through forward
    try:
        sig = inspect.signature(target)
        params = [
            p for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
        var = any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values())
    except (TypeError, ValueError):
        return f
    if len(params) == 1 and not var:
        return lambda t, y: f(y)
    return f


class _Recorder:
    """Collects the saved states: written into one preallocated array (each step's array
    can then be reused by the allocator), or, when the states carry gradients, kept in a
    list and stacked at the end (autograd records no in-place copies)."""

    def __init__(self, be, y0, n_steps, save):
        self.be, self.all = be, save == "all"
        self.n = n_steps + 1 if self.all else 2
        self.buf, self.list, self.i = None, [y0], 1

    def add(self, y, last=False):
        if not (self.all or last):
            return
        if self.buf is None and self.list is not None and len(self.list) == 1 and not getattr(y, "requires_grad", False):
            self.buf = self.be.empty((self.n,) + tuple(y.shape), like=y)
            self.buf[0] = self.list[0]
            self.list = None
        if self.buf is not None:
            self.buf[self.i] = y
        else:
            self.list.append(y)
        self.i += 1

    def result(self):
        return self.buf if self.buf is not None else self.be.stack(self.list, 0)


def _run_rk(tab, f, be, grid, y0, f0, rec, opts, guard):
    st = RKStepper(tab, f, be, **opts)
    times = grid.times()
    y, k = y0, f0
    for n in range(grid.n_steps):
        t, h = float(times[n]), grid.step(n)
        y_new, k = st.step(n, t, y, h, k1=k if tab.explicit else None)
        guard.state(n, t, y, y_new, lambda watch: RKStepper(tab, watch(f), be, **opts).step(n, t, y, h))
        y = y_new
        rec.add(y, last=n == grid.n_steps - 1)
    return rec.result(), st


def _starter(tab, starter):
    from numnet import schemes

    if starter is None:
        starter = _lmm.DEFAULT_STARTERS[tab.explicit]
    s = schemes.get(starter) if isinstance(starter, str) else starter
    if getattr(s, "kind", None) != "RK":
        raise TypeError(f"starter must be a one-step Runge–Kutta scheme (object or name), got {starter!r}")
    return tableau(s)


def _start_values(tab, be, y0, values):
    """The given y_1 … y_{s−1} as a list of backend arrays, shape-checked."""
    arr = be.asarray(values)
    if not be.all_finite(arr):
        raise ValueError("start_values contain NaN or infinite values")
    want = (tab.steps - 1,) + tuple(y0.shape)
    if tuple(arr.shape) != want:
        raise ValueError(f"start_values for the {tab.steps}-step {tab.name} must have shape (s-1, ...) = {want}, got {tuple(arr.shape)}")
    return [arr[i] for i in range(tab.steps - 1)]


def _run_lmm(tab, f, be, grid, y0, f0, rec, opts, start, guard):
    s = tab.steps
    times = grid.times()
    ys_hist, fs_hist = [y0], [f0]
    start_calls = 0
    if isinstance(start, list):
        for n, y in enumerate(start[: grid.n_steps], 1):
            ys_hist.append(y)
            fs_hist.append(f(float(times[n]), y))
            start_calls += 1
    elif s > 1:
        starter, substeps = start
        if isinstance(substeps, bool) or not isinstance(substeps, numbers.Integral) or substeps < 1:
            raise ValueError(f"start_substeps must be a positive integer, got {substeps!r}")
        rk = RKStepper(_starter(tab, starter), f, be, **opts)
        y, k = y0, f0
        hs = grid.h / substeps
        try:
            for n in range(1, min(s, grid.n_steps + 1)):
                for i in range(substeps):
                    t = float(times[n - 1]) + i * hs
                    y_new, k = rk.step(n - 1, t, y, hs, k1=k if rk.tab.explicit else None)
                    guard.state(n - 1, t, y, y_new, lambda watch: RKStepper(rk.tab, watch(f), be, **opts).step(n - 1, t, y, hs))
                    y = y_new
                if k is None:
                    k = f(float(times[n]), y)
                    start_calls += 1
                ys_hist.append(y)
                fs_hist.append(k)
        except (ConvergenceError, NonFiniteError) as exc:  # name the scheme asked for, not its starter
            raise exc.renamed(f"{tab.name} (its starting values by {rk.tab.name})") from None
        start_calls += rk.total_f_calls
    for n, y in enumerate(ys_hist[1:], 1):
        rec.add(y, last=n == grid.n_steps)
    st = LMMStepper(tab, f, be, **opts)
    for n in range(s - 1, grid.n_steps):
        t = float(times[n])
        y, fy = st.step(n, t, ys_hist, fs_hist, grid.h)
        guard.state(n, t, ys_hist[-1], y, lambda watch: _redo_lmm(tab, watch(f), be, opts, n, times, ys_hist, grid.h))
        ys_hist = ys_hist[1:] + [y]
        fs_hist = fs_hist[1:] + [fy]
        rec.add(y, last=n == grid.n_steps - 1)
    return rec.result(), st, start_calls


def _redo_lmm(tab, f, be, opts, n, times, ys, h):
    """Step n of an LMM again with f-values recomputed from the states (to find a bad f)."""
    s = len(ys)
    fs = [f(float(times[n - s + 1 + j]), y) for j, y in enumerate(ys)]
    return LMMStepper(tab, f, be, **opts).step(n, float(times[n]), ys, fs, h)
