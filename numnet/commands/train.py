"""numnet train: train a scheme-built residual network from the command line.

    numnet train --net lm_resnet --depth 56 --data cifar10 --out runs/lm56
    numnet train --net scheme_net --scheme ab3 --depth 20 --recipe quick
    numnet train --net resnet --depth 20 --coarse-to-fine 2 --level-epochs 4 2 2
    torchrun --nproc-per-node 8 -m numnet train --net resnet --depth 110 --bf16 --compile

The run directory gets ``config.json``, ``checkpoint.pt`` (every epoch), ``metrics.jsonl``,
``best.pt`` (with ``--val-split``) and ``result.json``; ``--resume`` continues an
interrupted run, and a finished one is reported, not recomputed.

``--resume --out DIR`` rebuilds the run from ``DIR/config.json``: net, depth, scheme,
data set and split, seed and recipe are the run's own. Flags that define the run
(:data:`DEFINING`) may be repeated only with the run's values; a differing one is a
one-line error naming the key (exit 2). Flags that cannot change the result (device,
fast paths, ``--grad-checkpoint``, ``--data-dir``, ``--stop-after``) are free. Every setting is checked before the data is
loaded: the options while parsing, the network by building it for the data set's image shape.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from numnet.cli import (add_data_options, add_speed_options, choice, device, integer, number, out_dir, speed_options,
                        user_errors)
from numnet.errors import UserError
from numnet.fileio import dumps, read_json
from numnet.nets.names import NETS, REVERSIBLE_NETS, STAGE_NETS
from numnet.train.recipe import DEFAULT_RECIPES, ORIGINS, RECIPES

NAME = "train"
HELP = "train a residual network built from a scheme (paper recipe, checkpointed, resumable)"

DEFINING = ("net", "depth", "scheme", "reversible", "stochastic_depth", "drop_schedule", "imagenet_layout", "data",
            "val_split", "split_seed", "limit_train", "seed")
"""The flags that define a run besides its recipe: on ``--resume`` they come from its config.json."""
OPTIONAL_META = {"stochastic_depth": None, "drop_schedule": None, "imagenet_layout": False}
"""Model flags recorded in the run's meta only when given (flag → its value when absent)."""
RECIPE_FLAGS = ("recipe", "epochs", "batch_size", "lr", "weight_decay", "coarse_to_fine", "grow_depth", "level_epochs",
                "transfer", "depth_mode")
"""The flags that make the recipe (stored whole in config.json)."""


