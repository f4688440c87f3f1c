"""No silent NaN: every integration loop checks each new state, and names where a NaN or inf began.

The rule: a state is refused once it holds an inf or a NaN; finite values, however large,
are returned as computed (Euler's (1 − 100)ⁿ on y' = −1000y with h = 0.1 is 3.7e199 after
100 steps, exactly what the recurrence gives in floating point — whether h is stable is
:func:`~numnet.solvers.linear_stability`'s question). One ``isfinite(y).all()`` per step
on the new state; only when it fails is the step run again with f watched, to say where
the first non-finite value came from:

- ``source="f"``: f(t, y) returned inf/NaN for a finite y (f is undefined there, or
  overflowed on a state that had grown huge — ``y_max`` says which);
- ``source="state"``: every value f returned was finite, and the step's own combination
  y + h Σ b_i k_i overflowed.

``integrate(..., check_finite=False)`` skips the checks and returns the raw trajectory
(an implicit step still raises: Newton's method cannot start from a NaN f).

>>> import numpy as np
>>> from numnet.solvers import integrate
>>> with np.errstate(over="ignore"):  # numpy's own overflow warnings, silenced here
...     integrate("euler", lambda t, y: -1000 * y, (0, 20), np.array([1.0]), h=0.1)
Traceback (most recent call last):
...
numnet.solvers.finite.NonFiniteError: euler: f(t, y) returned inf/NaN at step 153 (t = 15.3) for a finite y (max |y| = 2.1e+305); ...
>>> sol = integrate("euler", lambda t, y: -1000 * y, (0, 10), np.array([1.0]), h=0.1)
>>> f"{sol.y[100, 0]:.3g}"  # finite, if useless: returned as computed
'3.66e+199'
"""

from __future__ import annotations


class NonFiniteError(ArithmeticError):
    """A NaN or inf appeared; carries ``scheme``, ``step`` (0-based, the step from ``t``),
    ``t``, ``source`` ("f" or "state") and ``y_max`` (max |y| of the finite state it came from).

    >>> str(NonFiniteError("rk4", 3, 0.3, "state", 2.5e307))  # doctest: +ELLIPSIS
    'rk4: the state became inf/NaN in step 3 from t = 0.3 although f returned finite values (max |y| = 2.5e+307 before); ...'
    """

    def __init__(self, scheme, step, t, source, y_max):
        self.scheme, self.step, self.t, self.source, self.y_max = scheme, step, t, source, y_max
        if source == "f":
            what = f"f(t, y) returned inf/NaN at step {step} (t = {t:g}) for a finite y (max |y| = {y_max:.2g})"
        else:
            what = (f"the state became inf/NaN in step {step} from t = {t:g} although f returned finite values "
                    f"(max |y| = {y_max:.2g} before)")
        super().__init__(
            f"{scheme}: {what}; a huge |y| means the integration is unstable (reduce h, or use an implicit "
            f"scheme), a moderate one that f is undefined there; check_finite=False returns the raw trajectory"
        )

    def renamed(self, scheme):
        """The same error reported for ``scheme`` (the one the user asked for)."""
        return NonFiniteError(scheme, self.step, self.t, self.source, self.y_max)


class _Watched:
    """f, remembering the first call that returned a non-finite value for a finite input."""

    def __init__(self, be, f):
        self.be, self.f, self.first = be, f, None

    def __call__(self, t, y):
        out = self.f(t, y)
        if self.first is None and self.be.all_finite(y) and not self.be.all_finite(out):
            self.first = (t, self.be.maxabs(y))
        return out


class Guard:
    """The finiteness checks of one integration (a no-op when ``enabled`` is False).

    ``redo(watch)`` runs the failed step again with ``watch(f)`` in place of f:

    >>> import numpy as np
    >>> from numnet.solvers._backend import NumpyBackend
    >>> g = Guard(NumpyBackend(np.float64), "euler")
    >>> f = lambda t, y: np.full_like(y, np.nan)
    >>> y = np.array([2.0])
    >>> g.state(7, 0.7, y, y + 0.1 * f(0.7, y), lambda watch: y + 0.1 * watch(f)(0.7, y))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    numnet.solvers.finite.NonFiniteError: euler: f(t, y) returned inf/NaN at step 7 (t = 0.7) for a finite y (max |y| = 2); ...
    """

    def __init__(self, be, scheme, enabled=True):
        self.be, self.scheme, self.enabled = be, scheme, enabled

    def f_value(self, step, t, y, fy):
        """Raise if f(t, y) = ``fy`` is not finite (y finite)."""
        if self.enabled and not self.be.all_finite(fy):
            raise NonFiniteError(self.scheme, step, t, "f", self.be.maxabs(y))

    def state(self, step, t, y, y_new, redo):
        """Raise if ``y_new``, the result of step ``step`` from (t, y), is not finite."""
        if self.enabled and not self.be.all_finite(y_new):
            raise self.diagnose(step, t, y, redo)

    def diagnose(self, step, t, y, redo):
        """The NonFiniteError of step ``step`` from (t, y), found by running it again watched."""
        be, watched = self.be, []

        def watch(f):
            watched.append(_Watched(be, f))
            return watched[-1]

        with be.no_grad():
            try:
                redo(watch)
            except Exception:  # the rerun only looks for the first bad value of f; its own failure is moot
                pass
        first = next((w.first for w in watched if w.first is not None), None)
        if first is not None:
            return NonFiniteError(self.scheme, step, first[0], "f", first[1])
        return NonFiniteError(self.scheme, step, t, "state", be.maxabs(y))
