"""``numnet train``: train a scheme-built residual network from the command line.

    numnet train --net lm_resnet --depth 56 --data cifar10 --out runs/lm56
    numnet train --net scheme_net --scheme ab3 --depth 20 --data fashion_mnist --recipe quick
    numnet train --net resnet --depth 20 --data fashion_mnist --coarse-to-fine 2 --level-epochs 4 2 2
    torchrun --nproc-per-node 8 -m numnet train --net resnet --depth 110 --bf16 --compile

The run directory gets ``config.json``, ``checkpoint.pt`` (every epoch), ``metrics.jsonl``,
``best.pt`` (with ``--val-split``) and ``result.json``; ``--resume`` continues an
interrupted run, and a finished one is reported, not recomputed.

``--resume --out DIR`` rebuilds the run from ``DIR/config.json``: net, depth, scheme,
data set and split, seed and recipe are the run's own. Flags that define the run
(:data:`DEFINING`) may be repeated only with the run's values; a differing one is a
one-line error naming the key (exit 2). Flags that cannot change the result (device,
fast paths, ``--grad-checkpoint``, ``--data-dir``, ``--stop-after``) are free.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from numnet.data.sources import NAMES as DATA_NAMES
from numnet.fileio import dumps, read_json
from numnet.nets.names import NETS, REVERSIBLE_NETS, STAGE_NETS
from numnet.train.recipe import RECIPES

NAME = "train"
HELP = "train a residual network built from a scheme (paper recipe, checkpointed, resumable)"

DEFINING = ("net", "depth", "scheme", "reversible", "data", "val_split", "split_seed", "limit_train", "seed")
"""The flags that define a run besides its recipe: on ``--resume`` they come from its config.json."""
RECIPE_FLAGS = ("recipe", "epochs", "coarse_to_fine", "grow_depth", "level_epochs", "transfer", "depth_mode")
"""The flags that make the recipe (stored whole in config.json)."""



def _scheme_names() -> list[str]:
    """Catalog schemes (scheme_net, ode_net) and partitioned ones (hamiltonian)."""
    from numnet import schemes
    from numnet.schemes import partitioned

    catalog = list(schemes.names())
    return catalog + [n for n in partitioned.names() if n not in catalog]


def _val_split(text: str) -> int | float:
    """An image count (``5000``) or a fraction (``0.1``)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count like 5000 or a fraction like 0.1, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    schemes = _scheme_names()
    model = parser.add_argument_group("model")
    model.add_argument("--net", choices=NETS, default="resnet", help="network family (default: resnet)")
    model.add_argument("--depth", type=int, default=20, help="network depth, e.g. 20, 32, 44, 56, 110 (default: 20)")
    model.add_argument("--scheme", choices=schemes, metavar="NAME",
                       help="scheme that builds the blocks: for --net scheme_net/ode_net a catalog name ("
                            f"{', '.join(schemes)}); for --net hamiltonian a partitioned scheme (e.g. "
                            "symplectic_euler, verlet)")
    model.add_argument("--no-reversible", dest="reversible", action="store_false",
                       help=f"run a reversible net ({', '.join(REVERSIBLE_NETS)}) with ordinary autograd: "
                            "activations stored, not recomputed in the backward pass (for comparison)")
    model.add_argument("--grad-checkpoint", type=int, default=0, metavar="N",
                       help=f"for {', '.join(STAGE_NETS)}: store only the state every N steps start from and "
                            "recompute those steps in the backward pass (exact; less memory, one extra "
                            "forward) (default: 0, off)")
    d = parser.add_argument_group("data")
    d.add_argument("--data", choices=DATA_NAMES, default="cifar10", help="data set (default: cifar10)")
    d.add_argument("--data-dir", metavar="DIR", help="directory (or CIFAR .tar.gz) holding the official files; "
                                                      "default: $NUMNET_DATA, ~/.cache/numnet, system dirs")
    d.add_argument("--download", action="store_true", help="download missing files from the official address")
    d.add_argument("--val-split", type=_val_split, default=0, metavar="N",
                   help="hold out N training images (or a fraction) for validation/model selection (default: 0)")
    d.add_argument("--split-seed", type=int, default=0, help="seed of the validation split (default: 0)")
    d.add_argument("--limit-train", type=int, metavar="N", help="train on the first N images only (smoke runs)")
    t = parser.add_argument_group("training")
    t.add_argument("--recipe", choices=RECIPES, help="training recipe (default: the paper's for the data set: "
                                                     "paper-cifar100 for CIFAR-100, else paper-cifar10)")
    t.add_argument("--epochs", type=int, help="run the recipe over this many epochs, milestones scaled to match")
    t.add_argument("--seed", type=int, default=0, help="seed of the initialisation, data order and augmentation")
    t.add_argument("--out", metavar="DIR", help="run directory (default: runs/<net><depth>-<data>-s<seed>)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    t.add_argument("--stop-after", type=int, metavar="K", help="stop after K epochs (continue later with --resume)")
    m = parser.add_argument_group("multilevel training (Haber et al., AAAI 2018; numnet.nets.multiscale)")
    m.add_argument("--coarse-to-fine", type=int, default=0, metavar="N",
                   help="train on images restricted N times (2x2 averages) first, then prolong the 3x3 kernels "
                        "level by level up to the native resolution (default: 0, off)")
    m.add_argument("--grow-depth", type=int, default=0, metavar="G",
                   help="double the blocks of every stage G times during training, h halved each time; "
                        "the net starts at --depth (default: 0, off)")
    m.add_argument("--level-epochs", type=int, nargs="+", metavar="E",
                   help="epochs per level, first trained first, summing to the recipe's epochs "
                        "(default: the epochs split evenly)")
    m.add_argument("--transfer", default="galerkin", metavar="NAME",
                   help="kernel transfer between resolutions: galerkin (R K P, P = 4R^T), bilinear, or reuse "
                        "(kernels unchanged) (default: galerkin)")
    m.add_argument("--depth-mode", default="linear", metavar="MODE",
                   help="block parameters of a grown stage: linear (interpolated in time) or constant "
                        "(copied) (default: linear)")
    f = parser.add_argument_group("speed (the same algorithm)")
    f.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N (default: auto)")
    f.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    f.add_argument("--channels-last", action="store_true", help="channels-last memory layout")
    f.add_argument("--compile", nargs="?", const=True, default=False, metavar="BACKEND",
                   help="torch.compile the model (optionally with a backend name)")
    f.add_argument("--host-data", action="store_true", help="keep the data in host memory instead of on the device")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    # a flag left out reads None, so that --resume can tell it from one given with its default value
    flags = DEFINING + RECIPE_FLAGS
    parser.set_defaults(_defaults={k: parser.get_default(k) for k in flags}, **{k: None for k in flags})


def _recipe(args):
    from numnet.train import default_recipe, get_recipe

    recipe = get_recipe(args.recipe) if args.recipe else default_recipe(args.data)
    if args.epochs is not None:
        recipe = recipe.with_epochs(args.epochs)
    if args.level_epochs and args.epochs is None:
        recipe = recipe.with_epochs(sum(args.level_epochs))
    return recipe.replace(coarse_to_fine=args.coarse_to_fine, grow_depth=args.grow_depth,
                          level_epochs=tuple(args.level_epochs or ()), transfer=args.transfer,
                          depth_mode=args.depth_mode)


def _settle(args) -> tuple:
    """``(out, recipe, meta, error)``: the run's settings, from the flags or, for ``--resume``
    of a directory holding a run, from its config.json; ``error`` is a one-line message."""
    from numnet.train import Recipe
    from numnet.train.config import describe, differences

    given = {k: getattr(args, k) for k in DEFINING + RECIPE_FLAGS if getattr(args, k) is not None}
    for k, v in args._defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    out = Path(args.out or f"runs/{args.net}{args.depth}-{args.data}-s{args.seed}")
    stored = read_json(out / "config.json") if args.resume and (out / "config.json").is_file() else None
    if stored is None:
        meta = {"net": args.net, "depth": args.depth, "scheme": args.scheme, "reversible": args.reversible,
                "limit_train": args.limit_train, "val_split": args.val_split, "split_seed": args.split_seed}
        return out, _recipe(args), meta, None
    meta = stored.get("meta", {})
    if "net" not in meta:
        return out, None, None, f"{out}/config.json was not written by numnet train (no net in its meta)"
    run = {"net": meta["net"], "depth": meta["depth"], "scheme": meta.get("scheme"),
           "reversible": meta.get("reversible", True), "data": stored["data"]["name"],
           "val_split": meta.get("val_split", stored["data"].get("val", 0)), "split_seed": meta.get("split_seed", 0),
           "limit_train": meta.get("limit_train"), "seed": stored["seed"], "recipe": stored["recipe"]}
    now = {k: v for k, v in given.items() if k in DEFINING}
    for k in DEFINING:
        setattr(args, k, run[k])
    if any(k in given for k in RECIPE_FLAGS):  # the recipe these flags give for the run's data set
        now["recipe"] = _recipe(args).to_dict()
    diffs = differences({k: run[k] for k in now}, now)
    if diffs:
        return out, None, None, (f"--resume continues the run in {out} as configured in its config.json, and the "
                                 f"flags differ: {describe(diffs)}; drop them, or train into another --out")
    return out, Recipe(**run["recipe"]), meta, None


def run(args: argparse.Namespace) -> int:
    import torch

    from numnet import data, nets
    from numnet.train import train
    from numnet.train.lock import RunLocked

    out, recipe, meta, error = _settle(args)
    if error:
        print(f"numnet train: {error}", file=sys.stderr)
        return 2
    options = {} if args.scheme is None else {"scheme": args.scheme}
    if not args.reversible:
        if args.net not in REVERSIBLE_NETS:
            raise SystemExit(f"--no-reversible applies to the reversible nets {list(REVERSIBLE_NETS)}, "
                             f"got --net {args.net}")
        options["reversible"] = False
    if args.grad_checkpoint:
        if args.net not in STAGE_NETS:
            raise SystemExit(f"--grad-checkpoint applies to the nets {list(STAGE_NETS)} (reversible nets recompute "
                             f"by inversion already), got --net {args.net}")
        options["checkpoint"] = args.grad_checkpoint
    splits = data.load(args.data, root=args.data_dir, download=args.download,
                       val_split=args.val_split, split_seed=args.split_seed)
    if args.limit_train is not None:
        splits = splits.limit_train(args.limit_train)
    torch.manual_seed(args.seed)
    try:
        model = nets.build(args.net, args.depth, num_classes=splits.num_classes, in_channels=splits.in_channels,
                           **options)
    except (TypeError, ValueError) as err:  # the builders name the bad value and what was expected
        raise SystemExit(f"numnet train: {err}") from None
    try:
        result = train(model, splits, recipe, out=out, resume=args.resume, seed=args.seed, device=args.device,
                       bf16=args.bf16, channels_last=args.channels_last, compile=args.compile,
                       resident=not args.host_data, stop_after=args.stop_after, progress=not args.no_progress,
                       meta=meta)
    except RunLocked as err:
        print(f"numnet train: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: {out} keeps its last finished epoch; continue with --resume --out {out}",
              file=sys.stderr)
        return 130
    print(result)
    print(dumps({"out": str(out), "finished": result.finished, **result.summary()}, non_finite="mark", indent=1))
    return 0
