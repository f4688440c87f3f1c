"""``numnet report``: rebuild the scheme table, the scipy checks and a small training study
into one folder of Markdown and PNG figures."""

from __future__ import annotations

import sys

NAME = "report"
HELP = "write a report folder: scheme table, verification against scipy, scheme nets trained briefly"


def add_arguments(p) -> None:
    from numnet.study.report import PARTS

    p.add_argument("--out", default="report", help="report folder (default: %(default)s)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="a couple of minutes on a CPU: 4 nets of depth 20, one epoch on 2000 images")
    size.add_argument("--full", action="store_true",
                      help="the paper grid: 8 nets x depths 20-56 x 3 seeds, 160 epochs (for GPUs)")
    p.add_argument("--parts", default=None,
                   help=f"comma-separated parts among {','.join(PARTS)} (default: all; a named part that cannot "
                        f"run makes the exit status 1)")
    p.add_argument("--data", default="fashion_mnist", help="data set for the training part (default: %(default)s)")
    p.add_argument("--data-root", default=None, help="folder holding the data files (default: the loader's search)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    from numnet.study.report import build_report

    mode = "quick" if args.quick else "full" if args.full else "default"
    parts = None if args.parts is None else [x.strip() for x in args.parts.split(",") if x.strip()]
    try:
        sections, code = build_report(args.out, mode=mode, parts=parts, data=args.data, data_root=args.data_root,
                                      device=args.device, progress=not args.no_progress, argv=sys.argv[2:])
    except ValueError as e:
        print(f"numnet report: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}/report.md")
    for s in sections:
        if s.status != "ok":
            print(f"  {s.part}: {s.status} — {s.body.splitlines()[0]}", file=sys.stderr)
    return code
