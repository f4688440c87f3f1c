"""Figures of numnet: the only package that imports matplotlib (Agg backend).

One module per kind of figure; every plot function returns its ``Figure`` and writes it
when given a path.

- :func:`plot_convergence` — log-log error against step size, with reference slopes;
  :func:`convergence_grid` — one small such panel per scheme.
- :func:`stability_regions` — filled absolute-stability regions and boundaries of LMMs
  and RK methods on one axes, with automatic bounds; :func:`region_panels` — several
  such panels side by side.
- :func:`learned_coefficients`, :func:`learned_regions`, :func:`learned_stability` — a
  trained scheme net's per-block coefficients beside the zero-stability band, the
  stability regions of its learned blocks and their Jacobian spectra.
- :func:`property_scatter` — accuracy against a numerical property, one point per scheme.
- :func:`accuracy_curves` — test accuracy against cost or time per epoch, runs side by
  side, the levels of a multilevel schedule marked; :func:`training_curves` — loss and
  accuracy per epoch, one line per run.

Each builds its own Agg-canvas Figure (no pyplot state, so they also display in
notebooks) and takes ``path=`` with its suffix (``.png``, ``.svg``, ``.pdf``; a list
writes several).
"""

from .convergence import convergence_grid, plot_convergence
from .learned import learned_coefficients, learned_regions, learned_stability
from .scatter import property_scatter
from .stability import auto_bounds, region_grid, region_panels, stability_regions
from .training import accuracy_curves, training_curves

__all__ = [
    "accuracy_curves", "auto_bounds", "convergence_grid", "learned_coefficients", "learned_regions", "learned_stability",
    "plot_convergence", "property_scatter", "region_grid", "region_panels", "stability_regions", "training_curves",
]
