"""Numbers as text, both ways, without ever evaluating the text.

:func:`number_text` writes a coefficient (exact or ``Float``) as a short string and
:func:`parse_number` reads it back to the identical sympy object. The reader walks the
syntax tree of the string and accepts only numbers, ``+ - * / **``, parentheses, a few
named functions and symbol names, building sympy objects directly: nothing is passed to
``eval``, ``sympify`` or ``parse_expr``, so a string from a file or an argument cannot
run code.

>>> parse_number("-1/2 + sqrt(15)/10")
-1/2 + sqrt(15)/10
>>> parse_number("__import__('os').getpid()", "alpha[0]")
Traceback (most recent call last):
...
numnet.schemes._parse.NumberSyntaxError: alpha[0]: cannot read "__import__('os').getpid()" as a number: __import__('os').getpid is not one of the functions sqrt, Rational, Integer, Float, CRootOf. Accepted: ...
"""

from __future__ import annotations

import ast
import re

import mpmath
import sympy as sp
from sympy.printing.str import StrPrinter

__all__ = ["NumberSyntaxError", "parse_number", "number_text", "expression"]

ACCEPTED = ("integers, decimals (0.5, 1e-3), + - * / ** and parentheses, sqrt(x), Rational(p, q), "
            "Float('digits', precision=bits), CRootOf(polynomial, index) and symbol names like k")
MAX_LENGTH = 100_000  # characters: far above any coefficient numnet writes
MAX_EXPONENT = 1000  # |p| and |q| of a numeric power p/q: no 9**9**9 that never finishes
MAX_BITS = 1 << 17  # of an exact power
MAX_DEGREE = 50  # of a CRootOf polynomial
NOT_FINITE = {"nan", "inf", "infinity", "oo", "zoo"}
CONSTANTS = {"pi": sp.pi, "E": sp.E, "I": sp.I}
_DECIMAL = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class NumberSyntaxError(ValueError):
    """A string that is not a number in the grammar :func:`parse_number` accepts."""


