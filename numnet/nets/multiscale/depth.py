"""Moving residual stages between depths: N steps <-> m steps, step size h -> h N/m.

A stage of N steps with step h integrates u' = f(u, t) over N h; step ``j`` holds the
vector field at the cell centre ``t_j = (j + 1/2) h``. Seen so, its parameters are
samples of functions of time, and a deeper or shallower stage samples the same
functions on another grid (Haber et al., AAAI 2018):

- :func:`prolong_depth` — N -> ``factor`` N steps, ``h -> h/factor``; step ``j`` of the
  deep stage gets the ``"linear"`` interpolant of the shallow steps' parameters at its
  centre (held constant beyond the first and last centre) or, with ``"constant"``, a copy
  of the shallow step it lies in. Per-step scheme coefficients (LM-ResNet's ``k_n``)
  and stochastic-depth survival probabilities are interpolated the same way. Every
  floating-point entry of a block's state (weights, biases, batch-norm affine
  parameters and running statistics) is interpolated; integer buffers come from the
  nearest shallow step.
- :func:`restrict_depth` — N -> N/``factor`` steps by averaging groups of ``factor``
  steps, ``h -> h factor``. ``restrict(prolong(s, "constant")) == s`` exactly.

The weights are :func:`numnet.nets.multiscale.grids.interpolation`, the same
cell-centred map that prolongs images. Doubling twice with ``"linear"`` is not
interpolating once by 4: repeated ``(1, 3, 3, 1)/4`` refinement is Chaikin's corner
cutting, whose limit is the quadratic B-spline through the shallow parameters.

What is a stage:

- a :class:`numnet.nets.SchemeStage` (every network :func:`numnet.nets.build` makes).
  Its entry block (the first, which may change the shape) is kept, its effective step
  kept too: the entry's residual branch is rescaled by ``h_old / h_new`` (its last
  convolution, which has no bias, so the branch is linear in it). The steps after the
  entry form the time grid (a start-up Euler step is a step like any other; an RK step
  with one block per tableau stage moves its blocks together). So a ResNet-20 stage
  (entry + 2 steps) grows into a ResNet-32 one (entry + 4), then ResNet-56 (entry + 8).
- any module with ``blocks`` (an :class:`~torch.nn.ModuleList` of blocks of identical
  structure, one per step, in time order), ``h`` (a number) and ``per_block`` (names of
  its attributes holding per-step tensors, indexed along dimension 0): changed in place.

>>> from numnet import nets
>>> net = nets.resnet(20, widths=(4, 4, 4))
>>> deep = prolong_depth(net)
>>> depth_profile(net), depth_profile(deep), deep.depth, deep.stages[0].rule.h
([3, 3, 3], [5, 5, 5], 32, 1/2)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import sympy as sp
import torch
from torch import nn

from numnet.nets.blocks import BasicBlock, Bottleneck, LinearField
from numnet.nets.model import ResidualNet
from numnet.nets.multiscale import grids
from numnet.nets.stage import SchemeStage

__all__ = ["is_stage", "find_stages", "depth_profile", "prolong_depth", "restrict_depth", "resample_stage"]

# the last layer of each residual branch: the branch is linear in its (bias-free) weight
_BRANCH_OUTPUT = {BasicBlock: "conv2", Bottleneck: "conv3", LinearField: "conv"}


def _is_protocol_stage(module) -> bool:
    return (isinstance(getattr(module, "blocks", None), nn.ModuleList)
            and hasattr(module, "h") and hasattr(module, "per_block"))


def is_stage(module: nn.Module) -> bool:
    """Whether ``module`` is a stage: a :class:`~numnet.nets.SchemeStage`, or a module
    following the protocol (``blocks``, ``h``, ``per_block``)."""
    return isinstance(module, SchemeStage) or _is_protocol_stage(module)


def find_stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, stage)`` pairs of ``model`` (itself included), outermost first;
    the blocks of a stage are not searched for stages."""
    if is_stage(model):
        return [("", model)]
    out = []
    for name, module in model.named_modules():
        if is_stage(module) and not any(name.startswith(s + ".") for s, _ in out):
            out.append((name, module))
    return out


def depth_profile(model: nn.Module) -> list[int]:
    """Blocks per stage, in stage order.

    >>> from numnet import nets
    >>> depth_profile(nets.lm_resnet(20)), depth_profile(nn.Sequential())
    ([3, 3, 3], [])
    """
    return [len(stage.blocks) for _, stage in find_stages(model)]


# -- the time-grid view of a stage ------------------------------------------------------
@dataclass
class _Grid:
    """A stage as samples in time: ``head`` blocks kept as they are, then one list of
    blocks per step (same structure in every step), per-step tensors, and the step size."""

    head: list
    steps: list
    per_step: dict
    h: object


