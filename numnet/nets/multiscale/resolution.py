"""Moving a convolutional network between image resolutions (Haber et al., AAAI 2018).

A 3x3 convolution is a discrete differential operator ``K_h`` on a pixel grid of width
``h``. On the grid of width ``2h`` the same operator is the Galerkin product

    K_2h = R K_h P,

with ``R`` the 2x2 averaging restriction and ``P`` a prolongation. Haber et al. (and
their Meganet code, ``avgRestrictionGalerkin``) take ``P = 4 R^T``: each coarse pixel is
copied to its 2x2 children, so ``R P = I``. Read on stencils, ``K -> R K P`` is a linear
map from 3x3 stencils to 3x3 stencils, a 9x9 matrix that is the Kronecker square of a
3x3 one-dimensional map, and it is invertible: its inverse prolongs a coarse kernel to
the fine kernel whose Galerkin restriction it is. The matrix is not typed here; it is
derived from ``R`` and ``P`` (:func:`numnet.nets.multiscale.grids`) by probing a grid.

Scaling convention: CNN weights carry no ``1/h^2``. On stencils, the 5-point Laplacian
maps to *one half* of itself, a centred difference to one half of itself, the
identity to the identity. (As operators with their ``1/h^2``: the Galerkin coarse
Laplacian is twice the 5-point Laplacian rediscretised at ``2h``, the known factor of
piecewise-constant prolongation.)

Three transfers, :data:`TRANSFERS`:

- ``"galerkin"`` — ``P = 4 R^T`` (the paper's choice): identity -> identity, and
  ``conv(x_c, K_2h) = R conv(P x_c, K_h)`` holds exactly, zero padding included.
- ``"bilinear"`` — ``P`` the cell-centred bilinear interpolation (Meganet's
  ``cellCenteredInt``), ``R`` unchanged: still 3x3 -> 3x3 and invertible, but
  ``R P != I`` (the identity maps to the smoothing stencil ``[1, 6, 1]/8`` in each
  direction); the identity above holds away from the border.
- ``"reuse"`` — the same ``R`` and ``P`` for images, but kernels kept as they are: the
  naive baseline (a CNN read as scale-free), and the better-behaved choice on images
  with fine detail, where the inverse maps above amplify the highest frequencies
  (``theory/multiscale.md``, section 6).

>>> import torch
>>> g = get_transfer("galerkin")
>>> lap = torch.tensor([[0., 1, 0], [1, -4, 1], [0, 1, 0]])
>>> g.restrict_kernel(lap)
tensor([[ 0.0000,  0.5000,  0.0000],
        [ 0.5000, -2.0000,  0.5000],
        [ 0.0000,  0.5000,  0.0000]])
>>> g.prolong_kernel(g.restrict_kernel(lap)).equal(lap)
True
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import sympy as sp
import torch
import torch.nn.functional as F
from torch import nn

from numnet.nets.multiscale import grids

__all__ = [
    "GridTransfer", "TRANSFERS", "get_transfer", "transfer_network", "transfer_linear_head",
    "InputRestriction", "cross_resolution_accuracy", "recalibrate_batchnorm",
]

_PROBE = 8  # coarse cells of the grid the stencil map is read from (any size >= 5 gives the same map)


@dataclass(frozen=True)
class GridTransfer:
    """Restriction ``R`` (2x2 averaging) and a prolongation ``P`` of images, and the
    kernel transfer ``K -> R K P`` they induce on 3x3 stencils.

    ``prolongation`` is ``"constant"`` (``P = 4 R^T``, Galerkin) or ``"linear"``
    (cell-centred bilinear); ``kernels`` is ``"galerkin"`` (``K -> R K P``) or
    ``"reuse"`` (kernels unchanged). Every method takes ``levels`` (default 1): how many
    times the resolution is halved (restrict) or doubled (prolong).

    >>> g = GridTransfer("galerkin", "constant")
    >>> g.stencil_map_1d
    Matrix([
    [1/2, 0,   0],
    [1/2, 1, 1/2],
    [  0, 0, 1/2]])
    >>> g.stencil_map.shape, g.stencil_map.det()
    ((9, 9), 1/4096)
    """

    name: str
    prolongation: str
    kernels: str = "galerkin"

    def __post_init__(self):
        if self.prolongation not in grids.MODES:
            raise ValueError(f"prolongation must be one of {grids.MODES}, got {self.prolongation!r}")
        if self.kernels not in ("galerkin", "reuse"):
            raise ValueError(f"kernels must be 'galerkin' or 'reuse', got {self.kernels!r}")

    # -- the exact operators -------------------------------------------------------
    def restriction_1d(self, n: int) -> sp.Matrix:
        """R along one axis: ``n/2 x n``, averaging pairs of pixels."""
        if n % 2:
            raise ValueError(f"restriction halves the grid, so its size must be even, got {n}")
        return grids.averaging(n, n // 2)

    def prolongation_1d(self, n: int) -> sp.Matrix:
        """P along one axis: ``2n x n`` (``4 R^T`` in 2-D for ``"constant"``)."""
        return grids.interpolation(n, 2 * n, self.prolongation)

    @functools.cached_property
    def stencil_map_1d(self) -> sp.ImmutableMatrix:
        """The 3x3 map ``k -> c`` with ``c`` the stencil of ``R K P`` in one dimension.

        Derived by applying ``R K_d P`` on a grid for each unit stencil ``e_d``
        (``(K_d x)_i = x_{i+d}``, zero outside) and reading row ``J`` of the product
        at the coarse offsets ``-1, 0, 1``; every interior row must agree and vanish
        beyond those offsets, which is what makes the map 3x3 -> 3x3. ``"reuse"``: the identity.
        """
        if self.kernels == "reuse":
            return sp.ImmutableMatrix(sp.eye(3))
        n = 2 * _PROBE
        r, p = self.restriction_1d(n), self.prolongation_1d(_PROBE)
        out = sp.zeros(3, 3)
        for d in (-1, 0, 1):
            shift = sp.Matrix(n, n, lambda i, j: 1 if j == i + d else 0)
            coarse = r * shift * p
            rows = {tuple(coarse[J, J - 2:J + 3]) for J in range(2, _PROBE - 2)}
            if len(rows) != 1:
                raise ArithmeticError(f"R K P is not translation invariant for {self.name}")
            row = rows.pop()
            beyond = [coarse[J, j] for J in range(2, _PROBE - 2)
                      for j in range(_PROBE) if abs(j - J) > 1]
            if row[0] or row[4] or any(beyond):
                raise ArithmeticError(f"R K P reaches beyond a 3-point stencil for {self.name}")
            for e in (-1, 0, 1):
                out[e + 1, d + 1] = row[e + 2]
        return sp.ImmutableMatrix(out)

    @functools.cached_property
    def stencil_map(self) -> sp.ImmutableMatrix:
        """The 9x9 map on row-major flattened 3x3 stencils: ``kron(m, m)``, ``m`` the 1-D map.

        2-D ``R``, ``P`` and a separable unit stencil are Kronecker products of the
        1-D ones, so ``R (K_a x K_b) P = (R1 K_a P1) x (R1 K_b P1)``.
        """
        m = self.stencil_map_1d
        return sp.ImmutableMatrix(sp.kronecker_product(m, m))

    @functools.cached_property
    def inverse_stencil_map(self) -> sp.ImmutableMatrix:
        """The inverse of :attr:`stencil_map` (exact): coarse stencil -> fine stencil."""
        return sp.ImmutableMatrix(self.stencil_map.inv())

    # -- kernels -------------------------------------------------------------------
    def restrict_kernel(self, weight: torch.Tensor, levels: int = 1) -> torch.Tensor:
        """The 3x3 kernels ``weight[..., 3, 3]`` for images ``2**levels`` times coarser."""
        return _apply_map(self._map_tensor(False), weight, levels)

    def prolong_kernel(self, weight: torch.Tensor, levels: int = 1) -> torch.Tensor:
        """The 3x3 kernels whose restriction (``levels`` times) is ``weight``."""
        return _apply_map(self._map_tensor(True), weight, levels)

    def transfer_kernel(self, weight: torch.Tensor, levels: int) -> torch.Tensor:
        """Restrict (``levels > 0``) or prolong (``levels < 0``) 3x3 kernels."""
        _check_levels(levels, signed=True)
        if levels >= 0:
            return self.restrict_kernel(weight, levels)
        return self.prolong_kernel(weight, -levels)

    @functools.lru_cache(maxsize=None)
    def _map_tensor(self, inverse: bool) -> torch.Tensor:
        return grids.as_tensor(self.inverse_stencil_map if inverse else self.stencil_map)

    # -- images --------------------------------------------------------------------
    def restrict_image(self, x: torch.Tensor, levels: int = 1) -> torch.Tensor:
        """``R^levels x`` for images ``(..., H, W)``: means over ``2**levels`` square blocks.

        >>> get_transfer("galerkin").restrict_image(torch.arange(16.).reshape(4, 4))
        tensor([[ 2.5000,  4.5000],
                [10.5000, 12.5000]])
        """
        _check_levels(levels)
        s = 2 ** levels
        h, w = x.shape[-2:]
        if h % s or w % s:
            raise ValueError(f"restricting {levels} times needs H and W divisible by {s}, "
                             f"got image size {h}x{w}")
        return x.unflatten(-1, (w // s, s)).unflatten(-3, (h // s, s)).mean((-3, -1)) if levels else x

    def prolong_image(self, x: torch.Tensor, levels: int = 1) -> torch.Tensor:
        """``P^levels x`` for images ``(..., H, W)``.

        >>> get_transfer("galerkin").prolong_image(torch.tensor([[1., 2.]]))
        tensor([[1., 1., 2., 2.],
                [1., 1., 2., 2.]])
        >>> get_transfer("bilinear").prolong_image(torch.tensor([[0., 4.]]))[0]
        tensor([0., 1., 3., 4.])
        """
        _check_levels(levels)
        for _ in range(levels):
            x = _prolong_axis(_prolong_axis(x, -1, self.prolongation), -2, self.prolongation)
        return x


@functools.lru_cache(maxsize=None)
def _doubling_weights(mode: str) -> tuple:
    """(near, far): the weights of a child's own parent and of the parent's neighbour on
    the child's side in :func:`grids.interpolation` ``(n, 2n, mode)`` — read off an
    interior row of the exact matrix (linear: 3/4 and 1/4), the one source of the
    tensor version :func:`_prolong_axis`.

    >>> _doubling_weights("linear"), _doubling_weights("constant")
    ((0.75, 0.25), (1.0, 0.0))
    """
    P = grids.interpolation(4, 8, mode)
    near, far = P[2, 1], P[2, 0]  # child 2 of parent 1 lies on the side of parent 0
    if (P[3, 1], P[3, 2]) != (near, far) or near + far != 1:
        raise ValueError(f"{mode} doubling is not a symmetric two-point stencil: rows {P.row(2)}, {P.row(3)}")
    return float(near), float(far)


def _prolong_axis(x: torch.Tensor, dim: int, mode: str) -> torch.Tensor:
    """One axis of :func:`grids.interpolation` ``(n, 2n, mode)``, as tensor ops."""
    if mode == "constant":
        return x.repeat_interleave(2, dim)
    near, far = _doubling_weights(mode)
    x = x.movedim(dim, -1)
    left = torch.cat([x[..., :1], x[..., :-1]], -1)    # neighbours, held constant at the ends
    right = torch.cat([x[..., 1:], x[..., -1:]], -1)
    out = torch.stack([near * x + far * left, near * x + far * right], -1).flatten(-2)
    return out.movedim(-1, dim)


TRANSFERS: dict[str, GridTransfer] = {
    t.name: t for t in (GridTransfer("galerkin", "constant"), GridTransfer("bilinear", "linear"),
                        GridTransfer("reuse", "constant", kernels="reuse"))
}


def get_transfer(name: "str | GridTransfer") -> GridTransfer:
    """The registered transfer ``"galerkin"``, ``"bilinear"`` or ``"reuse"`` (a
    :class:`GridTransfer` passes).

    >>> get_transfer("bilinear").stencil_map_1d
    Matrix([
    [1/2, 1/8,   0],
    [1/2, 3/4, 1/2],
    [  0, 1/8, 1/2]])
    >>> get_transfer("cubic")
    Traceback (most recent call last):
    ...
    ValueError: unknown transfer 'cubic'; choose one of galerkin, bilinear, reuse
    """
    if isinstance(name, GridTransfer):
        return name
    if not isinstance(name, str) or name not in TRANSFERS:
        raise ValueError(f"unknown transfer {name!r}; choose one of {', '.join(TRANSFERS)}")
    return TRANSFERS[name]


def _check_levels(levels, signed: bool = False) -> None:
    if not isinstance(levels, int) or isinstance(levels, bool) or (levels < 0 and not signed):
        want = "an int" if signed else "an int >= 0"
        raise ValueError(f"levels must be {want}, got {levels!r}")


def _separable(x: torch.Tensor, mh: sp.Matrix, mw: sp.Matrix) -> torch.Tensor:
    """``mh @ x @ mw^T`` over the last two axes, with exact matrices."""
    a = grids.as_tensor(mh, dtype=x.dtype, device=x.device)
    b = grids.as_tensor(mw, dtype=x.dtype, device=x.device)
    return torch.einsum("ih,...hw,jw->...ij", a, x, b)


def _apply_map(matrix: torch.Tensor, weight: torch.Tensor, levels: int) -> torch.Tensor:
    _check_levels(levels)
    if not isinstance(weight, torch.Tensor) or weight.shape[-2:] != (3, 3):
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"kernel transfer needs 3x3 kernels (..., 3, 3), got {shape}")
    m = matrix.to(device=weight.device, dtype=weight.dtype)
    flat = weight.reshape(*weight.shape[:-2], 9)
    for _ in range(levels):
        flat = flat @ m.T
    return flat.reshape(weight.shape)


# -- whole networks ------------------------------------------------------------------
def transfer_network(model: nn.Module, levels: int, transfer: "str | GridTransfer" = "galerkin", *,
                     inplace: bool = False) -> nn.Module:
    """``model`` for images ``2**levels`` times coarser (``levels < 0``: finer).

    Every 3x3 ``Conv2d`` weight (strided or not, any groups) goes through the kernel
    transfer; biases, 1x1 convolutions, batch norm and the classifier are unchanged.
    That is exact bookkeeping for a head that pools globally (``AdaptiveAvgPool2d(1)``
    + ``Linear``): pooling reads any size. A head that flattens a fixed-size map needs
    :func:`transfer_linear_head`. A strided 3x3 convolution samples the even pixels, so
    on a cell-centred grid its coarse and fine outputs sit half a fine pixel apart:
    an O(h) offset that global pooling sees only at the border.

    Returns a transferred deep copy, or ``model`` itself changed when ``inplace``.

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 1))
    >>> coarse = transfer_network(net, 1)
    >>> torch.equal(coarse[2].weight, net[2].weight), torch.equal(coarse[0].weight, net[0].weight)
    (True, False)
    >>> transfer_network(nn.Conv2d(1, 1, 5), 1)
    Traceback (most recent call last):
    ...
    ValueError: can only move 1x1 and 3x3 convolutions between resolutions (dilation 1), got kernel (5, 5), dilation (1, 1) at '' (Conv2d)
    """
    transfer = get_transfer(transfer)
    _check_levels(levels, signed=True)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    target = model if inplace else copy.deepcopy(model)
    for name, module in target.named_modules():
        if not isinstance(module, nn.modules.conv._ConvNd):
            continue
        ks, dil = tuple(module.kernel_size), tuple(module.dilation)
        if not isinstance(module, nn.Conv2d) or ks not in ((1, 1), (3, 3)) or (ks == (3, 3) and dil != (1, 1)):
            raise ValueError(f"can only move 1x1 and 3x3 convolutions between resolutions (dilation 1), "
                             f"got kernel {ks}, dilation {dil} at {name!r} ({type(module).__name__})")
        if ks == (3, 3) and levels:
            with torch.no_grad():
                module.weight.copy_(transfer.transfer_kernel(module.weight, levels))
    return target


def transfer_linear_head(linear: nn.Linear, shape: tuple[int, int, int], levels: int,
                         transfer: "str | GridTransfer" = "galerkin") -> nn.Linear:
    """A ``Linear`` that reads a flattened ``(C, H, W)`` map at ``2**levels`` times coarser
    (``levels < 0``: finer) resolution.

    Coarser: ``W_c = W P`` (the coarse map is read through its prolongation); finer:
    ``W_f = W R``. With the Galerkin ``R P = I``, restricting a prolonged head gives it back.

    >>> fc = nn.Linear(1 * 2 * 2, 1, bias=False)
    >>> _ = nn.init.ones_(fc.weight)
    >>> transfer_linear_head(fc, (1, 2, 2), 1).weight.tolist()  # the 4 children of the coarse pixel
    [[4.0]]
    """
    transfer = get_transfer(transfer)
    _check_levels(levels, signed=True)
    c, h, w = shape
    if linear.in_features != c * h * w:
        raise ValueError(f"linear reads {linear.in_features} features, not a flattened {shape} map")
    weight = linear.weight.detach().reshape(linear.out_features, c, h, w)
    for _ in range(levels):    # coarser: W P, i.e. P^T applied along each axis
        if h % 2 or w % 2:
            raise ValueError(f"restriction halves the map, so H and W must be even, got {h}x{w}")
        h, w = h // 2, w // 2
        weight = _separable(weight, transfer.prolongation_1d(h).T, transfer.prolongation_1d(w).T)
    for _ in range(-levels):   # finer: W R, i.e. R^T applied along each axis
        weight = _separable(weight, transfer.restriction_1d(2 * h).T, transfer.restriction_1d(2 * w).T)
        h, w = 2 * h, 2 * w
    out = nn.Linear(c * h * w, linear.out_features, bias=linear.bias is not None).to(linear.weight)
    with torch.no_grad():
        out.weight.copy_(weight.reshape(linear.out_features, -1))
        if linear.bias is not None:
            out.bias.copy_(linear.bias)
    return out


class InputRestriction(nn.Module):
    """``net`` reading its images restricted ``levels`` times: ``net(R^levels x)``.

    Training through this wrapper trains ``net`` at a coarse resolution on unchanged
    data (normalisation is per-channel affine, so it commutes with ``R``; a pad-crop of
    ``2**levels * p`` pixels becomes one of ``p`` coarse pixels). Coarse-to-fine
    training lowers :attr:`levels` while prolonging the kernels.

    >>> net = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    >>> InputRestriction(net, 2)(torch.ones(1, 3, 8, 8)).shape
    torch.Size([1, 3])
    """

    def __init__(self, net: nn.Module, levels: int = 0, transfer: "str | GridTransfer" = "galerkin"):
        super().__init__()
        _check_levels(levels)
        self.net, self.levels, self.transfer = net, levels, get_transfer(transfer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.transfer.restrict_image(x, self.levels))

    def extra_repr(self) -> str:
        return f"levels={self.levels}, transfer={self.transfer.name!r}"

    def learned_coefficients(self):
        """The wrapped net's learned scheme coefficients (``[]`` when it has none)."""
        get = getattr(self.net, "learned_coefficients", None)
        return get() if callable(get) else []