def parse_number(text: str, what: str = "value", symbols=None) -> sp.Expr:
    """The sympy number or expression written in ``text``; ``what`` names where the text
    came from (a coefficient slot, a file) for the error message.

    Decimals keep the precision their digits carry (as ``sympy.Float(text)`` does);
    ``symbols`` (names) restricts which symbol names may appear (default: any plain name).

    >>> parse_number("3/2"), parse_number("sqrt(2)/2"), parse_number("1 - k", symbols={"k"})
    (3/2, sqrt(2)/2, 1 - k)
    >>> parse_number("Float('0.1', precision=100)")._prec
    100
    >>> parse_number("().__class__", "A[0][1]")
    Traceback (most recent call last):
    ...
    numnet.schemes._parse.NumberSyntaxError: A[0][1]: cannot read '().__class__' as a number: attribute access is not allowed. Accepted: ...
    """
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a string to parse, got {type(text).__name__}")
    try:
        if len(text) > MAX_LENGTH:
            raise _Reject(f"longer than {MAX_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
            raise _Reject(f"not an expression ({type(exc).__name__})") from None
        return _Reader(text.strip(), symbols).expr(tree.body)
    except _Reject as exc:
        raise NumberSyntaxError(f"{what}: cannot read {_shown(text)} as a number: {exc}. Accepted: {ACCEPTED}") from None
    except RecursionError:
        raise NumberSyntaxError(f"{what}: cannot read {_shown(text)} as a number: nested too deeply. "
                                f"Accepted: {ACCEPTED}") from None


def _shown(text: str, most: int = 200) -> str:
    """``repr(text)``, cut to ``most`` characters for an error message."""
    return repr(text) if len(text) <= most else f"{text[:most]!r}... ({len(text)} characters)"


def expression(value, what: str = "value"):
    """``value`` as a sympy object where ``sympify`` would be used on input: a string is
    read by :func:`parse_number`, anything else converted with ``sympify(strict=True)``
    (which never turns an object into a string to evaluate).

    >>> expression("x**2 - 1"), expression(0.5)
    (x**2 - 1, 0.500000000000000)
    >>> expression("exec('1')", "f")
    Traceback (most recent call last):
    ...
    numnet.schemes._parse.NumberSyntaxError: f: cannot read "exec('1')" as a number: exec is not one of the functions ...
    """
    if isinstance(value, str):
        return parse_number(value, what)
    try:
        return sp.sympify(value, strict=True)
    except sp.SympifyError:
        raise TypeError(f"{what} must be a sympy expression or a number, got {value!r} ({type(value).__name__})") from None


class _Reject(Exception):
    pass


class _Reader:
    """Builds a sympy object from the whitelisted nodes of a parsed expression."""

    BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
              ast.Div: lambda a, b: a / b}
    FUNCTIONS = ("sqrt", "Rational", "Integer", "Float", "CRootOf")

    def __init__(self, source: str, symbols):
        self.source, self.symbols = source, None if symbols is None else {str(s) for s in symbols}

    def expr(self, node) -> sp.Expr:
        if isinstance(node, ast.Constant):
            return self.literal(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x = self.expr(node.operand)
            return -x if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.BinOp) and type(node.op) in self.BINARY:
            return self.BINARY[type(node.op)](self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.power(self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            raise _Reject("attribute access is not allowed")
        raise _Reject(f"{type(node).__name__} ({ast.get_source_segment(self.source, node)!r}) is not allowed")

    def literal(self, node) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Reject(f"{value!r} is not a number")
        text = ast.get_source_segment(self.source, node)
        if text is None or not _DECIMAL.fullmatch(text):  # no 0x10, 1_000
            raise _Reject(f"{text!r} is not a plain decimal")
        if isinstance(value, int):
            return sp.Integer(value)
        return sp.Float(text)  # the precision its digits carry, as sympy reads it

    def power(self, base, exponent) -> sp.Expr:
        if not exponent.free_symbols:
            if not (exponent.is_Rational or exponent.is_Float):
                raise _Reject(f"only rational or decimal exponents are allowed, got {exponent}")
            if exponent.is_Rational and max(abs(exponent.p), abs(exponent.q)) > MAX_EXPONENT or abs(exponent) > MAX_EXPONENT:
                raise _Reject(f"the exponent {_shown(str(exponent), 40)} is too large (at most {MAX_EXPONENT})")
            if base.is_Rational and exponent.is_Rational:
                bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(exponent.p)
                if bits > MAX_BITS:
                    raise _Reject(f"a power of {_shown(str(base), 40)} to {exponent} has more than {MAX_BITS} bits")
        return base ** exponent

    def name(self, name: str) -> sp.Expr:
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name.lower() in NOT_FINITE:
            raise _Reject(f"{name} is not a finite number")
        if name in self.FUNCTIONS:
            raise _Reject(f"{name} must be called")
        if not _NAME.fullmatch(name):
            raise _Reject(f"{name!r} is not a symbol name (names start with a letter)")
        if self.symbols is not None and name not in self.symbols:
            raise _Reject(f"unknown symbol {name!r} (known: {', '.join(sorted(self.symbols)) or 'none'})")
        return sp.Symbol(name)

    def call(self, node) -> sp.Expr:
        f = node.func.id if isinstance(node.func, ast.Name) else None
        if f not in self.FUNCTIONS:
            shown = f if f is not None else ast.get_source_segment(self.source, node.func)
            raise _Reject(f"{shown} is not one of the functions {', '.join(self.FUNCTIONS)}")
        keywords = {k.arg: k.value for k in node.keywords}
        if None in keywords or set(keywords) - ({"precision"} if f == "Float" else set()):
            raise _Reject(f"{f} takes no keyword {', '.join(str(k) for k in keywords)}")
        args = node.args
        if f == "Float":
            if len(args) != 1 or not (isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)):
                raise _Reject("Float takes one quoted decimal, Float('0.1', precision=bits)")
            digits = args[0].value
            if not _DECIMAL.fullmatch(digits.lstrip("-")):
                raise _Reject(f"Float({digits!r}): not a plain decimal")
            if "precision" not in keywords:
                return sp.Float(digits)
            bits = self.integer(keywords["precision"], "precision")
            if not 1 <= bits <= 100_000:
                raise _Reject(f"Float precision must be 1..100000 bits, got {bits}")
            return sp.Float(digits, precision=bits)
        if f == "sqrt":
            if len(args) != 1:
                raise _Reject("sqrt takes one argument")
            return sp.sqrt(self.expr(args[0]))
        if f == "Integer":
            if len(args) != 1:
                raise _Reject("Integer takes one integer")
            return sp.Integer(self.integer(args[0], "Integer"))
        if f == "Rational":
            if len(args) != 2:
                raise _Reject("Rational takes two integers, Rational(p, q)")
            p, q = (self.integer(a, "Rational") for a in args)
            if q == 0:
                raise _Reject("Rational(p, 0) has a zero denominator")
            return sp.Rational(p, q)
        if len(args) != 2:  # CRootOf
            raise _Reject("CRootOf takes a polynomial and an index, CRootOf(x**3 - x - 1, 0)")
        poly, index = self.expr(args[0]), self.integer(args[1], "CRootOf index")
        if len(poly.free_symbols) != 1 or not poly.is_polynomial() or sp.degree(poly) > MAX_DEGREE:
            raise _Reject(f"CRootOf needs a polynomial in one symbol of degree at most {MAX_DEGREE}, got {poly}")
        try:
            return sp.CRootOf(poly, index)
        except (IndexError, ValueError, NotImplementedError, sp.PolynomialError) as exc:
            raise _Reject(f"CRootOf({poly}, {index}): {exc}") from None

    def integer(self, node, what: str) -> int:
        negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        inner = node.operand if negative else node
        if not (isinstance(inner, ast.Constant) and type(inner.value) is int):
            raise _Reject(f"{what} needs a literal integer, got {ast.get_source_segment(self.source, node)!r}")
        return -inner.value if negative else inner.value


class _Printer(StrPrinter):
    """sympy's ``str``, but a ``Float`` carries its exact value and precision."""

    def _print_Float(self, expr):
        short = super()._print_Float(expr)
        if _DECIMAL.fullmatch(short.lstrip("-")) and sp.Float(short) == expr:  # same value and precision
            return short
        digits = mpmath.libmp.to_str(expr._mpf_, mpmath.libmp.repr_dps(expr._prec))
        return f"Float('{digits}', precision={expr._prec})"


def number_text(x) -> str:
    """``x`` (a sympy number or expression) as text that :func:`parse_number` reads back
    to an identical object: exact numbers as sympy prints them, Floats with their
    precision.

    >>> number_text(sp.sqrt(2) / 2), number_text(sp.Float("0.1", 30) * sp.sqrt(2))
    ('sqrt(2)/2', "Float('0.100000000000000000000000000000008', precision=103)*sqrt(2)")
    >>> x = sp.Float("0.1", 60); parse_number(number_text(x)) == x
    True
    """
    return _Printer().doprint(x)
