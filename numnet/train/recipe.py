"""Training recipes as data: one frozen dataclass, a registry of named ones.

A :class:`Recipe` is everything that defines the optimisation *mathematically*:
optimiser, batch size, learning-rate schedule, epochs, augmentation. Options that only
change how fast it runs (bf16, channels-last, compile, devices) are not part of it.

The learning rate is a pure function of the epoch (:meth:`Recipe.lr_at`), so there is
no scheduler state to save or restore.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from numnet.nets.names import COEFFICIENT_DECAY

__all__ = ["Recipe", "RECIPES", "get_recipe", "default_recipe"]


@dataclass(frozen=True)
class Recipe:
    """SGD with momentum and a step schedule: the lr is multiplied by ``gamma`` after each
    epoch listed in ``milestones``. ``pad``/``flip`` is the augmentation (random crop of
    the ``pad``-padded image, horizontal flip); ``batch_size`` is the global batch.

    >>> r = Recipe("demo", epochs=6, milestones=(2, 4), lr=0.1)
    >>> [r.lr_at(e) for e in range(6)]
    [0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002]
    >>> Recipe("bad", epochs=10, milestones=(5, 12))
    Traceback (most recent call last):
    ...
    ValueError: milestones must be increasing epochs in (0, 10), got (5, 12)

    Multilevel training (Haber et al., AAAI 2018; :mod:`numnet.nets.multiscale`):
    ``coarse_to_fine=n`` trains on images restricted ``n`` times first and prolongs the
    3x3 kernels (``transfer``: ``"galerkin"``, ``"bilinear"`` or ``"reuse"``) level by level up to
    the native resolution; ``grow_depth=g`` doubles the blocks of every stage ``g``
    times during training (``depth_mode``: ``"linear"`` or ``"constant"`` interpolation
    in time). The ``epochs`` are split over the levels as ``level_epochs`` (first
    trained first; by default as evenly as possible, the finer or deeper levels taking
    the remainder), and each level runs this recipe over its own epochs
    (:meth:`level_recipes`).

    ``coefficient_decay`` says how weight decay treats learnable scheme coefficients
    (LM-ResNet's k, a learnable Adams β; :data:`numnet.nets.names.COEFFICIENT_DECAY`):
    ``"official"`` (default) as the authors' code does it — LM-ResNet's MResNet.py stores
    1 − k and decays it, pulling k toward 1 —, ``"none"``, ``"toward-scheme"`` (toward the
    highest-order values: k = 0, the Adams–Bashforth β) or ``"zero"`` (k itself toward 0).

    >>> r = Recipe("c2f", epochs=10, milestones=(5, 8), coarse_to_fine=2)
    >>> r.level_epochs, [lv.milestones for lv in r.level_recipes()]
    ((3, 3, 4), [(1, 2), (1, 2), (2, 3)])
    """

    name: str
    epochs: int = 160
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    milestones: tuple[int, ...] = (80, 120)
    gamma: float = 0.1
    pad: int = 4
    flip: bool = True
    coarse_to_fine: int = 0
    grow_depth: int = 0
    level_epochs: tuple[int, ...] = ()
    transfer: str = "galerkin"
    depth_mode: str = "linear"
    coefficient_decay: str = "official"

    def __post_init__(self):
        object.__setattr__(self, "milestones", tuple(self.milestones))
        self._check_levels()
        for field in ("epochs", "batch_size"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{field} must be a positive int, got {value!r}")
        if not isinstance(self.pad, int) or isinstance(self.pad, bool) or self.pad < 0:
            raise ValueError(f"pad must be an int >= 0, got {self.pad!r}")
        for field, low, high in (("lr", 0, math.inf), ("gamma", 0, 1)):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not low < value <= high:
                raise ValueError(f"{field} must be a number in ({low}, {high}], got {value!r}")
        for field in ("momentum", "weight_decay"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < math.inf:
                raise ValueError(f"{field} must be a number >= 0, got {value!r}")
        if self.coefficient_decay not in COEFFICIENT_DECAY:
            raise ValueError(f"coefficient_decay must be one of {COEFFICIENT_DECAY}, got {self.coefficient_decay!r}")
        if self.momentum >= 1:
            raise ValueError(f"momentum must be < 1, got {self.momentum}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov needs momentum > 0")
        ms = self.milestones
        if (not all(isinstance(m, int) and not isinstance(m, bool) for m in ms)
                or list(ms) != sorted(set(ms)) or (ms and not 0 < ms[0] <= ms[-1] < self.epochs)):
            raise ValueError(f"milestones must be increasing epochs in (0, {self.epochs}), got {ms}")

    def _check_levels(self) -> None:
        for field in ("coarse_to_fine", "grow_depth"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{field} must be an int >= 0 (levels; 0 = off), got {value!r}")
        if self.coarse_to_fine and self.grow_depth:
            raise ValueError(f"coarse_to_fine and grow_depth cannot be combined in one recipe, got "
                             f"coarse_to_fine={self.coarse_to_fine}, grow_depth={self.grow_depth}")
        for field in ("transfer", "depth_mode"):
            if not isinstance(getattr(self, field), str):
                raise TypeError(f"{field} must be a name, got {getattr(self, field)!r}")
        n = self.levels
        if not self.level_epochs:
            if n > 1:
                if self.epochs < n:
                    raise ValueError(f"{n} levels need at least {n} epochs, got epochs={self.epochs}")
                base, extra = divmod(self.epochs, n)
                object.__setattr__(self, "level_epochs", tuple([base] * (n - extra) + [base + 1] * extra))
            return
        object.__setattr__(self, "level_epochs", tuple(self.level_epochs))
        le = self.level_epochs
        if (len(le) != n or not all(isinstance(e, int) and not isinstance(e, bool) and e >= 1 for e in le)
                or sum(le) != self.epochs):
            raise ValueError(f"level_epochs must be {n} positive ints (one per level, first trained first) "
                             f"summing to epochs={self.epochs}, got {le}")

    @property
    def levels(self) -> int:
        """How many levels training runs through (1 for ordinary training)."""
        return 1 + self.coarse_to_fine + self.grow_depth

    def level_recipes(self) -> list["Recipe"]:
        """One plain recipe per level: this one over the level's epochs (milestones scaled)."""
        if self.levels == 1:
            return [self]
        plain = self.replace(coarse_to_fine=0, grow_depth=0, level_epochs=())
        return [plain.with_epochs(e) for e in self.level_epochs]

    def lr_at(self, epoch: int) -> float:
        """The learning rate during ``epoch`` (0-based)."""
        return self.lr * self.gamma ** sum(epoch >= m for m in self.milestones)

    def with_epochs(self, epochs: int) -> "Recipe":
        """The same recipe over ``epochs``, milestones kept at the same fractions of the run
        (a multilevel recipe splits the new epochs over its levels evenly again).

        >>> get_recipe("paper-cifar10").with_epochs(16).milestones
        (8, 12)
        """
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        scaled = sorted({m * epochs // self.epochs for m in self.milestones} - {0})
        return self.replace(epochs=epochs, milestones=tuple(m for m in scaled if m < epochs), level_epochs=())

    def replace(self, **changes) -> "Recipe":
        """A copy with some fields changed (validated like a new one)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "milestones": list(self.milestones),
                "level_epochs": list(self.level_epochs)}


RECIPES: dict[str, Recipe] = {
    r.name: r for r in (
        # He et al. (2016) / Lu et al. (2018): SGD 0.9, wd 1e-4, batch 128, lr 0.1 /10 at 80, 120
        Recipe("paper-cifar10", epochs=160, milestones=(80, 120)),
        Recipe("paper-cifar100", epochs=300, milestones=(150, 225)),
        Recipe("quick", epochs=10, milestones=(5, 8)),
    )
}

# The paper recipe each data set trains with unless told otherwise.
_DEFAULTS = {"cifar100": "paper-cifar100", "cifar100_coarse": "paper-cifar100"}


def get_recipe(name: "str | Recipe") -> Recipe:
    """The registered recipe called ``name`` (a :class:`Recipe` passes through).

    >>> get_recipe("paper-cifar100").milestones
    (150, 225)
    >>> get_recipe("fast")
    Traceback (most recent call last):
    ...
    ValueError: unknown recipe 'fast'; choose one of paper-cifar10, paper-cifar100, quick
    """
    if isinstance(name, Recipe):
        return name
    if not isinstance(name, str) or name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def default_recipe(data_name: str) -> Recipe:
    """The paper recipe for a data set: CIFAR-100 trains 300 epochs, everything else 160.

    >>> default_recipe("cifar100").name, default_recipe("cifar10").name
    ('paper-cifar100', 'paper-cifar10')
    """
    return RECIPES[_DEFAULTS.get(data_name, "paper-cifar10")]
