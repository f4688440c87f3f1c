"""Reversible stages: block inputs recomputed in the backward pass instead of stored.

A *state* is a tuple of tensors: the two channel halves (Y, Z) of a partitioned scheme, or
the last s values (y_{n−s+1}, …, y_n) of a multistep scheme. A block maps a state to a
state and can be undone exactly:

- :class:`CouplingBlock` — kicks Y += w·F(Z) or Z += w·G(Y), one function per kick, from a
  :class:`~numnet.schemes.partitioned.PartitionedScheme` (Hamiltonian net, RevNet);
- :class:`MultistepBlock` — y_{n+1} = −Σ α_j y_{n+1−s+j} + c·f(y_n), c = ±h^q β_{s−1}, from
  a :class:`~numnet.schemes.LinearMultistep` (midpoint, q = 1) or a
  :class:`~numnet.schemes.partitioned.SecondOrderMultistep` (leapfrog, q = 2).

:class:`ReversibleStage` runs a list of blocks through one ``torch.autograd.Function`` that
keeps only the stage's output state. Its backward walks the blocks in reverse; for each
kick it evaluates f once, with grad, at the kick's argument (which the kick did not
change, so it is known from the block's output): that one evaluation gives both the
reconstruction of the block input and the vector–Jacobian product (RevNet's algorithm,
Gomez et al. 2017) — 4 f-evaluations per step against 3 for ordinary backprop.
``reversible=False`` runs the same blocks with ordinary autograd.

Batch norm: in the backward pass every ``_BatchNorm`` inside a block runs in training mode
(batch statistics of the reconstructed input, so the gradient is that of the forward) with
``track_running_stats`` switched off, so running statistics are updated exactly once per
forward (:func:`frozen_batch_norm`). Blocks must be deterministic (no dropout).

Reconstruction error: each reversible backward pass compares the input state it
reconstructed with the stage's input (kept with the output state, as is the first
block's output: two states per stage) and
records ‖x̂ − x‖/‖x‖ (:attr:`ReversibleStage.reconstruction_error`); training records it
per epoch and warns past :data:`RECONSTRUCTION_TOLERANCE`. ``store_every=N`` stores the
state every N blocks and restarts the backward walk from each, bounding the error's
growth to N blocks.

Schemes that are reversible only in exact arithmetic (LM-ResNet: :func:`inversion_error`)
are checkpointed instead: ``nets.build("lm_resnet", 110, checkpoint=1)`` stores one state
per step and recomputes each step in the backward pass (:mod:`numnet.nets.recompute`, the
same batch-norm rule); :class:`Checkpointed` does the same for a list of blocks.

>>> import torch
>>> from numnet.schemes import get
>>> stage = ReversibleStage([MultistepBlock(get("leapfrog"), torch.nn.Tanh(), h=0.1) for _ in range(4)])
>>> y = torch.randn(2, 3)
>>> out = stage(y, y)
>>> back = stage.inverse(*out)
>>> bool(torch.allclose(back[1], y, atol=1e-6))
True
"""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from numnet._combine import combine
from numnet.schemes import LinearMultistep
from numnet.schemes.partitioned import PartitionedScheme, SecondOrderMultistep
from numnet.schemes.plan import plan_of

from .recompute import frozen_batch_norm, recomputed


def _vjp(f: nn.Module, x: torch.Tensor, v: torch.Tensor, param_grads: dict):
    """f(x) (detached) and vᵀ∂f/∂x; vᵀ∂f/∂θ is added into ``param_grads`` (by parameter).

    One forward and one backward of f. The caller freezes batch norm (see module
    docstring): :class:`_ReversibleFunction` does so once for the whole backward pass."""
    x = x.detach().requires_grad_(True)
    params = [p for p in f.parameters() if p.requires_grad]
    with torch.enable_grad():
        fx = f(x)
    grads = torch.autograd.grad(fx, [x] + params, v, allow_unused=True)
    for p, g in zip(params, grads[1:]):
        if g is not None:
            if p in param_grads:
                param_grads[p].add_(g)
            else:  # own copy: autograd may hand back an alias of v or of the input grad
                param_grads[p] = g.clone()
    gx = grads[0] if grads[0] is not None else torch.zeros_like(x)
    return fx.detach(), gx


