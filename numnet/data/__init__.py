"""Image-classification data without torchvision: official formats, checked, on-device.

- :func:`load` — ``cifar10``, ``cifar100``, ``cifar100_coarse``, ``fashion_mnist``,
  ``stl10`` (read from the official files, md5-checked; STL-10's predefined folds with
  ``fold=k``, its unlabelled images with :func:`load_unlabeled`) or ``synthetic``, as
  :class:`Splits` (train / optional validation / test :class:`Dataset` s, each one uint8 tensor);
  ``imagenet``: a folder of class folders, too big for memory, streamed as
  :class:`FolderSplits` (images decoded in DataLoader workers, :mod:`numnet.data.imagefolder`).
- :func:`user_data` — a user's own float tensors ``(x, y)``, ``Dataset`` or ``DataLoader``
  as :class:`UserSplits` (fed as given: no normalisation, no augmentation by default).
- :class:`Loader` — batches on the training device, normalised there, with the paper's
  pad-crop-flip augmentation done as batched tensor ops (:func:`augment`).

>>> from numnet import data
>>> splits = data.load("synthetic", val_split=0.1)
>>> splits
Splits(train=Dataset('synthetic', 461 images (3, 16, 16), 4 classes), val=Dataset('synthetic', 51 images (3, 16, 16), 4 classes), test=Dataset('synthetic', 256 images (3, 16, 16), 4 classes))
>>> batch = next(iter(data.Loader(splits.train, 128, shuffle=True, pad=4, flip=True)))
>>> batch.images.shape
torch.Size([128, 3, 16, 16])
"""

from numnet._lazy import lazy_exports

_MODULES = {
    "numnet.data.dataset": ("Dataset", "Splits", "channel_stats"),
    "numnet.data.imagefolder": ("FolderLoader", "FolderSplits", "ImageFolder", "load_image_folder"),
    "numnet.data.errors": ("ChecksumError", "DataFormatError", "DataNotFoundError", "DownloadError"),
    "numnet.data.loader": ("Batch", "Loader", "Plan", "augment"),
    "numnet.data.sets": ("check_fold", "load", "load_unlabeled", "read"),
    "numnet.data.sources": ("NAMES", "SOURCES", "Source", "download", "get_source", "locate"),
    "numnet.data.toy": ("synthetic",),
    "numnet.data.user": ("TensorSet", "UserSplits", "user_data"),
}
__all__ = sorted(name for names in _MODULES.values() for name in names)
__getattr__, __dir__ = lazy_exports(__name__, {n: m for m, names in _MODULES.items() for n in names})
