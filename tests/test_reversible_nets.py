"""Reversible networks: exact inverses, gradients and batch-norm statistics equal to ordinary
autograd, memory flat in depth, linear stability bounds, LM-ResNet's unsafe inversion and
the checkpointing that replaces it."""

import copy

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from torch import nn

from numnet import nets
from numnet.nets import BasicBlock
from numnet.nets import reversible_nets as R
from numnet.nets.memory import SavedTensors
from numnet.nets.reversible import (Checkpointed, CouplingBlock, MultistepBlock, ReversibleStage, frozen_batch_norm,
                                    inversion_error)
from numnet.schemes import get as get_lmm
from numnet.schemes import partitioned as P

NETS = {  # builder, smallest depth
    "hamiltonian": (R.hamiltonian_net, 14),
    "revnet": (R.revnet, 14),
    "midpoint": (R.midpoint_net, 8),
    "leapfrog": (R.leapfrog_net, 8),
}
STAGES = {
    "hamiltonian": (R.hamiltonian_stage, True),
    "revnet": (R.revnet_stage, True),
    "midpoint": (R.midpoint_stage, False),
    "leapfrog": (R.leapfrog_stage, False),
}


def _state(split, x):
    return (x, torch.randn_like(x)) if split else (x, x + 0.1 * torch.randn_like(x))


# -- exact inverses over many blocks ----------------------------------------------------
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.float64, 1e-11)])
@pytest.mark.parametrize("name", list(STAGES))
def test_inverse_reconstructs_the_input_over_120_blocks(name, dtype, tol):
    torch.manual_seed(1)
    make, split = STAGES[name]
    stage = make(4, 120).to(dtype)  # training mode: batch norms use batch statistics
    state = _state(split, torch.randn(3, 4, 6, 6, dtype=dtype))
    with torch.no_grad():
        out = stage(*state)
    before = [b.clone() for b in stage.buffers()]
    back = stage.inverse(*out)
    for a, b in zip(state, back):
        assert (b - a).norm() / a.norm() < tol
    assert all(torch.equal(b0, b1) for b0, b1 in zip(before, stage.buffers()))  # inverse leaves BN stats alone


# -- gradients and batch norm: reversible vs ordinary autograd ---------------------------------
def _pair(name, dtype, seed=0):
    torch.manual_seed(seed)
    make, depth = NETS[name]
    a = make(depth=depth, widths=(4, 8, 8), num_classes=3).to(dtype)
    b = copy.deepcopy(a)
    b.reversible = False
    assert a.reversible and not b.reversible
    return a, b


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("name", list(NETS))
def test_reversible_gradients_equal_ordinary_autograd(name, dtype, tol):
    a, b = _pair(name, dtype)
    x, y = torch.randn(4, 3, 8, 8, dtype=dtype), torch.tensor([0, 1, 2, 1])
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    la, lb = F.cross_entropy(a(xa), y), F.cross_entropy(b(xb), y)
    assert torch.equal(la, lb)  # the forward passes are the same computation
    la.backward()
    lb.backward()
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert (pa.grad - pb.grad).norm() <= tol * pb.grad.norm() + 1e-30, n
    assert (xa.grad - xb.grad).norm() <= tol * xb.grad.norm()


@pytest.mark.parametrize("name", list(NETS))
def test_batch_norm_statistics_equal_after_a_training_step(name):
    a, b = _pair(name, torch.float32, seed=3)
    opt_a, opt_b = (torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (a, b))
    x, y = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    for model, opt in ((a, opt_a), (b, opt_b)):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    for (n, ba), bb in zip(a.named_buffers(), b.buffers()):
        assert torch.equal(ba, bb), n  # running statistics: bit-for-bit
        if n.endswith("num_batches_tracked"):
            assert int(ba) == 1, n  # updated once, not again in the backward pass
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, rtol=1e-5, atol=1e-6)
    a.eval(), b.eval()  # and the stepped networks agree in evaluation
    with torch.no_grad():
        assert torch.allclose(a(x), b(x), rtol=1e-5, atol=1e-5)


