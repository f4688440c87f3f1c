"""He et al.'s ImageNet ResNets (torchvision's layout) and their LM-ResNet versions."""

import pytest
import torch

from param_counts import uninitialised
import torch.nn as nn

from numnet import nets

TORCHVISION = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}
"""torchvision.models.resnet{18,34,50,101,152}(): parameters with 1000 classes (its model
cards; ResNet-50 25,557,032 and ResNet-101 44,549,160 as the issue quotes them)."""


def count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_parameter_counts_are_torchvisions_and_lm_adds_one_k_per_step(depth):
    with uninitialised():
        plain = nets.build("resnet", depth, imagenet=True, num_classes=1000)
        lm = nets.build("lm_resnet", depth, imagenet=True, num_classes=1000)
    assert count(plain) == TORCHVISION[depth]
    steps = sum(n - 1 for n in nets.builders.IMAGENET_LAYOUTS[depth][1])   # all but each stage's entry block
    assert len(lm.learned_coefficients()) == steps and count(lm) == TORCHVISION[depth] + steps
    assert [len(s.blocks) for s in lm.stages] == list(nets.builders.IMAGENET_LAYOUTS[depth][1])


def test_resnet50_layout():
    net = nets.build("resnet", 50, imagenet=True)
    assert (net.stem.kernel_size, net.stem.stride, isinstance(net.stem_pool, nn.MaxPool2d)) == ((7, 7), (2, 2), True)
    assert [len(s.blocks) for s in net.stages] == [3, 4, 6, 3] and net.bn is None   # post-activation: no final bn
    b = net.stages[1].blocks[0]
    assert (b.conv2.stride, b.conv1.stride, b.conv3.out_channels) == ((2, 2), (1, 1), 512)   # v1.5: stride on 3x3
    assert all(s.post_activation for s in net.stages)
    pre = nets.build("resnet", 50, imagenet=True, preact=True)
    assert not any(s.post_activation for s in pre.stages) and pre.bn is not None


@pytest.mark.parametrize("net, depth", [("resnet", 50), ("lm_resnet", 101)])
def test_forward_on_a_tiny_input(net, depth):
    torch.manual_seed(0)
    m = nets.build(net, depth, imagenet=True, num_classes=7).eval()
    with torch.no_grad():
        y = m(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 7) and torch.isfinite(y).all()
    feats = m.features(torch.randn(1, 3, 64, 64))
    assert feats.shape == (1, 2048, 2, 2)                       # stride 32


def test_bad_imagenet_requests_are_clear():
    with pytest.raises(ValueError, match="ImageNet ResNets of depth 18, 34, 50, 101, 152, got 56"):
        nets.build("lm_resnet", 56, imagenet=True)
    with pytest.raises(ValueError, match="ResNet-50 has bottleneck blocks, got block='basic'"):
        nets.build("resnet", 50, imagenet=True, block="basic")


def test_numnet_train_imagenet_layout_on_a_tiny_image_folder(tmp_path, capsys):
    pytest.importorskip("PIL")
    import numpy as np
    from PIL import Image

    from numnet.cli import main
    from numnet.train import TrainResult

    root, rng = tmp_path / "folder", np.random.default_rng(0)
    for split, count in (("train", 3), ("val", 1)):
        for name in ("n01_cat", "n02_dog"):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(root / split / name / f"{i}.png")
    out = tmp_path / "run"
    argv = ["train", "--data", "imagenet", "--data-dir", str(root), "--net", "lm_resnet", "--depth", "18",
            "--imagenet-layout", "--epochs", "1", "--batch-size", "3", "--workers", "0", "--device", "cpu",
            "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    result = TrainResult.load(out / "result.json")
    assert result.finished and result.config["meta"]["imagenet_layout"] is True
    assert len(result.history[-1]["coefficients"]) == 4
    capsys.readouterr()
    assert main(["train", "--net", "polynet", "--imagenet-layout", "--data", "synthetic", "--device", "cpu",
                 "--out", str(tmp_path / "p")]) == 2
    assert "--imagenet-layout applies to the nets" in capsys.readouterr().err
