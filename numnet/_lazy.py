"""Package attributes imported on first use, so light modules stay light.

``numnet.data`` and ``numnet.train`` re-export names from modules that import torch;
the command line only needs their registries (data set and recipe names) to build its
``--help``. With lazy exports, ``import numnet.train.recipe`` does not import torch.
:func:`lazy_module` does the same for a whole module (``numnet.schemes`` and numpy).
"""

from __future__ import annotations

import importlib
import types


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps a name to its module.

    >>> getattr_, dir_ = lazy_exports("numnet", {"atomic_write": "numnet.fileio"})
    >>> getattr_("atomic_write").__module__, "atomic_write" in dir_()
    ('numnet.fileio', True)
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__


class _LazyModule(types.ModuleType):
    def __getattr__(self, attr: str):
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # from now on plain attribute lookups
        return getattr(module, attr)


def lazy_module(name: str) -> types.ModuleType:
    """A stand-in for module ``name`` that imports it at its first attribute access
    (``np = lazy_module("numpy")``: the import costs nothing until ``np.…`` runs).

    >>> json = lazy_module("json")
    >>> json.dumps([1])
    '[1]'
    """
    return _LazyModule(name)
