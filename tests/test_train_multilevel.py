"""Multilevel recipes in numnet.train and the CLI: coarse-to-fine and grow-depth runs."""

import pytest
import torch
from torch import nn

from numnet import data, nets
from numnet.cli import main
from numnet.nets.multiscale import depth_profile
from numnet.train import Recipe, TrainResult, train

TINY = ["--data", "synthetic", "--limit-train", "64", "--recipe", "quick", "--device", "cpu", "--no-progress"]

RECIPE = Recipe("ml", epochs=4, batch_size=32, lr=0.2, milestones=(3,), pad=1, flip=False)


@pytest.fixture(scope="module")
def splits():
    return data.load("synthetic", train_size=96, test_size=32, image_size=8)


def conv_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 4))


def staged_net(seed=0):
    torch.manual_seed(seed)
    return nets.resnet(14, widths=(4, 4, 4), num_classes=4)


def test_recipe_splits_epochs_over_levels():
    r = RECIPE.replace(coarse_to_fine=2, epochs=8, milestones=(6,))
    assert r.levels == 3 and r.level_epochs == (2, 3, 3)
    assert [x.epochs for x in r.level_recipes()] == [2, 3, 3]
    assert all(x.levels == 1 for x in r.level_recipes())
    assert r.with_epochs(5).level_epochs == (1, 2, 2)
    assert r.replace(level_epochs=(4, 2, 2)).to_dict()["level_epochs"] == [4, 2, 2]
    assert RECIPE.levels == 1 and RECIPE.level_epochs == () and RECIPE.level_recipes() == [RECIPE]


@pytest.mark.parametrize("changes, message", [
    (dict(coarse_to_fine=1, grow_depth=1), "cannot be combined"),
    (dict(coarse_to_fine=-1), r"coarse_to_fine must be an int >= 0 \(levels; 0 = off\), got -1"),
    (dict(grow_depth=2, level_epochs=(1, 1, 1)), r"summing to epochs=4, got \(1, 1, 1\)"),
    (dict(grow_depth=1, level_epochs=(4,)), r"must be 2 positive ints"),
    (dict(coarse_to_fine=4), "5 levels need at least 5 epochs, got epochs=4"),
])
def test_recipe_refuses_bad_levels(changes, message):
    with pytest.raises(ValueError, match=message):
        RECIPE.replace(**changes)


def test_coarse_to_fine_run_is_durable_and_resumes_to_the_same_weights(splits, tmp_path):
    recipe = RECIPE.replace(coarse_to_fine=1, level_epochs=(2, 2))
    net = conv_net()
    whole = train(net, splits, recipe, out=tmp_path / "whole", progress=False)
    assert whole.finished and [h["level"] for h in whole.history] == [0, 0, 1, 1]
    assert [h["epoch"] for h in whole.history] == [1, 2, 3, 4]
    assert [h["level_epoch"] for h in whole.history] == [1, 2, 1, 2]
    assert [c["recipe"]["epochs"] for c in whole.config["levels"]] == [2, 2]
    assert whole.config["recipe"]["coarse_to_fine"] == 1
    assert TrainResult.load(tmp_path / "whole" / "result.json").history == whole.history
    assert (tmp_path / "whole" / "level0" / "result.json").is_file()

    part = conv_net()
    stopped = train(part, splits, recipe, out=tmp_path / "part", stop_after=3, progress=False)
    assert not stopped.finished and stopped.epochs_done == 3
    resumed = conv_net(seed=5)              # any init: the chain is replayed from the files
    done = train(resumed, splits, recipe, out=tmp_path / "part", resume=True, progress=False)
    assert done.finished
    for a, b in zip(net.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    strip = lambda hs: [{k: v for k, v in h.items() if "time" not in k and k != "images_per_s"} for h in hs]  # noqa: E731
    assert strip(done.history) == strip(whole.history)


def test_grow_depth_run_doubles_the_stages(splits):
    net = staged_net()
    result = train(net, splits, RECIPE.replace(grow_depth=2), progress=False)
    assert result.finished and depth_profile(net) == [5, 5, 5] and net.depth == 32
    assert [h["level"] for h in result.history] == [0, 1, 2, 2]


def test_bad_transfer_fails_before_training(splits, tmp_path):
    with pytest.raises(ValueError, match="unknown transfer 'cubic'"):
        train(conv_net(), splits, RECIPE.replace(coarse_to_fine=1, transfer="cubic"), out=tmp_path)
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="depth_mode must be one of"):
        train(staged_net(), splits, RECIPE.replace(grow_depth=1, depth_mode="spline"))


def test_cli_coarse_to_fine_and_grow_depth(tmp_path):
    out = tmp_path / "c2f"
    argv = ["train", "--net", "lm_resnet", "--depth", "14", *TINY]
    assert main([*argv, "--out", str(out), "--coarse-to-fine", "1", "--level-epochs", "1", "2"]) == 0
    result = TrainResult.load(out / "result.json")
    assert result.finished and [h["level"] for h in result.history] == [0, 1, 1]
    assert result.config["recipe"]["coarse_to_fine"] == 1 and result.config["recipe"]["epochs"] == 3
    # --resume with only --out rebuilds the chain from out/config.json (not the default cifar10 run)
    assert main(["train", "--resume", "--out", str(out), "--device", "cpu", "--no-progress"]) == 0
    assert main(["train", "--resume", "--out", str(out), "--transfer", "reuse", "--no-progress"]) == 2
    out = tmp_path / "grow"
    assert main([*argv, "--out", str(out), "--grow-depth", "1", "--epochs", "2", "--depth-mode", "constant"]) == 0
    result = TrainResult.load(out / "result.json")
    assert [len(h["coefficients"]) for h in result.history] == [3, 6]      # one k per LM step: 1, then 2 per stage
    assert result.config["levels"][1]["model"]["parameters"] > result.config["levels"][0]["model"]["parameters"]
