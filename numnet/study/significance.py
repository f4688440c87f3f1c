"""Is a difference between two nets larger than the seed noise? Tests over seeds.

Each net of a study is trained from several seeds; its test errors over the seeds are a
small sample. Two tests compare a net with a baseline, both two-sided:

- :func:`welch` — Welch's unequal-variance t-test (Welch 1947; the Welch–Satterthwaite
  degrees of freedom), which assumes each sample is drawn from a normal distribution;
- :func:`permutation` — the exact permutation test of the difference of means: every way of
  splitting the pooled errors into groups of the two sizes is enumerated, so it assumes
  only that the seeds are exchangeable. Its p-value cannot fall below
  ``2 / C(n_a + n_b, n_a)`` (3 seeds against 3: 0.1), which :func:`smallest_p` states, so
  with few seeds it can never reach the 5 % level — a fact to print beside the table, not
  to hide.

:func:`versus` applies both to every row of a study against one baseline row.

>>> r = welch([0.0720, 0.0746, 0.0733], [0.0760, 0.0781, 0.0770])
>>> round(r["t"], 2), round(r["dof"], 2), round(r["p"], 4)
(-3.87, 3.83, 0.0195)
>>> permutation([0.0720, 0.0746, 0.0733], [0.0760, 0.0781, 0.0770])["p"], smallest_p(3, 3)
(0.1, 0.1)
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["welch", "permutation", "smallest_p", "versus", "markdown"]

MAX_SPLITS = 200_000
"""The largest number of group assignments :func:`permutation` enumerates."""


def _sample(x, name: str) -> np.ndarray:
    if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError(f"{name} must be a sequence of numbers (one per seed), got {type(x).__name__}")
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or len(a) < 2:
        raise ValueError(f"{name} needs at least 2 values (one per seed) to have a spread, got {list(a.ravel())}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds a non-finite value: {a.tolist()}")
    return a


def welch(a, b) -> dict:
    """Welch's two-sided t-test of mean(a) = mean(b): ``{"diff": mean(a) − mean(b), "t",
    "dof", "p"}``. Two samples without spread (every value equal in each) have no t: a
    ``ValueError`` says so rather than a NaN.

    >>> welch([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])["p"]
    1.0
    >>> welch([1.0, 1.0], [2.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: Welch's t is undefined: both samples have zero variance ([1.0, 1.0] and [2.0, 2.0])
    """
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        raise ValueError(f"Welch's t is undefined: both samples have zero variance ({a.tolist()} and {b.tolist()})")
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    p = float(2 * stats.t.sf(abs(t), dof))
    return {"diff": float(a.mean() - b.mean()), "t": float(t), "dof": float(dof), "p": min(p, 1.0)}


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value the exact permutation test of sizes ``n_a``, ``n_b``
    can give: 2 / C(n_a + n_b, n_a) (1 where there are only 2 splits).

    >>> smallest_p(3, 3), smallest_p(5, 5)
    (0.1, 0.007936507936507936)
    """
    return min(1.0, 2 / math.comb(n_a + n_b, n_a))


def permutation(a, b) -> dict:
    """The exact two-sided permutation test of mean(a) = mean(b): the share of the
    C(n_a + n_b, n_a) splits of the pooled values whose |difference of means| is at least
    the observed one (ties within 1e-12 of it count as at least). ``{"diff", "p", "splits"}``.

    >>> permutation([1.0, 2.0], [3.0, 4.0])
    {'diff': -2.0, 'p': 0.3333333333333333, 'splits': 6}
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    pooled, n = np.concatenate([a, b]), len(a)
    splits = math.comb(len(pooled), n)
    if splits > MAX_SPLITS:
        raise ValueError(f"the exact permutation test would enumerate {splits} splits (> {MAX_SPLITS}); "
                         f"samples of {len(a)} and {len(b)} are beyond what it is meant for")
    observed = abs(a.mean() - b.mean())
    total = pooled.sum()
    hits = 0
    for idx in itertools.combinations(range(len(pooled)), n):
        s = pooled[list(idx)].sum()
        if abs(s / n - (total - s) / len(b)) >= observed - 1e-12 * max(1.0, observed):
            hits += 1
    return {"diff": float(a.mean() - b.mean()), "p": hits / splits, "splits": splits}


def _errors(records) -> dict:
    by = {}
    for rec in records:
        by.setdefault((rec["run"]["arch"], rec["run"]["depth"]), []).append(
            (rec["run"]["seed"], 1.0 - float(rec["final_test_acc"])))
    return {k: [e for _, e in sorted(v)] for k, v in by.items()}


def versus(records, baseline: str) -> list:
    """Every (arch, depth) of ``records`` (study run records) against the ``baseline``
    arch at the same depth, on the test error after the last epoch: one row per net with
    ``diff`` (mean error − baseline's), Welch's ``t``, ``dof``, ``p_welch`` and the exact
    permutation ``p_permutation`` (``None`` with a ``note`` where a test is undefined).

    >>> recs = [{"run": {"arch": a, "depth": 20, "seed": s}, "final_test_acc": acc}
    ...         for a, accs in (("resnet", (0.92, 0.93, 0.925)), ("lm", (0.93, 0.935, 0.94)))
    ...         for s, acc in enumerate(accs)]
    >>> row = versus(recs, "resnet")[0]
    >>> row["arch"], round(100 * row["diff"], 2), round(row["p_welch"], 3), row["p_permutation"]
    ('lm', -1.0, 0.07, 0.2)
    """
    errors = _errors(records)
    depths = sorted({d for _, d in errors})
    if not any((baseline, d) in errors for d in depths):
        raise ValueError(f"baseline {baseline!r} is not among the study's nets "
                         f"({', '.join(sorted({a for a, _ in errors}))})")
    rows = []
    for (arch, depth), errs in sorted(errors.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        base = errors.get((baseline, depth))
        if arch == baseline or base is None:
            continue
        row = {"arch": arch, "depth": depth, "baseline": baseline, "seeds": len(errs), "baseline_seeds": len(base),
               "diff": float(np.mean(errs) - np.mean(base)), "t": None, "dof": None, "p_welch": None,
               "p_permutation": None, "p_floor": None, "note": ""}
        try:
            w = welch(errs, base)
            row.update(t=w["t"], dof=w["dof"], p_welch=w["p"])
        except ValueError as e:
            row["note"] = str(e)
        try:
            row["p_permutation"] = permutation(errs, base)["p"]
            row["p_floor"] = smallest_p(len(errs), len(base))
        except ValueError as e:
            row["note"] = (row["note"] + "; " if row["note"] else "") + str(e)
        rows.append(row)
    return rows


def markdown(rows) -> str:
    """The :func:`versus` rows as a Markdown table (differences in percentage points)."""
    head = ("| net | depth | seeds | Δ test error vs {b} (pp) | Welch t (dof) | p (Welch) | p (exact permutation; "
            "smallest possible) |\n|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        t = "—" if r["t"] is None else f"{r['t']:+.2f} ({r['dof']:.1f})"
        pw = "—" if r["p_welch"] is None else f"{r['p_welch']:.3f}"
        pp = "—" if r["p_permutation"] is None else f"{r['p_permutation']:.3f} (≥ {r['p_floor']:.3f})"
        lines.append(f"| {r['arch']} | {r['depth']} | {r['seeds']} vs {r['baseline_seeds']} | {100 * r['diff']:+.2f} | "
                     f"{t} | {pw} | {pp} |" + (f" {r['note']}" if r["note"] else ""))
    baseline = rows[0]["baseline"] if rows else "baseline"
    return head.format(b=baseline) + "\n".join(lines) + "\n"
