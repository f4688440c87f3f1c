"""Jacobian spectra of residual branches: exact on linear maps, Arnoldi = full where it must."""

import copy

import numpy as np
import pytest
import torch

from numnet import nets

from numnet.study.spectra import arnoldi_ritz, block_spectra, jacobian_eigenvalues


def sorted_c(z):
    return np.sort_complex(np.round(np.asarray(z), 9))


def test_linear_map_eigenvalues_full_and_arnoldi():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(6, 6, generator=g, dtype=torch.float64)
    x = torch.randn(2, 6, generator=g, dtype=torch.float64)
    expect = sorted_c(np.linalg.eigvals(A.numpy()))
    full = jacobian_eigenvalues(lambda u: u @ A.T, x, method="full")
    ritz = jacobian_eigenvalues(lambda u: u @ A.T, x, method="arnoldi", krylov_dim=6)
    for got in (full[0], full[1], ritz[0], ritz[1]):
        assert np.allclose(sorted_c(got), expect, atol=1e-8)


def test_nonlinear_map_is_linearised_at_each_sample():
    # F(u) = tanh(W u): J = diag(1 - tanh^2(W u)) W, different per sample
    g = torch.Generator().manual_seed(1)
    W = torch.randn(5, 5, generator=g, dtype=torch.float64)
    x = torch.randn(3, 5, generator=g, dtype=torch.float64)
    eig = jacobian_eigenvalues(lambda u: torch.tanh(u @ W.T), x, method="full")
    for i in range(3):
        J = torch.diag(1 - torch.tanh(W @ x[i]) ** 2) @ W
        assert np.allclose(sorted_c(eig[i]), sorted_c(np.linalg.eigvals(J.numpy())), atol=1e-8)


