"""Running a grid: one training per run, one record file per finished run.

``run_grid(runs, out, data=...)`` builds each model with ``numnet.nets.build`` and trains
it with ``numnet.train.train`` (both injectable, imported lazily by default). A finished
run leaves ``out/runs/<key>.json`` (written atomically: whole or absent) and is never
recomputed; the training itself checkpoints under ``out/train/<key>/`` so an interrupted
run resumes there. Shards (:func:`numnet.study.grid.shard`) write disjoint record files,
and :func:`merge` gathers the records of several output folders into one.

The record holds what the table and the figures need: the run, parameter count, final
and best accuracies, the per-epoch history, the learned coefficients
(``model.learned_coefficients()``) and optionally the per-block Jacobian spectra.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from numnet.plots.learned import block_schemes

from numnet.fileio import write_json

from .grid import Run
from .records import load_records, plain, record_path, scheme_to_dict
from .wiring import require

TRAIN_DIR = "train"


# -- running -------------------------------------------------------------------------------
def run_grid(runs, out, *, data, recipe=None, build=None, train=None, spectra_samples: int = 0,
             spectra_input=None, progress: bool = True, train_options: dict | None = None) -> list:
    """Train every run in ``runs`` not yet finished under ``out``; return all their records.

    ``data``: the data splits (``numnet.data.Splits``) or a zero-argument function giving
    them, called only if some run still has to be trained. ``build(net, depth,
    num_classes=, in_channels=, **run.build_options())`` and ``train(model, data, recipe=, out=, seed=,
    meta=, **train_options)`` default to numnet's; the model's initialisation is seeded
    with the run's seed before ``build``.

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
    ...     calls.append(kw["meta"]["seed"])
    ...     return SimpleNamespace(final_test_acc=0.5, history=[])
    >>> out, runs = tempfile.mkdtemp(), plan(["resnet"], [20], [0, 1])
    >>> build = lambda net, depth, **options: torch.nn.Linear(1, 1)
    >>> data = SimpleNamespace(num_classes=10, in_channels=1)
    >>> len(run_grid(runs, out, data=data, build=build, train=train, progress=False)), calls
    (2, [0, 1])
    >>> len(run_grid(runs, out, data=data, build=build, train=train, progress=False)), calls  # nothing redone
    (2, [0, 1])
    """
    import torch

    runs = list(runs)
    if not all(isinstance(r, Run) for r in runs):
        raise TypeError("runs must be numnet.study.grid.Run objects (see numnet.study.grid.plan)")
    out = Path(out)
    todo = [r for r in runs if not record_path(out, r).exists()]
    if todo:
        build = build or require("nets", "build")
        train = train or require("train", "train")
        splits = data() if callable(data) else data
        bar = _progress(todo, progress)
        for run in bar:
            if hasattr(bar, "set_postfix_str"):
                bar.set_postfix_str(run.key)
            torch.manual_seed(run.seed)
            model = build(run.net, run.depth, num_classes=splits.num_classes, in_channels=splits.in_channels,
                          **run.build_options())
            t0 = time.perf_counter()
            result = train(model, splits, recipe=recipe, out=out / TRAIN_DIR / run.key, seed=run.seed,
                           meta=run.to_dict(), **(train_options or {}))
            rec = _record(run, model, result, time.perf_counter() - t0)
            if spectra_samples:
                rec["spectra"] = _spectra(model, splits, spectra_samples, spectra_input or _test_images)
            write_json(record_path(out, run), rec)
    keys = {r.key for r in runs}
    return [rec for rec in load_records(out) if rec["run"]["key"] in keys]


def _record(run: Run, model, result, seconds: float) -> dict:
    coeffs = list(model.learned_coefficients()) if hasattr(model, "learned_coefficients") else []
    config = getattr(result, "config", None)
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
        "recipe": plain(config.get("recipe")) if isinstance(config, dict) else None,
        "seconds": seconds,
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


def _progress(items, on):
    if not on:
        return items
    from numnet.progress import progress

    return progress(items, desc="study", unit="run")
