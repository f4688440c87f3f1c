"""``numnet schemes``: the catalog with every property derived from the coefficients."""

from __future__ import annotations

import csv
import io
import sys

from numnet.fileio import write_text

NAME = "schemes"
HELP = "print the scheme catalog: order, error constant, zero/absolute stability"


def add_arguments(parser) -> None:
    parser.add_argument("names", nargs="*", help="schemes to show (default: the whole catalog)")
    parser.add_argument("--format", choices=("text", "markdown", "csv"), default="text")
    parser.add_argument("--out", help="write the table to this file instead of stdout")


def run(args) -> int:
    from tqdm import tqdm

    from numnet.schemes import catalog, get
    from numnet.schemes.table import COLUMNS, format_table, properties

    try:
        schemes = [get(n) for n in args.names] if args.names else catalog()
    except ValueError as exc:
        print(f"numnet schemes: {exc}", file=sys.stderr)
        return 2
    rows = [properties(s) for s in tqdm(schemes, desc="schemes", disable=len(schemes) < 5, file=sys.stderr)]
    if args.format == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
        text = buf.getvalue()
    else:
        text = format_table(rows, fmt=args.format) + "\n"
    if args.out:
        write_text(args.out, text)  # atomically: an old table stays until the new one is whole
    else:
        sys.stdout.write(text)
    return 0
