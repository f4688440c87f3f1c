"""numnet schemes: the catalog with every property derived from the coefficients.

A family (a scheme with free parameters, such as lm_resnet's k) has no single order or
stability interval; it is shown with the conditions on its parameters instead: where it
is zero-stable, and which order it reaches under which values.
"""

from __future__ import annotations

import csv
import io
import sys

from numnet.fileio import write_text
from numnet.cli import out_file, scheme_name

NAME = "schemes"
HELP = "print the scheme catalog: order, error constant, zero/absolute stability (families: conditions)"

FAMILY_COLUMNS = ("name", "kind", "steps/stages", "explicit", "free", "zero-stable", "order")
MAX_ORDER = 8  # the highest order a family is asked for


def add_arguments(parser) -> None:
    parser.add_argument("names", nargs="*", type=scheme_name, metavar="NAME",
                        help="schemes to show (default: the whole catalog, then the families)")
    parser.add_argument("--format", choices=("text", "markdown", "csv"), default="text")
    parser.add_argument("--out", type=out_file, help="write the table to this file instead of stdout")


def _condition(cond, symbols) -> str:
    """A zero-stability condition as text: ``k in (-1, 1]``, ``always``.

    >>> import sympy as sp
    >>> k = sp.Symbol("k")
    >>> _condition(sp.Interval.Lopen(-1, 1), [k]), _condition(sp.S.Reals, [k])
    ('k in (-1, 1]', 'always')
    """
    import sympy as sp

    if cond is True or cond == sp.S.Reals or cond is sp.true:
        return "always"
    if cond is False or cond is sp.S.EmptySet or cond is sp.false:
        return "never"
    if isinstance(cond, sp.Interval) and len(symbols) == 1:
        lo = "(" if cond.left_open else "["
        hi = ")" if cond.right_open else "]"
        return f"{symbols[0]} in {lo}{cond.start}, {cond.end}{hi}"
    return str(cond)


def family_order(scheme) -> str:
    """The order of a family as a function of its free parameters: for each order p it can
    reach, the parameter values that give it (solving the order conditions exactly).

    >>> from numnet.schemes import get
    >>> family_order(get("lm_resnet"))
    '1 if k = 0; else 0'
    >>> family_order(get("adams2_learnable"))
    '2 if b1 = 3/2; else 1'
    """
    import sympy as sp

    symbols = sorted(scheme.free_symbols, key=str)
    reached, general = [], None
    for p in range(1, MAX_ORDER + 1):
        conds = [c for c in scheme.order_conditions(p) if c is not True and c is not sp.true]
        if any(c is False or c is sp.false for c in conds):
            break
        if not conds:
            general = p  # every member has order p
            continue
        solutions = sp.solve(conds, symbols, dict=True)
        if not solutions:
            break
        reached.append((p, solutions))
    general = general or 0
    parts = [f"{p} if " + " or ".join(", ".join(f"{s} = {v}" for s, v in sorted(sol.items(), key=str))
                                      for sol in solutions) for p, solutions in reversed(reached)]
    return "; ".join(parts + [f"else {general}"]) if parts else str(general)


def family_properties(scheme) -> dict:
    """One row for a family: its free parameters and the conditions on them."""
    lmm = scheme.kind == "LMM"
    symbols = sorted(scheme.free_symbols, key=str)
    return {
        "name": scheme.name,
        "kind": scheme.kind,
        "steps/stages": scheme.steps if lmm else scheme.stages,
        "explicit": scheme.is_explicit,
        "free": ", ".join(map(str, symbols)),
        "zero-stable": _condition(scheme.zero_stability_condition(), symbols) if lmm else "always",
        "order": family_order(scheme),
    }


def run(args) -> int:
    from tqdm import tqdm

    from numnet.schemes import catalog, get, partitioned
    from numnet.schemes.table import COLUMNS, PARTITIONED_COLUMNS, format_table, partitioned_properties, properties

    if args.names:
        chosen = [get(n) for n in args.names]
    else:
        chosen = catalog(include_families=True) + [partitioned.get(n) for n in partitioned.names()]
    split = [s for s in chosen if s.kind in ("partitioned", "LMM2")]
    one_kind = [s for s in chosen if s.kind not in ("partitioned", "LMM2")]
    concrete = [s for s in one_kind if not s.free_symbols]
    families = [s for s in one_kind if s.free_symbols]
    tables = []
    if concrete:
        rows = [properties(s) for s in tqdm(concrete, desc="schemes", disable=len(concrete) < 5, file=sys.stderr)]
        tables.append((COLUMNS, rows))
    TITLES = {COLUMNS: "Schemes", FAMILY_COLUMNS: "Families (free parameters: conditions, not values)",
              PARTITIONED_COLUMNS: "Partitioned schemes (Y' = aZ, Z' = -bY; y'' = -lam^2 y)"}
    if families:
        tables.append((FAMILY_COLUMNS, [family_properties(s) for s in families]))
    if split:
        tables.append((PARTITIONED_COLUMNS, [partitioned_properties(s) for s in split]))
    out = io.StringIO()
    if args.format == "csv":  # one table: the columns of both, a family's conditions in its cells
        columns = list(dict.fromkeys(c for cols, _ in tables for c in cols))
        w = csv.DictWriter(out, fieldnames=columns)
        w.writeheader()
        for _, rows in tables:
            w.writerows(rows)
    else:
        titles = len(tables) > 1
        for i, (columns, rows) in enumerate(tables):
            if titles:
                print(("" if i == 0 else "\n") + TITLES[columns], file=out)
            print(format_table(rows, columns=columns, fmt=args.format), file=out)
    if args.out:
        write_text(args.out, out.getvalue())  # atomically: an old table stays until the new one is whole
    else:
        sys.stdout.write(out.getvalue())
    return 0
