"""Named network builders and the single entry point :func:`build`.

Depth counts weight layers as in He et al.: with 3 stages of n blocks, 6n+2 for basic
blocks (20, 32, 44, 56, 110) and 9n+2 for bottleneck/ResNeXt blocks (29, 164). Depth fixes
the blocks, hence the parameters; the scheme decides how many steps they make (an RK
method with one block per stage makes 1 + (n−1)/s steps of n blocks).

Options shared by every builder (keyword arguments):

- ``block`` — "basic" (default), "bottleneck" or "resnext"; ``widths`` — per-stage
  widths (default 16/32/64; ResNeXt 64/128/256, with ``cardinality``=8 and
  ``group_width``=64 as in ResNeXt-29 8×64d); ``shortcut`` — "projection" or "pad"
  (default: "projection", or "pad" with ``preact=False``).
- ``preact`` — True (default): pre-activation blocks (He et al. 2016b); False: the
  original post-activation blocks (He et al. 2016a), a ReLU after every step.
- ``h`` — step size (default 1: h absorbed into the blocks, the ResNet convention).
- ``history`` — "carry" (default) or "restart" at each stage's entry (see
  :mod:`numnet.nets.stage`); ``rk_blocks`` — "per_stage" (default) or "shared";
  ``iterations`` — fixed-point sweeps of implicit schemes (default 2: backward Euler
  becomes u + F(u + F(u)), which is PolyNet's I + F + F² only for linear F; PolyNet
  itself is :func:`polynet`).
- ``init`` — init of learnable coefficients (one spec, or a dict symbol → spec).
- ``stochastic_depth`` — p_L (linear decay of survival to p_L over all blocks), ``True``
  for the LM-ResNet paper's value (0.8 at depth 56, 0.5 at 110), or None;
  ``drop_mode`` — "batch" or "sample"; ``drop_schedule`` — "official" (the LM-ResNet
  code's death rates i/(L−1)·(1−p_L), kept blocks divided by their survival probability;
  the default of LM nets) or "huang" (Huang et al.'s survival 1 − (l/L)(1−p_L), test-time
  scaling by it; the default of the others), see :mod:`numnet.nets.stochastic`.

>>> from numnet import nets
>>> net = nets.build("lm_resnet", 20)
>>> sum(p.numel() for p in net.parameters()) - sum(p.numel() for p in nets.build("resnet", 20).parameters())
6
"""

from __future__ import annotations

import warnings

import sympy as sp

from .. import schemes
from .blocks import BLOCKS, POST_ACT_BLOCKS, make_block
from .coefficients import exact_number, uniform_left_open
from .continuous import ODEStage
from .names import NET_ALIASES, NETS, REVERSIBLE_NETS, SCHEME_NETS
from .model import ResidualNet
from .stage import SchemeStage
from .stochastic import SCHEDULES, check_schedule, paper_p_L, survival_probabilities

LAYERS_PER_BLOCK = {"basic": 2, "bottleneck": 3, "resnext": 3, "shake": 2}
_EXAMPLES = {"basic": "8, 14, 20, 26, 32, 38, 44, 56, 110, ...", "bottleneck": "11, 20, 29, 38, 56, 164, ...",
             "resnext": "11, 20, 29, 38, ...", "shake": "26, 32, 38, ..."}
DEFAULT_WIDTHS = {"basic": (16, 32, 64), "bottleneck": (16, 32, 64), "resnext": (64, 128, 256),
                  "shake": (32, 64, 128)}  # shake-shake 26 2x32d


