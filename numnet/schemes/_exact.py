"""Exact-number helpers shared by every scheme: input checking, zero tests, precision.

Coefficients are sympy expressions: Rationals and algebraic numbers where the math is
exact, ``Float`` only where the user gave floats (a learned ``k``, 60-digit published
data). Whether a number "is zero" is then decided exactly for exact numbers and, for
floats, against a tolerance tied to the precision the floats carry. Questions whose answer
must not depend on a tolerance (zero stability) read a Float as what it is, an exact
binary fraction (:func:`exact`). NaN and infinities never enter a scheme
(:func:`coefficient` rejects them).
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
    :class:`~numnet.schemes._parse.NumberSyntaxError`. Non-finite values (also inside an
    expression) raise ``ValueError`` naming the slot; sympy expressions pass through.

    >>> coefficient("3/2", "beta[0]"), coefficient(0.5, "k"), sp.Rational(coefficient(0.1, "k")) == sp.Rational(0.1)
    (3/2, 0.500000000000000, True)
    >>> coefficient([1], "beta[0]")
    Traceback (most recent call last):
    ...
    TypeError: beta[0] must be a number or sympy expression, got [1] (list)
    >>> coefficient(float("nan"), "alpha[1]")
    Traceback (most recent call last):
    ...
    ValueError: alpha[1] must be finite, got nan
    """
    return _finite(_coefficient(value, what), value, what)


_NONFINITE = (sp.nan, sp.oo, -sp.oo, sp.zoo)


def _finite(expr: sp.Expr, given, what: str) -> sp.Expr:
    if expr.has(*_NONFINITE):
        raise ValueError(f"{what} must be finite, got {given!r}")
    return expr


def _coefficient(value, what: str) -> sp.Expr:
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


def exact(expr) -> sp.Expr:
    """``expr`` with every ``Float`` replaced by the binary fraction it stores, exactly.

    A Float is mantissa·2^exponent; this reads those two integers (sympy.nsimplify or a
    decimal string would give a different, "nicer" number).

    >>> exact(sp.Float(0.1)), exact(sp.Float(-1.5) * sp.Symbol("k"))
    (3602879701896397/36028797018963968, -3*k/2)
    """
    expr = sp.sympify(expr)
    floats = expr.atoms(sp.Float)
    return expr.xreplace({f: _float_rational(f) for f in floats}) if floats else expr


def _float_rational(f: sp.Float) -> sp.Rational:
    sign, man, exp, _ = f._mpf_
    man = -man if sign else man
    return sp.Integer(man * 2**exp) if exp >= 0 else sp.Rational(man, 2**-exp)


def substitute(expr: sp.Expr, mapping: dict) -> sp.Expr:
    """``expr.subs(mapping)`` without rounding: Floats (in the values or in ``expr``)
    enter as their exact binary fractions, and a numeric result is a Float again only
    where a Float of that precision holds it exactly — otherwise the exact Rational.

    Float arithmetic would round k − 1 for k = −0.999 and so move LM-ResNet's root
    ρ(1) = 0 off the unit circle; here ρ(1) = 0 stays exact.

    >>> k = sp.Symbol("k")
    >>> substitute(-k, {k: sp.Float(-0.5)}), substitute(k - 1, {k: sp.Float(-0.1)})
    (0.500000000000000, -39631676720860365/36028797018963968)
    """
    used = {s: v for s, v in mapping.items() if s in expr.free_symbols}
    if not used:
        return expr
    keys = list(used)
    return exactly(lambda e, *vals: e.subs(dict(zip(keys, vals))), expr, *used.values())


def exactly(fn, *exprs) -> sp.Expr:
    """``fn(*exprs)`` computed on the exact values of the Floats in ``exprs``; a rational
    result is a Float again (at the largest precision given) where that holds it exactly.

    >>> exactly(lambda a, b: a / b, sp.Integer(3), sp.Float(2.0)), exactly(lambda a: a / 3, sp.Float(1.0))
    (1.50000000000000, 1/3)
    """
    precs = [f._prec for e in exprs for f in sp.sympify(e).atoms(sp.Float)]
    if not precs:
        return fn(*exprs)
    out = fn(*[exact(e) for e in exprs])
    return _as_float(out, max(precs)) if out.is_Rational else out


def _as_float(r: sp.Rational, prec: int) -> sp.Expr:
    """``r`` as a Float of ``prec`` bits when that holds it exactly, else ``r`` itself."""
    p, q = int(r.p), int(r.q)
    if q & (q - 1):  # not a binary fraction
        return r
    odd = abs(p) >> ((abs(p) & -abs(p)).bit_length() - 1) if p else 0
    return sp.Float(r, precision=prec) if odd.bit_length() <= prec else r


def short(value: sp.Expr) -> str:
    """A coefficient value as a label: a float (a sympy ``Float``) to 4 significant digits,
    an exact number or expression exactly.

    >>> short(sp.Float(0.0905335322022438)), short(sp.Rational(-1, 4)), short(sp.sqrt(2) / 2)
    ('0.09053', '-1/4', 'sqrt(2)/2')
    """
    if isinstance(value, sp.Float):
        return format(float(value), ".4g")
    return str(value)
