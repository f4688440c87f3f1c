"""The compiler from a scheme to a stage: N residual blocks = the steps of the scheme.

A stage reads the scheme's coefficients once (:mod:`numnet.nets.steps`) and plans its
steps when it is built:

- **entry step** (``entry=True``, the first block): a plain Euler step
  u_1 = P(u_0) + h F_0(u_0), where P is the block's shortcut (identity, or the projection
  of a downsampling block).
- **history at the entry** — ``history="carry"`` (default; parity with the LM-ResNet
  reference code): the history continues as [P(u_0), F_0(u_0)], [u_1] — the previous
  state goes through the same projection as the shortcut, and F_0(u_0) is its f-value in
  the new space (u_1 = P(u_0) + h F_0(u_0) *is* an Euler step from P(u_0) there).
  ``history="restart"``: the history starts again from u_1 alone.
- **start-up**: while the history holds fewer than the s states an s-step method needs,
  the stage takes plain Euler steps (one block each). With ``"carry"`` LM-ResNet's first
  block after the entry is already an LM step; with ``"restart"`` it is an Euler step.
- **scheme steps**: an LMM step per block (explicit: the history combination; implicit:
  ``iterations`` fixed-point iterations with the step's block); an RK step per s blocks
  (``rk_blocks="per_stage"``: one block per stage of the tableau, same parameters as s
  Euler steps) or per block (``"shared"``: every stage evaluates the step's one block).
- **free symbols** of the scheme become learnable per-step parameters: one vector
  ``coef[name]`` per symbol with one entry per scheme step, filled by the init (see
  :func:`~numnet.nets.coefficients.resolve_inits`); fixed coefficients are constants.

Step size: u_{n+1} = u_n + h F(u_n) with h = 1 by default, the ResNet convention in
which h is absorbed into the block's weights; ``h`` scales every f-coefficient (h β_j,
h a_ij, h b_i) and is part of each reported step scheme's meaning.

>>> import torch
>>> from numnet.schemes import get
>>> from numnet.nets.blocks import BasicBlock
>>> stage = SchemeStage(get("lm_resnet"), [BasicBlock(8, 8) for _ in range(4)])
>>> [kind for kind, _, _ in stage.plan]
['entry', 'scheme', 'scheme', 'scheme']
>>> stage(torch.randn(2, 8, 6, 6)).shape, tuple(stage.coef["k"].shape)
(torch.Size([2, 8, 6, 6]), (3,))
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .. import schemes
from .coefficients import resolve_inits
from .recompute import recomputed
from .steps import LMMRule, rule_for
from .stochastic import MODES, check_p_L, eval_gates, gated, sample_gates

HISTORY_MODES = ("carry", "restart")
RK_BLOCK_MODES = ("per_stage", "shared")


class SchemeStage(nn.Module):
    """A stage of residual blocks stepped by one scheme (see the module docstring).

    ``blocks``: modules mapping u to f(u) (same shape), the first one with a
    ``transition(u) -> (P(u), f)`` method when it changes the shape. ``survival``: one
    survival probability per block for stochastic depth (None: off); ``inverted``: kept
    blocks scaled by 1/p in training (True, the official LM-ResNet code) or by p at test
    time (False, Huang et al.), see :mod:`numnet.nets.stochastic`. ``checkpoint=n``
    keeps for backward only the history every n steps start from and recomputes those
    steps in the backward pass (batch norm counted once, :mod:`numnet.nets.recompute`):
    exact gradients, activation memory of about one state per n steps, one extra forward.
    The way to save memory for schemes that cannot be inverted safely (LM-ResNet).
    ``post_activation=True``: every new state passes through a ReLU, u_{n+1} =
    relu(step) — He et al. (2016a)'s original ResNet with post-activation blocks.
    ``channelwise=True``: every learnable coefficient holds one value per channel of the
    stage (``coef[name]`` of shape (steps, C, 1, 1)), as the LM-ResNet authors' ``MResNetC``;
    the step then acts channel by channel, and the bridge reports one scheme per (step,
    channel) (records with a ``"channel"`` key).
    """

    def __init__(self, scheme, blocks, *, entry: bool = True, h=1, history: str = "carry",
                 rk_blocks: str = "per_stage", iterations: int = 2, init=None, survival=None,
                 drop_mode: str = "batch", checkpoint: int = 0, post_activation: bool = False,
                 inverted: bool = True, channelwise: bool = False):
        super().__init__()
        if not isinstance(channelwise, bool):
            raise TypeError(f"channelwise must be True or False, got {channelwise!r}")
        self.channelwise = channelwise
        if not isinstance(inverted, bool):
            raise TypeError(f"inverted must be True or False, got {inverted!r}")
        self.inverted = inverted
        if not isinstance(post_activation, bool):
            raise TypeError(f"post_activation must be True or False, got {post_activation!r}")
        self.post_activation = post_activation
        blocks = list(blocks)
        if not blocks:
            raise ValueError("a stage needs at least one block")
        if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or checkpoint < 0:
            raise ValueError(f"checkpoint must be 0 (off) or a positive number of steps per checkpoint, "
                             f"got {checkpoint!r}")
        if history not in HISTORY_MODES:
            raise ValueError(f"history must be one of {HISTORY_MODES}, got {history!r}")
        if rk_blocks not in RK_BLOCK_MODES:
            raise ValueError(f"rk_blocks must be one of {RK_BLOCK_MODES}, got {rk_blocks!r}")
        if drop_mode not in MODES:
            raise ValueError(f"drop_mode must be one of {MODES}, got {drop_mode!r}")
        self.blocks = nn.ModuleList(blocks)
        self.scheme = scheme
        self.rule = rule_for(scheme, h, iterations)
        self.euler = LMMRule(schemes.get("ab1"), h)
        self.entry = bool(entry)
        self.history_mode = history
        self.drop_mode = drop_mode
        self.checkpoint = checkpoint
        self.plan, n_slots = self._make_plan(len(blocks), rk_blocks)
        self.coef = nn.ParameterDict()
        if self.rule.learnable:
            inits = resolve_inits(scheme, init)
            for name in self.rule.symbol_names:
                if not name.isidentifier():
                    raise ValueError(f"free symbol name {name!r} cannot name a parameter; rename it in the scheme")
                p = nn.Parameter(torch.empty(n_slots, *self._channel_shape(blocks)))
                inits[name](p)
                if not torch.isfinite(p).all():
                    raise ValueError(f"init of {name} gave non-finite values {p.detach().tolist()}")
                self.coef[name] = p
        elif init is not None:
            raise ValueError(f"init was given but scheme {scheme.name} has no free symbols")
        self._fixed = None if self.rule.learnable else self.rule.values()
        self._euler_values = self.euler.values()
        if survival is None:
            self.survival = None
        else:
            survival = [check_p_L(p) for p in survival]
            if len(survival) != len(blocks):
                raise ValueError(f"survival needs one probability per block ({len(blocks)}), got {len(survival)}")
            self.survival = survival

    def _channel_shape(self, blocks) -> tuple:
        """() for scalar coefficients, (C, 1, 1) for one per channel of the stage's states."""
        if not self.channelwise:
            return ()
        channels = getattr(blocks[-1], "cout", None)
        if not isinstance(channels, int):
            raise ValueError(f"channelwise=True needs blocks that name their output channels (cout), got "
                             f"{type(blocks[-1]).__name__}")
        return (channels, 1, 1)

    @property
    def skips_parameters(self) -> bool:
        """True when a training pass may leave blocks unused (batch-mode stochastic depth):
        data-parallel training must then look for unused parameters."""
        return self.survival is not None and self.drop_mode == "batch"

    # -- planning ------------------------------------------------------------------
    def _make_plan(self, n: int, rk_blocks: str):
        plan, i = [], 0
        if self.entry:
            plan.append(("entry", (0,), None))
            i = 1
        slot = 0
        if isinstance(self.rule, LMMRule):
            available = (2 if self.history_mode == "carry" else 1) if self.entry else 1
            for b in range(i, n):
                if available >= self.rule.steps:
                    plan.append(("scheme", (b,), slot))
                    slot += 1
                else:
                    plan.append(("startup", (b,), None))
                available = min(available + 1, self.rule.steps)
        else:
            per = self.rule.stages if rk_blocks == "per_stage" else 1
            if (n - i) % per:
                raise ValueError(
                    f"{self.scheme.name} with rk_blocks='per_stage' takes {per} blocks per step: a stage of "
                    f"{n} blocks ({'1 entry + ' if self.entry else ''}{n - i}) does not split into whole steps; "
                    f"choose a depth whose blocks after the entry are a multiple of {per}, or rk_blocks='shared'"
                )
            for b in range(i, n, per):
                plan.append(("scheme", tuple(range(b, b + per)), slot))
                slot += 1
        return tuple(plan), slot

    # -- running -------------------------------------------------------------------
    def _step_values(self, slot):
        if self._fixed is not None:
            return self._fixed
        return self.rule.values([self.coef[name][slot] for name in self.rule.symbol_names])

    def forward(self, u):
        if self.training and self.survival is not None:
            gates = sample_gates(self.survival, u, self.drop_mode, self.inverted)
        elif self.survival is not None:
            gates = eval_gates(self.survival, self.inverted)
        else:
            gates = [None] * len(self.blocks)
        steps = list(self.plan)
        if steps and steps[0][0] == "entry":
            hist = self._entry(u, gates[0])
            steps = steps[1:]
        else:
            hist = [[u, None]]
        if self.checkpoint:
            for start in range(0, len(steps), self.checkpoint):
                hist = self._recomputed(steps[start:start + self.checkpoint], hist, gates)
        else:
            self._run(steps, hist, gates)
        return hist[-1][0]

    def _run(self, steps, hist, gates) -> None:
        """Take ``steps`` (entries of the plan after the entry step) on ``hist`` in place."""
        for kind, blocks, slot in steps:
            fields = [gated(self.blocks[b], gates[b]) for b in blocks]
            if kind == "startup":
                self.euler.advance(hist, fields, self._euler_values)
            else:
                self.rule.advance(hist, fields, self._step_values(slot))
            self._activate(hist)
            self.rule.trim(hist)

    def _activate(self, hist) -> None:
        """Post-activation (He et al. 2016a): the new state passes through a ReLU."""
        if self.post_activation:
            hist[-1][0] = torch.relu(hist[-1][0])

    def _recomputed(self, steps, hist, gates) -> list:
        """:meth:`_run` keeping only the history it starts from; recomputed in backward."""
        layout, out_layout = _layout(hist), []

        def run(*tensors):
            h = _unflatten(tensors, layout)
            self._run(steps, h, gates)
            out_layout[:] = _layout(h)
            return _flatten(h)

        modules = [self.blocks[b] for _, blocks, _ in steps for b in blocks]
        return _unflatten(recomputed(run, *_flatten(hist), modules=modules), out_layout)

    def _entry(self, u, gate):
        hist = entry_step(self.blocks[0], u, self.euler, self._euler_values, gate)
        self._activate(hist)
        if self.history_mode == "restart":
            del hist[:-1]
        self.rule.trim(hist)
        return hist

    # -- the bridge back to numerics ------------------------------------------------
    def step_records(self) -> list:
        """One record per step: dict(kind, block, scheme, values) with ``scheme`` the
        concrete scheme of that step (learned values substituted exactly)."""
        out = []
        for kind, blocks, slot in self.plan:
            if kind == "scheme" and self.rule.learnable and self.channelwise:
                coef = {n: self.coef[n][slot].detach().cpu().reshape(-1).tolist() for n in self.rule.symbol_names}
                for c in range(len(next(iter(coef.values())))):
                    values = {n: v[c] for n, v in coef.items()}
                    out.append({"kind": kind, "block": blocks[0], "blocks": blocks, "channel": c,
                                "scheme": self.rule.concrete(values), "values": values})
                continue
            if kind == "scheme" and self.rule.learnable:
                values = {n: float(self.coef[n][slot].detach().cpu()) for n in self.rule.symbol_names}
                scheme = self.rule.concrete(values)
            elif kind == "scheme":
                values, scheme = {}, self.scheme
            else:
                values, scheme = {}, self.euler.scheme
            out.append({"kind": kind, "block": blocks[0], "blocks": blocks, "scheme": scheme, "values": values})
        return out

    def branches(self) -> list:
        """Per record of :meth:`step_records` (a channel-wise step: one per channel, the same
        block), ``(module, h)``: the block whose
        forward is the step's vector field F (for an RK step, its first stage, evaluated
        at u_n) and the step size multiplying it; ``None`` for an entry block with a
        projection shortcut (it changes the shape: no square Jacobian)."""
        h = float(self.rule.h)
        return [(None, h) if rec["kind"] == "entry" and _projects(self.blocks[rec["block"]])
                else (self.blocks[rec["block"]], h) for rec in self.step_records()]

    def extra_repr(self) -> str:
        kinds = [k for k, _, _ in self.plan]
        return (f"scheme={self.scheme.name}, blocks={len(self.blocks)}, steps={len(self.plan)} "
                f"(entry={kinds.count('entry')}, startup={kinds.count('startup')}, scheme={kinds.count('scheme')}), "
                f"history={self.history_mode}" + (", post_activation=True" if self.post_activation else ""))


def _layout(hist) -> list:
    """Which slots of a history ``[[u, f], …]`` hold a tensor."""
    return [(u is not None, f is not None) for u, f in hist]


def _flatten(hist) -> tuple:
    return tuple(t for entry in hist for t in entry if t is not None)


def _unflatten(tensors, layout) -> list:
    it = iter(tensors)
    return [[next(it) if has_u else None, next(it) if has_f else None] for has_u, has_f in layout]


def _projects(block) -> bool:
    return getattr(block, "needs_projection", hasattr(block, "transition"))


def entry_step(block, u, euler, values, gate=None) -> list:
    """The entry step u_1 = P(u_0) + h F(u_0) through ``block``'s shortcut P; returns the
    history [[P(u_0), F(u_0)], [u_1, None]] (F gated for stochastic depth)."""
    # a block whose shortcut is the identity is called as itself (so hooks on it see u)
    if _projects(block):
        p, f = block.transition(u)
    else:
        p, f = u, block(u)
    hist = [[p, gated(lambda _: f, gate)(None)]]
    euler.advance(hist, None, values)
    return hist
