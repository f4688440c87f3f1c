"""numnet.nets: networks compiled from scheme objects, checked against exact recursions.

Everything runs on CPU with tiny widths; float64 where a recursion is compared to a hand
computation, so agreement is to rounding, not to a loose tolerance.
"""

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn as nn

from numnet import nets, schemes
from numnet.nets import LinearField, SchemeStage

TINY = dict(widths=(4, 4, 4))


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def two_sig(x):
    return float(f"{x:.2g}")


# -- parameter counts ----------------------------------------------------------------
@pytest.mark.parametrize("depth, published", [(20, 0.27e6), (32, 0.46e6), (44, 0.66e6), (56, 0.85e6), (110, 1.7e6)])
def test_resnet_parameter_counts_match_he_et_al(depth, published):
    # He et al.'s CIFAR ResNets use parameter-free shortcuts (option A, "pad")
    pad = n_params(nets.resnet(depth, shortcut="pad"))
    proj = n_params(nets.resnet(depth))
    assert two_sig(pad) == published
    # projections add exactly the two 1x1 convolutions 16->32 and 32->64
    assert proj - pad == 16 * 32 + 32 * 64


def test_bottleneck_and_resnext_parameter_counts():
    assert two_sig(n_params(nets.resnet(164, block="bottleneck"))) == 1.7e6  # pre-act ResNet-164
    assert round(n_params(nets.resnet(29, block="resnext")) / 1e6, 1) == 34.4  # ResNeXt-29 8x64d


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_lm_and_adams_variants_add_exactly_their_coefficients(depth):
    n = (depth - 2) // 6
    base = n_params(nets.resnet(depth))
    # carry history: every block after a stage's entry block is an LM / AB2 step
    assert n_params(nets.lm_resnet(depth)) - base == 3 * (n - 1)
    assert n_params(nets.adams_net(depth, steps=2, learnable=True)) - base == 3 * (n - 1)
    # AB3 needs one Euler start-up step after the entry; two free betas per step
    assert n_params(nets.adams_net(depth, steps=3, learnable=True)) - base == 2 * 3 * (n - 2)
    assert n_params(nets.adams_net(depth, steps=3)) == base
    # restart history: one more Euler start-up per stage
    assert n_params(nets.lm_resnet(depth, history="restart")) - base == 3 * (n - 2)
    # RK2 with one block per tableau stage: same blocks, so same parameters
    if (n - 1) % 2 == 0:
        assert n_params(nets.scheme_net("heun", depth)) == base


# -- exact recursions ----------------------------------------------------------------
def _head(net, u):
    return net.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(torch.relu(net.bn(u)), 1), 1))


def test_lm_resnet_with_k_zero_equals_resnet_bit_for_bit():
    torch.manual_seed(0)
    res = nets.resnet(20, **TINY).eval()
    lm = nets.lm_resnet(20, **TINY).eval()
    missing, unexpected = lm.load_state_dict(res.state_dict(), strict=False)
    assert not unexpected and all(".coef." in m for m in missing) and missing
    for p in lm.coefficient_parameters():
        nn.init.zeros_(p)
    x = torch.randn(3, 3, 16, 16)
    assert torch.equal(lm(x), res(x))
    with torch.no_grad():  # and k != 0 does change the output
        next(lm.coefficient_parameters()).fill_(-0.05)
    assert not torch.equal(lm(x), res(x))


