"""The study table: accuracy beside the numerical properties of each net's scheme.

One row per (architecture, depth): parameters, order, error constant, zero stability,
stability interval, learned-coefficient statistics and test error mean ± std over seeds.
Properties come from :mod:`numnet.schemes`. For a family with free symbols (LM-ResNet's
k) they are those of the *learned* per-block schemes, each learned value substituted
exactly (the float's exact rational value), and summarised over blocks and seeds.

>>> rec = lambda arch, scheme, seed, acc, coeffs=(): {
...     "run": {"arch": arch, "net": arch, "scheme": scheme, "depth": 20, "seed": seed, "key": f"{arch}-{seed}"},
...     "parameters": 1000, "final_test_acc": acc, "coefficients": list(coeffs)}
>>> rows = summarise([rec("heun", "heun", 0, 0.90), rec("heun", "heun", 1, 0.92)])
>>> r = rows[0]
>>> r["order"], r["stability_interval"], round(r["test_error_mean"], 4), round(r["test_error_std"], 4)
(2, '(-2, 0]', 0.09, 0.0141)
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from pathlib import Path

import numpy as np

from numnet.fileio import write_json, write_text

COLUMNS = (
    ("arch", "net"), ("scheme", "scheme"), ("depth", "depth"), ("parameters", "params"),
    ("order", "order p"), ("consistent_with", "consistent with"), ("order_rescaled", "order on c·u' = f"),
    ("lmm_error_constant", "LMM C_{p+1}/σ(1)"), ("rk_error_norm", "RK ‖τ_{p+1}‖₂"),
    ("zero_stable", "zero-stable"), ("stability_interval", "stability interval"),
    ("learned", "learned coefficients"), ("coefficient_decay", "coef. decay"), ("test_error", "test error (%)"),
    ("runs", "runs"),
)
"""(key, Markdown header) of the table's columns, in order."""

DEFINITIONS = {
    "order p": "order of the step as a method for u' = f (the ODE a residual block discretises)",
    "consistent with": "c·u' = f with c = ρ'(1)/σ(1): the equation the step is consistent with (c = 1 for a "
                       "consistent method; LM-ResNet: c = 1 + k, the leading term of its modified equation)",
    "order on c·u' = f": "order of the step as a method for c·u' = f, i.e. of the LMM (α, c·β) "
                         "(numnet.schemes.rescaled); equal to p when c = 1",
    "LMM C_{p+1}/σ(1)": "error constant of a multistep method, C_{p+1}/σ(1) of (α, c·β) (AB2: 5/12); "
                        "not defined for Runge–Kutta methods",
    "RK ‖τ_{p+1}‖₂": "principal error norm of a Runge–Kutta method: the 2-norm of its order-(p+1) "
                     "truncation-error coefficients over rooted trees — a different quantity from the LMM "
                     "constant, so the two columns are not compared with each other",
    "zero-stable": "root condition on ρ, decided exactly (learned schemes: blocks that satisfy it)",
    "stability interval": "(a, 0]: the negative real z = hλ for which the step is absolutely stable "
                          "(learned schemes: the interval every block shares, and the range of a over blocks)",
    "learned coefficients": "mean ± std [min, max] of each learned coefficient over blocks and seeds",
    "coef. decay": "how weight decay treats the learnable scheme coefficients (Recipe.coefficient_decay): "
                   "official = as the LM-ResNet code (decay of the stored 1−k, pulling k toward 1), none, "
                   "toward-scheme (toward the highest-order values), zero (of k itself)",
    "test error (%)": "test error after the last epoch; mean ± sample std over seeds when there are several",
}
"""What each column of the table means (printed under the table in the report)."""


# -- scheme properties ----------------------------------------------------------------------
def interval_left(s) -> float | None:
    """The left end a of the stability interval (a, 0] as a float; None if empty or {0}."""
    import sympy as sp

    if s is sp.S.EmptySet or isinstance(s, sp.FiniteSet):
        return None
    return float(s.start)


@functools.lru_cache(maxsize=None)
def scheme_properties(name: str) -> dict:
    """Order, error constant, zero stability and stability interval of a concrete catalog
    scheme.

    >>> p = scheme_properties("ab2")
    >>> p["order"], p["error_constant"], p["zero_stable"], p["stability_interval"], p["stability_left"]
    (2, '5/12', True, '(-1, 0]', -1.0)
    """
    from numnet.schemes import get

    return _properties(get(name))