class CouplingBlock(nn.Module):
    """A sequence of kicks on a state (Y, Z): ``("Y", w)`` does Y += w·F(Z), ``("Z", w)``
    does Z += w·G(Y); one function per kick. Undone kick by kick in reverse order.
    Each weight is h·c with the step size ``h`` a settable attribute (1 when the kicks
    are given as weights), so a stage can change its step.

    >>> from numnet.schemes import partitioned
    >>> blk = CouplingBlock.from_scheme(partitioned.get("symplectic_euler"), 0.5, [nn.Tanh(), nn.Tanh()])
    >>> blk.kicks
    (('Y', 0.5), ('Z', -0.5))
    >>> blk.h = 0.25
    >>> blk.kicks
    (('Y', 0.25), ('Z', -0.25))
    """

    def __init__(self, kicks, functions, h: float = 1.0):
        super().__init__()
        kicks = tuple((str(t), float(c)) for t, c in kicks)
        bad = [t for t, _ in kicks if t not in ("Y", "Z")]
        if bad:
            raise ValueError(f"kick targets must be 'Y' or 'Z', got {bad}")
        functions = list(functions)
        if len(functions) != len(kicks) or not kicks:
            raise ValueError(f"need one function per kick: {len(kicks)} kicks, {len(functions)} functions")
        self.unit_kicks = kicks
        self.h = _step_size(h)
        self.functions = nn.ModuleList(functions)

    @property
    def kicks(self) -> tuple:
        """``(target, weight)`` pairs, weight = h·c."""
        return tuple((t, self.h * c) for t, c in self.unit_kicks)

    @classmethod
    def from_scheme(cls, scheme: PartitionedScheme, h: float, functions, field_signs=None):
        """Kicks of a partitioned scheme with step h, weights read from the scheme
        (:meth:`~numnet.schemes.partitioned.PartitionedScheme.kick_weights`): for its system
        Y' = F(Z), Z' = −G(Y), Y-kicks get +h·c_Y and Z-kicks −h·c_Z; ``field_signs``
        (e.g. ``{"Y": 1, "Z": 1}``) for a system with other signs."""
        if not isinstance(scheme, PartitionedScheme):
            raise TypeError(f"expected a PartitionedScheme, got {type(scheme).__name__}")
        return cls([(t, float(w)) for t, w in scheme.kick_weights(field_signs)], functions, h)

    def forward(self, y, z):
        for (target, w), f in zip(self.kicks, self.functions):
            if target == "Y":
                y = torch.add(y, f(z), alpha=w)
            else:
                z = torch.add(z, f(y), alpha=w)
        return y, z

    @torch.no_grad()
    def inverse(self, y, z):
        with frozen_batch_norm(self):
            for (target, w), f in zip(reversed(self.kicks), reversed(self.functions)):
                if target == "Y":
                    y = torch.add(y, f(z), alpha=-w)
                else:
                    z = torch.add(z, f(y), alpha=-w)
        return y, z

    def reverse(self, state, grads, param_grads):
        """Input state and gradients of the input state from the output ones (inside
        :func:`frozen_batch_norm`)."""
        (y, z), (gy, gz) = state, grads
        for (target, w), f in zip(reversed(self.kicks), reversed(self.functions)):
            if target == "Y":  # y_out = y_in + w f(z): ∂/∂z gets w Jᵀ gy
                fz, gf = _vjp(f, z, w * gy, param_grads)
                y, gz = torch.add(y, fz, alpha=-w), gf.add_(gz)
            else:
                fy, gf = _vjp(f, y, w * gz, param_grads)
                z, gy = torch.add(z, fy, alpha=-w), gf.add_(gy)
        return (y, z), (gy, gz)


