"""Read published Runge–Kutta coefficient tables.

The format is the one of Fehlberg/Feagin/Curtis tables distributed to 60 digits: blocks
headed ``c[k]``, ``b[k]``, ``bhat[k]`` and ``A[k,j]`` with lines ``k value`` or
``k j value`` (stages numbered from 0), and optionally a closing sentence giving the error
estimate as ``(w) h ( f(ti,xi)-f(tj,xj) )``, which defines the embedded weights
b̂ = b − w(e_i − e_j). Values become sympy Floats at the digits they are printed with,
never float64. A node c_i that is not the row sum Σ_j a_ij within the data's digits is
kept as printed and named in a warning: :attr:`RungeKutta.order` counts it (Feagin's
RK14(12) table prints c[13] = 0.03921722482…, 1.55e-10 off its row sum 0.03921722466…,
which its mirror node c[25] has; as printed the pair is of order 1 on y' = f(t, y)).
"""

from __future__ import annotations

import os
import re
import warnings

import sympy as sp

from ._exact import is_zero, precision_digits
from .rk import RungeKutta

_HEADERS = {"c[k]": "c", "b[k]": "b", "bhat[k]": "bhat", "A[k,j]": "A"}
_ESTIMATE = re.compile(r"\(\s*([0-9]+)\s*/\s*([0-9]+)\s*\)\s*h\s*\(\s*f\(t(\d+),x\d+\)\s*-\s*f\(t(\d+),x\d+\)\s*\)")


def _value(text: str) -> sp.Expr:
    mantissa = text.lower().split("e")[0].lstrip("+-").replace(".", "").lstrip("0")
    if len(mantissa) < 20:  # a short decimal (0, .005859375, .9) is an exact number
        return sp.Rational(text)
    return sp.Float(text, len(mantissa))


def read_rk_table(path: str | os.PathLike, name: str | None = None) -> RungeKutta:
    """Parse a 60-digit coefficient table into a :class:`RungeKutta` pair.

    Raises ``ValueError`` naming the file and line for anything that does not parse.
    """
    path = os.fspath(path)
    name = name or os.path.splitext(os.path.basename(path))[0]
    data = {"c": {}, "b": {}, "bhat": {}, "A": {}}
    section = None
    estimate = None
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            words = line.split()
            if not words:
                continue
            if words[-1] in _HEADERS:
                section = _HEADERS[words[-1]]
                continue
            m = _ESTIMATE.search(line.replace(" ", ""))
            if m:
                estimate = (sp.Rational(int(m.group(1)), int(m.group(2))), int(m.group(3)), int(m.group(4)))
                continue
            if section is None or not words[0].lstrip("-").isdigit():
                continue
            try:
                if section == "A":
                    data["A"][(int(words[0]), int(words[1]))] = _value(words[2])
                else:
                    data[section][int(words[0])] = _value(words[1])
            except (IndexError, ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: cannot parse {section} entry {line.strip()!r}") from exc
    if not data["b"]:
        raise ValueError(f"{path}: no b[k] block found")
    s = max(data["b"]) + 1
    A = [[data["A"].get((i, j), sp.Integer(0)) for j in range(s)] for i in range(s)]
    b = [data["b"].get(i, sp.Integer(0)) for i in range(s)]
    c = [data["c"].get(i, sp.Integer(0)) for i in range(s)]
    if data["bhat"]:
        b_hat = [data["bhat"].get(i, sp.Integer(0)) for i in range(s)]
    elif estimate is not None:
        w, i, j = estimate
        b_hat = list(b)
        b_hat[i] = b_hat[i] - w
        b_hat[j] = b_hat[j] + w
    else:
        b_hat = None
    _warn_off_row_sums(path, A, c)
    return RungeKutta(A, b, c, name=name, b_hat=b_hat)


def _warn_off_row_sums(path, A, c) -> None:
    digits = precision_digits([x for row in A for x in row] + c)
    for i, (row, ci) in enumerate(zip(A, c)):
        total = sum(row, sp.Integer(0))
        if not is_zero(ci - total, digits):
            warnings.warn(
                f"{path}: c[{i}] = {sp.N(ci, 20)} is not the row sum of A ({sp.N(total, 20)}; off by "
                f"{float(sp.N(ci - total, 5)):.3g}, beyond the {digits} digits the data carry); kept as printed, "
                f"and the order counts it (pass c=None to RungeKutta for c = A·1)",
                UserWarning,
                stacklevel=3,
            )