def test_eval_mode_gradients_also_match():
    a, b = _pair("hamiltonian", torch.float64)
    a.eval(), b.eval()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    a(x).square().sum().backward()
    b(x).square().sum().backward()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, rtol=1e-10, atol=1e-14)


# -- memory -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hamiltonian", "leapfrog"])
def test_saved_activations_flat_in_depth_only_when_reversible(name):
    make, depth = NETS[name]
    per = depth - 2
    depth += 3 * per  # n >= 4: 3+ blocks a section (official layout n + 1, n, n - 1), no kept state shared with another
    saved = {}
    for rev in (True, False):
        for d in (depth, depth + 3 * per):
            torch.manual_seed(0)
            net = make(depth=d, widths=(4, 8, 8), num_classes=3, reversible=rev)
            with SavedTensors(exclude=list(net.parameters()) + list(net.buffers())) as s:
                net(torch.randn(2, 3, 8, 8)).sum()
            saved[rev, d] = s.bytes
    assert saved[True, depth] == saved[True, depth + 3 * per]
    assert saved[False, depth + 3 * per] > 1.5 * saved[False, depth]  # twice the blocks
    assert saved[True, depth + 3 * per] < saved[False, depth + 3 * per] / 3


# -- structure and linear stability of the blocks ----------------------------------------------
def test_transposed_convolution_is_the_adjoint_of_the_convolution():
    w = torch.randn(5, 3, 3, 3, dtype=torch.float64)
    x, y = torch.randn(2, 3, 7, 6, dtype=torch.float64), torch.randn(2, 5, 7, 6, dtype=torch.float64)
    lhs = (F.conv2d(x, w, padding=1) * y).sum()
    rhs = (x * F.conv_transpose2d(y, w, padding=1)).sum()
    assert torch.isclose(lhs, rhs, rtol=1e-13)


def test_hamiltonian_block_preserves_volume():
    """det ∂(Y', Z')/∂(Y, Z) = 1 for a block of kicks, batch norm (batch statistics) included."""
    torch.manual_seed(0)
    blk = CouplingBlock.from_scheme(P.get("stormer_verlet"), 0.7, [R.TransposedConvPair(1) for _ in range(3)]).double()
    y, z = torch.randn(2, 1, 3, 3, dtype=torch.float64), torch.randn(2, 1, 3, 3, dtype=torch.float64)

    def flat(v):
        a, b = blk(v[:18].view(2, 1, 3, 3), v[18:].view(2, 1, 3, 3))
        return torch.cat([a.flatten(), b.flatten()])

    with frozen_batch_norm(blk):
        J = torch.autograd.functional.jacobian(flat, torch.cat([y.flatten(), z.flatten()]))
    assert not torch.allclose(J, torch.eye(36, dtype=torch.float64))
    assert torch.linalg.det(J).item() == pytest.approx(1.0, abs=1e-10)