def blocks_per_stage(depth, block: str = "basic", stages: int = 3) -> int:
    """n for depth = (layers per block)·stages·n + 2.

    >>> blocks_per_stage(56), blocks_per_stage(164, "bottleneck")
    (9, 18)
    >>> blocks_per_stage(21)
    Traceback (most recent call last):
    ...
    ValueError: depth must be 6n+2 for basic blocks (8, 14, 20, 26, 32, 38, 44, 56, 110, ...), got 21
    """
    if block not in LAYERS_PER_BLOCK:
        raise ValueError(f"block must be one of {sorted(BLOCKS)}, got {block!r}")
    per = LAYERS_PER_BLOCK[block] * stages
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < per + 2 or (depth - 2) % per:
        examples = f" ({_EXAMPLES[block]})" if stages == 3 else ""
        raise ValueError(f"depth must be {per}n+2 for {block} blocks{examples}, got {depth!r}")
    return (depth - 2) // per


IMAGENET_LAYOUTS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3)),
                    101: ("bottleneck", (3, 4, 23, 3)), 152: ("bottleneck", (3, 8, 36, 3))}
"""He et al. (2016a)'s ImageNet ResNets: depth → (block, blocks per stage); widths 64/128/256/512."""


def imagenet_layout(depth, block=None) -> tuple:
    """(block, blocks per stage) of He et al.'s ImageNet ResNet of ``depth``.

    >>> imagenet_layout(101)
    ('bottleneck', (3, 4, 23, 3))
    >>> imagenet_layout(56)
    Traceback (most recent call last):
    ...
    ValueError: imagenet=True builds He et al.'s ImageNet ResNets of depth 18, 34, 50, 101, 152, got 56
    """
    if isinstance(depth, bool) or depth not in IMAGENET_LAYOUTS:
        raise ValueError(f"imagenet=True builds He et al.'s ImageNet ResNets of depth "
                         f"{', '.join(map(str, IMAGENET_LAYOUTS))}, got {depth!r}")
    kind, counts = IMAGENET_LAYOUTS[depth]
    if block is not None and block != kind:
        raise ValueError(f"the ImageNet ResNet-{depth} has {kind} blocks, got block={block!r}")
    return kind, counts


def _widths(widths, block):
    widths = DEFAULT_WIDTHS[block] if widths is None else widths
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__") or not len(widths) or not all(
        isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths
    ):
        raise ValueError(f"widths must be a non-empty sequence of positive integers (one per stage), got {widths!r}")
    return tuple(widths)


def _survival(stochastic_depth, depth, n_blocks, schedule):
    check_schedule(schedule)
    if stochastic_depth is None or stochastic_depth is False:
        return None
    p_L = paper_p_L(depth) if stochastic_depth is True else stochastic_depth
    return survival_probabilities(n_blocks, p_L, schedule)


def _assemble(make_stage, depth, *, block=None, widths=None, in_channels=3, num_classes=10,
              shortcut=None, stochastic_depth=None, scheme=None, cardinality=8, group_width=64, preact=None,
              stem_width=None, drop_schedule="huang", imagenet=False):
    if not isinstance(imagenet, bool):
        raise TypeError(f"imagenet must be True or False, got {imagenet!r}")
    if imagenet:
        block, counts = imagenet_layout(depth, block)
        widths = (64, 128, 256, 512) if widths is None else widths
        preact = False if preact is None else preact
        shortcut = "projection" if shortcut is None else shortcut
    block = "basic" if block is None else block
    preact = True if preact is None else preact
    if not isinstance(preact, bool):
        raise TypeError(f"preact must be True or False, got {preact!r}")
    if shortcut is None:
        # He et al.'s CIFAR nets: option A; their (and Xie et al.'s) bottleneck nets: option B
        shortcut = "shake" if block == "shake" else "projection" if preact or block != "basic" else "pad"
    if not preact and block not in POST_ACT_BLOCKS:
        raise ValueError(f"preact=False builds He et al. (2016a)'s post-activation blocks: block must be one of "
                         f"{sorted(POST_ACT_BLOCKS)}, got {block!r}")
    if block not in BLOCKS:
        raise ValueError(f"block must be one of {sorted(BLOCKS)}, got {block!r}")
    widths = _widths(widths, block)
    if imagenet and len(widths) != len(counts):
        raise ValueError(f"the ImageNet ResNet-{depth} has {len(counts)} stages: widths needs {len(counts)} "
                         f"entries, got {widths!r}")
    if not imagenet:
        counts = (blocks_per_stage(depth, block, len(widths)),) * len(widths)
    extra = {"cardinality": cardinality, "group_width": group_width, "base_width": widths[0]} if block == "resnext" else {}
    expansion = BLOCKS[block].expansion
    survival = _survival(stochastic_depth, depth, sum(counts), drop_schedule)
    stem = widths[0] if stem_width is None else stem_width
    stages, cin, first = [], stem, 0
    for s, (w, n) in enumerate(zip(widths, counts)):
        blocks = [
            make_block(block, cin if i == 0 else expansion * w, w, (1 if s == 0 else 2) if i == 0 else 1, shortcut,
                       preact, **extra)
            for i in range(n)
        ]
        stages.append(make_stage(blocks, None if survival is None else survival[first:first + n]))
        cin, first = expansion * w, first + n
    return ResidualNet(stages, in_channels=in_channels, stem_width=stem, out_channels=cin,
                       num_classes=num_classes, scheme=scheme, depth=depth, preact=preact,
                       stem="imagenet" if imagenet else "cifar")


