"""Absolute-stability regions in the complex z = hλ plane, for LMMs and RK methods alike.

The filled region is the scheme's own :meth:`in_stability_region` evaluated on a grid
(:func:`region_grid`), so what is drawn is exactly what the scheme object answers. The
boundary is the boundary locus z(θ) = ρ(e^{iθ})/σ(e^{iθ}) for an LMM and the curve
|R(z)| = 1 (R lambdified from the exact stability function) for an RK method.

>>> fig = stability_regions(["ab2", "rk4"])
>>> [im.get_gid() for im in fig.axes[0].images]
['ab2', 'rk4']
"""

from __future__ import annotations

import numpy as np

from .figure import axes, save

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
           "tab:pink", "tab:gray", "tab:olive", "tab:cyan")
_LINESTYLES = ("-", "--", "-.", ":")
_HATCHES = ("////", "\\\\", "||", "--", "xx", "..")


def as_schemes(schemes) -> list:
    """A list of scheme objects from one scheme, one catalog name, or a sequence of both.

    >>> [s.name for s in as_schemes(["ab2", "heun"])]
    ['ab2', 'heun']
    >>> as_schemes(3)
    Traceback (most recent call last):
    ...
    TypeError: expected a scheme, a catalog name or a sequence of them, got 3
    """
    from numnet.schemes import Scheme, as_scheme

    if isinstance(schemes, (str, Scheme)):
        schemes = [schemes]
    try:
        items = list(schemes)
    except TypeError:
        raise TypeError(f"expected a scheme, a catalog name or a sequence of them, got {schemes!r}") from None
    out = [as_scheme(s, kinds=("RK", "LMM")) for s in items]
    if not out:
        raise ValueError("no schemes given")
    return out


def region_grid(scheme, bounds, n: int = 400):
    """``(x, y, inside)``: the grid axes and ``inside[i, j] = scheme.in_stability_region(x[j] + i·y[i])``.

    ``bounds`` is ``(re_min, re_max, im_min, im_max)``; ``n`` points per axis.

    >>> from numnet.schemes import get
    >>> x, y, inside = region_grid(get("euler"), (-2.5, 0.5, -1.5, 1.5), n=7)
    >>> inside[3].astype(int).tolist()  # the real axis: Re z in [-2, 0] is stable
    [0, 1, 1, 1, 1, 1, 0]
    """
    re0, re1, im0, im1 = _check_bounds(bounds)
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n (grid points per axis) must be an integer >= 2, got {n!r}")
    x = np.linspace(re0, re1, int(n))
    y = np.linspace(im0, im1, int(n))
    inside = np.asarray(scheme.in_stability_region(x[None, :] + 1j * y[:, None]), dtype=bool)
    return x, y, inside


def boundary_points(scheme, n: int = 720) -> np.ndarray:
    """Points z where the scheme is on the edge of stability (``nan`` where z is infinite).

    LMM: the boundary locus ρ(e^{iθ})/σ(e^{iθ}). RK: every root z of P(z) = e^{iθ} Q(z)
    for R = P/Q, i.e. the whole curve |R(z)| = 1.

    >>> from numnet.schemes import get
    >>> z = boundary_points(get("euler"), 8)
    >>> bool(np.allclose(np.abs(z + 1), 1))
    True
    """
    if scheme.kind == "LMM":
        z = scheme.boundary_locus(n)
    else:
        P, Q = _rk_polys(scheme)
        out = []
        for w in np.exp(1j * np.linspace(0.0, 2 * np.pi, int(n), endpoint=False)):
            c = _pad(P, len(Q)) - w * _pad(Q, len(P))
            c = np.trim_zeros(c, "f")
            out.extend(np.roots(c) if len(c) > 1 else [])
        z = np.asarray(out, dtype=complex)
    z = np.where(np.isfinite(z) & (np.abs(z) < 1e6), z, np.nan)
    return z


def auto_bounds(schemes, *, margin: float = 0.15, limit: float = 12.0) -> tuple:
    """Bounds ``(re_min, re_max, im_min, im_max)`` that show every scheme's stability region
    and the origin, symmetric about the real axis, no narrower than 3/4 of their height,
    padded by ``margin`` and rounded out to a round step.

    Per scheme: the boundary points within the 95th percentile of |z| (at most ``limit``;
    a boundary running to infinity, as for Gauss methods, is cut there); when the region
    inside them is bounded, the box of its points on a coarse grid instead, so that the
    far loops of a boundary locus that enclose no stable point do not shrink the picture.

    >>> auto_bounds(["euler"])
    (-2.5, 0.5, -1.5, 1.5)
    >>> auto_bounds(["ab3", "rk4"])
    (-4.5, 2.0, -4.0, 4.0)
    """
    z = np.concatenate([np.zeros(1, dtype=complex)] + [_extent_points(s, limit) for s in as_schemes(schemes)])
    re0, re1 = float(z.real.min()), float(z.real.max())
    im = float(np.abs(z.imag).max())
    span = max(re1 - re0, 2 * im, 1e-3)
    re0, re1, im = re0 - margin * span, re1 + margin * span, im + margin * span
    im = max(im, (re1 - re0) / 4)
    width = max(re1 - re0, 1.5 * im)
    grow = (width - (re1 - re0)) / 2
    re0, re1 = re0 - grow, re1 + grow
    step = 10.0 ** np.floor(np.log10(max(re1 - re0, 2 * im))) / 2
    lo = lambda v: float(np.round(np.floor(v / step) * step, 10))  # noqa: E731
    hi = lambda v: float(np.round(np.ceil(v / step) * step, 10))  # noqa: E731
    return lo(re0), hi(re1), -hi(im), hi(im)


