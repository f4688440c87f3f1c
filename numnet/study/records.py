"""Run records on disk: one JSON file per finished run, loaded, merged, and the block
schemes they store turned back into scheme objects.

A study folder holds ``runs/<key>.json``; shards of one grid write disjoint keys, so
merging is copying, with a check that a run present twice is the same run.
"""

from __future__ import annotations

import json
from pathlib import Path

from numnet.fileio import write_json

RECORD_DIR = "runs"


def record_path(out, run) -> Path:
    """Where the record of ``run`` (a :class:`~numnet.study.grid.Run`) lives under ``out``."""
    return Path(out) / RECORD_DIR / f"{run.key}.json"


def load_records(*dirs) -> list:
    """The run records of one or more study folders (``<dir>/runs/*.json``), sorted by key;
    a run present in several folders must be identical in each.

    >>> import tempfile
    >>> load_records(tempfile.mkdtemp())
    []
    """
    found = {}
    for d in dirs:
        for p in sorted((Path(d) / RECORD_DIR).glob("*.json")):
            rec = json.loads(p.read_text())
            key = rec["run"]["key"]
            if key in found and found[key] != rec:
                raise ValueError(f"run {key} differs between study folders (second copy: {p})")
            found[key] = rec
    return [found[k] for k in sorted(found)]


def merge(dest, *sources) -> list:
    """Copy the run records of ``sources`` (shard output folders) into ``dest``; a run
    already in ``dest`` must be identical. Returns the keys copied.

    >>> import tempfile
    >>> a, b = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    >>> write_json(a / "runs" / "x-d20-s0.json", {"run": {"key": "x-d20-s0"}})
    >>> merge(b, a), merge(b, a)
    (['x-d20-s0'], [])
    """
    if not sources:
        raise ValueError("merge needs at least one source folder")
    missing = [str(s) for s in sources if not (Path(s) / RECORD_DIR).is_dir()]
    if missing:
        raise ValueError(f"not study folders (no {RECORD_DIR}/ inside): {', '.join(missing)}")
    copied = []
    have = {r["run"]["key"]: r for r in load_records(dest)}
    for rec in load_records(*sources):
        key = rec["run"]["key"]
        if key in have:
            if have[key] != rec:
                raise ValueError(f"run {key} in {dest} differs from the copy being merged")
            continue
        write_json(Path(dest) / RECORD_DIR / f"{key}.json", rec)
        have[key] = rec
        copied.append(key)
    return copied


def scheme_to_dict(scheme) -> dict:
    """A scheme as plain JSON: float coefficients (a learned k) as JSON floats, exact ones
    as sympy strings; :func:`scheme_from_dict` gives back the same coefficients exactly.

    >>> from numnet.schemes import get
    >>> d = scheme_to_dict(get("lm_resnet").subs(k=-0.1))
    >>> d["alpha"], scheme_from_dict(d).alpha == get("lm_resnet").subs(k=-0.1).alpha
    ([0.1, '-39631676720860365/36028797018963968', '1'], True)
    """
    if scheme.kind == "LMM":
        return {"kind": "LMM", "name": scheme.name, "alpha": [_enc(a) for a in scheme.alpha],
                "beta": [_enc(b) for b in scheme.beta]}
    return {"kind": "RK", "name": scheme.name, "A": [[_enc(x) for x in scheme.A.row(i)] for i in range(scheme.stages)],
            "b": [_enc(x) for x in scheme.b], "c": [_enc(x) for x in scheme.c]}


def scheme_from_dict(d: dict):
    """The scheme object stored by :func:`scheme_to_dict`."""
    from numnet.schemes import LinearMultistep, RungeKutta

    if d.get("kind") == "LMM":
        return LinearMultistep([_dec(a) for a in d["alpha"]], [_dec(b) for b in d["beta"]], name=d["name"])
    if d.get("kind") == "RK":
        return RungeKutta([[_dec(x) for x in row] for row in d["A"]], [_dec(x) for x in d["b"]],
                          [_dec(x) for x in d["c"]], name=d["name"])
    raise ValueError(f"a stored scheme needs kind 'LMM' or 'RK', got {d.get('kind')!r}")


def _enc(x):
    import sympy as sp

    if isinstance(x, sp.Float) and x._prec <= 53:
        return float(x)  # exactly this binary value; JSON keeps every bit
    return str(x)


def _dec(v):
    import sympy as sp

    if isinstance(v, float):
        return sp.Float(v)
    if isinstance(v, str):
        return sp.sympify(v)
    raise ValueError(f"a stored coefficient must be a float or a sympy string, got {v!r}")


def plain(x):
    """A JSON-ready copy: tensors and numpy values become Python numbers and lists.

    >>> import numpy as np
    >>> plain({"a": np.float32(0.5), "b": (np.arange(2), None)})
    {'a': 0.5, 'b': [[0, 1], None]}
    """
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "item") and getattr(x, "ndim", 0) == 0:
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    return x