def _as_scheme(scheme):
    if isinstance(scheme, str):
        return schemes.get(scheme)
    if getattr(scheme, "kind", None) not in ("LMM", "RK"):
        raise TypeError(f"scheme must be a catalog name or a numnet scheme object, got {scheme!r}")
    return scheme


def scheme_net(scheme, depth: int, *, num_classes: int = 10, in_channels: int = 3, block: str | None = None,
               widths=None, shortcut: str | None = None, h=1, history: str = "carry", rk_blocks: str = "per_stage",
               iterations: int = 2, init=None, stochastic_depth=None, drop_mode: str = "batch",
               cardinality: int = 8, group_width: int = 64, checkpoint: int = 0, preact: bool | None = None,
               stem_width: int | None = None, drop_schedule: str = "huang", imagenet: bool = False,
               channelwise: bool = False) -> ResidualNet:
    """A CIFAR-style residual network whose stages are steps of ``scheme`` (a catalog name
    or a scheme object: explicit or implicit, LMM or RK, free symbols learnable).
    ``checkpoint=n``: recompute every n steps in the backward pass instead of storing
    their activations (see :class:`~numnet.nets.SchemeStage`). ``imagenet=True``: He et
    al. (2016a)'s ImageNet layout (:data:`IMAGENET_LAYOUTS`: depth 18, 34, 50, 101, 152;
    7×7 stem, max-pool, widths 64–512, option-B shortcuts, post-activation unless
    ``preact=True``).

    >>> from numnet import nets
    >>> net = nets.scheme_net("heun", 20)   # RK2: 1 entry block + 1 step of 2 blocks per stage
    >>> [s.kind for s in net.step_schemes() if s.stage == 0]
    ['entry', 'scheme']
    >>> nets.scheme_net("heun", 110)
    Traceback (most recent call last):
    ...
    ValueError: heun with rk_blocks='per_stage' takes 2 blocks per step: a stage of 18 blocks (1 entry + 17) does not split into whole steps; choose a depth whose blocks after the entry are a multiple of 2, or rk_blocks='shared'
    """
    scheme = _as_scheme(scheme)
    check_schedule(drop_schedule)
    preact = (not imagenet) if preact is None else preact

    def make_stage(blocks, survival):
        return SchemeStage(scheme, blocks, h=h, history=history, rk_blocks=rk_blocks, iterations=iterations,
                           init=init, survival=survival, drop_mode=drop_mode, checkpoint=checkpoint,
                           post_activation=not preact, inverted=SCHEDULES[drop_schedule], channelwise=channelwise)

    net = _assemble(make_stage, depth, block=block, widths=widths, in_channels=in_channels, num_classes=num_classes,
                    shortcut=shortcut, stochastic_depth=stochastic_depth, scheme=scheme,
                    cardinality=cardinality, group_width=group_width, preact=preact, stem_width=stem_width,
                    drop_schedule=drop_schedule, imagenet=imagenet)
    warn_if_not_zero_stable(net)
    return net