def _properties(s) -> dict:
    from numnet.schemes.rescaled import rescaled
    from numnet.schemes.table import format_interval, format_number

    interval = s.stability_interval()
    ec = s.error_constant
    out = {
        "order": int(s.order),
        "error_constant": format_number(ec),
        "error_constant_value": float(ec),
        "zero_stable": bool(s.is_zero_stable),
        "stability_interval": format_interval(interval),
        "stability_left": interval_left(interval),
        "consistent_with": "u' = f", "c": 1.0, "order_rescaled": int(s.order),
        "lmm_error_constant": None, "lmm_error_constant_value": None,
        "rk_error_norm": None, "rk_error_norm_value": None,
    }
    if s.kind == "LMM":
        c, m = rescaled(s)
        mc = m.error_constant
        out.update(c=float(c), consistent_with="u' = f" if c == 1 else f"{format_number(c)}·u' = f",
                   order_rescaled=int(m.order), lmm_error_constant=format_number(mc),
                   lmm_error_constant_value=float(mc))
    else:
        out.update(rk_error_norm=format_number(ec), rk_error_norm_value=float(ec))
    return out


@functools.lru_cache(maxsize=None)
def _learned_block(name: str, values: tuple) -> dict:
    import sympy as sp

    from numnet.schemes import get

    concrete = get(name).subs({sym: sp.Rational(v) for sym, v in values})
    return _properties(concrete)


def block_values(coefficients) -> list:
    """Rows ``{stage, block, symbol, value}`` grouped per block (per block and channel for
    rows with a ``channel``): ``[((stage, block), ((symbol, value), ...)), ...]``.

    >>> block_values([{"stage": 0, "block": 1, "symbol": "k", "value": -0.1}])
    [((0, 1), (('k', -0.1),))]
    """
    blocks = {}
    for r in coefficients:  # a channel-wise step: one scheme per (block, channel)
        key = (r["stage"], r["block"]) + ((r["channel"],) if "channel" in r else ())
        blocks.setdefault(key, []).append((str(r["symbol"]), float(r["value"])))
    return [(key, tuple(sorted(v))) for key, v in sorted(blocks.items())]


def learned_properties(name: str, runs_coefficients) -> dict:
    """Properties of a family's learned per-block schemes, over the blocks of every run.

    ``runs_coefficients``: per run, its learned-coefficient rows. The stability interval
    reported is the one common to all learned blocks (a = the largest left end).

    >>> rows = [{"stage": 0, "block": b, "symbol": "k", "value": k} for b, k in enumerate((-0.1, 0.2))]
    >>> p = learned_properties("lm_resnet", [rows])
    >>> p["order"], p["zero_stable"], p["stability_interval"], p["stability_range"]
    (0, '2/2 blocks', '(-1.6, 0]', 'a ∈ [-2.2, -1.6]')
    >>> p["consistent_with"], p["order_rescaled"], p["lmm_error_constant"]   # (1+k)u' = f, C = (1-k)/(2(1+k))
    ("c·u' = f, c ∈ [0.9, 1.2]", 1, '0.3333 … 0.6111')
    """
    props = [_learned_block(name, vals) for rows in runs_coefficients for _, vals in block_values(rows)]
    if not props:
        raise ValueError(f"{name} has free symbols but the runs hold no learned coefficients")
    orders = sorted({p["order"] for p in props})
    lefts = [p["stability_left"] for p in props]
    finite = [a for a in lefts if a is not None]
    common = None if len(finite) < len(lefts) else max(finite)
    ecs = [p["error_constant_value"] for p in props]
    rescaled_orders = sorted({p["order_rescaled"] for p in props})
    cs = [p["c"] for p in props]
    lmm = [p["lmm_error_constant_value"] for p in props if p["lmm_error_constant_value"] is not None]
    rk = [p["rk_error_norm_value"] for p in props if p["rk_error_norm_value"] is not None]
    return {
        "order": orders[0] if len(orders) == 1 else ", ".join(map(str, orders)),
        "order_min": orders[0],
        "error_constant": _range(ecs),
        "error_constant_value": float(np.mean(ecs)),
        "c": float(np.mean(cs)),
        "consistent_with": "u' = f" if all(c == 1 for c in cs) else f"c·u' = f, c ∈ [{_g(min(cs))}, {_g(max(cs))}]",
        "order_rescaled": rescaled_orders[0] if len(rescaled_orders) == 1 else ", ".join(map(str, rescaled_orders)),
        "order_rescaled_min": rescaled_orders[0],
        "lmm_error_constant": _range(lmm) if lmm else None,
        "lmm_error_constant_value": float(np.mean(lmm)) if lmm else None,
        "rk_error_norm": _range(rk) if rk else None,
        "rk_error_norm_value": float(np.mean(rk)) if rk else None,
        "zero_stable_fraction": sum(p["zero_stable"] for p in props) / len(props),
        "zero_stable": f"{sum(p['zero_stable'] for p in props)}/{len(props)} blocks",
        "stability_interval": "∅" if common is None else f"({_g(common)}, 0]",
        "stability_left": common,
        "stability_range": f"a ∈ [{_g(min(finite))}, {_g(max(finite))}]" if finite else "",
    }


