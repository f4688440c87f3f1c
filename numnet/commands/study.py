"""``numnet study``: train a grid of scheme nets and write the table and figures."""

from __future__ import annotations

import sys

NAME = "study"
HELP = "train a grid of scheme nets (resumable, shardable) and write the accuracy-vs-properties table"


def _ints(text: str) -> list:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"expected comma-separated integers, got {text!r}") from None


def add_arguments(p) -> None:
    from numnet.study import PAPER_ARCHS

    p.add_argument("--out", required=True, help="study folder: runs/ (one record per run), train/, table.*, *.png")
    p.add_argument("--archs", default=",".join(PAPER_ARCHS),
                   help="comma-separated architectures: catalog schemes (resnet, lm_resnet, adams2_learnable, heun, "
                        "...) or net:scheme (default: %(default)s)")
    p.add_argument("--depths", default="20,32", help="comma-separated depths (default: %(default)s)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: %(default)s)")
    p.add_argument("--data", default="fashion_mnist", help="data set name for numnet.data.load (default: %(default)s)")
    p.add_argument("--data-root", default=None, help="folder holding the data files (default: the loader's search)")
    p.add_argument("--train-size", type=int, default=None, help="use only the first N training images")
    p.add_argument("--val-split", type=int, default=0, help="hold out N training images for validation")
    p.add_argument("--recipe", default=None, help="recipe name (default: the paper's for the data set)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (the schedule is scaled to fit)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default: the recipe's)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: %(default)s)")
    p.add_argument("--spectra", type=int, default=0, metavar="N",
                   help="store per-block Jacobian spectra at N test images (default: off)")
    p.add_argument("--shard", default=None, metavar="I/N", help="run only every N-th run starting at I (0-based)")
    p.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                   help="merge the records of these study folders into --out, then write the table (no training)")
    p.add_argument("--table-only", action="store_true", help="write the table and figures from --out's records")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from numnet.train.lock import RunLocked
    from numnet import study
    from numnet.study.wiring import load_data, make_recipe

    try:
        if args.merge or args.table_only:
            paths = study.write_outputs(args.out, *(args.merge or ()))
            print("\n".join(f"wrote {p}" for p in paths.values()))
            return 0
        recipe = make_recipe(args.recipe, args.data, args.epochs, args.batch_size)
        result = study.study(
            args.archs.split(","), _ints(args.depths), _ints(args.seeds), args.out,
            data=lambda: load_data(args.data, root=args.data_root, train_size=args.train_size,
                                   val_split=args.val_split),
            recipe=recipe, shard_of=args.shard, spectra_samples=args.spectra, progress=not args.no_progress,
            train_options={"device": args.device, "progress": not args.no_progress},
        )
    except (ValueError, ImportError) as e:
        print(f"numnet study: {e}", file=sys.stderr)
        return 2
    except (FloatingPointError, RunLocked) as e:  # a run diverged, or its directory is in use
        print(f"numnet study: {e}", file=sys.stderr)
        return 1
    if args.shard:
        print(f"shard {args.shard}: {len(result)} runs finished under {args.out}; merge the shards with "
              f"`numnet study --out DEST --merge DIR ...`")
    else:
        print(f"wrote {args.out}/table.md, table.csv, table.json and figures")
    return 0
