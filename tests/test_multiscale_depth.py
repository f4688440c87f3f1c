"""Depth transfer: a prolonged stage is the ODE flow of its shallow parent, to O(h);
the nets layer's ResNet / LM-ResNet stages grow 20 -> 32 -> 56 and shrink back."""

import numpy as np
import pytest
import sympy as sp
import torch
from scipy.integrate import solve_ivp
from torch import nn

from multiscale_stages import ConvStage
from numnet import nets, schemes
from numnet.nets.multiscale import grids
from numnet.nets.multiscale.depth import depth_profile, find_stages, prolong_depth, restrict_depth

T, DIM = 1.0, 4


def linear_stage(weights, scheme="euler", entry=False, k=None, h=None):
    """A SchemeStage of LinearField blocks f_j(u) = W_j u (on (1, DIM, 1, 1) tensors)."""
    blocks = [nets.LinearField(DIM, w) for w in weights]
    stage = nets.SchemeStage(schemes.get(scheme), blocks, entry=entry, h=h or sp.Rational(1, len(weights))).double()
    if k is not None:
        with torch.no_grad():
            stage.coef["k"].copy_(k)
    return stage


def parent_weights(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, DIM, DIM, dtype=torch.float64, generator=g)


def interpolant(values, mode, t0=0.0, t1=T):
    """The function of time a depth prolongation samples: values at the centres of n cells on [t0, t1]."""
    values = np.asarray(values)
    n = len(values)
    centres = t0 + (np.arange(n) + 0.5) * (t1 - t0) / n
    if mode == "constant":
        return lambda t: values[min(int((t - t0) * n / (t1 - t0)), n - 1)]

    def linear(t):
        p = np.clip(np.interp(t, centres, np.arange(n)), 0, n - 1)   # fractional index, clamped
        i = min(int(p), n - 2)
        return (1 - (p - i)) * values[i] + (p - i) * values[i + 1]
    return linear