def test_arnoldi_finds_the_dominant_eigenvalue_and_survives_breakdown():
    d = torch.tensor([-10.0, -1.0, -0.9, -0.5, -0.4, -0.3, -0.2, -0.1] + [-0.05] * 32, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    Q, _ = torch.linalg.qr(torch.randn(40, 40, generator=g, dtype=torch.float64))
    A = Q @ torch.diag(d) @ Q.T
    ritz = arnoldi_ritz(lambda v: v @ A.T, torch.randn(1, 40, generator=g, dtype=torch.float64), 8)
    assert ritz.shape == (1, 8) and abs(ritz[0][np.argmax(abs(ritz[0]))] + 10) < 1e-8
    # v0 = e1 on a diagonal matrix: the Krylov space closes after one step
    D = torch.diag(torch.arange(1.0, 6.0, dtype=torch.float64))
    e1 = torch.zeros(1, 5, dtype=torch.float64)
    e1[0, 0] = 1
    ritz = arnoldi_ritz(lambda v: v @ D.T, e1, 5)
    assert np.allclose(sorted_c(ritz[0]), [1, 2, 3, 4, 5])


class TinyNet(torch.nn.Module):
    """Conv residual blocks with batch norm, then a downsampling block."""

    def __init__(self):
        super().__init__()
        self.f = torch.nn.ModuleList([torch.nn.Sequential(torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
                                                          torch.nn.Conv2d(2, 2, 3, padding=1)) for _ in range(2)])
        self.down = torch.nn.Conv2d(2, 4, 3, stride=2, padding=1)

    def forward(self, u):
        for f in self.f:
            u = u + f(u)
        return self.down(u)

    def residual_branches(self):
        return [*self.f, self.down, None]


def test_block_spectra_of_a_conv_net_match_the_full_jacobian():
    torch.manual_seed(0)
    net = TinyNet()
    for bn in (net.f[0][0], net.f[1][0]):  # non-trivial running statistics
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    net.train()
    x = torch.randn(3, 2, 4, 4)
    full = block_spectra(net, x, samples=2)
    ritz = block_spectra(net, x, samples=2, method="arnoldi", krylov_dim=32)
    assert net.training  # the model itself is left as it was
    assert full[2] is None and ritz[2] is None  # the downsampling block has no eigenvalues
    assert full[3] is None and len(full) == 4  # a step given without a branch
    # by hand: the second branch's Jacobian at its eval-mode input, in float64
    net64 = TinyNet().double()
    net64.load_state_dict(net.state_dict())
    net64.eval()
    with torch.no_grad():
        u = x[:2].double()
        u = u + net64.f[0](u)
    for i in range(2):
        J = torch.autograd.functional.jacobian(lambda v: net64.f[1](v.reshape(1, 2, 4, 4)).reshape(-1),
                                               u[i].reshape(-1))
        expect = sorted_c(np.linalg.eigvals(J.numpy()))
        assert np.allclose(sorted_c(full[1][i]), expect, atol=1e-7)
        assert np.allclose(sorted_c(ritz[1][i]), expect, atol=1e-6)


def test_step_size_scales_the_eigenvalues():
    torch.manual_seed(0)
    net = TinyNet()
    x = torch.randn(2, 2, 4, 4)
    one = block_spectra(net, x, samples=1)
    half = block_spectra(net, x, samples=1, h=[0.5, 0.25, 1.0, 1.0])
    assert np.allclose(half[0], 0.5 * one[0]) and np.allclose(half[1], 0.25 * one[1])
    with pytest.raises(ValueError, match="one per branch"):
        block_spectra(net, x, h=[1.0])


def test_bad_input():
    with pytest.raises(ValueError, match="onto its own space"):
        jacobian_eigenvalues(lambda u: u[:, :2], torch.zeros(1, 3))
    with pytest.raises(ValueError, match="method must be"):
        jacobian_eigenvalues(lambda u: u, torch.zeros(1, 3), method="qr")
    with pytest.raises(TypeError, match="residual_branches"):
        block_spectra(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="not submodules"):
        block_spectra(TinyNet(), torch.zeros(1, 2, 4, 4), branches=[torch.nn.Linear(2, 2)])


def _inputs_seen(net, modules, x):
    """The first input each module receives in an eval-mode float64 forward of ``net``."""
    seen = {}
    handles = [m.register_forward_pre_hook(lambda mod, args, i=i: seen.setdefault(i, args[0].detach()))
               for i, m in enumerate(modules) if m is not None]
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return seen


@pytest.mark.parametrize("name, depth, options", [
    ("lm_resnet", 14, {}),
    ("scheme_net", 14, {"scheme": "heun", "rk_blocks": "shared"}),
    ("midpoint_net", 8, {}),
])
def test_the_nets_expose_their_branches_and_step_sizes(name, depth, options):
    """block_spectra on a built net, with no branches given, equals the eigenvalues of each
    step's field Jacobian at the state the step sees, times the step's h."""
    from numnet.nets.multiscale import prolong_depth

    torch.manual_seed(0)
    net = nets.build(name, depth, widths=(2, 4, 4), in_channels=1, **options)
    if not hasattr(net.stages[0], "stage"):  # scheme-built nets can also grow: h = 1/2
        net = prolong_depth(net, 2, "constant")
    x = torch.randn(2, 1, 4, 4)
    spectra = block_spectra(net, x, samples=1, method="full")
    branches, hs = net.residual_branches(), net.step_sizes()
    assert len(spectra) == len(branches) == len(hs) == len(net.step_schemes())
    net64 = copy.deepcopy(net).double().eval()
    modules = [None if b is None else net64.get_submodule(n) for b in branches
               for n in [next((n for n, m in net.named_modules() if m is b), None)]]
    seen = _inputs_seen(net64, modules, x[:1].double())
    square = 0
    for i, (m, h, eig) in enumerate(zip(modules, hs, spectra)):
        if m is None:
            assert eig is None and h is None
            continue
        u = seen[i]
        if m(u).shape != u.shape:  # a downsampling entry block
            assert eig is None
            continue
        J = torch.autograd.functional.jacobian(lambda v: m(v.reshape(u.shape)).reshape(-1), u.reshape(-1))
        expect = sorted_c(h * np.linalg.eigvals(J.numpy()))
        assert np.allclose(sorted_c(eig[0]), expect, atol=1e-7), i
        square += 1
    assert square >= 3
    assert set(h for h in hs if h is not None) == ({0.1} if hasattr(net.stages[0], "stage") else {0.5})