def _top_eigenvalue(op, shape, iters=300):
    """Largest eigenvalue of a symmetric positive semidefinite linear map, by power iteration."""
    v = torch.randn(shape, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(iters):
            v = op(v)
            v = v / v.norm()
        return float((v * op(v)).sum())


def _linear_case(name):
    """(largest stable h from numnet.schemes, block factory h ↦ block, initial state) for
    linear blocks (σ = identity, no norm) that all share one kernel K."""
    torch.manual_seed(0)
    shape = (1, 3, 6, 6)
    x, x2 = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    if name == "midpoint":  # A = K − Kᵀ antisymmetric, spectrum ±iμ, μ² = λ_max(−A²)
        f = R.AntisymmetricConv(3, norm=False, activation=None).double()
        mu = np.sqrt(_top_eigenvalue(lambda v: -f(f(v)), shape))
        bound = float(P.imaginary_stability_set(get_lmm("leapfrog")).sup) / mu
        return bound, lambda h: MultistepBlock(get_lmm("leapfrog"), f, h), (x, x)
    f = R.TransposedConvPair(3, norm=False, activation=None).double()
    lam2 = _top_eigenvalue(f, shape)  # largest eigenvalue of KᵀK: σ_max(K)²
    if name == "leapfrog":  # y'' = −KᵀK y: λ = σ_max(K)
        bound = float(P.get("stormer").step_bound().subs(P.LAM, np.sqrt(lam2)))
        return bound, lambda h: MultistepBlock(P.get("stormer"), f, h, sign=-1.0), (x, x)
    se = P.get("symplectic_euler")  # both kicks through KᵀK: a = b = σ_max(K)²
    bound = float(se.step_bound().subs({P.A: lam2, P.B: lam2}))
    return bound, lambda h: CouplingBlock.from_scheme(se, h, [f, f]), (x, x2)


@pytest.mark.parametrize("factor,stable", [(0.95, True), (1.05, False)])
@pytest.mark.parametrize("name", ["leapfrog", "midpoint", "hamiltonian"])
def test_linear_blocks_stable_exactly_inside_the_scheme_bound(name, factor, stable):
    """Bounded for h just below the bound numnet.schemes derives (leapfrog 2/σ_max(K),
    midpoint 1/μ, Hamiltonian 2/√(ab)), exponential growth just above, over 150 blocks."""
    bound, block, state = _linear_case(name)
    stage = ReversibleStage([block(factor * bound) for _ in range(150)])
    with torch.no_grad():
        out = stage(*state)
    growth = float(out[-1].norm() / state[-1].norm())
    assert (growth < 30) if stable else (growth > 1e6)


# -- LM-ResNet: reversible in exact arithmetic only ---------------------------------------------
def test_lm_resnet_inversion_error_grows_like_the_product_of_1_over_k():
    err32, ks = inversion_error(12, torch.float32, seed=0)
    err64, ks64 = inversion_error(12, torch.float64, seed=0)
    assert torch.equal(ks, ks64) and (ks < 0).all() and (ks >= -0.1).all()
    predicted = torch.cumprod(1 / ks.abs().flip(0), 0)  # the last j blocks are inverted first
    for err, eps in ((err32, 2.0**-24), (err64, 2.0**-53)):
        j = torch.nonzero((err[1:] < 1e-2) & (err[1:] > 0)).flatten()  # before saturation
        assert len(j) >= 3
        slope = np.polyfit(np.log(predicted[j].numpy()), np.log(err[1:][j].numpy()), 1)[0]
        assert 0.8 < slope < 1.2, slope  # error ∝ Π |1/k_n|
        assert (err[1:][j] / (eps * predicted[j])).max() < 10
    assert err32[6] > 1e-2 and err64[6] < 1e-8 and err32[12] > 1  # float32 gone after ~6 blocks
    mid32, _ = inversion_error(200, torch.float32, scheme="leapfrog")
    assert mid32.max() < 1e-5  # the midpoint rule inverts without growth


def test_inversion_error_bad_input():
    with pytest.raises(ValueError, match="blocks must be a positive integer"):
        inversion_error(0)
    with pytest.raises(ValueError, match="k_range"):
        inversion_error(3, k_range=(0.0, -0.1))
    with pytest.raises(ValueError, match="ab1 is not reversible"):
        MultistepBlock(get_lmm("ab1"), nn.Identity(), 0.1).inverse(torch.zeros(1))


# -- checkpointing: exact for any stage ----------------------------------------------------------
def _lm_blocks(n, channels=4, seed=0):
    torch.manual_seed(seed)
    ks = -0.1 * torch.rand(n)
    lm = get_lmm("lm_resnet")
    return [MultistepBlock(lm.subs(k=float(k)), BasicBlock(channels, channels), 1.0) for k in ks]


def test_lm_resnet_blocks_are_refused_by_the_reversible_stage():
    with pytest.raises(ValueError, match="use reversible=False or Checkpointed"):
        ReversibleStage([MultistepBlock(get_lmm("ab1"), nn.Identity(), 0.1)])


@pytest.mark.parametrize("segment", [1, 3])
def test_checkpointed_stage_matches_ordinary_autograd(segment):
    blocks = _lm_blocks(6)
    plain = ReversibleStage(copy.deepcopy(blocks), reversible=False)
    ckpt = Checkpointed(blocks, segment=segment)
    x = torch.randn(3, 4, 6, 6)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    with SavedTensors(exclude=list(ckpt.parameters()) + list(ckpt.buffers())) as s_ckpt:
        oa = ckpt(xa, xa)
    with SavedTensors(exclude=list(plain.parameters()) + list(plain.buffers())) as s_plain:
        ob = plain(xb, xb)
    assert all(torch.equal(u, v) for u, v in zip(oa, ob))
    (oa[-1].square().sum() + oa[0].sum()).backward()
    (ob[-1].square().sum() + ob[0].sum()).backward()
    for pa, pb in zip(ckpt.parameters(), plain.parameters()):
        assert torch.allclose(pa.grad, pb.grad, rtol=1e-5, atol=1e-7)
    assert torch.allclose(xa.grad, xb.grad, rtol=1e-5, atol=1e-7)
    for ba, bb in zip(ckpt.buffers(), plain.buffers()):
        assert torch.equal(ba, bb)  # one running-statistics update, not two
    assert s_ckpt.bytes < s_plain.bytes / 2


def test_checkpointed_wraps_hamiltonian_blocks_too():
    torch.manual_seed(0)
    stage = R.hamiltonian_stage(2, 4)
    ckpt = Checkpointed(copy.deepcopy(list(stage.blocks)), segment=2)
    y, z = torch.randn(2, 2, 4, 4), torch.randn(2, 2, 4, 4)
    sum(t.sum() for t in stage(y, z)).backward()
    sum(t.sum() for t in ckpt(y, z)).backward()
    for pa, pb in zip(stage.parameters(), ckpt.parameters()):
        assert torch.allclose(pa.grad, pb.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("net, options", [
    ("lm_resnet", {}), ("adams_net", {"steps": 3, "learnable": True}), ("scheme_net", {"scheme": "heun"}),
    ("lm_resnet", {"stochastic_depth": 0.5}),
])
@pytest.mark.parametrize("every", [1, 3])
def test_per_step_checkpointing_of_scheme_stages_is_exact(net, options, every):
    """SchemeStage(checkpoint=n): the same loss, gradients (k and β included) and running
    statistics as ordinary autograd, with a fraction of the stored activations."""
    torch.manual_seed(0)
    a = nets.build(net, 56, widths=(4, 8, 8), num_classes=3, **options).double()
    b = copy.deepcopy(a)
    for stage in b.stages:
        stage.checkpoint = every
    x, y = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 1])
    saved, losses = [], []
    for m in (a, b):
        torch.manual_seed(1)  # the same stochastic-depth gates
        with SavedTensors(exclude=list(m.parameters()) + list(m.buffers())) as s:
            loss = F.cross_entropy(m(x), y)
        loss.backward()
        saved.append(s.bytes)
        losses.append(loss.item())
    assert losses[0] == losses[1]
    assert saved[1] < 0.6 * saved[0]
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert (pa.grad is None) == (pb.grad is None)  # stochastic depth: dropped blocks get none
        if pa.grad is not None:
            assert torch.allclose(pa.grad, pb.grad, rtol=1e-10, atol=1e-14)
    assert all(torch.equal(u, v) for u, v in zip(a.buffers(), b.buffers()))  # statistics updated once


