"""FractalNet (Larsson, Maire, Shakhnarovich, ICLR 2017), built as the paper describes it.

A fractal block of C columns is defined by f_1(z) = conv(z) and
f_{C+1}(z) = join(conv(z), f_C(f_C(z))), where conv is conv3×3-bn-relu and join is the
element-wise mean of its inputs; consecutive joins are merged, so the last join of a
C-column block averages C columns (the deepest holding 2^{C−1} convolutions). Training
regularisation is drop-path: at every join each input is dropped with probability
``local_drop`` (at least one kept) — *local* — or, for a ``global_fraction`` of the
batches, a single column is chosen for the whole network — *global*. A network is B
blocks, each followed by 2×2 max-pooling (CIFAR: B = 5, C = 4, widths 64, 128, 256, 512,
512: 40 convolutions, 38.6 M parameters).

Lu et al. (2018) read an order-2 block, x_{n+1} = k₁∗x_n + k₂∗(k₃∗x_n + f₁(x_n)) +
f₂(k₃∗x_n + f₁(x_n)), as a two-stage Runge–Kutta step: with k₃ = 1, k₁ = k₂ = 1/2 (the
mean join) and f₁ = h f, f₂ = (h/2) f it is Heun's method, which :meth:`FractalNet.step_schemes`
reports for every 2-column block (``theory/architectures.md`` §5).

>>> import torch
>>> blk = FractalBlock(3, 8, columns=3).eval()
>>> len(blk(torch.randn(1, 3, 8, 8), columns_out=True)), blk.depth
(3, 4)
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .. import schemes


def _conv_bn_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class FractalBlock(nn.Module):
    """A fractal block of ``columns`` columns, ``in_channels`` → ``width`` (see the module
    docstring). ``drop`` (set by the net per batch): None (no drop-path), ``("local", p)``
    or ``("global", column)``."""

    def __init__(self, in_channels: int, width: int, columns: int):
        super().__init__()
        if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
            raise ValueError(f"columns must be a positive integer, got {columns!r}")
        self.columns = columns
        self.conv = _conv_bn_relu(in_channels, width)
        if columns > 1:
            self.inner = FractalBlock(in_channels, width, columns - 1)
            self.outer = FractalBlock(width, width, columns - 1)
        self.drop = None

    @property
    def depth(self) -> int:
        """Convolutions on the deepest path: 2^{C−1}."""
        return 2 ** (self.columns - 1)

    def _paths(self, z) -> list:
        """The unjoined column outputs at this block's last join, shallowest first."""
        out = [self.conv(z)]
        if self.columns > 1:
            out += self.outer._paths(self.inner._join(self.inner._paths(z)))
        return out

    def _join(self, paths):
        if self.training and self.drop is not None:
            kind, arg = self.drop
            if kind == "global":   # column arg of the whole net: path index counted from the deepest
                keep = [len(paths) - 1 - arg] if arg < len(paths) else []
            else:
                kept = (torch.rand(len(paths)) >= arg).nonzero().flatten().tolist()
                keep = kept or [int(torch.randint(len(paths), ()))]
            if keep:
                paths = [paths[i] for i in keep]
        return torch.stack(paths).mean(0) if len(paths) > 1 else paths[0]

    def _set_drop(self, drop) -> None:
        for m in self.modules():
            if isinstance(m, FractalBlock):
                m.drop = drop

    def forward(self, z, columns_out: bool = False):
        paths = self._paths(z)
        return paths if columns_out else self._join(paths)


class FractalNet(nn.Module):
    """B fractal blocks, each followed by 2×2 max-pooling, then a linear classifier (see the
    module docstring). ``local_drop`` and ``global_fraction``: drop-path (Larsson et al.:
    0.15 and 0.5)."""

    def __init__(self, *, columns: int = 4, widths=(64, 128, 256, 512, 512), in_channels: int = 3,
                 num_classes: int = 10, local_drop: float = 0.15, global_fraction: float = 0.5):
        super().__init__()
        for name, v in (("local_drop", local_drop), ("global_fraction", global_fraction)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ValueError(f"{name} must be a probability in [0, 1), got {v!r}")
        self.columns, self.local_drop, self.global_fraction = columns, local_drop, global_fraction
        cins = (in_channels,) + tuple(widths[:-1])
        self.blocks = nn.ModuleList(FractalBlock(c, w, columns) for c, w in zip(cins, widths))
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.fc = nn.Linear(widths[-1], num_classes)
        self.scheme = schemes.get("heun")
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @property
    def skips_parameters(self) -> bool:
        """True with drop-path: a training pass may leave columns unused (data-parallel
        training must then look for unused parameters)."""
        return bool(self.local_drop or self.global_fraction)

    def forward(self, x):
        drop = None
        if self.training and (self.local_drop or self.global_fraction):
            drop = (("global", int(torch.randint(self.columns, ()))) if float(torch.rand(())) < self.global_fraction
                    else ("local", self.local_drop))
        for blk in self.blocks:
            blk._set_drop(drop)
            x = self.pool(blk(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    def step_schemes(self) -> list:
        """Lu et al.'s reading: per 2-column block, Heun's method (kind ``"fractal"``);
        empty for other column counts, which the reading does not cover.

        >>> [s.scheme.name for s in FractalNet(columns=2, widths=(4, 4)).step_schemes()]
        ['heun', 'heun']
        """
        from .model import StepScheme

        if self.columns != 2:
            return []
        return [StepScheme(b, 0, "fractal", self.scheme) for b in range(len(self.blocks))]

    def learned_coefficients(self) -> list:
        """None: the joins are fixed means."""
        return []


def fractalnet(depth: int = 40, *, widths=(64, 128, 256, 512, 512), **options) -> FractalNet:
    """FractalNet with B = len(``widths``) blocks of C columns, ``depth`` = B·2^{C−1}
    convolutions on the deepest path (CIFAR: 20 for C = 3, 40 for C = 4; 10 gives the
    2-column blocks Lu et al. read as RK2). ``options``: see :class:`FractalNet`.

    >>> fractalnet(40).columns, fractalnet(10).columns
    (4, 2)
    >>> fractalnet(30)
    Traceback (most recent call last):
    ...
    ValueError: fractalnet depth must be B*2^(C-1) with B = 5 blocks (10, 20, 40, 80 for C = 2..5), got 30
    """
    B = len(widths)
    per, ok = (depth // B if isinstance(depth, int) and not isinstance(depth, bool) and depth > 0 else 0), False
    if per and depth % B == 0 and per & (per - 1) == 0:
        ok = True
    if not ok:
        raise ValueError(f"fractalnet depth must be B*2^(C-1) with B = {B} blocks "
                         f"({', '.join(str(B * 2 ** c) for c in range(1, 5))} for C = 2..5), got {depth!r}")
    return FractalNet(columns=per.bit_length(), widths=tuple(widths), **options)
