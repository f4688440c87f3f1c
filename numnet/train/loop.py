"""``train(model, data, recipe)``: the one training loop, for CPU, one GPU or many.

With ``out=`` a directory the run is durable: a checkpoint after every epoch (and at
a Ctrl-C, at the next batch boundary), metrics appended to ``metrics.jsonl``, and
``result.json`` at the end. Calling :func:`train` again on a finished directory returns
the stored result (and loads the final weights into the model); ``resume=True``
continues an interrupted run to the same weights an uninterrupted run would reach.

Guards: one process at a time per run directory (:func:`numnet.train.lock.run_lock`;
a second gets :class:`~numnet.train.lock.RunLocked`); a non-finite loss stops the run at
the step it appears (:class:`FloatingPointError` naming the epoch, step and loss; the
checkpoint of the last finished epoch is kept); blocks whose learned scheme leaves the
zero-stability set are recorded per epoch (``zero_unstable``) and in the result.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from numnet.data import Loader, Splits
from numnet.data.dataset import Dataset, SplitsBase
from numnet.errors import ConfigError, ConfigTypeError
from numnet.fileio import append_jsonl, atomic_write, write_json
from numnet.train import checkpoint
from numnet.train.config import describe, differences
from numnet.train.decay import sgd
from numnet.train.distributed import Context, setup
from numnet.train.lock import clean_temporaries, run_lock
from numnet.train.recipe import Recipe, default_recipe, get_recipe
from numnet.train.result import TrainResult

__all__ = ["train", "evaluate", "check_fits"]

CHECKPOINT, BEST, METRICS, RESULT, CONFIG = "checkpoint.pt", "best.pt", "metrics.jsonl", "result.json", "config.json"


def train(model: nn.Module, data: SplitsBase, recipe: str | Recipe | None = None, *,
          out: str | Path | None = None, resume: bool = False, seed: int = 0,
          device: str | torch.device | None = None, bf16: bool = False,
          channels_last: bool = False, compile: bool | str = False, resident: bool = True,
          stop_after: int | None = None, eval_batch_size: int = 1000,
          meta: dict | None = None, progress: bool = True) -> TrainResult:
    """Train ``model`` on ``data`` with ``recipe`` and return a :class:`TrainResult`.

    ``data``: numnet's splits (:func:`numnet.data.load`), or your own as a dict
    ``{"train": (x, y), "test": (x, y)}`` (optional ``"val"``, ``"num_classes"``, ``"classes"``,
    ``"name"``), each split float tensors ``(x, y)``, a ``Dataset`` of ``(x, y)`` items or a
    ``DataLoader`` (:func:`numnet.data.user.user_data`; numnet batches and shuffles itself).
    Your data goes in as given: no normalisation, and no augmentation unless the recipe
    asks for it.

    ``recipe`` is a :class:`Recipe` or a registered name; by default the paper's recipe
    for the data set (:func:`~numnet.train.recipe.default_recipe`; for your own data
    ``he2016-no-augmentation``). ``seed`` fixes the
    data order, the augmentation and every generator training draws from (seed the
    model's initialisation yourself, before building it).

    Fast paths that do not change the algorithm: ``bf16`` (autocast to bfloat16 on CUDA
    or CPU), ``channels_last`` memory layout, ``compile`` (``True`` for the default
    ``torch.compile`` backend, or a backend name), and ``resident`` data on the device.
    They are off unless asked (``numnet train`` turns bf16 and channels-last on where
    :func:`numnet.train.fastpath.fast_paths` says they pay; ``paths = fast_paths(device)``,
    ``bf16=paths.bf16, channels_last=paths.channels_last`` does the same here). Math threads are torch's own setting: call
    ``torch.set_num_threads(n)`` before training (:func:`~numnet.train.fastpath.default_threads`
    is what the CLI uses; on a shared machine 1). All of them are recorded in the run's
    ``config.json`` ``options`` and none in its fingerprint: a run resumes under others.
    Under ``torchrun`` the run is data-parallel (DDP) with the same global batch.

    ``out``: a directory for checkpoints, ``metrics.jsonl``, ``best.pt`` (weights of the
    best validation epoch) and ``result.json``. A multilevel recipe (``coarse_to_fine``,
    ``grow_depth``) runs one such directory per level, ``out/level<i>``
    (:mod:`numnet.train.multilevel`). ``stop_after=k`` ends after ``k`` epochs
    of the recipe's schedule, to be continued later with ``resume=True``. ``meta``: facts
    about the run to record in its configuration and check on resume (the CLI records
    the net, depth and scheme).

    >>> import torch
    >>> from numnet.data import load
    >>> from numnet.train import Recipe
    >>> _ = torch.manual_seed(0)
    >>> data = load("synthetic", train_size=128, test_size=64, val_split=32)
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4))
    >>> result = train(net, data, Recipe("tiny", epochs=3, batch_size=32, milestones=(2,)), progress=False)
    >>> result.epochs_done, result.finished, result.final_test_acc > 0.5
    (3, True, True)
    """
    t_start = time.perf_counter()
    if not isinstance(model, nn.Module):
        raise ConfigTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    data = _as_splits(data)
    recipe = get_recipe(recipe if recipe is not None else data.recipe_default or default_recipe(data.name))
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be an int >= 0, got {seed!r}")
    if stop_after is not None and (not isinstance(stop_after, int) or isinstance(stop_after, bool)
                                   or not 1 <= stop_after <= recipe.epochs):
        raise ConfigError(f"stop_after must be an epoch count in [1, {recipe.epochs}], got {stop_after!r}")
    if not (isinstance(compile, bool) or isinstance(compile, str)):
        raise ConfigTypeError(f"compile must be a bool or a torch.compile backend name, got {compile!r}")
    if not isinstance(eval_batch_size, int) or isinstance(eval_batch_size, bool) or eval_batch_size < 1:
        raise ConfigError(f"eval_batch_size must be a positive int, got {eval_batch_size!r}")
    for name, flag in (("resume", resume), ("bf16", bf16), ("channels_last", channels_last),
                       ("resident", resident), ("progress", progress)):
        if not isinstance(flag, bool):
            raise ConfigTypeError(f"{name} must be True or False, got {flag!r}")
    if meta is not None and not isinstance(meta, dict):
        raise ConfigTypeError(f"meta must be a dict of facts about the run, got {type(meta).__name__}")
    if out is not None and not isinstance(out, (str, Path)):
        raise ConfigTypeError(f"out must be a directory path (str or Path), got {type(out).__name__}")
    check_fits(model, data)
    if recipe.levels > 1 and not (isinstance(data, Splits) and isinstance(data.train, Dataset)):
        kind = "a user's data" if isinstance(data, Splits) else "streamed from an image folder"
        raise ConfigError(f"multilevel recipes restrict numnet's in-memory images; {data.name} is {kind}")
    lock = run_lock(out) if out is not None and _main_process() else contextlib.nullcontext()
    with lock:
        if recipe.levels > 1:   # coarse-to-fine or grow-depth: a chain of plain runs, one per level
            from numnet.train.multilevel import train_levels

            return train_levels(model, data, recipe, out=out, resume=resume, seed=seed, device=device, bf16=bf16,
                                channels_last=channels_last, compile=compile, resident=resident,
                                stop_after=stop_after, eval_batch_size=eval_batch_size, meta=meta,
                                progress=progress)
        return _train_one(model, data, recipe, out=out, resume=resume, seed=seed, device=device, bf16=bf16,
                          channels_last=channels_last, compile=compile, resident=resident, stop_after=stop_after,
                          eval_batch_size=eval_batch_size, meta=meta, progress=progress, t_start=t_start)


def _as_splits(data) -> SplitsBase:
    """``data`` as splits: numnet's own, or a user's ``{"train": ..., "test": ..., "val": ...}``
    (each ``(x, y)`` tensors, a ``Dataset`` or a ``DataLoader``; :func:`numnet.data.user.user_data`)."""
    if isinstance(data, SplitsBase):
        return data
    if isinstance(data, dict):
        from numnet.data.user import user_data

        unknown = sorted(set(data) - {"train", "test", "val", "num_classes", "classes", "name"})
        if unknown or not {"train", "test"} <= set(data):
            raise ConfigError(f"data as a dict needs 'train' and 'test' (optional 'val', 'num_classes', 'classes', "
                              f"'name'), got keys {sorted(data)}")
        return user_data(**data)
    raise ConfigTypeError(f"data must be numnet.data.Splits (numnet.data.load), an image folder's FolderSplits "
                          f"(numnet.data.load_image_folder), numnet.data.user_data(...) or a dict "
                          f"{{'train': (x, y), 'test': (x, y)}} of your own tensors, Datasets or DataLoaders, "
                          f"got {type(data).__name__}")


def _main_process() -> bool:
    """Rank 0 (or no ``torchrun`` at all): the process that writes the run's files."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return os.environ.get("RANK", "0") == "0"


