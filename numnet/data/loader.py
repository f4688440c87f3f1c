"""Batches on the training device, augmented with batched tensor ops.

The uint8 images move to the device once (``resident=True``); each batch is gathered,
padded-and-cropped and flipped in one indexing operation for the whole batch, and
normalised on the device. There is no per-image Python loop and no worker process.

Randomness is a pure function of ``(seed, epoch)``: :meth:`Loader.plan` draws the
epoch's order, crop offsets and flips on the CPU from a generator seeded with both,
so an epoch can be replayed exactly (resuming from a checkpoint needs no generator
state), and a run on CPU, on one GPU or on several (each rank takes its share of every
global batch) sees the same augmented images.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from numnet.data.dataset import Dataset
from numnet.errors import ConfigError, ConfigTypeError

__all__ = ["Loader", "Plan", "Batch", "Normalize", "augment", "rank_batches", "epoch_order"]


class Plan(NamedTuple):
    """One epoch's randomness: sample order, crop offsets ``(N, 2)`` (row, col), flips."""

    order: torch.Tensor
    offsets: torch.Tensor
    flips: torch.Tensor


class Batch(NamedTuple):
    """A batch: normalised float images, int64 labels, and the size of the *global* batch
    (the sum over data-parallel ranks; equal to ``len(labels)`` in a single process)."""

    images: torch.Tensor
    labels: torch.Tensor
    total: int