class ZeroStabilityWarning(UserWarning):
    """A network is built on steps whose scheme is not zero-stable."""


def warn_if_not_zero_stable(net) -> list:
    """Warn (:class:`ZeroStabilityWarning`) when a step of ``net`` — its fixed scheme, or
    its learnable one at the initial values — fails the root condition; the message names
    the scheme, ρ and its roots. Returns the offending :class:`~numnet.nets.StepScheme` s.

    >>> import warnings
    >>> from numnet import nets
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     net = nets.lm_resnet(14, k=1.5, widths=(4, 4, 4))
    >>> print(w[0].message)  # doctest: +ELLIPSIS
    scheme lm_resnet(k=1.5) is not zero-stable (3 of 6 steps): rho(xi) = xi**2 + 0.5*xi - 1.5 has roots -1.5, 1: |xi| = 1.5 > 1; ...
    """
    bad, seen = [], {}
    for step in net.step_schemes():
        s = step.scheme
        if getattr(s, "kind", None) != "LMM":
            continue
        key = (s.alpha, s.beta)
        if key not in seen:
            seen[key] = s.is_zero_stable
        if not seen[key]:
            bad.append(step)
    if bad:
        s = bad[0].scheme
        values = _values(net, bad[0])
        warnings.warn(
            f"scheme {s.name}{' with ' + values if values else ''} is not zero-stable ({len(bad)} of "
            f"{len(net.step_schemes())} steps): {_root_report(s)}; perturbations of the state can grow "
            f"without bound over the steps",
            ZeroStabilityWarning,
            stacklevel=3,
        )
    return bad


def _values(net, step) -> str:
    """The learned values of ``step`` as 'k = 1.02' (empty for a fixed scheme)."""
    return ", ".join(f"{r['symbol']} = {r['value']:.6g}" for r in net.learned_coefficients()
                     if (r["stage"], r["block"]) == (step.stage, step.block))


def _root_report(scheme) -> str:
    """ρ, its roots (30-digit roots of the exact squarefree factors, shown to 6 digits, or
    17 for a root just outside the circle; the decision itself is exact) and what fails."""
    from ..schemes._exact import exact

    xi = sp.Symbol("xi")
    rho = sp.expand(scheme.rho)
    shown, worst, repeated = [], 0.0, False
    for factor, m in sp.Poly(exact(rho), xi).sqf_list()[1]:
        for r in factor.nroots(n=30):
            r = complex(r)
            outside_by = abs(r) - 1
            worst = max(worst, abs(r))
            repeated |= m > 1 and abs(outside_by) < 1e-12  # display only: the decision was exact
            digits = ".17g" if 0 < outside_by < 1e-5 else ".6g"
            text = format(r.real, digits) if r.imag == 0 else format(r, digits)
            shown.append(text + (f" (multiplicity {m})" if m > 1 else ""))
    why = "a repeated root on the unit circle" if repeated else f"|xi| = {worst:{'.6g' if worst > 1 + 1e-5 else '.17g'}} > 1"
    return f"rho(xi) = {rho} has roots {', '.join(shown)}: {why}"


