"""How much of each trained block's spectrum lies in its own scheme's stability region.

A record with spectra (:func:`numnet.study.add_spectra` or ``spectra_samples``) holds,
per block, the values z = h·λ of the block's branch Jacobian at a few test images, and
the block's (learned) scheme. :func:`block_shares` reads every block's z against
``scheme.in_stability_region``; :func:`summary` gives one row per net over its seeds;
:func:`markdown` prints it. Arnoldi Ritz values approximate the outermost eigenvalues —
those that decide stability — not the whole spectrum, so the shares are of the outermost
part.

>>> rec = {"run": {"arch": "lm", "depth": 20, "seed": 0},
...        "blocks": [{"stage": 0, "block": 1, "scheme": {"kind": "LMM", "name": "ab1", "family": "ab1",
...                    "alpha": ["-1", "1"], "beta": ["1", "0"]}}],
...        "spectra": [[[-1.0, 0.0], [-2.5, 0.0], [0.1, 0.0], [-1.0, 0.5]]]}
>>> b = block_shares(rec)[0]
>>> b["inside"], b["count"], b["max_abs"]
(2, 4, 2.5)
"""

from __future__ import annotations

import numpy as np

from .records import scheme_from_dict

__all__ = ["block_shares", "summary", "markdown"]


def block_shares(rec) -> list:
    """Per block of ``rec`` with a spectrum: ``{"stage", "block", "scheme", "inside",
    "count", "max_abs", "min_re"}`` (``inside`` of ``count`` values in the block scheme's
    region). A record without spectra, or whose spectra do not match its blocks, is a
    ``ValueError`` naming the run."""
    key = rec.get("run", {}).get("key") or rec.get("run")
    spectra, blocks = rec.get("spectra"), rec.get("blocks")
    if spectra is None or not blocks:
        raise ValueError(f"run {key} has no stored spectra and block schemes (numnet.study.add_spectra adds them)")
    if len(spectra) != len(blocks):
        raise ValueError(f"run {key}: {len(spectra)} spectra for {len(blocks)} blocks")
    out = []
    for b, eig in zip(blocks, spectra):
        if eig is None:
            continue
        z = np.array([complex(re, im) for re, im in eig])
        if not np.all(np.isfinite(z)):
            raise ValueError(f"run {key}, stage {b['stage']} block {b['block']}: non-finite eigenvalue in its spectrum")
        scheme = scheme_from_dict(b["scheme"])
        inside = np.asarray(scheme.in_stability_region(z), dtype=bool)
        out.append({"stage": b["stage"], "block": b["block"], "scheme": scheme.name, "inside": int(inside.sum()),
                    "count": len(z), "max_abs": float(np.abs(z).max()), "min_re": float(z.real.min())})
    return out


def summary(records) -> list:
    """One row per (arch, depth) over the records with spectra: the share of all z inside
    their block's region, the blocks with every z inside, the largest |z| and the most
    negative Re z; ``seeds`` counts the records read."""
    groups = {}
    for rec in records:
        if rec.get("spectra") is None:
            continue
        groups.setdefault((rec["run"]["arch"], rec["run"]["depth"]), []).append(rec)
    rows = []
    for (arch, depth), recs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        blocks = [b for rec in recs for b in block_shares(rec)]
        inside, count = sum(b["inside"] for b in blocks), sum(b["count"] for b in blocks)
        rows.append({"arch": arch, "depth": depth, "seeds": len(recs), "share_inside": inside / count,
                     "blocks_inside": sum(b["inside"] == b["count"] for b in blocks), "blocks": len(blocks),
                     "max_abs": max(b["max_abs"] for b in blocks), "min_re": min(b["min_re"] for b in blocks)})
    return rows


def markdown(rows) -> str:
    """The :func:`summary` rows as a Markdown table."""
    lines = ["| net | depth | seeds | z inside its block's region | blocks entirely inside | max abs z | min Re z |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['arch']} | {r['depth']} | {r['seeds']} | {100 * r['share_inside']:.1f} % | "
              f"{r['blocks_inside']} of {r['blocks']} | {r['max_abs']:.3g} | {r['min_re']:.3g} |" for r in rows]
    return "\n".join(lines) + "\n"