def _scheme_names() -> list[str]:
    """Catalog schemes (scheme_net, ode_net) and partitioned ones (hamiltonian): the one
    registry's names, the same list ``numnet schemes`` shows."""
    from numnet import schemes

    return schemes.names()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    schemes = _scheme_names()
    model = parser.add_argument_group("model")
    model.add_argument("--net", type=choice(NETS, "net"), default="resnet", metavar="NAME",
                       help=f"network family: {', '.join(NETS)} (default: resnet)")
    model.add_argument("--depth", type=integer(1), default=20,
                       help="network depth; resnet-like nets: 6n+2 (8, 14, 20, 32, 44, 56, 110, ...) (default: 20)")
    model.add_argument("--scheme", type=choice(schemes, "scheme"), metavar="NAME",
                       help="scheme that builds the blocks: for --net scheme_net/ode_net a catalog name ("
                            f"{', '.join(schemes)}); for --net hamiltonian a partitioned scheme (e.g. "
                            "symplectic_euler, verlet)")
    model.add_argument("--no-reversible", dest="reversible", action="store_false",
                       help=f"run a reversible net ({', '.join(REVERSIBLE_NETS)}) with ordinary autograd: "
                            "activations stored, not recomputed in the backward pass (for comparison)")
    model.add_argument("--stochastic-depth", nargs="?", const=True, type=_p_L, metavar="P_L",
                       help=f"for {', '.join(STAGE_NETS)}: drop blocks at random per batch in training, the last "
                            "surviving with probability P_L (default without P_L: the LM-ResNet paper's, 0.8 at "
                            "depth 56, 0.5 at 110)")
    model.add_argument("--drop-schedule", type=choice(("official", "huang"), "schedule"), metavar="NAME",
                       help="stochastic-depth schedule: official (the LM-ResNet code: death rate i/(L-1)*(1-P_L), "
                            "kept blocks divided by their survival probability; the default of LM nets) or huang "
                            "(Huang et al.: survival 1-(l/L)(1-P_L), test-time scaling; the default of the others)")
    model.add_argument("--imagenet-layout", action="store_true",
                       help=f"for {', '.join(STAGE_NETS)}: He et al.'s ImageNet ResNet layout (depth 18, 34, 50, "
                            "101, 152: 7x7 stem, max-pool, four stages of widths 64-512, bottleneck blocks from 50), "
                            "e.g. --net lm_resnet --depth 50 --imagenet-layout --data imagenet")
    model.add_argument("--grad-checkpoint", type=integer(0), default=0, metavar="N",
                       help=f"for {', '.join(STAGE_NETS)}: store only the state every N steps start from and "
                            "recompute those steps in the backward pass (exact; less memory, one extra "
                            "forward) (default: 0, off)")
    model.add_argument("--store-every", type=integer(1), metavar="N",
                       help=f"for {', '.join(REVERSIBLE_NETS)}: store the state every N blocks, so the reversible "
                            "backward pass restarts from it and its reconstruction error (recorded per epoch as "
                            "reconstruction_error) grows over at most N blocks (default: only each stage's output)")
    d = add_data_options(parser, folders=True)
    d.add_argument("--split-seed", type=integer(0), default=0, help="seed of the validation split (default: 0)")
    d.add_argument("--workers", type=integer(0), default=8, metavar="N",
                   help="DataLoader worker processes decoding the images of --data imagenet (a folder DIR/train, "
                        "DIR/val of class folders) per rank (default: 8; 0: in the training process)")
    d.add_argument("--fold", type=integer(0), metavar="K",
                   help="train on predefined training fold K only (stl10: folds 0-9 of 1,000 images each, "
                        "the standard STL-10 protocol) (default: all training images)")
    t = parser.add_argument_group("training")
    t.add_argument("--recipe", type=choice(RECIPES, "recipe"), metavar="NAME",
                   help=f"training recipe: {', '.join(RECIPES)} (default: the data set's: "
                        f"{', '.join(f'{d} {r}' for d, r in DEFAULT_RECIPES.items())}, else paper-cifar10). "
                        f"Where they come from: {'; '.join(f'{n}: {o}' for n, o in ORIGINS.items())}")
    t.add_argument("--epochs", type=integer(1), help="run the recipe over this many epochs, milestones scaled to match")
    t.add_argument("--batch-size", type=integer(1), metavar="N", help="global batch size (default: the recipe's, 128)")
    t.add_argument("--lr", type=number(0), help="initial learning rate (default: the recipe's, 0.1)")
    t.add_argument("--weight-decay", type=number(0, strict=False), metavar="WD",
                   help="weight decay (default: the recipe's, 1e-4)")
    t.add_argument("--seed", type=integer(0), default=0,
                   help="seed of the initialisation, data order and augmentation")
    t.add_argument("--out", type=out_dir, metavar="DIR",
                   help="run directory (default: runs/<net><depth>-<data>-s<seed>)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    t.add_argument("--stop-after", type=integer(1), metavar="K",
                   help="stop after K epochs (continue later with --resume)")
    m = parser.add_argument_group("multilevel training (Haber et al., AAAI 2018; numnet.nets.multiscale)")
    m.add_argument("--coarse-to-fine", type=integer(0), default=0, metavar="N",
                   help="train on images restricted N times (2x2 averages) first, then prolong the 3x3 kernels "
                        "level by level up to the native resolution (default: 0, off)")
    m.add_argument("--grow-depth", type=integer(0), default=0, metavar="G",
                   help="double the blocks of every stage G times during training, h halved each time; "
                        "the net starts at --depth (default: 0, off)")
    m.add_argument("--level-epochs", type=integer(1), nargs="+", metavar="E",
                   help="epochs per level, first trained first, summing to the recipe's epochs "
                        "(default: the epochs split evenly)")
    m.add_argument("--transfer", default="galerkin", metavar="NAME",
                   help="kernel transfer between resolutions: galerkin (R K P, P = 4R^T), bilinear, or reuse "
                        "(kernels unchanged) (default: galerkin)")
    m.add_argument("--depth-mode", default="linear", metavar="MODE",
                   help="block parameters of a grown stage: linear (interpolated in time) or constant "
                        "(copied) (default: linear)")
    f = parser.add_argument_group("speed (the same algorithm)")
    f.add_argument("--device", type=device, default="auto",
                   help="auto (CUDA if available), cpu, cuda, cuda:N (default: auto)")
    add_speed_options(parser, f)
    f.add_argument("--host-data", action="store_true", help="keep the data in host memory instead of on the device")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    # --resume tells a flag the user gave (even with its default value) from one left out
    _record_given(parser, DEFINING + RECIPE_FLAGS)


