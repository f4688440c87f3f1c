"""numnet's results in the papers' layout, beside the published values.

Models as rows (those of :data:`~numnet.study.published.PUBLISHED`), depths as columns
(20 / 32 / 44 / 56 and any other depth the runs have); in each depth a "numnet" cell
(test error %, mean ± sample std over seeds, and the number of runs) and a "published"
cell (the paper's value). The two are never merged: the published values come from
:mod:`numnet.study.published` with their sources, listed under the table, and the table
says on which data and recipe numnet's runs were trained — a warning line when that is not
the papers' CIFAR-10.

>>> rec = lambda arch, depth, seed, acc: {"run": {"arch": arch, "net": "adams_net", "scheme": "adams2",
...     "depth": depth, "seed": seed, "key": f"{arch}-d{depth}-s{seed}"}, "parameters": 1, "final_test_acc": acc,
...     "config": {"data": {"name": "cifar10"}, "recipe": {"name": "paper", "epochs": 160}}}
>>> rows = paper_rows([rec("adams2", 20, 0, 0.92), rec("adams2", 20, 1, 0.91)])
>>> r = [r for r in rows if r["arch"] == "adams2" and r["depth"] == 20][0]
>>> round(r["numnet_mean"], 2), round(r["numnet_std"], 3), r["runs"], r["published"]
(8.5, 0.707, 2, 7.81)
>>> print(markdown(rows).splitlines()[2])
| model | 20: numnet | 20: published | 32: numnet | 32: published | 44: numnet | 44: published | 56: numnet | 56: published |
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from numnet.fileio import write_text

from .published import PAPER_DATA, PAPER_DEPTHS, PUBLISHED

CSV_FIELDS = ("model", "arch", "depth", "numnet_mean", "numnet_std", "runs", "published", "source")
"""The CSV's columns: one line per (model, depth), errors in %."""


def paper_rows(records) -> list:
    """One row per (published model, depth): numnet's mean/std (%) over its runs of that
    architecture and depth (None without runs) and the published value (None where the
    paper has none)."""
    from .table import summarise

    ours = {(r["arch"], r["depth"]): r for r in summarise(list(records))}
    depths = sorted(set(PAPER_DEPTHS) | {d for _, d in ours})
    rows = []
    for arch, pub in PUBLISHED.items():
        for depth in depths:
            r = ours.get((arch, depth))
            std = None if r is None or r["test_error_std"] is None else 100 * r["test_error_std"]
            rows.append({"model": pub.label, "arch": arch, "depth": depth,
                         "numnet_mean": None if r is None else 100 * r["test_error_mean"], "numnet_std": std,
                         "runs": 0 if r is None else r["runs"], "published": pub.errors.get(depth),
                         "source": pub.source})
    return rows


def _ours(row) -> str:
    if row["numnet_mean"] is None:
        return "—"
    std = "" if row["numnet_std"] is None else f" ± {row['numnet_std']:.2f}"
    return f"{row['numnet_mean']:.2f}{std} ({row['runs']})"


def _setting(records) -> tuple:
    """(data name, recipe name, epochs) of the runs (one configuration: the study checks it)."""
    config = (records[0].get("config") or {}) if records else {}
    data, recipe = config.get("data") or {}, config.get("recipe") or {}
    return data.get("name", "unknown data"), recipe.get("name", "unknown recipe"), recipe.get("epochs", "?")


def markdown(rows, records=()) -> str:
    """The table as Markdown: a line on the runs' setting, the table, the sources."""
    from numnet.schemes.table import format_table

    records = list(records)
    data, recipe, epochs = _setting(records)
    depths = sorted({r["depth"] for r in rows})
    columns = ["model"] + [f"{d}: {who}" for d in depths for who in ("numnet", "published")]
    table = {}
    for r in rows:
        line = table.setdefault(r["model"], {"model": r["model"]})
        line[f"{r['depth']}: numnet"] = _ours(r)
        line[f"{r['depth']}: published"] = "—" if r["published"] is None else f"{r['published']:.2f}"
    head = (f"Test error (%). numnet: mean ± sample std over seeds (runs), trained on {data} with recipe "
            f"{recipe!r} ({epochs} epochs); published: {PAPER_DATA}, from the sources below.")
    if records and data != PAPER_DATA:
        head += f"\n\n**numnet's runs are on {data}, the published values on {PAPER_DATA}: not comparable.**"
    notes = "\n".join(f"- {model}: {source}" for model, source in _in_order({(r["model"], r["source"]) for r in rows}))
    return f"{head}\n\n{format_table(list(table.values()), columns=columns, fmt='markdown')}\n\nSources:\n{notes}\n"


def _in_order(pairs):
    order = [p.label for p in PUBLISHED.values()]
    return sorted(pairs, key=lambda p: order.index(p[0]))


def to_csv(rows) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CSV_FIELDS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r[k] is None else r[k] for k in CSV_FIELDS})
    return buf.getvalue()


def write_paper_table(records, out) -> dict:
    """Write ``paper_table.md`` and ``paper_table.csv`` under ``out``; returns ``{format: path}``."""
    records = list(records)
    rows = paper_rows(records)
    out = Path(out)
    paths = {"paper_md": out / "paper_table.md", "paper_csv": out / "paper_table.csv"}
    write_text(paths["paper_md"], markdown(rows, records))
    write_text(paths["paper_csv"], to_csv(rows))
    return paths