class MultistepBlock(nn.Module):
    """One step of an explicit multistep scheme with f evaluated at the newest state only:
    state (y_0, …, y_{s−1}) ↦ (y_1, …, y_s), y_s = −Σ_{j<s} α_j y_j + c·f(y_{s−1}),
    c = sign·h^q·β_{s−1} (q = 1 for a :class:`~numnet.schemes.LinearMultistep`, q = 2 for
    a :class:`~numnet.schemes.partitioned.SecondOrderMultistep`). Coefficients are read
    from the (concrete) scheme; the step size ``h`` is a settable attribute. Invertible
    when α_0 ≠ 0 (``scheme.is_reversible``).

    >>> from numnet.schemes import get
    >>> blk = MultistepBlock(get("leapfrog"), nn.Identity(), h=0.1)
    >>> blk.alpha, blk.c
    ((-1.0, 0.0), 0.2)
    """

    def __init__(self, scheme, f: nn.Module, h: float, sign: float = 1.0):
        super().__init__()
        if not isinstance(scheme, (LinearMultistep, SecondOrderMultistep)):
            raise TypeError(f"expected a LinearMultistep or SecondOrderMultistep, got {type(scheme).__name__}")
        if scheme.free_symbols:
            names = sorted(s.name for s in scheme.free_symbols)
            raise ValueError(f"{scheme.name} has free symbols {names}; give them values with .subs() per block")
        p = plan_of(scheme)
        if p.implicit:
            raise ValueError(f"{scheme.name} is implicit (beta[-1] = {scheme.beta[-1]}); a block needs an explicit step")
        s = p.steps
        if any(j != s - 1 for j in p.f_terms):
            raise ValueError(
                f"{scheme.name} evaluates f at older states (beta = {scheme.beta}); a block evaluates "
                f"f only at the newest state (beta nonzero only at index s-1 = {s - 1})"
            )
        self.plan, self.values = p, tuple(p.floats())
        self.order = p.power  # q: h^q multiplies f
        self.sign = float(sign)
        self.scheme_name = scheme.name
        self.state_coefficients = self.values[:s]
        """c_j = −α_j, j < s: the step is y_s = Σ c_j y_j + c·f(y_{s−1})."""
        self.unit_c = self.sign * self.values[p.f_slot(s - 1)]
        self.h = _step_size(h)
        self.reversible = p.solvable_oldest
        self.f = f

    @property
    def alpha(self) -> tuple:
        """α_0 … α_{s−1} as floats (α_s = 1)."""
        return tuple(0.0 - c for c in self.state_coefficients)

    @property
    def c(self) -> float:
        """The weight of f: sign·h^q·β_{s−1}."""
        return self.h**self.order * self.unit_c

    @property
    def steps(self) -> int:
        return len(self.state_coefficients)

    @property
    def _scale(self) -> float:  # sign·h^q: what multiplies β in the plan's terms
        return self.sign * self.h**self.order

    def _new(self, state, fx):
        fs = [None] * (self.steps - 1) + [fx]
        return combine(self.plan.terms(self.values, state, fs, scale=self._scale))

    def forward(self, *state):
        self._check(state)
        return (*state[1:], self._new(state, self.f(state[-1])))

    def _oldest(self, state_out, fx):
        """y_0 from the output state (y_1, …, y_s) and f(y_{s−1}): the plan's
        solvable-oldest-state inverse, y_0 = (y_s − Σ_{j≥1} c_j y_j − c·f) / c_0."""
        states, fs = (None, *state_out[:-1]), [None] * (self.steps - 1) + [fx]
        terms, c0 = self.plan.oldest_terms(self.values, states, fs, state_out[-1], scale=self._scale)
        return combine(terms).div_(c0)

    @torch.no_grad()
    def inverse(self, *state):
        self._check(state, invert=True)
        with frozen_batch_norm(self):
            fx = self.f(state[-2])
        return (self._oldest(state, fx), *state[:-1])

    def reverse(self, state, grads, param_grads):
        """Input state and gradients of the input state from the output ones (inside
        :func:`frozen_batch_norm`)."""
        self._check(state, invert=True)
        g_new = grads[-1]
        fx, gf = _vjp(self.f, state[-2], self.c * g_new, param_grads)
        y0 = self._oldest(state, fx)
        # y_s = Σ_j c_j y_j + c f(y_{s−1}); y_1 … y_{s−1} are also passed on
        cs = self.state_coefficients
        g_in = [g_new * cs[0]] + [combine([(1.0, g), (cs[j], g_new)]) if j in self.plan.state_terms else g
                                  for j, g in enumerate(grads[:-1], start=1)]
        g_in[-1] = gf.add_(g_in[-1])
        return (y0, *state[:-1]), tuple(g_in)

    def _check(self, state, invert: bool = False):
        if invert and not self.reversible:
            raise ValueError(f"{self.scheme_name} is not reversible (needs alpha[0] != 0 and beta[0] = 0)")
        if len(state) != self.steps:
            raise ValueError(f"{self.scheme_name} block takes a state of {self.steps} tensors, got {len(state)}")


RECONSTRUCTION_TOLERANCE = 1e-3
"""Relative reconstruction error ‖x̂ − x‖/‖x‖ above which training warns (numnet.train
records it per epoch as ``reconstruction_error``): past it the gradients of the
reversible backward pass are no longer those of the forward pass to about three
digits. Remedies: ``net.store_every = N`` (a stored state every N blocks), or
``reversible=False``."""


