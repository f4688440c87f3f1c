"""The `numnet schemes` command."""

import csv

from numnet.cli import main


def test_schemes_table_for_named_schemes(capsys):
    assert main(["schemes", "ab2", "rk4", "bdf3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:5] == ["name", "kind", "steps/stages", "explicit", "order"]
    rows = {line.split()[0]: line.split() for line in out[2:]}
    assert rows["ab2"][4] == "2" and rows["ab2"][5] == "5/12" and "(-1," in rows["ab2"]
    assert rows["rk4"][4] == "4" and "(-2.78529," in rows["rk4"]
    assert rows["bdf3"][-1] == "86.03"


def test_schemes_csv_and_unknown(tmp_path, capsys):
    path = tmp_path / "t.csv"
    assert main(["schemes", "gauss2", "radau_iia2", "--format", "csv", "--out", str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    assert [r["L-stable"] for r in rows] == ["False", "True"]
    assert main(["schemes", "rk44"]) == 2
    assert "close matches: rk4" in capsys.readouterr().err


def test_families_show_their_conditions(capsys):
    """lm_resnet has a free k: no single order, so the conditions are shown (it crashed before)."""
    assert main(["schemes", "lm_resnet", "adams2_learnable", "rk2_family"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = lines[0].split()
    assert head == ["name", "kind", "steps/stages", "explicit", "free", "zero-stable", "order"]
    rows = {line.split()[0]: line for line in lines[2:]}
    # LM(k): rho(x) = x^2 + (k-1)x - k = (x-1)(x+k): zero-stable iff -1 < k <= 1; C_1 = k, so
    # consistent (order 1, Euler) only at k = 0 (the net solves (1+k)u' = f instead)
    assert rows["lm_resnet"].split(None, 4)[1:4] == ["LMM", "2", "True"]
    assert "k in (-1, 1]" in rows["lm_resnet"] and rows["lm_resnet"].endswith("1 if k = 0; else 0")
    # AB2 is the member b1 = 3/2 (beta = (-1/2, 3/2)); every b1 keeps order 1
    assert rows["adams2_learnable"].endswith("always        2 if b1 = 3/2; else 1")
    # explicit 2-stage RK: b1 + b2 = 1 (order 1), b2 a21 = 1/2 (order 2)
    assert rows["rk2_family"].endswith("2 if a21 = 1/(2*b2), b1 = 1 - b2; 1 if b1 = 1 - b2; else 0")


def test_catalog_lists_the_families_after_the_schemes(tmp_path):
    from numnet.schemes import catalog, partitioned

    path = tmp_path / "all.csv"
    assert main(["schemes", "--format", "csv", "--out", str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    families = [r["name"] for r in rows if r["free"]]
    assert families == [s.name for s in catalog(include_families=True) if s.free_symbols]
    assert len(rows) == len(catalog(include_families=True)) + len(partitioned.names())
    assert next(r for r in rows if r["name"] == "lm_resnet")["zero-stable"] == "k in (-1, 1]"
