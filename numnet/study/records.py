"""Run records on disk: one JSON file per finished run, loaded, merged, and the block
schemes they store turned back into scheme objects.

A study folder holds ``runs/<key>.json``; shards of one grid write disjoint keys, so
merging is copying, with a check that a run present twice is the same run.
"""

from __future__ import annotations

from pathlib import Path

from numnet.fileio import read_json, write_json

RECORD_DIR = "runs"


def record_path(out, run) -> Path:
    """Where the record of ``run`` (a :class:`~numnet.study.grid.Run`) lives under ``out``."""
    return Path(out) / RECORD_DIR / f"{run.key}.json"


def load_records(*dirs) -> list:
    """The run records of one or more study folders (``<dir>/runs/*.json``), sorted by key;
    a run present in several folders must be identical in each. Records are strict JSON and
    the coefficients of their stored schemes are checked as they load (read, never
    evaluated), so a bad file is named before anything uses it.

    >>> import tempfile
    >>> load_records(tempfile.mkdtemp())
    []
    """
    found = {}
    for d in dirs:
        for p in sorted((Path(d) / RECORD_DIR).glob("*.json")):
            rec = read_json(p)
            _check_record(rec, p)
            key = rec["run"]["key"]
            if key in found and found[key] != rec:
                raise ValueError(f"run {key} differs between study folders (second copy: {p})")
            found[key] = rec
    return [found[k] for k in sorted(found)]


def _check_record(rec, path) -> None:
    if not isinstance(rec, dict) or not isinstance(rec.get("run"), dict) or "key" not in rec["run"]:
        raise ValueError(f"{path}: not a run record (needs a 'run' object with a 'key')")
    for i, block in enumerate(rec.get("blocks") or []):
        if not isinstance(block, dict) or "scheme" not in block:
            raise ValueError(f"{path}: blocks[{i}] must be an object with a 'scheme'")
        _coefficients(block["scheme"], f"{path}: blocks[{i}].scheme")


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
    incoming = load_records(*sources)
    check_one_configuration([*have.values(), *incoming])
    for rec in incoming:
        key = rec["run"]["key"]
        if key in have:
            if have[key] != rec:
                raise ValueError(f"run {key} in {dest} differs from the copy being merged")
            continue
        write_json(Path(dest) / RECORD_DIR / f"{key}.json", rec)
        have[key] = rec
        copied.append(key)
    return copied


PER_RUN = ("build", "seed", "recipe_changes")
"""The parts of a record's configuration that differ from run to run of one grid."""


def check_one_configuration(records) -> None:
    """A table is one configuration: every record's ``config`` but its :data:`PER_RUN`
    parts must agree (shards of one grid do; shards run with other settings do not).
    A recipe field some runs' arch sets for itself (``recipe_changes``, from
    ``lm_resnet@decay=none``) must agree among the runs that do not set it, and in the
    runs that do it must be the value they set.

    >>> a = {"run": {"key": "a"}, "config": {"recipe": {"epochs": 1}, "seed": 0, "build": {}}}
    >>> b = {"run": {"key": "b"}, "config": {"recipe": {"epochs": 3}, "seed": 1, "build": {}}}
    >>> check_one_configuration([a, {**a, "run": {"key": "c"}}])
    >>> check_one_configuration([a, b])
    Traceback (most recent call last):
    ...
    ValueError: runs a and b were trained under different configurations: recipe.epochs 1 (b: 3); ...
    >>> d = lambda key, decay, changes=None: {"run": {"key": key}, "config": {
    ...     "recipe": {"epochs": 1, "coefficient_decay": decay}, "seed": 0, "build": {},
    ...     **({"recipe_changes": changes} if changes else {})}}
    >>> check_one_configuration([d("a", "official"), d("n", "none", {"coefficient_decay": "none"})])
    >>> check_one_configuration([d("a", "official"), d("z", "zero"), d("n", "none", {"coefficient_decay": "none"})])
    Traceback (most recent call last):
    ...
    ValueError: runs a and z were trained under different configurations: recipe.coefficient_decay 'official' (z: 'zero'); ...
    """
    from numnet.train.config import describe, differences

    records = list(records)
    if not records:
        return
    bare = [r["run"]["key"] for r in records if r.get("config") is None]
    if bare and len(bare) < len(records):
        raise ValueError(f"runs {', '.join(bare)} carry no configuration (an older numnet wrote them) and cannot "
                         f"be tabulated with runs that do; keep them in a folder of their own")
    if bare:
        return
    changes = {r["run"]["key"]: r["config"].get("recipe_changes") or {} for r in records}
    for r in records:
        used = r["config"].get("recipe") or {}
        wrong = {f: v for f, v in changes[r["run"]["key"]].items() if used.get(f) != v}
        if wrong:
            raise ValueError(f"run {r['run']['key']} sets {wrong} for itself but its recipe holds "
                             f"{ {f: used.get(f) for f in wrong} }")
    set_somewhere = {f for c in changes.values() for f in c}

    def shared(r, keep=()):   # the configuration every run of the table shares
        c = {k: v for k, v in r["config"].items() if k not in PER_RUN}
        c["recipe"] = {f: v for f, v in (c.get("recipe") or {}).items() if f not in set_somewhere or f in keep}
        return c

    def same(group, keep=()):
        first = group[0]
        for rec in group[1:]:
            diffs = differences(shared(first, keep), shared(rec, keep))
            if diffs:
                raise ValueError(f"runs {first['run']['key']} and {rec['run']['key']} were trained under different "
                                 f"configurations: {describe(diffs, versus=rec['run']['key'] + ': ')}; a table holds "
                                 f"one configuration, so keep them in separate folders")

    for f in sorted(set_somewhere):   # the grid's own value of a field some archs set
        unset = [r for r in records if f not in changes[r["run"]["key"]]]
        if len(unset) > 1:
            same(unset, keep=(f,))
    same(records)


