"""Training residual networks from Python: the paper's recipe, fast paths, durable runs.

- :func:`train` — ``train(model, data, recipe)`` → :class:`TrainResult`; checkpoints,
  ``resume=True``, metrics as JSON lines, DDP under ``torchrun``.
- :class:`Recipe`, :data:`RECIPES`, :func:`get_recipe` — recipes as data
  (``paper-cifar10``, ``paper-cifar100``, ``quick``, ``chang2018-stl10``, ``torchvision-imagenet``,
  ``xie2017-resnext``, ``he2016-fashion-mnist``, ``he2016-no-augmentation``); :func:`origin` says where
  each comes from.
- :func:`evaluate` — loss and accuracy of a model over a loader.
- :class:`RunLocked` — raised when another process is training into the same ``out``
  (:mod:`numnet.train.lock`).
- multilevel recipes (``Recipe(coarse_to_fine=n)`` or ``grow_depth=g``) train through
  several resolutions or depths, one durable run per level (:mod:`numnet.train.multilevel`).
"""

from numnet._lazy import lazy_exports

_MODULES = {
    "numnet.train.lock": ("RunLocked",),
    "numnet.train.loop": ("evaluate", "train"),
    "numnet.train.recipe": ("RECIPES", "Recipe", "default_recipe", "get_recipe", "origin"),
    "numnet.train.result": ("TrainResult",),
}
__all__ = sorted(name for names in _MODULES.values() for name in names)
__getattr__, __dir__ = lazy_exports(__name__, {n: m for m, names in _MODULES.items() for n in names})
