"""A checkpoint that cannot be continued is an error naming the file and what is wrong,
never a KeyError or torch's multi-line state-dict message (issue #14, "a checkpoint
missing keys")."""

import pytest
import torch

from numnet.cli import main
from numnet.data import load
from numnet.train import Recipe, train
from numnet.train import checkpoint as ckpt
from numnet.train.checkpoint import CheckpointError

RECIPE = Recipe("tiny", epochs=2, batch_size=32, milestones=())


def _net(width=4):
    return torch.nn.Sequential(torch.nn.Conv2d(3, width, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(width, 4))


@pytest.fixture
def run(tmp_path):
    torch.manual_seed(0)
    data = load("synthetic", train_size=64, test_size=32)
    out = tmp_path / "run"
    train(_net(), data, RECIPE, out=out, stop_after=1, progress=False)
    return data, out


def test_a_checkpoint_missing_keys_names_them(run):
    data, out = run
    state = ckpt.load(out / "checkpoint.pt")
    del state["optimizer"], state["rng"]
    ckpt.save(out / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match=r"checkpoint\.pt misses optimizer, rng; a run checkpoint holds config"):
        train(_net(), data, RECIPE, out=out, resume=True, progress=False)


def test_weights_that_do_not_fit_name_the_parameters(run):
    data, out = run
    state = ckpt.load(out / "checkpoint.pt")
    state["model"]["0.weight"] = torch.zeros(5, 3, 3, 3)
    del state["model"]["4.bias"]
    ckpt.save(out / "checkpoint.pt", state)
    with pytest.raises(CheckpointError) as e:
        train(_net(), data, RECIPE, out=out, resume=True, progress=False)
    msg = str(e.value)
    assert "does not fit the Sequential" in msg and "missing 4.bias" in msg
    assert "0.weight (5, 3, 3, 3) (model (4, 3, 3, 3))" in msg and "\n" not in msg


def test_a_file_that_is_not_a_checkpoint_is_named(run):
    data, out = run
    (out / "checkpoint.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match=r"checkpoint\.pt is not a readable numnet checkpoint"):
        train(_net(), data, RECIPE, out=out, resume=True, progress=False)


def test_the_cli_prints_one_line(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["train", "--net", "resnet", "--depth", "8", "--data", "synthetic", "--limit-train", "64", "--epochs", "2",
            "--out", str(out), "--device", "cpu", "--no-progress", "--fp32"]
    assert main([*argv, "--stop-after", "1"]) == 0
    state = ckpt.load(out / "checkpoint.pt")
    del state["history"]
    ckpt.save(out / "checkpoint.pt", state)
    capsys.readouterr()
    assert main(["train", "--resume", "--out", str(out), "--device", "cpu", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "misses history" in err and "Traceback" not in err
