"""Weight decay of learnable scheme coefficients (issue 15): the direction of the pull
under each ``Recipe.coefficient_decay`` and parity with LM-ResNet's official code."""

import pytest
import torch

from numnet import nets
from numnet.nets.names import COEFFICIENT_DECAY
from numnet.train import Recipe, get_recipe
from numnet.train.decay import sgd


def _decay_only(net, mode, steps=5, lr=0.1):
    """``steps`` SGD steps with no data gradient: only weight decay acts."""
    opt = sgd(net, Recipe("t", epochs=2, milestones=(), lr=lr, weight_decay=0.1, coefficient_decay=mode))
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        opt.step()
    return torch.cat([p.detach() for p in net.coefficient_parameters()])


@pytest.mark.parametrize("mode, toward", [("official", 1.0), ("none", None), ("toward-scheme", 0.0), ("zero", 0.0)])
def test_lm_resnet_k_pulled_toward_the_mode_center(mode, toward):
    torch.manual_seed(0)
    net = nets.lm_resnet(14, widths=(2, 2, 2))
    k0 = torch.cat([p.detach().clone() for p in net.coefficient_parameters()])
    assert (k0 <= 0).all() and (k0 > -0.1).all()          # the official init: 1 - k ~ U(1.0, 1.1)
    k = _decay_only(net, mode)
    if toward is None:
        torch.testing.assert_close(k, k0, rtol=0, atol=0)
    else:
        assert ((k - toward).abs() < (k0 - toward).abs()).all(), (mode, k0, k)


def test_adams_beta_toward_scheme_is_the_adams_bashforth_weight():
    torch.manual_seed(0)
    net = nets.adams_net(20, steps=2, learnable=True, widths=(2, 2, 2))
    b0 = torch.cat([p.detach().clone() for p in net.coefficient_parameters()])   # ~ U(1, 1.1)
    b = _decay_only(net, "toward-scheme")
    assert ((b - 1.5).abs() < (b0 - 1.5).abs()).all() and (b > b0).all()
    assert (_decay_only(nets.adams_net(20, steps=2, learnable=True, widths=(2, 2, 2)), "official") < 1.1).all()


def test_paper_recipes_decay_like_the_official_code():
    assert all(get_recipe(n).coefficient_decay == "official" for n in ("paper-cifar10", "paper-cifar100"))
    assert "coefficient_decay" in get_recipe("paper-cifar10").to_dict()
    with pytest.raises(ValueError, match="coefficient_decay must be one of"):
        Recipe("bad", coefficient_decay="l2")
    assert set(COEFFICIENT_DECAY) == {"official", "none", "toward-scheme", "zero"}


def test_official_mode_follows_the_official_parameterisation_step_by_step():
    """MResNet.py: parameter s = 1 - k, SGD(momentum, weight decay) on s. numnet's k with
    coefficient_decay='official' must take the same path under the same data gradient."""
    torch.manual_seed(0)
    net = nets.lm_resnet(8 + 6, widths=(2, 2, 2))
    params = list(net.coefficient_parameters())
    s = [torch.nn.Parameter(1 - p.detach().clone()) for p in params]
    recipe = Recipe("t", epochs=2, milestones=(), lr=0.1, momentum=0.9, weight_decay=0.05)
    opt = sgd(net, recipe)
    ref = torch.optim.SGD(s, lr=0.1, momentum=0.9, weight_decay=0.05)
    target = torch.tensor(0.3)
    for _ in range(6):
        opt.zero_grad()
        ref.zero_grad()
        sum(((p - target) ** 3).sum() for p in params).backward()
        sum((((1 - q) - target) ** 3).sum() for q in s).backward()
        opt.step()
        ref.step()
    for p, q in zip(params, s):
        torch.testing.assert_close(p.detach(), 1 - q.detach(), rtol=0, atol=1e-6)


def test_other_parameters_keep_plain_weight_decay():
    net = nets.lm_resnet(14, widths=(2, 2, 2))
    w0, k0 = net.fc.weight.detach().clone(), next(net.coefficient_parameters()).detach().clone()
    opt = sgd(net, Recipe("t", epochs=2, milestones=(), lr=0.1, weight_decay=0.1, coefficient_decay="none"))
    for p in net.parameters():
        p.grad = torch.zeros_like(p)       # a zero data gradient: only weight decay acts
    opt.step()
    torch.testing.assert_close(net.fc.weight.detach(), w0 * (1 - 0.1 * 0.1))
    torch.testing.assert_close(next(net.coefficient_parameters()).detach(), k0, rtol=0, atol=0)


def test_training_loop_applies_the_recipe_coefficient_decay():
    """One SGD step of train(): the same data gradient for both runs, so the k's differ
    by exactly the decay toward 1 ('official') that 'none' leaves out."""
    from numnet import data
    from numnet.train import train

    splits = data.load("synthetic", train_size=32, test_size=16, image_size=8)
    recipe = Recipe("t", epochs=1, milestones=(), batch_size=32, lr=0.1, momentum=0.0, weight_decay=0.5,
                    pad=0, flip=False)
    ks = {}
    for mode in ("none", "official"):
        torch.manual_seed(0)
        net = nets.lm_resnet(14, widths=(2, 2, 2), in_channels=splits.in_channels, num_classes=splits.num_classes)
        k0 = torch.cat([p.detach().clone() for p in net.coefficient_parameters()])
        train(net, splits, recipe.replace(coefficient_decay=mode), seed=0, device="cpu", progress=False)
        ks[mode] = torch.cat([p.detach() for p in net.coefficient_parameters()])
    torch.testing.assert_close(ks["official"] - ks["none"], -0.1 * 0.5 * (k0 - 1), rtol=1e-4, atol=1e-7)
