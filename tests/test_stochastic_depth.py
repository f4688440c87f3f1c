"""Stochastic depth: the official LM-ResNet schedule and Huang et al.'s, their scaling, the
stochastic LM-ResNet from the builder, the CLI and the study, and training under DDP."""

import os

import pytest
import torch
import torch.nn as nn

from numnet import nets
from numnet.nets.stage import SchemeStage
from numnet.nets.stochastic import survival_probabilities
from numnet import schemes


def test_official_schedule_is_the_codes_death_rates():
    """MResNet.py: death_rates=[i/(n-1)*(1-PL) for i in range(n)] (MResNetSD110: n = 54, PL = 0.5)."""
    got = survival_probabilities(54, 0.5, "official")
    assert got == [1.0 - i / 53 * 0.5 for i in range(54)] and got[0] == 1.0 and got[-1] == 0.5
    assert survival_probabilities(4, 0.5, "huang") == [0.875, 0.75, 0.625, 0.5]
    net = nets.lm_resnet(110, stochastic_depth=True)          # the paper's p_L = 0.5 at 110, official schedule
    assert [p for s in net.stages for p in s.survival] == got and all(s.inverted for s in net.stages)
    net = nets.lm_resnet(56, stochastic_depth=True, drop_schedule="huang")
    assert [p for s in net.stages for p in s.survival] == survival_probabilities(27, 0.8, "huang")
    assert not any(s.inverted for s in net.stages)
    assert not nets.resnet(20, stochastic_depth=0.5).stages[0].inverted   # Huang et al.'s for ResNet
    with pytest.raises(ValueError, match="schedule must be one of"):
        nets.lm_resnet(20, stochastic_depth=0.5, drop_schedule="linear")
    with pytest.raises(ValueError, match="need L >= 2"):
        survival_probabilities(1, 0.5, "official")


class Ident(nn.Module):
    def forward(self, u):
        return u


@pytest.mark.parametrize("inverted", [True, False])
def test_scaling_in_training_and_evaluation(inverted):
    """Two Euler steps with f(u) = u, the second surviving with p = 0.25: inverted (official)
    scales a kept f by 1/p in training and leaves evaluation plain; Huang et al. keep f as it
    is in training and scale it by p in evaluation."""
    p = 0.25
    stage = SchemeStage(schemes.get("euler"), [Ident(), Ident()], survival=[1.0, p], inverted=inverted)
    u = torch.ones(1)
    kept = 2 * (1 + 1 / p) if inverted else 4.0
    seen = set()
    torch.manual_seed(0)
    for _ in range(40):
        seen.add(float(stage(u)))
    assert seen == {2.0, kept}                         # dropped: u1 = 2u, u2 = u1; kept: u1 + gate·u1
    stage.eval()
    assert float(stage(u)) == (4.0 if inverted else 2 * (1 + p))


def _ddp_worker(rank, store, out):
    import torch.distributed as dist

    from numnet import data
    from numnet.train import Recipe, train

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        net = nets.lm_resnet(8, stochastic_depth=0.1, widths=(4, 4, 4), num_classes=4)
        splits = data.load("synthetic", train_size=64, test_size=16, image_size=8)
        recipe = Recipe("tiny", epochs=1, batch_size=16, lr=0.1, milestones=(), pad=0)
        train(net, splits, recipe, device="cpu", progress=False)
        torch.save({k: v.detach().clone() for k, v in net.named_parameters()}, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_per_batch_stochastic_depth_trains_under_ddp(tmp_path):
    """Two gloo processes, 4 steps of a net whose blocks are dropped per batch (survival
    0.55 and 0.1): DDP without find_unused_parameters stops at the second step ("Expected
    to have finished reduction in the prior iteration"); numnet's train() finds the
    unused parameters and the two ranks end with the same parameters (batch-norm running
    statistics are each rank's own on CPU, so they are not compared)."""
    import torch.multiprocessing as mp

    mp.start_processes(_ddp_worker, args=(str(tmp_path / "store"), str(tmp_path / "w")), nprocs=2, join=True,
                       start_method="spawn")
    a, b = (torch.load(tmp_path / f"w.{r}") for r in (0, 1))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    torch.manual_seed(0)
    init = nets.lm_resnet(8, stochastic_depth=0.1, widths=(4, 4, 4), num_classes=4).state_dict()
    assert any(not torch.equal(init[k], a[k]) for k in a)   # it trained


def test_cli_trains_the_stochastic_lm_resnet_and_resumes_it(tmp_path, capsys):
    from numnet.cli import main
    from numnet.train import TrainResult

    out = tmp_path / "sd"
    tiny = ["--data", "synthetic", "--limit-train", "32", "--recipe", "quick", "--epochs", "2", "--batch-size", "16",
            "--device", "cpu", "--no-progress", "--out", str(out)]
    assert main(["train", "--net", "lm_resnet", "--depth", "8", "--stochastic-depth", "0.5", *tiny,
                 "--stop-after", "1"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(out), "--stochastic-depth", "0.8", "--device", "cpu"]) == 2
    assert "stochastic_depth 0.5 (now 0.8)" in capsys.readouterr().err
    assert main(["train", "--resume", "--out", str(out), "--device", "cpu", "--no-progress"]) == 0
    meta = TrainResult.load(out / "result.json").config["meta"]
    assert (meta["stochastic_depth"], meta.get("drop_schedule")) == (0.5, None)
    assert main(["train", "--net", "polynet", "--stochastic-depth", *tiny[:-1], str(tmp_path / "p")]) == 2
    assert "--stochastic-depth applies to the nets" in capsys.readouterr().err
    assert main(["train", "--net", "lm_resnet", "--depth", "20", "--stochastic-depth", *tiny[:-1],
                 str(tmp_path / "q")]) == 2        # the paper gives p_L at 56 and 110 only
    assert "gives p_L for depths [56, 110] only" in capsys.readouterr().err


def test_the_study_names_the_stochastic_lm_resnet():
    from numnet.study import parse_arch, plan

    assert parse_arch("lm_resnet_sd") == parse_arch("lm_resnet_sd").__class__("lm_resnet_sd", "lm_resnet_sd", "lm_resnet")
    run = plan(["lm_resnet_sd"], [56], [0])[0]
    net = nets.build(run.net, run.depth, **run.build_options())
    assert [p for s in net.stages for p in s.survival] == survival_probabilities(27, 0.8, "official")
    with pytest.raises(ValueError, match="'lm_resnet_sd' is 'lm_resnet' with"):
        nets.build("lm_resnet_sd", 56, stochastic_depth=0.5)
