"""Multilevel recipes: coarse-to-fine or shallow-to-deep training as a chain of plain runs.

A recipe with ``coarse_to_fine=n`` or ``grow_depth=g`` (:class:`~numnet.train.Recipe`)
trains through ``n + 1`` resolutions or ``g + 1`` depths. The schedule itself is
:func:`numnet.nets.multiscale.coarse_to_fine` / :func:`~numnet.nets.multiscale.grow_depth`;
here each of its levels is one ordinary :func:`~numnet.train.train` run with the
level's recipe (:meth:`~numnet.train.Recipe.level_recipes`), durable in
``out/level<i>``. Rerunning replays the chain: a finished level returns its stored
result and weights, the transfer to the next level is recomputed (it is exact and
cheap), and an interrupted level resumes. ``out/config.json`` holds the whole chain's
configuration and ``out/result.json`` the whole run.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from numnet.fileio import read_json, write_json

from numnet.train.result import TrainResult

__all__ = ["train_levels"]


class _Stopped(Exception):
    """``stop_after`` ended the chain inside or before a level."""


def train_levels(model: nn.Module, data, recipe, *, out=None, stop_after=None, **options) -> TrainResult:
    """Train ``model`` through the levels of a multilevel ``recipe``; the other arguments
    are those of :func:`numnet.train.train` (``stop_after`` counts epochs of the whole
    chain). ``model`` ends at the native resolution and the final depth.

    Each history record gets ``level`` (0 = first trained) and ``level_epoch``; its
    ``epoch`` counts through the whole chain.
    """
    from numnet.nets.multiscale import coarse_to_fine, get_transfer, grids, grow_depth
    from numnet.train.loop import CONFIG, RESULT, _check_same_run, _main_process, train

    get_transfer(recipe.transfer)   # a bad name fails before any training
    if recipe.depth_mode not in grids.MODES:
        raise ValueError(f"depth_mode must be one of {grids.MODES}, got {recipe.depth_mode!r}")
    subs = recipe.level_recipes()
    out = Path(out) if out is not None else None
    if out is not None and _main_process():  # the whole chain's configuration (what `--resume` rebuilds)
        config = {"recipe": recipe.to_dict(), "seed": options.get("seed", 0), "data": data.describe(),
                  "meta": dict(options.get("meta") or {})}
        if (out / CONFIG).is_file():
            _check_same_run(read_json(out / CONFIG), config, out)
        write_json(out / CONFIG, config)
    starts = [sum(r.epochs for r in subs[:i]) for i in range(len(subs))]
    results: list[TrainResult] = []

    def train_epochs(net, data, epochs):
        i = len(results)
        stop = None
        if stop_after is not None:
            if stop_after <= starts[i]:
                raise _Stopped
            stop = stop_after - starts[i] if stop_after - starts[i] < subs[i].epochs else None
        result = train(net, data, subs[i], out=None if out is None else out / f"level{i}",
                       stop_after=stop, **options)
        results.append(result)
        if not result.finished:
            raise _Stopped
        return result

    try:
        if recipe.coarse_to_fine:
            coarse_to_fine(model, data, train_epochs, levels=recipe.coarse_to_fine,
                           epochs=list(recipe.level_epochs), transfer=recipe.transfer)
        else:
            grow_depth(model, data, train_epochs, growths=recipe.grow_depth,
                       epochs=list(recipe.level_epochs), mode=recipe.depth_mode)
    except _Stopped:
        pass
    history = []
    for i, r in enumerate(results):
        for h in r.history:
            history.append({**h, "epoch": len(history) + 1, "level": i, "level_epoch": h["epoch"]})
    first = results[0].config if results else {}
    config = {**first, "recipe": recipe.to_dict(), "levels": [r.config for r in results]}
    finished = len(results) == len(subs) and all(r.finished for r in results)
    result = TrainResult(config=config, history=history, finished=finished,
                         wall_time=sum(r.wall_time for r in results), out=None if out is None else str(out))
    if finished and out is not None:
        result.save(out / RESULT)
    return result
