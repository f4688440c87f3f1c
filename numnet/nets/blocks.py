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

SHORTCUTS = ("projection", "pad")


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
        inner = width if inner is None else inner
        _check_channels(in_channels=in_channels, width=width, stride=stride, inner=inner, groups=groups)
        if inner % groups:
            raise ValueError(f"inner width {inner} must be divisible by the number of groups {groups}")
        out = self.expansion * width
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
        _check_channels(cardinality=cardinality, group_width=group_width, base_width=base_width)
        if (width * group_width) % base_width:
            raise ValueError(f"width {width} times group_width {group_width} must be divisible by base_width {base_width}")
        inner = cardinality * (width * group_width // base_width)
        super().__init__(in_channels, width, stride, shortcut, inner=inner, groups=cardinality)


class PostActBasicBlock(nn.Module):
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
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")
        if shortcut == "pad" and width < in_channels:
            raise ValueError(f"a 'pad' shortcut cannot reduce channels ({in_channels} -> {width}); use 'projection'")
        self.stride, self.cin, self.cout, self.shortcut_kind = stride, in_channels, width, shortcut
        self.needs_projection = stride != 1 or in_channels != width
        self.conv1 = _conv(in_channels, width, 3, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3)
        self.bn2 = nn.BatchNorm2d(width)
        self.proj = (nn.Sequential(_conv(in_channels, width, 1, stride), nn.BatchNorm2d(width))
                     if self.needs_projection and shortcut == "projection" else None)

    def forward(self, u):
        """The residual branch F(u) (before the addition and its ReLU)."""
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(u)), inplace=True)))

    def transition(self, u):
        """(P(u), F(u)): the shortcut and the residual branch."""
        return _shortcut(self, u, u), self(u)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck, "resnext": ResNeXtBlock}
"""Block kinds by name, as accepted by the builders' ``block=`` option."""


POST_ACT_BLOCKS = {"basic": PostActBasicBlock}
"""Post-activation block kinds (He et al. 2016a), for ``preact=False``."""


def make_block(kind: str, in_channels: int, width: int, stride: int = 1, shortcut: str = "projection",
               preact: bool = True, **options):
    """A block of the named kind (see :data:`BLOCKS`; ``preact=False``: :data:`POST_ACT_BLOCKS`).

    >>> make_block("bottleneck", 16, 16).conv3.out_channels
    64
    >>> make_block("wide", 16, 16)
    Traceback (most recent call last):
    ...
    ValueError: block must be one of ['basic', 'bottleneck', 'resnext'], got 'wide'
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