def resnet(depth: int, *, preact: bool | None = None, **options) -> ResidualNet:
    """ResNet: every block a forward Euler step u + F(u).

    ``preact=True`` (default): pre-activation blocks with 1×1 projection shortcuts — the
    ResNet of the LM-ResNet authors' code (``ResNet`` in MResNet.py). ``preact=False``:
    He et al. (2016a)'s original CIFAR ResNet, the one whose errors the LM-ResNet paper
    quotes: post-activation blocks (conv-bn-relu-conv-bn, add, relu), option-A
    (parameter-free) shortcuts by default, u_{n+1} = relu(u_n + F(u_n)).
    ``imagenet=True``: He et al.'s ImageNet ResNet-18/34/50/101/152 as torchvision builds
    it (post-activation unless ``preact=True``).

    >>> from numnet import nets
    >>> sum(p.numel() for p in nets.resnet(20).parameters())
    272282
    >>> sum(p.numel() for p in nets.resnet(20, preact=False).parameters())   # He et al.: 0.27M
    269722
    >>> sum(p.numel() for p in nets.resnet(50, imagenet=True, num_classes=1000).parameters())   # torchvision's
    25557032
    """
    return scheme_net(schemes.get("euler"), depth, preact=preact, **options)


def lm_resnet(depth: int, *, k=None, channelwise: bool = False, **options) -> ResidualNet:
    """LM-ResNet (Lu et al., 2018): u_{n+1} = (1−k_n) u_n + k_n u_{n−1} + F_n(u_n).

    ``k=None``: k_n learnable, one per LM step, initialised U(−0.1, 0] (override with
    ``init``); a number fixes every k_n (exactly, no parameters). First block and
    downsampling blocks are Euler steps; ``history="carry"`` feeds the next step
    u_{n−1} = P(u_prev) through the shortcut projection (the reference code).
    ``stochastic_depth=True`` gives the paper's stochastic LM-ResNet (p_L = 0.8 at depth 56,
    0.5 at 110; a number sets p_L) with the official code's schedule (``drop_schedule=
    "official"``: death rate i/(L−1)·(1−p_L) for block i = 0 … L−1, kept blocks divided by
    their survival probability); ``drop_schedule="huang"`` for Huang et al.'s.
    ``channelwise=True``: one k per channel of each step, as the authors' ``MResNetC``,
    initialised as there (their parameter s = 1 − k ~ U(−0.1, 0): k ∈ (1, 1.1], outside the
    zero-stability band, so the build warns); ``step_schemes()`` gives one scheme per
    (step, channel).

    >>> from numnet import nets
    >>> [round(r["value"], 3) for r in nets.lm_resnet(14, k=0.25).learned_coefficients()]
    []
    >>> [round(p, 3) for p in nets.lm_resnet(56, stochastic_depth=True).stages[0].survival[:3]]
    [1.0, 0.992, 0.985]
    """
    if channelwise and k is not None:
        raise ValueError(f"channelwise=True learns one k per channel; a fixed k={k!r} has none")
    scheme = schemes.lm_resnet() if k is None else schemes.lm_resnet(exact_number(k, "k of lm_resnet"))
    if channelwise:  # MResNetC: s = 1 - k ~ U(-0.1, 0) per channel, i.e. k in (1, 1.1]
        options = {"init": {"k": uniform_left_open(1.0, 1.1)}, **options}
    return scheme_net(scheme, depth, channelwise=channelwise, **{"drop_schedule": "official", **options})


def adams_net(depth: int, steps: int = 2, learnable: bool = False, **options) -> ResidualNet:
    """Adams nets (Yan, 2019): u_{n+1} = u_n + Σ_j β_j F(u_{n+1−j}) over ``steps`` (2 or 3).

    Fixed: the Adams–Bashforth values. Learnable: β_1 (on f_n) and, with 3 steps, β_2 (on
    f_{n−1}) free per step, the oldest weight fixed by Σ β_j = 1 (consistency);
    inits β_1 ~ U(1, 1.1), β_2 ~ U(−1, −0.9) (our reading of Yan 2019: β_j weighs f_{n+1−j}).

    >>> from numnet import nets
    >>> net = nets.adams_net(32, steps=3, learnable=True)  # 5 blocks/stage: entry, Euler start-up, 3 AB3 steps
    >>> [s.kind for s in net.step_schemes() if s.stage == 0], len(net.learned_coefficients())
    (['entry', 'startup', 'scheme', 'scheme', 'scheme'], 18)
    """
    if steps not in (2, 3) or isinstance(steps, bool):
        raise ValueError(f"adams_net steps must be 2 or 3, got {steps!r}")
    if not isinstance(learnable, bool):
        raise TypeError(f"learnable must be True or False, got {learnable!r}")
    return scheme_net(schemes.adams_net(steps, learnable), depth, **options)