def test_lm_resnet_is_the_lm_recursion_with_projected_history():
    torch.manual_seed(1)
    net = nets.lm_resnet(26, **TINY).double().eval()
    x = torch.randn(2, 3, 12, 12, dtype=torch.float64)
    u = net.stem(x)
    for stage in net.stages:
        ks = stage.coef["k"].detach()
        p, f = stage.blocks[0].transition(u)
        prev, u = p, p + f  # downsampling block: Euler; u_{n-1} := P(previous state)
        for k, block in zip(ks, list(stage.blocks)[1:]):
            prev, u = u, (1 - k) * u + k * prev + block(u)
    torch.testing.assert_close(net(x), _head(net, u), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("steps, beta", [(2, (1.5, -0.5)), (3, (23 / 12, -16 / 12, 5 / 12))])
def test_fixed_adams_net_is_the_adams_bashforth_recursion(steps, beta):
    torch.manual_seed(2)
    net = nets.adams_net(32, steps=steps, **TINY).double().eval()
    x = torch.randn(2, 3, 12, 12, dtype=torch.float64)
    u = net.stem(x)
    for stage in net.stages:
        p, f = stage.blocks[0].transition(u)
        fs, u = [f], p + f  # the entry's f-value is F(u_prev), the slope at P(u_prev)
        for block in list(stage.blocks)[1:]:
            fs.append(block(u))
            if len(fs) >= steps:  # AB_s: u + sum_j beta_j f_{n-j}
                u = u + sum(b * fs[-1 - j] for j, b in enumerate(beta))
            else:  # Euler start-up
                u = u + fs[-1]
    torch.testing.assert_close(net(x), _head(net, u), rtol=1e-12, atol=1e-12)


def _numpy_rk(scheme, W, y0, h, n_steps):
    A = np.array([[float(a) for a in row] for row in scheme.A.tolist()])
    b = np.array([float(x) for x in scheme.b])
    u = y0.copy()
    for _ in range(n_steps):
        K = []
        for i in range(scheme.stages):
            K.append(W @ (u + h * sum(A[i, j] * K[j] for j in range(i))))
        u = u + h * sum(b[i] * K[i] for i in range(scheme.stages))
    return u


def _linear_stage(scheme, W, n_steps, h, **kw):
    field = LinearField(W.shape[0], torch.as_tensor(W)).double()
    return SchemeStage(scheme, [field] * n_steps, entry=False, h=h, **kw)


@pytest.mark.parametrize("name", ["rk4", "kutta3", "rk38", "dormand_prince"])
def test_compiled_rk_net_on_linear_block_is_the_rk_recursion(name):
    rng = np.random.default_rng(3)
    W = rng.normal(size=(3, 3)) / 2
    y0 = rng.normal(size=3)
    scheme, T, N = schemes.get(name), 1.5, 7
    stage = _linear_stage(scheme, W, N, T / N, rk_blocks="shared")
    out = stage(torch.tensor(y0).reshape(1, 3, 1, 1)).reshape(3).detach().numpy()
    np.testing.assert_allclose(out, _numpy_rk(scheme, W, y0, T / N, N), rtol=1e-13, atol=1e-13)
    # and the RK4 net tracks the exact flow to O(h^4)
    from scipy.linalg import expm

    if name == "rk4":
        assert np.abs(out - expm(T * W) @ y0).max() < 1e-3


def _final_state(sol, n_steps):
    y = sol.y if hasattr(sol, "y") else (sol[1] if isinstance(sol, tuple) else sol)
    y = np.asarray(y)
    return y[-1] if y.shape[0] == n_steps + 1 else y[..., -1]


def test_compiled_rk4_net_equals_solvers_integrate():
    solvers = pytest.importorskip("numnet.solvers")
    rng = np.random.default_rng(4)
    W, y0 = rng.normal(size=(3, 3)) / 2, rng.normal(size=3)
    scheme, T, N = schemes.get("rk4"), 1.5, 7
    stage = _linear_stage(scheme, W, N, T / N, rk_blocks="shared")
    out = stage(torch.tensor(y0).reshape(1, 3, 1, 1)).reshape(3).detach().numpy()
    sol = solvers.integrate(scheme, lambda t, y: W @ y, (0.0, T), y0, n_steps=N)
    np.testing.assert_allclose(out, _final_state(sol, N), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["am0", "backward_euler"])
def test_backward_euler_with_two_iterations_is_polynet(name):
    rng = np.random.default_rng(5)
    W, y0, h = rng.normal(size=(3, 3)), rng.normal(size=3), 0.3
    stage = _linear_stage(schemes.get(name), W, 1, h, iterations=2)
    out = stage(torch.tensor(y0).reshape(1, 3, 1, 1)).reshape(3).detach().numpy()
    hW = h * W
    np.testing.assert_allclose(out, y0 + hW @ y0 + hW @ hW @ y0, rtol=1e-13)  # (I + F + F^2) u


def test_implicit_iterations_converge_to_the_implicit_step():
    rng = np.random.default_rng(6)
    W, y0, h = rng.normal(size=(3, 3)) / 4, rng.normal(size=3), 0.5
    stage = _linear_stage(schemes.get("gauss2"), W, 1, h, iterations=60, rk_blocks="shared")
    out = stage(torch.tensor(y0).reshape(1, 3, 1, 1)).reshape(3).detach().numpy()
    R = sp.lambdify(sp.Symbol("z"), schemes.get("gauss2").stability_function(), "numpy")
    evals, V = np.linalg.eig(h * W)  # R(hW) y0 through the eigen-decomposition
    exact = (V @ np.diag(R(evals)) @ np.linalg.solve(V, y0)).real
    np.testing.assert_allclose(out, exact, rtol=1e-10, atol=1e-12)


def test_lmm_step_inverse_recovers_the_oldest_state():
    rule = nets.LMMRule(schemes.get("lm_resnet"))
    assert rule.is_reversible and not nets.LMMRule(schemes.get("ab2")).is_reversible
    torch.manual_seed(7)
    W = torch.randn(4, 4, dtype=torch.float64) / 3
    ks = torch.empty(20, dtype=torch.float64).uniform_(-0.95, -0.8)  # inverse error grows like |1/k|^n
    hist = [[torch.randn(4, dtype=torch.float64), None], [torch.randn(4, dtype=torch.float64), None]]
    states = [h[0] for h in hist]
    for k in ks:
        rule.advance(hist, [lambda u: torch.tanh(W @ u)], rule.values([k]))
        states.append(hist[-1][0])
        rule.trim(hist)
    # walk back: u_{n-1} from u_n, u_{n+1} and f_n = F(u_n)
    new, cur = states[-1], states[-2]
    for m, k in zip(range(len(states) - 3, -1, -1), reversed(ks)):
        old = rule.solve_oldest([[cur, torch.tanh(W @ cur)]], new, rule.values([k]))
        torch.testing.assert_close(old, states[m], rtol=0, atol=1e-9)
        new, cur = cur, old


# -- the bridge back to numerics ---------------------------------------------------------
def test_fresh_lm_resnet_step_schemes_are_zero_stable_and_table_matches():
    torch.manual_seed(8)
    net = nets.lm_resnet(56)
    steps = net.step_schemes()
    assert len(steps) == 27 and [s.kind for s in steps[:2]] == ["entry", "scheme"]
    assert all(s.scheme.is_zero_stable for s in steps)
    table = net.learned_coefficients()
    assert len(table) == 24 and {r["symbol"] for r in table} == {"k"}
    assert all(-0.1 < r["value"] <= 0 for r in table)
    by_block = {(s.stage, s.block): s.scheme for s in steps}
    for r in table:  # the step scheme is lm_resnet with exactly the learned value (an exact binary Float)
        a0 = by_block[r["stage"], r["block"]].alpha[0]
        assert isinstance(a0, sp.Float) and sp.Rational(a0) == -sp.Rational(r["value"])


def test_step_schemes_follow_the_trained_values():
    net = nets.lm_resnet(20, **TINY)
    with torch.no_grad():
        net.stages[1].coef["k"].copy_(torch.tensor([-1.5, 0.75]))
    flags = [(s.stage, s.block, s.scheme.is_zero_stable) for s in net.step_schemes() if s.kind == "scheme"]
    assert (1, 1, False) in flags and (1, 2, True) in flags
    ab = nets.adams_net(20, steps=2, learnable=True)
    with torch.no_grad():
        for p in ab.coefficient_parameters():
            p.fill_(1.5)  # b1 = 3/2: exactly AB2 (as exact binary Floats), interval (-1, 0]
    s = [r.scheme for r in ab.step_schemes() if r.kind == "scheme"][0]
    assert [sp.Rational(b) for b in s.beta] == list(schemes.get("ab2").beta)
    interval = s.stability_interval()
    assert (float(interval.left), float(interval.right), interval.left_open, interval.right_open) == (-1.0, 0.0, True, False)


@pytest.mark.parametrize("builder", [
    lambda: nets.lm_resnet(20, **TINY),
    lambda: nets.adams_net(26, steps=3, learnable=True, **TINY),
    lambda: nets.scheme_net("rk2_family", 20, init={"a21": 0.5, "b1": 0.3, "b2": 0.7}, **TINY),
    lambda: nets.lm_resnet(20, stochastic_depth=0.999, **TINY),
])
def test_gradients_reach_every_learnable_coefficient(builder):
    torch.manual_seed(9)
    net = builder().train()
    coefs = list(net.coefficient_parameters())
    assert coefs
    net(torch.randn(4, 3, 8, 8)).square().sum().backward()
    for p in coefs:
        assert p.grad is not None and torch.isfinite(p.grad).all() and (p.grad != 0).all()


def test_default_inits_follow_the_papers():
    torch.manual_seed(10)
    k = torch.cat([p.detach() for p in nets.lm_resnet(110).coefficient_parameters()])
    assert (k > -0.1).all() and (k <= 0).all() and k.std() > 0.02
    ab = nets.adams_net(110, steps=3, learnable=True)
    b1 = torch.cat([s.coef["b1"].detach() for s in ab.stages])
    b2 = torch.cat([s.coef["b2"].detach() for s in ab.stages])
    assert ((1 <= b1) & (b1 < 1.1)).all() and ((-1 <= b2) & (b2 < -0.9)).all()
    net = nets.lm_resnet(20, init="constant(-0.25)")
    assert all(r["value"] == -0.25 for r in net.learned_coefficients())


# -- stochastic depth --------------------------------------------------------------------
class _TanhField(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a, self.b = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 1)

    def forward(self, u):
        return self.b(torch.tanh(self.a(u)))


def _mean_and_se(stage, x, n):
    with torch.no_grad():
        ys = torch.stack([stage(x) for _ in range(n)])
    return ys.mean(0), ys.std(0) / n**0.5


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_stochastic_depth_is_identity_in_expectation(mode):
    torch.manual_seed(11)
    # LM stage whose last block (nonlinear) survives with p = 0.5
    stage = SchemeStage(schemes.get("lm_resnet"), [_TanhField(2), _TanhField(2)], entry=False, init=-0.3,
                        survival=[1.0, 0.5], drop_mode=mode).double()
    x = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    expected = stage.eval()(x)
    mean, se = _mean_and_se(stage.train(), x, 1000)
    assert ((mean - expected).abs() <= 5 * se + 1e-12).all()
    assert (se > 0).any()
    # AB2 with every (linear) block stochastic: each monomial has distinct gates
    W = [torch.randn(3, 3) / 2 for _ in range(4)]
    stage = SchemeStage(schemes.get("ab2"), [LinearField(3, w) for w in W], entry=False,
                        survival=[0.9, 0.8, 0.6, 0.5], drop_mode=mode).double()
    x = torch.randn(5, 3, 2, 2, dtype=torch.float64)
    expected = stage.eval()(x)
    mean, se = _mean_and_se(stage.train(), x, 1500)
    assert ((mean - expected).abs() <= 5 * se + 1e-12).all()


def test_stochastic_depth_schedule():
    net = nets.lm_resnet(56, stochastic_depth=True, drop_schedule="huang")  # the official one: test_stochastic_depth
    surv = [p for s in net.stages for p in s.survival]
    assert len(surv) == 27 and surv[-1] == pytest.approx(0.8) and surv[0] == pytest.approx(1 - 0.2 / 27)
    assert np.allclose(np.diff(surv), -0.2 / 27)
    assert nets.lm_resnet(110, stochastic_depth=True).stages[-1].survival[-1] == pytest.approx(0.5)
    torch.manual_seed(12)
    net = nets.lm_resnet(20, stochastic_depth=0.5, **TINY).eval()
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(net(x), net(x))  # evaluation is deterministic


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: nets.build("resnet", 21), r"depth must be 6n\+2 for basic blocks \(8, 14, 20, 26, 32, 38, 44, 56, 110, \.\.\.\), got 21"),
    (lambda: nets.build("resnet", 57, block="bottleneck"), r"depth must be 9n\+2 for bottleneck blocks \(11, 20, 29, 38, 56, 164, \.\.\.\), got 57"),
    (lambda: nets.build("resnet", 20, widths=(16, 0, 64)), r"widths must be .* positive integers.*\(16, 0, 64\)"),
    (lambda: nets.build("resnet", 20, block="wide"), r"block must be one of"),
    (lambda: nets.build("scheme_net", 20, scheme="rk44"), r"unknown scheme 'rk44'"),
    (lambda: nets.build("scheme_net", 20), r"needs scheme="),
    (lambda: nets.build("lm_resnet", 20, scheme="rk4"), r"fixes its scheme"),
    (lambda: nets.build("densenet", 20), r"net must be one of"),
    (lambda: nets.build("adams_net", 20, steps=4), r"steps must be 2 or 3, got 4"),
    (lambda: nets.build("scheme_net", 20, scheme="rk2_family"), r"free symbols \['a21', 'b1', 'b2'\] with no default init"),
    (lambda: nets.build("scheme_net", 110, scheme="rk4"), r"takes 4 blocks per step"),
    (lambda: nets.build("lm_resnet", 20, history="keep"), r"history must be one of"),
    (lambda: nets.build("lm_resnet", 20, stochastic_depth=1.5), r"p_L must be in \(0, 1\], got 1.5"),
    (lambda: nets.build("lm_resnet", 20, stochastic_depth=True), r"gives p_L for depths \[56, 110\] only"),
    (lambda: nets.build("lm_resnet", 20, init={"q": 0.1}), r"init names \['q'\] are not free symbols"),
    (lambda: nets.build("lm_resnet", 20, h=-1.0), r"h must be a positive number"),
    (lambda: nets.build("ode_net", 20, scheme="rk4"), r"torchdiffeq has no solver with the tableau of rk4"),
])
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- devices, precisions, layouts, compilation ---------------------------------------------
def test_fashion_mnist_shaped_input_and_bottleneck_and_resnext():
    x = torch.randn(2, 1, 28, 28)
    assert nets.build("lm_resnet", 20, in_channels=1, **TINY)(x).shape == (2, 10)
    assert nets.build("adams_net", 29, in_channels=1, num_classes=7, block="bottleneck", steps=2,
                      widths=(2, 2, 2))(x).shape == (2, 7)
    net = nets.build("lm_resnet", 29, block="resnext", widths=(4, 8, 16), cardinality=2, group_width=2)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize("shortcut", ["projection", "pad"])
