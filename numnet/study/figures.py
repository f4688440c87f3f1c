"""The study's figures, drawn from run records and table rows (no model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .records import scheme_from_dict

SCATTERS = (
    ("stability_left", "left end a of the stability interval (a, 0]"),
    ("lmm_error_constant_value", "LMM error constant C_{p+1}/σ(1) on c·u' = f"),
    ("rk_error_norm_value", "RK principal error norm ‖τ_{p+1}‖₂"),
    ("parameters", "parameters"),
)


def learned_runs(records, arch: str, depth: int) -> dict:
    """The records of one (arch, depth) with learned coefficients, keyed ``"seed N"``."""
    return {f"seed {r['run']['seed']}": r for r in sorted(records, key=lambda r: r["run"]["seed"])
            if r["run"]["arch"] == arch and r["run"]["depth"] == depth and r.get("coefficients")}


def learned_figure(records, arch: str, depth: int, path=None):
    """:func:`numnet.plots.learned_stability` for one (arch, depth): every seed's learned
    coefficients, and the first seed's block schemes and stored spectra (if any)."""
    from numnet import plots
    from numnet.schemes import get

    runs = learned_runs(records, arch, depth)
    if not runs:
        raise ValueError(f"no run of {arch} at depth {depth} has learned coefficients")
    first = next(iter(runs.values()))
    family = get(first["run"]["scheme"])
    rows = {label: rec["coefficients"] for label, rec in runs.items()}
    if first.get("blocks"):
        blocks = [{"stage": b["stage"], "block": b["block"], "scheme": scheme_from_dict(b["scheme"])}
                  for b in first["blocks"]]
    else:  # no step_schemes stored: the learned blocks rebuilt from the family
        from .table import block_values

        blocks = [{"stage": st, "block": b, "scheme": family.subs(dict(vals))}
                  for (st, b), vals in block_values(first["coefficients"])]
    spectra = first.get("spectra")
    if spectra is not None and len(spectra) == len(blocks):
        spectra = [None if e is None else np.array([complex(re, im) for re, im in e]) for e in spectra]
    else:
        spectra = None
    title = f"{arch}, depth {depth}: learned coefficients and stability"
    return plots.learned_stability((rows, blocks), family=family, spectra=spectra, title=title, path=path)


def informative(rows, key, rtol: float = 0.01) -> bool:
    """Whether ``key`` varies over the rows (finite values) by more than ``rtol`` of its
    size: a property every net shares — one parameter count for ResNet and LM-ResNet, which
    differ by a handful of k_n — would make a scatter whose axis is noise.

    >>> informative([{"p": 269722}, {"p": 269728}], "p"), informative([{"p": 1}, {"p": 2.5}], "p")
    (False, True)
    """
    values = [float(r[key]) for r in rows if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)
              and np.isfinite(float(r[key]))]
    if len(values) < 2:
        return False
    return max(values) - min(values) > rtol * max(abs(v) for v in values)


def training_figure(records, path=None):
    """:func:`numnet.plots.training_curves` of every run in ``records`` (label: net, depth, seed)."""
    from numnet import plots

    runs = {f"{r['run']['arch']}-{r['run']['depth']} s{r['run']['seed']}": r["history"]
            for r in sorted(records, key=lambda r: r["run"]["key"]) if _has_curve(r)}
    if not runs:
        raise ValueError("no run record holds a per-epoch history with training losses")
    return plots.training_curves(runs, title="training curves", path=path)


def _has_curve(record) -> bool:
    return any(h.get("train_loss") is not None for h in record.get("history") or [])


def caption(name: str, rows, records) -> str:
    """The caption the report prints under figure ``name`` (a key of :func:`write_figures`)."""
    seeds = max((r.get("runs", 1) for r in rows), default=1)
    spread = "mean ± sample std over seeds" if seeds > 1 else "one seed, so no error bars"
    if name == "training_curves":
        return ("Training loss (left, log scale) and test accuracy (right; dashed: validation) after each epoch, "
                "one line per run.")
    if name.startswith("error_vs_"):
        key = name[len("error_vs_"):]
        label = dict(SCATTERS).get(key, key)
        return (f"Test error after the last epoch ({spread}) against the {label} of each net's scheme; one point "
                f"per net and depth, marker by depth. Learned families are placed by their learned blocks "
                f"(the interval all blocks share, the mean error constant).")
    if name.startswith("learned_"):
        return ("Left: each learned coefficient per block (x: stage/block, every seed) inside the band where the "
                "family is zero-stable (solid edge: in the set; dashed: not). Right: the absolute-stability "
                "regions of the learned per-block schemes (one boundary per block, coloured by block; grey: "
                "stable for every block) with the eigenvalues z = h·λ of each block's Jacobian in the same "
                "colour, so each block's spectrum is read against its own boundary.")
    return ""


def write_figures(records, rows, out) -> dict:
    """Write the study's figures under ``out``: the training curves of every run
    (``training_curves.png``), test error against each numerical property that varies
    over the nets (``error_vs_<property>.png``; a property every net shares would be an
    axis of noise) and, per (arch, depth) with learned coefficients,
    ``learned_<arch>_d<depth>.png``. Returns ``{name: path}``; :func:`caption` gives each
    one's caption."""
    from numnet import plots

    out = Path(out)
    paths = {}
    if any(_has_curve(r) for r in records):
        paths["training_curves"] = out / "training_curves.png"
        training_figure(records, path=paths["training_curves"])
    seeds = max((r.get("runs", 1) for r in rows), default=1)
    ylabel = "test error (mean ± std over seeds)" if seeds > 1 else "test error (one seed)"
    for key, label in SCATTERS:
        if informative(rows, key):
            p = out / f"error_vs_{key}.png"
            plots.property_scatter(rows, key, xlabel=label, ylabel=ylabel, title=f"test error vs {label}", path=p)
            paths[f"error_vs_{key}"] = p
    for r in rows:
        if learned_runs(records, r["arch"], r["depth"]):
            name = f"learned_{r['arch'].replace(':', '+')}_d{r['depth']}"
            paths[name] = out / f"{name}.png"
            learned_figure(records, r["arch"], r["depth"], path=paths[name])
    return paths