def polynet(depth: int, *, kind: str = "poly2", num_classes: int = 10, in_channels: int = 3, block: str = "basic",
            widths=None, shortcut: str | None = None, preact: bool = True) -> ResidualNet:
    """PolyNet (Zhang et al., 2017): per stage an entry block, then PolyInception modules
    (:mod:`numnet.nets.poly`): ``kind="poly2"`` x + F(x) + F(F(x)) (one block per module),
    ``"2way"`` x + F(x) + G(x) or ``"mpoly"`` x + F(x) + G(F(x)) (two blocks per module).
    Residual blocks stand in for the paper's Inception branches.

    >>> from numnet import nets
    >>> net = nets.polynet(20)
    >>> [s.kind for s in net.step_schemes() if s.stage == 0], net.step_schemes()[1].scheme.name
    (['entry', 'poly2', 'poly2'], 'poly2')
    >>> nets.polynet(26, kind="mpoly")
    Traceback (most recent call last):
    ...
    ValueError: a mpoly stage takes 2 block(s) per module after 1 entry block(s); 4 blocks do not split so (choose a depth whose blocks per stage minus 1 are a multiple of 2)
    """
    from .poly import PolyStage

    return _assemble(lambda blocks, survival: PolyStage(blocks, kind), depth, block=block, widths=widths,
                     in_channels=in_channels, num_classes=num_classes, shortcut=shortcut,
                     scheme=schemes.get("poly2"), preact=preact)


def shake_shake(depth: int = 26, *, lm: bool = False, widths=None, **options) -> ResidualNet:
    """Shake-shake regularised ResNet (Gastaldi, 2017; :class:`~numnet.nets.blocks.ShakeShakeBlock`):
    26 2×32d by default (stem of 16 channels, stages of 32/64/128, 4 blocks each). Every
    block is an Euler step u + F(u) with F the randomly mixed branches; ``lm=True`` makes
    it the LM-ResNet step (1 − k) u_n + k u_{n−1} + F(u_n) (learnable k, official init).
    Other options as :func:`scheme_net`.

    >>> from numnet import nets
    >>> net = nets.shake_shake()
    >>> round(sum(p.numel() for p in net.parameters()) / 1e6, 2)    # Gastaldi's table: 2.9M
    2.92
    >>> net.sde_limit().diffusion, nets.shake_shake(lm=True).sde_limit().drift
    (sqrt(3)*sqrt(h)*(f1 - f2)/6, (f1 + f2)/(2*(k + 1)))
    """
    if not isinstance(lm, bool):
        raise TypeError(f"lm must be True or False, got {lm!r}")
    if lm:
        options = {"drop_schedule": "official", **options}
    return scheme_net(schemes.lm_resnet() if lm else schemes.get("euler"), depth, block="shake", widths=widths,
                      stem_width=16, **options)


