"""ResNeXt-29 (Xie et al. 2017) and Lu et al.'s LM-ResNeXt: parameters, the aliases, the recipe."""

import math

import pytest
import torch

from param_counts import uninitialised

from numnet import nets
from numnet.nets.names import NET_ALIASES
from numnet.study import parse_arch, plan
from numnet.train import get_recipe

PUBLISHED_M = {8: 34.4, 16: 68.1}
"""Xie et al. (2017), Table 7: parameters (millions) of ResNeXt-29 8×64d and 16×64d."""

BUILT = {(8, True): 34_423_114, (16, True): 68_151_626, (8, False): 34_426_698, (16, False): 68_155_210}
"""What numnet builds (CIFAR-10 head): pre-activation blocks (the arXiv paper's CIFAR
results, per the authors' README) and their code's original post-activation blocks."""


def count(m):
    return sum(p.numel() for p in m.parameters())


def meta(net, depth, **options):
    """Built without initialising the weights (the counts need only the shapes)."""
    with uninitialised():
        return nets.build(net, depth, **options)


@pytest.mark.parametrize("cardinality", [8, 16])
@pytest.mark.parametrize("preact", [True, False])
def test_parameter_counts_against_xie_et_al_table_7(cardinality, preact):
    net = meta("resnet", 29, block="resnext", cardinality=cardinality, preact=preact)
    n = count(net)
    assert n == BUILT[cardinality, preact]
    # the published millions agree with the built count truncated to 0.1 M (68.15 M -> 68.1; rounded: 68.2)
    assert math.floor(n / 1e5) / 10 == PUBLISHED_M[cardinality]
    lm = meta("lm_resnet", 29, block="resnext", cardinality=cardinality, preact=preact)
    assert count(lm) == n + 6 and len(lm.learned_coefficients()) == 6     # 3 stages x (3 blocks - entry)


def test_block_is_xies_form_c():
    blk = meta("resnet", 29, block="resnext", cardinality=16, preact=False).stages[1].blocks[0]
    assert (blk.conv2.groups, blk.conv2.in_channels, blk.conv2.stride, blk.conv3.out_channels) == (16, 2048, (2, 2), 512)
    assert blk.proj is not None           # option B at every change of shape, as resnext.lua's shortcutType 'B'


def test_aliases_reach_the_cli_and_the_study():
    assert NET_ALIASES["lm_resnext_16x64d"] == ("lm_resnet", {"block": "resnext", "cardinality": 16, "group_width": 64})
    arch = parse_arch("lm_resnext_8x64d")
    assert (arch.net, arch.scheme) == ("lm_resnext_8x64d", "lm_resnet")
    run = plan(["lm_resnext_16x64d"], [29], [0])[0]
    net = meta(run.net, run.depth, **run.build_options())
    assert count(net) == BUILT[16, True] + 6
    x = torch.randn(1, 3, 32, 32)
    small = nets.build("lm_resnext_8x64d", 29, widths=(16, 32, 64))   # other options pass through
    assert small(x).shape == (1, 10) and small.stages[0].blocks[0].conv2.groups == 8
    with pytest.raises(ValueError, match="'lm_resnext_8x64d' is 'lm_resnet' with"):
        nets.build("lm_resnext_8x64d", 29, cardinality=16)


def test_recipe_is_xie_et_al_s():
    r = get_recipe("xie2017-resnext")
    assert (r.batch_size, r.epochs, r.lr, r.milestones, r.gamma, r.momentum, r.nesterov, r.weight_decay) == (
        128, 300, 0.1, (150, 225), 0.1, 0.9, True, 5e-4)
    assert (r.pad, r.flip) == (4, True)
