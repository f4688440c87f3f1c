"""``load(name)``: a whole data set as :class:`~numnet.data.dataset.Splits`.

One reader per file format turns a :class:`~numnet.data.sources.Source`'s payloads
into uint8 arrays and checks them against the source: image shape, label range, and
the exact number of images of each split. Nothing partial is ever returned.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import torch

from numnet.data.dataset import Splits
from numnet.data.errors import DataFormatError, DataNotFoundError
from numnet.data.formats import (parse_cifar_batch, parse_cifar_meta, parse_idx, parse_lines, parse_stl10_folds,
                                 parse_stl10_images, parse_stl10_labels)
from numnet.data.sources import SOURCES, Source, download as download_source, get_source, locate, read_payload
from numnet.data.toy import synthetic
from numnet.errors import ConfigError, ConfigTypeError

__all__ = ["load", "read", "load_unlabeled", "check_fold", "channels_and_classes"]


def _read_cifar(source: Source, files, verify: bool):
    raw, where = read_payload(files, source, source.meta, verify)
    classes = parse_cifar_meta(raw, source.names_key, where)

    def split(names):
        parts = []
        for name in names:
            raw, where = read_payload(files, source, name, verify)
            parts.append(parse_cifar_batch(raw, source.label_key, where, source.num_classes))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    return classes, split(source.train), split(source.test), None


def _read_idx(source: Source, files, verify: bool):
    def split(names):
        image_name, label_name = names
        images = parse_idx(*read_payload(files, source, image_name, verify))
        labels = parse_idx(*read_payload(files, source, label_name, verify))
        if images.ndim != 3 or labels.ndim != 1 or images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise DataFormatError(f"{source.name}: {image_name} must hold uint8 images (n, H, W) and "
                                  f"{label_name} uint8 labels (n,), got {images.dtype} {images.shape} "
                                  f"and {labels.dtype} {labels.shape}")
        if len(images) != len(labels):
            raise DataFormatError(f"{source.name}: {len(images)} images in {image_name} but "
                                  f"{len(labels)} labels in {label_name}")
        return images[:, None], labels.astype(np.int64)

    return source.classes, split(source.train), split(source.test), None


def _read_stl10(source: Source, files, verify: bool):
    def split(names):
        image_name, label_name = names
        images = parse_stl10_images(*read_payload(files, source, image_name, verify), source.shape)
        labels = parse_stl10_labels(*read_payload(files, source, label_name, verify), source.num_classes)
        if len(images) != len(labels):
            raise DataFormatError(f"{source.name}: {len(images)} images in {image_name} but "
                                  f"{len(labels)} labels in {label_name}")
        return images, labels

    # the binaries first: each has its own md5, so a corrupt one is named before the archive is
    train, test = split(source.train), split(source.test)
    raw, where = read_payload(files, source, source.meta, verify)
    classes = parse_lines(raw, where)
    if classes != source.classes:
        raise DataFormatError(f"{where}: names the classes {list(classes)}, the official release "
                              f"{list(source.classes)}")
    folds, fold_size = source.fold_shape
    fold_index = parse_stl10_folds(*read_payload(files, source, source.folds, verify), folds=folds,
                                   fold_size=fold_size, train_size=source.sizes[0])
    return classes, train, test, fold_index


_READERS = {"cifar": _read_cifar, "idx": _read_idx, "stl10": _read_stl10}


def read(source: Source, root: str | os.PathLike | None = None, *, verify: bool = True):
    """``(classes, (train_images, train_labels), (test_images, test_labels))`` as numpy arrays.

    Checks every payload's md5 (if ``verify``), then the layout against ``source``.
    """
    return _read(source, root, verify)[:3]


def _read(source: Source, root, verify: bool):
    """:func:`read`, and the predefined training folds ``(folds, images per fold)`` (or ``None``)."""
    classes, train, test, folds = _READERS[source.format](source, locate(source, root), verify)
    if len(classes) != source.num_classes:
        raise DataFormatError(f"{source.name}: expected {source.num_classes} class names, got {len(classes)}")
    for split, (images, labels), size in (("train", train, source.sizes[0]), ("test", test, source.sizes[1])):
        if images.shape[1:] != source.shape or len(images) != size:
            raise DataFormatError(f"{source.name} {split}: expected {size} images of shape {source.shape}, "
                                  f"got {len(images)} of shape {images.shape[1:]}")
        if labels.min() < 0 or labels.max() >= source.num_classes:
            raise DataFormatError(f"{source.name} {split}: labels must lie in [0, {source.num_classes}), "
                                  f"got range [{labels.min()}, {labels.max()}]")
    return classes, train, test, folds


def load_unlabeled(name: str | Source = "stl10", *, root: str | os.PathLike | None = None,
                   download: bool = False, verify: bool = True) -> torch.Tensor:
    """The unlabelled images of a data set that has them (STL-10: 100,000 images
    ``(3, 96, 96)``, 2.7 GB), as one uint8 tensor ``(N, C, H, W)``, md5-checked like every
    payload. :func:`load` never reads them.

    >>> load_unlabeled("cifar10")
    Traceback (most recent call last):
    ...
    numnet.errors.ConfigError: cifar10 has no unlabelled images (only stl10 has)
    """
    source = name if isinstance(name, Source) else get_source(name)
    if source.unlabeled is None:
        having = [s.name for s in SOURCES.values() if s.unlabeled]
        raise ConfigError(f"{source.name} has no unlabelled images (only {', '.join(having)} has)")
    try:
        files = locate(source, root)
    except DataNotFoundError:
        if not download:
            raise
        files = locate(source, download_source(source, root))
    raw, where = read_payload(files, source, source.unlabeled, verify)
    images = parse_stl10_images(raw, where, source.shape)
    if len(images) != source.unlabeled_size:
        raise DataFormatError(f"{where}: expected {source.unlabeled_size} images, got {len(images)}")
    return torch.from_numpy(np.ascontiguousarray(images))


def channels_and_classes(name: str | Source, root: str | os.PathLike | None = None) -> tuple[int, int]:
    """``(in_channels, num_classes)`` of a data set, known without reading it (so a
    network can be built and checked before the data is loaded); an image folder
    (``imagenet``) counts the class folders of ``root/train``.

    >>> channels_and_classes("fashion_mnist"), channels_and_classes("cifar100_coarse"), channels_and_classes("synthetic")
    ((1, 10), (3, 20), (3, 4))
    """
    if name == "imagenet":
        from numnet.data.imagefolder import class_folders

        return 3, len(class_folders(_folder_root(root) / "train"))
    if name == "synthetic":
        params = inspect.signature(synthetic).parameters
        return params["channels"].default, params["num_classes"].default
    source = name if isinstance(name, Source) else get_source(name)
    return source.shape[0], source.num_classes


def load(name: str | Source, *, root: str | os.PathLike | None = None, download: bool = False,
         verify: bool = True, val_split: int | float = 0, split_seed: int = 0, fold: int | None = None,
         **options) -> Splits:
    """Load a data set by name: ``cifar10``, ``cifar100``, ``cifar100_coarse``
    (the 20 superclasses), ``fashion_mnist``, ``stl10`` (labelled images only; see
    :func:`load_unlabeled`), ``synthetic``, or ``imagenet``: the folder ``root`` in the
    ImageNet layout, streamed (:func:`~numnet.data.imagefolder.load_image_folder`, which
    takes the ``options``; the result is a :class:`~numnet.data.imagefolder.FolderSplits`).

    ``root`` is a directory holding the files (or the CIFAR ``.tar.gz`` itself); without
    it the loader searches ``$NUMNET_DATA``, ``~/.cache/numnet`` and system directories
    (Fashion-MNIST: ``/usr/share/datasets/fashion-mnist``). ``download=True`` fetches
    missing files from the official address, md5-checked. ``val_split`` holds out that
    many training images (or that fraction) as a validation set drawn with
    ``split_seed``. ``fold=k`` trains on the ``k``-th of the predefined training folds
    (STL-10: 10 folds of 1,000 of its 5,000 training images, the standard protocol; the
    set is then named ``stl10-fold<k>``). ``options`` go to :func:`~numnet.data.toy.synthetic`.

    >>> s = load("synthetic", train_size=100, val_split=20)
    >>> len(s.train), len(s.val), len(s.test)
    (80, 20, 256)
    >>> load("fashion_mnist", root="/nonexistent")
    Traceback (most recent call last):
    ...
    numnet.data.errors.DataNotFoundError: fashion_mnist not found in /nonexistent, /nonexistent/fashion-mnist; to get it: install it with `apt-get install dataset-fashion-mnist`; ...
    """
    if name == "synthetic" and fold is None:
        return synthetic(val_split=val_split, split_seed=split_seed, **options)
    if name == "imagenet":
        from numnet.data.imagefolder import load_image_folder

        for option, value, default in (("download", download, False), ("val_split", val_split, 0),
                                       ("fold", fold, None)):
            if value != default:
                raise ConfigError(f"an image folder (imagenet) takes no {option}={value!r}: it is read as it lies, "
                                  f"its own val/ folder is the evaluation set")
        return load_image_folder(_folder_root(root), **options)
    if options:
        raise ConfigTypeError(f"unexpected options {sorted(options)} for {name!r} (only 'synthetic' takes options)")
    source = get_source(name) if isinstance(name, str) and name != "synthetic" else name
    check_fold(source, fold)
    try:
        classes, train, test, folds = _read(source, root, verify)
    except DataNotFoundError:
        if not download:
            raise
        root = download_source(source, root)
        classes, train, test, folds = _read(source, root, verify)
    set_name = source.name
    if fold is not None:
        train, set_name = (train[0][folds[fold]], train[1][folds[fold]]), f"{source.name}-fold{fold}"
    as_torch = lambda pair: (torch.from_numpy(np.ascontiguousarray(pair[0])), torch.from_numpy(pair[1]))  # noqa: E731
    return Splits.from_arrays(set_name, classes, as_torch(train), as_torch(test),
                              val_split=val_split, split_seed=split_seed)


def _folder_root(root):
    if root is None:
        raise ConfigError("imagenet is read from a folder: pass root= (--data-dir), the folder holding train/ and "
                          "val/ with one sub-folder of images per class")
    return Path(root)


def check_fold(source: Source | str, fold: int | None) -> None:
    """Refuse a ``fold`` the data set does not have (``None``, no fold, always passes).

    >>> check_fold("stl10", 3), check_fold("cifar10", None)
    (None, None)
    >>> check_fold("cifar10", 0)
    Traceback (most recent call last):
    ...
    numnet.errors.ConfigError: cifar10 has no predefined folds (only stl10 has); drop fold=0
    >>> check_fold("stl10", 10)
    Traceback (most recent call last):
    ...
    numnet.errors.ConfigError: fold must be an int in [0, 10) for the 10 predefined folds of stl10, got 10
    """
    if fold is None:
        return
    source = SOURCES.get(source, source) if isinstance(source, str) else source
    name = getattr(source, "name", source)
    if getattr(source, "folds", None) is None:
        having = [s.name for s in SOURCES.values() if s.folds]
        raise ConfigError(f"{name} has no predefined folds (only {', '.join(having)} has); drop fold={fold!r}")
    count = source.fold_shape[0]
    if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < count:
        raise ConfigError(f"fold must be an int in [0, {count}) for the {count} predefined folds of {name}, "
                          f"got {fold!r}")
