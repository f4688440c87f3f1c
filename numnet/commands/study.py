"""numnet study: train a grid of scheme nets and write the table and figures."""

from __future__ import annotations

import argparse
import sys

from numnet.cli import add_data_options, add_speed_options, device, integer, out_dir, speed_options, user_errors

NAME = "study"
HELP = "train a grid of scheme nets (resumable, shardable) and write the accuracy-vs-properties table"


def _ints(text: str) -> list:
    """An argument type: comma-separated positive integers.

    >>> _ints("20, 32")
    [20, 32]
    >>> _ints("20,x")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected comma-separated integers >= 0, got '20,x'
    """
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 0, got {text!r}")
    return values


def _shard(text: str) -> str:
    """An argument type: ``I/N`` (numnet.study.parse_shard says what is valid)."""
    from numnet.study import parse_shard

    try:
        parse_shard(text)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def add_arguments(p) -> None:
    from numnet.study import PAPER_ARCHS

    p.add_argument("--out", type=out_dir, required=True,
                   help="study folder: runs/ (one record per run), train/, table.*, *.png")
    p.add_argument("--archs", default=",".join(PAPER_ARCHS),
                   help="comma-separated architectures: catalog schemes (resnet, lm_resnet, adams2_learnable, heun, "
                        "...) or net:scheme (default: %(default)s)")
    p.add_argument("--depths", type=_ints, default="20,32", help="comma-separated depths (default: %(default)s)")
    p.add_argument("--seeds", type=_ints, default="0,1,2", help="comma-separated seeds (default: %(default)s)")
    add_data_options(p, what="grid")
    p.add_argument("--recipe", default=None, help="recipe name (default: the paper's for the data set)")
    p.add_argument("--epochs", type=integer(1), default=None, help="epochs (the schedule is scaled to fit)")
    p.add_argument("--batch-size", type=integer(1), default=None, help="batch size (default: the recipe's)")
    p.add_argument("--device", type=device, default="auto", help="cpu, cuda, cuda:N or auto (default: %(default)s)")
    p.add_argument("--spectra", type=integer(0), default=0, metavar="N",
                   help="store per-block Jacobian spectra at N test images (default: off)")
    p.add_argument("--shard", type=_shard, default=None, metavar="I/N",
                   help="run only every N-th run starting at I (0-based)")
    p.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                   help="merge the records of these study folders into --out, then write the table (no training)")
    p.add_argument("--table-only", action="store_true", help="write the table and figures from --out's records")
    p.add_argument("--paper-table", action="store_true",
                   help="write paper_table.md/.csv from --out's records: numnet's test errors in the papers' layout "
                        "(models x depths 20/32/44/56) beside the published CIFAR-10 values (no training)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_speed_options(p)


def _check_nets(runs, data: str) -> None:
    """Build each architecture at each depth once for the data set's image shape, so a
    depth a net does not have is refused before any data is read or any run trained."""
    from numnet import nets
    from numnet.data.sets import channels_and_classes

    in_channels, num_classes = channels_and_classes(data)
    seen = set()
    for run in runs:
        if (run.arch, run.depth) in seen:
            continue
        seen.add((run.arch, run.depth))
        with user_errors(f"--archs {run.arch} --depths {run.depth}"):
            nets.build(run.net, run.depth, num_classes=num_classes, in_channels=in_channels, **run.build_options())


def run(args) -> int:
    from numnet.train.lock import RunLocked
    from numnet import study
    from numnet.study.wiring import load_data, make_recipe

    if args.paper_table:
        with user_errors("--paper-table"):
            paths = study.write_paper_outputs(args.out)
        print("\n".join(f"wrote {p}" for p in paths.values()))
        return 0
    if args.merge or args.table_only:
        with user_errors("--merge" if args.merge else "--table-only"):  # e.g. no finished runs there
            paths = study.write_outputs(args.out, *(args.merge or ()))
        print("\n".join(f"wrote {p}" for p in paths.values()))
        return 0
    with user_errors("recipe"):
        recipe = make_recipe(args.recipe, args.data, args.epochs, args.batch_size)
    with user_errors("--archs"):  # every architecture is checked before any training
        runs = study.plan(args.archs.split(","), args.depths, args.seeds)
    _check_nets(runs, args.data)
    try:
        result = study.study(
            args.archs.split(","), args.depths, args.seeds, args.out,
            data=lambda: load_data(args.data, root=args.data_dir, train_size=args.limit_train,
                                   val_split=args.val_split, download=args.download),
            recipe=recipe, shard_of=args.shard, spectra_samples=args.spectra, progress=not args.no_progress,
            train_options={"device": args.device, "progress": not args.no_progress, **speed_options(args)},
        )
    except (FloatingPointError, RunLocked) as e:  # a run diverged, or its directory is in use
        print(f"numnet study: {e}", file=sys.stderr)
        return 1
    if args.shard:
        print(f"shard {args.shard}: {len(result)} runs finished under {args.out}; merge the shards with "
              f"numnet study --out DEST --merge DIR ...")
    else:
        print(f"wrote {args.out}/table.md, table.csv, table.json and figures")
    return 0