def _p_L(text: str) -> float:
    """An argument type: a survival probability in (0, 1].

    >>> _p_L("0.5")
    0.5
    >>> _p_L("1.5")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a probability in (0, 1], got '1.5'
    """
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a probability in (0, 1], got {text!r}")
    return value


def _record_given(parser, dests) -> None:
    """Make the options ``dests`` note in ``namespace._given`` that they were given."""
    parser.set_defaults(_given=frozenset())
    for action in parser._actions:
        if action.dest in dests:
            base = type(action)

            class Given(base):
                def __call__(self, parser, namespace, values, option_string=None):
                    namespace._given = getattr(namespace, "_given", frozenset()) | {self.dest}
                    super().__call__(parser, namespace, values, option_string)

            action.__class__ = Given


def _settle(args) -> tuple:
    """``(out, recipe, meta, error)``: the run's settings, from the flags or, for ``--resume``
    of a directory holding a run, from its config.json; ``error`` is a one-line message."""
    from numnet.train import Recipe
    from numnet.train.config import describe, differences

    given = {k: getattr(args, k) for k in args._given}
    out = Path(args.out or f"runs/{args.net}{args.depth}-{args.data}-s{args.seed}")
    stored = read_json(out / "config.json") if args.resume and (out / "config.json").is_file() else None
    if stored is None:
        meta = {"net": args.net, "depth": args.depth, "scheme": args.scheme, "reversible": args.reversible,
                "limit_train": args.limit_train, "val_split": args.val_split, "split_seed": args.split_seed}
        meta.update({k: getattr(args, k) for k in OPTIONAL_META if getattr(args, k) not in (None, False)})
        return out, _recipe(args), meta, None
    meta = stored.get("meta", {})
    if "net" not in meta:
        return out, None, None, f"{out}/config.json was not written by numnet train (no net in its meta)"
    run = {"net": meta["net"], "depth": meta["depth"], "scheme": meta.get("scheme"),
           "reversible": meta.get("reversible", True), **{k: meta.get(k, OPTIONAL_META[k]) for k in OPTIONAL_META},
           "data": stored["data"]["name"],
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


def _net_options(args) -> dict:
    options = {} if args.scheme is None else {"scheme": args.scheme}
    if not args.reversible:
        if args.net not in REVERSIBLE_NETS:
            raise UserError(f"--no-reversible applies to the reversible nets {list(REVERSIBLE_NETS)}, "
                            f"got --net {args.net}")
        options["reversible"] = False
    if args.store_every is not None:
        if args.net not in REVERSIBLE_NETS:
            raise UserError(f"--store-every applies to the reversible nets {list(REVERSIBLE_NETS)}, "
                            f"got --net {args.net}")
        options["store_every"] = args.store_every
    for key, option in (("stochastic_depth", "stochastic_depth"), ("drop_schedule", "drop_schedule"),
                        ("imagenet_layout", "imagenet")):
        if getattr(args, key) not in (None, False):
            if args.net not in STAGE_NETS:
                raise UserError(f"--{key.replace('_', '-')} applies to the nets {list(STAGE_NETS)}, got --net {args.net}")
            options[option] = getattr(args, key)
    if args.grad_checkpoint:
        if args.net not in STAGE_NETS:
            raise UserError(f"--grad-checkpoint applies to the nets {list(STAGE_NETS)} (reversible nets recompute "
                            f"by inversion already), got --net {args.net}")
        options["checkpoint"] = args.grad_checkpoint
    return options


def _recipe(args):
    from numnet.train import default_recipe, get_recipe

    recipe = get_recipe(args.recipe) if args.recipe else default_recipe(args.data)
    if args.epochs is not None:
        recipe = recipe.with_epochs(args.epochs)
    if args.level_epochs and args.epochs is None:
        recipe = recipe.with_epochs(sum(args.level_epochs))
    changes = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr),
                                 ("weight_decay", args.weight_decay)) if v is not None}
    return recipe.replace(coarse_to_fine=args.coarse_to_fine, grow_depth=args.grow_depth,
                          level_epochs=tuple(args.level_epochs or ()), transfer=args.transfer,
                          depth_mode=args.depth_mode, **changes)


