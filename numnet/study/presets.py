"""Named study grids: a study written down once as data, run by any driver.

A :class:`Preset` is the grid (architectures × depths × seeds), the data set and its
validation split, and the recipe (the data set's paper recipe, its schedule scaled to
``epochs``). :func:`study_command` spells it as the ``numnet study`` command line, and
``benchmarks/gpu_study.py`` and ``benchmarks/fmnist_full_study.sh`` run it through
:func:`numnet.study.study` with the device's fast paths.

>>> p = PRESETS["fmnist-full"]
>>> len(p.runs()), p.runs()[-1].key, p.recipe().milestones
(15, 'lm_resnet@decay=none-d20-s2', (6, 9))
>>> p.recipe().coefficient_decay, p.runs()[-1].recipe_for(p.recipe()).coefficient_decay
('official', 'none')
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .grid import plan


@dataclass(frozen=True)
class Preset:
    """A study grid as data; ``val_split`` training images are held out for model selection."""

    name: str
    data: str
    archs: tuple
    depths: tuple
    seeds: tuple
    val_split: int
    epochs: int
    about: str = ""

    def runs(self) -> list:
        """The grid's runs (:func:`numnet.study.grid.plan`), architecture outermost."""
        return plan(list(self.archs), list(self.depths), list(self.seeds))

    def recipe(self):
        """The data set's paper recipe over ``epochs`` (milestones at the same fractions)."""
        from .wiring import make_recipe

        return make_recipe(None, self.data, self.epochs)

    def replace(self, **changes) -> "Preset":
        return replace(self, **changes)


def study_command(p: Preset, out: str, *, shard: str | None = None, data_dir: str | None = None) -> list:
    """The ``numnet study`` command line of preset ``p`` (its fast paths aside: the CLI's
    own flags for those are not part of the grid).

    >>> " ".join(study_command(PRESETS["fmnist-full"], "docs/fmnist-full", shard="0/2"))
    'python -m numnet study --data fashion_mnist --archs resnet_postact,lm_resnet,adams2_learnable,adams2,\
lm_resnet@decay=none --depths 20 --seeds 0,1,2 --val-split 5000 --epochs 12 --out docs/fmnist-full --shard 0/2'
    """
    cmd = ["python", "-m", "numnet", "study", "--data", p.data, "--archs", ",".join(p.archs),
           "--depths", ",".join(map(str, p.depths)), "--seeds", ",".join(map(str, p.seeds)),
           "--val-split", str(p.val_split), "--epochs", str(p.epochs), "--out", str(out)]
    if data_dir:
        cmd += ["--data-dir", str(data_dir)]
    if shard:
        cmd += ["--shard", shard]
    return cmd


PRESETS = {p.name: p for p in (
    Preset("fmnist-full", data="fashion_mnist",
           archs=("resnet_postact", "lm_resnet", "adams2_learnable", "adams2", "lm_resnet@decay=none"),
           depths=(20,), seeds=(0, 1, 2), val_split=5000, epochs=12,
           about="Issue 20: He et al.'s ResNet-20, LM-ResNet-20, Adams k = 2 learnable (A) and fixed (B), and "
                 "LM-ResNet-20 without weight decay on its k_n, at full width (16-32-64) on all 60,000 "
                 "Fashion-MNIST training images (5,000 held out for model selection), the 10,000 test "
                 "images reported; the paper's schedule scaled to 12 epochs (lr 0.1, /10 at 6 and 9)."),
)}
"""The named grids (``fmnist-full``: issue 20's Fashion-MNIST study)."""


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    >>> get_preset("fmnist")
    Traceback (most recent call last):
    ...
    ValueError: unknown study preset 'fmnist'; choose one of fmnist-full
    """
    if name not in PRESETS:
        raise ValueError(f"unknown study preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