def test_bf16_autocast_and_channels_last(shortcut):
    torch.manual_seed(13)
    net = nets.lm_resnet(20, shortcut=shortcut, **TINY).train()
    x = torch.randn(4, 3, 16, 16)
    ref = net(x)
    cl = net.to(memory_format=torch.channels_last)
    xc = x.contiguous(memory_format=torch.channels_last)
    assert cl.features(xc).is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(cl(xc), ref, rtol=1e-4, atol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = cl(xc)
        assert y.dtype == torch.bfloat16
    assert torch.isfinite(y).all()
    assert (y.float() - ref).abs().max() < 0.1 * ref.abs().max() + 0.05
    y.float().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.coefficient_parameters())


def test_torch_compile_graph_matches_eager():
    # dynamo + AOT autograd (functionalises the in-place accumulation and the fused
    # combination node) on a stage with a projection entry and learnable Adams steps
    torch.manual_seed(14)
    stage = nets.adams_net(20, steps=2, learnable=True, **TINY).stages[1].train()
    x = torch.randn(2, 4, 8, 8)
    eager_out = stage(x)  # (backward before the next training forward updates BN buffers)
    (g_eager,) = torch.autograd.grad(eager_out.square().sum(), [stage.coef["b1"]])
    out = torch.compile(stage, backend="aot_eager")(x)
    torch.testing.assert_close(out, eager_out, rtol=1e-5, atol=1e-6)
    (g,) = torch.autograd.grad(out.square().sum(), [stage.coef["b1"]])
    torch.testing.assert_close(g, g_eager, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_torch_compile_inductor_matches_eager():
    # ~45 s cold on a 2-core CPU: inductor compiles C++ kernels with gcc
    torch.manual_seed(15)
    stage = nets.lm_resnet(14, **TINY).stages[1].eval()
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(torch.compile(stage)(x), stage(x), rtol=1e-5, atol=1e-6)


# -- continuous baseline -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["euler", "explicit_midpoint", "heun", "ssprk2", "rk38", "bogacki_shampine",
                                  "dormand_prince"])