def test_checkpointed_lm_resnet_memory_is_about_one_state_per_step():
    """LM-ResNet-110 with checkpoint=1 keeps the history it starts each step from (one state
    per step, the previous one shared) plus the stem, entry blocks and head."""
    x = torch.randn(2, 3, 32, 32)
    saved = {}
    for every in (0, 1):
        torch.manual_seed(0)
        m = nets.build("lm_resnet", 110, checkpoint=every)
        with SavedTensors(exclude=list(m.parameters()) + list(m.buffers())) as s:
            m(x)
        saved[every] = s.bytes
    states = 17 * 2 * 4 * (16 * 32 * 32 + 32 * 16 * 16 + 64 * 8 * 8)  # 17 steps after each entry
    assert states <= saved[1] < states + 0.1 * saved[0]
    assert saved[1] < 0.35 * saved[0]


# -- errors ----------------------------------------------------------------------------------
def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match=r"depth must be 6n\+2 for midpoint_net \(8, 14, 20"):
        R.midpoint_net(depth=21)
    with pytest.raises(ValueError, match=r"depth must be 18n\+2 for hamiltonian with stormer_verlet"):
        R.hamiltonian_net(depth=26, scheme="stormer_verlet")
    with pytest.raises(ValueError, match="same state"):
        R.hamiltonian_net(depth=14, scheme="forward_euler_pair")
    with pytest.raises(ValueError, match="partitioned one-step scheme"):
        R.hamiltonian_net(depth=14, scheme="stormer")
    with pytest.raises(ValueError, match="widths must be even"):
        R.revnet(depth=14, widths=(4, 6, 9))
    with pytest.raises(ValueError, match="three positive integers"):
        R.leapfrog_net(depth=8, widths=(4, 8))
    with pytest.raises(ValueError, match="history must be 'project' or 'restart'"):
        R.midpoint_net(depth=8, history="keep")
    with pytest.raises(ValueError, match="free symbols"):
        MultistepBlock(get_lmm("lm_resnet"), nn.Identity(), 0.1)
    with pytest.raises(ValueError, match="older states"):
        MultistepBlock(get_lmm("ab2"), nn.Identity(), 0.1)
    with pytest.raises(ValueError, match="implicit"):
        MultistepBlock(get_lmm("am1"), nn.Identity(), 0.1)
    with pytest.raises(ValueError, match="state of 2 tensors, got 1"):
        MultistepBlock(get_lmm("leapfrog"), nn.Identity(), 0.1)(torch.zeros(1))
    with pytest.raises(ValueError, match="one function per kick"):
        CouplingBlock([("Y", 1.0), ("Z", 1.0)], [nn.Identity()])
    with pytest.raises(ValueError, match="segment must be a positive integer"):
        Checkpointed([nn.Identity()], segment=0)


