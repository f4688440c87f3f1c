"""Resolution transfer: the operators R, P, the 3x3 kernel map and whole networks."""

import math

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from torch import nn

from numnet.nets.multiscale import grids
from numnet.nets.multiscale import (InputRestriction, cross_resolution_accuracy, get_transfer, recalibrate_batchnorm,
                                    transfer_linear_head, transfer_network)

GALERKIN, BILINEAR = get_transfer("galerkin"), get_transfer("bilinear")
IDENTITY = sp.Matrix([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
LAPLACIAN = sp.Matrix([[0, 1, 0], [1, -4, 1], [0, 1, 0]])


def apply_exact(transfer, stencil, inverse=False):
    m = transfer.inverse_stencil_map if inverse else transfer.stencil_map
    return (m * stencil.reshape(9, 1)).reshape(3, 3)


# -- exact operator identities ----------------------------------------------------------
def test_identity_stencil_maps_to_identity_under_galerkin():
    assert apply_exact(GALERKIN, IDENTITY) == IDENTITY
    assert apply_exact(GALERKIN, IDENTITY, inverse=True) == IDENTITY


def test_laplacian_maps_to_half_laplacian_under_galerkin():
    assert apply_exact(GALERKIN, LAPLACIAN) == LAPLACIAN / 2
    assert apply_exact(GALERKIN, LAPLACIAN / 2, inverse=True) == LAPLACIAN


def test_centred_differences_map_to_half_themselves_and_sums_are_kept():
    dx = sp.Matrix([[0, 0, 0], [-1, 0, 1], [0, 0, 0]]) / 2
    assert apply_exact(GALERKIN, dx) == dx / 2
    smooth = sp.Matrix([1, 6, 1]) / 8      # bilinear smooths across the difference
    assert apply_exact(BILINEAR, dx) == smooth * dx.row(1) / 2
    k = sp.Matrix(3, 3, sp.symbols("k0:9"))
    for t in (GALERKIN, BILINEAR):   # R K P of a constant image: constants are kept
        assert sp.expand(sum(apply_exact(t, k)) - sum(k)) == 0


def test_bilinear_maps_identity_to_a_smoothing_stencil():
    smooth = sp.Matrix([1, 6, 1]) / 8
    assert apply_exact(BILINEAR, IDENTITY) == smooth * smooth.T
    # the 1-D second difference becomes a quarter of itself (the rediscretised scaling)
    assert BILINEAR.stencil_map_1d * sp.Matrix([1, -2, 1]) == sp.Matrix([1, -2, 1]) / 4


@pytest.mark.parametrize("transfer", [GALERKIN, BILINEAR], ids=lambda t: t.name)
def test_stencil_map_is_3x3_to_3x3_and_invertible(transfer):
    m = transfer.stencil_map
    assert m.shape == (9, 9)
    assert m.det() == transfer.stencil_map_1d.det() ** 6 != 0
    assert transfer.inverse_stencil_map * m == sp.eye(9)
    expected_det = {"galerkin": sp.Rational(1, 4), "bilinear": sp.Rational(1, 8)}[transfer.name]
    assert transfer.stencil_map_1d.det() == expected_det


def probe_2d(transfer, kernel, size=10):
    """The coarse stencil of R conv(P x) read off with real 2-D convolutions."""
    out = torch.zeros(3, 3, dtype=torch.float64)
    c = size // 2
    for a in range(3):
        for b in range(3):
            x = torch.zeros(1, 1, size, size, dtype=torch.float64)
            x[..., c + a - 1, c + b - 1] = 1.0          # coarse input U_{J+(a-1, b-1)}
            y = transfer.restrict_image(F.conv2d(transfer.prolong_image(x), kernel[None, None], padding=1))
            out[a, b] = y[0, 0, c, c]
            ring = y[0, 0].clone()
            ring[c - 2:c + 3, c - 2:c + 3] = 0
            assert not ring[2:-2, 2:-2].any()            # nothing beyond the neighbourhood
    return out


@pytest.mark.parametrize("transfer", [GALERKIN, BILINEAR], ids=lambda t: t.name)
def test_9x9_map_agrees_with_2d_convolutions(transfer):
    """The Kronecker derivation equals R conv2d(P x, K) on a 2-D grid for every unit stencil."""
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        k = torch.randn(3, 3, dtype=torch.float64, generator=g)
        torch.testing.assert_close(probe_2d(transfer, k), transfer.restrict_kernel(k), rtol=0, atol=1e-14)


@pytest.mark.parametrize("transfer, border", [(GALERKIN, 0), (BILINEAR, 1)])
def test_conv_identity_of_the_kernel_transfer(transfer, border):
    """conv(x_c, R K P) = R conv(P x_c, K): Galerkin on every pixel, border included (zero
    padding); bilinear only away from its clamped border, where it really differs."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64, generator=g)
    k = torch.randn(4, 3, 3, 3, dtype=torch.float64, generator=g)
    coarse = F.conv2d(x, transfer.restrict_kernel(k), padding=1)
    fine = transfer.restrict_image(F.conv2d(transfer.prolong_image(x), k, padding=1))
    inner = (..., slice(border, coarse.shape[-2] - border), slice(border, coarse.shape[-1] - border))
    torch.testing.assert_close(coarse[inner], fine[inner], rtol=0, atol=1e-13)
    if border:
        assert (coarse - fine).abs().max() > 1e-3


def test_galerkin_prolongation_is_4_r_transpose():
    g = torch.Generator().manual_seed(3)
    y = torch.randn(6, 4, dtype=torch.float64, generator=g)
    xc = torch.randn(3, 2, dtype=torch.float64, generator=g)
    lhs = (GALERKIN.restrict_image(y) * xc).sum()
    rhs = (y * GALERKIN.prolong_image(xc)).sum() / 4
    assert math.isclose(lhs, rhs, rel_tol=1e-14)
    torch.testing.assert_close(GALERKIN.restrict_image(GALERKIN.prolong_image(xc)), xc, rtol=0, atol=0)


def test_restriction_is_block_averaging_and_levels_compose():
    x = torch.randn(2, 3, 16, 8, dtype=torch.float64)
    torch.testing.assert_close(GALERKIN.restrict_image(x, 2), F.avg_pool2d(x, 4), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="divisible by 2, got image size 7x8"):
        GALERKIN.restrict_image(torch.zeros(7, 8))
    with pytest.raises(ValueError, match="levels must be an int >= 0, got -1"):
        GALERKIN.restrict_image(x, -1)


@pytest.mark.parametrize("transfer", [GALERKIN, BILINEAR], ids=lambda t: t.name)
def test_image_operators_are_the_exact_grid_matrices(transfer):
    x = torch.randn(2, 6, 4, dtype=torch.float64)
    r = lambda n: grids.as_tensor(transfer.restriction_1d(n))   # noqa: E731
    p = lambda n: grids.as_tensor(transfer.prolongation_1d(n))  # noqa: E731
    torch.testing.assert_close(transfer.restrict_image(x), r(6) @ x @ r(4).T, rtol=0, atol=1e-15)
    torch.testing.assert_close(transfer.prolong_image(x), p(6) @ x @ p(4).T, rtol=0, atol=1e-15)


def test_bilinear_image_prolongation_weights():
    p = BILINEAR.prolongation_1d(4)
    assert p.col(1).T == sp.Matrix([[0, 1, 3, 3, 1, 0, 0, 0]]) / 4
    assert p.row(0) == sp.Matrix([[1, 0, 0, 0]])           # held constant beyond the first centre
    assert all(sum(p.row(i)) == 1 for i in range(p.rows))


def test_reuse_keeps_kernels_and_moves_images_like_galerkin():
    reuse = get_transfer("reuse")
    w = torch.randn(4, 2, 3, 3)
    assert torch.equal(reuse.restrict_kernel(w, 2), w) and torch.equal(reuse.prolong_kernel(w), w)
    x = torch.randn(1, 2, 8, 8)
    assert torch.equal(reuse.restrict_image(x), GALERKIN.restrict_image(x))
    net = nn.Sequential(nn.Conv2d(1, 2, 3))
    assert torch.equal(transfer_network(net, 1, "reuse")[0].weight, net[0].weight)


def test_kernel_transfer_round_trips_and_keeps_dtype():
    w = torch.randn(8, 4, 3, 3)
    for t in (GALERKIN, BILINEAR):
        back = t.restrict_kernel(t.prolong_kernel(w, 2), 2)
        assert back.dtype == torch.float32
        torch.testing.assert_close(back, w, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(t.transfer_kernel(w, -1), t.prolong_kernel(w))
    with pytest.raises(ValueError, match=r"needs 3x3 kernels \(\.\.\., 3, 3\), got \(2, 5, 5\)"):
        GALERKIN.restrict_kernel(torch.zeros(2, 5, 5))


# -- networks on the other resolution approximate the original features --------------------
def smooth_image(n):
    t = (torch.arange(n) + 0.5) / n
    x, y = torch.meshgrid(t, t, indexing="ij")
    f = torch.exp(-((x - .45) ** 2 + (y - .55) ** 2) / .02) * torch.cos(6 * x)
    f = f + .5 * torch.exp(-((x - .6) ** 2 + (y - .4) ** 2) / .01)
    return f[None, None]


def conv_features(net, x):
    return net(x).mean((2, 3))


@torch.no_grad()
def relative_errors(transfer, direction, sizes):
    """Pooled features of a 3-layer conv-ReLU net at n vs its transfer at n/2, per size n.

    Pooled features are what a global-average-pooling classifier reads."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU(),
                        nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.ReLU(),
                        nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.ReLU())
    levels = 1 if direction == "restrict" else -1
    other = transfer_network(net, levels, transfer)
    errs = []
    for n in sizes:
        x = smooth_image(n)
        fine_net, coarse_net = (net, other) if direction == "restrict" else (other, net)
        fine, coarse = conv_features(fine_net, x), conv_features(coarse_net, GALERKIN.restrict_image(x))
        reference = fine if direction == "restrict" else coarse
        errs.append(float((fine - coarse).norm() / reference.norm()))
    return np.array(errs)


@pytest.mark.parametrize("direction", ["restrict", "prolong"])
@pytest.mark.parametrize("transfer", ["galerkin", "bilinear"])
def test_transferred_net_matches_features_to_second_order(transfer, direction):
    """On smooth images, the net moved one level reads R x like the original reads x, with
    an error that falls like h^2 (the kernel map keeps sums and first moments)."""
    errs = relative_errors(transfer, direction, (256, 512, 1024))
    slopes = np.log2(errs[:-1] / errs[1:])
    assert (slopes > 1.5).all(), (errs, slopes)
    assert errs[-1] < 0.05, errs


def test_galerkin_beats_reusing_the_fine_kernels():
    galerkin = relative_errors("galerkin", "restrict", (128, 256))
    naive = relative_errors("reuse", "restrict", (128, 256))
    assert (galerkin < naive / 5).all(), (galerkin, naive)


# -- whole networks ------------------------------------------------------------------------
def small_net():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), nn.Conv2d(8, 8, 3, padding=1, groups=2),
        nn.Conv2d(8, 8, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))


