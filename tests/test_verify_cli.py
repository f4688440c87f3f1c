"""numnet verify and the convergence plot."""

import csv
import json

import pytest

from numnet.cli import main
from numnet.plots import plot_convergence
from numnet.solvers import convergence


def test_verify_writes_tables_plots_and_resumes(tmp_path, capsys, monkeypatch):
    out = tmp_path / "v"
    assert main(["verify", "rk4", "ab2", "--out", str(out), "--plot"]) == 0
    printed = capsys.readouterr().out
    assert "| rk4 | RK | 4 |" in printed and "| ab2 | LMM | 2 |" in printed
    rows = list(csv.DictReader((out / "verify.csv").open()))
    assert [r["scheme"] for r in rows] == ["rk4", "ab2"]
    assert abs(float(rows[0]["observed (pendulum)"]) - 4) < 0.15 and rows[1]["error constant"] == "5/12"
    assert rows[1]["stability interval"] == "(-1, 0]" and {r["verdict"] for r in rows} == {"ok"}
    assert (out / "verify.md").read_text().startswith("| scheme | kind | order |")
    assert (out / "plots" / "rk4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (out / "plots" / "ab2.svg").read_text()[:2000]
    # a resumed run reuses finished schemes and only computes the new one
    import numnet.solvers as solvers

    calls = []
    real = solvers.verify
    monkeypatch.setattr(solvers, "verify", lambda s, *a, **k: calls.append(s.name) or real(s, *a, **k))
    assert main(["verify", "rk4", "ab2", "heun", "--out", str(out), "--resume", "--quick"]) == 0
    assert calls == ["heun"]
    assert len((out / "verify.jsonl").read_text().splitlines()) == 3
    assert json.loads((out / "verify.jsonl").read_text().splitlines()[0])["row"]["scheme"] == "rk4"


def test_verify_refuses_unknown_names(tmp_path, capsys):
    assert main(["verify", "rk44", "--out", str(tmp_path)]) == 2
    assert "unknown scheme 'rk44'" in capsys.readouterr().err


def test_plot_convergence_from_results_and_files(tmp_path):
    c = convergence("heun", "harmonic_oscillator", hs=[0.1, 0.05, 0.025])
    fig = plot_convergence([c], orders=[2], title="heun", path=[tmp_path / "heun.png", tmp_path / "heun.svg"])
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_title() == "heun"
    assert (tmp_path / "heun.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "heun.svg").read_text()[:2000]
    assert type(fig.canvas).__name__ == "FigureCanvasAgg"  # own canvas: no pyplot, no backend switch
    with pytest.raises(ValueError, match="must end in one of .png, .svg, .pdf, got '.*heun.jpg'"):
        plot_convergence([c], path=tmp_path / "heun.jpg")
    with pytest.raises(TypeError, match="objects with hs and errors"):
        plot_convergence([1, 2])
