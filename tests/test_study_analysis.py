"""The study's analysis: significance tests (against scipy and hand-enumerated permutations)
and the share of trained spectra inside their blocks' stability regions (against numpy roots)."""

import itertools

import numpy as np
import pytest
from scipy import stats

from numnet import schemes
from numnet.study import stable_share
from numnet.study.records import scheme_to_dict
from numnet.study.significance import markdown, permutation, smallest_p, versus, welch

A = [0.0724, 0.0746, 0.0731]
B = [0.0760, 0.0781, 0.0770, 0.0752]


def test_welch_matches_scipy_unequal_variance_t_test():
    ref = stats.ttest_ind(A, B, equal_var=False)
    r = welch(A, B)
    assert r["t"] == pytest.approx(ref.statistic, rel=1e-12)
    assert r["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    va, vb = np.var(A, ddof=1) / 3, np.var(B, ddof=1) / 4   # Welch-Satterthwaite by hand
    assert r["dof"] == pytest.approx((va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 3), rel=1e-12)
    assert r["diff"] == pytest.approx(np.mean(A) - np.mean(B))


def test_welch_refuses_what_has_no_t():
    with pytest.raises(ValueError, match="zero variance"):
        welch([0.1, 0.1], [0.2, 0.2])
    with pytest.raises(ValueError, match="at least 2 values"):
        welch([0.1], [0.2, 0.3])
    with pytest.raises(ValueError, match="non-finite"):
        welch([0.1, float("nan")], [0.2, 0.3])
    with pytest.raises(TypeError, match="sequence of numbers"):
        welch("0.1,0.2", [0.2, 0.3])


def test_permutation_p_is_the_share_of_splits_at_least_as_extreme():
    pooled = A + B
    obs = abs(np.mean(A) - np.mean(B))
    hits = total = 0
    for idx in itertools.combinations(range(7), 3):   # every 3 + 4 split, by hand
        a = [pooled[i] for i in idx]
        b = [pooled[i] for i in range(7) if i not in idx]
        total += 1
        hits += abs(np.mean(a) - np.mean(b)) >= obs - 1e-15
    r = permutation(A, B)
    assert (r["splits"], r["p"]) == (35, hits / total)
    assert r["p"] == pytest.approx(2 / 35)   # fully separated samples: only the two extreme splits
    assert smallest_p(3, 4) == pytest.approx(2 / 35)


def test_three_seeds_against_three_cannot_reach_five_percent():
    far = permutation([0.01, 0.011, 0.012], [0.5, 0.6, 0.7])
    assert far["p"] == smallest_p(3, 3) == 0.1   # as separated as can be, still p = 0.1
    assert welch([0.01, 0.011, 0.012], [0.5, 0.6, 0.7])["p"] < 0.05


def _records(groups):
    return [{"run": {"arch": arch, "depth": 20, "seed": s}, "final_test_acc": acc}
            for arch, accs in groups.items() for s, acc in enumerate(accs)]


def test_versus_compares_each_net_with_the_baseline_on_test_error():
    recs = _records({"resnet": [1 - e for e in B[:3]], "lm": [1 - e for e in A], "same": [0.9, 0.9, 0.9]})
    rows = {r["arch"]: r for r in versus(recs, "resnet")}
    assert set(rows) == {"lm", "same"}
    assert rows["lm"]["p_welch"] == pytest.approx(stats.ttest_ind(A, B[:3], equal_var=False).pvalue, rel=1e-8)
    assert rows["lm"]["diff"] == pytest.approx(np.mean(A) - np.mean(B[:3]))
    assert rows["lm"]["p_permutation"] == pytest.approx(0.1) and rows["lm"]["p_floor"] == pytest.approx(0.1)
    text = markdown(list(rows.values()))
    assert "Δ test error vs resnet" in text and f"{100 * rows['lm']['diff']:+.2f}" in text
    with pytest.raises(ValueError, match="baseline 'he' is not among"):
        versus(recs, "he")


def test_versus_names_an_undefined_test_instead_of_a_nan():
    recs = _records({"resnet": [0.9, 0.9], "flat": [0.8, 0.8]})
    (row,) = versus(recs, "resnet")
    assert row["p_welch"] is None and "zero variance" in row["note"]
    assert row["p_permutation"] == pytest.approx(2 / 6)   # of the 6 splits, only the 2 that keep the groups
    assert "zero variance" in markdown([row])


def _lm_inside(k, z):
    """LM-ResNet's stability polynomial ζ² − (1 − k + z)ζ − k: both roots in the closed unit disc."""
    return bool(np.all(np.abs(np.roots([1, -(1 - k + z), -k])) <= 1 + 1e-12))


def test_spectra_shares_read_each_block_against_its_own_learned_region():
    rng = np.random.default_rng(0)
    ks = (0.3, -0.4)
    zs = [rng.normal(-1.0, 1.0, 12) + 1j * rng.normal(0, 0.8, 12) for _ in ks]
    blocks = [{"stage": 0, "block": i + 1, "scheme": scheme_to_dict(schemes.get("lm_resnet").subs(k=k))}
              for i, k in enumerate(ks)]
    rec = {"run": {"key": "lm-d20-s0", "arch": "lm", "depth": 20, "seed": 0},
           "blocks": [{"stage": 0, "block": 0, "scheme": scheme_to_dict(schemes.get("ab1"))}] + blocks,
           "spectra": [None] + [[[z.real, z.imag] for z in zz] for zz in zs]}
    shares = stable_share.block_shares(rec)
    assert [b["block"] for b in shares] == [1, 2]   # the entry block without a spectrum is skipped
    for b, k, zz in zip(shares, ks, zs):
        assert b["inside"] == sum(_lm_inside(k, z) for z in zz) and b["count"] == 12
        assert b["max_abs"] == pytest.approx(np.abs(zz).max())
    assert 0 < shares[0]["inside"] < 12   # the draw straddles the boundary: the test can tell
    (row,) = stable_share.summary([rec, {**rec, "run": {**rec["run"], "seed": 1}}])
    total = sum(b["inside"] for b in shares)
    assert (row["seeds"], row["blocks"], row["share_inside"]) == (2, 4, pytest.approx(total / 24))
    assert "lm | 20 | 2 |" in stable_share.markdown([row])
    with pytest.raises(ValueError, match="2 spectra for 3 blocks"):
        stable_share.block_shares({**rec, "spectra": rec["spectra"][:2]})
    with pytest.raises(ValueError, match="no stored spectra"):
        stable_share.block_shares({**rec, "spectra": None})