def _train_one(model, data, recipe, *, out, resume, seed, device, bf16, channels_last, compile, resident,
               stop_after, eval_batch_size, meta, progress, t_start) -> TrainResult:
    ctx = setup(device)
    config = {
        "recipe": recipe.to_dict(), "seed": seed, "data": data.describe(),
        "model": {"class": type(model).__name__, "parameters": sum(p.numel() for p in model.parameters())},
        "meta": dict(meta or {}),
        "options": {"bf16": bf16, "channels_last": channels_last, "compile": compile,
                    "resident": resident, "device": str(ctx.device), "world_size": ctx.world_size,
                    "threads": torch.get_num_threads()},
    }
    out = Path(out) if out is not None else None
    try:
        stored = _stored_result(out, config, model) if out is not None else None
        if stored is not None:
            return stored
        run = _Run(model, data, recipe, config, ctx, out=out, seed=seed, bf16=bf16,
                   channels_last=channels_last, compile=compile, resident=resident,
                   eval_batch_size=eval_batch_size, progress=progress)
        if out is not None:
            run.start(resume)
        return run.fit(stop_after or recipe.epochs, t_start)
    finally:
        ctx.teardown()


def check_fits(model: nn.Module, data: Splits) -> None:
    """Refuse, before any training, data the model cannot learn: an empty split, images
    whose channels the model does not take, or a class count that is not its output width.
    One test image goes through the model in eval mode, without gradients (nothing in the
    model changes).

    >>> from numnet.data import load
    >>> data = load("synthetic", train_size=8, test_size=4)   # 3 channels, 4 classes
    >>> check_fits(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 10)), data)
    Traceback (most recent call last):
    ...
    numnet.errors.ConfigError: the model gives 10 outputs per image but synthetic has 4 classes (build it with num_classes=4)
    """
    for split in ("train", "test"):
        if len(getattr(data, split)) == 0:
            raise ConfigError(f"the {split} set of {data.name} is empty; training needs images in train and test")
    example = data.example()
    shape = tuple(example.shape[1:])
    param = next(model.parameters(), None)
    image = data.example_input().to(param.device if param is not None else "cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(image)
    except RuntimeError as e:
        raise ConfigError(f"the model does not take the images of {data.name}, {shape} with {data.in_channels} "
                          f"channel(s) (build it with in_channels={data.in_channels}); torch says: "
                          f"{str(e).splitlines()[0]}") from e
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.shape != (1, data.num_classes):
        got = f"{out.shape[1] if out.ndim == 2 else tuple(out.shape[1:])}" if isinstance(out, torch.Tensor) \
            else type(out).__name__
        raise ConfigError(f"the model gives {got} outputs per image but {data.name} has {data.num_classes} classes "
                          f"(build it with num_classes={data.num_classes})")


def _fingerprint(config: dict) -> dict:
    """The parts of a configuration that change the result (not the fast-path options)."""
    return {k: config.get(k) for k in ("recipe", "seed", "data", "model", "meta")}


def _check_same_run(stored: dict, config: dict, where: Path) -> None:
    diffs = differences(_fingerprint(stored), _fingerprint(config))
    if diffs:
        parts = ", ".join(dict.fromkeys(k.split(".")[0] for k, _, _ in diffs))
        raise ValueError(f"{where} holds a run with a different {parts}: {describe(diffs)}; "
                         f"use another out directory")


def _stored_result(out: Path, config: dict, model: nn.Module) -> TrainResult | None:
    if not (out / RESULT).is_file():
        return None
    result = TrainResult.load(out / RESULT)
    _check_same_run(result.config, config, out)
    state = checkpoint.load(out / CHECKPOINT, keys=("model",))
    checkpoint.restore_model(model, state["model"], out / CHECKPOINT)
    return result


@contextlib.contextmanager
def _sigint_to_flag(enabled: bool):
    """While active, a first Ctrl-C sets ``flag['stop']`` (the loop stops at the next batch
    boundary, after checkpointing); a second one interrupts at once."""
    flag = {"stop": False}
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def evaluate(model: nn.Module, loader: Loader, ctx: Context | None = None, *, bf16: bool = False) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy of ``model`` over ``loader`` (summed over ranks).

    >>> import torch
    >>> from numnet.data import load, Loader
    >>> data = load("synthetic", train_size=8, test_size=40)
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 4))
    >>> _ = torch.nn.init.zeros_(net[1].weight), torch.nn.init.zeros_(net[1].bias)
    >>> evaluate(net, Loader(data.test, 16))  # uniform logits: loss log 4, first class wins
    (1.3863, 0.25)
    """
    ctx = ctx or Context(0, 1, loader.device)
    was_training = model.training
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=loader.device)
    with torch.no_grad(), torch.autocast(loader.device.type, dtype=torch.bfloat16, enabled=bf16):
        for batch in loader.epoch(0):
            logits = model(batch.images).float()
            sums[0] += F.cross_entropy(logits, batch.labels, reduction="sum")
            sums[1] += (logits.argmax(1) == batch.labels).sum()
            sums[2] += len(batch.labels)
    model.train(was_training)
    loss, correct, count = ctx.all_sum(sums).tolist()
    return loss / count, correct / count


def _jsonable(value):
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    return value


class _Run:
    """The state of one training run; :func:`train` is its only user."""

    def __init__(self, model, data, recipe, config, ctx, *, out, seed, bf16, channels_last, compile,
                 resident, eval_batch_size, progress):
        self.recipe, self.config, self.ctx, self.out = recipe, config, ctx, out
        self.bf16, self.progress = bf16, progress and ctx.is_main
        device = ctx.device
        _seed_everything(seed)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.model = model.to(device)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if ctx.world_size > 1 and device.type == "cuda":
            self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)  # same BN statistics as one GPU
        self.optimizer = sgd(self.model, recipe)  # scheme coefficients decayed as recipe.coefficient_decay says
        net = self.model
        if ctx.distributed and ctx.world_size > 1:
            # a net that drops blocks per batch (stochastic depth, drop-path) leaves their
            # parameters without gradients in some passes: DDP must look for them
            skips = any(getattr(m, "skips_parameters", False) for m in net.modules())
            net = nn.parallel.DistributedDataParallel(net, device_ids=[device] if device.type == "cuda" else None,
                                                      find_unused_parameters=skips)
        compiler = (lambda m: torch.compile(m, **({} if compile is True else {"backend": compile}))) \
            if compile else (lambda m: m)
        self.net = compiler(net)
        # evaluation needs no gradient synchronisation: each rank runs the plain model on its share
        self.eval_net = compiler(self.model) if net is not self.model else self.net
        self.train_loader, self.eval_loaders = data.loaders(
            recipe, seed=seed, eval_batch_size=eval_batch_size, device=device, resident=resident,
            channels_last=channels_last, rank=ctx.rank, world_size=ctx.world_size)
        self.history: list[dict] = []
        self.epoch, self.batch = 0, 0            # the next batch to run
        self.partial = {"loss": 0.0, "correct": 0.0, "seen": 0.0, "time": 0.0}  # of an interrupted epoch
        self.wall_before = 0.0                   # wall time of earlier sessions of this run

    # -- durable state -----------------------------------------------------------------
    def start(self, resume: bool) -> None:
        """Continue from ``out/checkpoint.pt`` if ``resume``; refuse to overwrite one otherwise."""
        path = self.out / CHECKPOINT
        if path.is_file():
            if not resume:
                raise FileExistsError(f"{self.out} already holds a checkpoint; pass resume=True "
                                      f"(--resume) to continue it, or choose another out directory")
            state = checkpoint.load(path, keys=checkpoint.RUN_KEYS)
            _check_same_run(state["config"], self.config, self.out)
            checkpoint.restore_model(self.model, state["model"], path)
            self.optimizer.load_state_dict(state["optimizer"])
            checkpoint.set_rng_state(state["rng"])
            self.history, self.epoch, self.batch = state["history"], state["epoch"], state["batch"]
            self.partial, self.wall_before = state["partial"], state["wall_time"]
        if self.ctx.is_main:
            clean_temporaries(self.out)  # left by a process killed mid-write; we hold the lock
            write_json(self.out / CONFIG, self.config)
            with atomic_write(self.out / METRICS) as tmp:  # exactly the epochs the checkpoint holds
                tmp.write_text("")
            for record in self.history:
                append_jsonl(self.out / METRICS, record)

    def save(self, wall: float) -> None:
        if self.out is None or not self.ctx.is_main:
            return
        checkpoint.save(self.out / CHECKPOINT, {
            "config": self.config, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "rng": checkpoint.rng_state(),
            "epoch": self.epoch, "batch": self.batch, "partial": self.partial,
            "history": self.history, "wall_time": wall,
        })

    # -- the loop ----------------------------------------------------------------------
    def fit(self, until: int, t_start: float) -> TrainResult:
        from numnet.progress import progress

        steps = len(self.train_loader)
        wall = lambda: self.wall_before + time.perf_counter() - t_start  # noqa: E731
        bar = progress(total=until * steps, initial=self.epoch * steps + self.batch, unit="batch",
                   disable=not self.progress, dynamic_ncols=True)
        with bar, _sigint_to_flag(self.out is not None and not self.ctx.distributed) as flag:
            while self.epoch < until:
                record = self._train_epoch(bar, flag)
                if record is not None:
                    self._finish_epoch(record, bar)
                self.save(wall())  # at an epoch end, or at the batch boundary after a Ctrl-C
                if flag["stop"]:
                    raise KeyboardInterrupt(f"training interrupted; continue with resume=True from {self.out}")
        result = TrainResult(config=self.config, history=self.history,
                             finished=self.epoch == self.recipe.epochs, wall_time=wall(),
                             out=str(self.out) if self.out else None)
        if result.finished and self.out is not None and self.ctx.is_main:
            result.save(self.out / RESULT)
        self.ctx.barrier()
        return result

    def _train_epoch(self, bar, flag) -> dict | None:
        device, loader = self.ctx.device, self.train_loader
        steps = len(loader)
        first_lr = self.recipe.lr_at(self.epoch, 0, steps)
        self.net.train()
        sums = torch.tensor([self.partial["loss"], self.partial["correct"]], dtype=torch.float64, device=device)
        seen, elapsed = self.partial["seen"], self.partial["time"]
        _sync(device)
        t0, last_shown = time.perf_counter(), 0.0
        pending = None   # (step, loss) of the previous step, checked once the next one is queued
        for batch in loader.epoch(self.epoch, start=self.batch):
            if flag["stop"]:
                self._check_finite(pending)
                _sync(device)
                loss, correct = sums.tolist()
                self.partial = {"loss": loss, "correct": correct, "seen": seen,
                                "time": elapsed + time.perf_counter() - t0}
                return None
            lr = self.recipe.lr_at(self.epoch, self.batch, steps)  # the schedule is resolved per step
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
                logits = self.net(batch.images).float()
            loss_sum = F.cross_entropy(logits, batch.labels, reduction="sum")
            # sum over this rank / global batch size, times ranks (DDP averages over ranks):
            # exactly the mean over the global batch, whatever each rank's share
            (loss_sum * (self.ctx.world_size / batch.total)).backward()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            sums += torch.stack([loss_sum.detach(), (logits.argmax(1) == batch.labels).sum()])
            seen += len(batch.labels)
            self._check_finite(pending)  # lagged by one step: no wait for the step just queued
            pending = (self.batch, loss_sum.detach(), lr)
            self.batch += 1
            bar.update(1)
            now = time.perf_counter()
            if self.progress and (now - last_shown > 0.5 or self.batch == len(loader)):
                last_shown = now
                loss, correct = sums.tolist()
                bar.set_description(f"epoch {self.epoch + 1}/{self.recipe.epochs}", refresh=False)
                bar.set_postfix({"loss": f"{loss / seen:.3f}", "acc": f"{correct / seen:.3f}", "lr": f"{lr:.3g}",
                                 "img/s": f"{seen * self.ctx.world_size / (elapsed + now - t0):.0f}"}, refresh=False)
        self._check_finite(pending)
        _sync(device)
        train_time = elapsed + time.perf_counter() - t0
        totals = self.ctx.all_sum(torch.cat([sums, torch.tensor([seen], dtype=torch.float64, device=device)]))
        loss, correct, seen = totals.tolist()
        return {"epoch": self.epoch + 1, "lr": first_lr, "train_loss": loss / seen, "train_acc": correct / seen,
                "images": int(seen), "train_time": train_time, "images_per_s": seen / train_time}

    def _check_finite(self, pending) -> None:
        """Stop at a step whose loss is not finite (on any rank), before anything is saved:
        the checkpoint on disk stays the last finished epoch's."""
        if pending is None:
            return
        step, loss_sum, lr = pending
        bad = (~torch.isfinite(loss_sum)).to(torch.float64).reshape(1)
        if self.ctx.world_size > 1:
            bad = self.ctx.all_sum(bad)  # every rank stops at the same step
        if bad.item():
            kept = (f"; {self.out / CHECKPOINT} keeps epoch {self.epoch}" if self.out is not None and self.epoch
                    else "")
            raise FloatingPointError(
                f"training diverged in epoch {self.epoch + 1}, step {step + 1} of {len(self.train_loader)}: "
                f"loss {loss_sum.item()} (lr {lr}){kept}; lower the learning rate (recipe lr={self.recipe.lr})")

    def _finish_epoch(self, record: dict, bar) -> None:
        t0 = time.perf_counter()
        for name in ("val", "test"):
            loader = self.eval_loaders.get(name)
            loss, acc = evaluate(self.eval_net, loader, self.ctx, bf16=self.bf16) if loader else (None, None)
            record[f"{name}_loss"], record[f"{name}_acc"] = loss, acc
        coefficients = getattr(self.model, "learned_coefficients", None)
        record["coefficients"] = _jsonable(coefficients()) if callable(coefficients) else []
        record["zero_unstable"] = _zero_unstable(self.model) if record["coefficients"] else []
        _reconstruction(self.model, record, self.ctx.is_main, torch.bfloat16 if self.bf16 else torch.float32)
        record["epoch_time"] = record["train_time"] + time.perf_counter() - t0
        best = max((h["val_acc"] for h in self.history if h["val_acc"] is not None), default=-1.0)
        self.history.append(record)
        self.epoch, self.batch = self.epoch + 1, 0
        self.partial = {"loss": 0.0, "correct": 0.0, "seen": 0.0, "time": 0.0}
        if self.out is not None and self.ctx.is_main:
            append_jsonl(self.out / METRICS, record)
            if record["val_acc"] is not None and record["val_acc"] > best:
                checkpoint.save(self.out / BEST, {"epoch": record["epoch"], "model": self.model.state_dict()})
        left = [b for b in record["zero_unstable"] if not any(b in h.get("zero_unstable", ()) for h in self.history[:-1])]
        if left and self.ctx.is_main:
            where = ", ".join(f"stage {b['stage']} block {b['block']}" for b in left)
            warnings.warn(f"epoch {record['epoch']}: the learned scheme of {where} is no longer zero-stable "
                          f"(a root of rho left the unit disc or a repeated root reached it)", RuntimeWarning,
                          stacklevel=2)
        if self.progress:
            fmt = lambda k: "-" if record[k] is None else f"{100 * record[k]:.2f}%"  # noqa: E731
            bar.write(f"epoch {record['epoch']}/{self.recipe.epochs}: loss {record['train_loss']:.4f} "
                      f"train {fmt('train_acc')} val {fmt('val_acc')} test {fmt('test_acc')} "
                      f"lr {record['lr']:.3g} {record['images_per_s']:.0f} img/s")


