"""The papers' networks as their authors built them (issue 15): PolyNet, shake-shake,
FractalNet — each block checked against its paper's formula on random inputs."""

import pytest
import sympy as sp
import torch

from numnet import nets
from numnet.nets.blocks import BasicBlock, LinearField
from numnet.nets.poly import PolyStage


def _blocks(n, c=4, seed=0):
    torch.manual_seed(seed)
    out = [BasicBlock(c, c) for _ in range(n)]
    for b in out:   # non-trivial batch-norm statistics and affine maps: a clearly nonlinear F
        for m in b.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2)
                m.weight.data.normal_()
                m.bias.data.normal_()
        b.eval()
    return out


@pytest.mark.parametrize("kind, formula", [
    ("poly2", lambda x, F, G: x + F(x) + F(F(x))),
    ("2way", lambda x, F, G: x + F(x) + G(x)),
    ("mpoly", lambda x, F, G: x + F(x) + G(F(x))),
])
def test_polyinception_modules_follow_zhang_et_al(kind, formula):
    F, G = _blocks(2)
    stage = PolyStage([F] if kind == "poly2" else [F, G], kind, entry=False).eval()
    x = torch.randn(3, 4, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(stage(x), formula(x, F, G))


def test_poly2_is_not_fixed_point_backward_euler_except_for_linear_fields():
    (F,) = _blocks(1)
    x = torch.randn(3, 4, 5, 5)
    with torch.no_grad():
        poly = PolyStage([F], "poly2", entry=False)(x)
        fixed_point = x + F(x + F(x))          # what scheme_net("backward_euler") computes
        assert (poly - fixed_point).abs().max() > 1e-2
        L = LinearField(4, torch.randn(4, 4) / 4)
        torch.testing.assert_close(PolyStage([L], "poly2", entry=False)(x), x + L(x + L(x)))


def test_polynet_from_python_cli_names_and_study():
    from numnet.nets.names import NETS
    from numnet.study.grid import plan

    net = nets.build("polynet", 20)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in nets.build("resnet", 20).parameters())
    two = nets.build("polynet", 32, kind="2way")
    assert [s.kind for s in two.step_schemes() if s.stage == 0] == ["entry", "2way", "2way"]
    assert "polynet" in NETS and plan(["polynet"], [20], [0])[0].scheme == "poly2"
    with pytest.raises(ValueError, match="kind must be one of"):
        nets.build("polynet", 20, kind="poly3")


# -- shake-shake (Gastaldi, 2017) ----------------------------------------------------------
def test_shake_mixes_forward_with_alpha_and_backward_with_an_independent_beta():
    from numnet.nets.blocks import ShakeShakeBlock

    torch.manual_seed(0)
    blk = ShakeShakeBlock(4, 4).train()
    u = torch.randn(5, 4, 6, 6)
    b1, b2 = blk.branch1(u).detach(), blk.branch2(u).detach()   # same batch: same batch-norm output
    b1.requires_grad_(True), b2.requires_grad_(True)
    # the block's mixing rule applied to branch outputs we hold, with the alpha/beta it drew
    blk.branch1.forward = lambda x: b1
    blk.branch2.forward = lambda x: b2
    out = blk(u)
    alpha, beta = blk.last_alpha, blk.last_beta
    assert alpha.shape == (5, 1, 1, 1) and not torch.equal(alpha, beta)
    assert len(set(alpha.flatten().tolist())) == 5                         # one alpha per image
    torch.testing.assert_close(out, alpha * b1 + (1 - alpha) * b2)
    g = torch.randn_like(out)
    out.backward(g)
    torch.testing.assert_close(b1.grad, beta * g)
    torch.testing.assert_close(b2.grad, (1 - beta) * g)
    blk.eval()
    torch.testing.assert_close(blk(u), (b1 + b2) / 2)


def test_shake_shake_increment_matches_its_sde_limit():
    """Mean and variance of the random increment alpha*f1 + (1-alpha)*f2 over many draws are
    the SDE's step_mean and step_variance (h = 1)."""
    from numnet.nets.blocks import ShakeShakeBlock

    torch.manual_seed(1)
    blk = ShakeShakeBlock(2, 2).train()
    f1, f2 = torch.tensor(2.0), torch.tensor(-1.0)
    blk.branch1.forward = lambda x: f1.expand(x.shape)
    blk.branch2.forward = lambda x: f2.expand(x.shape)
    incr = blk(torch.zeros(200_000, 2, 1, 1))[:, 0].flatten()
    limit = nets.shake_shake(8, widths=(2, 2, 2)).sde_limit()
    at = {sp.Symbol("f1"): 2, sp.Symbol("f2"): -1, limit.h: 1}
    assert abs(incr.mean() - float(limit.step_mean.subs(at))) < 0.01
    assert abs(incr.var() - float(limit.step_variance.subs(at))) < 0.01      # (f1 - f2)^2 / 12 = 0.75