def reconstruction_tolerance(dtype=torch.float32) -> float:
    """The warning threshold for a backward pass computing in ``dtype``:
    :data:`RECONSTRUCTION_TOLERANCE`, or 10 ulps of ``dtype`` where that is larger (bf16
    autocast: ε = 2⁻⁷, so 0.078; ordinary bf16 autograd is no more exact than that).

    >>> reconstruction_tolerance(), reconstruction_tolerance(torch.bfloat16)
    (0.001, 0.078125)
    """
    return max(RECONSTRUCTION_TOLERANCE, 10 * torch.finfo(dtype).eps)


def _step_size(h) -> float:
    if isinstance(h, bool) or not isinstance(h, (int, float)) or not h > 0:
        raise ValueError(f"step size h must be a positive number, got {h!r}")
    return float(h)


class _ReversibleFunction(torch.autograd.Function):
    """Forward without a graph, keeping only the output state (and the stage's stored
    states, see :class:`ReversibleStage`); backward by reconstruction."""

    @staticmethod
    def forward(ctx, stage, n_state, *args):
        state, params = args[:n_state], args[n_state:]
        blocks = stage.blocks
        inputs = {id(t) for t in state}
        kept = {0: tuple(t.detach() for t in state)} if stage.track_error else {}
        every = stage.store_every
        for i, block in enumerate(blocks, start=1):
            state = block(*state)
            # the first block's output is always kept: a stage input can sit exactly on ReLU kinks (the zero
            # channels a pool + pad transition adds, batch-norm shift 0), where any reconstruction error
            # would flip the derivative; from an exact output the first block reconstructs those zeros exactly
            if i < len(blocks) and (i == 1 or (every and i % every == 0)):
                kept[i] = state
        state = tuple(t.clone() if id(t) in inputs else t for t in state)
        device = state[0].device.type
        ctx.autocast = (device, torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))
        ctx.stage, ctx.params = stage, params
        ctx.kept_at = [(i, len(ks)) for i, ks in kept.items()]  # saved with the output, so memory counts see them
        ctx.save_for_backward(*state, *(t for ks in kept.values() for t in ks))
        return state

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        saved, stage = ctx.saved_tensors, ctx.stage
        n_out = len(saved) - sum(k for _, k in ctx.kept_at)
        state, rest, kept = saved[:n_out], saved[n_out:], {}
        for i, k in ctx.kept_at:
            kept[i], rest = tuple(rest[:k]), rest[k:]
        param_grads, sq_err, sq_ref = {}, 0.0, 0.0
        device, enabled, dtype = ctx.autocast
        with torch.autocast(device, dtype=dtype, enabled=enabled), frozen_batch_norm(stage.blocks):
            for i in range(len(stage.blocks) - 1, -1, -1):
                state, grads = stage.blocks[i].reverse(state, grads, param_grads)
                if i in kept:  # the reconstructed input of block i against the stored one
                    ref = kept[i]
                    sq_err = sq_err + sum(torch.linalg.vector_norm((a - b).double()) ** 2 for a, b in zip(state, ref))
                    sq_ref = sq_ref + sum(torch.linalg.vector_norm(b.double()) ** 2 for b in ref)
                    if i:  # a stored state: the walk goes on from it, not from the reconstruction
                        state = ref
        if kept:
            stage._record_error((sq_err / sq_ref).sqrt() if float(sq_ref) > 0 else torch.zeros((), dtype=torch.float64))
        return (None, None, *grads, *[param_grads.get(p) for p in ctx.params])