def _reconstruction(model: nn.Module, record: dict, warn: bool, dtype) -> None:
    """Reversible nets (a ``pop_reconstruction_error`` method): the epoch's largest relative
    error of the states the backward pass reconstructed, as ``record["reconstruction_error"]``,
    with a warning past :func:`numnet.nets.reversible.reconstruction_tolerance` of the
    compute ``dtype`` (bf16 autocast or float32)."""
    pop = getattr(model, "pop_reconstruction_error", None)
    if not callable(pop):
        return
    from numnet.nets.reversible import reconstruction_tolerance

    err = record["reconstruction_error"] = pop()
    tol = reconstruction_tolerance(dtype)
    if warn and err is not None and err > tol:
        warnings.warn(f"epoch {record['epoch']}: the reversible backward pass reconstructed its states with relative "
                      f"error {err:.3g} > {tol:g} (numnet.nets.reversible.reconstruction_tolerance, {dtype}), so its "
                      f"gradients are inexact; store a state every N blocks (net.store_every = N) or train with "
                      f"reversible=False", RuntimeWarning, stacklevel=2)


def _zero_unstable(model: nn.Module) -> list[dict]:
    """``[{"stage", "block"}, ...]`` of the steps whose scheme (``model.step_schemes()``, the
    learned coefficients substituted) is not zero-stable; ``[]`` for a model without schemes."""
    steps = getattr(model, "step_schemes", None)
    if not callable(steps):
        return []
    return [{"stage": s.stage, "block": s.block} for s in steps() if not s.scheme.is_zero_stable]


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
