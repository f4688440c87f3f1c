"""benchmarks/gpu_study.py: the fmnist-full grid's driver, run at ``--tiny`` size on CPU
(synthetic images of Fashion-MNIST's shape, 1 seed x 2 archs x 4 batches)."""

import importlib.util
import json
from pathlib import Path

import pytest

from numnet.train.fastpath import fast_paths

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gpu_study():
    spec = importlib.util.spec_from_file_location("gpu_study", ROOT / "benchmarks" / "gpu_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def keep_threads():
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)   # the script's --threads sets the process's


def test_tiny_grid_on_cpu_writes_records_table_and_doc_and_resumes(gpu_study, tmp_path, capsys, keep_threads):
    doc = tmp_path / "page.md"
    doc.write_text(f"# page\n\n{gpu_study.DOC_BEGIN}\nResults: pending.\n{gpu_study.DOC_END}\n\nafter\n")
    out = tmp_path / "study"
    argv = ["--tiny", "--device", "cpu", "--threads", "1", "--out", str(out), "--no-progress", "--doc", str(doc)]
    assert gpu_study.main(argv) == 0
    printed = capsys.readouterr().out
    assert "projected: 2 runs x 1 epochs x 4 steps" in printed
    records = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert sorted(records) == ["lm_resnet@decay=none-d14-s0", "resnet_postact-d14-s0"]
    none = records["lm_resnet@decay=none-d14-s0"]
    assert none["config"]["recipe"]["coefficient_decay"] == "none"
    assert records["resnet_postact-d14-s0"]["config"]["recipe"]["coefficient_decay"] == "official"
    assert none["config"]["data"] == {"name": "synthetic", "train": 64, "val": 16, "test": 32, "shape": [1, 16, 16],
                                      "num_classes": 10}
    assert [h["images"] for h in none["history"]] == [64]
    assert {k: none["options"][k] for k in ("device", "bf16", "channels_last", "compile", "resident")} == {
        "device": "cpu", "bf16": fast_paths("cpu").bf16, "channels_last": True, "compile": False, "resident": True}
    train_config = json.loads((out / "train" / "resnet_postact-d14-s0" / "config.json").read_text())
    assert train_config["options"]["channels_last"] is True and train_config["options"]["resident"] is True
    page = doc.read_text()
    assert "Results: 2 of 2 runs finished." in page and page.endswith("after\n") and "pending" not in page
    assert "| lm_resnet@decay=none | lm_resnet | 14 |" in page and "| resnet_postact-d14-s0 | 1 |" in page
    assert "| cpu, " + "bf16, " * fast_paths("cpu").bf16 + "channels-last |" in page
    assert (out / "table.md").is_file()

    # afterwards: the spectra from the runs' checkpoints, read against each block's region, and the figures
    assert gpu_study.main(["--tiny", "--table-only", "--spectra", "2", "--out", str(out), "--no-progress",
                           "--doc", str(doc)]) == 0
    assert "spectra added to 2 records" in capsys.readouterr().out
    page = doc.read_text()
    assert "| lm_resnet@decay=none | 14 | 1 |" in page and "z inside its block's region" in page
    assert "![learned_lm_resnet@decay=none_d14](study/learned_lm_resnet@decay=none_d14.png)" in page
    assert (out / "learned_lm_resnet@decay=none_d14.png").is_file()
    records = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert all(r["spectra"] for r in records.values())

    before = {k: r["seconds"] for k, r in records.items()}
    assert gpu_study.main([*argv, "--shard", "0/1"]) == 0   # finished runs are read back, not retrained
    again = {p.stem: json.loads(p.read_text())["seconds"] for p in (out / "runs").glob("*.json")}
    assert again == before


def test_table_only_counts_pending_runs(gpu_study, tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text(f"{gpu_study.DOC_BEGIN}\n{gpu_study.DOC_END}\n")
    assert gpu_study.main(["--table-only", "--out", str(tmp_path / "empty"), "--doc", str(doc)]) == 0
    assert "Results: pending — 0 of 15 runs finished." in doc.read_text()


def test_a_model_that_fails_to_compile_trains_eagerly(gpu_study, capsys):
    import torch

    def broken():
        raise RuntimeError("cannot build this graph")

    assert gpu_study.choose_compile("on", torch.device("cpu"), broken, None, False, False) is False
    printed = capsys.readouterr().out
    assert "torch.compile failed (RuntimeError: cannot build this graph); training without it" in printed
    assert gpu_study.choose_compile("auto", torch.device("cpu"), broken, None, False, False) is False  # off on CPU
    # kept only where the saving over the steps outweighs compiling each graph
    assert gpu_study.compile_pays(0.005, 0.002, 5.0, steps=25_800, graphs=10)       # 77 s saved > 50 s
    assert not gpu_study.compile_pays(0.005, 0.004, 5.0, steps=25_800, graphs=10)   # 26 s saved < 50 s


def test_projection_counts_every_step_and_evaluation(gpu_study):
    from types import SimpleNamespace

    from numnet.study.presets import get_preset

    p = get_preset("fmnist-full")
    splits = SimpleNamespace(train=range(55000), val=range(5000), test=range(10000))
    proj = gpu_study.projection(p, splits, p.recipe(), 0.01, procs=1)
    e = p.epochs
    assert proj["steps_per_epoch"] == 430 and proj["runs"] == 15 and proj["epochs"] == e   # 55,000 / 128, last short
    assert proj["train_s"] == pytest.approx(15 * e * 430 * 0.01)
    assert proj["eval_s"] == pytest.approx(15 * e * 15000 * 0.01 / 128 / 3)