def _scheme_grid(stage: SchemeStage) -> _Grid:
    steps = [[stage.blocks[b] for b in blocks] for kind, blocks, _ in stage.plan if kind != "entry"]
    if not steps:
        raise ValueError(f"a {stage.scheme.name} stage of {len(stage.blocks)} block(s) has no steps after its "
                         f"entry to move between depths; start from at least 2 blocks per stage")
    slots = [slot for kind, _, slot in stage.plan if kind != "entry"]
    per_step = {}
    for name, param in stage.coef.items():
        known = [j for j, s in enumerate(slots) if s is not None]
        if not known:
            raise ValueError(f"the {stage.scheme.name} stage has no scheme step yet, so no learned {name} to "
                             f"interpolate; start from a deeper stage")
        # a start-up step has no coefficient: it takes the nearest scheme step's (held constant)
        nearest = [min(known, key=lambda k: (abs(k - j), k)) for j in range(len(slots))]
        per_step[f"coef.{name}"] = param.detach()[[slots[k] for k in nearest]]
    if stage.survival is not None:
        per_step["survival"] = torch.tensor([[stage.survival[b] for _, blocks, _ in stage.plan[stage.entry:]
                                              for b in blocks]], dtype=torch.float64
                                            ).reshape(len(steps), -1)
    head = [stage.blocks[0]] if stage.entry else []
    return _Grid(head, steps, per_step, stage.rule.h)


def _scale_branch(block: nn.Module, factor) -> None:
    name = next((n for cls, n in _BRANCH_OUTPUT.items() if isinstance(block, cls)), None)
    if name is None:
        raise TypeError(f"cannot keep the entry step of a {type(block).__name__} block: its residual branch's "
                        f"last layer is known only for {', '.join(c.__name__ for c in _BRANCH_OUTPUT)}")
    layer = getattr(block, name)
    if getattr(layer, "bias", None) is not None:
        raise ValueError(f"the last layer {name} of the entry block has a bias: its branch is not linear in it")
    with torch.no_grad():
        layer.weight.mul_(float(factor))


def _rebuild_scheme_stage(stage: SchemeStage, grid: _Grid) -> SchemeStage:
    rule = stage.rule
    rk_per_stage = any(len(blocks) > 1 for _, blocks, _ in stage.plan)
    head = [copy.deepcopy(b) for b in grid.head]
    for block in head:
        _scale_branch(block, rule.h / grid.h)
    survival = None
    if stage.survival is not None:
        survival = [stage.survival[0]] * len(head) + [float(p) for p in grid.per_step["survival"].reshape(-1)]
    new = SchemeStage(stage.scheme, head + [b for step in grid.steps for b in step], entry=stage.entry,
                      h=grid.h, history=stage.history_mode, rk_blocks="per_stage" if rk_per_stage else "shared",
                      iterations=rule.iterations, survival=survival, drop_mode=stage.drop_mode,
                      checkpoint=stage.checkpoint, post_activation=stage.post_activation,
                      inverted=stage.inverted)
    slots = [slot for kind, _, slot in new.plan if kind != "entry"]
    for name, old in stage.coef.items():
        values = grid.per_step[f"coef.{name}"]
        picked = torch.stack([values[j] for j, s in enumerate(slots) if s is not None])
        new.coef[name] = nn.Parameter(picked.to(old), requires_grad=old.requires_grad)
    new.train(stage.training)
    return new


def _protocol_grid(stage) -> _Grid:
    k = getattr(stage, "head_blocks", 0)  # blocks of their own structure, kept as they are (a net's first block)
    return _Grid(list(stage.blocks[:k]), [[b] for b in stage.blocks[k:]],
                 {n: getattr(stage, n).detach() for n in stage.per_block}, stage.h)


def _rebuild_protocol_stage(stage, grid: _Grid):
    stage.blocks = nn.ModuleList([*grid.head, *(step[0] for step in grid.steps)])
    for name in stage.per_block:
        old = getattr(stage, name)
        new = grid.per_step[name]
        setattr(stage, name, nn.Parameter(new, requires_grad=old.requires_grad) if isinstance(old, nn.Parameter)
                else new)
    stage.h = grid.h
    return stage


# -- resampling ---------------------------------------------------------------------------
def _nearest(row) -> int:
    return max(row, key=lambda iw: iw[1])[0]


def _combine(values, row) -> torch.Tensor:
    """``sum_i w_i values[i]`` over a sparse row ``[(i, w_i)]`` for floating tensors;
    the value of the nearest (largest weight) entry otherwise."""
    if not values[0].is_floating_point():
        return values[_nearest(row)].clone()
    out = torch.zeros_like(values[0])
    for i, w in row:
        out.add_(values[i], alpha=float(w))
    return out


def _states(steps) -> list[list[dict]]:
    states = [[b.state_dict() for b in step] for step in steps]
    shape = lambda step: [{k: (v.shape, v.dtype) for k, v in s.items()} for s in step]  # noqa: E731
    first = shape(states[0])
    for j, step in enumerate(states[1:], 1):
        if shape(step) != first:
            raise ValueError(f"depth transfer needs steps of identical structure; step {j} differs from step 0 "
                             f"({type(steps[j][0]).__name__} vs {type(steps[0][0]).__name__})")
    return states