def test_torchdiffeq_twin_has_the_schemes_stability_function(name):
    import torchdiffeq

    lam, h = -0.7, 0.4
    method = nets.torchdiffeq_method(name)
    y0 = torch.tensor([1.0], dtype=torch.float64)
    t = torch.tensor([0.0, h], dtype=torch.float64)
    if method in ("bosh3", "dopri5"):  # one accepted step of size h
        y = torchdiffeq.odeint(lambda t, y: lam * y, y0, t, method=method, rtol=1e9, atol=1e9,
                               options={"first_step": h})
    else:
        y = torchdiffeq.odeint(lambda t, y: lam * y, y0, t, method=method, options={"step_size": h})
    R = float(schemes.get(name).stability_function().subs(sp.Symbol("z"), sp.Rational(lam) * sp.Rational(h)))
    assert float(y[-1]) == pytest.approx(R, rel=1e-14)


def test_ode_net_runs_and_counts_evaluations():
    torch.manual_seed(16)
    net = nets.ode_net("explicit_midpoint", 20, **TINY)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)
    assert [s.ode.func.nfe for s in net.stages] == [4, 4, 4]  # T = 2 steps, 2 evals each
    adj = nets.ode_net("rk38", 20, adjoint=True, **TINY)
    adj(torch.randn(2, 3, 8, 8)).sum().backward()
    assert adj.stages[0].ode.func.block.conv1.weight.grad is not None
    assert [s.kind for s in net.step_schemes()][:2] == ["entry", "ode"]


