"""The papers' table: numnet's test errors by model and depth beside the published values."""

import csv

import numpy as np
import pytest
import torch

from numnet.study import load_records, plan, run_grid
from numnet.study.paper_table import paper_rows, markdown
from numnet.study.published import PUBLISHED

from test_study import Fakes, fake_accuracy

DATA = type("D", (), {"num_classes": 10, "in_channels": 1})()


class PaperFakes(Fakes):
    def build(self, net, depth, **kw):
        return super().build("resnet" if net == "resnet_postact" else net, depth, **kw)


def test_published_values_are_the_papers():
    """Yan (2019) Table 1 (the first two rows quoted from Lu et al. 2018), CIFAR-10."""
    assert {a: tuple(p.errors[d] for d in (20, 32, 44, 56)) for a, p in PUBLISHED.items()} == {
        "resnet_postact": (8.75, 7.51, 7.17, 6.97), "lm_resnet": (8.33, 7.18, 6.66, 6.31),
        "adams2_learnable": (8.15, 7.31, 6.75, 6.44), "adams2": (7.81, 7.49, 6.90, 6.71),
        "adams3_learnable": (8.27, 7.39, 7.02, 6.36), "adams3": (8.02, 7.54, 7.14, 6.97)}
    assert all(p.source for p in PUBLISHED.values())


def test_numnet_beside_published_never_mixed(tmp_path):
    fakes = PaperFakes()
    run_grid(plan(["resnet_postact", "adams2", "heun"], [20, 8], [0, 1, 2]), tmp_path, data=DATA,
             build=fakes.build, train=fakes.train, progress=False)
    rows = paper_rows(load_records(tmp_path))
    cell = {(r["arch"], r["depth"]): r for r in rows}
    errs = [100 * (1 - fake_accuracy({"arch": "adams2", "depth": 20, "seed": s})) for s in range(3)]
    r = cell["adams2", 20]
    assert r["numnet_mean"] == pytest.approx(np.mean(errs)) and r["numnet_std"] == pytest.approx(np.std(errs, ddof=1))
    assert (r["runs"], r["published"], r["source"]) == (3, 7.81, "Yan (2019), Table 1")
    assert (cell["adams2", 8]["published"], cell["adams2", 8]["runs"]) == (None, 3)   # numnet only
    assert (cell["lm_resnet", 56]["numnet_mean"], cell["lm_resnet", 56]["published"]) == (None, 6.31)  # paper only
    assert not any(r["arch"] == "heun" for r in rows)          # no published row: not in the papers' table
    assert sorted({r["depth"] for r in rows}) == [8, 20, 32, 44, 56]


def test_cli_writes_the_paper_table_from_a_tiny_synthetic_grid(tmp_path, capsys):
    from numnet.cli import main

    torch.set_num_threads(1)
    out = tmp_path / "study"
    assert main(["study", "--out", str(out), "--archs", "resnet_postact,lm_resnet", "--depths", "14", "--seeds", "0,1",
                 "--data", "synthetic", "--train-size", "32", "--epochs", "1", "--batch-size", "16",
                 "--device", "cpu", "--no-progress"]) == 0
    assert main(["study", "--out", str(out), "--paper-table"]) == 0
    recs = {(r["run"]["arch"], r["run"]["seed"]): 100 * (1 - r["final_test_acc"]) for r in load_records(out)}
    lines = list(csv.DictReader((out / "paper_table.csv").open()))
    got = {(l["arch"], int(l["depth"])): l for l in lines}
    lm = got["lm_resnet", 14]
    assert float(lm["numnet_mean"]) == pytest.approx((recs["lm_resnet", 0] + recs["lm_resnet", 1]) / 2)
    assert lm["published"] == "" and got["lm_resnet", 20]["published"] == "8.33" and got["lm_resnet", 20]["runs"] == "0"
    md = (out / "paper_table.md").read_text()
    assert "not comparable" in md and "| ResNet | " in md and "Lu et al. (2018), Table 1" in md
    assert main(["study", "--out", str(tmp_path / "none"), "--paper-table"]) == 2
    assert capsys.readouterr().err.startswith("numnet study: --paper-table: no finished runs")
