"""Log-log convergence plots: error against step size, with reference slopes h^p."""

from __future__ import annotations

import numpy as np

from .figure import axes, save


def _curves(curves):
    """(label, hs, errors, used or None) from Convergence-like objects or a mapping."""
    if isinstance(curves, dict):
        return [(str(k), np.asarray(v[0], float), np.asarray(v[1], float), None) for k, v in curves.items()]
    out = []
    for c in curves:
        if not all(hasattr(c, a) for a in ("hs", "errors")):
            raise TypeError(f"curves must be objects with hs and errors (e.g. solvers.Convergence) or a dict, got {c!r}")
        out.append((getattr(c, "label", "curve"), np.asarray(c.hs, float), np.asarray(c.errors, float),
                    getattr(c, "used", None)))
    return out


def plot_convergence(curves, *, orders=(), title=None, path=None, ax=None):
    """Plot error against h on log-log axes; returns the matplotlib ``Figure``.

    ``curves``: objects with ``hs``, ``errors`` (and optionally ``label``, ``used``, e.g.
    :class:`numnet.solvers.Convergence`) or a dict label → (hs, errors). Points that entered
    a fit are filled, the others hollow. ``orders``: reference slopes h^p drawn through the
    first curve's smallest-h fitted point. ``path``: a file (``.png``, ``.svg``, ``.pdf``)
    or a list of them, as for every figure of :mod:`numnet.plots`.

    >>> fig = plot_convergence({"Euler": ([0.1, 0.05], [0.1, 0.05])}, orders=[1], title="demo")
    >>> fig.axes[0].get_xscale(), len(fig.axes[0].lines)  # curve, its points, h^1
    ('log', 3)
    """
    data = _curves(curves)
    if not data:
        raise ValueError("plot_convergence needs at least one curve")
    fig, ax = axes(ax, figsize=(5.0, 3.8))
    anchor = None
    for label, hs, errs, used in data:
        ok = np.isfinite(errs) & (errs > 0)
        (line,) = ax.loglog(hs[ok], errs[ok], "-", label=label, lw=1.2)
        mask = np.ones_like(ok) if used is None else np.asarray(used, bool)
        ax.loglog(hs[ok & mask], errs[ok & mask], "o", color=line.get_color(), ms=4)
        if (ok & ~mask).any():
            ax.loglog(hs[ok & ~mask], errs[ok & ~mask], "o", mfc="none", color=line.get_color(), ms=4)
        if anchor is None and (ok & mask).any():
            i = np.flatnonzero(ok & mask)
            anchor = (hs[i], errs[i])
    for p in orders:
        if anchor is None:
            break
        hs, errs = anchor
        k = int(np.argmin(hs))
        h0, e0 = hs[k], errs[k]
        xs = np.array([hs.min(), hs.max()])
        ax.loglog(xs, e0 * (xs / h0) ** p, "k--", lw=0.8, label=f"h^{p}")
    ax.set_xlabel("step size h")
    ax.set_ylabel("error")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    return save(fig, path)


def convergence_grid(items, *, ncols: int = 6, title: str | None = None, path=None):
    """One small log-log panel per scheme: ``items`` is a list of ``(title, curves,
    order)`` with ``curves`` as for :func:`plot_convergence` and ``order`` the symbolic
    order drawn as the reference slope. Each panel's title gives the symbolic order and
    the observed slopes (curves with an ``order`` attribute, as
    :class:`numnet.solvers.Convergence`); one legend for the whole figure names the
    curves by their position. Returns the Figure.

    >>> fig = convergence_grid([("euler", {"decay": ([0.1, 0.05], [0.1, 0.05])}, 1),
    ...                         ("heun", {"decay": ([0.1, 0.05], [0.01, 0.0025])}, 2)], ncols=2)
    >>> [ax.get_title() for ax in fig.axes], [ax.get_legend() for ax in fig.axes]
    (['euler (p = 1)', 'heun (p = 2)'], [None, None])
    """
    from .figure import grid

    items = list(items)
    if not items:
        raise ValueError("convergence_grid needs at least one (title, curves, order)")
    fig, axs = grid(len(items), ncols=ncols, panel=(2.4, 2.1))
    names = None
    for ax, (name, curves, order) in zip(axs, items):
        plot_convergence(curves, orders=[order], ax=ax)
        observed = [getattr(c, "order", None) for c in (curves.values() if isinstance(curves, dict) else curves)]
        slopes = ", ".join(f"{o:.2f}" for o in observed if isinstance(o, (int, float)))
        ax.set_title(f"{name} (p = {order})" + (f": {slopes}" if slopes else ""), fontsize="small")
        handles, labels = ax.get_legend_handles_labels()
        keys = list(curves.keys()) if isinstance(curves, dict) else list(curves)
        n = len(keys)
        names = names or (handles[:n + 1], [getattr(c, "problem", lab) for c, lab in zip(keys, labels)]
                          + ["h^p, p the symbolic order"][:len(handles) - n])
        ax.get_legend().remove()
        ax.set_xlabel("h", fontsize="small")
        ax.set_ylabel("error", fontsize="small")
        ax.tick_params(labelsize="x-small")
    if names:
        fig.legend(*names, loc="outside lower center", ncols=len(names[0]), fontsize="small")
    if title:
        fig.suptitle(title)
    return save(fig, path)