class ReversibleStage(nn.Module):
    """Blocks run one after another on a state tuple; with ``reversible=True`` (and grad
    enabled) only the output state is stored and the backward pass reconstructs the rest.

    >>> from numnet.schemes import partitioned
    >>> blocks = [CouplingBlock.from_scheme(partitioned.get("revnet"), 1.0, [nn.Linear(2, 2), nn.Linear(2, 2)])
    ...           for _ in range(3)]
    >>> stage = ReversibleStage(blocks)
    >>> y, z = torch.randn(5, 2, requires_grad=True), torch.randn(5, 2)
    >>> a, b = stage(y, z)
    >>> (a.sum() + b.sum()).backward()
    >>> y.grad.shape
    torch.Size([5, 2])
    """

    per_block = ()  # no per-step tensors besides the blocks' own (multiscale depth protocol)
    head_blocks = 0  # leading blocks a depth change keeps as they are (multiscale depth protocol)

    def __init__(self, blocks, reversible: bool = True, store_every: int | None = None, track_error: bool = True):
        super().__init__()
        blocks = list(blocks)
        if not blocks:
            raise ValueError("a stage needs at least one block, got none")
        not_rev = [type(b).__name__ for b in blocks if not hasattr(b, "reverse")]
        if not_rev:
            raise TypeError(f"blocks must define inverse() and reverse() (CouplingBlock, MultistepBlock), got {not_rev}")
        self.blocks = nn.ModuleList(blocks)
        self.reversible = reversible
        self.store_every = store_every
        self.track_error = bool(track_error)
        self.reconstruction_error = None
        """Relative error ‖x̂ − x‖/‖x‖ of the states the last reversible backward pass
        reconstructed, against the stage input (and the stored states), a 0-d float64
        tensor; ``None`` before the first such pass or with ``track_error=False``."""

    @property
    def store_every(self) -> int | None:
        """Store the state every this many blocks (``None``: only the output): the
        backward walk restarts from each stored state, so reconstruction errors
        accumulate over at most this many blocks — the remedy when
        :attr:`reconstruction_error` is large (memory: one state per ``store_every`` blocks)."""
        return self._store_every

    @store_every.setter
    def store_every(self, every):
        if every is not None and (not isinstance(every, int) or isinstance(every, bool) or every < 1):
            raise ValueError(f"store_every must be a positive integer (blocks between stored states) or None, got {every!r}")
        self._store_every = every

    def _record_error(self, err):
        self.reconstruction_error = err = err.detach()
        self._worst = err if getattr(self, "_worst", None) is None else torch.maximum(self._worst, err)

    def pop_worst_error(self):
        """The largest :attr:`reconstruction_error` since the last call (a 0-d tensor,
        ``None`` if no reversible backward ran since), and start again."""
        worst, self._worst = getattr(self, "_worst", None), None
        return worst

    @property
    def h(self) -> float:
        """The step size shared by the blocks; setting it sets every block's. With
        ``blocks`` and ``per_block`` this makes the stage one that
        :func:`numnet.nets.multiscale.prolong_depth` can grow (h halved, blocks doubled)."""
        hs = {b.h for b in self.blocks}
        if len(hs) != 1:
            raise ValueError(f"the blocks of this stage have different step sizes {sorted(hs)}; set stage.h first")
        return hs.pop()

    @h.setter
    def h(self, value):
        value = _step_size(value)
        for b in self.blocks:
            b.h = value

    @property
    def reversible(self) -> bool:
        return self._reversible

    @reversible.setter
    def reversible(self, flag: bool):
        if flag:
            bad = [b.scheme_name for b in self.blocks if isinstance(b, MultistepBlock) and not b.reversible]
            if bad:
                raise ValueError(
                    f"blocks of {sorted(set(bad))} cannot be inverted; use reversible=False or Checkpointed"
                )
        self._reversible = bool(flag)

    def forward(self, *state):
        if self._reversible and torch.is_grad_enabled():
            params = tuple(self.parameters())
            return _ReversibleFunction.apply(self, len(state), *state, *params)
        for block in self.blocks:
            state = block(*state)
        return state

    @torch.no_grad()
    def inverse(self, *state):
        """The input state from the output state (running statistics left unchanged)."""
        for block in reversed(self.blocks):
            state = block.inverse(*state)
        return state


class Checkpointed(nn.Module):
    """Any sequence of blocks (tensor or state tuple in, the same out) run with
    ``torch.utils.checkpoint``, ``segment`` blocks at a time: only each segment's input is
    stored; the segment is recomputed in the backward pass with batch norm frozen, so
    running statistics are updated once. Exact for every scheme, reversible or not.
    Blocks of a :class:`ReversibleStage` can be wrapped one by one; a nets-layer
    :class:`~numnet.nets.SchemeStage` (LM-ResNet, Adams, RK) checkpoints its own steps
    instead (``checkpoint=n``, ``nets.build(..., checkpoint=n)``), since its history lives
    inside it.

    >>> blocks = [nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 3)) for _ in range(4)]
    >>> net = Checkpointed(blocks, segment=2)
    >>> x = torch.randn(8, 3, requires_grad=True)
    >>> net(x).sum().backward()
    >>> int(blocks[0][0].num_batches_tracked)
    1
    """

    def __init__(self, blocks, segment: int = 1):
        super().__init__()
        blocks = list(blocks)
        if not blocks:
            raise ValueError("Checkpointed needs at least one block, got none")
        if not isinstance(segment, int) or isinstance(segment, bool) or segment < 1:
            raise ValueError(f"segment must be a positive integer (blocks per checkpoint), got {segment!r}")
        self.blocks = nn.ModuleList(blocks)
        self.segment = segment

    def forward(self, *state):
        tuple_state = len(state) != 1
        for start in range(0, len(self.blocks), self.segment):
            part = self.blocks[start : start + self.segment]
            run = _Segment(part)
            state = recomputed(run, *state, modules=part)
            state = state if isinstance(state, tuple) else (state,)
        return state if tuple_state else state[0]