def format_coefficients(coefficients: list) -> str:
    """The learned coefficients of one epoch record, one line per stage.

    >>> print(format_coefficients([{"stage": 0, "block": 1, "symbol": "k", "value": -0.0312},
    ...                            {"stage": 0, "block": 2, "symbol": "k", "value": 0.1},
    ...                            {"stage": 1, "block": 1, "symbol": "b1", "value": 1.5}]))
      stage 0: k_1 = -0.0312, k_2 = 0.1
      stage 1: b1_1 = 1.5
    """
    stages: dict = {}
    for c in coefficients:
        stages.setdefault(c["stage"], []).append(f"{c['symbol']}_{c['block']} = {c['value']:.4g}")
    return "\n".join(f"  stage {s}: {', '.join(terms)}" for s, terms in stages.items())


def _epoch_line(record: dict, epochs: int) -> str:
    fmt = lambda k: "-" if record.get(k) is None else f"{100 * record[k]:.2f}%"  # noqa: E731
    return (f"epoch {record['epoch']}/{epochs}: loss {record['train_loss']:.4f} train {fmt('train_acc')} "
            f"val {fmt('val_acc')} test {fmt('test_acc')} lr {record['lr']:.3g}")


def run(args: argparse.Namespace) -> int:
    from numnet import data, nets
    from numnet.data.sets import channels_and_classes, check_fold
    from numnet.data.sources import get_source, locate

    # the run's settings: the flags, or for --resume the run's own config.json
    with user_errors("recipe"):
        out, recipe, meta, error = _settle(args)
    if error:
        raise UserError(error)
    # everything the user set is checked before the data is read: where the files are
    # (the hint to install a missing set comes first), the recipe, then the network itself
    if args.data not in ("synthetic", "imagenet") and not args.download:
        locate(get_source(args.data), args.data_dir)
    with user_errors("--fold"):
        check_fold(args.data, args.fold)
    options = _net_options(args)
    import torch

    from numnet.train import train
    from numnet.train.lock import RunLocked

    in_channels, num_classes = channels_and_classes(args.data, args.data_dir)
    torch.manual_seed(args.seed)
    with user_errors(f"--net {args.net} --depth {args.depth}"):  # the builders name the bad value
        model = nets.build(args.net, args.depth, num_classes=num_classes, in_channels=in_channels, **options)
    learned = getattr(model, "learned_coefficients", None)
    scheme = getattr(model, "scheme", None)
    if getattr(scheme, "free_symbols", None) and callable(learned) and not learned():
        print(f"numnet train: warning: --net {args.net} --depth {args.depth} learns no coefficient of its scheme "
              f"{scheme.name} ({', '.join(sorted(map(str, scheme.free_symbols)))} free): every stage is too "
              f"short for a step after the start-up block(s); choose a larger depth", file=sys.stderr)
    speed = speed_options(args)
    if not args.no_progress:
        on = [name for name, flag in (("bf16 autocast", speed["bf16"]), ("channels-last", speed["channels_last"]),
                                      ("torch.compile", speed["compile"])) if flag]
        print(f"numnet train: {torch.get_num_threads()} thread(s), {', '.join(on) or 'fp32, default layout'} "
              f"(--threads, --fp32, --no-channels-last to change)", file=sys.stderr)
    folder = {"num_workers": args.workers} if args.data == "imagenet" else {}
    splits = data.load(args.data, root=args.data_dir, download=args.download,
                       val_split=args.val_split, split_seed=args.split_seed, fold=args.fold, **folder)
    if args.limit_train is not None:
        splits = splits.limit_train(args.limit_train)
    try:
        result = train(model, splits, recipe, out=out, resume=args.resume, seed=args.seed, device=args.device,
                       **speed, resident=not args.host_data, stop_after=args.stop_after, progress=not args.no_progress,
                       meta=meta)
    except RunLocked as err:
        print(f"numnet train: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: {out} keeps its last finished epoch; continue with --resume --out {out}",
              file=sys.stderr)
        return 130
    if args.no_progress:  # the progress bar writes these lines as the epochs finish
        for record in result.history:
            print(_epoch_line(record, recipe.epochs))
    print(result)
    if result.history and result.history[-1].get("coefficients"):
        print(f"learned coefficients after epoch {result.history[-1]['epoch']}:")
        print(format_coefficients(result.history[-1]["coefficients"]))
    print(dumps({"out": str(out), "finished": result.finished, **result.summary()}, non_finite="mark", indent=1))
    return 0
