"""A folder of class sub-folders of images (the ImageNet layout), decoded as it trains.

ImageNet does not fit in memory as one uint8 tensor, so this path streams: an
:class:`ImageFolder` lists the files (class index = position of the folder name in
sorted order), DataLoader worker processes decode them with Pillow and apply the
standard transform, and :class:`FolderLoader` moves each batch to the device and
normalises it there, batching exactly as :class:`~numnet.data.loader.Loader` does (the
same global batches on one process or on every ``torchrun`` rank, each rank decoding only
its share). The layout::

    root/train/<class>/*.JPEG      root/val/<class>/*.JPEG

Training transform: random resized crop to 224 (area 8%-100% of the image, aspect ratio
3/4-4/3; Szegedy et al., 2015) and a horizontal flip with probability 1/2; evaluation:
the shorter side resized to 256, the centre 224x224 cropped (single-crop evaluation).
Both are torchvision's reference ResNet recipe (bilinear resampling), not He et al.'s
(2016) scale augmentation and 10-crop testing. Each image's crop and flip are a pure function of ``(seed, epoch, index)``, so
an epoch replays exactly whichever worker decodes it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from numnet.data.dataset import SplitsBase
from numnet.data.errors import DataFormatError, DataNotFoundError
from numnet.data.loader import Batch, Normalize, epoch_order, rank_batches
from numnet.errors import ConfigError, UserError

__all__ = ["ImageFolder", "FolderSplits", "FolderLoader", "load_image_folder", "IMAGENET_MEAN", "IMAGENET_STD",
           "class_folders", "random_resized_box", "center_box"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# the per-channel statistics of the ImageNet training set every ImageNet recipe normalises with
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_PIL_HINT = "the image-folder reader decodes images with Pillow: pip install pillow (or pip install numnet[imagenet])"


def _pil_image():
    try:
        from PIL import Image
    except ImportError:
        raise UserError(_PIL_HINT) from None
    return Image


def class_folders(root: Path) -> tuple[str, ...]:
    """The class names of an image folder: its sub-folders, sorted (hidden ones skipped)."""
    if not root.is_dir():
        raise DataNotFoundError(f"{root}: no such folder (an image folder holds one sub-folder of images "
                                f"per class)")
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith("."))
    if not classes:
        raise DataFormatError(f"{root}: no class sub-folders (the layout is {root}/<class>/<image>)")
    return tuple(classes)


def random_resized_box(width: int, height: int, rng: np.random.Generator, scale=(0.08, 1.0),
                       ratio=(3 / 4, 4 / 3)) -> tuple[int, int, int, int]:
    """The ``(left, top, w, h)`` window of a random resized crop: area a uniform fraction
    in ``scale`` of the image, log-uniform aspect ratio in ``ratio``; after 10 misses, the
    centred window of the whole image with the ratio clamped into range.

    >>> rng = np.random.default_rng(0)
    >>> boxes = [random_resized_box(200, 100, rng) for _ in range(200)]
    >>> all(0 <= l and 0 <= t and l + w <= 200 and t + h <= 100 for l, t, w, h in boxes)
    True
    >>> random_resized_box(1000, 10, rng, scale=(0.9, 1.0))   # never fits: the widest 4/3 window
    (493, 0, 13, 10)
    """
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1)), w, h
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def center_box(width: int, height: int, resize: int, crop: int) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """The size the shorter side ``resize`` gives, and the centred ``crop`` window in it.

    >>> center_box(500, 375, 256, 224)
    ((341, 256), (58, 16, 224, 224))
    """
    if width <= height:
        size = (resize, int(resize * height / width))
    else:
        size = (int(resize * width / height), resize)
    left, top = int(round((size[0] - crop) / 2)), int(round((size[1] - crop) / 2))
    return size, (left, top, crop, crop)


@dataclass(frozen=True, eq=False)
class ImageFolder(torch.utils.data.Dataset):
    """The images under ``root/<class>/``: item ``i`` is ``(uint8 image (3, crop, crop), label)``.

    ``train=True`` applies the random resized crop and flip drawn for ``(seed, epoch, i)``
    (:meth:`at_epoch` sets the epoch; ``flip=False`` keeps the crop, drops the flip),
    ``False`` the resize-and-centre-crop. Build one with :meth:`scan`.
    """

    root: Path
    files: np.ndarray      # relative paths, one fixed-width str array: workers that read it copy no
    labels: np.ndarray     # per-item refcounts (a list of 1.28M str objects would be copied page by page)
    classes: tuple[str, ...]
    train: bool = False
    flip: bool = True
    crop: int = 224
    resize: int = 256
    seed: int = 0
    epoch: int = 0

    @classmethod
    def scan(cls, root: str | os.PathLike, **options) -> "ImageFolder":
        """List the images of every class folder of ``root`` (sorted names, so the same
        index on every machine); a folder without class folders, or a class folder without
        images, is refused.

        >>> ImageFolder.scan("/nonexistent")
        Traceback (most recent call last):
        ...
        numnet.data.errors.DataNotFoundError: /nonexistent: no such folder (an image folder holds one sub-folder of images per class)
        """
        _pil_image()
        root = Path(root)
        classes = class_folders(root)
        files, labels = [], []
        for label, name in enumerate(classes):
            found = sorted(str(Path(d, f).relative_to(root)) for d, _, names in os.walk(root / name, followlinks=True)
                           for f in names if f.lower().endswith(IMAGE_SUFFIXES))
            if not found:
                raise DataFormatError(f"{root / name}: a class folder without images "
                                      f"(looked for {', '.join(IMAGE_SUFFIXES)})")
            files += found
            labels += [label] * len(found)
        return cls(root, np.array(files, dtype=str), np.array(labels, dtype=np.int64), classes, **options)

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return (f"ImageFolder({str(self.root)!r}, {len(self)} images, {len(self.classes)} classes, "
                f"{'train' if self.train else 'eval'} {self.crop}x{self.crop})")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def at_epoch(self, epoch: int) -> "ImageFolder":
        """The same images with the augmentation of ``epoch``."""
        return dataclasses.replace(self, epoch=epoch)

    def subset(self, index: torch.Tensor) -> "ImageFolder":
        """The images at ``index`` (a 1-D index tensor into the sorted listing)."""
        index = np.asarray(index, dtype=np.int64)
        return dataclasses.replace(self, files=self.files[index], labels=self.labels[index])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self._decode(self.root / str(self.files[index]))
        bilinear = _pil_image().Resampling.BILINEAR
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            left, top, w, h = random_resized_box(*image.size, rng)
            image = image.resize((self.crop, self.crop), bilinear, box=(left, top, left + w, top + h))
            if rng.random() < 0.5 and self.flip:
                image = image.transpose(_pil_image().Transpose.FLIP_LEFT_RIGHT)
        else:
            size, (left, top, w, h) = center_box(*image.size, self.resize, self.crop)
            image = image.resize(size, bilinear).crop((left, top, left + w, top + h))
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
        return pixels.permute(2, 0, 1), int(self.labels[index])

    @staticmethod
    def _decode(path: Path):
        try:
            with _pil_image().open(path) as image:
                return image.convert("RGB")
        except (OSError, SyntaxError, ValueError) as e:   # PIL's UnidentifiedImageError is an OSError
            raise DataFormatError(f"{path}: not a readable image ({type(e).__name__}: {e})") from None


@dataclass(frozen=True, eq=False)
class FolderSplits(SplitsBase):
    """The train, validation (or ``None``) and test :class:`ImageFolder` s of one task,
    normalised with ``mean``/``std``; trains with :func:`numnet.train.train` like
    :class:`~numnet.data.dataset.Splits` (through :meth:`loaders`)."""

    train: ImageFolder
    val: ImageFolder | None
    test: ImageFolder
    name: str = "imagenet"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    num_workers: int = 8

    def __post_init__(self):
        for split in (self.val, self.test):
            if split is not None and split.classes != self.train.classes:
                missing = sorted(set(self.train.classes) ^ set(split.classes))
                raise DataFormatError(f"{split.root}: its class folders differ from those of {self.train.root} "
                                      f"(in one but not the other: {', '.join(missing[:5])}"
                                      f"{', ...' if len(missing) > 5 else ''})")
        if not isinstance(self.num_workers, int) or isinstance(self.num_workers, bool) or self.num_workers < 0:
            raise ConfigError(f"num_workers must be an int >= 0, got {self.num_workers!r}")

    @property
    def in_channels(self) -> int:
        return 3

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.train.crop, self.train.crop)

    def example(self) -> torch.Tensor:
        """One evaluation image ``(1, 3, crop, crop)`` uint8 (to check a model fits)."""
        return self.test[0][0][None]

    def loaders(self, recipe, *, seed: int, eval_batch_size: int, device, resident: bool = True,
                channels_last: bool = False, rank: int = 0, world_size: int = 1):
        """The training loader and the evaluation loaders ``{"val": ..., "test": ...}`` of
        ``recipe``. The random resized crop replaces the pad-and-crop of the in-memory sets,
        so a recipe with ``pad`` is refused; ``flip`` switches the flip. (``resident`` has
        no meaning here: images are decoded batch by batch.)"""
        if recipe.pad:
            raise ConfigError(f"recipe {recipe.name!r} pads and crops (pad={recipe.pad}), the augmentation of the "
                              f"in-memory sets; an image folder trains with the random resized crop: use a recipe "
                              f"with pad=0 (torchvision-imagenet)")
        share = dict(device=device, channels_last=channels_last, rank=rank, world_size=world_size,
                     num_workers=self.num_workers, mean=self.mean, std=self.std)
        train = dataclasses.replace(self.train, train=True, flip=recipe.flip, seed=seed)
        train_loader = FolderLoader(train, recipe.batch_size, shuffle=True, seed=seed, **share)
        evals = {name: FolderLoader(dataclasses.replace(ds, train=False), eval_batch_size, **share)
                 for name, ds in (("val", self.val), ("test", self.test)) if ds is not None}
        return train_loader, evals


class FolderLoader:
    """Batches of an :class:`ImageFolder` on ``device``, decoded by ``num_workers``
    DataLoader workers (0: in this process), normalised on the device. Each of the
    ``world_size`` ranks takes its contiguous share of every global batch of
    ``batch_size`` (:func:`~numnet.data.loader.rank_batches`), in the order of
    :func:`~numnet.data.loader.epoch_order` when ``shuffle``."""

    def __init__(self, folder: ImageFolder, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                 device: str | torch.device = "cpu", channels_last: bool = False, rank: int = 0,
                 world_size: int = 1, num_workers: int = 0, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.folder, self.shuffle, self.seed = folder, shuffle, seed
        self.device = torch.device(device)
        self.num_workers = num_workers
        self._batches = rank_batches(len(folder), batch_size, rank=rank, world_size=world_size)
        self._normalize = Normalize(mean, std, self.device, channels_last)

    def __len__(self) -> int:
        return len(self._batches)

    def epoch(self, epoch: int = 0, start: int = 0) -> Iterator[Batch]:
        """The batches of ``epoch``, from batch number ``start`` on (to resume mid-epoch)."""
        if not 0 <= start <= len(self._batches):
            raise ConfigError(f"start must lie in [0, {len(self._batches)}], got {start}")
        order = epoch_order(len(self.folder), self.seed, epoch, self.shuffle)
        batches = self._batches[start:]
        folder = self.folder.at_epoch(epoch)
        loader = torch.utils.data.DataLoader(
            folder, batch_sampler=[order[a:b].tolist() for a, b, _ in batches], num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda")
        try:
            for (images, labels), (_, _, total) in zip(loader, batches):
                yield Batch(self._normalize(images.to(self.device, non_blocking=True)),
                            labels.to(self.device, non_blocking=True), total)
        except DataFormatError as e:   # from a worker: its message is the last line of the traceback it sends
            raise DataFormatError(str(e).strip().splitlines()[-1].partition(": ")[2] or str(e)) from None


def load_image_folder(root: str | os.PathLike, *, name: str = "imagenet", crop: int = 224, resize: int = 256,
                      num_workers: int = 8, train: str = "train", test: str = "val") -> FolderSplits:
    """The ImageNet layout under ``root``: training images in ``root/train/<class>/``,
    evaluation images in ``root/val/<class>/`` (the validation set, sorted into class
    folders as the usual preparation script does), the same class folders in both.

    >>> load_image_folder("/nonexistent")
    Traceback (most recent call last):
    ...
    numnet.data.errors.DataNotFoundError: /nonexistent/train: no such folder (an image folder holds one sub-folder of images per class)
    """
    root = Path(root)
    options = dict(crop=crop, resize=resize)
    return FolderSplits(ImageFolder.scan(root / train, **options), None, ImageFolder.scan(root / test, **options),
                        name=name, num_workers=num_workers)