# -- He et al. (2016a)'s post-activation ResNet, the LM-ResNet paper's baseline (issue 15) --
@pytest.mark.parametrize("depth, count", [(20, 269_722), (32, 464_154), (44, 658_586), (56, 853_018),
                                          (110, 1_727_962)])
def test_post_activation_resnet_has_he_et_al_parameter_counts(depth, count):
    assert sum(p.numel() for p in nets.build("resnet", depth, preact=False).parameters()) == count
    assert sum(p.numel() for p in nets.build("resnet_postact", depth).parameters()) == count


def test_post_activation_resnet_computes_relu_of_u_plus_branch():
    torch.manual_seed(0)
    net = nets.build("resnet", 8, preact=False, widths=(4, 8, 8)).eval()
    x = torch.randn(2, 3, 8, 8)
    u = torch.relu(net.stem_bn(net.stem(x)))
    for stage in net.stages:
        for i, b in enumerate(stage.blocks):
            p, f = b.transition(u) if i == 0 else (u, b(u))
            u = torch.relu(p + f)           # conv-bn-relu-conv-bn, add, relu
    expected = net.fc(u.mean((2, 3)))
    torch.testing.assert_close(net(x), expected)
    blk = net.stages[1].blocks[0]
    assert blk.proj is None and [type(m).__name__ for m in blk.children()][:2] == ["Conv2d", "BatchNorm2d"]
    assert net.bn is None   # no bn-relu before the pool: the last step ended in a relu