def ode_net(scheme, depth: int, *, num_classes: int = 10, in_channels: int = 3, block: str = "basic",
            widths=None, shortcut: str = "projection", h: float = 1.0, t_end: float | None = None,
            adjoint: bool = False, rtol: float = 1e-3, atol: float = 1e-4, cardinality: int = 8,
            group_width: int = 64) -> ResidualNet:
    """The continuous-depth baseline: per stage an entry block, then one block integrated
    by torchdiffeq with ``scheme``'s twin method over t ∈ [0, T], T = ``t_end`` or
    (n−1)·h — the span the discrete stage's n−1 steps cover. Depth sets n (6n+2) and so the
    time span; the stage has 2 blocks' parameters.

    >>> from numnet import nets
    >>> import torch
    >>> nets.ode_net("rk38", 20, widths=(4, 4, 4))(torch.randn(1, 3, 8, 8)).shape
    torch.Size([1, 10])
    """
    n = blocks_per_stage(depth, block, len(_widths(widths, block)))
    span = t_end if t_end is not None else (n - 1) * h
    if span <= 0:
        raise ValueError(f"depth {depth} leaves no steps after the entry block (n = {n}); give t_end > 0")

    def make_stage(blocks, survival):
        return ODEStage(blocks[0], blocks[1] if len(blocks) > 1 else blocks[0], scheme, t_end=span, h=h,
                        adjoint=adjoint, rtol=rtol, atol=atol)

    net = _assemble(make_stage, depth, block=block, widths=widths, in_channels=in_channels, num_classes=num_classes,
                    shortcut=shortcut, scheme=_as_scheme(scheme), cardinality=cardinality, group_width=group_width)
    return net


def build(net: str, depth: int, *, num_classes: int = 10, in_channels: int = 3, scheme: str | None = None,
          **options):
    """The single entry point: ``net`` in {"resnet", "lm_resnet", "adams_net", "polynet",
    "shake_shake", "fractalnet", "scheme_net", "ode_net"}; ``scheme`` names the scheme of "scheme_net"/"ode_net";
    ``options`` go to the named builder (e.g. ``steps``/``learnable`` for "adams_net").
    "resnet_postact" is ``"resnet"`` with ``preact=False`` (He et al. 2016a).
    The reversible networks "hamiltonian", "midpoint_net", "leapfrog_net" and "revnet"
    come from :mod:`numnet.nets.reversible_nets` (``scheme`` there: a partitioned scheme
    of "hamiltonian").

    >>> from numnet import nets
    >>> nets.build("scheme_net", 20, scheme="rk4", rk_blocks="shared").scheme.name
    'rk4'
    >>> nets.build("resnet", 20, scheme="rk4")
    Traceback (most recent call last):
    ...
    ValueError: net 'resnet' fixes its scheme; pass scheme=... only with net='scheme_net' or 'ode_net', got scheme='rk4'
    """
    if net not in NETS:
        raise ValueError(f"net must be one of {list(NETS)}, got {net!r}")
    if net in NET_ALIASES:
        alias, (net, fixed) = net, NET_ALIASES[net]
        clash = {k: options[k] for k in fixed if k in options and options[k] != fixed[k]}
        if clash:
            raise ValueError(f"net {alias!r} is {net!r} with {fixed}, got {clash}")
        options = {**options, **fixed}
    common = dict(num_classes=num_classes, in_channels=in_channels)
    if net in REVERSIBLE_NETS:
        from .reversible_nets import build_reversible

        return build_reversible(net, depth, scheme=scheme, **common, **options)
    if net in SCHEME_NETS:
        if scheme is None:
            raise ValueError(f"net {net!r} needs scheme=<catalog name or scheme object>")
        builder = scheme_net if net == "scheme_net" else ode_net
        return builder(scheme, depth, **common, **options)
    if scheme is not None:
        raise ValueError(
            f"net {net!r} fixes its scheme; pass scheme=... only with net='scheme_net' or 'ode_net', got scheme={scheme!r}"
        )
    if net == "fractalnet":
        from .fractal import fractalnet

        return fractalnet(depth, **common, **options)
    return {"resnet": resnet, "lm_resnet": lm_resnet, "adams_net": adams_net, "polynet": polynet,
            "shake_shake": shake_shake}[net](depth, **common, **options)
