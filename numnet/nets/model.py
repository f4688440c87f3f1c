"""The network around the stages: stem convolution, stages, pre-activation head.

:class:`ResidualNet` also carries the bridge back to numerics:
:meth:`~ResidualNet.learned_coefficients` (a table of the learnable scheme coefficients)
and :meth:`~ResidualNet.step_schemes` (per step the concrete scheme, learned values
substituted exactly, to be asked ``is_zero_stable``, ``stability_interval()``, ...).
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp
import torch
import torch.nn as nn


class StepScheme(NamedTuple):
    """The scheme one step of a trained network runs: ``block`` is the index (within the
    stage) of the step's first block, ``kind`` is 'entry', 'startup', 'scheme' or 'ode';
    ``channel``: the channel of a channel-wise step (one scheme per channel), else None."""

    stage: int
    block: int
    kind: str
    scheme: object
    channel: int | None = None


class ResidualNet(nn.Module):
    """stem (conv3×3) → stages → bn-relu → global average pool → linear; with
    ``preact=False`` (post-activation stages) stem conv3×3-bn-relu → stages → pool → linear.
    ``stem="imagenet"``: He et al.'s ImageNet stem, conv7×7 (stride 2)-bn-relu-maxpool3×3
    (stride 2), before either kind of stages.

    Works for any input size and channel count (CIFAR 3×32×32, Fashion-MNIST 1×28×28):
    the pool is adaptive. Convolutions are He-initialised (fan-out), batch norms start at
    (1, 0).
    """

    def __init__(self, stages, *, in_channels: int, stem_width: int, out_channels: int, num_classes: int,
                 scheme=None, depth: int | None = None, preact: bool = True, stem: str = "cifar"):
        super().__init__()
        if stem not in ("cifar", "imagenet"):
            raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}")
        for name, v in (("in_channels", in_channels), ("num_classes", num_classes)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        self.preact = preact
        imagenet = stem == "imagenet"
        self.stem = nn.Conv2d(in_channels, stem_width, 7 if imagenet else 3, stride=2 if imagenet else 1,
                              padding=3 if imagenet else 1, bias=False)
        # post-activation (He et al. 2016a) and ImageNet: bn-relu after the stem, none before the pool
        self.stem_bn = None if preact and not imagenet else nn.BatchNorm2d(stem_width)
        self.stem_pool = nn.MaxPool2d(3, stride=2, padding=1) if imagenet else None
        self.stages = nn.ModuleList(stages)
        self.bn = nn.BatchNorm2d(out_channels) if preact else None
        self.fc = nn.Linear(out_channels, num_classes)
        self.scheme = scheme
        self.depth = depth
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x):
        """The state after the last stage (before the head)."""
        u = self.stem(x)
        if self.stem_bn is not None:
            u = torch.relu(self.stem_bn(u))
        if self.stem_pool is not None:
            u = self.stem_pool(u)
        for stage in self.stages:
            u = stage(u)
        return u

    def forward(self, x):
        u = self.features(x)
        if self.bn is not None:
            u = torch.relu(self.bn(u))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(u, 1), 1))

    # -- the bridge back to numerics --------------------------------------------------
    def _records(self):
        for s, stage in enumerate(self.stages):
            for rec in stage.step_records():
                yield s, rec

    def learned_coefficients(self) -> list:
        """The learnable scheme coefficients as a table: one dict(stage, block, symbol,
        value) per block and symbol (``block`` as in :meth:`step_schemes`; a channel-wise
        step gives one row per channel, with its ``channel``).

        >>> from numnet import nets
        >>> net = nets.lm_resnet(8, widths=(4, 4, 4))
        >>> [(r["stage"], r["block"], r["symbol"]) for r in net.learned_coefficients()][:2]
        []
        >>> net = nets.lm_resnet(14, widths=(4, 4, 4))
        >>> [(r["stage"], r["block"], r["symbol"]) for r in net.learned_coefficients()]
        [(0, 1, 'k'), (1, 1, 'k'), (2, 1, 'k')]
        """
        return [
            {"stage": s, "block": rec["block"], **({"channel": rec["channel"]} if "channel" in rec else {}),
             "symbol": name, "value": value}
            for s, rec in self._records()
            for name, value in rec["values"].items()
        ]

    def step_schemes(self) -> list:
        """Per step, the concrete scheme it runs: a :class:`StepScheme`. Entry and
        start-up steps are Euler (``ab1``); learned coefficients are substituted as the
        exact binary fractions they are, so the schemes layer answers exactly.

        >>> from numnet import nets
        >>> net = nets.lm_resnet(14, widths=(4, 4, 4))
        >>> all(s.scheme.is_zero_stable for s in net.step_schemes())
        True
        """
        return [StepScheme(s, rec["block"], rec["kind"], rec["scheme"], rec.get("channel")) for s, rec in self._records()]

    def _branches(self) -> list:
        out = []
        for stage in self.stages:
            if hasattr(stage, "branches"):
                out += stage.branches()
            else:
                out += [(None, None)] * len(stage.step_records())
        return out

    def residual_branches(self) -> list:
        """Per step (the order of :meth:`step_schemes`), the module computing its vector
        field F(u), or ``None`` where no single module does (what
        :func:`numnet.study.spectra.block_spectra` linearises).

        >>> from numnet import nets
        >>> net = nets.lm_resnet(14, widths=(4, 4, 4))
        >>> [type(b).__name__ for b in net.residual_branches()][:2], len(net.residual_branches())
        (['BasicBlock', 'BasicBlock'], 6)
        """
        return [module for module, _ in self._branches()]

    def step_sizes(self) -> list:
        """Per step, the step size h multiplying its field (z = hλ), ``None`` where
        :meth:`residual_branches` has no module.

        >>> from numnet import nets
        >>> nets.resnet(14, widths=(4, 8, 8)).step_sizes()   # None: the downsampling entries
        [1.0, 1.0, None, 1.0, None, 1.0]
        """
        return [None if module is None else h for module, h in self._branches()]

    def sde_limit(self):
        """The SDE a stage of this net's random steps weakly approximates
        (:mod:`numnet.schemes.sde`): shake-shake blocks give
        :func:`~numnet.schemes.sde.shake_shake`, with the LM-ResNet k where the stages are
        LM steps.

        >>> from numnet import nets
        >>> nets.shake_shake(8, widths=(4, 4, 4)).sde_limit().drift
        f1/2 + f2/2
        """
        from numnet.schemes import sde

        from .blocks import ShakeShakeBlock

        if not any(isinstance(m, ShakeShakeBlock) for m in self.modules()):
            raise ValueError("this net has no random residual (shake-shake) blocks: no SDE limit")
        names = {s.name for s in (self.scheme.free_symbols if self.scheme is not None else ())}
        return sde.shake_shake(k=sp.Symbol("k") if "k" in names else 0)

    def coefficient_parameters(self):
        """The learnable scheme coefficients (the training loop gives them their own
        weight decay: :meth:`coefficient_decay`)."""
        for _, _, p in self._coefficients():
            yield p

    def _coefficients(self):
        for stage in self.stages:
            coef = getattr(stage, "coef", None)
            if coef is not None:
                for name, p in coef.items():
                    yield stage.scheme, name, p

    def coefficient_decay(self, mode: str) -> list:
        """Per learnable coefficient vector, ``(parameter, center)``: the value weight
        decay pulls it toward under ``mode`` (see
        :data:`~numnet.nets.coefficients.COEFFICIENT_DECAY`), a float, or None for no decay.

        >>> from numnet import nets
        >>> net = nets.lm_resnet(14, widths=(4, 4, 4))
        >>> [c for _, c in net.coefficient_decay("official")], [c for _, c in net.coefficient_decay("none")]
        ([1.0, 1.0, 1.0], [None, None, None])
        """
        from .coefficients import decay_centers

        out = []
        for scheme, name, p in self._coefficients():
            c = decay_centers(scheme, mode)[name]
            out.append((p, None if c is None else float(c)))
        return out
