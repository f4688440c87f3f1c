"""Residual blocks: the vector fields f_n(u) = F(u; θ_n) a stage steps with.

Every block of :data:`BLOCKS` is pre-activation (He et al., *Identity Mappings in Deep
Residual Networks*, 2016b); :class:`PostActBasicBlock` is the original post-activation
block (He et al. 2016a). A block's forward returns only the residual branch F(u), never u + F(u) —
the scheme decides how f-values are combined. The first block of a stage may change the
shape (stride, channels); its :meth:`transition` returns (P(u), F(u)) with P the
shortcut: a 1×1 convolution of the pre-activated input (``"projection"``, the usual
pre-activation choice) or subsampling plus zero channels (``"pad"``, He et al.'s
option A, parameter-free). The same P carries the history into the new stage.

>>> import torch
>>> b = BasicBlock(16, 32, stride=2)
>>> p, f = b.transition(torch.randn(2, 16, 8, 8))
>>> tuple(p.shape), tuple(f.shape)
((2, 32, 4, 4), (2, 32, 4, 4))
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

SHORTCUTS = ("projection", "pad")  # "shake": the shake-shake blocks' own


def _conv(cin, cout, k, stride=1, groups=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False)


def _check_channels(**named):
    for name, v in named.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def _shortcut(block, u, projected):
    """P(u): u itself, the block's projection of ``projected`` (its input as the
    projection sees it), or option A: u subsampled, zero channels appended."""
    if not block.needs_projection:
        return u
    if block.proj is not None:
        return block.proj(projected)
    p = u[..., :: block.stride, :: block.stride]
    return F.pad(p, (0, 0, 0, 0, 0, block.cout - block.cin))


class _PreActBlock(nn.Module):
    """Shared plumbing: the pre-activation bn1-relu, the shortcut P and :meth:`transition`."""

    def _shortcut_setup(self, cin, cout, stride, shortcut):
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")
        self.stride, self.cin, self.cout = stride, cin, cout
        self.shortcut_kind = shortcut
        self.needs_projection = stride != 1 or cin != cout
        if shortcut == "pad" and cout < cin:
            raise ValueError(f"a 'pad' shortcut cannot reduce channels ({cin} -> {cout}); use 'projection'")
        self.proj = _conv(cin, cout, 1, stride) if self.needs_projection and shortcut == "projection" else None

    def _branch(self, a):  # a = relu(bn1(u)), the pre-activated input
        raise NotImplementedError

    def _preact(self, u):
        return F.relu(self.bn1(u), inplace=True)

    def forward(self, u):
        """The residual branch F(u) (the vector field)."""
        return self._branch(self._preact(u))

    def transition(self, u):
        """(P(u), F(u)): the shortcut and the residual branch, sharing the pre-activation."""
        a = self._preact(u)
        return _shortcut(self, u, a), self._branch(a)


class BasicBlock(_PreActBlock):
    """bn-relu-conv3×3-bn-relu-conv3×3; ``width`` output channels.

    >>> sum(p.numel() for p in BasicBlock(16, 16).parameters())
    4672
    """

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: str = "projection"):
        super().__init__()
        _check_channels(in_channels=in_channels, width=width, stride=stride)
        self._shortcut_setup(in_channels, width, stride, shortcut)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = _conv(in_channels, width, 3, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3)

    def _branch(self, a):
        return self.conv2(F.relu(self.bn2(self.conv1(a)), inplace=True))


def _bottleneck_widths(in_channels, width, stride, inner, groups, expansion) -> tuple:
    """``(inner, out)`` of a bottleneck block, every width checked (pre- and post-activation alike)."""
    inner = width if inner is None else inner
    _check_channels(in_channels=in_channels, width=width, stride=stride, inner=inner, groups=groups)
    if inner % groups:
        raise ValueError(f"inner width {inner} must be divisible by the number of groups {groups}")
    return inner, expansion * width


class Bottleneck(_PreActBlock):
    """bn-relu-conv1×1-bn-relu-conv3×3-bn-relu-conv1×1 with expansion 4 (output
    4·``width`` channels); ``groups`` > 1 makes the 3×3 convolution grouped (ResNeXt)
    with ``inner`` channels (default ``width``).

    >>> Bottleneck(64, 16)(torch.randn(1, 64, 4, 4)).shape
    torch.Size([1, 64, 4, 4])
    """

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: str = "projection",
                 inner: int | None = None, groups: int = 1):
        super().__init__()
        inner, out = _bottleneck_widths(in_channels, width, stride, inner, groups, self.expansion)
        self._shortcut_setup(in_channels, out, stride, shortcut)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = _conv(in_channels, inner, 1)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv2 = _conv(inner, inner, 3, stride, groups)
        self.bn3 = nn.BatchNorm2d(inner)
        self.conv3 = _conv(inner, out, 1)

    def _branch(self, a):
        y = self.conv2(F.relu(self.bn2(self.conv1(a)), inplace=True))
        return self.conv3(F.relu(self.bn3(y), inplace=True))


def resnext_inner(width: int, cardinality: int, group_width: int, base_width: int) -> int:
    """The grouped convolution's channels, C·D with D = ``group_width``·width/base (Xie et al.:
    D = floor(n·baseWidth/64)); 512 for 8×64d at the first stage.

    >>> resnext_inner(128, 16, 64, 64)
    2048
    """
    _check_channels(cardinality=cardinality, group_width=group_width, base_width=base_width)
    if (width * group_width) % base_width:
        raise ValueError(f"width {width} times group_width {group_width} must be divisible by base_width {base_width}")
    return cardinality * (width * group_width // base_width)


class ResNeXtBlock(Bottleneck):
    """ResNeXt-29 style block (Xie et al., 2017) in pre-activation order: a bottleneck
    whose 3×3 convolution has ``cardinality`` groups of ``group_width``·(width/base)
    channels each (8×64d at the first stage: inner width 512, output 256).

    >>> blk = ResNeXtBlock(64, 64, cardinality=8, group_width=64)
    >>> blk.conv2.groups, blk.conv2.in_channels, blk.conv3.out_channels
    (8, 512, 256)
    """

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: str = "projection",
                 cardinality: int = 8, group_width: int = 64, base_width: int = 64):
        super().__init__(in_channels, width, stride, shortcut,
                         inner=resnext_inner(width, cardinality, group_width, base_width), groups=cardinality)


class _PostActBlock(nn.Module):
    """Shared plumbing of He et al. (2016a)'s post-activation blocks: the shortcut (option
    A ``"pad"`` or option B ``"projection"``, 1×1 convolution + bn) and :meth:`transition`."""

    def _shortcut_setup(self, cin, cout, stride, shortcut):
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")
        if shortcut == "pad" and cout < cin:
            raise ValueError(f"a 'pad' shortcut cannot reduce channels ({cin} -> {cout}); use 'projection'")
        self.stride, self.cin, self.cout, self.shortcut_kind = stride, cin, cout, shortcut
        self.needs_projection = stride != 1 or cin != cout
        self.proj = (nn.Sequential(_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))
                     if self.needs_projection and shortcut == "projection" else None)

    def transition(self, u):
        """(P(u), F(u)): the shortcut and the residual branch."""
        return _shortcut(self, u, u), self(u)


class PostActBasicBlock(_PostActBlock):
    """He et al. (2016a)'s original block, whose residual branch is
    conv3×3-bn-relu-conv3×3-bn; the stage adds the shortcut and applies the ReLU after the
    addition (``SchemeStage(post_activation=True)``). Shortcut: ``"pad"`` (option A:
    subsampling plus zero channels, parameter-free, the CIFAR ResNets of the paper) or
    ``"projection"`` (option B: 1×1 convolution + bn of the input).

    >>> sum(p.numel() for p in PostActBasicBlock(16, 16).parameters())
    4672
    >>> p, f = PostActBasicBlock(16, 32, stride=2).transition(torch.randn(2, 16, 8, 8))
    >>> tuple(p.shape), float(p[:, 16:].abs().max())
    ((2, 32, 4, 4), 0.0)
    """

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: str = "pad"):
        super().__init__()
        _check_channels(in_channels=in_channels, width=width, stride=stride)
        self._shortcut_setup(in_channels, width, stride, shortcut)
        self.conv1 = _conv(in_channels, width, 3, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3)
        self.bn2 = nn.BatchNorm2d(width)

    def forward(self, u):
        """The residual branch F(u) (before the addition and its ReLU)."""
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(u)), inplace=True)))


class PostActBottleneck(_PostActBlock):
    """He et al. (2016a)'s bottleneck as torchvision builds it (ResNet v1.5: the stride on
    the 3×3 convolution): conv1×1-bn-relu-conv3×3-bn-relu-conv1×1-bn, output 4·``width``
    channels; the stage adds the shortcut (default option B) and applies the ReLU.
    ``groups`` > 1 makes the 3×3 convolution grouped with ``inner`` channels (ResNeXt).

    >>> sum(p.numel() for p in PostActBottleneck(64, 64).parameters())   # torchvision layer1[0]
    75008
    """

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: str = "projection",
                 inner: int | None = None, groups: int = 1):
        super().__init__()
        inner, out = _bottleneck_widths(in_channels, width, stride, inner, groups, self.expansion)
        self._shortcut_setup(in_channels, out, stride, shortcut)
        self.conv1 = _conv(in_channels, inner, 1)
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv2 = _conv(inner, inner, 3, stride, groups)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv3 = _conv(inner, out, 1)
        self.bn3 = nn.BatchNorm2d(out)

    def forward(self, u):
        """The residual branch F(u) (before the addition and its ReLU)."""
        y = F.relu(self.bn1(self.conv1(u)), inplace=True)
        return self.bn3(self.conv3(F.relu(self.bn2(self.conv2(y)), inplace=True)))


class PostActResNeXtBlock(PostActBottleneck):
    """Xie et al. (2017)'s ResNeXt block (form C, grouped convolution) as their code builds
    it (``resnext_bottleneck_C`` in models/resnext.lua): :class:`PostActBottleneck` with
    ``cardinality`` groups of ``group_width``·(width/base) channels.

    >>> PostActResNeXtBlock(64, 64).conv2.groups
    8
    """

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: str = "projection",
                 cardinality: int = 8, group_width: int = 64, base_width: int = 64):
        super().__init__(in_channels, width, stride, shortcut, inner=resnext_inner(width, cardinality, group_width,
                                                                                  base_width), groups=cardinality)


class Shake(torch.autograd.Function):
    """α·b₁ + (1 − α)·b₂ forward; gradients β·g and (1 − β)·g backward."""

    @staticmethod
    def forward(ctx, b1, b2, alpha, beta):
        ctx.save_for_backward(beta)
        return torch.lerp(b2, b1, alpha)

    @staticmethod
    def backward(ctx, g):
        (beta,) = ctx.saved_tensors
        return g * beta, g * (1 - beta), None, None


def _branch(cin, cout, stride):
    return nn.Sequential(nn.ReLU(), _conv(cin, cout, 3, stride), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         _conv(cout, cout, 3), nn.BatchNorm2d(cout))


class ShakeShakeBlock(nn.Module):
    """Shake-shake (Gastaldi, 2017): two branches ``in_channels`` → ``width``, each the
    paper's relu-conv3×3-bn-relu-conv3×3-bn, mixed as F(u) = α B₁(u) + (1 − α) B₂(u) with
    α ~ U(0, 1) per image in each training forward pass and an independent β ~ U(0, 1) in
    the backward pass (gradients β g, (1 − β) g: "Shake-Shake-Image"); α = β = 1/2 at
    test time. At a stage entry the shortcut is the paper's: relu, then two 1×1
    convolutions (stride s) of the input and of the input shifted by one pixel,
    concatenated, bn. ``last_alpha``/``last_beta`` hold the coefficients of the last
    training forward pass (shape (N, 1, 1, 1)). The SDE limit of a stage of such steps is
    :func:`numnet.schemes.sde.shake_shake`.

    >>> sum(p.numel() for p in ShakeShakeBlock(16, 32, stride=2).parameters())   # branches + shortcut
    28480
    >>> b = ShakeShakeBlock(8, 8).eval(); u = torch.randn(2, 8, 4, 4)
    >>> torch.allclose(b(u), (b.branch1(u) + b.branch2(u)) / 2)
    True
    """

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: str = "shake"):
        super().__init__()
        _check_channels(in_channels=in_channels, width=width, stride=stride)
        if shortcut != "shake":
            raise ValueError(f"shake-shake blocks use the paper's shortcut ('shake'), got shortcut={shortcut!r}")
        if width % 2:
            raise ValueError(f"the shake-shake shortcut concatenates two halves: width must be even, got {width}")
        self.stride, self.cin, self.cout = stride, in_channels, width
        self.needs_projection = stride != 1 or in_channels != width
        self.branch1, self.branch2 = _branch(in_channels, width, stride), _branch(in_channels, width, stride)
        if self.needs_projection:
            self.skip1 = _conv(in_channels, width // 2, 1, stride)
            self.skip2 = _conv(in_channels, width // 2, 1, stride)
            self.skip_bn = nn.BatchNorm2d(width)
        self.last_alpha = self.last_beta = None

    def forward(self, u):
        """F(u): the mixed branches."""
        b1, b2 = self.branch1(u), self.branch2(u)
        if not self.training:
            return (b1 + b2) * 0.5
        shape = (u.shape[0],) + (1,) * (u.dim() - 1)
        alpha = torch.rand(shape, dtype=b1.dtype, device=b1.device)
        beta = torch.rand(shape, dtype=b1.dtype, device=b1.device)
        self.last_alpha, self.last_beta = alpha, beta
        return Shake.apply(b1, b2, alpha, beta)

    def transition(self, u):
        """(P(u), F(u)) with the paper's shortcut."""
        if not self.needs_projection:
            return u, self(u)
        a = F.relu(u)
        shifted = F.pad(a[..., 1:, 1:], (0, 1, 0, 1))
        p = self.skip_bn(torch.cat([self.skip1(a), self.skip2(shifted)], 1))
        return p, self(u)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck, "resnext": ResNeXtBlock, "shake": ShakeShakeBlock}