def test_transfer_network_maps_every_3x3_kernel_and_nothing_else():
    torch.manual_seed(0)
    net = small_net()
    coarse = transfer_network(net, 2)
    for (name, a), b in zip(net.state_dict().items(), coarse.state_dict().values()):
        if a.dim() == 4 and a.shape[-2:] == (3, 3):
            torch.testing.assert_close(b, GALERKIN.restrict_kernel(a, 2), rtol=0, atol=0)
            assert not torch.equal(a, b), name
        else:
            assert torch.equal(a, b), name
    back = transfer_network(coarse, -2)
    for a, b in zip(net.state_dict().values(), back.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert transfer_network(net, 1, inplace=True) is net


@pytest.mark.parametrize("bad", [nn.Conv2d(1, 1, 5), nn.Conv2d(1, 1, 3, dilation=2), nn.Conv1d(1, 1, 3)])
def test_transfer_network_refuses_what_it_cannot_map(bad):
    with pytest.raises(ValueError, match="can only move 1x1 and 3x3 convolutions"):
        transfer_network(nn.Sequential(bad), 1)
    with pytest.raises(ValueError, match="levels must be an int, got 0.5"):
        transfer_network(nn.Sequential(), 0.5)


def test_flatten_head_reads_the_coarse_map_through_p():
    torch.manual_seed(0)
    fc = nn.Linear(2 * 4 * 6, 3).double()
    coarse_fc = transfer_linear_head(fc, (2, 4, 6), 1)
    zc = torch.randn(5, 2, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(coarse_fc(zc.flatten(1)), fc(GALERKIN.prolong_image(zc).flatten(1)))
    again = transfer_linear_head(transfer_linear_head(coarse_fc, (2, 2, 3), -1), (2, 4, 6), 1)
    torch.testing.assert_close(again.weight, coarse_fc.weight)   # R P = I
    with pytest.raises(ValueError, match=r"not a flattened \(2, 4, 4\) map"):
        transfer_linear_head(fc, (2, 4, 4), 1)


def test_input_restriction_trains_the_wrapped_net():
    torch.manual_seed(0)
    net = small_net()
    wrapped = InputRestriction(net, 1)
    x = torch.randn(2, 1, 16, 16)
    torch.testing.assert_close(wrapped(x), net(F.avg_pool2d(x, 2)))
    assert [p for p in wrapped.parameters()] == [p for p in net.parameters()]
    assert wrapped.learned_coefficients() == []


def test_cross_resolution_accuracy_moves_kernels_by_the_level_difference():
    torch.manual_seed(0)
    net = small_net().eval()
    x, y = torch.randn(16, 1, 16, 16), torch.randint(0, 3, (16,))
    acc = cross_resolution_accuracy(net, [(x[:8], y[:8]), (x[8:], y[8:])], trained_at=1, levels=(0, 1, 2))
    direct = lambda model, level: float((model(F.avg_pool2d(x, 2 ** level)).argmax(1) == y).float().mean())  # noqa: E731
    assert acc[1] == direct(net, 1)
    assert acc[0] == direct(transfer_network(net, -1), 0)
    assert acc[2] == direct(transfer_network(net, 1), 2)
    naive = cross_resolution_accuracy(net, [(x, y)], trained_at=1, levels=(0,), transfer="reuse")
    assert naive[0] == direct(net, 0)
    calibrated = cross_resolution_accuracy(nn.Sequential(nn.BatchNorm2d(1), net), [(x, y)], trained_at=1,
                                           levels=(1,), recalibrate=[(x + 5, y)])
    shifted = nn.Sequential(nn.BatchNorm2d(1), net).eval()
    shifted[0].running_mean.fill_(float(F.avg_pool2d(x + 5, 2).mean()))
    shifted[0].running_var.fill_(float(F.avg_pool2d(x + 5, 2).var(unbiased=True)))
    assert calibrated[1] == float((shifted(F.avg_pool2d(x, 2)).argmax(1) == y).float().mean())


def test_recalibrate_batchnorm_averages_batches_and_restores_state():
    bn = nn.BatchNorm2d(2, momentum=0.3).eval()
    batches = [torch.full((4, 2, 3, 3), 1.0), torch.full((4, 2, 3, 3), 3.0)]
    recalibrate_batchnorm(bn, batches)
    torch.testing.assert_close(bn.running_mean, torch.tensor([2.0, 2.0]))
    assert bn.momentum == 0.3 and not bn.training


def test_float_copies_of_grid_matrices_are_private():
    a = grids.as_tensor(grids.averaging(4, 2))
    a.zero_()
    assert grids.as_tensor(grids.averaging(4, 2)).sum() == 2
