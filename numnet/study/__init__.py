"""The study: scheme nets trained on a grid, their accuracy set beside their numerical properties.

- :mod:`~numnet.study.grid` — architectures × depths × seeds as named :class:`Run` s, shards.
- :mod:`~numnet.study.runner` — :func:`run_grid`: build (``numnet.nets.build``) and train
  (``numnet.train.train``) each run once; one record file per finished run.
- :mod:`~numnet.study.presets` — named grids as data (``fmnist-full``: issue 20's study).
- :mod:`~numnet.study.records` — load and :func:`merge` records of several folders.
- :mod:`~numnet.study.table` — :func:`summarise` records into the table (order, error
  constant, zero stability, stability interval, learned coefficients, test error) and
  :func:`write_table` as Markdown, CSV and JSON.
- :mod:`~numnet.study.figures` — the figures from records.
- :mod:`~numnet.study.published` — the papers' published test errors, with their sources;
  :mod:`~numnet.study.paper_table` sets numnet's beside them in the papers' layout.
- :mod:`~numnet.study.spectra` — Jacobian spectra of residual branches (torch).
- :mod:`~numnet.study.report` — ``numnet report``: scheme table, scipy checks, a small study.
- :mod:`~numnet.study.wiring` — lazy access to the data/train layers; which layers are missing.

:func:`study` runs all of it; ``numnet study`` is the command line.
"""

from __future__ import annotations

from pathlib import Path

from .grid import PAPER_ARCHS, Arch, Run, parse_arch, parse_shard, plan, shard
from .records import check_one_configuration, load_records, merge
from .runner import add_spectra, run_grid
from .table import summarise, write_table

__all__ = [
    "PAPER_ARCHS", "Arch", "Run", "add_spectra", "load_records", "merge", "parse_arch", "parse_shard", "plan", "run_grid",
    "shard", "study", "summarise", "write_outputs", "write_paper_outputs", "write_table",
]


def write_outputs(out, *sources) -> dict:
    """Summarise every record under ``out`` (after merging ``sources`` into it) and write
    ``table.md/.csv/.json`` and the figures there; returns ``{name: path}``."""
    from .figures import write_figures

    if sources:
        merge(out, *sources)
    records = load_records(out)
    if not records:
        raise ValueError(f"no finished runs under {Path(out) / 'runs'}")
    check_one_configuration(records)
    rows = summarise(records)
    return {**write_table(rows, out), **write_figures(records, rows, out)}


def write_paper_outputs(out) -> dict:
    """Write ``paper_table.md/.csv`` (:mod:`numnet.study.paper_table`: numnet's test errors
    in the papers' layout beside the published ones) from the records under ``out``."""
    from .paper_table import write_paper_table

    records = load_records(out)
    if not records:
        raise ValueError(f"no finished runs under {Path(out) / 'runs'}")
    check_one_configuration(records)
    return write_paper_table(records, out)


def study(archs, depths, seeds, out, *, data, recipe=None, shard_of=None, build=None, train=None,
          spectra_samples: int = 0, progress: bool = True, train_options: dict | None = None) -> list:
    """Run the grid archs × depths × seeds under ``out`` (resuming: finished runs are read,
    not recomputed) and, unless this is one shard (``shard_of="i/n"``), write the table
    and figures. Returns the table rows (or, for a shard, its records).

    ``build`` and ``train`` default to ``numnet.nets.build`` and ``numnet.train.train``;
    here two stand-ins show the flow without training anything:

    >>> import tempfile, torch
    >>> from types import SimpleNamespace
    >>> build = lambda net, depth, **options: torch.nn.Linear(1, 1)
    >>> train = lambda model, data, **kw: SimpleNamespace(final_test_acc=0.9, history=[])
    >>> data = SimpleNamespace(num_classes=10, in_channels=1)
    >>> rows = study(["resnet", "heun"], [20], [0, 1], tempfile.mkdtemp(), data=data, build=build,
    ...              train=train, progress=False)
    >>> [(r["arch"], r["order"], r["stability_interval"], round(r["test_error_mean"], 3)) for r in rows]
    [('heun', 2, '(-2, 0]', 0.1), ('resnet', 1, '(-2, 0]', 0.1)]
    """
    runs = plan(archs, depths, seeds)
    if shard_of is not None:
        runs = shard(runs, shard_of)
    records = run_grid(runs, out, data=data, recipe=recipe, build=build, train=train,
                       spectra_samples=spectra_samples, progress=progress, train_options=train_options)
    if shard_of is not None:
        return records
    write_outputs(out)
    return summarise(load_records(out))
