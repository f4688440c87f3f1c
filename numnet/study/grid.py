"""The grid of a study: architectures × depths × seeds, named runs, shards.

An *architecture* is a net builder and the scheme it compiles, written as a spec string:

- a catalog scheme name: ``resnet`` (= Euler), ``lm_resnet``, ``adams2``,
  ``adams3_learnable``, ``heun`` …, each mapped to its natural builder
  (:data:`DEFAULT_NETS`; anything else is ``scheme_net``);
- ``net:scheme`` to choose both, e.g. ``scheme_net:rk4``;
- either followed by ``@decay=<mode>``: the same net trained with another
  ``Recipe.coefficient_decay`` (``official``, ``none``, ``toward-scheme``, ``zero``) than the
  grid's recipe, e.g. ``lm_resnet@decay=none`` — a row of its own, whose records say the
  recipe they ran (:data:`ARCH_RECIPE_FIELDS`).

>>> runs = plan(["resnet", "lm_resnet"], depths=[20], seeds=[0, 1])
>>> [r.key for r in runs]
['resnet-d20-s0', 'resnet-d20-s1', 'lm_resnet-d20-s0', 'lm_resnet-d20-s1']
>>> [r.key for r in shard(runs, "1/2")]
['resnet-d20-s1', 'lm_resnet-d20-s1']
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from numnet.nets.names import NET_ALIASES

DEFAULT_NETS = {
    "euler": "resnet",
    "lm_resnet": "lm_resnet",
    "adams2": "adams_net",
    "adams3": "adams_net",
    "adams2_learnable": "adams_net",
    "adams3_learnable": "adams_net",
}
"""The builder for a scheme given alone; other schemes compile with ``scheme_net``."""

FIXED_NETS = {"resnet": "euler", "lm_resnet": "lm_resnet", "polynet": "poly2", "shake_shake": "euler",
              "fractalnet": "heun"}
FIXED_NETS.update({alias: FIXED_NETS[net] for alias, (net, _) in NET_ALIASES.items() if net in FIXED_NETS})
"""Nets that fix their scheme (net → scheme); those not a scheme's name can be named alone."""

PAPER_ARCHS = ("resnet_postact", "resnet", "lm_resnet", "adams2", "adams2_learnable", "adams3", "adams3_learnable",
               "heun")
"""The study of issue 9: ResNet (He et al. 2016a's post-activation net, the baseline of the
LM-ResNet paper's table, and the pre-activation one of the authors' code), LM-ResNet,
Adams nets (fixed and learnable), an RK2 net."""


ARCH_RECIPE_FIELDS = {"decay": "coefficient_decay"}
"""The recipe fields an architecture spec may set for its own runs (``@decay=none``): only
how weight decay treats the net's own scheme coefficients, a property of the net's
training, not of the grid's schedule."""


@dataclass(frozen=True)
class Arch:
    """A net builder and the scheme it compiles; ``label`` is the spec it was written as;
    ``recipe`` the recipe fields its runs change, as sorted ``(field, value)`` pairs."""

    label: str
    net: str
    scheme: str
    recipe: tuple = ()


def parse_arch(spec: str) -> Arch:
    """An :class:`Arch` from a spec (``lm_resnet``, ``heun``, ``scheme_net:rk4``); the
    scheme must be in the catalog.

    >>> parse_arch("resnet")
    Arch(label='resnet', net='resnet', scheme='euler', recipe=())
    >>> parse_arch("scheme_net:rk4").net, parse_arch("resnet_postact")
    ('scheme_net', Arch(label='resnet_postact', net='resnet_postact', scheme='euler', recipe=()))
    >>> parse_arch("lm_resnet@decay=none")
    Arch(label='lm_resnet@decay=none', net='lm_resnet', scheme='lm_resnet', recipe=(('coefficient_decay', 'none'),))
    >>> parse_arch("lm_resnet@decay=l2")
    Traceback (most recent call last):
    ...
    ValueError: architecture 'lm_resnet@decay=l2': coefficient_decay must be one of ('official', 'none', 'toward-scheme', 'zero'), got 'l2'
    >>> parse_arch("resnet:heun")
    Traceback (most recent call last):
    ...
    ValueError: architecture 'resnet:heun': net 'resnet' runs euler, not 'heun'; use scheme_net:heun
    >>> parse_arch("rk5")
    Traceback (most recent call last):
    ...
    ValueError: architecture 'rk5': unknown scheme 'rk5'; close matches: rk4, rk38
    """
    from numnet.schemes import get

    from numnet.nets.names import COEFFICIENT_DECAY

    m = isinstance(spec, str) and re.fullmatch(r"([A-Za-z0-9_]+(?::[A-Za-z0-9_]+)?)((?:@[a-z]+=[A-Za-z0-9_-]+)*)", spec)
    if not m:
        raise ValueError(f"architecture must be 'scheme' or 'net:scheme' (letters, digits, _), optionally followed "
                         f"by @decay=<mode>, got {spec!r}")
    recipe = {}
    for item in filter(None, m[2].split("@")):
        key, _, value = item.partition("=")
        if key not in ARCH_RECIPE_FIELDS or key in recipe:
            raise ValueError(f"architecture {spec!r}: {'repeated' if key in recipe else 'unknown'} option {key!r}; "
                             f"an architecture sets only {', '.join('@' + k + '=' for k in ARCH_RECIPE_FIELDS)}")
        recipe[key] = value
    recipe = tuple(sorted((ARCH_RECIPE_FIELDS[k], v) for k, v in recipe.items()))
    if any(v not in COEFFICIENT_DECAY for f, v in recipe if f == "coefficient_decay"):
        raise ValueError(f"architecture {spec!r}: coefficient_decay must be one of {COEFFICIENT_DECAY}, "
                         f"got {dict(recipe)['coefficient_decay']!r}")
    net, _, name = m[1].rpartition(":")
    if not net and name in FIXED_NETS:     # a net that fixes its scheme, named alone
        net, name = name, FIXED_NETS[name]
    try:
        scheme = get(name).name
    except ValueError as e:
        raise ValueError(f"architecture {spec!r}: {e}") from None
    net = net or DEFAULT_NETS.get(scheme, "scheme_net")
    fixed = FIXED_NETS.get(net)
    if fixed and scheme != fixed or net == "adams_net" and not re.fullmatch(r"adams[23](_learnable)?", scheme):
        raise ValueError(f"architecture {spec!r}: net {net!r} runs {fixed or 'an Adams scheme'}, not {scheme!r}; "
                         f"use scheme_net:{scheme}")
    if recipe and not get(scheme).free_symbols:
        raise ValueError(f"architecture {spec!r}: {scheme} learns no scheme coefficients, so @decay= changes nothing")
    return Arch(spec, net, scheme, recipe)


