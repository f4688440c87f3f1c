"""Files that are either whole or absent: atomic writes, strict JSON, md5 digests.

Every file numnet writes for later (a downloaded archive, a checkpoint, a result, a
table, a figure) goes through :func:`atomic_write`: the bytes land in a temporary file
beside the target and are moved over it with :func:`os.replace`, so a crash or Ctrl-C
leaves either the old file or the new one, never half of one. The file gets the mode a
plain ``open(path, "w")`` would give it (``0o666`` less the umask), not the private
``0o600`` of a temporary file.

JSON is strict both ways: ``NaN`` and ``Infinity`` are not JSON, so they are never
written and never accepted when read. A caller either lets a non-finite value raise
:class:`NonFiniteError` (results that must be finite) or asks for ``non_finite="mark"``
(metrics such as a loss that diverged): the value is written as ``null`` and its place
listed under the top-level key ``"non_finite"``, so nothing is lost
(:func:`restore_non_finite` puts the floats back).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_write", "write_text", "write_json", "append_jsonl", "read_json", "read_jsonl", "dumps", "loads",
           "restore_non_finite", "NonFiniteError", "MARK", "umask", "md5_bytes", "md5_file"]

MARK = "non_finite"  # the top-level key listing the places of non-finite values


class NonFiniteError(ValueError):
    """A NaN or infinity where a JSON file must hold a finite number (or a file that has one)."""


@functools.lru_cache(maxsize=None)
def umask() -> int:
    """The process umask, read once (from /proc where it can be read without changing it).

    >>> 0 <= umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no way to read it without setting it: set it straight back
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path``.

    If the block raises, the temporary file is removed and ``path`` is untouched.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_write(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("whole")
    >>> (d / "x.txt").read_text()
    'whole'
    >>> try:
    ...     with atomic_write(d / "x.txt") as tmp:
    ...         _ = tmp.write_text("half")
    ...         raise RuntimeError("crash")
    ... except RuntimeError:
    ...     pass
    >>> (d / "x.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('whole', ['x.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # the bytes are on disk before the rename
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp made it 0o600
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def dumps(obj, non_finite: str = "error", where: str = "JSON", **kwargs) -> str:
    """``obj`` as strict JSON text. A NaN or infinity raises :class:`NonFiniteError`
    naming its place, or with ``non_finite="mark"`` (``obj`` a dict) becomes ``null``
    with its place and value listed under ``"non_finite"``.

    >>> dumps({"loss": float("nan")}, where="metrics.jsonl")
    Traceback (most recent call last):
    ...
    numnet.fileio.NonFiniteError: metrics.jsonl: loss is nan; JSON holds only finite numbers
    >>> dumps({"loss": [1.0, float("inf")]}, non_finite="mark", sort_keys=True)
    '{"loss": [1.0, null], "non_finite": {"loss/1": "inf"}}'
    """
    if non_finite not in ("error", "mark"):
        raise ValueError(f"non_finite must be 'error' or 'mark', got {non_finite!r}")
    found = {}
    clean = _replace_non_finite(obj, "", found)
    if found:
        if non_finite == "error" or not isinstance(obj, dict):
            place, value = next(iter(found.items()))
            raise NonFiniteError(f"{where}: {place or 'the value'} is {value}; JSON holds only finite numbers")
        if MARK in obj:
            raise ValueError(f"{where}: the key {MARK!r} is reserved for marking non-finite values")
        clean = {**clean, MARK: found}
    return json.dumps(clean, allow_nan=False, **kwargs)


def _replace_non_finite(x, place, found):
    if isinstance(x, float) and not math.isfinite(x):
        found[place] = repr(x)  # 'nan', 'inf', '-inf'
        return None
    if isinstance(x, dict):
        return {k: _replace_non_finite(v, _join(place, k), found) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_replace_non_finite(v, _join(place, i), found) for i, v in enumerate(x)]
    return x


def _join(place, key) -> str:
    key = str(key).replace("~", "~0").replace("/", "~1")  # JSON pointer escapes
    return f"{place}/{key}" if place else key


def loads(text: str, where: str = "JSON"):
    """Strict JSON: ``NaN``, ``Infinity`` and ``-Infinity`` tokens raise :class:`NonFiniteError`.

    >>> loads('{"loss": NaN}', "m.json")
    Traceback (most recent call last):
    ...
    numnet.fileio.NonFiniteError: m.json: NaN is not valid JSON (non-finite numbers are written as null and listed under "non_finite")
    """
    def reject(token):
        raise NonFiniteError(f"{where}: {token} is not valid JSON (non-finite numbers are written as null "
                             f"and listed under {MARK!r})".replace("'", '"'))

    return json.loads(text, parse_constant=reject)


def restore_non_finite(obj):
    """The object :func:`dumps` marked, with its non-finite floats back in place.

    >>> restore_non_finite(loads(dumps({"h": [float("-inf"), 2.0]}, non_finite="mark")))
    {'h': [-inf, 2.0]}
    """
    if not isinstance(obj, dict) or MARK not in obj:
        return obj
    out = json.loads(json.dumps({k: v for k, v in obj.items() if k != MARK}))  # a deep copy
    for place, value in obj[MARK].items():
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in place.split("/")]
        node = out
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = float(value)
        else:
            node[last] = float(value)
    return out


def write_json(path: str | os.PathLike, obj, non_finite: str = "error") -> None:
    """Write ``obj`` as indented strict JSON, atomically (``non_finite``: see :func:`dumps`).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.json"
    >>> write_json(p, {"acc": 0.5})
    >>> read_json(p)
    {'acc': 0.5}
    """
    write_text(path, dumps(obj, non_finite, where=str(path), indent=1, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike):
    """The strict JSON in ``path`` (errors name the file)."""
    return loads(Path(path).read_text(encoding="utf-8"), str(path))


def append_jsonl(path: str | os.PathLike, record: dict, non_finite: str = "mark") -> None:
    """Append one JSON object as a line (flushed and synced) to ``path``. Lines are logs of
    measurements, so non-finite values are marked by default (see :func:`dumps`).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.jsonl"
    >>> append_jsonl(p, {"epoch": 1}); append_jsonl(p, {"epoch": 2, "loss": float("nan")})
    >>> read_jsonl(p)
    [{'epoch': 1}, {'epoch': 2, 'loss': None, 'non_finite': {'loss': 'nan'}}]
    """
    line = dumps(record, non_finite, where=str(path), sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The JSON objects of a JSON-lines file, one per non-empty line (strict JSON)."""
    with open(path, encoding="utf-8") as f:
        return [loads(line, f"{path}, line {n}") for n, line in enumerate(f, 1) if line.strip()]


def md5_bytes(data: bytes) -> str:
    """Hex md5 of ``data``.

    >>> md5_bytes(b"")
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex md5 of a file's bytes, read in chunks.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "e"; _ = p.write_bytes(b"")
    >>> md5_file(p) == md5_bytes(b"")
    True
    """
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