def augment(images: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor, pad: int) -> torch.Tensor:
    """Zero-pad by ``pad``, crop back to the input size at ``offsets``, flip where ``flips``.

    ``offsets[i] = (r, c)`` picks the window ``[r : r + H, c : c + W]`` of the padded
    image ``i`` (``0 <= r, c <= 2 * pad``; ``(pad, pad)`` is the unshifted image).
    One gather does crop and flip together; the result is the same dtype as the input,
    in channels-last memory layout.

    >>> x = torch.arange(9, dtype=torch.uint8).reshape(1, 1, 3, 3)
    >>> augment(x, torch.tensor([[0, 2]]), torch.tensor([False]), pad=1)[0, 0]
    tensor([[0, 0, 0],
            [1, 2, 0],
            [4, 5, 0]], dtype=torch.uint8)
    >>> augment(x, torch.tensor([[1, 1]]), torch.tensor([True]), pad=1)[0, 0]
    tensor([[2, 1, 0],
            [5, 4, 3],
            [8, 7, 6]], dtype=torch.uint8)
    """
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad)) if pad else images
    rows = offsets[:, :1] + torch.arange(h, device=images.device)                # (n, H)
    cols = torch.arange(w, device=images.device).expand(n, w)
    cols = offsets[:, 1:] + torch.where(flips[:, None], w - 1 - cols, cols)      # (n, W)
    index = torch.arange(n, device=images.device)[:, None, None]
    return padded[index, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (n, C, H, W)


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0])


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The CPU generator every draw of ``epoch`` comes from (the order first)."""
    return torch.Generator().manual_seed(_epoch_seed(seed, epoch))


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> torch.Tensor:
    """The order in which an epoch visits ``n`` samples: the same on every rank and device.

    >>> epoch_order(5, 0, 0, shuffle=False)
    tensor([0, 1, 2, 3, 4])
    >>> bool((epoch_order(5, 0, 1) == epoch_order(5, 0, 1)).all()), sorted(epoch_order(5, 0, 1).tolist())
    (True, [0, 1, 2, 3, 4])
    """
    return torch.randperm(n, generator=epoch_generator(seed, epoch)) if shuffle else torch.arange(n)


def rank_batches(n: int, batch_size: int, *, drop_last: bool = False, rank: int = 0,
                 world_size: int = 1) -> list[tuple[int, int, int]]:
    """The batches of an epoch over ``n`` samples, as this rank sees them: for each global
    batch of ``batch_size``, the positions ``[a, b)`` of the epoch's order that this rank
    takes (its contiguous share) and the global batch's size. Every loader batches this way,
    so one process and ``world_size`` ranks see the same global batches.

    >>> rank_batches(10, 4), rank_batches(10, 4, rank=1, world_size=2)
    ([(0, 4, 4), (4, 8, 4), (8, 10, 2)], [(2, 4, 4), (6, 8, 4), (9, 10, 2)])
    >>> rank_batches(9, 4, world_size=2)
    Traceback (most recent call last):
    ...
    numnet.errors.ConfigError: the last batch of 1 images cannot be shared by 2 ranks; use drop_last=True or another batch size
    """
    for name, value, low in (("batch_size", batch_size, 1), ("world_size", world_size, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be an int >= {low}, got {value!r}")
    if not 0 <= rank < world_size:
        raise ConfigError(f"rank must lie in [0, {world_size}), got {rank}")
    if batch_size < world_size:
        raise ConfigError(f"batch_size {batch_size} is smaller than the {world_size} ranks sharing it")
    count = n // batch_size if drop_last else -(-n // batch_size)
    if count == 0:
        raise ConfigError(f"drop_last with batch_size {batch_size} > {n} images leaves no batch")
    if not drop_last and 0 < n % batch_size < world_size:
        raise ConfigError(f"the last batch of {n % batch_size} images cannot be shared by "
                          f"{world_size} ranks; use drop_last=True or another batch size")
    batches = []
    for i in range(count):
        lo, hi = i * batch_size, min((i + 1) * batch_size, n)
        share = torch.arange(lo, hi).tensor_split(world_size)[rank]
        batches.append((int(share[0]), int(share[-1]) + 1, hi - lo))
    return batches


class Loader:
    """Iterate a :class:`~numnet.data.dataset.Dataset` in batches on ``device``.

    ``shuffle`` draws a new order every epoch; ``pad``/``flip`` switch on the random
    crop and horizontal flip (the paper's CIFAR augmentation is ``pad=4, flip=True``).
    ``resident=True`` copies the whole uint8 set to the device once; ``False`` keeps it
    in (pinned) host memory and copies each batch. Under data parallelism each of the
    ``world_size`` ranks gets its contiguous share of every global batch of
    ``batch_size`` images.

    >>> from numnet.data import load
    >>> data = load("synthetic", train_size=10, test_size=4)
    >>> loader = Loader(data.train, 4, shuffle=True, pad=2, flip=True, seed=0)
    >>> len(loader), [tuple(b.images.shape) for b in loader.epoch(0)]
    (3, [(4, 3, 16, 16), (4, 3, 16, 16), (2, 3, 16, 16)])
    >>> b = next(loader.epoch(0)); b.images.dtype, b.labels.dtype, b.total
    (torch.float32, torch.int64, 4)
    """

    def __init__(self, dataset: Dataset, batch_size: int, *, shuffle: bool = False, pad: int = 0,
                 flip: bool = False, seed: int = 0, device: str | torch.device = "cpu",
                 resident: bool = True, channels_last: bool = False, drop_last: bool = False,
                 rank: int = 0, world_size: int = 1):
        from numnet.data.user import TensorSet

        if not isinstance(dataset, (Dataset, TensorSet)):
            raise ConfigTypeError(f"dataset must be a numnet.data.Dataset or a user's TensorSet, "
                                  f"got {type(dataset).__name__}")
        if not isinstance(pad, int) or isinstance(pad, bool) or pad < 0:
            raise ConfigError(f"pad must be an int >= 0, got {pad!r}")
        if (pad or flip) and dataset.images.ndim != 4:
            raise ConfigError(f"pad-crop and flip augment images (N, C, H, W); {dataset.name} holds samples of "
                              f"shape {tuple(dataset.images.shape[1:])}: use a recipe with pad=0, flip=False")
        self._batches = rank_batches(len(dataset), batch_size, drop_last=drop_last, rank=rank, world_size=world_size)
        self.num_batches = len(self._batches)
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.pad, self.flip, self.seed, self.drop_last = pad, flip, seed, drop_last
        self.rank, self.world_size, self.channels_last = rank, world_size, channels_last
        self.device = torch.device(device)
        self.resident = resident
        self._iterations = 0
        if resident:
            self._images = dataset.images.to(self.device)
            self._labels = dataset.labels.to(self.device)
        else:
            pin = self.device.type == "cuda"
            self._images = dataset.images.pin_memory() if pin else dataset.images
            self._labels = dataset.labels.pin_memory() if pin else dataset.labels
        # numnet's uint8 sets are normalised by their training statistics; a user's floats go in as they are
        self._normalize = Normalize(dataset.mean, dataset.std, self.device, channels_last) \
            if isinstance(dataset, Dataset) else _AsIs(self.device, channels_last and dataset.images.ndim == 4)

    def __len__(self) -> int:
        return self.num_batches

    @property
    def augmenting(self) -> bool:
        return self.pad > 0 or self.flip

    def plan(self, epoch: int) -> Plan:
        """The order, crop offsets and flips of ``epoch`` (CPU tensors over the whole set)."""
        n = len(self.dataset)
        g = epoch_generator(self.seed, epoch)
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        offsets = torch.randint(0, 2 * self.pad + 1, (n, 2), generator=g)
        flips = torch.randint(0, 2, (n,), generator=g).bool() if self.flip else torch.zeros(n, dtype=torch.bool)
        return Plan(order, offsets, flips)

    def epoch(self, epoch: int = 0, start: int = 0) -> Iterator[Batch]:
        """The batches of ``epoch``, from batch number ``start`` on (to resume mid-epoch)."""
        if not 0 <= start <= self.num_batches:
            raise ConfigError(f"start must lie in [0, {self.num_batches}], got {start}")
        plan = self.plan(epoch)
        on_device = Plan(*(t.to(self.device) for t in plan))
        index_plan = on_device if self.resident else plan
        for a, b, total in self._batches[start:]:
            idx = index_plan.order[a:b]
            x = self._images[idx].to(self.device, non_blocking=True)
            y = self._labels[idx].to(self.device, non_blocking=True)
            yield Batch(self._prepare(x, on_device.offsets[a:b], on_device.flips[a:b]), y, total)

    def __iter__(self) -> Iterator[Batch]:
        """Each ``for batch in loader`` runs the next epoch (0, 1, 2, ...): a new order and
        new augmentation every pass. Use :meth:`epoch` to pick one explicitly."""
        self._iterations += 1
        return self.epoch(self._iterations - 1)

    def _prepare(self, x: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
        if self.augmenting:
            x = augment(x, offsets, flips, self.pad)
        return self._normalize(x)


class _AsIs:
    """A user's float samples moved to ``device`` as float32, untouched otherwise."""

    def __init__(self, device, channels_last: bool):
        self.device = torch.device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(device=self.device, dtype=torch.float32, memory_format=self.memory_format)


class Normalize:
    """uint8 images to the float ``(pixel / 255 - mean) / std`` a network sees, on ``device``
    (per-channel ``mean``/``std`` on the [0, 1] scale), in channels-last layout if asked.

    >>> Normalize((0.5,), (0.25,))(torch.tensor([0, 255], dtype=torch.uint8).reshape(2, 1, 1, 1)).flatten()
    tensor([-2.,  2.])
    """

    def __init__(self, mean, std, device: str | torch.device = "cpu", channels_last: bool = False):
        c = len(mean)
        std = torch.tensor(std, dtype=torch.float32)
        self.scale = (1 / (255 * std)).reshape(1, c, 1, 1).to(device)
        self.shift = (-torch.tensor(mean, dtype=torch.float32) / std).reshape(1, c, 1, 1).to(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(device=self.scale.device, dtype=torch.float32, memory_format=self.memory_format)
        return x.mul_(self.scale).add_(self.shift)
