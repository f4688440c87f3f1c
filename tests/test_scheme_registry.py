"""One registry (issue #17): ``numnet.schemes.get`` finds every catalog and partitioned
scheme, ``numnet schemes`` and ``numnet train --scheme`` accept the same names, and a name
claimed by two families is refused at import instead of one silently winning."""

import csv

import pytest

from numnet import schemes
from numnet.cli import build_parser, main
from numnet.schemes import partitioned, registry
from numnet.schemes.catalog import aliases as catalog_aliases
from numnet.schemes.catalog import names as catalog_names
from numnet.schemes.partitioned import PartitionedScheme, SecondOrderMultistep


def test_get_finds_catalog_and_partitioned_schemes_and_their_aliases():
    assert isinstance(schemes.get("stormer_verlet"), PartitionedScheme)
    assert schemes.get("verlet") is schemes.get("stormer_verlet") is partitioned.get("stormer_verlet")
    assert isinstance(schemes.get("leapfrog2"), SecondOrderMultistep) and schemes.get("leapfrog2").name == "stormer"
    # catalog leapfrog stays the explicit midpoint LMM y_{n+2} - y_n = 2h f_{n+1}
    assert schemes.get("leapfrog").kind == "LMM" and schemes.get("leapfrog").alpha == (-1, 0, 1)
    assert schemes.get("resnet") is schemes.get("euler")


def test_names_lists_both_families_once():
    all_names = schemes.names()
    assert all_names[: len(catalog_names())] == catalog_names()
    assert all_names[len(catalog_names()):] == partitioned.names()
    assert schemes.names("catalog") == catalog_names() and schemes.names("partitioned") == partitioned.names()
    assert len(set(all_names)) == len(all_names)
    for n in all_names:
        assert schemes.get(n).name == n


def test_partitioned_get_keeps_working_and_is_cached():
    assert partitioned.get("revnet") is partitioned.get("symplectic_euler")
    with pytest.raises(ValueError, match="unknown partitioned scheme 'rk4'"):
        partitioned.get("rk4")


def test_unknown_names_get_close_matches_from_both_families():
    with pytest.raises(ValueError, match="close matches: stormer_verlet"):
        schemes.get("stormer_verlett")


def test_a_name_registered_twice_is_refused():
    a = ("catalog", lambda: ["leapfrog", "rk4"], lambda: {"verlet": "rk4"}, None)
    b = ("partitioned", lambda: ["stormer_verlet"], lambda: {"verlet": "stormer_verlet"}, None)
    with pytest.raises(ValueError, match="'verlet' is registered by both catalog and partitioned"):
        registry.merge([a, b])
    with pytest.raises(ValueError, match="'leapfrog' is registered by both"):
        registry.merge([a, ("partitioned", lambda: ["leapfrog"], dict, None)])
    assert set(registry.merge(registry.FAMILIES)) == set(schemes.names()) | set(catalog_aliases()) | set(partitioned.aliases())


def test_numnet_schemes_shows_a_partitioned_scheme(capsys):
    """It said 'unknown scheme' while train --scheme accepted the name."""
    assert main(["schemes", "stormer_verlet", "stormer"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["name", "kind", "steps/substeps", "reversible", "order"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    # Störmer–Verlet on Y' = aZ, Z' = -bY: tr M = 2 - h²ab, stable iff 0 < h²ab < 4
    assert rows["stormer_verlet"][1:5] == ["partitioned", "3", "True", "2"]
    assert "(0," in rows["stormer_verlet"] and "4)" in rows["stormer_verlet"]
    # Störmer y_{n+1} - 2y_n + y_{n-1} = h²g_n: error constant 1/12, stable iff 0 < hλ < 2
    assert rows["stormer"][1:6] == ["LMM2", "2", "True", "2", "1/12"] and rows["stormer"][-1] == "2/lam"


def test_schemes_and_train_accept_the_same_names(tmp_path):
    path = tmp_path / "all.csv"
    assert main(["schemes", "--format", "csv", "--out", str(path)]) == 0
    shown = [r["name"] for r in csv.DictReader(path.open())]
    # the whole table is every registered name but bdf7 (not zero-stable, left out of catalog())
    assert sorted(shown) == sorted(n for n in schemes.names() if n != "bdf7")
    train = next(a for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions if a.dest == "scheme")
    for n in schemes.names():
        assert train.type(n) == n
    with pytest.raises(Exception, match="stormer_verlett"):
        train.type("stormer_verlett")


# -- the public contract other layers use ------------------------------------------------
def test_as_scheme_is_the_one_conversion():
    from numnet.nets import builders
    from numnet.plots.stability import as_schemes
    from numnet.solvers import integrator

    rk4 = schemes.get("rk4")
    assert schemes.as_scheme("RK4") is rk4 and schemes.as_scheme(rk4) is rk4
    assert [s.name for s in as_schemes(["ab2", rk4])] == ["ab2", "rk4"]
    assert builders._as_scheme("heun") is schemes.get("heun") and integrator._scheme("ab3") is schemes.get("ab3")
    for convert in (lambda x: as_schemes([x]), builders._as_scheme, integrator._scheme):
        with pytest.raises(TypeError, match=r"numnet scheme \(.*\), got stormer_verlet \(a PartitionedScheme\)"):
            convert("stormer_verlet")
    with pytest.raises(TypeError, match="must be a registered name or a numnet scheme"):
        schemes.as_scheme(object())
    with pytest.raises(ValueError, match="kinds must be among"):
        schemes.as_scheme("rk4", kinds=("ERK",))


def test_require_concrete_and_is_zero_are_public():
    lm = schemes.get("lm_resnet")
    with pytest.raises(ValueError, match=r"integration of lm_resnet is undefined while symbols \{k\} are free"):
        lm.require_concrete("integration")
    lm.subs(k=0).require_concrete("integration")  # no free symbols: nothing raised
    assert lm._require_concrete == lm.require_concrete and lm._zero == lm.is_zero  # old names kept
    import sympy as sp

    assert schemes.is_zero(sp.sqrt(2) ** 2 - 2) is True and schemes.is_zero(sp.Symbol("k")) is None
    assert schemes.get("ab2").is_zero(sum(schemes.get("ab2").alpha)) is True
    assert schemes.get("ab2").is_zero(schemes.get("ab2").beta[0]) is False
