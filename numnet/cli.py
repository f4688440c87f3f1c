"""The numnet command line.

Each subcommand lives in its own module of numnet.commands, which defines ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Modules are found by listing
the package, so adding a command never edits this file.

A user's mistake is one line on stderr and exit status 2, never a traceback (``--debug``
shows it): a bad option value is refused by the argument types below while parsing, before
anything is imported or loaded; any :class:`~numnet.errors.UserError` raised later (data
not found, a depth the network does not have, ...) is printed by :func:`main`.

>>> main(["train", "--epochs", "0"])  # stderr: numnet train: argument --epochs: must be an int >= 1, got '0' ...
2
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import os
import pkgutil
import sys
from pathlib import Path

import numnet.commands as _commands
from numnet.errors import UserError

__all__ = ["main", "build_parser", "integer", "number", "count_or_fraction", "close_matches", "choice", "scheme_name",
           "concrete_scheme_name", "device", "out_file", "out_dir", "add_option", "add_data_options", "user_errors",
           "add_speed_options", "speed_options", "DEFAULT_DATA"]

DEFAULT_DATA = "fashion_mnist"  # train, study and report: installable anywhere (apt-get install dataset-fashion-mnist)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``numnet train: argument --epochs: ...``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


# -- argument types: each refuses a bad value with the value and what is valid --------------
def _typed(name: str, parse):
    parse.__name__ = name  # argparse names the type in its messages
    return parse


def integer(low: int | None = None, high: int | None = None):
    """An argument type: an int in ``[low, high]`` (either end open when ``None``).

    >>> integer(1)("3")
    3
    >>> integer(1)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an int >= 1, got '0'
    """
    valid = ("an int" + (f" in [{low}, {high}]" if low is not None and high is not None
                         else f" >= {low}" if low is not None else f" <= {high}" if high is not None else ""))

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {valid}, got {text!r}")
        return value

    return _typed("int", parse)


def number(low: float = 0.0, *, strict: bool = True):
    """An argument type: a finite float ``> low`` (``>= low`` when not ``strict``).

    >>> number()("0.1"), number(strict=False)("0")
    (0.1, 0.0)
    >>> number()("fast")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a number > 0, got 'fast'
    """
    valid = f"a number {'>' if strict else '>='} {low:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > low if strict else value >= low) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be {valid}, got {text!r}")
        return value

    return _typed("number", parse)


def count_or_fraction(text: str) -> int | float:
    """An image count (``5000``, ``0`` for none) or a fraction in (0, 1) (``0.1``).

    >>> count_or_fraction("5000"), count_or_fraction("0.1")
    (5000, 0.1)
    >>> count_or_fraction("1.5")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a count like 5000 (0: none) or a fraction in (0, 1) like 0.1, got '1.5'
    """
    valid = f"must be a count like 5000 (0: none) or a fraction in (0, 1) like 0.1, got {text!r}"
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(valid) from None
        if not 0 < value < 1:
            raise argparse.ArgumentTypeError(valid)
        return value
    if value < 0:
        raise argparse.ArgumentTypeError(valid)
    return value


def close_matches(name: str, names, what: str) -> str:
    """``unknown <what> 'x'; close matches: ...`` (or every name when none is close).

    >>> close_matches("rk5", ["rk4", "rk38", "euler", "heun"], "scheme")
    "unknown scheme 'rk5'; close matches: rk4, rk38"
    """
    names = list(names)
    close = difflib.get_close_matches(name, names, n=4, cutoff=0.5)
    return (f"unknown {what} {name!r}; " + (f"close matches: {', '.join(close)}" if close
                                           else f"choose one of {', '.join(names)}"))


def choice(names, what: str):
    """An argument type: one of ``names`` (a sequence, or a callable giving it when first
    needed); a miss names the closest ones, not all of them.

    >>> choice(["resnet", "lm_resnet"], "net")("lm_resnt")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: unknown net 'lm_resnt'; close matches: lm_resnet, resnet
    """
    def parse(text: str) -> str:
        known = names() if callable(names) else names
        if text not in known:
            raise argparse.ArgumentTypeError(close_matches(text, known, what))
        return text

    return _typed(what, parse)


def scheme_name(text: str) -> str:
    """An argument type: a scheme of the catalog, by name or alias (a miss names the close
    matches).

    >>> scheme_name("rk4")
    'rk4'
    >>> scheme_name("rk44")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: unknown scheme 'rk44'; close matches: rk4, sdirk4, rk38
    """
    _scheme(text)
    return text


def concrete_scheme_name(text: str) -> str:
    """An argument type: a catalog scheme without free parameters (one that can be
    integrated as it is).

    >>> concrete_scheme_name("lm_resnet")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: lm_resnet is a family with free k; name a member without free parameters (numnet schemes lm_resnet shows its conditions)
    """
    scheme = _scheme(text)
    if scheme.free_symbols:
        free = ", ".join(sorted(map(str, scheme.free_symbols)))
        raise argparse.ArgumentTypeError(f"{text} is a family with free {free}; name a member without free "
                                         f"parameters (numnet schemes {text} shows its conditions)")
    return text


def _scheme(text: str):
    from numnet.schemes import get

    try:
        return get(text)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def device(text: str) -> str:
    """An argument type: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, checked against this
    machine (torch is imported only for a CUDA device).

    >>> device("cpu")
    'cpu'
    >>> device("gpu")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, got 'gpu'
    """
    if text in ("auto", "cpu"):
        return text
    if not (text == "cuda" or text.startswith("cuda:") or text == "mps"):
        raise argparse.ArgumentTypeError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, "
                                         f"got {text!r}")
    import torch

    from numnet.train.distributed import resolve_device

    try:
        dev = resolve_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e} (use --device cpu or auto)") from None
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"device {text} requested but this machine has "
                                         f"{torch.cuda.device_count()} CUDA device(s): cuda:0 to "
                                         f"cuda:{torch.cuda.device_count() - 1}")
    return text


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path(".")


def out_file(text: str) -> str:
    """An argument type: a file to write, whose folder exists.

    >>> out_file("/nonexistent/t.csv")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: cannot write '/nonexistent/t.csv': the folder /nonexistent does not exist (create it first)
    """
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: it is a folder; give a file name")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: the folder {path.parent} does not exist "
                                         f"(create it first)")
    return text


def out_dir(text: str) -> str:
    """An argument type: a folder to write into (created with its parents when missing);
    refused when it, or the nearest existing folder above it, is a file.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "f"; _ = f.write_text("")
    >>> out_dir(str(f / "run"))
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: cannot create the folder '.../f/run': .../f is a file
    """
    path = Path(text)
    base = _nearest_existing(path)
    if not base.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create the folder {text!r}: {base} is a file")
    return text


def add_option(group, *flags: str, aliases: tuple = (), **kwargs):
    """``group.add_argument(*flags, **kwargs)`` plus hidden ``aliases`` (old spellings that
    keep working but are not shown in ``--help``)."""
    action = group.add_argument(*flags, **kwargs)
    if aliases:
        hidden = {k: v for k, v in kwargs.items() if k not in ("help", "metavar", "default")}
        group.add_argument(*aliases, dest=action.dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **hidden)
    return action


def _data_names(folders: bool):
    from numnet.data.sources import NAMES

    return NAMES if folders else tuple(n for n in NAMES if n != "imagenet")


def add_data_options(parser, *, limit: bool = True, val_split: bool = True, what: str = "training",
                     folders: bool = False):
    """The data options every command that loads data shares, under one spelling:
    ``--data`` (default :data:`DEFAULT_DATA`), ``--data-dir``, ``--download``,
    ``--limit-train`` and ``--val-split``; returns the argument group. ``folders``: the
    command also trains on a streamed image folder (``imagenet``), not only on sets held
    in memory."""
    names = _data_names(folders)
    d = parser.add_argument_group("data")
    d.add_argument("--data", type=choice(names, "data set"), default=DEFAULT_DATA, metavar="NAME",
                   help=f"data set for the {what}: {', '.join(names)} (default: %(default)s)")
    add_option(d, "--data-dir", aliases=("--data-root",), metavar="DIR", default=None,
               help="folder (or the CIFAR / STL-10 .tar.gz) holding the official files, or for imagenet the folder "
                    "with train/ and val/ class folders (default: $NUMNET_DATA, "
                    "~/.cache/numnet, then system folders such as /usr/share/datasets/fashion-mnist)")
    d.add_argument("--download", action="store_true", help="download missing files from the official address")
    if limit:
        add_option(d, "--limit-train", aliases=("--train-size",), type=integer(1), metavar="N", default=None,
                   help="train on the first N training images only (smoke runs)")
    if val_split:
        d.add_argument("--val-split", type=count_or_fraction, default=0, metavar="N",
                       help="hold out N training images (or a fraction like 0.1) for validation (default: 0)")
    return d


def add_speed_options(parser, group=None):
    """The fast-path options of every command that trains (``train``, ``study``), under one
    spelling: ``--threads N``, ``--bf16``/``--fp32``, ``--channels-last``/``--no-channels-last``,
    ``--compile [BACKEND]``; returns the argument group. :func:`speed_options` resolves them."""
    f = group or parser.add_argument_group("speed (the same algorithm)")
    f.add_argument("--threads", type=integer(1), default=None, metavar="N",
                   help="math threads (default: $OMP_NUM_THREADS if set, else the cores not already busy by the "
                        "1-minute load average, numnet.train.fastpath.default_threads). On a machine shared with other jobs use --threads 1 "
                        "(busy-waiting threads on oversubscribed cores are many times slower than one), or set "
                        "OMP_WAIT_POLICY=PASSIVE to run more threads without busy-waiting")
    bf16 = f.add_mutually_exclusive_group()
    bf16.add_argument("--bf16", action="store_true", default=None,
                      help="bfloat16 autocast (default: on where the device computes bf16 natively: CUDA GPUs with "
                           "bf16, CPUs with AVX512-BF16/AMX-BF16; numnet.train.fastpath.fast_paths)")
    bf16.add_argument("--fp32", dest="bf16", action="store_false", help="no bf16 autocast, even where it is native")
    cl = f.add_mutually_exclusive_group()
    cl.add_argument("--channels-last", action="store_true", default=None,
                    help="channels-last memory layout (default: on for CPU and CUDA, where convolutions run faster)")
    cl.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                    help="the default (contiguous) memory layout")
    f.add_argument("--compile", nargs="?", const=True, default=False, metavar="BACKEND",
                   help="torch.compile the model (optionally with a backend name) (default: off)")
    return f


def speed_options(args) -> dict:
    """``{"bf16", "channels_last", "compile"}`` for :func:`numnet.train.train` from the
    :func:`add_speed_options` flags, each left out flag the default of ``args.device``
    (:func:`numnet.train.fastpath.fast_paths`); sets torch's math threads to ``--threads``
    (default: torch's own where ``OMP_NUM_THREADS`` is set, else
    :func:`~numnet.train.fastpath.default_threads`). The run records all of them
    in its config.json ``options`` (not its fingerprint: they do not change the algorithm)."""
    import torch

    from numnet.train.distributed import resolve_device
    from numnet.train.fastpath import default_threads, fast_paths

    with user_errors("--device"):
        paths = fast_paths(resolve_device(args.device))
    if args.threads is not None or not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(args.threads or default_threads())
    pick = lambda given, default: default if given is None else given  # noqa: E731
    return {"bf16": pick(args.bf16, paths.bf16), "channels_last": pick(args.channels_last, paths.channels_last),
            "compile": args.compile}


@contextlib.contextmanager
def user_errors(what: str = ""):
    """Turn the ``ValueError``/``TypeError`` of validating user input inside the block
    into a :class:`~numnet.errors.UserError` (prefixed with ``what``), so :func:`main`
    prints it as one line. Use it only around calls that check a user's settings.

    >>> with user_errors("--depth"):
    ...     int("x")
    Traceback (most recent call last):
    ...
    numnet.errors.UserError: --depth: invalid literal for int() with base 10: 'x'
    """
    try:
        yield
    except UserError:
        raise
    except (ValueError, TypeError) as e:
        raise UserError(f"{what}: {e}" if what else str(e)) from e


def _command_modules():
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"numnet.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command module.

    >>> "schemes" in build_parser().format_help()
    True
    """
    from numnet import __version__

    parser = Parser(prog="numnet", description="numnet: ODE schemes as one symbolic object, read by "
                                               "solvers and residual networks.")
    parser.add_argument("--version", action="version", version=f"numnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a user error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status: a bad option or a
    :class:`~numnet.errors.UserError` is one line on stderr and status 2."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a refused option (2)
        return e.code if isinstance(e.code, int) else 2
    try:
        return int(args._run(args) or 0)
    except UserError as e:
        if args.debug:
            raise
        print(f"numnet {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
