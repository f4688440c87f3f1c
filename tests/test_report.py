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
    sec = report.verify_part(tmp_path, report.PRESETS["quick"], None)
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
    sec = report.train_part(tmp_path, report.PRESETS["quick"], None, data_root=tmp_path / "nowhere")
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

    final_acc = {r["run"]["arch"]: r["final_test_acc"] for r in load_records(tmp_path / "study" / "quick")}
    assert sorted(final_acc) == sorted(report.PRESETS["quick"]["archs"])
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert float(cells[-2]) == pytest.approx(100 * (1 - final_acc[cells[0]]), abs=0.005)
    assert (tmp_path / "study" / "quick" / "learned_lm_resnet_d20.png").read_bytes()[:4] == b"\x89PNG"
    assert "](study/quick/learned_lm_resnet_d20.png)" in text
    # a second call reuses every finished run
    records = sorted((tmp_path / "study" / "quick" / "runs").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in records]
    assert main(["report", "--out", str(tmp_path), "--quick", "--parts", "train", "--data", "synthetic",
                 "--no-progress"]) == 0
    assert [p.stat().st_mtime_ns for p in records] == stamps


def test_each_mode_trains_its_own_runs_and_other_settings_are_refused(tmp_path):
    """`report --quick` then `report`: the second must not present the quick runs' rows under
    its own epoch count. Each mode has its folder; a folder's records are never reused
    under other settings (here: another epoch count in the same mode)."""
    from numnet.study.records import load_records
    from numnet.study.runner import StaleRecord

    tiny = {"archs": ("resnet",), "depths": (8,), "seeds": (0,), "epochs": 1, "train_size": 64, "batch_size": 32,
            "spectra": 0}
    run = lambda settings, mode: report.train_part(tmp_path, settings, None, data="synthetic",  # noqa: E731
                                                   device="cpu", mode=mode)
    assert run(tiny, "quick").status == "ok"
    sec = run({**tiny, "epochs": 2}, "default")
    assert sec.status == "ok" and "for 2 epoch(s)" in sec.body and "](study/default/" in sec.body
    assert [r["config"]["recipe"]["epochs"] for r in load_records(tmp_path / "study" / "quick")] == [1]
    assert [r["config"]["recipe"]["epochs"] for r in load_records(tmp_path / "study" / "default")] == [2]
    with pytest.raises(StaleRecord, match=r"recipe.epochs 1 \(now 2\)"):
        run({**tiny, "epochs": 2}, "quick")


@pytest.mark.slow
def test_report_reads_as_a_researcher_needs(tmp_path):
    """Every figure has a caption, the columns are defined, the CSV is numeric where it
    should be, and one seed is never labelled mean ± std (the report of issue #18)."""
    import csv

    for layer in ("numnet.nets", "numnet.train", "numnet.data", "numnet.solvers"):
        pytest.importorskip(layer)
    settings = dict(report.PRESETS["quick"], verify=("euler", "ab2"), archs=("resnet", "lm_resnet"), spectra=0)
    out = tmp_path / "r"
    out.mkdir()
    sections = [report.schemes_part(out, settings, None), report.verify_part(out, settings, None),
                report.train_part(out, settings, None, data="synthetic")]
    text = "\n".join(s.markdown() for s in sections)
    lines = text.splitlines()
    images = [i for i, line in enumerate(lines) if line.startswith("![")]
    assert len(images) >= 4  # regions, convergence, training curves, learned coefficients
    for i in images:  # the caption: the next non-empty line, in italics
        nxt = next(line for line in lines[i + 1:] if line.strip())
        assert nxt.startswith("*") and nxt.endswith("*") and len(nxt) > 40, (lines[i], nxt)
    assert "training_curves.png" in text and "convergence.png" in text
    assert "± std" not in text.split("Columns:")[0]  # one seed: no ± anywhere in the table
    assert "one seed" in text and "**RK ‖τ_{p+1}‖₂**" in text and "**LMM C_{p+1}/σ(1)**" in text
    assert not (out / "study" / "default" / "error_vs_parameters.png").exists()  # 269,722 vs 269,728: an axis of noise
    with open(out / "study" / "default" / "table.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    numeric = [k for k, kind in __import__("numnet.study.table", fromlist=["CSV_FIELDS"]).CSV_FIELDS.items()
               if kind == "number"]
    for r in rows:
        for k in numeric:
            if r[k] != "":
                float(r[k])  # raises on text in a numeric column
    lm = next(r for r in rows if r["arch"] == "lm_resnet")
    assert int(lm["order"]) == 0 and int(lm["order_rescaled"]) == 1 and float(lm["c"]) != 1.0
    res = next(r for r in rows if r["arch"] == "resnet")
    assert float(res["rk_error_norm"]) == 0.5 and res["lmm_error_constant"] == ""  # Euler (an RK method): ‖τ_2‖ = 1/2