def scheme_to_dict(scheme) -> dict:
    """A scheme as plain JSON: double-precision coefficients (a learned k) as JSON floats,
    the others as number strings (:func:`~numnet.schemes._parse.number_text`: exact ones
    as sympy prints them, other Floats with their precision); :func:`scheme_from_dict`
    gives back the same coefficients exactly.

    >>> from numnet.schemes import get
    >>> d = scheme_to_dict(get("lm_resnet").subs(k=-0.1))
    >>> d["alpha"], scheme_from_dict(d).alpha == get("lm_resnet").subs(k=-0.1).alpha
    ([0.1, '-39631676720860365/36028797018963968', '1'], True)
    >>> d["name"], scheme_from_dict(d).family
    ('lm_resnet(k=-0.1)', 'lm_resnet')
    """
    names = {"name": scheme.name, "family": getattr(scheme, "family", scheme.name)}
    if scheme.kind not in ("LMM", "RK"):  # a partitioned scheme of a reversible net: stored by its name
        from numnet.schemes import get

        try:
            registered = get(scheme.name)
        except ValueError:
            registered = None
        if registered != scheme:
            raise TypeError(f"cannot store the {scheme.kind} scheme {scheme.name!r}: only registered partitioned "
                            f"schemes are stored (by name)")
        return {"kind": "partitioned", **names}
    if scheme.kind == "LMM":
        return {"kind": "LMM", **names, "alpha": [_enc(a) for a in scheme.alpha], "beta": [_enc(b) for b in scheme.beta]}
    return {"kind": "RK", **names, "A": [[_enc(x) for x in scheme.A.row(i)] for i in range(scheme.stages)],
            "b": [_enc(x) for x in scheme.b], "c": [_enc(x) for x in scheme.c]}


def scheme_from_dict(d: dict, where: str = "stored scheme"):
    """The scheme object stored by :func:`scheme_to_dict`; ``where`` (a record path) names
    the source in errors. Coefficient strings are read, never evaluated.

    >>> scheme_from_dict({"kind": "LMM", "name": "x", "alpha": ["-1", "1"], "beta": ["__import__('os')", 0]}, "runs/x.json")
    Traceback (most recent call last):
    ...
    numnet.schemes._parse.NumberSyntaxError: runs/x.json: beta[0]: cannot read "__import__('os')" as a number: ...
    """
    from numnet.schemes import LinearMultistep, RungeKutta, get, names

    if isinstance(d, dict) and d.get("kind") == "partitioned":
        name = d.get("name")
        if not isinstance(name, str) or name not in names("partitioned"):
            raise ValueError(f"{where}: a stored partitioned scheme must name a registered one "
                             f"({', '.join(names('partitioned'))}), got {name!r}")
        return get(name)
    c = _coefficients(d, where)
    if c["kind"] == "LMM":
        scheme = LinearMultistep(c["alpha"], c["beta"], name=d["name"])
    else:
        scheme = RungeKutta(c["A"], c["b"], c["c"], name=d["name"])
    family = d.get("family", d["name"])   # records before names said their values: the name
    if not isinstance(family, str):
        raise ValueError(f"{where}: a stored scheme's family must be a name, got {family!r}")
    return scheme.renamed(d["name"], family=family)


def _coefficients(d, where: str) -> dict:
    """The decoded coefficient lists of a stored scheme (``kind`` plus its slots)."""
    if not isinstance(d, dict) or d.get("kind") not in ("LMM", "RK"):
        kind = d.get("kind") if isinstance(d, dict) else d
        raise ValueError(f"{where}: a stored scheme needs kind 'LMM' or 'RK', got {kind!r}")
    slots = ("alpha", "beta") if d["kind"] == "LMM" else ("A", "b", "c")
    out = {"kind": d["kind"]}
    for slot in slots:
        values = d.get(slot)
        if not isinstance(values, list):
            raise ValueError(f"{where}: {slot} must be a list of coefficients, got {values!r}")
        if slot == "A":
            if not all(isinstance(row, list) for row in values):
                raise ValueError(f"{where}: A must be a list of rows, got {values!r}")
            out[slot] = [[_dec(x, f"{where}: A[{i}][{j}]") for j, x in enumerate(row)] for i, row in enumerate(values)]
        else:
            out[slot] = [_dec(x, f"{where}: {slot}[{j}]") for j, x in enumerate(values)]
    return out


def _enc(x):
    import sympy as sp

    from numnet.schemes._parse import number_text

    if isinstance(x, sp.Float) and x._prec == 53:
        return float(x)  # exactly this binary value; JSON keeps every bit
    return number_text(x)  # read back exactly by parse_number (Floats keep their precision)


def _dec(v, where: str = "stored coefficient"):
    """A stored coefficient back as a sympy number: JSON floats as 53-bit Floats, strings
    read by :func:`~numnet.schemes._parse.parse_number` (never evaluated as code)."""
    import sympy as sp

    from numnet.schemes._parse import ACCEPTED, parse_number

    if isinstance(v, float):
        return sp.Float(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return sp.Integer(v)
    if isinstance(v, str):
        return parse_number(v, where)
    raise ValueError(f"{where}: a stored coefficient must be a float or a number string like '1/3', "
                     f"got {v!r} ({type(v).__name__}); accepted: {ACCEPTED}")


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