def _resample_grid(grid: _Grid, matrix: sp.MatrixBase) -> _Grid:
    if matrix.cols != len(grid.steps):
        raise ValueError(f"a {matrix.rows}x{matrix.cols} time map cannot resample {len(grid.steps)} steps")
    states = _states(grid.steps)
    steps = []
    for row in grids.rows(matrix):
        step = [copy.deepcopy(b) for b in grid.steps[_nearest(row)]]
        for i, block in enumerate(step):
            block.load_state_dict({k: _combine([s[i][k] for s in states], row) for k in states[0][i]})
        steps.append(step)
    per_step = {}
    for name, t in grid.per_step.items():
        if t.shape[0] != matrix.cols:
            raise ValueError(f"a per-step tensor needs one entry per step ({matrix.cols}) along dim 0, "
                             f"got {name} of shape {tuple(t.shape)}")
        per_step[name] = torch.stack([_combine(list(t), row) for row in grids.rows(matrix)])
    h = grid.h * sp.Rational(matrix.cols, matrix.rows) if isinstance(grid.h, sp.Basic) \
        else grid.h * matrix.cols / matrix.rows
    return _Grid(grid.head, steps, per_step, h)


def _view(stage):
    """``(grid, rebuild)`` for a stage of either kind."""
    if isinstance(stage, SchemeStage):
        return _scheme_grid(stage), lambda grid: _rebuild_scheme_stage(stage, grid)
    if _is_protocol_stage(stage):
        return _protocol_grid(stage), lambda grid: _rebuild_protocol_stage(stage, grid)
    raise TypeError(f"{type(stage).__name__} is not a stage (a SchemeStage, or a module with blocks, h and per_block)")


def resample_stage(stage: nn.Module, matrix: sp.MatrixBase) -> nn.Module:
    """``stage`` on the time grid given by ``matrix`` (new x old steps): steps and per-step
    values become ``matrix`` times the old ones, ``h`` scales by old/new. Returns the new
    stage (a protocol stage is changed in place and returned). The common step of
    :func:`prolong_depth` and :func:`restrict_depth`."""
    grid, rebuild = _view(stage)
    return rebuild(_resample_grid(grid, matrix))


def _each_stage(model: nn.Module, inplace: bool, matrix_for) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    target = model if inplace else copy.deepcopy(model)
    found = find_stages(target)
    if not found:
        raise ValueError(f"{type(model).__name__} has no stages (SchemeStage, or modules with blocks, h and "
                         f"per_block) to move between depths")
    before = depth_profile(target)
    for name, stage in found:
        new = resample_stage(stage, matrix_for(len(_view(stage)[0].steps)))
        if not name:
            return new
        parent, _, attr = name.rpartition(".")
        setattr(target.get_submodule(parent), attr, new)
    if isinstance(target, ResidualNet) and isinstance(target.depth, int) and len(set(before)) == 1:
        after = depth_profile(target)[0]   # depth - 2 counts weight layers: proportional to blocks per stage
        target.depth = 2 + (target.depth - 2) * after // before[0]
    elif isinstance(target, ResidualNet) and isinstance(target.depth, int):
        # stages of different lengths: every block the same number of layers (layers outside the stages: none)
        layers, rest = divmod(target.depth - 2, sum(before))
        target.depth = 2 + layers * sum(depth_profile(target)) if not rest else None
    return target


def prolong_depth(model: nn.Module, factor: int = 2, mode: str = "linear", *, inplace: bool = False) -> nn.Module:
    """Every stage of ``model`` with ``factor`` times the steps and ``h / factor``.

    ``mode``: ``"linear"`` interpolation of the step parameters in time, or
    ``"constant"`` (each step copied ``factor`` times). Returns a deep copy, or ``model``
    itself changed when ``inplace`` (a new object if ``model`` is itself a SchemeStage).

    >>> from numnet import nets
    >>> net = nets.lm_resnet(20, widths=(4, 4, 4))
    >>> len(prolong_depth(net, 4, "constant").learned_coefficients())   # one k per LM step
    24
    """
    _check_factor(factor)
    if mode not in grids.MODES:
        raise ValueError(f"mode must be one of {grids.MODES}, got {mode!r}")
    return _each_stage(model, inplace, lambda n: grids.interpolation(n, factor * n, mode))


def restrict_depth(model: nn.Module, factor: int = 2, *, inplace: bool = False) -> nn.Module:
    """Every stage of ``model`` with ``1/factor`` of the steps (each the average of
    ``factor`` consecutive ones) and ``h * factor``."""
    _check_factor(factor)

    def matrix(n):
        if n % factor:
            raise ValueError(f"restricting by {factor} needs a multiple of {factor} steps per stage, got {n}")
        return grids.averaging(n, n // factor)

    return _each_stage(model, inplace, matrix)


def _check_factor(factor) -> None:
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