# -- evaluation across resolutions -----------------------------------------------------
def _pairs(batches):
    for batch in batches:
        if isinstance(batch, (tuple, list)):
            yield batch[0], batch[1]
        else:
            yield batch.images, batch.labels


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, images) -> nn.Module:
    """Re-estimate every batch-norm's running statistics from ``images`` (an iterable
    of image tensors, or of ``(images, labels)``), as a plain mean over the batches.

    Feature statistics change with resolution; this is an option of
    :func:`cross_resolution_accuracy`, never a change of the learned weights.

    >>> bn = nn.BatchNorm2d(1)
    >>> _ = recalibrate_batchnorm(bn, [torch.full((2, 1, 2, 2), 3.0)])
    >>> bn.running_mean
    tensor([3.])
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.training) for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None   # cumulative average
    model.train()
    for batch in images:
        model(batch if isinstance(batch, torch.Tensor) else next(_pairs([batch]))[0])
    for m, (momentum, _) in zip(norms, saved):
        m.momentum = momentum
    model.train(was_training)
    return model


@torch.no_grad()
def cross_resolution_accuracy(net: nn.Module, batches, *, trained_at: int = 0, levels=(0, 1, 2),
                              transfer: "str | GridTransfer" = "galerkin",
                              recalibrate=None) -> dict[int, float]:
    """Accuracy of ``net`` on the images of ``batches`` restricted ``L`` times, for each
    ``L`` in ``levels``.

    ``net`` was trained on images restricted ``trained_at`` times (0 = the native
    resolution of ``batches``); at level ``L`` its kernels are moved ``L - trained_at``
    levels with ``transfer`` (``"reuse"``: unchanged, the naive baseline) and it
    reads ``R^L x`` directly, no image resampling. ``batches`` yields ``(images, labels)``
    or objects with ``.images`` and ``.labels`` (a :class:`numnet.data.Loader`).
    ``recalibrate``: batches of *training* images (same forms, native resolution) on
    which the batch-norm statistics are re-estimated at each level first; ``None``
    keeps the trained statistics.

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    >>> x, y = torch.ones(4, 1, 8, 8), torch.tensor([0, 0, 1, 1])
    >>> acc = cross_resolution_accuracy(net, [(x, y)], levels=(0, 1, 2, 3))
    >>> sorted(acc), len(set(acc.values()))   # constant images: same answer at every level
    ([0, 1, 2, 3], 1)
    """
    batches = list(_pairs(batches))
    calibration = None if recalibrate is None else [x for x, _ in _pairs(recalibrate)]
    transfer = get_transfer(transfer)
    out = {}
    for level in levels:
        _check_levels(level)
        model = transfer_network(net, level - trained_at, transfer)
        if calibration is not None:
            recalibrate_batchnorm(model, (transfer.restrict_image(x, level) for x in calibration))
        model.eval()
        correct = total = 0
        for x, y in batches:
            correct += int((model(transfer.restrict_image(x, level)).argmax(1) == y).sum())
            total += len(y)
        out[level] = correct / total
    return out