def coefficient_stats(runs_coefficients) -> dict:
    """Per symbol, over every learned block of every run: mean, std, min, max, count.

    >>> coefficient_stats([[{"stage": 0, "block": 0, "symbol": "k", "value": -0.1}],
    ...                    [{"stage": 0, "block": 0, "symbol": "k", "value": 0.1}]])["k"]
    {'mean': 0.0, 'std': 0.1, 'min': -0.1, 'max': 0.1, 'count': 2}
    """
    by = {}
    for rows in runs_coefficients:
        for r in rows:
            by.setdefault(str(r["symbol"]), []).append(float(r["value"]))
    return {s: {"mean": _r(np.mean(v)), "std": _r(np.std(v)), "min": _r(min(v)), "max": _r(max(v)), "count": len(v)}
            for s, v in sorted(by.items())}


def coefficient_decay(records) -> str:
    """How the runs' recipes decayed learnable coefficients (``Recipe.coefficient_decay``
    in each record's ``config.recipe``); records from before the field existed decayed k
    itself toward 0 (``"zero"``).

    >>> coefficient_decay([{"config": {"recipe": {"coefficient_decay": "none"}}}, {"config": {"recipe": {}}}])
    'none, zero (recorded before the field)'
    """
    seen = sorted({((rec.get("config") or {}).get("recipe") or {}).get("coefficient_decay",
                                                                       "zero (recorded before the field)")
                   for rec in records})
    return ", ".join(seen)


# -- the table ----------------------------------------------------------------------------------
def summarise(records) -> list:
    """One row per (arch, depth) from run records (see :mod:`numnet.study.runner`)."""
    from numnet.schemes import get

    groups = {}
    for rec in records:
        run = rec["run"]
        groups.setdefault((run["arch"], run["depth"]), []).append(rec)
    rows = []
    for (arch, depth), recs in groups.items():
        run = recs[0]["run"]
        scheme = get(run["scheme"])
        coeffs = [rec.get("coefficients") or [] for rec in recs]
        props = learned_properties(scheme.name, coeffs) if scheme.free_symbols else scheme_properties(scheme.name)
        errors = [1.0 - rec["final_test_acc"] for rec in recs]
        params = sorted({rec["parameters"] for rec in recs})
        stats = coefficient_stats(coeffs)
        rows.append({
            "arch": arch, "net": run["net"], "scheme": scheme.name, "depth": depth,
            "parameters": params[0] if len(params) == 1 else params,
            **props,
            "learned": "; ".join(f"{s}: {_g(v['mean'])} ± {_g(v['std'])} [{_g(v['min'])}, {_g(v['max'])}]"
                                 for s, v in stats.items()),
            "learned_stats": stats,
            "coefficient_decay": coefficient_decay(recs) if scheme.free_symbols else "",
            "test_error_mean": float(np.mean(errors)),
            "test_error_std": float(np.std(errors, ddof=1)) if len(errors) > 1 else None,
            "runs": len(recs),
            "seeds": sorted(rec["run"]["seed"] for rec in recs),
            "label": arch,
        })
    return sorted(rows, key=lambda r: (r["depth"], r["arch"]))


def _cell(row, key) -> str:
    if key == "test_error":
        m, s = 100 * row["test_error_mean"], row["test_error_std"]
        return f"{m:.2f}" + ("" if s is None else f" ± {100 * s:.2f}")
    if key in ("lmm_error_constant", "rk_error_norm") and row.get(key) is None:
        return "—"
    if key == "stability_interval" and row.get("stability_range"):
        return f"{row.get(key)} (blocks: {row['stability_range']})"
    if key == "zero_stable" and isinstance(row.get(key), bool):
        return "yes" if row[key] else "no"
    v = row.get(key)
    return "" if v is None else str(v)


def markdown(rows) -> str:
    """The table as GitHub Markdown.

    >>> print(markdown([]).splitlines()[0])
    | net | scheme | depth | params | order p | consistent with | order on c·u' = f | LMM C_{p+1}/σ(1) | RK ‖τ_{p+1}‖₂ | zero-stable | stability interval | learned coefficients | coef. decay | test error (%), one seed | runs |
    """
    from numnet.schemes.table import format_table

    seeds = max((r.get("runs", 1) for r in rows), default=1)
    header = {"test_error": "test error (%), mean ± std over seeds" if seeds > 1 else "test error (%), one seed"}
    columns = [(k, header.get(k, h)) for k, h in COLUMNS]
    shown = [{h: _cell(r, k).replace("|", "\\|") for k, h in columns} for r in rows]
    return format_table(shown, columns=[h for _, h in columns], fmt="markdown") + "\n"