def test_shake_shake_nets_from_python_cli_names_and_study():
    from numnet.nets.names import NETS
    from numnet.study.grid import plan

    net = nets.build("shake_shake", 26)
    assert net.stem.out_channels == 16 and [s.blocks[0].cout for s in net.stages] == [32, 64, 128]
    assert [len(s.blocks) for s in net.stages] == [4, 4, 4]
    lm = nets.build("shake_shake", 26, lm=True)
    assert len(lm.learned_coefficients()) == 9 and lm.sde_limit().inertia == sp.Symbol("k")
    assert "shake_shake" in NETS and plan(["shake_shake"], [26], [0])[0].net == "shake_shake"
    with pytest.raises(ValueError, match="no random residual"):
        nets.build("resnet", 8, widths=(2, 2, 2)).sde_limit()


# -- FractalNet (Larsson et al., 2017) -----------------------------------------------------
def _eval_fractal(columns, cin=3, seed=0):
    from numnet.nets.fractal import FractalBlock

    torch.manual_seed(seed)
    blk = FractalBlock(cin, 4, columns)
    for m in blk.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.bias.data.normal_()
    return blk.eval()


def test_two_column_fractal_block_is_lu_et_al_formula():
    """x_{n+1} = k1*x + k2*(k3*x + f1(x)) + f2(k3*x + f1(x)) with Larsson's mean join:
    k1* = conv_a / 2 (the shallow column), k2 = k3 = 0, f1 = conv_b, f2 = conv_c / 2."""
    blk = _eval_fractal(2, cin=4)
    x = torch.randn(2, 4, 6, 6)
    conv_a, conv_b, conv_c = blk.conv, blk.inner.conv, blk.outer.conv
    k1, k2, k3 = (lambda v: conv_a(v) / 2), 0.0, 0.0
    f1, f2 = conv_b, (lambda v: conv_c(v) / 2)
    with torch.no_grad():
        y = k3 * x + f1(x)
        torch.testing.assert_close(blk(x), k1(x) + k2 * y + f2(y))


def test_three_column_block_joins_by_the_mean_with_merged_joins():
    blk = _eval_fractal(3)
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        inner = (blk.inner.conv(x) + blk.inner.outer.conv(blk.inner.inner.conv(x))) / 2
        o = blk.outer
        deep = (o.conv(inner) + o.outer.conv(o.inner.conv(inner))) / 2   # an inner join of the outer half
        paths = [blk.conv(x), o.conv(inner), o.outer.conv(o.inner.conv(inner))]
        torch.testing.assert_close(blk(x, columns_out=True)[0], paths[0])
        torch.testing.assert_close(blk(x), sum(paths) / 3)                  # the last join averages 3 columns
        assert not torch.allclose(blk(x), (paths[0] + deep) / 2)           # not a pairwise join


def test_drop_path_global_keeps_one_column_local_keeps_at_least_one():
    blk = _eval_fractal(3)
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        blk.train()
        for m in blk.modules():          # frozen statistics: the same maps in train mode
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
        blk._set_drop(("global", 0))     # column 0 = the deepest path alone, through every join
        d = blk.outer
        deepest = d.outer.conv(d.inner.conv(blk.inner.outer.conv(blk.inner.inner.conv(x))))
        torch.testing.assert_close(blk(x), deepest)
        blk._set_drop(("global", 2))     # the shallowest column
        torch.testing.assert_close(blk(x), blk.conv(x))
        blk._set_drop(("local", 0.0))    # nothing dropped: the plain mean
        torch.testing.assert_close(blk(x), blk.eval()(x))
        two = _eval_fractal(2).train()
        for m in two.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
        two._set_drop(("local", 0.999999))   # every input dropped: one kept at random
        paths = two(x, columns_out=True)
        seen = set()
        for _ in range(20):
            out = two(x)
            hits = [i for i, p in enumerate(paths) if torch.allclose(out, p)]
            assert len(hits) == 1
            seen.add(hits[0])
        assert seen == {0, 1}


def test_fractalnet_from_python_cli_names_and_study():
    from numnet.nets.names import NETS
    from numnet.study.grid import plan

    net = nets.build("fractalnet", 20, widths=(4, 4, 4, 4, 4))
    assert net.columns == 3 and net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert [s.scheme.name for s in nets.build("fractalnet", 10).step_schemes()] == ["heun"] * 5
    assert "fractalnet" in NETS and plan(["fractalnet"], [40], [0])[0].scheme == "heun"
    # 20 layers (C = 3, widths 64..512): numnet counts 33.7 M (Larsson et al. quote 38.6 M)
    assert sum(p.numel() for p in nets.build("fractalnet", 20).parameters()) == 33_724_618
