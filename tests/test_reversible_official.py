"""The reversible networks as their authors' code builds them (parameter counts from
changebo/revnet-public's configurations, computed by hand below), the paper's first
two-step steps, and the reconstruction error every reversible backward pass measures."""

import warnings

import pytest
import torch
from torch import nn

from numnet import data, nets
from numnet.nets import reversible as RV
from numnet.nets import reversible_nets as R
from numnet.nets.reversible import CouplingBlock, ReversibleStage
from numnet.schemes import partitioned as P
from numnet.train import Recipe, train


def count(net):
    return sum(p.numel() for p in net.parameters())


def hamiltonian_count(units, filters, classes=10):
    """The official Hamiltonian net's parameters, read off hamiltonian_model.py: stem
    conv3x3 (3 -> f0, no bias) + BN (2 f0); each unit = two functions F, G on halves c, each
    one 3x3 kernel K (9 c^2, used by conv and conv-transpose) + bn1 + bn2 (4 c), the net's
    first F without bn1 (no_activation); the first unit of stage s runs at the previous
    width; final BN (2 f3) and the logit layer (f3 classes + classes)."""
    total = 3 * 9 * filters[0] + 2 * filters[0]
    for s, n in enumerate(units):
        for i in range(n):
            c = (filters[s] if i == 0 else filters[s + 1]) // 2
            total += 2 * (9 * c * c + 4 * c)
    total -= 2 * (filters[0] // 2)  # the first F's missing bn1
    return total + 2 * filters[-1] + filters[-1] * classes + classes


def revnet_count(units, filters, classes=10):
    """The official RevNet's (revnet_model.py): each unit's F = bn1 (2 c_in) + conv3x3 c_in -> c
    + bn2 (2 c) + conv3x3 c -> c, G the same at c -> c; the first unit of a stage strides and
    widens in F; the net's first F has no bn1."""
    total = 3 * 9 * filters[0] + 2 * filters[0]
    for s, n in enumerate(units):
        for i in range(n):
            cin, c = (filters[s] if i == 0 else filters[s + 1]) // 2, filters[s + 1] // 2
            total += (2 * cin + 9 * cin * c + 2 * c + 9 * c * c) + (4 * c + 18 * c * c)
    total -= 2 * (filters[0] // 2)
    return total + 2 * filters[-1] + filters[-1] * classes + classes


# -- structure and parameter counts ---------------------------------------------------------
@pytest.mark.parametrize("name, depth, units, filters, expected", [
    ("hamiltonian", 38, [3, 3, 3], [32, 32, 64, 112], 191_050),  # the count from the official code
    ("hamiltonian", 110, [9, 9, 9], [32, 32, 64, 128], 811_914),
    ("revnet", 38, [3, 3, 3], [32, 32, 64, 112], 464_890),   # Gomez et al.'s table says 0.66M: see theory §5
    ("revnet", 110, [9, 9, 9], [32, 32, 64, 128], 1_729_194),  # the table's 1.73M
])
def test_parameter_counts_equal_the_official_code(name, depth, units, filters, expected):
    by_hand = (hamiltonian_count if name == "hamiltonian" else revnet_count)(units, filters)
    assert by_hand == expected
    assert count(nets.build(name, depth)) == expected


def test_numnet_variant_is_kept_as_a_named_structure():
    old = R.hamiltonian_net(38, structure="numnet")
    assert count(old) == 325_066
    assert isinstance(old.stages[1].transition, R.PairTransition) and old.stem_bn is None
    assert old.stages[0].stage.h == 0.1
    new = R.hamiltonian_net(38)
    assert isinstance(new.stages[1].transition, R.PoolPad) and new.stages[0].stage.h == 1.0
    assert [len(s.stage.blocks) for s in new.stages] == [4, 3, 2]  # each stage's first unit at the previous width
    assert sum(p.numel() for s in new.stages if s.transition is not None for p in s.transition.parameters()) == 0
    with pytest.raises(ValueError, match="structure must be one of"):
        R.hamiltonian_net(38, structure="paper")


def test_official_hamiltonian_function_is_bn_relu_k_bn_relu_k_transpose():
    torch.manual_seed(0)
    f = R.TransposedConvPair(3, preact=True).double().eval()
    for bn in (f.pre[0], f.norm):
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.data.uniform_(0.5, 2)
    z = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    u = torch.nn.functional.conv2d(torch.relu(f.pre[0](z)), f.weight, padding=1)
    expected = torch.nn.functional.conv_transpose2d(torch.relu(f.norm(u)), f.weight, padding=1)
    assert torch.allclose(f(z), expected, rtol=0, atol=1e-13)


def test_pool_pad_is_average_pooling_and_symmetric_zero_channels():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    out = R.PoolPad(1, 3)(x)
    assert out.shape == (1, 3, 2, 2)
    assert out[0, 1].tolist() == [[2.5, 4.5], [10.5, 12.5]] and out[0, 0].abs().sum() == 0 == out[0, 2].abs().sum()
    with pytest.raises(ValueError, match="difference is even"):
        R.PoolPad(2, 5)


# -- the paper's first steps ---------------------------------------------------------------
def _first_step(net, x):
    """(y_0, the first block, its output state) of a two-step net's forward on x (eval mode)."""
    seen = {}
    block = net.stages[0].stage.blocks[0]
    h1 = block.register_forward_hook(lambda m, args, out: seen.update(inp=args, out=out))
    net.eval()
    with torch.no_grad():
        y0 = torch.relu(net.stem_bn(net.stem(x)))
        net(x)
    h1.remove()
    return y0, block, seen


def test_leapfrog_first_step_is_eq_17():
    torch.manual_seed(0)
    net = R.leapfrog_net(8, widths=(4, 8, 8), num_classes=3).double()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    y0, block, seen = _first_step(net, x)
    with torch.no_grad():
        expected = 2 * y0 - block.h**2 * block.f(y0)  # Y1 = 2 Y0 - h^2 K^T sigma(K Y0 + b)
    assert torch.allclose(seen["out"][1], expected, rtol=0, atol=1e-13)
    assert torch.equal(seen["inp"][0], torch.zeros_like(y0))  # Y_{-1} = 0


def test_midpoint_first_step_is_forward_euler():
    torch.manual_seed(0)
    net = R.midpoint_net(8, widths=(4, 8, 8), num_classes=3).double()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    y0, block, seen = _first_step(net, x)
    with torch.no_grad():
        expected = y0 + block.h * block.f(y0)  # Y1 = Y0 + h f(Y0), not Y0 + 2h f(Y0)
    assert torch.allclose(seen["out"][1], expected, rtol=0, atol=1e-13)
    old = R.midpoint_net(8, widths=(4, 8, 8), num_classes=3, structure="numnet").double()
    assert old.stages[0].start == "repeat"
    with pytest.raises(ValueError, match="start must be one of"):
        R.midpoint_net(8, start="backward")


def test_midpoint_spectrum_imaginary_only_while_batch_norm_scales_are_nonnegative():
    """D(K − Kᵀ) with batch norm in eval mode: purely imaginary eigenvalues for γ ≥ 0, not for a γ < 0."""
    torch.manual_seed(0)
    f = R.AntisymmetricConv(2, activation=None).double().eval()
    f.norm.running_var.uniform_(0.5, 2.0)

    def max_real_part():
        jac = torch.autograd.functional.jacobian(lambda v: f(v.reshape(1, 2, 3, 3)).reshape(-1),
                                                 torch.zeros(18, dtype=torch.float64))
        return torch.linalg.eigvals(jac).real.abs().max().item()
    with torch.no_grad():
        f.norm.weight.copy_(torch.tensor([0.7, 1.9]))
    assert max_real_part() < 1e-12
    with torch.no_grad():
        f.norm.weight.copy_(torch.tensor([0.7, -1.9]))
    assert max_real_part() > 1e-2


# -- reconstruction error: measured, remedied, reported -------------------------------------------
def _unstable_stage(blocks=6, store_every=None):
    """Symplectic Euler on Y' = AZ, Z' = -BY, A and B random (eigenvalue products far from (0, 4)): the inverse amplifies rounding."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 4, generator=g), torch.randn(4, 4, generator=g)

    def lin(m):
        layer = nn.Linear(4, 4, bias=False)
        with torch.no_grad():
            layer.weight.copy_(m)
        return layer
    return ReversibleStage([CouplingBlock.from_scheme(P.get("symplectic_euler"), 1.0, [lin(a), lin(b)])
                            for _ in range(blocks)], store_every=store_every)


def test_reconstruction_error_is_measured_and_a_stored_state_every_n_blocks_bounds_it():
    y, z = torch.randn(3, 4, requires_grad=True), torch.randn(3, 4)
    errors = {}
    for every in (None, 1):
        stage = _unstable_stage(store_every=every)
        out = stage(y, z)
        (out[0].sum() * 1e-30).backward()
        errors[every] = float(stage.reconstruction_error)
    assert errors[None] > 1e-2  # float32 rounding grown through 6 unstable inverse steps (measured 1.4)
    assert errors[1] < 1e-5
    with pytest.raises(ValueError, match="store_every must be a positive integer"):
        _unstable_stage(store_every=0)


def test_stored_states_keep_gradients_equal_to_ordinary_autograd():
    torch.manual_seed(0)
    a = R.hamiltonian_net(26, widths=(4, 4, 8), num_classes=3, store_every=1).double()
    b = R.hamiltonian_net(26, widths=(4, 4, 8), num_classes=3, reversible=False).double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    a(x).square().sum().backward(), b(x).square().sum().backward()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, rtol=1e-10, atol=1e-13)
    assert a.store_every == 1 and a.reconstruction_error() < 1e-12


@pytest.fixture(scope="module")
def splits():
    return data.load("synthetic", train_size=32, test_size=16, val_split=8, image_size=8)


def test_reconstruction_error_is_in_every_reversible_runs_metrics_and_warns_past_the_threshold(splits, monkeypatch):
    recipe = Recipe("tiny", epochs=1, batch_size=16, milestones=(), pad=0, flip=False)
    torch.manual_seed(0)
    net = nets.build("revnet", 14, widths=(4, 8, 8), in_channels=splits.train.images.shape[1],
                     num_classes=splits.num_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning below the threshold
        r = train(net, splits, recipe, progress=False)
    err = r.history[0]["reconstruction_error"]
    assert 0 <= err < RV.RECONSTRUCTION_TOLERANCE
    assert RV.reconstruction_tolerance(torch.float32) == RV.RECONSTRUCTION_TOLERANCE == 1e-3
    monkeypatch.setattr(RV, "reconstruction_tolerance", lambda dtype: err / 2)
    with pytest.warns(RuntimeWarning, match=r"reconstructed its states with relative error .*\(net\.store_every = N\)"):
        train(net, splits, recipe, progress=False)
    plain = train(nets.build("resnet", 8, widths=(4, 4, 4), num_classes=splits.num_classes), splits, recipe,
                  progress=False)
    assert "reconstruction_error" not in plain.history[0]


@pytest.mark.parametrize("name", ["hamiltonian", "revnet", "leapfrog_net"])
def test_gradients_exact_after_a_zero_padding_transition(name):
    """The zero channels PoolPad adds meet batch norm (shift 0) and ReLU exactly at the kink:
    reconstructed with any rounding error they flip ReLU's derivative. The first block of
    each stage therefore reverses from its stored output (measured before: Hamiltonian-218
    float32 gradients off by 345 % in that block's batch-norm shift, 8.6 % after, the same
    as ordinary float32 autograd against float64)."""
    torch.manual_seed(0)
    depth = 26 if name != "leapfrog_net" else 14
    a = nets.build(name, depth, widths=(4, 8, 16), num_classes=3).double()
    b = nets.build(name, depth, widths=(4, 8, 16), num_classes=3, reversible=False).double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    a(x).square().mean().backward(), b(x).square().mean().backward()
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, rtol=1e-8, atol=1e-12), n
