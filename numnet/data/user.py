"""A user's own data for :func:`numnet.train.train`: float tensors ``(x, y)``, a
``torch.utils.data.Dataset`` (a ``TensorDataset``, any map-style set of ``(x, y)`` items)
or a ``DataLoader`` (its dataset: numnet batches, shuffles and seeds itself).

A ``Dataset`` is read into tensors once, item by item, and held in memory (so a
per-item random transform in it runs once, not every epoch; use a recipe's pad-crop-flip
for augmentation). The images go to the network as given (as float32): **no normalisation and no
augmentation by default** — numnet's own sets are normalised by their training
statistics, a user's data is not touched. The default recipe is
``he2016-no-augmentation`` (He et al.'s CIFAR schedule, no pad-crop, no flip); a recipe
with ``pad``/``flip`` applies its pad-crop-flip to 4-D images ``(N, C, H, W)``.

>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> x, y = torch.randn(20, 2, 4, 4, generator=g), torch.arange(20) % 3
>>> data = user_data(train=(x[:16], y[:16]), test=(x[16:], y[16:]))
>>> data
UserSplits('user_data', train 16, val 0, test 4 of shape (2, 4, 4), 3 classes)
>>> user_data(train=(x, y.float()), test=(x, y))
Traceback (most recent call last):
...
numnet.errors.ConfigTypeError: user_data train: labels y must be an integer tensor of class indices, got torch.float32
>>> user_data(train=(x, y), test=(x, y + 1), num_classes=3)
Traceback (most recent call last):
...
numnet.errors.ConfigError: user_data test: labels must lie in [0, 3) for num_classes=3, got range [1, 3]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from numnet.data.dataset import LabelledTensors, Splits
from numnet.errors import ConfigError, ConfigTypeError

__all__ = ["TensorSet", "UserSplits", "user_data"]


@dataclass(frozen=True, eq=False)
class TensorSet(LabelledTensors):
    """One split of a user's data: float ``images`` ``(N, ...)`` fed as they are (as
    float32), int64 ``labels`` ``(N,)``; the counterpart of
    :class:`~numnet.data.dataset.Dataset` without normalisation statistics."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str = "user_data"


@dataclass(frozen=True, eq=False)
class UserSplits(Splits):
    """A user's train, optional validation and test :class:`TensorSet` s (build with
    :func:`user_data`); trains through the same loaders as numnet's sets."""

    recipe_default = "he2016-no-augmentation"

    def __repr__(self) -> str:
        return (f"UserSplits({self.name!r}, train {len(self.train)}, val {len(self.val) if self.val else 0}, "
                f"test {len(self.test)} of shape {tuple(self.train.images.shape[1:])}, {self.num_classes} classes)")

    def example_input(self) -> torch.Tensor:
        return self.example().float()

    def describe(self) -> dict:
        """As :meth:`SplitsBase.describe`, plus a digest of the tensors: a run directory
        holding a run on other data of the same sizes is never taken for this one."""
        h = hashlib.sha256()
        for ds in (self.train, self.val, self.test):
            if ds is not None:
                for t in (ds.images, ds.labels):
                    h.update(t.detach().cpu().contiguous().numpy().tobytes())
        return {**super().describe(), "digest": h.hexdigest()[:16]}