@dataclass(frozen=True)
class Run:
    """One training run of the grid."""

    arch: str
    net: str
    scheme: str
    depth: int
    seed: int
    recipe: tuple = ()   # (field, value) pairs this run's arch changes in the grid's recipe

    @property
    def key(self) -> str:
        """A file-name-safe unique name: ``<arch>-d<depth>-s<seed>`` (``:`` becomes ``+``).

        >>> plan(["lm_resnet@decay=none"], [20], [0])[0].key
        'lm_resnet@decay=none-d20-s0'
        """
        return f"{self.arch.replace(':', '+')}-d{self.depth}-s{self.seed}"

    def to_dict(self) -> dict:
        """The run as plain data; ``recipe`` (a dict) only when its arch changes the recipe.

        >>> plan(["lm_resnet@decay=none"], [20], [0])[0].to_dict()["recipe"]
        {'coefficient_decay': 'none'}
        """
        d = asdict(self)
        d["recipe"] = dict(self.recipe)
        return d if self.recipe else {k: v for k, v in d.items() if k != "recipe"}

    def recipe_for(self, recipe):
        """The grid's ``recipe`` (a :class:`~numnet.train.Recipe`) as this run trains it:
        with its arch's changes (``@decay=``) applied."""
        return recipe.replace(**dict(self.recipe)) if self.recipe else recipe

    def build_options(self) -> dict:
        """The keyword arguments ``numnet.nets.build(net, depth, ...)`` takes for this run's
        scheme: ``scheme=`` for ``scheme_net``/``ode_net``, ``steps``/``learnable`` for
        ``adams_net``, nothing for nets whose scheme is fixed (``resnet``, ``lm_resnet``).

        >>> [r.build_options() for r in plan(["resnet", "adams3_learnable", "heun"], [20], [0])]
        [{}, {'steps': 3, 'learnable': True}, {'scheme': 'heun'}]
        """
        if self.net in ("scheme_net", "ode_net"):
            return {"scheme": self.scheme}
        m = re.fullmatch(r"adams([23])(_learnable)?", self.scheme)
        if self.net == "adams_net":
            if not m:
                raise ValueError(f"adams_net runs an Adams scheme (adams2, adams3, *_learnable), got {self.scheme!r}")
            return {"steps": int(m[1]), "learnable": bool(m[2])}
        return {}


def plan(archs, depths, seeds) -> list:
    """Every run of archs × depths × seeds, in that nesting order (architecture outermost).

    >>> len(plan(["resnet", "heun"], [20, 32], range(3)))
    12
    >>> plan(["resnet"], [20], [-1])
    Traceback (most recent call last):
    ...
    ValueError: seeds must be integers >= 0, got [-1]
    """
    archs = [a if isinstance(a, Arch) else parse_arch(a) for a in _list(archs, "archs")]
    depths, seeds = _list(depths, "depths"), _list(seeds, "seeds")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in depths):
        raise ValueError(f"depths must be positive integers, got {depths}")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be integers >= 0, got {seeds}")
    labels = [a.label for a in archs]
    if len(set(labels)) != len(labels) or len(set(depths)) != len(depths) or len(set(seeds)) != len(seeds):
        raise ValueError(f"repeated entries in the grid: archs {labels}, depths {depths}, seeds {seeds}")
    return [Run(a.label, a.net, a.scheme, d, s, a.recipe) for a in archs for d in depths for s in seeds]


def parse_shard(text: str) -> tuple:
    """``"i/n"`` → ``(i, n)`` with 0 ≤ i < n.

    >>> parse_shard("2/4")
    (2, 4)
    >>> parse_shard("4/4")
    Traceback (most recent call last):
    ...
    ValueError: shard must be 'i/n' with 0 <= i < n (shards count from 0), got '4/4'
    """
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not int(m[1]) < int(m[2]):
        raise ValueError(f"shard must be 'i/n' with 0 <= i < n (shards count from 0), got {text!r}")
    return int(m[1]), int(m[2])


def shard(runs, which) -> list:
    """Every n-th run starting at i (``which`` = ``"i/n"`` or ``(i, n)``): n processes with
    i = 0 … n−1 cover the grid exactly once."""
    i, n = parse_shard(which) if isinstance(which, str) else parse_shard(f"{which[0]}/{which[1]}")
    return list(runs)[i::n]


def _list(x, what):
    if isinstance(x, (str, bytes)):
        x = [x]
    try:
        out = list(x)
    except TypeError:
        raise TypeError(f"{what} must be a sequence, got {x!r}") from None
    if not out:
        raise ValueError(f"{what} is empty")
    return out
