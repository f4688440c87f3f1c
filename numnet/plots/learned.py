"""What a trained scheme net learned, drawn against the numerical analysis of its scheme.

A scheme net (LM-ResNet, a learnable Adams net) has per-block coefficients (k_n, b1_n).
Its bridge back to numerics is the nets contract:

- ``model.learned_coefficients()`` → rows ``{"stage", "block", "symbol", "value"}``;
- ``model.step_schemes()`` → per block the concrete scheme with its learned values.

:func:`learned_coefficients` puts each k_n beside the zero-stability set of the family
(``family.zero_stability_condition()``, exact, never typed in); :func:`learned_regions`
draws the absolute-stability regions of the per-block schemes, with the per-block
Jacobian spectra (z = eigenvalues of the residual branch's Jacobian, see
:mod:`numnet.study.spectra`) on top; :func:`learned_stability` is both side by side.
Every function also takes the plain rows / scheme lists, so stored study results plot
without a model.

>>> rows = [{"stage": 0, "block": b, "symbol": "k", "value": v} for b, v in enumerate((-0.05, 0.2, -1.3))]
>>> fig = learned_coefficients(rows, family="lm_resnet")
>>> fig.axes[0].get_legend_handles_labels()[1][0]
'zero-stable: -1 < k ≤ 1'
"""

from __future__ import annotations

import math

import numpy as np

from .figure import axes, save
from .stability import auto_bounds, draw_region, finish_plane

