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

from numnet.errors import ConfigError
from numnet.fileio import atomic_write

__all__ = ["CheckpointError", "RUN_KEYS", "rng_state", "set_rng_state", "save", "load", "restore_model"]

RUN_KEYS = ("config", "model", "optimizer", "rng", "epoch", "batch", "partial", "history", "wall_time")
"""What a run checkpoint (``checkpoint.pt``) holds; :func:`load` checks them when asked."""


class CheckpointError(ConfigError):
    """A checkpoint file that is not one numnet can continue from: unreadable, missing keys,
    or weights that do not fit the model (the message names the file and what is wrong)."""


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


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu", *, keys=()) -> dict:
    """Read a checkpoint written by :func:`save` (tensors and plain containers only) and
    check that it holds ``keys``; anything else is a :class:`CheckpointError`.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "checkpoint.pt"
    >>> save(p, {"model": {}, "epoch": 3})
    >>> load(p, keys=("model", "epoch"))["epoch"]
    3
    >>> load(p, keys=RUN_KEYS)
    Traceback (most recent call last):
    ...
    numnet.train.checkpoint.CheckpointError: ... misses config, optimizer, rng, batch, partial, history, wall_time; a run checkpoint holds config, model, optimizer, rng, epoch, batch, partial, history, wall_time
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # truncated, not a torch file, or objects beyond tensors and containers
        raise CheckpointError(f"{path} is not a readable numnet checkpoint ({type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200]})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a checkpoint dict")
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(f"{path} misses {', '.join(missing)}; a run checkpoint holds {', '.join(keys)}")
    return state


def restore_model(model: torch.nn.Module, weights, path) -> None:
    """``model.load_state_dict(weights)``, with a :class:`CheckpointError` naming the file,
    the missing and unexpected parameter names and any shape mismatch instead of torch's
    multi-line error."""
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path}: the model weights are a {type(weights).__name__}, not a state dict")
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [f"{k} {tuple(weights[k].shape)} (model {tuple(v.shape)})" for k, v in own.items()
              if k in weights and hasattr(weights[k], "shape") and tuple(weights[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        parts = [f"missing {_some(missing)}" if missing else "", f"unexpected {_some(unexpected)}" if unexpected else "",
                 f"other shapes: {_some(shapes)}" if shapes else ""]
        raise CheckpointError(f"{path} does not fit the {type(model).__name__} being trained: "
                              f"{'; '.join(p for p in parts if p)}")
    model.load_state_dict(weights)


def _some(items, n: int = 4) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
