"""Training recipes as data: one frozen dataclass, a registry of named ones.

A :class:`Recipe` is everything that defines the optimisation *mathematically*:
optimiser, batch size, learning-rate schedule, epochs, augmentation. Options that only
change how fast it runs (bf16, channels-last, compile, devices) are not part of it.

The learning rate is a pure function of the position in the run, resolved per step
(:meth:`Recipe.lr_at`), so there is no scheduler state to save or restore.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from numnet.nets.names import COEFFICIENT_DECAY

__all__ = ["Recipe", "RECIPES", "ORIGINS", "get_recipe", "default_recipe", "origin", "chang2018_stl10"]


@dataclass(frozen=True)
class Recipe:
    """SGD with momentum and a step schedule: the lr is multiplied by ``gamma`` at each
    point of the run listed in ``milestones`` (in epochs; a fraction such as ``0.5`` falls
    inside an epoch, and the schedule is resolved per step). By default the milestones are
    the paper's, at 1/2 and 3/4 of the run (80 and 120 of 160 epochs), whatever ``epochs``.
    ``pad``/``flip`` is the augmentation (random crop of the ``pad``-padded image,
    horizontal flip); ``batch_size`` is the global batch.

    >>> r = Recipe("demo", epochs=6, milestones=(2, 4), lr=0.1)
    >>> [r.lr_at(e) for e in range(6)]
    [0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002]
    >>> Recipe("one", epochs=1).milestones  # the paper's fractions of a one-epoch run
    (0.5, 0.75)
    >>> Recipe("bad", epochs=10, milestones=(5, 12))
    Traceback (most recent call last):
    ...
    ValueError: milestones must be increasing epochs in (0, 10), got (5, 12)
    >>> Recipe("bad", lr=float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number in (0, inf), got inf

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
    ((3, 3, 4), [(1.5, 2.4), (1.5, 2.4), (2, 3.2)])
    """

    name: str
    epochs: int = 160
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    milestones: tuple[float, ...] | None = None   # None: the paper's 1/2 and 3/4 of the run
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
        for field in ("epochs", "batch_size"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{field} must be a positive int, got {value!r}")
        if self.milestones is None:
            object.__setattr__(self, "milestones", tuple(_number(f * self.epochs) for f in PAPER_FRACTIONS))
        object.__setattr__(self, "milestones", tuple(self.milestones))
        self._check_levels()
        if not isinstance(self.pad, int) or isinstance(self.pad, bool) or self.pad < 0:
            raise ValueError(f"pad must be an int >= 0, got {self.pad!r}")
        for field, low, high, closed_low, closed_high in _RANGES:
            value = getattr(self, field)
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not number or not ((low <= value) if closed_low else (low < value)) \
                    or not ((value <= high) if closed_high else (value < high)):
                raise ValueError(f"{field} must be a finite number in {'[(' [not closed_low]}{low}, {high}"
                                 f"{'])' [not closed_high]}, got {value!r}")
        if self.coefficient_decay not in COEFFICIENT_DECAY:
            raise ValueError(f"coefficient_decay must be one of {COEFFICIENT_DECAY}, got {self.coefficient_decay!r}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov needs momentum > 0")
        ms = self.milestones
        if (not all(isinstance(m, (int, float)) and not isinstance(m, bool) and math.isfinite(m) for m in ms)
                or any(b <= a for a, b in zip(ms, ms[1:])) or (ms and not 0 < ms[0] <= ms[-1] < self.epochs)):
            raise ValueError(f"milestones must be increasing epochs in (0, {self.epochs}), got {ms}")
        object.__setattr__(self, "milestones", tuple(_number(_exact(m)) for m in ms))

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

    def lr_at(self, epoch: int, step: int = 0, steps: int = 1) -> float:
        """The learning rate of step ``step`` (0-based) of the ``steps`` in ``epoch``
        (0-based): a milestone ``m`` applies from the first step that starts at or after
        ``m`` epochs, compared exactly (``m = 0.5`` of a 10-step epoch: from step 5 on).

        >>> r = get_recipe("paper-cifar10").with_epochs(1)
        >>> [round(r.lr_at(0, s, 8), 6) for s in range(8)]
        [0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
        """
        at = Fraction(epoch) + Fraction(step, steps)
        return self.lr * self.gamma ** sum(at >= _exact(m) for m in self.milestones)

    def with_epochs(self, epochs: int) -> "Recipe":
        """The same recipe over ``epochs``, milestones kept at the same fractions of the run,
        fractional where they fall inside an epoch (a multilevel recipe splits the new
        epochs over its levels evenly again).

        >>> get_recipe("paper-cifar10").with_epochs(16).milestones
        (8, 12)
        >>> get_recipe("paper-cifar10").with_epochs(1).milestones
        (0.5, 0.75)
        """
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        scaled = tuple(_number(_exact(m) * epochs / self.epochs) for m in self.milestones)
        return self.replace(epochs=epochs, milestones=scaled, level_epochs=())

    def replace(self, **changes) -> "Recipe":
        """A copy with some fields changed (validated like a new one)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "milestones": list(self.milestones),
                "level_epochs": list(self.level_epochs)}


PAPER_FRACTIONS = (Fraction(1, 2), Fraction(3, 4))
"""Where the paper's schedule divides the lr by 10: 80 and 120 of 160 epochs (150 and 225 of 300)."""

_RANGES = (  # field, low, high, low included, high included
    ("lr", 0, math.inf, False, False),
    ("momentum", 0, 1, True, False),
    ("weight_decay", 0, math.inf, True, False),
    ("gamma", 0, 1, False, True),
)


def _exact(m) -> Fraction:
    """A milestone as the exact fraction it stands for (``0.1`` is 1/10, not its binary value)."""
    return Fraction(m).limit_denominator(10**6)


def _number(q: Fraction) -> int | float:
    """An exact milestone as a plain JSON number: an int when whole."""
    return int(q) if q.denominator == 1 else float(q)


def chang2018_stl10() -> Recipe:
    """The STL-10 recipe of Chang et al. (AAAI 2018, "Reversible architectures for
    arbitrarily deep residual neural networks"), registered as ``chang2018-stl10``.

    The authors' TensorFlow code (github changebo/revnet-public) has configurations for
    CIFAR and ImageNet only. The STL-10 runs are the examples ``EHamiltonian_STL10.m`` and
    ``ELeapfrog_STL10.m`` of their co-authors' Meganet.m (github XtractOpen/Meganet.m,
    citing the paper), and every number here is read from them:

    - ``batch_size=50``: ``miniBatchSize = 50`` (``floor(5000 / 50)`` batches an epoch, none short);
    - ``epochs=100``, ``lr=0.1``, ``milestones=(50, 70, 90)``, ``gamma=0.1``: the per-epoch
      rates ``lr = [0.1*ones(50,1); 0.01*ones(20,1); 0.001*ones(20,1); 0.0001*ones(10,1)]``;
    - ``momentum=0.9``, no Nesterov: Meganet's ``sgd()`` default momentum 0.9, and
      ``opt.nesterov = false`` in the examples;
    - ``weight_decay=4e-4``: ``tikhonovReg(..., 4e-4)`` on the weights, R = 0.5·α·|θ|², added
      to the batch-mean loss, so its gradient is 4e-4·θ, torch's weight decay;
    - ``pad=0, flip=False``: no augmentation (``setupSTL`` feeds the images as they are).

    Departures: Meganet's heavy-ball step ``d = lr·g + 0.9·d`` carries the old rate in
    ``d`` for a few steps after each drop (torch's ``v = 0.9·v + g; θ −= lr·v`` does not);
    the Tikhonov term there leaves some batch-norm scales and the 1×1 connectors'
    normalisation unregularised, torch's weight decay reaches every parameter; Meganet
    normalises each image by itself (``normalizeData``), numnet by the training set's
    channel statistics.

    >>> r = get_recipe("chang2018-stl10")
    >>> r.batch_size, r.epochs, [r.lr_at(e) for e in (0, 49, 50, 70, 90, 99)]
    (50, 100, [0.1, 0.1, 0.010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003])
    """
    return Recipe("chang2018-stl10", epochs=100, batch_size=50, lr=0.1, momentum=0.9, weight_decay=4e-4,
                  milestones=(50, 70, 90), gamma=0.1, pad=0, flip=False)


def chang2018_cifar(name: str = "chang2018-cifar10") -> Recipe:
    """The CIFAR recipe of the reversible nets' official code (github changebo/revnet-public,
    the same in Gomez et al.'s renmengye/revnet-public), registered as ``chang2018-cifar10``
    and ``chang2018-cifar100`` (the configurations do not depend on the data set).
    Every number is read from ``resnet/configs/cifar_configs.py`` (``ResNet32Config``,
    which the Hamiltonian and RevNet configurations inherit) and ``resnet/data/cifar_input.py``:

    - ``batch_size=100``; ``max_train_iter = 80000`` steps of 100 of the 50,000 training
      images: ``epochs=160``;
    - ``lr=0.1`` (``base_learn_rate``), ``lr_decay_steps = [40000, 60000]`` with
      ``lr_list = [1e-2, 1e-3]``: ``milestones=(80, 120)``, ``gamma=0.1``;
    - ``momentum=0.9`` (``tf.train.MomentumOptimizer(lr, 0.9)``, no Nesterov);
    - ``weight_decay=2e-4`` (``wd``);
    - ``pad=2, flip=True``: ``resize_image_with_crop_or_pad`` to 36×36 (2 pixels a side),
      a random 32×32 crop, a random horizontal flip.

    Departures: the code adds ``wd·w`` to the gradients of the convolution and logit
    weights only (``add_wd``), torch's weight decay reaches the batch-norm parameters and
    biases too; the code feeds pixels without per-channel normalisation
    (``whiten = False``), numnet normalises by the training set's channel statistics.

    >>> r = get_recipe("chang2018-cifar10")
    >>> r.batch_size, r.epochs, r.weight_decay, r.milestones, r.pad
    (100, 160, 0.0002, (80, 120), 2)
    """
    return Recipe(name, epochs=160, batch_size=100, lr=0.1, momentum=0.9, weight_decay=2e-4, milestones=(80, 120),
                  gamma=0.1, pad=2, flip=True)


RECIPES: dict[str, Recipe] = {
    r.name: r for r in (
        # He et al. (2016) / Lu et al. (2018): SGD 0.9, wd 1e-4, batch 128, lr 0.1 /10 at 80, 120
        Recipe("paper-cifar10", epochs=160, milestones=(80, 120)),
        Recipe("paper-cifar100", epochs=300, milestones=(150, 225)),
        Recipe("quick", epochs=10, milestones=(5, 8)),
        chang2018_stl10(),
        chang2018_cifar("chang2018-cifar10"),
        chang2018_cifar("chang2018-cifar100"),
        # ImageNet as torchvision's reference ResNet recipe trains it (references/classification:
        # 90 epochs, lr 0.1 /10 every 30, SGD 0.9, wd 1e-4, 8 GPUs x 32 = batch 256, random resized
        # crop + flip, which the image folder applies). The optimiser is He et al.'s (2016, sec. 3.4);
        # their schedule ("divided by 10 when the error plateaus", 60e4 iterations) and their scale
        # augmentation (shorter side in [256, 480], 224 crop, colour) are not what this recipe runs.
        Recipe("torchvision-imagenet", epochs=90, batch_size=256, milestones=(30, 60), pad=0, flip=True),
        # ResNeXt-29 on CIFAR (Xie et al. 2017) and Lu et al.'s LM-ResNeXt: weight decay 5e-4 (Lu et al.;
        # Xie et al.'s README command, -weightDecay 5e-4 -batchSize 128); batch 128, lr 0.1 /10 at 150 and
        # 225 of 300 epochs (Xie et al.'s appendix; their train.lua divides once epoch/300 > 0.49 and
        # > 0.74, i.e. from epochs 148 and 223), SGD momentum 0.9 with Nesterov (their opts.lua and
        # train.lua: nesterov = true, dampening 0); 4-pixel translation + flip (He et al.'s augmentation)
        Recipe("xie2017-resnext", epochs=300, batch_size=128, lr=0.1, momentum=0.9, nesterov=True,
               weight_decay=5e-4, milestones=(150, 225)),
        # No paper of the catalog trains on Fashion-MNIST: this is He et al.'s CIFAR-10 recipe
        # (schedule, optimiser and pad-4 crop + flip) applied to its 28x28 images as it stands
        Recipe("he2016-fashion-mnist", epochs=160, milestones=(80, 120)),
        # The same schedule without augmentation: the default for data a user brings (numnet.data.user)
        Recipe("he2016-no-augmentation", epochs=160, milestones=(80, 120), pad=0, flip=False),
    )
}

ORIGINS: dict[str, str] = {
    "paper-cifar10": "He et al. 2016 (sec. 4.2) and Lu et al. 2018 on CIFAR-10: SGD 0.9, wd 1e-4, batch 128, "
                     "lr 0.1 /10 at epochs 80 and 120 of 160, pad-4 crop + flip",
    "paper-cifar100": "Lu et al. 2018 on CIFAR-100: the CIFAR-10 recipe over 300 epochs, /10 at 150 and 225",
    "quick": "numnet's smoke-test schedule (10 epochs, /10 at 5 and 8), He et al.'s optimiser and augmentation",
    "chang2018-stl10": "Chang et al. 2018 on STL-10, as their co-authors' Meganet.m examples run it",
    "chang2018-cifar10": "Chang et al. 2018 / Gomez et al. 2017 on CIFAR, as their code (changebo/revnet-public) "
                         "configures it: batch 100, wd 2e-4, lr 0.1 /10 at 80 and 120 of 160, pad-2 crop + flip",
    "chang2018-cifar100": "the chang2018-cifar10 recipe (the official configurations do not depend on the data set)",
    "torchvision-imagenet": "torchvision's reference ResNet recipe for ImageNet (He et al.'s optimiser)",
    "he2016-fashion-mnist": "He et al. 2016's CIFAR-10 recipe applied to Fashion-MNIST (no paper of the catalog "
                            "trains on it): 160 epochs, /10 at 80 and 120, pad-4 crop of the 28x28 images + flip",
    "he2016-no-augmentation": "He et al. 2016's CIFAR-10 schedule and optimiser without augmentation (the images "
                              "as given): the default for a user's own data",
    "xie2017-resnext": "Xie et al. 2017 (ResNeXt-29 on CIFAR) and Lu et al.'s LM-ResNeXt: wd 5e-4, batch 128, "
                       "lr 0.1 /10 at 150 and 225 of 300, Nesterov momentum 0.9",
}
"""Where each registered recipe comes from, one line (shown by ``numnet train --help`` and reports)."""

# The recipe each data set trains with unless told otherwise (a fold "<set>-fold<k>" as its set).
DEFAULT_RECIPES = {"cifar100": "paper-cifar100", "cifar100_coarse": "paper-cifar100", "stl10": "chang2018-stl10",
             "imagenet": "torchvision-imagenet", "fashion_mnist": "he2016-fashion-mnist"}


def get_recipe(name: "str | Recipe") -> Recipe:
    """The registered recipe called ``name`` (a :class:`Recipe` passes through).

    >>> get_recipe("paper-cifar100").milestones
    (150, 225)
    >>> get_recipe("fast")
    Traceback (most recent call last):
    ...
    ValueError: unknown recipe 'fast'; choose one of paper-cifar10, paper-cifar100, quick, chang2018-stl10, chang2018-cifar10, chang2018-cifar100, torchvision-imagenet, xie2017-resnext, he2016-fashion-mnist, he2016-no-augmentation
    """
    if isinstance(name, Recipe):
        return name
    if not isinstance(name, str) or name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def default_recipe(data_name: str) -> Recipe:
    """The recipe a data set trains with unless told: its paper's where one trains on it
    (CIFAR-100 300 epochs, STL-10 and each of its folds Chang et al.'s, an ImageNet folder
    torchvision's reference recipe), Fashion-MNIST He et al.'s CIFAR-10 recipe under its own
    name (``he2016-fashion-mnist``), everything else the CIFAR-10 one (160 epochs).

    >>> default_recipe("cifar100").name, default_recipe("cifar10").name, default_recipe("stl10-fold3").name
    ('paper-cifar100', 'paper-cifar10', 'chang2018-stl10')
    >>> default_recipe("fashion_mnist").name
    'he2016-fashion-mnist'
    """
    whole_set = re.sub(r"-fold\d+$", "", data_name)
    return RECIPES[DEFAULT_RECIPES.get(whole_set, "paper-cifar10")]


def origin(name: str) -> str:
    """Where the recipe called ``name`` comes from (``""`` for one not registered).

    >>> origin("he2016-fashion-mnist").split(":")[0]
    "He et al. 2016's CIFAR-10 recipe applied to Fashion-MNIST (no paper of the catalog trains on it)"
    """
    return ORIGINS.get(name, "")
