"""A whole image-classification set in memory, and its train/validation/test splits.

A :class:`Dataset` is one uint8 tensor of images ``(N, C, H, W)`` and one int64 tensor
of labels ``(N,)``, with the class names and the per-channel mean and standard
deviation used to normalise it. A :class:`Splits` holds the train, optional
validation, and test sets of one task; all three share the normalisation of the
training part, so the validation and test sets never leak into it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from numnet.errors import ConfigError, ConfigTypeError

__all__ = ["Dataset", "Splits", "SplitsBase", "channel_stats"]


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images, on the [0, 1] scale.

    Exact: computed from the histogram of the 256 pixel values of each channel, so
    there is no float accumulation over millions of pixels.

    >>> x = torch.tensor([0, 255, 0, 255], dtype=torch.uint8).reshape(4, 1, 1, 1)
    >>> channel_stats(x)
    ((0.5,), (0.5,))
    """
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[0] == 0:
        raise ConfigError(
            f"images must be a non-empty uint8 tensor (N, C, H, W), got {images.dtype} "
            f"of shape {tuple(images.shape)}"
        )
    values = torch.arange(256, dtype=torch.float64)
    means, stds = [], []
    for c in range(images.shape[1]):
        counts = torch.bincount(images[:, c].reshape(-1).cpu(), minlength=256).double()
        n = counts.sum()
        mean = (counts * values).sum() / n
        var = (counts * (values - mean) ** 2).sum() / n
        means.append(float(mean) / 255)
        stds.append(math.sqrt(float(var)) / 255)
    return tuple(means), tuple(stds)


class LabelledTensors:
    """What a split held as tensors answers (``images`` ``(N, C, ...)``, ``labels``,
    ``classes``): :class:`Dataset` and a user's :class:`~numnet.data.user.TensorSet`."""

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> tuple[int, ...]:
        return tuple(self.images.shape[2:])

    def subset(self, index: torch.Tensor):
        """The samples at ``index`` (a 1-D index tensor), same classes (and normalisation)."""
        return dataclasses.replace(self, images=self.images[index], labels=self.labels[index])


