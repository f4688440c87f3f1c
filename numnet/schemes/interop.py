"""Moving methods between numnet and nodepy, exactly.

nodepy (Ketcheson et al.) stores a Runge–Kutta method as Butcher arrays ``A, b`` (and
``bhat`` for an embedded pair; its nodes are always ``c = A·1``) and a linear multistep
method as ``alpha, beta`` oldest first, normalised to ``alpha[-1] = 1`` — numnet's own
conventions — in numpy arrays of floats or of sympy numbers. :func:`to_nodepy` hands over
numnet's exact numbers as sympy objects (nodepy's exact mode), :func:`from_nodepy` takes
nodepy's numbers back as they are: sympy numbers exactly, floats as the binary values
they hold. nodepy is imported only when these are called (it imports matplotlib).

>>> from numnet.schemes import get
>>> m = to_nodepy(get("ab3"))
>>> m.order(), from_nodepy(m).beta == get("ab3").beta
(3, True)
"""

from __future__ import annotations

import numpy as np
import sympy as sp


def to_nodepy(scheme):
    """The nodepy method with ``scheme``'s coefficients (exact sympy numbers).

    LMM → ``nodepy.linear_multistep_method.LinearMultistepMethod``; RK →
    ``RungeKuttaMethod`` / ``ExplicitRungeKuttaMethod``, or ``ExplicitRungeKuttaPair`` when
    the scheme has an embedded ``b_hat``. Free symbols must be given values first; an RK
    method whose nodes differ from ``A·1`` has no nodepy form and raises ``ValueError``.
    """
    from .base import Scheme

    if not isinstance(scheme, Scheme):
        raise TypeError(f"to_nodepy takes a numnet scheme, got {scheme!r}")
    scheme.require_concrete("the nodepy form")
    arr = lambda xs: np.array(list(xs), dtype=object)  # noqa: E731
    if scheme.kind == "LMM":
        from nodepy.linear_multistep_method import LinearMultistepMethod

        return LinearMultistepMethod(arr(scheme.alpha), arr(scheme.beta), name=scheme.name, shortname=scheme.name)
    import nodepy.runge_kutta_method as rkm

    s = scheme.stages
    rows = [sp.expand(sum(scheme.A.row(i))) for i in range(s)]
    off = [i for i in range(s) if sp.simplify(rows[i] - scheme.c[i]) != 0]
    if off:
        raise ValueError(f"{scheme.name}: nodepy takes c = A·1, but c[{off[0]}] = {scheme.c[off[0]]} while row "
                         f"{off[0]} of A sums to {rows[off[0]]}")
    A = np.array([[scheme.A[i, j] for j in range(s)] for i in range(s)], dtype=object)
    b = arr(scheme.b)
    if scheme.is_explicit and scheme.b_hat is not None:
        return rkm.ExplicitRungeKuttaPair(A, b, arr(scheme.b_hat), name=scheme.name, shortname=scheme.name)
    cls = rkm.ExplicitRungeKuttaMethod if scheme.is_explicit else rkm.RungeKuttaMethod
    return cls(A, b, name=scheme.name, shortname=scheme.name)


def from_nodepy(method, name: str | None = None):
    """The numnet scheme of a nodepy method (``LinearMultistepMethod`` or a Runge–Kutta
    method or pair), named ``name`` or nodepy's shortname.

    Exact nodepy entries stay exact; float entries keep their binary value (sympy Float,
    never rationalised); the embedded weights of a pair become ``b_hat``.
    """
    from .lmm import LinearMultistep
    from .rk import RungeKutta

    label = name or getattr(method, "shortname", None) or getattr(method, "name", None) or "nodepy"
    if hasattr(method, "alpha") and hasattr(method, "beta") and not hasattr(method, "A"):
        return LinearMultistep(_numbers(method.alpha, "alpha"), _numbers(method.beta, "beta"), name=label)
    if not (hasattr(method, "A") and hasattr(method, "b")):
        raise TypeError(f"from_nodepy takes a nodepy LinearMultistepMethod or Runge-Kutta method, got {method!r}")
    A = np.asarray(method.A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"nodepy method {label}: A must be square, got shape {A.shape}")
    b_hat = getattr(method, "bhat", None)
    return RungeKutta([_numbers(row, "A") for row in A], _numbers(method.b, "b"), name=label,
                      b_hat=None if b_hat is None else _numbers(b_hat, "bhat"))


def _numbers(values, what):
    out = []
    for v in np.asarray(values).ravel().tolist():
        if isinstance(v, sp.Basic):
            out.append(v)
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out.append(int(v))
        elif isinstance(v, (float, np.floating)):
            out.append(float(v))  # numnet's one float policy decides (coefficient())
        else:
            raise TypeError(f"nodepy {what} holds {v!r} ({type(v).__name__}); expected numbers")
    return out
