"""numnet verify: every catalog scheme's symbolic order beside its observed orders.

Writes verify.csv and verify.md (and with --plot one log-log convergence plot per scheme
under plots/) to --out; each finished scheme is appended to verify.jsonl at once, so
--resume continues an interrupted run without redoing
finished schemes. Exit status 1 when a scheme's observed order misses its symbolic order.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

from numnet.fileio import append_jsonl, atomic_write, read_jsonl, restore_non_finite, write_text
from numnet.cli import concrete_scheme_name, out_dir

NAME = "verify"
HELP = "observed vs symbolic order (and stability interval) for every catalog scheme"


def add_arguments(parser) -> None:
    parser.add_argument("names", nargs="*", type=concrete_scheme_name, metavar="NAME",
                        help="schemes to verify (default: the whole catalog)")
    parser.add_argument("--out", type=out_dir, default="report/verify", help="output folder (default: report/verify)")
    parser.add_argument("--plot", action="store_true", help="write log-log convergence plots (PNG and SVG)")
    parser.add_argument("--quick", action="store_true",
                        help="only the first of --problems (half the time; the verdict then rests on one problem)")
    parser.add_argument("--problems", type=problem_names, default="pendulum,harmonic_oscillator",
                        help="comma-separated problems of numnet.solvers.problems (default: pendulum,harmonic_oscillator)")
    parser.add_argument("--resume", action="store_true", help="reuse the schemes already in OUT/verify.jsonl")


def problem_names(text: str) -> list:
    """An argument type: comma-separated problems of numnet.solvers.problems, at least one.

    >>> problem_names("pendulum, harmonic_oscillator")
    ['pendulum', 'harmonic_oscillator']
    >>> problem_names(",")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: names no problem, got ','
    """
    import argparse

    from numnet.solvers import problems

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"names no problem, got {text!r}")
    for name in names:
        try:
            problems.get(name)
        except (ValueError, KeyError) as e:
            raise argparse.ArgumentTypeError(str(e).strip("'\"")) from None
    return names


def columns(rows) -> list:
    """The keys of all rows, in order of first appearance (rows may differ in problems)."""
    return list(dict.fromkeys(k for r in rows for k in r))


def markdown(rows) -> str:
    """A Markdown table of dict rows.

    >>> print(markdown([{"a": 1, "b": "x"}, {"a": 2, "c": 3}]))
    | a | b | c |
    |---|---|---|
    | 1 | x |  |
    | 2 |  | 3 |
    """
    from numnet.schemes.table import format_table

    return format_table(rows, columns=columns(rows), fmt="markdown")


def run(args) -> int:
    from tqdm import tqdm

    from numnet import schemes
    from numnet.solvers import problems as P
    from numnet.solvers import verify

    todo = [schemes.get(n) for n in args.names] if args.names else schemes.catalog()
    probs = [P.get(n) for n in args.problems]
    if args.quick:
        probs = probs[:1]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # The finished log stays whole until the new one is: this run appends to a partial
    # log (what --resume also reads) and moves it over verify.jsonl at the end.
    log, partial = out / "verify.jsonl", out / "verify.jsonl.partial"
    done = {}
    if args.resume:
        for path in (log, partial):
            for rec in read_jsonl(path) if path.exists() else ():
                done[rec["row"]["scheme"]] = restore_non_finite(rec)
    write_text(partial, "")
    records = []
    for s in tqdm(todo, desc="verify", file=sys.stderr):
        if s.name in done:
            rec = done[s.name]
        else:
            v = verify(s, probs)
            rec = {
                "row": v.row(), "passed": v.passed,
                "curves": [{"problem": c.problem, "hs": c.hs.tolist(), "errors": c.errors.tolist(),
                            "used": c.used.tolist(), "order": c.order} for c in v.convergences],
            }
        append_jsonl(partial, rec)  # a diverged error (inf) is marked, not refused
        records.append(rec)
    rows = [r["row"] for r in records]
    with atomic_write(out / "verify.csv") as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns(rows))
        w.writeheader()
        w.writerows(rows)
    table = markdown(rows)
    write_text(out / "verify.md", table + "\n")
    os.replace(partial, log)
    print(table)
    if args.plot:
        _plots(records, out / "plots")
    failed = [r["row"]["scheme"] for r in records if not r["passed"]]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} schemes verified; tables in {out}"
          + (f"; mismatches: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


def _plots(records, folder):
    from types import SimpleNamespace

    from numnet.plots import plot_convergence

    for rec in records:
        row = rec["row"]
        curves = [SimpleNamespace(hs=c["hs"], errors=c["errors"], used=c["used"],
                                  label=f"{c['problem']}: {c['order']:.2f}") for c in rec["curves"]]
        plot_convergence(curves, orders=[row["order"]], title=f"{row['scheme']} (order {row['order']})",
                         path=[folder / f"{row['scheme']}.{fmt}" for fmt in ("png", "svg")])