_BAND_COLORS = ("tab:green", "tab:olive", "tab:cyan")
_RUN_COLORS = ("tab:blue", "tab:orange", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray")


# -- reading the nets contract ----------------------------------------------------------
def coefficient_rows(source) -> list:
    """The learned-coefficient rows of a model (``learned_coefficients()``) or a list of
    rows, checked and sorted by (stage, block, symbol); values as floats.

    >>> coefficient_rows([{"stage": 1, "block": 0, "symbol": "k", "value": 0.1},
    ...                   {"stage": 0, "block": 2, "symbol": "k", "value": -0.2}])[0]["block"]
    2
    >>> coefficient_rows([{"block": 0, "value": 1.0}])
    Traceback (most recent call last):
    ...
    ValueError: a learned-coefficient row needs keys ['block', 'stage', 'symbol', 'value'], got {'block': 0, 'value': 1.0}
    """
    rows = source.learned_coefficients() if hasattr(source, "learned_coefficients") else source
    if isinstance(rows, (str, bytes)) or not hasattr(rows, "__iter__"):
        raise TypeError(f"expected a model with learned_coefficients() or a list of rows, got {source!r}")
    out = []
    need = {"stage", "block", "symbol", "value"}
    for r in rows:
        if not isinstance(r, dict) or not need <= set(r):
            raise ValueError(f"a learned-coefficient row needs keys {sorted(need)}, got {r!r}")
        out.append({**r, "symbol": str(r["symbol"]), "value": float(r["value"])})
    return sorted(out, key=lambda r: (r["stage"], r["block"], r["symbol"]))


def block_schemes(source) -> list:
    """``[(stage, block, scheme), ...]`` from a model's ``step_schemes()`` or a list.

    Accepted shapes: a flat list of schemes (stage None, block = position), a list of
    per-stage lists of schemes, dicts with keys ``stage``, ``block``, ``scheme``, or
    records with those attributes (``numnet.nets``' ``StepScheme``).

    >>> from numnet.schemes import get
    >>> [(st, b, s.name) for st, b, s in block_schemes([[get("euler"), get("ab2")], [get("ab2")]])]
    [(0, 0, 'euler'), (0, 1, 'ab2'), (1, 0, 'ab2')]
    """
    from numnet.schemes import Scheme

    items = source.step_schemes() if hasattr(source, "step_schemes") else source
    out = []
    for i, item in enumerate(items):
        if isinstance(item, Scheme):
            out.append((None, i, item))
        elif isinstance(item, dict) and isinstance(item.get("scheme"), Scheme):
            out.append((item.get("stage"), item.get("block", i), item["scheme"]))
        elif isinstance(getattr(item, "scheme", None), Scheme):
            out.append((getattr(item, "stage", None), getattr(item, "block", i), item.scheme))
        elif isinstance(item, (list, tuple)) and all(isinstance(s, Scheme) for s in item):
            out.extend((i, j, s) for j, s in enumerate(item))
        else:
            raise TypeError(
                f"step_schemes entries must be schemes, per-stage lists of schemes or dicts with a "
                f"'scheme' key, got {item!r}"
            )
    if not out:
        raise ValueError("no block schemes given")
    return out


def infer_family(source):
    """The catalog scheme with free symbols that a model's blocks are instances of: the
    registered family of its step schemes (``lm_resnet`` for an LM-ResNet, whose steps are
    named ``lm_resnet(k=...)``)."""
    from numnet.schemes import get

    try:
        names = {s.family for _, _, s in block_schemes(source)}
    except (TypeError, ValueError):
        raise ValueError("family is needed: give family='lm_resnet' (or a scheme) when plotting plain rows") from None
    for name in sorted(names):
        try:
            fam = get(name)
        except ValueError:
            continue
        if fam.free_symbols:
            return fam
    raise ValueError(f"none of the model's step schemes {sorted(names)} is a catalog family with free symbols; "
                     f"pass family=")


def _family(family, source):
    from numnet.schemes import Scheme, get

    if family is None:
        return infer_family(source)
    fam = get(family) if isinstance(family, str) else family
    if not isinstance(fam, Scheme):
        raise TypeError(f"family must be a scheme or a catalog name, got {family!r}")
    return fam


# -- exact sets as bands --------------------------------------------------------------------
def set_pieces(s) -> list:
    """A real sympy set as ``[(lo, hi, lo_closed, hi_closed), ...]`` in floats (±inf allowed);
    single points have lo == hi.

    >>> import sympy as sp
    >>> set_pieces(sp.Interval.Lopen(-1, 1))
    [(-1.0, 1.0, False, True)]
    >>> set_pieces(sp.Union(sp.Interval(0, 1), sp.FiniteSet(3)))
    [(0.0, 1.0, True, True), (3.0, 3.0, True, True)]
    """
    import sympy as sp

    if s is sp.S.EmptySet:
        return []
    if s is sp.S.Reals:
        return [(-math.inf, math.inf, False, False)]
    if isinstance(s, sp.Union):
        return sorted((p for a in s.args for p in set_pieces(a)), key=lambda p: p[0])
    if isinstance(s, sp.Interval):
        return [(float(s.start), float(s.end), not s.left_open, not s.right_open)]
    if isinstance(s, sp.FiniteSet):
        return [(float(x), float(x), True, True) for x in sorted(s, key=float)]
    raise TypeError(f"cannot draw the set {s} as real intervals")


def set_text(s, name: str) -> str:
    """A real sympy set as inequalities in ``name``.

    >>> import sympy as sp
    >>> set_text(sp.Interval.Lopen(-1, 1), "k"), set_text(sp.S.Reals, "b1")
    ('-1 < k ≤ 1', 'all b1')
    """
    parts = []
    for lo, hi, lc, hc in set_pieces(s):
        if lo == hi:
            parts.append(f"{name} = {_num(lo)}")
        elif lo == -math.inf and hi == math.inf:
            parts.append(f"all {name}")
        elif lo == -math.inf:
            parts.append(f"{name} {'≤' if hc else '<'} {_num(hi)}")
        elif hi == math.inf:
            parts.append(f"{name} {'≥' if lc else '>'} {_num(lo)}")
        else:
            parts.append(f"{_num(lo)} {'≤' if lc else '<'} {name} {'≤' if hc else '<'} {_num(hi)}")
    return " or ".join(parts) if parts else f"no {name}"


def _num(x: float) -> str:
    return f"{x:g}"


def zero_stability_sets(family) -> dict:
    """``{symbol name: exact set}`` on which the family is zero-stable, for each free symbol.

    Only ρ decides zero stability: a symbol that appears in σ only (a learnable Adams
    weight) leaves the answer all-or-nothing; ρ with one free symbol gives its exact set.

    >>> zero_stability_sets("lm_resnet")
    {'k': Interval.Lopen(-1, 1)}
    >>> zero_stability_sets("adams2_learnable")
    {'b1': Reals}
    """
    import sympy as sp

    from numnet.schemes import XI, get

    fam = get(family) if isinstance(family, str) else family
    if fam.kind != "LMM":
        return {}
    cond = fam.zero_stability_condition()
    in_rho = {s.name for s in fam.rho.free_symbols - {XI}}
    out = {}
    for sym in sorted(fam.free_symbols, key=lambda s: s.name):
        out[sym.name] = cond if (sym.name in in_rho or cond in (sp.S.Reals, sp.S.EmptySet)) else None
    return out


# -- plots ------------------------------------------------------------------------------------
def learned_coefficients(source, family=None, *, ax=None, title: str | None = None, path=None):
    """Each learned coefficient per block (x: block in network order, stages separated by
    dotted lines) beside the band of values where the family is zero-stable (solid edge:
    value included, dashed: excluded).

    ``source``: a model, a list of rows, or ``{label: model or rows}`` for several runs
    (seeds) drawn together. ``family``: the scheme with free symbols (name or object);
    inferred from a model's ``step_schemes()`` when omitted.

    >>> rows = [{"stage": s, "block": b, "symbol": "k", "value": -0.1 * b} for s in (0, 1) for b in range(3)]
    >>> fig = learned_coefficients({"seed 0": rows}, family="lm_resnet")
    >>> [round(float(v), 2) + 0.0 for v in fig.axes[0].lines[-1].get_ydata()]
    [0.0, -0.1, -0.2, 0.0, -0.1, -0.2]
    """
    runs = source if isinstance(source, dict) else {None: source}
    if not runs:
        raise ValueError("no runs given")
    first = next(iter(runs.values()))
    fam = _family(family, first)
    runs = {label: coefficient_rows(src) for label, src in runs.items()}
    fig, ax = axes(ax)
    keys = sorted({(r["stage"], r["block"]) for rows in runs.values() for r in rows})
    pos = {key: i for i, key in enumerate(keys)}
    symbols = sorted({r["symbol"] for rows in runs.values() for r in rows})
    if not symbols:
        raise ValueError("the rows hold no learned coefficients (a net without free symbols?)")
    sets = zero_stability_sets(fam)
    unknown = [s for s in symbols if s not in sets and sets]
    if unknown:
        raise ValueError(f"symbols {unknown} are not free symbols of {fam.name} ({sorted(sets)})")
    values = [r["value"] for rows in runs.values() for r in rows]
    lo_data, hi_data = min(values), max(values)
    span = max(hi_data - lo_data, 0.2)
    ylo, yhi = lo_data - 0.15 * span, hi_data + 0.15 * span
    for j, sym in enumerate(symbols):
        zs = sets.get(sym)
        color = _BAND_COLORS[j % len(_BAND_COLORS)]
        if zs is None:
            continue
        first_piece = True
        for lo, hi, lc, hc in set_pieces(zs):
            label = f"zero-stable: {set_text(zs, sym)}" if first_piece else None
            first_piece = False
            ax.axhspan(max(lo, -1e9), min(hi, 1e9), color=color, alpha=0.15, lw=0, label=label)
            for edge, closed in ((lo, lc), (hi, hc)):
                if math.isfinite(edge):
                    ax.axhline(edge, color=color, lw=1.0, ls="-" if closed else "--")
                    ylo, yhi = min(ylo, edge - 0.05 * span), max(yhi, edge + 0.05 * span)
    stages = [k[0] for k in keys]
    for i in range(1, len(keys)):
        if stages[i] != stages[i - 1]:
            ax.axvline(i - 0.5, color="0.6", lw=0.8, ls=":")
    markers = "os^vD<>"
    for i, (label, rows) in enumerate(runs.items()):
        for j, sym in enumerate(symbols):
            pts = [(pos[(r["stage"], r["block"])], r["value"]) for r in rows if r["symbol"] == sym]
            if not pts:
                continue
            x, y = zip(*pts)
            name = " ".join(str(p) for p in (label, sym if len(symbols) > 1 else None) if p is not None)
            ax.plot(x, y, marker=markers[j % len(markers)], ms=4, lw=0.8, color=_RUN_COLORS[i % len(_RUN_COLORS)],
                    label=name or sym)
    ax.set_ylim(ylo, yhi)
    ax.set_xlim(-0.5, len(keys) - 0.5)
    if len(keys) <= 30:
        ax.set_xticks(range(len(keys)), [block_label(st, b) for st, b in keys],
                      fontsize="small", rotation=90 if len(keys) > 12 else 0)
    ax.set_xlabel("block (stage/block)")
    ax.set_ylabel(", ".join(symbols) + " (learned)")
    ax.set_title(title or f"learned {', '.join(symbols)} of {fam.name} vs zero stability")
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    keys_ = [(Line2D([], [], color="0.3", lw=1.0, ls="-"), "band edge in the set"),
             (Line2D([], [], color="0.3", lw=1.0, ls="--"), "band edge not in the set")]
    if len(set(stages)) > 1:
        keys_.append((Line2D([], [], color="0.6", lw=0.8, ls=":"), "stage boundary"))
    ax.legend(handles + [h for h, _ in keys_], labels + [t for _, t in keys_], loc="best", fontsize="small")
    return save(fig, path)


def block_label(stage, block) -> str:
    """How every learned-coefficient figure names a block: ``stage/block``, both from 0
    (``block`` alone when the stage is unknown).

    >>> block_label(1, 3), block_label(None, 4)
    ('1/3', '4')
    """
    return str(block) if stage is None else f"{stage}/{block}"


def learned_regions(source, spectra=None, *, bounds=None, n: int = 300, cmap: str = "viridis",
                    ax=None, title: str | None = None, path=None):
    """Absolute-stability regions of the per-block learned schemes: each block's boundary
    coloured by its position, the region where *every* block is stable filled (image gid
    ``"all blocks"``), and optionally each block's Jacobian spectrum (``spectra``: one
    complex array or None per block, same order) as dots of the same colour, so a block's
    eigenvalues z = h·λ(∂F/∂u) are read against the boundary drawn in their colour. The
    colour bar names blocks ``stage/block`` as :func:`learned_coefficients` does.

    >>> from numnet.schemes import get
    >>> blocks = [get("lm_resnet").subs(k=k) for k in (-0.1, 0.0, 0.2)]
    >>> fig = learned_regions(blocks, spectra=[np.array([-0.5 + 0.1j]), None, np.array([-1.0])], n=60)
    >>> [im.get_gid() for im in fig.axes[0].images]
    ['all blocks']
    """
    blocks = block_schemes(source)
    if spectra is not None:
        spectra = list(spectra)
        if len(spectra) != len(blocks):
            raise ValueError(f"spectra must give one array (or None) per block ({len(blocks)}), got {len(spectra)}")
    schemes_ = [s for _, _, s in blocks]
    if bounds is None:
        bounds = auto_bounds(_distinct(schemes_))
        if spectra is not None:
            bounds = _widen(bounds, [np.asarray(e) for e in spectra if e is not None])
    fig, ax = axes(ax)
    import matplotlib

    colormap = matplotlib.colormaps[cmap]
    nb = len(blocks)
    color_of = [colormap(i / max(nb - 1, 1)) for i in range(nb)]
    common = None
    for i, s in enumerate(schemes_):
        key = _scheme_key(s)
        if i and key == _scheme_key(schemes_[i - 1]) and common is not None:
            continue  # the same scheme as the previous block: same curve, same region
        x, y, inside = draw_region(ax, s, bounds, n=n, color=color_of[i], fill=False, linewidth=0.9)
        common = inside if common is None else common & inside
    dx, dy = (x[1] - x[0]) / 2, (y[1] - y[0]) / 2
    from matplotlib.colors import ListedColormap

    ax.imshow(np.ma.masked_where(~common, np.ones(common.shape)), origin="lower",
              extent=(x[0] - dx, x[-1] + dx, y[0] - dy, y[-1] + dy), cmap=ListedColormap(["0.55"]),
              vmin=0, vmax=1, alpha=0.35, interpolation="nearest", gid="all blocks")
    if spectra is not None:
        for i, eig in enumerate(spectra):
            if eig is None:
                continue
            eig = np.asarray(eig).ravel()
            ax.scatter(eig.real, eig.imag, s=6, color=color_of[i], edgecolors="none", alpha=0.8, zorder=3)
    finish_plane(ax, bounds, title=title or "stability regions of the learned blocks"
                 + (" and their Jacobian spectra" if spectra is not None else ""))
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Patch

    from matplotlib.lines import Line2D

    bar = fig.colorbar(ScalarMappable(Normalize(0, max(nb - 1, 1)), colormap), ax=ax, label="block (stage/block)",
                       shrink=0.8)
    every = max(1, math.ceil(nb / 12))
    ticks = list(range(0, nb, every))
    bar.set_ticks(ticks, labels=[block_label(blocks[i][0], blocks[i][1]) for i in ticks])
    handles = [Patch(facecolor="0.55", alpha=0.5, label="stable for every block"),
               Line2D([], [], color=colormap(0.5), lw=0.9, label="edge of one block's region (colour: block)")]
    if spectra is not None:
        handles.append(Line2D([], [], color=colormap(0.5), ls="none", marker="o", ms=3,
                              label="h·λ of that block's Jacobian (same colour)"))
    ax.legend(handles=handles, loc="best", fontsize="small")
    return save(fig, path)


def learned_stability(source, family=None, spectra=None, *, bounds=None, n: int = 300, title=None, path=None):
    """The figure of the study: learned coefficients vs the zero-stability band (left) and the
    learned blocks' stability regions with their Jacobian spectra (right).

    ``source`` is a trained model, or a pair ``(rows, block_schemes)`` from stored results.

    >>> from numnet.schemes import get
    >>> ks = (-0.05, -0.1)
    >>> rows = [{"stage": 0, "block": b, "symbol": "k", "value": k} for b, k in enumerate(ks)]
    >>> fig = learned_stability((rows, [get("lm_resnet").subs(k=k) for k in ks]), family="lm_resnet", n=40)
    >>> len(fig.axes)  # two panels and a colour bar
    3
    """
    if isinstance(source, tuple) and len(source) == 2:
        rows, blocks = source
    else:
        rows, blocks = source, source
    fam = _family(family, blocks)
    fig, (a, b) = axes(ncols=2, figsize=(12, 4.8))
    learned_coefficients(rows, fam, ax=a)
    learned_regions(blocks, spectra, bounds=bounds, n=n, ax=b)
    if title:
        fig.suptitle(title)
    return save(fig, path)


def _scheme_key(s):
    return (s.kind, repr(s))


def _distinct(schemes_):
    seen, out = set(), []
    for s in schemes_:
        k = _scheme_key(s)
        if k not in seen:
            seen.add(k)
            out.append(s)
    return out


def _widen(bounds, arrays, quantile: float = 99.0):
    """Grow bounds to hold the central ``quantile`` % of the eigenvalues (outliers stay out)."""
    if not arrays:
        return bounds
    z = np.concatenate([a.ravel() for a in arrays])
    z = z[np.isfinite(z)]
    if not z.size:
        return bounds
    lo = np.percentile(z.real, 100 - quantile)
    hi = np.percentile(z.real, quantile)
    im = np.percentile(np.abs(z.imag), quantile)
    re0, re1, im0, im1 = bounds
    pad = 0.1 * max(hi - lo, 2 * im, 1.0)
    return (min(re0, lo - pad), max(re1, hi + pad), min(im0, -im - pad), max(im1, im + pad))
