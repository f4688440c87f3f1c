"""Checkpoints that resume a run bit for bit.

A checkpoint holds the model and optimizer state, every random generator that training
touches (torch CPU and CUDA, numpy, Python's ``random``), the position in the run
(epoch, and batch within the epoch after a Ctrl-C), the partial sums of an interrupted
epoch, and the history so far. The data order needs no saved state: the loader derives
each epoch's order and augmentation from ``(seed, epoch)``. The learning rate is a
function of the step (:meth:`~numnet.train.recipe.Recipe.lr_at`), so there is no
scheduler state either.

Written atomically (:func:`numnet.fileio.atomic_write`) and read with
``torch.load(weights_only=True)``: only tensors and plain containers, nothing that can
run code.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from numnet.fileio import atomic_write

__all__ = ["rng_state", "set_rng_state", "save", "load"]


def rng_state() -> dict:
    """The state of every random generator, as tensors and plain containers.

    >>> s = rng_state(); a = torch.rand(1).item(), random.random(), np.random.rand()
    >>> set_rng_state(s); a == (torch.rand(1).item(), random.random(), np.random.rand())
    True
    """
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    """Restore the generators saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` to ``path`` atomically: the old checkpoint survives a crash mid-write."""
    with atomic_write(path) as tmp:
        torch.save(state, tmp)


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save` (tensors and plain containers only)."""
    return torch.load(path, map_location=map_location, weights_only=True)