def test_restart_history_uses_only_the_newest_state():
    torch.manual_seed(0)
    t = R.HistoryTransition(2, 4, "restart")
    a, b = torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4)
    out = t(a, b)
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], t.proj(b))
    out = R.HistoryTransition(2, 4, "project")(a, b)
    assert not torch.equal(out[0], out[1])


def test_networks_are_built_by_name_and_report_their_schemes():
    net = nets.build("hamiltonian", 20, scheme="stormer_verlet", widths=(4, 4, 4), num_classes=5)
    assert isinstance(net, nets.ResidualNet) and net.reversible
    steps = net.step_schemes()
    assert len(steps) == 3 and {s.scheme.name for s in steps} == {"stormer_verlet"}
    assert steps[0].scheme.stability_condition() == P.get("stormer_verlet").stability_condition()
    assert net.learned_coefficients() == []
    schemes_of = {name: nets.build(name, d, widths=(4, 4, 4)).scheme.name
                  for name, d in (("midpoint_net", 8), ("leapfrog_net", 8), ("revnet", 14))}
    assert schemes_of == {"midpoint_net": "leapfrog", "leapfrog_net": "stormer", "revnet": "symplectic_euler"}
    x = torch.randn(2, 3, 8, 8)
    assert net(x).shape == (2, 5)
    with pytest.raises(ValueError, match="fixes its scheme"):
        nets.build("midpoint_net", 8, scheme="leapfrog")
    with pytest.raises(ValueError, match="net must be one of .*'revnet'"):
        nets.build("revnet2", 14)