def test_post_activation_options_are_checked():
    with pytest.raises(ValueError, match="post-activation blocks: block must be one of"):
        nets.build("resnet", 26, preact=False, block="shake")
    with pytest.raises(ValueError, match="resnet_postact"):
        nets.build("resnet_postact", 20, preact=True)
    projected = nets.build("resnet", 20, preact=False, shortcut="projection")
    # option B: a 1x1 convolution + bn at the two downsampling entries
    assert sum(p.numel() for p in projected.parameters()) == 269_722 + (16 * 32 + 32 * 64) + 2 * (32 + 64)


def test_step_schemes_read_back_in_the_family_terms():
    # a learned step is named by its family and its value (plot labels never collide), and
    # keeps the family's name for code that compares against the catalog
    torch.manual_seed(2)
    net = nets.lm_resnet(20, widths=(4, 4, 4))
    learned = {(c["stage"], c["block"]): c["value"] for c in net.learned_coefficients()}
    steps = [s for s in net.step_schemes() if s.kind == "scheme"]
    assert len(steps) == len(learned) == 6
    for s in steps:
        k = learned[(s.stage, s.block)]
        assert s.scheme.name == f"lm_resnet(k={format(k, '.4g')})" and s.scheme.family == "lm_resnet"
        assert repr(s.scheme) == f"LinearMultistep('lm_resnet(k={format(k, '.4g')})')"
        assert s.scheme.alpha[0] == schemes.get("lm_resnet").subs(k=k).alpha[0]   # exact, not the short label
    assert len({s.scheme.name for s in steps}) == 6
    assert schemes.get("lm_resnet").subs(k=0.31).name == "lm_resnet(k=0.31)"
