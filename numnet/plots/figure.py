"""Figures without global state: an Agg canvas per figure, saved by file suffix.

Every plot function in :mod:`numnet.plots` builds a :class:`matplotlib.figure.Figure`
directly (never through ``pyplot``), so plotting works the same in scripts, tests, CI
and notebooks and never switches anyone's backend. Jupyter shows a figure through the
inline backend only when pyplot made it; numnet's figures carry their own ``_repr_png_``
instead, so a returned figure displays inline in any kernel, with or without pyplot.

>>> fig, ax = axes()
>>> type(fig.canvas).__name__, fig._repr_png_()[:4]
('FigureCanvasAgg', b'\x89PNG')
"""

from __future__ import annotations

import os
from pathlib import Path

from numnet.fileio import atomic_write

FORMATS = (".png", ".svg", ".pdf")


def axes(ax=None, *, ncols: int = 1, figsize=None):
    """``(fig, ax)``: a new figure with ``ncols`` axes in a row on an Agg canvas, or
    ``ax``'s figure. With ``ncols > 1`` the second value is the list of axes.

    >>> fig, (a, b) = axes(ncols=2)
    >>> len(fig.axes)
    2
    """
    if ax is not None:
        return ax.figure, ax
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_class()(figsize=figsize or (5.5 * ncols, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    made = fig.subplots(1, ncols)
    return fig, (list(made) if ncols > 1 else made)


def grid(n: int, *, ncols: int = 6, panel=(2.6, 2.2)):
    """``(fig, axes)``: ``n`` small panels in rows of ``ncols`` on one Agg-canvas figure
    (the unused cells of the last row hidden).

    >>> fig, axs = grid(7, ncols=3)
    >>> len(axs), sum(ax.get_visible() for ax in fig.axes)
    (7, 7)
    """
    if not isinstance(n, int) or n < 1 or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"grid needs n >= 1 panels and ncols >= 1, got n={n!r}, ncols={ncols!r}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    cols = min(ncols, n)
    rows = -(-n // cols)
    fig = _figure_class()(figsize=(panel[0] * cols, panel[1] * rows), layout="constrained")
    FigureCanvasAgg(fig)
    made = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in made[n:]:
        ax.set_visible(False)
    return fig, made[:n]


_FIGURE = None


def _figure_class():
    """``matplotlib.figure.Figure`` with ``_repr_png_`` (made once, on first use, so that
    importing numnet.plots does not import matplotlib)."""
    global _FIGURE
    if _FIGURE is None:
        import io

        from matplotlib.figure import Figure

        class NumnetFigure(Figure):
            """A Figure that IPython/Jupyter displays as PNG by itself (no pyplot needed)."""

            def _repr_png_(self):
                buf = io.BytesIO()
                self.savefig(buf, format="png", dpi=100)
                return buf.getvalue()

        _FIGURE = NumnetFigure
    return _FIGURE


def save(fig, path=None):
    """Write ``fig`` to ``path`` (or each of a list of paths); the format is the suffix
    (``.png``, ``.svg``, ``.pdf``). Returns ``fig``. Parent folders are created.

    >>> import tempfile, pathlib
    >>> fig, ax = axes(); _ = ax.plot([0, 1])
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a" / "line.png"
    >>> save(fig, p) is fig, p.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    (True, True)
    >>> save(fig, "line.jpeg")
    Traceback (most recent call last):
    ...
    ValueError: figure path must end in one of .png, .svg, .pdf, got 'line.jpeg'
    """
    if path is None:
        return fig
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    for p in paths:
        p = Path(p)
        if p.suffix.lower() not in FORMATS:
            raise ValueError(f"figure path must end in one of {', '.join(FORMATS)}, got {str(p)!r}")
    for p in paths:
        p = Path(p)
        with atomic_write(p) as tmp:  # a figure is whole or absent, like every file numnet writes
            fig.savefig(tmp, dpi=150, format=p.suffix.lower().lstrip("."))
    return fig
