"""One registry of named schemes: the catalog (Runge–Kutta and linear multistep methods,
:mod:`numnet.schemes.catalog`) and the partitioned ones (kick sequences and second-order
multistep methods, :mod:`numnet.schemes.partitioned`), so that :func:`get` finds, and
:func:`names` lists, every scheme a command accepts.

>>> get("rk4").kind, get("stormer_verlet").kind, get("leapfrog2").name
('RK', 'partitioned', 'stormer')
>>> "stormer_verlet" in names() and "ab3" in names()
True

A name (or alias) registered by both families is an error at import, not a silent
preference: catalog ``leapfrog`` (the midpoint LMM) and partitioned ``leapfrog2`` (Störmer)
are different names on purpose.
"""

from __future__ import annotations

import difflib

from . import partitioned
from .base import Scheme
from .catalog import aliases as _catalog_aliases
from .catalog import get as _catalog_get
from .catalog import names as _catalog_names

FAMILIES = (
    ("catalog", _catalog_names, _catalog_aliases, _catalog_get),
    ("partitioned", partitioned.names, partitioned.aliases, partitioned.get),
)
"""Each family as (label, names(), aliases(), get(name))."""


def merge(families) -> dict:
    """``{name or alias: get}`` over families ``(label, names, aliases, get)``; a name two
    families claim raises ``ValueError`` naming both.

    >>> a = ("a", lambda: ["x"], lambda: {"y": "x"}, None)
    >>> merge([a, ("b", lambda: ["y"], dict, None)])
    Traceback (most recent call last):
    ...
    ValueError: scheme name 'y' is registered by both a and b; rename one of them
    """
    index, owner = {}, {}
    for label, family_names, family_aliases, family_get in families:
        for name in [*family_names(), *family_aliases()]:
            if name in index:
                raise ValueError(f"scheme name {name!r} is registered by both {owner[name]} and {label}; rename one of them")
            index[name], owner[name] = family_get, label
    return index


_INDEX = merge(FAMILIES)


def names(family: str | None = None) -> list:
    """Every registered scheme name: the catalog's, then the partitioned ones (no aliases);
    ``family="catalog"`` or ``"partitioned"`` lists one of them.

    >>> names("partitioned")
    ['symplectic_euler', 'stormer_verlet', 'forward_euler_pair', 'stormer']
    >>> names("rk")
    Traceback (most recent call last):
    ...
    ValueError: family must be one of catalog, partitioned or None, got 'rk'
    """
    labels = [label for label, *_ in FAMILIES]
    if family is not None and family not in labels:
        raise ValueError(f"family must be one of {', '.join(labels)} or None, got {family!r}")
    return [n for label, family_names, _, _ in FAMILIES if family in (None, label) for n in family_names()]


def get(name: str):
    """The scheme registered under ``name`` or an alias, from either family (the same
    immutable object on every call).

    >>> get("rk5")
    Traceback (most recent call last):
    ...
    ValueError: unknown scheme 'rk5'; close matches: rk4, rk38
    """
    if not isinstance(name, str):
        raise TypeError(f"scheme name must be a string, got {name!r}")
    family_get = _INDEX.get(name.lower())
    if family_get is None:
        close = difflib.get_close_matches(name.lower(), list(_INDEX), n=3, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else f"; known: {', '.join(names())}"
        raise ValueError(f"unknown scheme {name!r}{hint}")
    return family_get(name)


CLASS_OF_KIND = {"RK": "RungeKutta", "LMM": "LinearMultistep", "LMM2": "SecondOrderMultistep",
                 "partitioned": "PartitionedScheme"}
"""The scheme classes by their ``kind``."""


def as_scheme(scheme, kinds=None, what: str = "scheme"):
    """A scheme object from a registered name or a scheme (returned as it is); ``kinds``
    (e.g. ``("RK", "LMM")``) restricts the accepted kinds. The one conversion solvers,
    nets and plots use.

    >>> as_scheme("verlet").name, as_scheme(get("rk4")) is get("rk4")
    ('stormer_verlet', True)
    >>> as_scheme("stormer_verlet", kinds=("RK", "LMM"))
    Traceback (most recent call last):
    ...
    TypeError: scheme must be a registered name or a numnet scheme (RungeKutta or LinearMultistep), got stormer_verlet (a PartitionedScheme)
    >>> as_scheme(3)
    Traceback (most recent call last):
    ...
    TypeError: scheme must be a registered name or a numnet scheme (RungeKutta, LinearMultistep, SecondOrderMultistep or PartitionedScheme), got 3
    """
    if isinstance(scheme, str):
        scheme = get(scheme)
    allowed = tuple(CLASS_OF_KIND) if kinds is None else tuple(kinds)
    unknown = [k for k in allowed if k not in CLASS_OF_KIND]
    if unknown:
        raise ValueError(f"kinds must be among {', '.join(CLASS_OF_KIND)}, got {unknown}")
    if not isinstance(scheme, (Scheme, partitioned.PartitionedScheme)) or scheme.kind not in allowed:
        classes = [CLASS_OF_KIND[k] for k in allowed]
        expected = classes[0] if len(classes) == 1 else ", ".join(classes[:-1]) + " or " + classes[-1]
        got = f"{scheme.name} (a {type(scheme).__name__})" if isinstance(scheme, (Scheme, partitioned.PartitionedScheme)) else repr(scheme)
        raise TypeError(f"{what} must be a registered name or a numnet scheme ({expected}), got {got}")
    return scheme
