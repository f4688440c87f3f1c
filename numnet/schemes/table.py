"""The catalog as a table of derived properties (what ``numnet schemes`` prints).

>>> row = catalog_rows(["ab2"])[0]
>>> row["order"], row["error constant"], row["stability interval"]
(2, '5/12', '(-1, 0]')
"""

from __future__ import annotations

import sympy as sp

from ._parse import expression
from .catalog import catalog, get

COLUMNS = ("name", "kind", "steps/stages", "explicit", "order", "error constant",
           "zero-stable", "stability interval", "A-stable", "L-stable", "A(alpha)")


def format_interval(interval: sp.Set) -> str:
    """A stability interval on the negative axis: ``(a, 0]``, ``(-inf, 0]``, ``{0}`` or ``empty``.

    >>> format_interval(sp.Interval(-2, 0, left_open=True)), format_interval(sp.S.EmptySet)
    ('(-2, 0]', 'empty')
    """
    if interval is sp.S.EmptySet:
        return "empty"
    if isinstance(interval, sp.FiniteSet):
        return "{0}"
    lo = interval.inf
    if lo == -sp.oo:
        return "(-inf, 0]"
    return f"({format_number(lo)}, 0]"


def format_number(x) -> str:
    """Exact when rational or a short expression, else 6 significant digits.

    >>> format_number(sp.Rational(-5, 12)), format_number(sp.sqrt(2)), format_number(sp.sqrt(3) / 7 - sp.Rational(1, 9))
    ('-5/12', 'sqrt(2)', '0.136325')
    """
    x = expression(x, "number")
    if x.is_Rational:
        return str(x)
    if isinstance(x, sp.Float) or x.atoms(sp.CRootOf) or len(str(x)) > 14:
        return f"{float(sp.N(x, 30)):.6g}"
    return str(x)


def properties(scheme) -> dict:
    """One row of derived properties of a concrete scheme (strings for display)."""
    lmm = scheme.kind == "LMM"
    row = {
        "name": scheme.name,
        "kind": scheme.kind,
        "steps/stages": scheme.steps if lmm else scheme.stages,
        "explicit": scheme.is_explicit,
        "order": scheme.order,
        "error constant": format_number(scheme.error_constant),
        "zero-stable": scheme.is_zero_stable,
        "stability interval": format_interval(scheme.stability_interval()),
        "A-stable": scheme.is_A_stable,
        "L-stable": "" if lmm else scheme.is_L_stable,
    }
    if lmm:
        angle = scheme.stability_angle()
        row["A(alpha)"] = "none" if angle is None else f"{angle:.2f}"
    else:
        row["A(alpha)"] = "90.00" if row["A-stable"] else ""
    return row


PARTITIONED_COLUMNS = ("name", "kind", "steps/substeps", "reversible", "order", "error constant",
                       "stable for", "step bound")
"""Columns of the partitioned schemes (kick sequences and second-order multistep methods),
whose stability is a set of h²ab (or hλ) on their own test problems."""


def partitioned_properties(scheme) -> dict:
    """One row for a partitioned scheme: a kick sequence on Y' = aZ, Z' = −bY (its order is
    the linear order, stable for w = h²ab in a set) or a second-order multistep method on
    y'' = −λ²y (stable for x = hλ in a set).

    >>> from .partitioned import get as pget
    >>> row = partitioned_properties(pget("stormer_verlet"))
    >>> row["order"], row["stable for"], row["step bound"]
    (2, 'h**2*a*b in (0, 4)', '2/(sqrt(a)*sqrt(b))')
    >>> partitioned_properties(pget("stormer"))["stable for"]
    'h*lam in (0, 2)'
    """
    two_step = scheme.kind == "LMM2"
    stable = scheme.stability_set()
    var = "h*lam" if two_step else "h**2*a*b"
    if stable is sp.S.EmptySet:
        text = "never"
    elif isinstance(stable, sp.Interval) and stable.left_open and stable.right_open:
        text = f"{var} in ({format_number(stable.inf)}, {format_number(stable.sup)})"
    else:
        text = f"{var} in {stable}"
    return {
        "name": scheme.name,
        "kind": scheme.kind,
        "steps/substeps": scheme.steps if two_step else len(scheme.substeps),
        "reversible": scheme.is_reversible,
        "order": scheme.order if two_step else scheme.linear_order,
        "error constant": format_number(scheme.error_constant) if two_step else "",
        "stable for": text,
        "step bound": str(scheme.step_bound()),
    }


def catalog_rows(names=None) -> list:
    """Rows for the named schemes (default: the whole concrete catalog)."""
    schemes = catalog() if names is None else [get(n) for n in names]
    return [properties(s) for s in schemes]


def format_table(rows, columns=COLUMNS, fmt: str = "text") -> str:
    """Dict rows as an aligned text table or a Markdown table (a missing key: empty cell).

    >>> print(format_table([{"a": 1, "b": "x"}, {"a": 2}], columns=["a", "b"], fmt="markdown"))
    | a | b |
    |---|---|
    | 1 | x |
    | 2 |  |
    """
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    if fmt != "text":
        raise ValueError(f"fmt must be 'text' or 'markdown', got {fmt!r}")
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])