class _Segment:
    """Callable running a few blocks on a state (tuple in, tuple or tensor out)."""

    def __init__(self, blocks):
        self.blocks = blocks

    def __call__(self, *state):
        for block in self.blocks:
            state = block(*state)
            state = state if isinstance(state, tuple) else (state,)
        return state if len(state) != 1 else state[0]


def inversion_error(blocks: int = 12, dtype=torch.float64, scheme: str = "lm_resnet", k_range=(-0.1, 0.0),
                    width: int = 16, batch: int = 8, h: float = 0.1, seed: int = 0):
    """Relative error of the states reconstructed by inverting ``blocks`` multistep blocks.

    Builds ``blocks`` :class:`MultistepBlock` s of ``scheme`` (``"lm_resnet"`` with one
    k_n ~ U(k_range) per block, or any reversible catalog LMM such as ``"leapfrog"``)
    around f(u) = tanh(A u) with one random antisymmetric A (‖A‖₂ = 1), runs them forward in ``dtype``
    from u_{−1} = u_0, then inverts them one by one from the last state. Returns
    ``(errors, ks)``: ``errors[j]`` = ‖û − u‖/‖u‖ for the oldest state after j inverted
    blocks (j = 0 … blocks), and the k_n used (empty for schemes without k).

    LM-ResNet multiplies the error by ≈ 1/|k_n| per inverted block:

    >>> err, ks = inversion_error(6, torch.float64)
    >>> bool(err[-1] > 1e4 * err[1])
    True
    >>> err, _ = inversion_error(200, torch.float32, scheme="leapfrog")
    >>> bool(err.max() < 1e-5)
    True
    """
    from numnet.schemes import get

    if not isinstance(blocks, int) or blocks < 1:
        raise ValueError(f"blocks must be a positive integer, got {blocks!r}")
    lo, hi = k_range
    if not lo < hi:
        raise ValueError(f"k_range must be (low, high) with low < high, got {k_range}")
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(width, width, generator=gen, dtype=torch.float64)
    w = w - w.T  # antisymmetric: imaginary Jacobian spectrum, where the midpoint rule is stable
    lin = nn.Linear(width, width, bias=False).to(dtype)
    with torch.no_grad():
        lin.weight.copy_(w / torch.linalg.matrix_norm(w, 2))
    f = nn.Sequential(lin, nn.Tanh())
    base = get(scheme)
    if base.free_symbols:
        if {s.name for s in base.free_symbols} != {"k"}:
            raise ValueError(f"{scheme} has free symbols {sorted(s.name for s in base.free_symbols)}; only k is drawn")
        # hi − (hi − lo)·U[0, 1) lies in (lo, hi]: never lo, and hi = 0 has probability 0
        ks = hi - (hi - lo) * torch.rand(blocks, generator=gen, dtype=torch.float64)
        if (ks == 0).any():
            raise ValueError("drew k = 0: LM-ResNet is not invertible there")
        steps = [MultistepBlock(base.subs(k=float(k)), f, h) for k in ks]
    else:
        ks = torch.empty(0, dtype=torch.float64)
        steps = [MultistepBlock(base, f, h) for _ in range(blocks)]
    u0 = torch.randn(batch, width, generator=gen, dtype=torch.float64).to(dtype)
    states = [(u0,) * steps[0].steps]
    with torch.no_grad():
        for blk in steps:
            states.append(blk(*states[-1]))
        errors = [0.0]
        state = states[-1]
        for j, blk in enumerate(reversed(steps), start=1):
            state = blk.inverse(*state)
            ref = states[-1 - j][0]
            errors.append(float(torch.linalg.vector_norm((state[0] - ref).double()) / torch.linalg.vector_norm(ref.double())))
    return torch.tensor(errors, dtype=torch.float64), ks
