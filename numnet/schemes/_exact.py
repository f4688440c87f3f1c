"""Exact-number helpers shared by every scheme: input checking, zero tests, precision.

Coefficients are sympy expressions: Rationals and algebraic numbers where the math is
exact, ``Float`` only where the user gave floats (a learned ``k``, 60-digit published
data). Whether a number "is zero" is then decided exactly for exact numbers and, for
floats, against a tolerance tied to the precision the floats carry.
"""

from __future__ import annotations

import fractions
import math
import numbers

import mpmath
import sympy as sp

from ._parse import parse_number


def coefficient(value, what: str) -> sp.Expr:
    """Return ``value`` as a sympy number or expression, or raise ``TypeError`` (a wrong
    type) or ``NumberSyntaxError`` (a string that is not a number).

    numnet's one float policy, for coefficients a user types and for values numnet
    produces itself (a learned ``k`` in a step scheme, a net's step size): a float —
    Python, NumPy, or a one-element NumPy/torch array — is the binary number it stores
    and becomes a sympy ``Float`` holding exactly that value (53 bits; never rounded to
    decimal digits, never replaced by a "nicer" rational), judged at the precision it
    carries (:func:`is_zero`). Ints and Fractions become exact Rationals. Strings are read by
    :func:`~numnet.schemes._parse.parse_number` (numbers, ``sqrt``, symbol names; never
    evaluated as code; a decimal keeps the digits it has), raising
    :class:`~numnet.schemes._parse.NumberSyntaxError`. Non-finite values are refused;
    sympy expressions pass through.

    >>> coefficient("3/2", "beta[0]"), coefficient(0.5, "k"), sp.Rational(coefficient(0.1, "k")) == sp.Rational(0.1)
    (3/2, 0.500000000000000, True)
    >>> coefficient([1], "beta[0]")
    Traceback (most recent call last):
    ...
    TypeError: beta[0] must be a number or sympy expression, got [1] (list)
    >>> coefficient(float("nan"), "k")
    Traceback (most recent call last):
    ...
    ValueError: k must be finite, got nan
    """
    if isinstance(value, sp.Basic):
        if not isinstance(value, sp.Expr):
            raise TypeError(f"{what} must be a sympy expression, got {value!r}")
        return value
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a number or sympy expression, got {value!r} (bool)")
    if isinstance(value, fractions.Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, str):  # read, never evaluated
        return parse_number(value, what)
    value = _scalar(value)
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"{what} must be finite, got {x!r}")
        return sp.Float(x)
    if isinstance(value, numbers.Number):
        try:
            return sp.sympify(value, strict=True)  # strict: no detour through str(value)
        except sp.SympifyError:
            raise TypeError(f"{what} must be a number or sympy expression, got {value!r} ({type(value).__name__})") from None
    raise TypeError(f"{what} must be a number or sympy expression, got {value!r} ({type(value).__name__})")


def _scalar(value):
    """A one-element NumPy or torch array as the Python number it holds (duck typed: no
    torch import); anything else unchanged."""
    if isinstance(value, numbers.Number) or not hasattr(value, "item"):
        return value
    n = value.numel() if hasattr(value, "numel") else getattr(value, "size", None)
    return value.item() if n == 1 else value


def precision_digits(exprs) -> int | None:
    """Smallest decimal precision among the ``Float`` atoms of ``exprs`` (None if exact).

    >>> precision_digits([sp.Rational(1, 3), sp.Float("0.1", 30)])
    30
    >>> precision_digits([sp.Rational(1, 3)]) is None
    True
    """
    digits = None
    for e in exprs:
        for f in sp.sympify(e).atoms(sp.Float):
            d = dps(f)
            digits = d if digits is None else min(digits, d)
    return digits


def tolerance(digits: int | None) -> float:
    """Zero tolerance for numbers carrying ``digits`` decimal digits (0 for exact).

    Three quarters of the digits: 15-digit floats give 1e-11, 60-digit data 1e-45 — far
    below any residual of a condition that truly fails, far above rounding.

    >>> tolerance(None), tolerance(16)
    (0, 1e-12)
    """
    return 0 if digits is None else 10.0 ** (-(3 * digits // 4))


def is_zero(expr, digits: int | None = None):
    """Three-valued zero test: True, False, or None when free symbols decide it.

    >>> k = sp.Symbol("k")
    >>> is_zero(sp.sqrt(2) ** 2 - 2), is_zero(k - k), is_zero(k) is None
    (True, True, True)
    >>> is_zero(sp.Float("1e-17"), 15), is_zero(sp.Float("1e-17", 30))
    (True, False)
    """
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    if expr.free_symbols:
        simplified = sp.simplify(expr)
        if simplified == 0:
            return True
        return None
    if digits is None:
        digits = precision_digits([expr])
    if digits is None:
        z = expr.equals(0)
        if z is None:  # undecidable symbolically: decide numerically at high precision
            return abs(sp.N(expr, 50)) < sp.Float("1e-40")
        return bool(z)
    return bool(abs(sp.N(expr, digits)) <= tolerance(digits))


def dps(f: sp.Float) -> int:
    """Decimal digits carried by a sympy Float.

    >>> dps(sp.Float("0.1", 60))
    60
    """
    return mpmath.libmp.prec_to_dps(f._prec)


def short(value: sp.Expr) -> str:
    """A coefficient value as a label: a float (a sympy ``Float``) to 4 significant digits,
    an exact number or expression exactly.

    >>> short(sp.Float(0.0905335322022438)), short(sp.Rational(-1, 4)), short(sp.sqrt(2) / 2)
    ('0.09053', '-1/4', 'sqrt(2)/2')
    """
    if isinstance(value, sp.Float):
        return format(float(value), ".4g")
    return str(value)
