"""numnet report: rebuild the scheme table, the scipy checks and a small training study
into one folder of Markdown and PNG figures."""

from __future__ import annotations

import sys

from numnet.cli import add_data_options, device, integer, out_dir

NAME = "report"
HELP = ("write a report folder: scheme table, every scheme verified against scipy, scheme nets trained briefly "
        "(measured on 2 CPU cores: 4.4 minutes idle, 9 when shared with other jobs; --quick about 1)")


def _parts(text: str) -> list:
    """An argument type: comma-separated parts of the report, at least one, each known."""
    import argparse

    from numnet.study.report import PARTS

    parts = [x.strip() for x in text.split(",") if x.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"parts must be among {', '.join(PARTS)}, got {text!r}")
    return parts


def add_arguments(p) -> None:
    from numnet.study.report import PARTS

    p.add_argument("--out", type=out_dir, default="report", help="report folder (default: %(default)s)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="about 1 minute on 2 idle CPU cores: 5 schemes verified, 4 nets of depth 20, one epoch "
                           "on 2000 images (default: 4.4 minutes measured on 2 idle cores: every catalog scheme "
                           "verified, 5 nets of depth 20, 2 epochs on 10,000 images)")
    size.add_argument("--full", action="store_true",
                      help="the paper grid: 8 nets x depths 20-56 x 3 seeds, 160 epochs (for GPUs)")
    p.add_argument("--parts", type=_parts, default=None,
                   help=f"comma-separated parts among {','.join(PARTS)} (default: all; a named part that cannot "
                        f"run makes the exit status 1)")
    add_data_options(p, limit=False, val_split=False, what="training part")
    p.add_argument("--device", type=device, default="auto", help="cpu, cuda, cuda:N or auto (default: %(default)s)")
    p.add_argument("--threads", type=integer(1), default=None,
                   help="torch math threads (default: the cores not already busy; on a machine shared with other "
                        "jobs, 1)")
    p.add_argument("--fp32", action="store_true",
                   help="train without the fast paths (default: bf16 autocast where the CPU/GPU computes bf16 "
                        "natively, channels-last)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    from numnet.train.lock import RunLocked
    from numnet.study.report import build_report

    mode = "quick" if args.quick else "full" if args.full else "default"
    try:
        sections, code = build_report(args.out, mode=mode, parts=args.parts, data=args.data, data_root=args.data_dir,
                                      download=args.download, device=args.device, progress=not args.no_progress,
                                      threads=args.threads, fast=not args.fp32, argv=sys.argv[2:])
    except (FloatingPointError, RunLocked) as e:  # a run diverged, or its directory is in use
        print(f"numnet report: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/report.md")
    for s in sections:
        if s.status != "ok":
            print(f"  {s.part}: {s.status} — {s.body.splitlines()[0]}", file=sys.stderr)
    return code