def test_step_bound_is_exact_sympy():
    assert P.get("stormer").step_bound() == 2 / P.LAM
    assert sp.simplify(P.get("symplectic_euler").step_bound() - 2 / sp.sqrt(P.A * P.B)) == 0


# -- growing in depth (h halved, blocks doubled: numnet.nets.multiscale) ----------------
def _linear_hamiltonian_stage(blocks, h, a, b):
    """Symplectic Euler on Y' = A Z, Z' = −B Y: F(Z) = A Z, G(Y) = B Y as bias-free Linear maps."""
    def lin(m):
        layer = nn.Linear(m.shape[1], m.shape[0], bias=False).double()
        with torch.no_grad():
            layer.weight.copy_(m)
        return layer
    return ReversibleStage([CouplingBlock.from_scheme(P.get("symplectic_euler"), h, [lin(a), lin(b)])
                            for _ in range(blocks)])


def test_grown_reversible_stage_converges_to_the_flow_at_first_order():
    from scipy.linalg import expm

    from numnet.nets.multiscale import depth_profile, prolong_depth, restrict_depth

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 3, generator=g, dtype=torch.float64), torch.randn(3, 3, generator=g, dtype=torch.float64)
    y0, z0 = torch.randn(1, 3, generator=g, dtype=torch.float64), torch.randn(1, 3, generator=g, dtype=torch.float64)
    T = 1.0
    # Y' = A Z, Z' = −B Y as one linear system on (Y, Z): the exact flow is expm
    m = np.block([[np.zeros((3, 3)), a.numpy()], [-b.numpy(), np.zeros((3, 3))]])
    exact = expm(T * m) @ np.concatenate([y0[0].numpy(), z0[0].numpy()])
    stage = _linear_hamiltonian_stage(4, T / 4, a, b)
    errors = []
    for level in range(5):
        y, z = stage(y0, z0)
        errors.append(np.linalg.norm(torch.cat([y, z], 1)[0].detach().numpy() - exact))
        if level < 4:
            before = stage
            stage = prolong_depth(stage, 2, "constant")
            assert depth_profile(stage) == [2 * len(before.blocks)] and stage.h == before.h / 2
            assert stage.blocks[0].kicks == (("Y", stage.h), ("Z", -stage.h))
    slopes = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(slopes[1:] - 1) < 0.15), slopes  # symplectic Euler: order 1
    back = restrict_depth(stage, 16)
    assert back.h == T / 4 and len(back.blocks) == 4
    assert torch.allclose(back.blocks[0].functions[0].weight, a, rtol=0, atol=1e-14)  # mean of 16 copies


def test_reversible_net_grows_from_depth_14_to_26_and_stays_reversible():
    from numnet.nets.multiscale import prolong_depth

    torch.manual_seed(0)
    net = nets.build("hamiltonian", 14, widths=(4, 4, 8), num_classes=3, structure="numnet")
    deep = prolong_depth(net, 2, "constant")
    assert deep.depth == 26 and [len(s.stage.blocks) for s in deep.stages] == [2, 2, 2]
    assert all(s.stage.h == 0.05 for s in deep.stages) and deep.reversible
    # the official layout (n + 1, n, n - 1 blocks): the first block (no batch norm before K) is kept
    official = nets.build("hamiltonian", 26, widths=(4, 4, 8), num_classes=3)
    grown = prolong_depth(official, 2, "constant")
    assert [len(s.stage.blocks) for s in grown.stages] == [5, 4, 2] and grown.depth == 2 + 4 * 11
    assert grown.stages[0].stage.blocks[0] is not official.stages[0].stage.blocks[0]
    assert grown.stages[0].stage.blocks[0].functions[0].pre is None and grown.stages[1].stage.h == 0.5
    grown(torch.randn(2, 3, 8, 8)).sum().backward()
    x = torch.randn(2, 3, 8, 8)
    deep(x).sum().backward()  # the reconstructing backward pass runs on the grown blocks
    assert all(p.grad is not None for p in deep.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match="step size h must be a positive number, got -1"):
        deep.stages[0].stage.h = -1
