"""Comparing run configurations: which keys differ, said in one line.

A run's configuration is plain JSON data (nested dicts). Resuming a run, reusing a
finished one or a study record all need the same answer: are two configurations the
same, and if not, which keys differ. Pure Python (no torch), so the study can use it.
"""

from __future__ import annotations

__all__ = ["differences", "describe"]

ABSENT = "<absent>"


def differences(stored, now, prefix: str = "") -> list[tuple[str, object, object]]:
    """``[(dotted key, stored value, new value), ...]`` where two configurations differ;
    a key present on one side only has the value ``"<absent>"`` on the other.

    >>> differences({"recipe": {"epochs": 1, "lr": 0.1}, "seed": 0}, {"recipe": {"epochs": 2, "lr": 0.1}, "seed": 0})
    [('recipe.epochs', 1, 2)]
    >>> differences({"a": 1}, {"a": 1, "b": 2})
    [('b', '<absent>', 2)]
    """
    if isinstance(stored, dict) and isinstance(now, dict):
        return [d for k in sorted(set(stored) | set(now), key=str)
                for d in differences(stored.get(k, ABSENT), now.get(k, ABSENT), f"{prefix}{k}.")]
    return [] if stored == now else [(prefix[:-1], stored, now)]


def describe(diffs, limit: int = 80, versus: str = "now ") -> str:
    """The differences on one line: ``key stored (now new); ...``, long values shortened.

    >>> describe([("recipe.epochs", 1, 2), ("meta.scheme", "ab2", "ab3")])
    "recipe.epochs 1 (now 2); meta.scheme 'ab2' (now 'ab3')"
    """
    def short(v):
        text = repr(v)
        return text if len(text) <= limit else text[:limit - 3] + "..."

    return "; ".join(f"{k} {short(a)} ({versus}{short(b)})" for k, a, b in diffs)