"""Block kinds by name, as accepted by the builders' ``block=`` option."""


POST_ACT_BLOCKS = {"basic": PostActBasicBlock, "bottleneck": PostActBottleneck, "resnext": PostActResNeXtBlock}
"""Post-activation block kinds (He et al. 2016a), for ``preact=False``."""


def make_block(kind: str, in_channels: int, width: int, stride: int = 1, shortcut: str = "projection",
               preact: bool = True, **options):
    """A block of the named kind (see :data:`BLOCKS`; ``preact=False``: :data:`POST_ACT_BLOCKS`).

    >>> make_block("bottleneck", 16, 16).conv3.out_channels
    64
    >>> make_block("wide", 16, 16)
    Traceback (most recent call last):
    ...
    ValueError: block must be one of ['basic', 'bottleneck', 'resnext', 'shake'], got 'wide'
    """
    kinds = BLOCKS if preact else POST_ACT_BLOCKS
    if kind not in kinds:
        raise ValueError(f"block must be one of {sorted(kinds)}{'' if preact else ' with preact=False'}, got {kind!r}")
    return kinds[kind](in_channels, width, stride, shortcut, **options)


class LinearField(nn.Module):
    """f(u) = W u (a 1×1 convolution without bias, BN or activation): a linear vector
    field, for checking that a stage computes its scheme exactly.

    >>> LinearField(3)(torch.ones(1, 3, 1, 1)).shape
    torch.Size([1, 3, 1, 1])
    """

    def __init__(self, channels: int, weight: torch.Tensor | None = None):
        super().__init__()
        _check_channels(channels=channels)
        weight = None if weight is None else torch.as_tensor(weight)
        self.conv = nn.Conv2d(channels, channels, 1, bias=False, dtype=None if weight is None else weight.dtype)
        if weight is not None:
            with torch.no_grad():
                self.conv.weight.copy_(weight.reshape(channels, channels, 1, 1))

    def forward(self, u):
        return self.conv(u)
