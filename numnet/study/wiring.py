"""Default wiring to the data and training layers, imported only when used.

The study and the report talk to ``numnet.data`` and ``numnet.train`` only through these
functions, so a missing layer is one clear message (:func:`missing_layers`) instead of an
import error at start-up.
"""

from __future__ import annotations

import importlib.util

LAYERS = {
    "schemes": "numnet.schemes",
    "modified": "numnet.schemes.modified",
    "plots": "numnet.plots",
    "solvers": "numnet.solvers",
    "nets": "numnet.nets",
    "data": "numnet.data",
    "train": "numnet.train",
}


def missing_layers(*names) -> list:
    """The layers among ``names`` (keys of :data:`LAYERS`) not present in this installation.

    A present layer that fails to import is an error, not "missing".

    >>> missing_layers("schemes", "plots")
    []
    """
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layers {unknown}; known: {sorted(LAYERS)}")
    return [n for n in names if importlib.util.find_spec(LAYERS[n]) is None]


def require(layer: str, name: str):
    """``numnet.<layer>.<name>``, imported now; a missing layer is an ImportError that says so.

    >>> require("schemes", "get")("ab2").order
    2
    """
    if missing_layers(layer):
        raise ImportError(f"{LAYERS[layer]} is not available in this installation; it is needed for {name}()")
    return getattr(importlib.import_module(LAYERS[layer]), name)


def load_data(name: str = "fashion_mnist", *, root=None, train_size: int | None = None, val_split: int | float = 0,
              download: bool = False):
    """``numnet.data.load(name, root=, val_split=, download=)``, the training set cut to its
    first ``train_size`` images when given."""
    splits = require("data", "load")(name, root=root, val_split=val_split, download=download)
    return splits.limit_train(train_size) if train_size else splits


def make_recipe(name: str | None, data_name: str, epochs: int | None = None, batch_size: int | None = None):
    """A recipe by name (default: the paper's for the data set), its schedule stretched
    or shrunk to ``epochs`` (milestones at the same fractions) and its batch size replaced
    when given."""
    recipe = require("train", "default_recipe")(data_name) if name is None else require("train", "get_recipe")(name)
    if epochs is not None:
        recipe = recipe.with_epochs(epochs)
    if batch_size is not None:
        recipe = recipe.replace(batch_size=batch_size)
    return recipe