def user_data(train, test, val=None, *, num_classes: int | None = None, classes=None,
              name: str = "user_data") -> UserSplits:
    """A user's data as :class:`UserSplits` for :func:`numnet.train.train` (which calls this
    for ``data={"train": ..., "test": ..., "val": ...}``).

    Each split: ``(x, y)`` tensors, a ``Dataset`` of ``(x, y)`` items or a ``DataLoader``
    (its ``dataset``). ``x``: floating ``(N, ...)``, finite; ``y``: integer class indices
    ``(N,)``. ``num_classes`` (default: the largest training label + 1) or ``classes``
    (names) fixes the class count every label must fall under.
    """
    if not isinstance(name, str) or not name:
        raise ConfigTypeError(f"name must be a non-empty string, got {name!r}")
    splits = {"train": _tensors(train, f"{name} train"), "test": _tensors(test, f"{name} test")}
    if val is not None:
        splits["val"] = _tensors(val, f"{name} val")
    shapes = {k: tuple(x.shape[1:]) for k, (x, _) in splits.items()}
    if len(set(shapes.values())) != 1:
        raise ConfigError(f"{name}: train, val and test must share one sample shape, got {shapes}")
    if classes is not None:
        classes = tuple(str(c) for c in classes)
        if num_classes is not None and num_classes != len(classes):
            raise ConfigError(f"{name}: num_classes={num_classes} but {len(classes)} class names")
        num_classes = len(classes)
    inferred = num_classes is None
    if inferred:
        num_classes = int(splits["train"][1].max()) + 1
    elif not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ConfigError(f"{name}: num_classes must be a positive int, got {num_classes!r}")
    classes = classes or tuple(str(c) for c in range(num_classes))
    for k, (_, y) in splits.items():
        if int(y.min()) < 0 or int(y.max()) >= num_classes:
            how = " (the largest training label + 1; pass num_classes=)" if inferred else ""
            raise ConfigError(f"{name} {k}: labels must lie in [0, {num_classes}) for num_classes={num_classes}{how}, "
                              f"got range [{int(y.min())}, {int(y.max())}]")
    sets = {k: TensorSet(x, y, classes, name) for k, (x, y) in splits.items()}
    return UserSplits(train=sets["train"], val=sets.get("val"), test=sets["test"])


def _tensors(split, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` of one split, checked: floating finite x ``(N, ...)``, integer y ``(N,)``."""
    from torch.utils.data import DataLoader, Dataset, TensorDataset

    if isinstance(split, DataLoader):
        split = split.dataset
    if isinstance(split, TensorDataset):
        if len(split.tensors) != 2:
            raise ConfigError(f"{what}: a TensorDataset of (x, y) is needed, got {len(split.tensors)} tensors")
        x, y = split.tensors
    elif isinstance(split, (tuple, list)) and len(split) == 2 and all(isinstance(t, torch.Tensor) for t in split):
        x, y = split
    elif isinstance(split, Dataset) and hasattr(split, "__len__"):
        if len(split) == 0:
            raise ConfigError(f"{what} is empty")
        items = [split[i] for i in range(len(split))]
        if not all(isinstance(it, (tuple, list)) and len(it) == 2 for it in items):
            raise ConfigError(f"{what}: each item of the Dataset must be a pair (x, y)")
        x = torch.stack([torch.as_tensor(it[0]) for it in items])
        y = torch.as_tensor([int(it[1]) for it in items])
    else:
        raise ConfigTypeError(f"{what} must be (x, y) tensors, a torch Dataset of (x, y) items or a DataLoader, "
                              f"got {type(split).__name__}")
    if not x.is_floating_point():
        raise ConfigTypeError(f"{what}: images x must be a floating tensor fed as it is, got {x.dtype} "
                              f"(scale uint8 pixels yourself, or use numnet.data.Splits.from_arrays for numnet's "
                              f"normalisation)")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise ConfigTypeError(f"{what}: labels y must be an integer tensor of class indices, got {y.dtype}")
    if x.ndim < 2 or y.ndim != 1:
        raise ConfigError(f"{what}: x must be (N, ...) with N samples and y (N,), got shapes {tuple(x.shape)} "
                          f"and {tuple(y.shape)}")
    if len(x) != len(y):
        raise ConfigError(f"{what}: {len(x)} samples in x but {len(y)} labels in y")
    if len(x) == 0:
        raise ConfigError(f"{what} is empty")
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ConfigError(f"{what}: x holds {bad} non-finite value(s) (NaN or inf)")
    return x.detach().to(torch.float32), y.detach().to(torch.int64)
