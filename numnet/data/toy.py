"""A tiny synthetic image-classification task for smoke tests.

Each class has a colour (one mean value per channel, drawn once from the seed); an
image is its class colour plus independent pixel noise, stored as uint8. The class is
visible in the channel means, so even a tiny convolutional net with global pooling
learns it in a few steps, and the pad-crop-flip augmentation cannot hide it.
"""

from __future__ import annotations

import torch

from numnet.data.dataset import Splits
from numnet.errors import ConfigError

__all__ = ["synthetic"]


def synthetic(*, num_classes: int = 4, channels: int = 3, image_size: int = 16,
              train_size: int = 512, test_size: int = 256, noise: float = 0.25,
              seed: int = 0, val_split: int | float = 0, split_seed: int = 0) -> Splits:
    """A deterministic toy task: the same ``seed`` gives the same bytes on every machine.

    >>> s = synthetic(train_size=64, test_size=32, seed=1)
    >>> s.train.images.shape, s.train.images.dtype, s.num_classes, len(s.test)
    (torch.Size([64, 3, 16, 16]), torch.uint8, 4, 32)
    >>> bool((synthetic(seed=1).train.images == synthetic(seed=1).train.images).all())
    True
    """
    for name, value, low in (("num_classes", num_classes, 2), ("channels", channels, 1),
                             ("image_size", image_size, 1), ("train_size", train_size, 1),
                             ("test_size", test_size, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be an int >= {low}, got {value!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < float("inf"):
        raise ConfigError(f"noise must be a number >= 0, got {noise!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be an int >= 0, got {seed!r}")
    g = torch.Generator().manual_seed(seed)
    colours = 0.2 + 0.6 * torch.rand(num_classes, channels, generator=g)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(n) % num_classes
        labels = labels[torch.randperm(n, generator=g)]
        pixels = colours[labels][:, :, None, None] + noise * torch.randn(
            n, channels, image_size, image_size, generator=g)
        return (pixels.clamp(0, 1) * 255).round().to(torch.uint8), labels

    train, test = draw(train_size), draw(test_size)
    classes = tuple(f"class{i}" for i in range(num_classes))
    return Splits.from_arrays("synthetic", classes, train, test, val_split=val_split, split_seed=split_seed)