def flow(rhs, u0, marks):
    """u at marks[-1] of u' = rhs(t, u), integrated piece by piece between the marks."""
    u = np.asarray(u0, dtype=float)
    for a, b in zip(marks[:-1], marks[1:]):
        u = solve_ivp(rhs, (a, b), u, method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
    return u


def errors(stage, reference, factors, mode="linear"):
    u0 = torch.ones(1, DIM, 1, 1, dtype=torch.float64)
    out = []
    with torch.no_grad():
        for f in factors:
            deep = prolong_depth(stage, f, mode)
            out.append(np.linalg.norm(deep(u0).reshape(-1).numpy() - reference))
    return np.array(out)


def marks(n, t0=0.0, t1=T):
    return np.unique(np.concatenate([np.arange(n + 1), np.arange(n) + 0.5]) * (t1 - t0) / n + t0)


@pytest.mark.parametrize("mode", ["linear", "constant"])
def test_prolonged_euler_stage_converges_to_the_parents_ode_flow(mode):
    n, w = 4, parent_weights(4)
    stage = linear_stage(w)
    W = interpolant(w.reshape(n, -1).numpy(), mode)
    reference = flow(lambda t, u: W(t).reshape(DIM, DIM) @ u, np.ones(DIM), marks(n))
    errs = errors(stage, reference, (2, 4, 8, 16, 32, 64), mode)
    slopes = np.log2(errs[:-1] / errs[1:])
    assert (np.diff(errs) < 0).all(), errs
    np.testing.assert_allclose(slopes[-3:], 1.0, atol=0.1)       # Euler: error halves per doubling
    assert errs[-1] < 0.05 * np.linalg.norm(reference)


def test_entry_step_is_kept_and_the_rest_converges():
    """ResNet-style stage: the entry block's step stays one Euler step of the old h (its
    branch is rescaled), the steps after it converge to the flow on [h, T]."""
    n, w = 5, parent_weights(5, seed=6)
    stage = linear_stage(w, entry=True)
    h = T / n
    u1 = (np.eye(DIM) + h * w[0].numpy()) @ np.ones(DIM)
    W = interpolant(w[1:].reshape(n - 1, -1).numpy(), "linear", h, T)
    reference = flow(lambda t, u: W(t).reshape(DIM, DIM) @ u, u1, marks(n - 1, h, T))
    deep = prolong_depth(stage, 8)
    assert len(deep.blocks) == 1 + 8 * (n - 1) and deep.rule.h == sp.Rational(1, 40)
    torch.testing.assert_close(deep.blocks[0].conv.weight, 8 * stage.blocks[0].conv.weight)
    errs = errors(stage, reference, (4, 8, 16, 32))
    np.testing.assert_allclose(np.log2(errs[:-1] / errs[1:])[-2:], 1.0, atol=0.15)


def test_prolonged_lm_stage_interpolates_k_and_converges_to_its_modified_ode():
    """u_{j+1} = (1 - k_j) u_j + k_j u_{j-1} + h W_j u_j (a start-up Euler step first):
    first order for (1 + k(t)) u' = W(t) u, with k held constant back to the start-up step."""
    n, w = 4, parent_weights(4, seed=1)
    k = -0.4 * torch.rand(n - 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    stage = linear_stage(w, "lm_resnet", k=k)
    assert [kind for kind, _, _ in stage.plan] == ["startup", "scheme", "scheme", "scheme"]
    W = interpolant(w.reshape(n, -1).numpy(), "linear")
    K = interpolant(torch.cat([k[:1], k]).numpy()[:, None], "linear")
    reference = flow(lambda t, u: W(t).reshape(DIM, DIM) @ u / (1 + K(t)[0]), np.ones(DIM), marks(n))

    deep = prolong_depth(stage, 8)
    filled = torch.cat([k[:1], k])                       # per step, the start-up step's from its neighbour
    expected_k = (grids.as_tensor(grids.interpolation(n, 8 * n, "linear")) @ filled)[1:]
    torch.testing.assert_close(deep.coef["k"].detach(), expected_k, rtol=0, atol=1e-15)
    assert deep.coef["k"].requires_grad

    errs = errors(stage, reference, (4, 8, 16, 32, 64))
    slopes = np.log2(errs[:-1] / errs[1:])
    assert (np.diff(errs) < 0).all(), errs
    np.testing.assert_allclose(slopes[-2:], 1.0, atol=0.15)


def test_repeated_doubling_converges_too():
    """Doubling level by level (Chaikin refinement) is a Cauchy sequence in h."""
    stage = linear_stage(parent_weights(4, seed=3))
    u0 = torch.ones(1, DIM, 1, 1, dtype=torch.float64)
    outs, deep = [], stage
    with torch.no_grad():
        for _ in range(7):
            deep = prolong_depth(deep)
            outs.append(deep(u0).reshape(-1).numpy())
    gaps = np.array([np.linalg.norm(a - b) for a, b in zip(outs[:-1], outs[1:])])
    np.testing.assert_allclose(np.log2(gaps[-4:-1] / gaps[-3:]), 1.0, atol=0.15)


def weights(stage):
    return torch.stack([b.conv.weight.reshape(DIM, DIM) for b in stage.blocks])


def test_restriction_undoes_constant_prolongation_and_smooths_linear():
    stage = linear_stage(parent_weights(5, seed=4))
    back = restrict_depth(prolong_depth(stage, 2, "constant"))
    assert back.rule.h == stage.rule.h
    torch.testing.assert_close(weights(back), weights(stage), rtol=0, atol=0)
    smoothed = restrict_depth(prolong_depth(stage, 2, "linear"))
    rp = grids.averaging(10, 5) * grids.interpolation(5, 10, "linear")
    assert rp.row(2) == sp.Matrix([[0, sp.Rational(1, 8), sp.Rational(3, 4), sp.Rational(1, 8), 0]])
    expected = torch.einsum("ji,iab->jab", grids.as_tensor(rp), weights(stage))
    torch.testing.assert_close(weights(smoothed), expected)


# -- the nets layer's networks ------------------------------------------------------------------
def test_lm_resnet_20_grows_into_the_lm_resnet_32_architecture_and_back():
    torch.manual_seed(0)
    net = nets.lm_resnet(20, widths=(4, 4, 4), num_classes=3)
    deep = prolong_depth(net)
    twin = nets.lm_resnet(32, widths=(4, 4, 4), num_classes=3)
    assert deep.depth == 32 and depth_profile(deep) == depth_profile(twin) == [5, 5, 5]
    assert [p.shape for p in deep.parameters()] == [p.shape for p in twin.parameters()]
    assert len(deep.learned_coefficients()) == len(twin.learned_coefficients()) == 12
    assert all(s.scheme.is_zero_stable for s in deep.step_schemes())
    # k per stage: the two shallow values, interpolated to four
    k0 = net.stages[0].coef["k"].detach()
    expected = grids.as_tensor(grids.interpolation(2, 4, "linear")).float() @ k0
    torch.testing.assert_close(deep.stages[0].coef["k"].detach(), expected)
    # the entry keeps its step: conv2 doubled as h halves
    torch.testing.assert_close(deep.stages[1].blocks[0].conv2.weight, 2 * net.stages[1].blocks[0].conv2.weight)
    x = torch.randn(2, 3, 8, 8)
    assert deep.eval()(x).shape == (2, 3)
    # constant growth is undone exactly by restriction
    back = restrict_depth(prolong_depth(net, 2, "constant"))
    assert back.depth == 20 and back.stages[2].rule.h == 1
    for (name, a), b in zip(net.state_dict().items(), back.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    net.eval(), back.eval()
    torch.testing.assert_close(back(x), net(x), rtol=0, atol=0)
    # per-step checkpointing survives growth
    grown = prolong_depth(nets.lm_resnet(20, widths=(4, 4, 4), num_classes=3, checkpoint=2))
    assert [s.checkpoint for s in grown.stages] == [2, 2, 2]


def test_rk_steps_move_their_blocks_together_and_survival_is_interpolated():
    torch.manual_seed(0)
    net = nets.scheme_net("heun", 32, widths=(4, 4, 4), stochastic_depth=0.5)   # entry + 2 Heun steps of 2 blocks
    deep = prolong_depth(net)
    assert depth_profile(deep) == [9, 9, 9] and deep.depth == 56
    assert [kind for kind, _, _ in deep.stages[0].plan].count("scheme") == 4
    s0, d0 = net.stages[0], deep.stages[0]
    for i in (0, 1):   # stage-block i of deep step 1 = 3/4 shallow step 0 + 1/4 shallow step 1
        expected = 0.75 * s0.blocks[1 + i].conv1.weight + 0.25 * s0.blocks[3 + i].conv1.weight
        torch.testing.assert_close(d0.blocks[3 + i].conv1.weight, expected)
    assert d0.survival[0] == s0.survival[0]
    assert d0.survival[3] == pytest.approx(0.75 * s0.survival[1] + 0.25 * s0.survival[3])


def test_every_stage_of_a_model_grows_and_batch_norm_state_is_interpolated():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), ConvStage(2), ConvStage(3, h=0.5))
    for i, b in enumerate(model[1].blocks):
        b.bn.running_mean.fill_(float(i))
        b.bn.num_batches_tracked.fill_(10 * (i + 1))
    assert [name for name, _ in find_stages(model)] == ["1", "2"]
    deep = prolong_depth(model, 2)
    assert depth_profile(deep) == [4, 6] and depth_profile(model) == [2, 3]   # a copy by default
    assert deep[2].h == 0.25
    assert [float(b.bn.running_mean[0]) for b in deep[1].blocks] == [0, 0.25, 0.75, 1]
    assert [int(b.bn.num_batches_tracked) for b in deep[1].blocks] == [10, 10, 20, 20]
    assert deep[1].gate.tolist() == [0, 0.25, 0.75, 1]
    assert deep(torch.randn(1, 1, 5, 5)).shape == (1, 2, 5, 5)
    assert prolong_depth(model, 3, "constant", inplace=True) is model and depth_profile(model) == [6, 9]


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="has no stages"):
        prolong_depth(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="factor must be a positive int, got 0"):
        prolong_depth(ConvStage(2), 0)
    with pytest.raises(ValueError, match="mode must be one of"):
        prolong_depth(ConvStage(2), 2, "cubic")
    with pytest.raises(ValueError, match="multiple of 2 steps per stage, got 3"):
        restrict_depth(ConvStage(3))
    with pytest.raises(ValueError, match="has no steps after its entry"):
        prolong_depth(nets.resnet(8, widths=(4, 4, 4)))
    odd = ConvStage(2)
    odd.blocks[1] = nn.Conv2d(2, 2, 1)
    with pytest.raises(ValueError, match="identical structure; step 1 differs"):
        prolong_depth(odd)
    short = ConvStage(2)
    short.gate = torch.zeros(3)
    with pytest.raises(ValueError, match=r"one entry per step \(2\) along dim 0, got gate of shape \(3,\)"):
        prolong_depth(short)
