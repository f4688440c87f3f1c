"""Files numnet writes: strict JSON (no NaN/Infinity either way), atomic writes, and the
mode a plain open() would give."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from numnet.fileio import (NonFiniteError, append_jsonl, atomic_write, read_json, read_jsonl, restore_non_finite,
                           write_json)
from numnet.plots.figure import save

ROOT = Path(__file__).resolve().parents[1]
NAN, INF = float("nan"), float("inf")


def test_write_json_refuses_non_finite_and_keeps_the_old_file(tmp_path):
    p = tmp_path / "result.json"
    write_json(p, {"acc": 0.5})
    for bad, place in (({"acc": NAN}, "acc"), ({"h": {"loss": [1.0, -INF]}}, "h/loss/1"), ([1.0, INF], "1")):
        with pytest.raises(NonFiniteError, match=rf"^{re.escape(str(p))}: {place} is (nan|inf|-inf); JSON holds only"):
            write_json(p, bad)
    assert read_json(p) == {"acc": 0.5} and sorted(x.name for x in tmp_path.iterdir()) == ["result.json"]


def test_marked_non_finite_values_are_null_and_come_back(tmp_path):
    p = tmp_path / "result.json"
    rec = {"history": [{"train_loss": 2.3}, {"train_loss": NAN}], "best": -INF, "a/b": INF}
    write_json(p, rec, non_finite="mark")
    text = p.read_text()
    assert "NaN" not in text and "Infinity" not in text
    stored = json.loads(text)
    assert stored["history"][1]["train_loss"] is None and stored["best"] is None
    assert stored["non_finite"] == {"history/1/train_loss": "nan", "best": "-inf", "a~1b": "inf"}
    back = restore_non_finite(read_json(p))
    assert back["history"][1]["train_loss"] != back["history"][1]["train_loss"] and back["best"] == -INF
    assert back["a/b"] == INF and "non_finite" not in back
    with pytest.raises(ValueError, match="the key 'non_finite' is reserved"):
        write_json(p, {"x": NAN, "non_finite": 1}, non_finite="mark")


def test_metrics_lines_mark_a_diverged_loss(tmp_path):
    p = tmp_path / "metrics.jsonl"
    append_jsonl(p, {"epoch": 1, "train_loss": 0.7})
    append_jsonl(p, {"epoch": 2, "train_loss": NAN})
    assert "NaN" not in p.read_text()
    assert read_jsonl(p)[1] == {"epoch": 2, "train_loss": None, "non_finite": {"train_loss": "nan"}}


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_reading_rejects_non_finite_tokens(tmp_path, token):
    p = tmp_path / "r.json"
    p.write_text('{"acc": %s}' % token)
    with pytest.raises(NonFiniteError, match=rf"^{re.escape(str(p))}: {token} is not valid JSON"):
        read_json(p)
    q = tmp_path / "m.jsonl"
    q.write_text('{"epoch": 1}\n{"loss": %s}\n' % token)
    with pytest.raises(NonFiniteError, match=rf"^{re.escape(str(q))}, line 2: {token} is not valid JSON"):
        read_jsonl(q)


def test_study_records_and_results_are_strict(tmp_path):
    from numnet.study.records import load_records
    from numnet.train.result import TrainResult

    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "x.json").write_text('{"run": {"key": "x"}, "final_test_acc": NaN}')
    with pytest.raises(NonFiniteError, match="x.json: NaN is not valid JSON"):
        load_records(tmp_path)
    r = TrainResult(config={}, history=[{"epoch": 1, "train_loss": NAN, "val_acc": None,
                                                      "test_acc": 0.1, "train_time": 1.0, "images": 10}], finished=False, wall_time=1.0)
    r.save(tmp_path / "result.json")
    assert "NaN" not in (tmp_path / "result.json").read_text()
    back = TrainResult.load(tmp_path / "result.json")
    assert back.history[0]["train_loss"] != back.history[0]["train_loss"] and back.final_test_acc == 0.1


WRITERS = """
import os, sys
os.umask(int(sys.argv[1], 8))
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from numnet.fileio import append_jsonl, write_json, write_text
d = Path(sys.argv[2])
write_json(d / "a.json", {"x": 1})
write_text(d / "b.md", "x")
append_jsonl(d / "c.jsonl", {"x": 1})
"""


@pytest.mark.parametrize("mask, mode", [("022", 0o644), ("077", 0o600), ("002", 0o664)])
def test_written_files_follow_the_umask(tmp_path, mask, mode):
    subprocess.run([sys.executable, "-c", WRITERS, mask, str(tmp_path), str(ROOT)], check=True)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"a.json": mode, "b.md": mode, "c.jsonl": mode}


class _CrashingFigure:
    """A figure whose savefig writes half a file, then fails (a full disk, Ctrl-C)."""

    def savefig(self, target, **kwargs):
        Path(target).write_bytes(b"half")
        raise OSError("disk full")


def test_a_failed_figure_leaves_the_old_one(tmp_path):
    p = tmp_path / "fig.png"
    p.write_bytes(b"old figure")
    with pytest.raises(OSError, match="disk full"):
        save(_CrashingFigure(), p)
    assert p.read_bytes() == b"old figure" and [x.name for x in tmp_path.iterdir()] == ["fig.png"]


def test_verify_rerun_keeps_the_old_log_until_the_new_one_is_complete(tmp_path, monkeypatch):
    import numnet.solvers as solvers
    from numnet.cli import main

    out = tmp_path / "v"
    assert main(["verify", "heun", "--out", str(out), "--quick"]) == 0
    old = {name: (out / name).read_text() for name in ("verify.jsonl", "verify.csv", "verify.md")}

    def crash(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(solvers, "verify", crash)
    with pytest.raises(KeyboardInterrupt):
        main(["verify", "heun", "--out", str(out), "--quick"])
    assert {name: (out / name).read_text() for name in old} == old


def test_no_file_is_written_around_the_atomic_writer():
    """Every write in the package goes through numnet.fileio (the one place that opens files
    for writing); every JSON text through its strict dumps."""
    pattern = re.compile(r"open\([^)]*['\"][wax]b?['\"]|\.write_text\(|\.write_bytes\(|\.savefig\(|torch\.save\(|"
                         r"np\.save|json\.dumps?\(|json\.loads?\(")
    found = []
    for path in sorted((ROOT / "numnet").rglob("*.py")):
        if path.name == "fileio.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            in_memory = ".savefig(buf," in code  # a PNG for Jupyter into an io.BytesIO: no file
            if pattern.search(code) and not code.lstrip().startswith(">>>") and "tmp" not in code and not in_memory:
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []


def test_atomic_write_temp_file_is_removed_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "x") as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert list(tmp_path.iterdir()) == []