@dataclass(frozen=True, eq=False)
class Dataset(LabelledTensors):
    """Images ``(N, C, H, W)`` uint8 and labels ``(N,)`` int64 of one split.

    ``mean`` and ``std`` are per-channel, on the [0, 1] pixel scale: a loader feeds
    ``(pixel / 255 - mean) / std`` to the network.

    >>> ds = Dataset(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]),
    ...              classes=("a", "b"), mean=(0.5,), std=(0.25,), name="toy")
    >>> len(ds), ds.num_classes, ds.in_channels, ds.image_size
    (2, 2, 1, (4, 4))
    >>> Dataset(torch.zeros(2, 1, 4, 4), torch.tensor([0, 1]), classes=("a", "b"),
    ...         mean=(0.5,), std=(0.25,))
    Traceback (most recent call last):
    ...
    numnet.errors.ConfigTypeError: images must be a uint8 tensor (N, C, H, W), got torch.float32
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str = ""

    def __post_init__(self):
        images, labels = self.images, self.labels
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
            got = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
            raise ConfigTypeError(f"images must be a uint8 tensor (N, C, H, W), got {got}")
        if images.ndim != 4:
            raise ConfigError(f"images must have 4 dims (N, C, H, W), got shape {tuple(images.shape)}")
        if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 or labels.ndim != 1:
            got = (labels.dtype, tuple(labels.shape)) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ConfigTypeError(f"labels must be a 1-D int64 tensor, got {got}")
        if len(labels) != len(images):
            raise ConfigError(f"{len(images)} images but {len(labels)} labels")
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        if len(labels) and not (0 <= int(labels.min()) and int(labels.max()) < len(self.classes)):
            raise ConfigError(
                f"labels must lie in [0, {len(self.classes)}) for {len(self.classes)} classes, "
                f"got range [{int(labels.min())}, {int(labels.max())}]"
            )
        c = images.shape[1]
        if len(self.mean) != c or len(self.std) != c:
            raise ConfigError(f"mean and std need one value per channel ({c}), got {self.mean}, {self.std}")
        if not all(s > 0 for s in self.std):
            raise ConfigError(f"std must be positive, got {self.std}")

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, {len(self)} images {tuple(self.images.shape[1:])}, "
                f"{self.num_classes} classes)")


class SplitsBase:
    """What the splits of a task answer, whether held in memory (:class:`Splits`) or
    streamed from an image folder (:class:`~numnet.data.imagefolder.FolderSplits`): a
    subclass has ``train``, ``val`` (or ``None``) and ``test`` sets (each with ``classes``,
    ``len`` and ``subset(index)``), a ``name``, ``in_channels`` and ``image_size``."""

    recipe_default: str | None = None
    """The registered recipe :func:`numnet.train.train` uses for these splits unless told
    (``None``: :func:`numnet.train.recipe.default_recipe` of the data set's name)."""

    def example_input(self) -> torch.Tensor:
        """One test image as the float input a model takes (pixels on the [0, 1] scale), to
        check a model fits."""
        return self.example().float().div(255)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.train.classes

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def limit_train(self, n: int):
        """The same splits with only the first ``n`` training images (for smoke runs).

        Validation and test sets and the normalisation are unchanged.
        """
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(self.train):
            raise ConfigError(f"limit_train must be an int in [1, {len(self.train)}], got {n!r}")
        return dataclasses.replace(self, train=self.train.subset(torch.arange(n)))

    def describe(self) -> dict:
        """Name, sizes and shape, as plain data (recorded with every training run)."""
        return {
            "name": self.name,
            "train": len(self.train),
            "val": len(self.val) if self.val is not None else 0,
            "test": len(self.test),
            "shape": [self.in_channels, *self.image_size],
            "num_classes": self.num_classes,
        }


@dataclass(frozen=True, eq=False)
class Splits(SplitsBase):
    """The train, validation (or ``None``) and test sets of one task.

    Build one with :func:`numnet.data.load`, or from arrays with :meth:`from_arrays`.

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randint(0, 256, (10, 1, 4, 4), dtype=torch.uint8, generator=g)
    >>> y = torch.arange(10) % 2
    >>> s = Splits.from_arrays("toy", ("even", "odd"), (x[:8], y[:8]), (x[8:], y[8:]), val_split=2)
    >>> len(s.train), len(s.val), len(s.test), s.num_classes, s.in_channels
    (6, 2, 2, 2, 1)
    """

    train: Dataset
    val: Dataset | None
    test: Dataset

    def __post_init__(self):
        sets = [d for d in (self.train, self.val, self.test) if d is not None]
        shapes = {d.images.shape[1:] for d in sets}
        if len(shapes) != 1 or len({d.classes for d in sets}) != 1:
            raise ConfigError(f"train/val/test must share image shape and classes, got {shapes}")

    @classmethod
    def from_arrays(cls, name: str, classes, train: tuple, test: tuple, *,
                    val_split: int | float = 0, split_seed: int = 0) -> "Splits":
        """Splits from ``(images, labels)`` pairs, holding out ``val_split`` of train.

        ``val_split`` is a count of training images (``5000`` gives CIFAR's 45k/5k) or
        a fraction in (0, 1); 0 means no validation set. The held-out images are a
        random subset drawn with ``split_seed``, the same on every machine. The
        normalisation statistics come from the remaining training images only.
        """
        images, labels = train
        n = len(labels)
        if n == 0 or len(test[1]) == 0:
            raise ConfigError(f"{name}: {'the training' if n == 0 else 'the test'} set has no images")
        n_val = _validation_count(val_split, n)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(split_seed))
        train_idx, val_idx = perm[n_val:].sort().values, perm[:n_val].sort().values
        if n_val:
            images_train, labels_train = images[train_idx], labels[train_idx]
        else:
            images_train, labels_train = images, labels
        mean, std = channel_stats(images_train)
        make = lambda x, y: Dataset(x, y, classes=tuple(classes), mean=mean, std=std, name=name)  # noqa: E731
        return cls(
            train=make(images_train, labels_train),
            val=make(images[val_idx], labels[val_idx]) if n_val else None,
            test=make(*test),
        )

    @property
    def name(self) -> str:
        return self.train.name

    @property
    def in_channels(self) -> int:
        return self.train.in_channels

    @property
    def image_size(self) -> tuple[int, int]:
        return self.train.image_size

    def example(self) -> torch.Tensor:
        """One test image ``(1, C, H, W)`` uint8 (to check a model fits)."""
        return self.test.images[:1]

    def loaders(self, recipe, *, seed: int, eval_batch_size: int, device, resident: bool = True,
                channels_last: bool = False, rank: int = 0, world_size: int = 1):
        """The training :class:`~numnet.data.loader.Loader` of ``recipe`` (shuffled, its
        pad-crop-flip augmentation) and the evaluation loaders ``{"val": ..., "test": ...}``.

        >>> from numnet.data import load
        >>> from numnet.train import get_recipe
        >>> train, evals = load("synthetic", train_size=10, test_size=4).loaders(
        ...     get_recipe("quick"), seed=0, eval_batch_size=2, device="cpu")
        >>> train.pad, train.flip, len(train), sorted(evals), len(evals["test"])
        (4, True, 1, ['test'], 2)
        """
        from numnet.data.loader import Loader

        share = dict(device=device, resident=resident, channels_last=channels_last, rank=rank, world_size=world_size)
        train = Loader(self.train, recipe.batch_size, shuffle=True, pad=recipe.pad, flip=recipe.flip, seed=seed,
                       **share)
        evals = {name: Loader(ds, eval_batch_size, **share)
                 for name, ds in (("val", self.val), ("test", self.test)) if ds is not None}
        return train, evals


def _validation_count(val_split: int | float, n: int) -> int:
    if isinstance(val_split, bool) or not isinstance(val_split, (int, float)):
        raise ConfigTypeError(f"val_split must be an int count or a float fraction, got {val_split!r}")
    if isinstance(val_split, float):
        if not 0 < val_split < 1:
            raise ConfigError(f"a fractional val_split must lie in (0, 1), got {val_split}")
        fraction, val_split = val_split, round(val_split * n)
        if val_split == 0:
            raise ConfigError(f"val_split={fraction} of {n} training images holds out none")
    if not 0 <= val_split < n:
        raise ConfigError(f"val_split must be a count in [0, {n}) of the {n} training images, got {val_split}")
    return val_split