def _extent_points(scheme, limit):
    z = boundary_points(scheme)
    z = z[np.isfinite(z)]
    if not z.size:
        return z
    z = z[np.abs(z) <= min(float(np.percentile(np.abs(z), 95)), limit)]
    pad = 0.1 * max(float(np.ptp(z.real)), float(np.ptp(z.imag)), 0.1)
    box = (z.real.min() - pad, z.real.max() + pad, -np.abs(z.imag).max() - pad, np.abs(z.imag).max() + pad)
    x, y, inside = region_grid(scheme, box, 81)
    edge = inside[0].any() or inside[-1].any() or inside[:, 0].any() or inside[:, -1].any()
    if inside.any() and not edge:
        rows, cols = np.nonzero(inside)
        return x[cols] + 1j * y[rows]
    return z


def stability_regions(schemes, *, bounds=None, n: int = 400, fill: bool = True, boundary: bool = True,
                      labels=None, colors=None, alpha: float | None = None, hatch: bool = False, ax=None,
                      title: str | None = None, path=None):
    """Absolute-stability regions of one or more schemes on one axes, each kept readable
    where they overlap: every boundary in its own colour *and* line style over a faint tint
    of its region (one scheme: a stronger tint), so that stacked regions never blend into
    one colour and the legend shows exactly what is drawn, as in Hairer–Wanner's figures;
    ``hatch=True`` also hatches each region in its colour. Returns the Figure; writes it
    to ``path`` (``.png``/``.svg``/``.pdf``) if given.

    ``schemes``: scheme objects or catalog names (concrete: ``subs`` free symbols first).
    ``bounds``: ``(re_min, re_max, im_min, im_max)``, default :func:`auto_bounds`.
    ``alpha``: the tint's opacity (default 0.3 for one scheme, 0.07 for several: four
    stacked tints stay lighter than one strong one).
    Each region is an image whose gid is the scheme's label and whose unmasked pixels are
    exactly ``in_stability_region`` on :func:`region_grid`.

    >>> from numnet.schemes import get
    >>> fig = stability_regions([get("ab3"), "bdf2"], bounds=(-3, 3, -3, 3), n=50)
    >>> tuple(float(v) for v in fig.axes[0].get_xlim())
    (-3.0, 3.0)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['ab3', 'bdf2']
    """
    items = as_schemes(schemes)
    labels = [s.name for s in items] if labels is None else list(labels)
    if len(labels) != len(items):
        raise ValueError(f"labels must name each of the {len(items)} schemes, got {len(labels)}")
    colors = [_COLORS[i % len(_COLORS)] for i in range(len(items))] if colors is None else list(colors)
    if len(colors) != len(items):
        raise ValueError(f"colors must give one colour per scheme ({len(items)}), got {len(colors)}")
    several = len(items) > 1
    alpha = (0.07 if several else 0.3) if alpha is None else alpha
    bounds = auto_bounds(items) if bounds is None else _check_bounds(bounds)
    fig, ax = axes(ax)
    handles = []
    for i, (s, label, color) in enumerate(zip(items, labels, colors)):
        style = _LINESTYLES[i % len(_LINESTYLES)]
        pattern = _HATCHES[i % len(_HATCHES)] if hatch and fill else None
        draw_region(ax, s, bounds, n=n, color=color, fill=fill, boundary=boundary, alpha=alpha, gid=label,
                    linestyle=style, hatch=pattern, linewidth=1.6 if several else 1.2)
        handles.append(legend_key(color, style, hatch=pattern, alpha=max(alpha, 0.2) if fill else 0.0))
    finish_plane(ax, bounds, title=title)
    from matplotlib.legend_handler import HandlerTuple

    ax.legend(handles, labels, loc="best", fontsize="small", handler_map={tuple: HandlerTuple(ndivide=1)})
    return save(fig, path)


