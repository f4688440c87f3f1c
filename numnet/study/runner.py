"""Running a grid: one training per run, one record file per finished run.

``run_grid(runs, out, data=...)`` builds each model with ``numnet.nets.build`` and trains
it with ``numnet.train.train`` (both injectable, imported lazily by default). A finished
run leaves ``out/runs/<key>.json`` (written atomically: whole or absent) and is not
recomputed; the training itself checkpoints under ``out/train/<key>/`` and an
interrupted run resumes there from its last checkpoint (``resume=True``). Shards
(:func:`numnet.study.grid.shard`) write disjoint record files, and :func:`merge` gathers
the records of several output folders into one.

Every record carries the full configuration it was trained under (:func:`run_config`:
recipe, data set and sizes, build options, seed, numnet version). A record is reused only
under exactly that configuration; a folder holding records of another one is refused
(:class:`StaleRecord`, naming the differing keys), never silently mixed into the table:
a study folder is one configuration. Use another folder for another configuration.

The record holds what the table and the figures need: the run, parameter count, its wall
time (``seconds``, over every session of a resumed run) and the options it ran with
(``options``: device, bf16, channels-last, compile), final
and best accuracies, the per-epoch history, the learned coefficients
(``model.learned_coefficients()``), the blocks that left the zero-stability set during
training and optionally the per-block Jacobian spectra.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from numnet.plots.learned import block_schemes

from numnet.errors import ConfigError
from numnet.fileio import dumps, loads, read_json, write_json

from .grid import Run
from .records import RECORD_DIR, load_records, plain, record_path, scheme_to_dict
from .wiring import require

TRAIN_DIR = "train"


class StaleRecord(ConfigError):
    """A record in the study folder was trained under another configuration (a ValueError,
    and a user error: the command line prints it as one line, exit status 2)."""


def run_config(run: Run, splits, recipe) -> dict:
    """The configuration ``run`` is trained under, as plain JSON data: what its record
    must match to be reused.

    >>> from types import SimpleNamespace
    >>> from numnet.study import plan
    >>> from numnet.train import get_recipe
    >>> c = run_config(plan(["heun"], [20], [1])[0], SimpleNamespace(num_classes=10, in_channels=1),
    ...                get_recipe("quick"))
    >>> c["build"], c["seed"], c["recipe"]["epochs"], sorted(c)
    ({'net': 'scheme_net', 'depth': 20, 'num_classes': 10, 'in_channels': 1, 'scheme': 'heun'}, 1, 10, \
['build', 'data', 'numnet', 'recipe', 'seed'])
    """
    import numnet

    describe = getattr(splits, "describe", None)
    data = describe() if callable(describe) else {"num_classes": splits.num_classes, "in_channels": splits.in_channels}
    config = {
        "build": {"net": run.net, "depth": run.depth, "num_classes": splits.num_classes,
                  "in_channels": splits.in_channels, **run.build_options()},
        "recipe": run.recipe_for(recipe).to_dict(), "data": data, "seed": run.seed, "numnet": numnet.__version__,
    }
    if run.recipe:  # the recipe fields this run's arch set (@decay=): what may differ from the grid's
        config["recipe_changes"] = dict(run.recipe)
    return loads(dumps(plain(config)))  # exactly as it reads back from the record


def check_record(rec: dict, config: dict, path: Path, train_dir: Path) -> None:
    """Refuse (:class:`StaleRecord`) a record trained under another configuration."""
    from numnet.train.config import describe, differences

    stored = rec.get("config")
    if stored == config:
        return
    if stored is None:
        what = "no configuration (an older numnet wrote it)"
    else:
        what = "another configuration: " + describe(differences(stored, config))
    raise StaleRecord(f"{path} was trained under {what}. A study folder holds one configuration and its records "
                      f"are never reused under another: choose another out folder, or delete {path} and "
                      f"{train_dir} to retrain this run")


# -- running -------------------------------------------------------------------------------
def run_grid(runs, out, *, data, recipe=None, build=None, train=None, spectra_samples: int = 0,
             spectra_input=None, progress: bool = True, train_options: dict | None = None) -> list:
    """Train every run in ``runs`` not yet finished under ``out``; return all their records.

    ``data``: the data splits (``numnet.data.Splits``) or a zero-argument function giving
    them (called once: the records are checked against the data too). ``recipe``: a
    :class:`~numnet.train.Recipe` or name (default: the paper's for the data set).
    A run whose arch changes the recipe (``lm_resnet@decay=none``) trains
    ``run.recipe_for(recipe)`` and its record's configuration holds that recipe and the
    changes (``recipe_changes``). ``build(net, depth, num_classes=, in_channels=, **run.build_options())`` and
    ``train(model, data, recipe=, out=, resume=True, seed=, meta=, **train_options)``
    default to numnet's; the model's initialisation is seeded with the run's seed before
    ``build``. A finished record made under another configuration (:func:`run_config`)
    raises :class:`StaleRecord`.

    ``spectra_samples > 0`` also stores the per-block Jacobian spectra
    (:func:`numnet.study.spectra.block_spectra`, Arnoldi) at that many test images, when
    the model exposes ``residual_branches()`` (in the order of ``step_schemes()``);
    ``spectra_input(splits, n)`` gives the images (default: the first n test images
    through ``numnet.data.Loader``, normalised as in training).

    >>> import tempfile, torch
    >>> from types import SimpleNamespace
    >>> from numnet.study import plan
    >>> calls = []
    >>> def train(model, data, **kw):
    ...     calls.append(kw["seed"])
    ...     return SimpleNamespace(final_test_acc=0.5, history=[])
    >>> out, runs = tempfile.mkdtemp(), plan(["resnet"], [20], [0, 1])
    >>> build = lambda net, depth, **options: torch.nn.Linear(1, 1)
    >>> data = SimpleNamespace(num_classes=10, in_channels=1)
    >>> len(run_grid(runs, out, data=data, build=build, train=train, progress=False)), calls
    (2, [0, 1])
    >>> len(run_grid(runs, out, data=data, build=build, train=train, progress=False)), calls  # nothing redone
    (2, [0, 1])
    >>> run_grid(runs, out, data=data, recipe="quick", build=build, train=train, progress=False)
    Traceback (most recent call last):
    ...
    numnet.study.runner.StaleRecord: .../resnet-d20-s0.json was trained under another configuration: \
recipe.epochs 160 (now 10); recipe.milestones [80, 120] (now [5, 8]); recipe.name 'paper-cifar10' (now 'quick'). ...
    """
    import torch

    runs = list(runs)
    if not all(isinstance(r, Run) for r in runs):
        raise TypeError("runs must be numnet.study.grid.Run objects (see numnet.study.grid.plan)")
    out = Path(out)
    if not runs:
        return []
    splits = data() if callable(data) else data
    if recipe is None:
        recipe = require("train", "default_recipe")(getattr(splits, "name", ""))
    recipe = require("train", "get_recipe")(recipe)
    configs = {r.key: run_config(r, splits, recipe) for r in runs}
    todo = []
    for r in runs:
        path = record_path(out, r)
        if path.exists():
            check_record(read_json(path), configs[r.key], path, out / TRAIN_DIR / r.key)
        else:
            todo.append(r)
    if todo:
        build = build or require("nets", "build")
        train = train or require("train", "train")
        bar = _progress(todo, progress)
        for run in bar:
            if hasattr(bar, "set_postfix_str"):
                bar.set_postfix_str(run.key)
            torch.manual_seed(run.seed)
            model = build(run.net, run.depth, num_classes=splits.num_classes, in_channels=splits.in_channels,
                          **run.build_options())
            t0 = time.perf_counter()
            result = train(model, splits, recipe=run.recipe_for(recipe), out=out / TRAIN_DIR / run.key, resume=True,
                           seed=run.seed, meta=run.to_dict(), **(train_options or {}))
            if getattr(result, "finished", True) is False:  # stopped early (stop_after): nothing to record yet
                continue
            # the run's wall time over every session it took (a resumed run's result counts the
            # earlier ones); this call's time where the training result does not say
            wall = getattr(result, "wall_time", None)
            seconds = float(wall) if isinstance(wall, (int, float)) and wall > 0 else time.perf_counter() - t0
            rec = _record(run, model, result, seconds, configs[run.key])
            if spectra_samples:
                rec["spectra"] = _spectra(model, splits, spectra_samples, spectra_input or _test_images)
            write_json(record_path(out, run), rec, non_finite="mark")  # a diverged loss stays visible
    keys = {r.key for r in runs}
    return [rec for rec in load_records(out) if rec["run"]["key"] in keys]


def _record(run: Run, model, result, seconds: float, config: dict) -> dict:
    coeffs = list(model.learned_coefficients()) if hasattr(model, "learned_coefficients") else []
    summary = {k: plain(getattr(result, k, None)) for k in
               ("final_test_acc", "best_val_acc", "test_acc_at_best", "best_test_acc", "epochs_done")}
    if summary["final_test_acc"] is None:
        raise ValueError(f"run {run.key}: the training result has no final_test_acc")
    return {
        "run": {**run.to_dict(), "key": run.key},
        "parameters": int(sum(p.numel() for p in model.parameters())),
        **summary,
        "history": plain(getattr(result, "history", [])),
        "coefficients": [{k: plain(v) for k, v in r.items()} for r in coeffs],
        "blocks": ([{"stage": st, "block": b, "scheme": scheme_to_dict(s)} for st, b, s in block_schemes(model)]
                   if hasattr(model, "step_schemes") else None),
        "zero_unstable": plain(getattr(result, "zero_unstable", [])),
        "config": config,
        "seconds": seconds,
        # how it ran (device, bf16, channels-last, compile): not part of the configuration,
        # since fast paths leave the algorithm alone, but said beside its wall time
        "options": plain((getattr(result, "config", None) or {}).get("options")),
    }


def _test_images(splits, n: int):
    from numnet.data import Loader  # the images normalised exactly as in training

    return next(iter(Loader(splits.test, n, shuffle=False))).images


NO_BRANCHES = "the model has no residual_branches(), so its Jacobian spectra were not computed"


def _spectra(model, splits, samples: int, images):
    from .spectra import block_spectra

    if not hasattr(model, "residual_branches"):
        warnings.warn(NO_BRANCHES, stacklevel=3)
        return None
    x = images(splits, samples)
    eig = block_spectra(model, x, samples=samples, method="arnoldi", krylov_dim=16)
    return [None if e is None else [[float(z.real), float(z.imag)] for z in e.ravel()] for e in eig]


def add_spectra(out, *, data, samples: int = 4, keys=None, build=None, spectra_input=None,
                progress: bool = True) -> list:
    """Store the per-block Jacobian spectra in the finished records under ``out`` that lack
    them, from each run's last checkpoint (``out/train/<key>/checkpoint.pt``): the model is
    rebuilt from the record's configuration, its final weights loaded, and
    :func:`_spectra` computed as :func:`run_grid` would have with ``spectra_samples``. A
    checkpoint that is not the record's final state — another epoch, or learned
    coefficients that differ from the record's — is a :class:`StaleRecord`; a missing one
    a ``FileNotFoundError`` naming it. The record says where its spectra came from
    (``spectra_from``). Returns the keys given spectra; ``keys`` limits the runs.
    """
    import torch

    from numnet.train.checkpoint import load, restore_model

    out = Path(out)
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    todo = [rec for rec in load_records(out) if rec.get("spectra") is None
            and (keys is None or rec["run"]["key"] in set(keys))]
    if not todo:
        return []
    splits = data() if callable(data) else data
    build = build or require("nets", "build")
    done = []
    for rec in _progress(todo, progress):
        key = rec["run"]["key"]
        path = out / TRAIN_DIR / key / "checkpoint.pt"
        if not path.exists():
            raise FileNotFoundError(f"{path}: run {key} has no checkpoint to compute its spectra from")
        state = load(path, keys=("model", "epoch"))
        if state["epoch"] != rec.get("epochs_done"):
            raise StaleRecord(f"{path} holds epoch {state['epoch']}, but the record {key} finished after "
                              f"{rec.get('epochs_done')} epochs: it is not the recorded model")
        options = dict(rec["config"]["build"])
        net, depth = options.pop("net"), options.pop("depth")
        torch.manual_seed(rec["run"]["seed"])
        model = build(net, depth, **options)
        restore_model(model, state["model"], path)
        if hasattr(model, "learned_coefficients"):
            now = [plain(r["value"]) for r in model.learned_coefficients()]
            if now != [r["value"] for r in rec.get("coefficients") or []]:
                raise StaleRecord(f"{path}: the learned coefficients differ from the record {key}'s: "
                                  f"it is not the recorded model")
        rec["spectra"] = _spectra(model, splits, samples, spectra_input or _test_images)
        rec["spectra_from"] = (f"{TRAIN_DIR}/{key}/checkpoint.pt (epoch {state['epoch']}), the first {samples} "
                               f"test images, Arnoldi with 16 Krylov vectors, float64")
        write_json(out / RECORD_DIR / f"{key}.json", rec, non_finite="mark")
        done.append(key)
    return done


def _progress(items, on):
    if not on:
        return items
    from numnet.progress import progress

    return progress(items, desc="study", unit="run")
