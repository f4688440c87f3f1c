"""``numnet report``: the parts that can run are written; the ones that cannot say so."""

import re

import pytest

from numnet.cli import main
from numnet.schemes import catalog, get
from numnet.study import report


@pytest.fixture(scope="module")
def schemes_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code = main(["report", "--out", str(out), "--quick", "--parts", "schemes", "--no-progress"])
    return out, code


def test_schemes_part_has_the_catalog_table_and_regions(schemes_report):
    out, code = schemes_report
    assert code == 0
    text = (out / "report.md").read_text()
    assert "| Schemes: properties derived from the coefficients | ok |" in text
    ab2 = next(line for line in text.splitlines() if line.startswith("| ab2 |"))
    cells = [c.strip() for c in ab2.strip("|").split("|")]
    assert cells[4:8] == [str(get("ab2").order), str(get("ab2").error_constant), "True", "(-1, 0]"]
    png = (out / "stability_regions.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![stability regions](stability_regions.png)" in text
    assert (out / "schemes.md").read_text().count("\n| ") == len(catalog())  # one row per scheme after the header


def test_missing_layers_are_reported_not_faked(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "missing_layers", lambda *names: list(names))
    # asked for by name: exit status 1
    assert main(["report", "--out", str(tmp_path / "a"), "--parts", "train,verify", "--no-progress"]) == 1
    text = (tmp_path / "a" / "report.md").read_text()
    assert "Scheme nets trained on fashion_mnist — not run" in text and "Verification against scipy — not run" in text
    assert "numnet.nets" in text and "numnet.solvers" in text
    assert not re.search(r"test error \(%\).*\|\s*\d", text)  # no numbers pretending to be results
    # not asked for explicitly (the default: every part): the report is written, status 0
    monkeypatch.setattr(report, "schemes_part", lambda out, s, p: report.Section("schemes", "S", "ok", "x"))
    sections, code = report.build_report(tmp_path / "b", mode="quick", progress=False)
    assert code == 0 and [s.status for s in sections] == ["ok", "missing", "missing"]


def test_bad_arguments(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "r"), "--parts", "schemes,plots"]) == 2
    assert capsys.readouterr().err == ("numnet report: argument --parts: parts must be among schemes, verify, train, "
                                       "got 'schemes,plots' (see numnet report --help)\n")
    assert main(["report", "--quick", "--full"]) == 2
    assert "argument --full: not allowed with argument --quick" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_verify_part_compares_observed_and_symbolic_orders(tmp_path):
    pytest.importorskip("numnet.solvers")
    sec = report.verify_part(tmp_path, report.PRESETS["quick"], False)
    assert sec.status == "ok"
    lines = (tmp_path / "verify.md").read_text().splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(head, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    assert [r["scheme"] for r in rows] == list(report.PRESETS["quick"]["verify"])
    for r in rows:
        assert int(r["order"]) == get(r["scheme"]).order and r["verdict"] == "ok"
        observed = [float(v) for k, v in r.items() if k.startswith("observed")]
        assert len(observed) >= 2 and all(abs(o - int(r["order"])) <= 0.15 for o in observed)


def test_data_not_found_is_a_clear_section(tmp_path):
    pytest.importorskip("numnet.data")
    pytest.importorskip("numnet.nets")
    pytest.importorskip("numnet.train")
    sec = report.train_part(tmp_path, report.PRESETS["quick"], False, data_root=tmp_path / "nowhere")
    assert sec.status == "missing" and "not found" in sec.body and "nowhere" in sec.body


@pytest.mark.slow
def test_quick_train_part_on_synthetic_data(tmp_path):
    """The report's training part end to end on the small synthetic task (Fashion-MNIST is
    what `numnet report` uses by default; it takes minutes, not seconds)."""
    for layer in ("numnet.nets", "numnet.train", "numnet.data"):
        pytest.importorskip(layer)
    assert main(["report", "--out", str(tmp_path), "--quick", "--parts", "train", "--data", "synthetic",
                 "--no-progress"]) == 0
    text = (tmp_path / "report.md").read_text()
    rows = [line for line in text.splitlines() if re.match(r"\| (resnet|lm_resnet|adams2_learnable|heun) \|", line)]
    assert len(rows) == len(report.PRESETS["quick"]["archs"])
    # each row's test error is the one of its run's record (one seed: no spread)
    from numnet.study import load_records

    final_acc = {r["run"]["arch"]: r["final_test_acc"] for r in load_records(tmp_path / "study")}
    assert sorted(final_acc) == sorted(report.PRESETS["quick"]["archs"])
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert float(cells[-2]) == pytest.approx(100 * (1 - final_acc[cells[0]]), abs=0.005)
    assert (tmp_path / "study" / "learned_lm_resnet_d20.png").read_bytes()[:4] == b"\x89PNG"
    # a second call reuses every finished run
    records = sorted((tmp_path / "study" / "runs").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in records]
    assert main(["report", "--out", str(tmp_path), "--quick", "--parts", "train", "--data", "synthetic",
                 "--no-progress"]) == 0
    assert [p.stat().st_mtime_ns for p in records] == stamps