def definitions() -> str:
    """The column definitions as a Markdown list (the report prints it under the table)."""
    return "\n".join(f"- **{name}**: {text}" for name, text in DEFINITIONS.items()) + "\n"


CSV_FIELDS = {  # column -> "number" (empty when undefined) or "text"
    "arch": "text", "net": "text", "scheme": "text", "depth": "number", "parameters": "number",
    "order": "number", "c": "number", "order_rescaled": "number", "lmm_error_constant": "number",
    "lmm_error_constant_exact": "text", "rk_error_norm": "number", "rk_error_norm_exact": "text",
    "zero_stable_fraction": "number", "stability_left": "number", "stability_interval": "text",
    "learned": "text", "test_error_mean": "number", "test_error_std": "number", "runs": "number", "seeds": "text",
}
"""The CSV's columns: numeric ones hold only numbers (or nothing), for pandas or a spreadsheet."""


def csv_record(row) -> dict:
    """One table row as the CSV's values: numbers in numeric columns (the smallest order
    over learned blocks, the fraction of zero-stable blocks, −inf as ``-inf``), exact
    values and text in text columns.

    >>> r = {"arch": "lm", "order": "0, 1", "order_min": 0, "zero_stable": "3/4 blocks", "zero_stable_fraction": 0.75,
    ...      "lmm_error_constant": "1/2", "lmm_error_constant_value": 0.5, "seeds": [0, 1]}
    >>> {k: v for k, v in csv_record(r).items() if v != ""}
    {'arch': 'lm', 'order': 0, 'lmm_error_constant': 0.5, 'lmm_error_constant_exact': '1/2', 'zero_stable_fraction': 0.75, 'seeds': '0 1'}
    """
    zero = row.get("zero_stable")
    values = {
        **row,
        "order": row.get("order_min", row.get("order")),
        "order_rescaled": row.get("order_rescaled_min", row.get("order_rescaled")),
        "lmm_error_constant": row.get("lmm_error_constant_value"), "lmm_error_constant_exact": row.get("lmm_error_constant"),
        "rk_error_norm": row.get("rk_error_norm_value"), "rk_error_norm_exact": row.get("rk_error_norm"),
        "zero_stable_fraction": row.get("zero_stable_fraction", float(zero) if isinstance(zero, bool) else None),
        "parameters": row.get("parameters") if not isinstance(row.get("parameters"), list) else None,
    }
    out = {}
    for key, kind in CSV_FIELDS.items():
        v = values.get(key)
        if isinstance(v, list):
            v = " ".join(map(str, v))
        if kind == "number" and v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool)):
            raise ValueError(f"CSV column {key!r} takes numbers, row {row.get('arch')!r} gives {v!r}")
        out[key] = "" if v is None else v
    return out


def to_csv(rows) -> str:
    """The table as CSV (numbers unrounded, :func:`csv_record` per row)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CSV_FIELDS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(csv_record(r))
    return buf.getvalue()


def write_table(rows, out, name: str = "table") -> dict:
    """Write ``<name>.md``, ``<name>.csv`` and ``<name>.json`` under ``out`` (atomically;
    in the JSON, −∞ is the string ``"-inf"``); returns ``{format: path}``.

    >>> import tempfile
    >>> row = {"arch": "bdf2", "scheme": "bdf2", "depth": 20, "stability_left": float("-inf"),
    ...        "test_error_mean": 0.1, "test_error_std": None}
    >>> paths = write_table([row], tempfile.mkdtemp())
    >>> sorted(paths), json.loads(paths["json"].read_text())[0]["stability_left"]
    (['csv', 'json', 'md'], '-inf')
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / f"{name}.md", "csv": out / f"{name}.csv", "json": out / f"{name}.json"}
    for fmt, text in (("md", markdown(rows)), ("csv", to_csv(rows))):
        write_text(paths[fmt], text)
    write_json(paths["json"], [{k: _strict(v) for k, v in r.items()} for r in rows])
    return paths


def _strict(v):
    """Non-finite floats (an A-stable scheme's interval end −∞) as strings, for strict JSON."""
    return str(v) if isinstance(v, float) and not math.isfinite(v) else v


def _range(values) -> str:
    lo, hi = min(values), max(values)
    return _g(lo) if math.isclose(lo, hi, abs_tol=1e-12) else f"{_g(lo)} … {_g(hi)}"


def _g(x) -> str:
    x = float(x)
    return f"{x:.4g}"


def _r(x) -> float:
    return round(float(x), 12)