def legend_key(color, linestyle="-", *, hatch=None, alpha=0.3):
    """A legend key drawn as the region is: the tint (and hatch) of the fill under a short
    line in the boundary's colour and style (a ``(Patch, Line2D)`` pair for ``HandlerTuple``).

    >>> patch, line = legend_key("tab:red", "--", hatch="//")
    >>> patch.get_hatch(), line.get_linestyle(), line.get_color()
    ('//', '--', 'tab:red')
    """
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    r, g, b, _ = to_rgba(color)
    patch = Patch(facecolor=(r, g, b, alpha), edgecolor=color, hatch=hatch, linewidth=0)
    return patch, Line2D([], [], color=color, linestyle=linestyle, linewidth=1.5)


def region_panels(groups: dict, *, n: int = 300, title: str | None = None, path=None):
    """One :func:`stability_regions` panel per group, side by side: ``groups`` maps a panel
    title to its schemes. Returns the Figure (written to ``path`` if given).

    >>> fig = region_panels({"explicit RK": ["euler", "rk4"], "Adams–Bashforth": ["ab2", "ab3"]}, n=40)
    >>> [ax.get_title() for ax in fig.axes]
    ['explicit RK', 'Adams–Bashforth']
    """
    if not isinstance(groups, dict) or not groups:
        raise ValueError(f"groups must be a non-empty dict {{panel title: schemes}}, got {groups!r}")
    fig, axs = axes(ncols=len(groups), figsize=(4.6 * len(groups), 4.6))
    for ax, (name, items) in zip(axs if len(groups) > 1 else [axs], groups.items()):
        stability_regions(items, n=n, ax=ax, title=name)
    if title:
        fig.suptitle(title)
    return save(fig, path)


def draw_region(ax, scheme, bounds, *, n: int = 400, color="tab:blue", fill: bool = True,
                boundary: bool = True, alpha: float = 0.3, gid: str | None = None, linewidth: float = 1.2,
                linestyle: str = "-", hatch: str | None = None):
    """Draw one scheme's region on ``ax``: an image of :func:`region_grid` (masked outside
    the region), hatched in ``color`` when ``hatch`` is given, and the boundary curve in
    ``linestyle``. Returns the grid ``(x, y, inside)``."""
    from matplotlib.colors import ListedColormap

    x, y, inside = region_grid(scheme, bounds, n)
    if fill:
        dx, dy = (x[1] - x[0]) / 2, (y[1] - y[0]) / 2
        ax.imshow(np.ma.masked_where(~inside, np.ones(inside.shape)), origin="lower",
                  extent=(x[0] - dx, x[-1] + dx, y[0] - dy, y[-1] + dy), cmap=ListedColormap([color]),
                  vmin=0, vmax=1, alpha=alpha, interpolation="nearest", gid=gid or scheme.name)
        if hatch and inside.any():
            hatched = ax.contourf(x, y, inside.astype(float), levels=[0.5, 1.5], colors="none", hatches=[hatch])
            hatched.set_edgecolor(color)
            hatched.set_linewidth(0)
    if boundary:
        if scheme.kind == "LMM":
            z = boundary_points(scheme, 1000)
            ax.plot(z.real, z.imag, color=color, lw=linewidth, ls=linestyle)
        else:
            X, Y = np.meshgrid(x, y)
            ax.contour(X, Y, np.abs(_rk_function(scheme)(X + 1j * Y)), levels=[1.0], colors=[color],
                       linewidths=linewidth, linestyles=[linestyle])
    return x, y, inside


def finish_plane(ax, bounds, title=None):
    """Axes furniture for the z = hλ plane: limits, equal aspect, the axes through 0."""
    re0, re1, im0, im1 = bounds
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlim(re0, re1)
    ax.set_ylim(im0, im1)
    ax.set_aspect("equal")
    ax.set_xlabel("Re z  (z = hλ)")
    ax.set_ylabel("Im z")
    if title:
        ax.set_title(title)


def _check_bounds(bounds):
    try:
        re0, re1, im0, im1 = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be (re_min, re_max, im_min, im_max), got {bounds!r}") from None
    if not (np.isfinite([re0, re1, im0, im1]).all() and re0 < re1 and im0 < im1):
        raise ValueError(f"bounds must be finite with re_min < re_max and im_min < im_max, got {bounds!r}")
    return re0, re1, im0, im1


def _rk_function(scheme):
    import sympy as sp

    from numnet.schemes import Z

    scheme.require_concrete("stability regions")
    f = sp.lambdify(Z, scheme.stability_function(), "numpy")
    return lambda z: f(z) * np.ones_like(z)


def _rk_polys(scheme):
    import sympy as sp

    from numnet.schemes import Z

    scheme.require_concrete("stability regions")
    num, den = sp.fraction(sp.together(scheme.stability_function()))
    return (np.array([complex(c) for c in sp.Poly(num, Z).all_coeffs()]),
            np.array([complex(c) for c in sp.Poly(den, Z).all_coeffs()]))


def _pad(p, length):
    return np.concatenate([np.zeros(max(length - len(p), 0), dtype=complex), p])
