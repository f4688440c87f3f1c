"""Reversible networks: Hamiltonian, midpoint, leapfrog (Chang et al., AAAI 2018), RevNet.

Each network is a :class:`~numnet.nets.ResidualNet` (its stem, pre-activation head and
bridge back to numerics) whose stages are :class:`ReversibleSection` s: a
:class:`~numnet.nets.reversible.ReversibleStage` preceded, from the second stage on, by a
transition that halves the resolution and changes the width. By default
(``structure="official"``, :data:`STRUCTURES`) the networks are those of Chang et al.'s
and Gomez et al.'s code: conv-BN-ReLU stem, parameter-free average pooling plus zero
channels (:class:`PoolPad`) after each stage's first unit (run at the previous width),
RevNet's strided first unit (:class:`RevNetDownsample`); ``structure="numnet"`` keeps
numnet's earlier variant (learned BN-ReLU-conv3×3 stride-2 transitions). Transitions are
*not* reversible: they store their input like any layer (two per network, so the stored
memory stays flat in depth). Sections pass the state tuple from one to the next; the last
one reads out the tensor the head sees. Every reversible backward pass measures how well
it reconstructed its states (:meth:`ReversibleNet.reconstruction_error`).

============  =========================================  ======================  ===========
network       block                                      scheme                  depth
============  =========================================  ======================  ===========
hamiltonian   Y += hF(Z), Z −= hG(Y); F = Kᵀσ(N(Kσ(N·)))  symplectic_euler        12n+2
midpoint_net  y_{j+1} = y_{j−1} + 2h σ(N((K−Kᵀ)y_j))      leapfrog (nystrom2)     6n+2
leapfrog_net  y_{j+1} = 2y_j − y_{j−1} − h² Kᵀσ(N(Ky_j))  stormer (y'' = −F(y))   6n+2
revnet        Y += F(Z), Z += G(Y); F, G = BasicBlock     symplectic_euler, h = 1 12n+2
============  =========================================  ======================  ===========

Depth counts the block convolutions (K and Kᵀ are two) plus stem and classifier (RevNet's
strided units count; the "numnet" transition convolutions do not, as ResNet's projection
shortcuts do not). The Hamiltonian and RevNet state is the channel split (Y, Z) of the
stem's output; the two-step nets start as the paper does (leapfrog y_{−1} = 0, midpoint a
forward Euler step; "numnet": y_{−1} = y_0) and carry both states through the transition
(``history="project"``, as LM-ResNet does) or restart from the newest state
(``history="restart"``).

>>> net = hamiltonian_net(depth=14, widths=(4, 8, 8), num_classes=3)
>>> net(torch.randn(2, 3, 8, 8)).shape
torch.Size([2, 3])
>>> net.step_schemes()[0].scheme.stability_condition()
a*b*h**2 < 4
>>> hamiltonian_net(depth=20)
Traceback (most recent call last):
...
ValueError: depth must be 12n+2 for hamiltonian with symplectic_euler (14, 26, 38, 62, 74, 110, 218, 1202), got 20
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from numnet.nets.blocks import BasicBlock
from numnet.nets.model import ResidualNet
from numnet.nets.reversible import CouplingBlock, MultistepBlock, ReversibleStage, frozen_batch_norm
from numnet.schemes import get as get_scheme
from numnet.schemes import partitioned

_DEPTHS = (8, 14, 20, 26, 32, 38, 44, 56, 62, 74, 110, 218, 1202)


def _blocks_per_stage(depth, layers_per_block: int, what: str) -> int:
    per = 3 * layers_per_block
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < per + 2 or (depth - 2) % per:
        examples = ", ".join(str(d) for d in _DEPTHS if (d - 2) % per == 0 and d >= per + 2)
        raise ValueError(f"depth must be {per}n+2 for {what} ({examples}), got {depth!r}")
    return (depth - 2) // per


def _check_widths(widths, even: bool):
    widths = tuple(widths)
    if len(widths) != 3 or not all(isinstance(w, int) and w > 0 for w in widths):
        raise ValueError(f"widths must be three positive integers (one per stage), got {widths}")
    if even and any(w % 2 for w in widths):
        raise ValueError(f"widths must be even (channels split into halves Y, Z), got {widths}")
    return widths


def _kaiming(shape):
    w = torch.empty(shape)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    return nn.Parameter(w)


# -- block functions ---------------------------------------------------------------------
class TransposedConvPair(nn.Module):
    """F(z) = Kᵀ σ(N(Kz + b)): one 3×3 kernel K applied by a convolution and by its adjoint,
    the transposed convolution with the same weight. N is batch norm (then b is dropped,
    N's shift plays its role) or the identity (``norm=False``); σ is ReLU or the identity
    (``activation=None``, for linear stability checks). Its Jacobian KᵀDK, D = diag σ', is
    symmetric positive semidefinite. ``preact=True`` puts N-σ before K too, F(z) =
    Kᵀσ(N₂(Kσ(N₁z))): the order of Chang et al.'s code (``_residual_inner`` of
    changebo/revnet-public: bn1-relu, conv K, bn2-relu, conv2d_transpose K), whose
    Jacobian is no longer symmetric (N₁ sits on one side only).

    >>> f = TransposedConvPair(4, norm=False, activation=None).double()
    >>> x, y = torch.randn(1, 4, 5, 5).double(), torch.randn(1, 4, 5, 5).double()
    >>> bool(torch.isclose((f(x) * y).sum(), (x * f(y)).sum()))  # KᵀK is symmetric
    True
    """

    def __init__(self, channels: int, hidden: int | None = None, norm: bool = True, activation=nn.ReLU,
                 preact: bool = False):
        super().__init__()
        hidden = channels if hidden is None else hidden
        self.weight = _kaiming((hidden, channels, 3, 3))
        self.bias = None if norm else nn.Parameter(torch.zeros(hidden))
        self.norm = nn.BatchNorm2d(hidden) if norm else nn.Identity()
        self.act = activation() if activation is not None else nn.Identity()
        self.pre = None
        if preact:
            self.pre = nn.Sequential(nn.BatchNorm2d(channels) if norm else nn.Identity(),
                                     activation() if activation is not None else nn.Identity())

    def forward(self, z):
        if self.pre is not None:
            z = self.pre(z)
        u = F.conv2d(z, self.weight, self.bias, padding=1)
        return F.conv_transpose2d(self.act(self.norm(u)), self.weight, padding=1)


class AntisymmetricConv(nn.Module):
    """f(y) = σ(N((K − Kᵀ)y + b)) with K a square 3×3 convolution and Kᵀ its adjoint. Without
    batch norm the Jacobian D(K − Kᵀ) (D = diag σ' ≥ 0) has a purely imaginary spectrum —
    where the midpoint rule is stable (theory/reversible-stability.md §3): DA with D ≥ 0
    diagonal and A antisymmetric is similar to D^½AD^½, antisymmetric. With batch norm
    in eval mode N is the diagonal γ/√(var + ε) per channel, so the spectrum stays
    imaginary exactly while every learned scale γ is ≥ 0; a negative γ (nothing keeps it
    positive) breaks it, and in training mode N subtracts batch means, which is not a
    diagonal map at all (``tests/test_reversible_official.py`` measures both).

    >>> f = AntisymmetricConv(3, norm=False, activation=None).double()
    >>> x = torch.randn(2, 3, 6, 6).double()
    >>> bool(abs((f(x) * x).sum() - (f.bias.view(1, -1, 1, 1) * x).sum()) < 1e-10)  # ⟨Ax, x⟩ = 0
    True
    """

    def __init__(self, channels: int, norm: bool = True, activation=nn.ReLU):
        super().__init__()
        self.weight = _kaiming((channels, channels, 3, 3))
        self.bias = None if norm else nn.Parameter(torch.zeros(channels))
        self.norm = nn.BatchNorm2d(channels) if norm else nn.Identity()
        self.act = activation() if activation is not None else nn.Identity()

    def forward(self, y):
        u = F.conv2d(y, self.weight, self.bias, padding=1) - F.conv_transpose2d(y, self.weight, padding=1)
        return self.act(self.norm(u))


# -- transitions -------------------------------------------------------------------------
def _projection(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False))


class PairTransition(nn.Module):
    """(Y, Z) ↦ halves of P([Y, Z]): downsampling between stages of a coupling network."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.proj = _projection(c_in, c_out)

    def forward(self, y, z):
        return tuple(torch.chunk(self.proj(torch.cat([y, z], dim=1)), 2, dim=1))


class PoolPad(nn.Module):
    """Each state average-pooled (``stride``) and zero-padded from ``c_in`` to ``c_out``
    channels, half the new channels before and half after: the parameter-free transition
    of Chang et al.'s and Gomez et al.'s code (``_possible_downsample``: ``avg_pool`` then
    ``tf.pad`` of ``(out − in)/2`` channels on each side), applied to each half (Y, Z) or
    to each state of a multistep history (one state in: one tensor out).

    >>> t = PoolPad(2, 4)
    >>> [tuple(u.shape) for u in t(torch.ones(1, 2, 4, 4), torch.ones(1, 2, 4, 4))]
    [(1, 4, 2, 2), (1, 4, 2, 2)]
    >>> t(torch.ones(1, 2, 2, 2))[0, :, 0, 0].tolist()
    [0.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 2):
        super().__init__()
        if c_out < c_in or (c_out - c_in) % 2:
            raise ValueError(f"zero padding takes {c_in} channels to {c_out} only when the difference is even and >= 0")
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def _one(self, u):
        if self.stride > 1:
            u = F.avg_pool2d(u, self.stride, self.stride)
        p = (self.c_out - self.c_in) // 2
        return F.pad(u, (0, 0, 0, 0, p, p)) if p else u

    def forward(self, *state):
        out = tuple(self._one(u) for u in state)
        return out if len(out) != 1 else out[0]


class RevNetDownsample(nn.Module):
    """The first unit of a RevNet stage (Gomez et al.'s ``_residual`` with stride 2):
    Y' = P(Y) + F(Z), Z' = P(Z) + G(Y') with F a pre-activation basic branch that
    strides and widens (c_in → c_out per half), G one at c_out, P :class:`PoolPad`. Not
    invertible (F changes the shape), so it stores its input like any layer — as the
    official code does (``_saved_hidden`` at each stage's first unit)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2):
        super().__init__()
        self.f = BasicBlock(c_in, c_out, stride, shortcut="pad")
        self.g = BasicBlock(c_out, c_out)
        self.pool = PoolPad(c_in, c_out, stride)

    def forward(self, y, z):
        py, pz = self.pool(y, z)
        y = py + self.f(z)
        return y, pz + self.g(y)


class HistoryTransition(nn.Module):
    """(y_{n−1}, y_n) ↦ (P y_{n−1}, P y_n) (``"project"``) or (P y_n, P y_n) (``"restart"``).

    P's batch norm normalises each state with its own batch statistics; its running
    statistics follow the newest state only (older states pass with them frozen), so they
    are updated once per forward, as in every other layer."""

    def __init__(self, c_in: int, c_out: int, history: str = "project", proj: nn.Module | None = None):
        super().__init__()
        if history not in ("project", "restart"):
            raise ValueError(f"history must be 'project' or 'restart', got {history!r}")
        self.history = history
        self.proj = _projection(c_in, c_out) if proj is None else proj

    def forward(self, *state):
        newest = self.proj(state[-1])
        if self.history == "restart":
            return (newest,) * len(state)
        with frozen_batch_norm(self.proj):
            older = tuple(self.proj(y) for y in state[:-1])
        return (*older, newest)


# -- the network -------------------------------------------------------------------------
class ReversibleSection(nn.Module):
    """One stage of a :class:`ReversibleNet`: [transition] → :class:`ReversibleStage`.

    The first section turns the stem's tensor into the initial state — its channel split
    (Y, Z) (``split=True``) or ``steps`` copies (y_{−1} = y_0) — and the last reads the
    final state out (Y and Z concatenated, or the newest y); in between, sections pass
    state tuples. ``scheme`` is the scheme every block steps with (for
    :meth:`step_records`, the bridge back to numerics). ``stage`` may be ``None`` (a
    section that only changes resolution and width).

    ``start`` says how a two-step net's first section makes its history from y_0:
    ``"repeat"`` y_{−1} = y_0; ``"zero"`` y_{−1} = 0, so the first leapfrog step is
    y_1 = 2y_0 − h²F(y_0) (Chang et al., Eq. 17); ``"euler"`` y_{−1} = y_0 − h f_0(y_0)
    with the first block's own f (running statistics untouched), so the first midpoint
    step y_1 = y_{−1} + 2h f_0(y_0) is the forward Euler step y_0 + h f_0(y_0), the
    paper's first midpoint step."""

    STARTS = ("repeat", "zero", "euler")

    def __init__(self, stage: ReversibleStage | None, scheme, transition: nn.Module | None = None, split: bool = True,
                 steps: int = 1, first: bool = False, last: bool = False, start: str = "repeat"):
        super().__init__()
        if start not in self.STARTS:
            raise ValueError(f"start must be one of {self.STARTS}, got {start!r}")
        if start == "euler" and first and not (stage is not None and isinstance(stage.blocks[0], MultistepBlock)
                                               and stage.blocks[0].order == 1):
            raise ValueError("start='euler' needs a first-order multistep block first in the stage")
        self.stage, self.scheme, self.transition = stage, scheme, transition
        self.split, self.steps, self.first, self.last, self.start = split, steps, first, last, start

    def _history(self, u):
        if self.start == "zero":
            return (torch.zeros_like(u),) * (self.steps - 1) + (u,)
        if self.start == "euler":
            block = self.stage.blocks[0]
            with frozen_batch_norm(block):
                return (u - block.h * block.f(u),) * (self.steps - 1) + (u,)
        return (u,) * self.steps

    def forward(self, u):
        if self.first:
            state = tuple(torch.chunk(u, 2, dim=1)) if self.split else self._history(u)
        else:
            state = u
        if self.transition is not None:
            state = self.transition(*state)
        if self.stage is not None:
            state = self.stage(*state)
        if not self.last:
            return state
        return torch.cat(state, dim=1) if self.split else state[-1]

    def branches(self) -> list:
        """``(module, h)`` per block: the field f of a first-order multistep block (midpoint:
        z = hλ against the LMM's region); ``None`` for coupling and second-order blocks,
        whose linear stability is not read off one Jacobian (see
        theory/reversible-stability.md)."""
        blocks = self.stage.blocks if self.stage is not None else []
        return [(b.f, b.h) if isinstance(b, MultistepBlock) and b.order == 1 else (None, b.h) for b in blocks]

    def step_records(self) -> list:
        """One record per block: every block is one step of :attr:`scheme` (nothing learned)."""
        blocks = self.stage.blocks if self.stage is not None else []
        return [{"kind": "scheme", "block": j, "blocks": [j], "scheme": self.scheme, "values": {}}
                for j in range(len(blocks))]


class ReversibleNet(ResidualNet):
    """A :class:`~numnet.nets.ResidualNet` of :class:`ReversibleSection` s; ``reversible``
    switches every stage between the reconstructing backward pass and ordinary autograd
    (same weights, same outputs). ``stem_norm`` adds batch norm and ReLU after the stem
    convolution (conv-BN-ReLU, the official stem), besides the head's BN-ReLU."""

    def __init__(self, sections, *, in_channels: int, widths, num_classes: int, scheme, depth: int,
                 reversible: bool = True, stem_norm: bool = False, structure: str = "official"):
        super().__init__(sections, in_channels=in_channels, stem_width=widths[0], out_channels=widths[-1],
                         num_classes=num_classes, scheme=scheme, depth=depth)
        if stem_norm:
            self.stem_bn = nn.BatchNorm2d(widths[0])
        self.structure = structure
        self.reversible = reversible

    def _stages(self):
        return [s.stage for s in self.stages if s.stage is not None]

    @property
    def reversible(self) -> bool:
        return all(s.reversible for s in self._stages())

    @reversible.setter
    def reversible(self, flag: bool):
        for s in self._stages():
            s.reversible = flag

    def reconstruction_error(self) -> float | None:
        """The largest relative error ‖x̂ − x‖/‖x‖ of the states the last reversible
        backward pass reconstructed, over the stages (each against its input and its
        stored states, :attr:`ReversibleStage.reconstruction_error`); ``None`` before
        the first reversible backward pass.

        >>> net = hamiltonian_net(14, widths=(4, 4, 8), num_classes=2)
        >>> net.reconstruction_error() is None
        True
        >>> net(torch.randn(2, 3, 8, 8)).sum().backward()
        >>> net.reconstruction_error() < 1e-5
        True
        """
        errs = [s.reconstruction_error for s in self._stages() if s.reconstruction_error is not None]
        return float(torch.stack(errs).max()) if errs else None

    def pop_reconstruction_error(self) -> float | None:
        """The largest reconstruction error over the stages and over every reversible
        backward pass since the last call (``None`` if none ran), and start again: what
        :func:`numnet.train.train` records per epoch (one host sync per call)."""
        errs = [e for e in (s.pop_worst_error() for s in self._stages()) if e is not None]
        return float(torch.stack(errs).max()) if errs else None

    @property
    def store_every(self):
        """Every stage's :attr:`ReversibleStage.store_every` (set it on all at once)."""
        values = {s.store_every for s in self._stages()}
        return values.pop() if len(values) == 1 else sorted(values, key=str)

    @store_every.setter
    def store_every(self, every):
        for s in self._stages():
            s.store_every = every


# -- stages and networks ------------------------------------------------------------------
STRUCTURES = ("official", "numnet")
"""``"official"``: the networks as Chang et al.'s and Gomez et al.'s code builds them
(conv-BN-ReLU stem; parameter-free pool + zero-pad transitions; Hamiltonian blocks
Kᵀσ(N(Kσ(N·))) with h = 1; the paper's first two-step steps); ``"numnet"``: numnet's
earlier variant (conv stem, learned BN-ReLU-conv3×3 stride-2 transitions on the whole
state, Kᵀσ(N(K·)) blocks, h = 0.1, y_{−1} = y_0). theory/reversible-stability.md §5
lists what still departs."""

OFFICIAL_WIDTHS = {"hamiltonian": {38: (32, 64, 112), 110: (32, 64, 128)},
                   "revnet": {38: (32, 64, 112), 110: (32, 64, 128)}}
"""Stage widths of the published configurations in changebo/revnet-public
(``resnet/configs/cifar_configs.py``: ``filters = [32, 32, 64, 112]`` for -38,
``[32, 32, 64, 128]`` for -110; the stem has ``filters[0]`` = the first stage's
width). Other depths take the -38 widths (32, 64, 112), the paper's Hamiltonian widths."""


def _partitioned(name: str) -> partitioned.PartitionedScheme:
    sch = partitioned.get(name)
    if not isinstance(sch, partitioned.PartitionedScheme):
        raise ValueError(f"a Hamiltonian stage needs a partitioned one-step scheme, got {name!r} ({type(sch).__name__})")
    sch.kicks  # raises for schemes that are not sequences of kicks (forward_euler_pair)
    return sch


def hamiltonian_stage(channels: int, blocks: int, h: float = 0.1, scheme: str = "symplectic_euler", norm: bool = True,
                      activation=nn.ReLU, preact: bool = False, first: bool = False) -> ReversibleStage:
    """``blocks`` Hamiltonian blocks on a state (Y, Z) of ``channels`` channels each: the
    kicks of a reversible partitioned scheme, each through its own Kᵀσ(N(K·))
    (``preact=True``: Kᵀσ(N(Kσ(N·))), the official order). ``first``: the net's first
    block, whose first kick has no N-σ before K (the stem ends with BN-ReLU; the
    official ``no_activation``)."""
    sch = _partitioned(scheme)

    def pair(j, k):
        return TransposedConvPair(channels, norm=norm, activation=activation, preact=preact and not (first and j == k == 0))
    return ReversibleStage([
        CouplingBlock.from_scheme(sch, h, [pair(j, k) for k in range(len(sch.kicks))]) for j in range(blocks)
    ])


class _Copy(nn.Module):
    """The identity as a new tensor (the block's in-place ReLU must not touch its input)."""

    def forward(self, u):
        return u.clone()


REVNET_FIELD_SIGNS = {"Y": 1, "Z": 1}
"""RevNet's system Y' = F(Z), Z' = +G(Y): Gomez et al. (2017) add G(y_1) to x_2; the
partitioned schemes' Z' = −G(Y) has the other sign (G is learned, so both are RevNets)."""


def revnet_stage(channels: int, blocks: int, first: bool = False) -> ReversibleStage:
    """``blocks`` RevNet blocks Y += F(Z), Z += G(Y) on halves of ``channels`` channels each:
    the kicks of ``partitioned.get("revnet")`` (symplectic Euler) with h = 1 and
    :data:`REVNET_FIELD_SIGNS`; F and G are the nets layer's pre-activation
    :class:`~numnet.nets.BasicBlock` branches (``first``: the net's first F without its
    input batch norm, the official ``no_activation``)."""
    sch = partitioned.get("revnet")

    def branch(j, k):
        b = BasicBlock(channels, channels)
        if first and j == k == 0:
            b.bn1 = _Copy()  # no batch norm: relu(u) = u on the stem's relu output
        return b
    return ReversibleStage([
        CouplingBlock.from_scheme(sch, 1.0, [branch(j, k) for k in range(len(sch.kicks))], REVNET_FIELD_SIGNS)
        for j in range(blocks)
    ])


def midpoint_stage(channels: int, blocks: int, h: float = 0.1, norm: bool = True, activation=nn.ReLU,
                   first: bool = False) -> ReversibleStage:
    """``blocks`` midpoint steps y_{j+1} = y_{j−1} + 2h σ(N((K − Kᵀ)y_j)) on a state (y_{j−1}, y_j)."""
    scheme = get_scheme("leapfrog")
    return ReversibleStage([MultistepBlock(scheme, AntisymmetricConv(channels, norm=norm, activation=activation), h)
                            for _ in range(blocks)])


def leapfrog_stage(channels: int, blocks: int, h: float = 0.1, norm: bool = True, activation=nn.ReLU,
                   first: bool = False) -> ReversibleStage:
    """``blocks`` Störmer steps y_{j+1} = 2y_j − y_{j−1} − h² Kᵀσ(N(Ky_j)) on (y_{j−1}, y_j):
    the field enters with the scheme's ``FIELD_SIGN`` (y'' = −F(y), where its step bound holds)."""
    scheme = partitioned.get("stormer")
    return ReversibleStage([MultistepBlock(scheme, TransposedConvPair(channels, norm=norm, activation=activation), h,
                                           sign=scheme.FIELD_SIGN) for _ in range(blocks)])


def _check_structure(structure):
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    return structure


def _net(stage, scheme, layers_per_block, depth, widths, split, steps, num_classes, in_channels, history, reversible,
         what, structure="numnet", start="repeat", unit_transition=None, store_every=None):
    """Sections of ``stage(channels, blocks, first)`` blocks. ``"numnet"``: n blocks per
    width, a learned projection between. ``"official"``: parameter-free :class:`PoolPad`
    between, each width's first unit run at the previous width (n + 1, n, n − 1 blocks);
    or, with ``unit_transition`` (RevNet), that first unit is the (stored) transition."""
    n = _blocks_per_stage(depth, layers_per_block, what)
    widths = _check_widths(widths, even=split)
    _check_structure(structure)
    half = (lambda w: w // 2) if split else (lambda w: w)
    if structure == "numnet":
        counts = [n] * len(widths)
    elif unit_transition is None:
        counts = [n + 1] + [n] * (len(widths) - 2) + [n - 1]
    else:
        counts = [n] + [n - 1] * (len(widths) - 1)
    sections = []
    for i, (w, count) in enumerate(zip(widths, counts)):
        transition = None
        if i:
            c_in, c_out = widths[i - 1], w
            if structure == "numnet":
                transition = PairTransition(c_in, c_out) if split else HistoryTransition(c_in, c_out, history)
            elif unit_transition is not None:
                transition = unit_transition(half(c_in), half(c_out))
            else:
                pool = PoolPad(half(c_in), half(c_out))
                transition = pool if split else HistoryTransition(c_in, c_out, history, proj=pool)
        blocks = stage(half(w), count, i == 0) if count else None
        if blocks is not None:
            blocks.store_every = store_every
            if i == 0 and structure == "official":
                blocks.head_blocks = 1  # its own structure (no_activation): kept as it is when the depth changes
        sections.append(ReversibleSection(blocks, scheme, transition, split, steps, first=i == 0,
                                          last=i == len(widths) - 1, start=start if i == 0 else "repeat"))
    return ReversibleNet(sections, in_channels=in_channels, widths=widths, num_classes=num_classes, scheme=scheme,
                         depth=depth, reversible=reversible, stem_norm=structure == "official", structure=structure)


def _defaults(net, structure, depth, widths, h, numnet_widths, official_h):
    _check_structure(structure)
    if widths is None:
        widths = numnet_widths if structure == "numnet" else OFFICIAL_WIDTHS[net].get(depth, (32, 64, 112))
    if h is None:
        h = official_h if structure == "official" else 0.1
    return widths, h


def hamiltonian_net(depth: int = 74, num_classes: int = 10, in_channels: int = 3, widths=None, h: float | None = None,
                    scheme: str = "symplectic_euler", norm: bool = True, activation=nn.ReLU, reversible: bool = True,
                    structure: str = "official", store_every: int | None = None) -> ReversibleNet:
    """Chang et al.'s Hamiltonian network: Y_{j+1} = Y_j + h F₁(Z_j), Z_{j+1} = Z_j − h F₂(Y_{j+1})
    — a partitioned scheme (any reversible one from :mod:`numnet.schemes.partitioned`,
    e.g. ``"stormer_verlet"``) on channel halves. By default as their code builds it
    (:data:`STRUCTURES`): F = Kᵀσ(N(Kσ(N·))), h = 1, widths :data:`OFFICIAL_WIDTHS`,
    pool + pad transitions; ``structure="numnet"`` the earlier variant.

    Hamiltonian-38 has the official code's 191,050 parameters (the arithmetic:
    tests/test_reversible_official.py):

    >>> sum(p.numel() for p in hamiltonian_net(38).parameters())
    191050
    """
    widths, h = _defaults("hamiltonian", structure, depth, widths, h, (32, 64, 112), 1.0)
    sch = _partitioned(scheme)
    official = structure == "official"
    return _net(lambda c, n, first: hamiltonian_stage(c, n, h, scheme, norm, activation, preact=official, first=first),
                sch, 2 * len(sch.kicks), depth, widths, True, 1, num_classes, in_channels, None, reversible,
                f"hamiltonian with {sch.name}", structure, store_every=store_every)


def revnet(depth: int = 38, num_classes: int = 10, in_channels: int = 3, widths=None, reversible: bool = True,
           structure: str = "official", store_every: int | None = None) -> ReversibleNet:
    """RevNet (Gomez et al., 2017) with basic blocks: Y += F(Z), Z += G(Y) with
    pre-activation residual functions — symplectic Euler with h = 1 (its G is the negative
    of the scheme's, a learned function). RevNet-38 / -110: 3 / 9 units per stage. By
    default as their code builds it: each later stage's first unit strides inside F and
    pools + pads Y and Z (:class:`RevNetDownsample`, stored), widths :data:`OFFICIAL_WIDTHS`.

    >>> sum(p.numel() for p in revnet(38).parameters()), sum(p.numel() for p in revnet(110).parameters())
    (464890, 1729194)
    """
    widths, _ = _defaults("revnet", structure, depth, widths, 1.0, (32, 64, 112), 1.0)
    unit = RevNetDownsample if structure == "official" else None
    stage = (lambda c, n, first: revnet_stage(c, n, first=first and structure == "official"))
    return _net(stage, partitioned.get("symplectic_euler"), 4, depth, widths, True, 1, num_classes, in_channels,
                None, reversible, "revnet", structure, unit_transition=unit, store_every=store_every)


def midpoint_net(depth: int = 56, num_classes: int = 10, in_channels: int = 3, widths=(16, 32, 64), h: float = 0.1,
                 norm: bool = True, activation=nn.ReLU, history: str = "project", reversible: bool = True,
                 structure: str = "official", start: str | None = None, store_every: int | None = None) -> ReversibleNet:
    """Midpoint network: Y_{j+1} = Y_{j−1} + 2h σ(N((K_j − K_jᵀ)Y_j)) — the catalog's
    ``leapfrog`` LMM with an antisymmetric-Jacobian block (stable for |hλ| < 1). By
    default the first step is the paper's forward Euler step Y_1 = Y_0 + h f_0(Y_0)
    (``start="euler"``, :class:`ReversibleSection`) and the transitions pool + pad."""
    start = ("euler" if structure == "official" else "repeat") if start is None else start
    return _net(lambda c, n, first: midpoint_stage(c, n, h, norm, activation), get_scheme("leapfrog"), 2, depth,
                widths, False, 2, num_classes, in_channels, history, reversible, "midpoint_net", structure, start,
                store_every=store_every)


def leapfrog_net(depth: int = 56, num_classes: int = 10, in_channels: int = 3, widths=(16, 32, 64), h: float = 0.1,
                 norm: bool = True, activation=nn.ReLU, history: str = "project", reversible: bool = True,
                 structure: str = "official", start: str | None = None, store_every: int | None = None) -> ReversibleNet:
    """Leapfrog network: Y_{j+1} = 2Y_j − Y_{j−1} − h² K_jᵀσ(N(K_jY_j)) — Störmer's scheme
    for Y'' = −Kᵀσ(KY) (stable for h < 2/σ_max(K) when N = identity, 0 ≤ σ' ≤ 1). By
    default Y_{−1} = 0, so Y_1 = 2Y_0 − h²F(Y_0), the paper's Eq. (17) (``start="zero"``),
    and the transitions pool + pad."""
    start = ("zero" if structure == "official" else "repeat") if start is None else start
    return _net(lambda c, n, first: leapfrog_stage(c, n, h, norm, activation), partitioned.get("stormer"), 2, depth,
                widths, False, 2, num_classes, in_channels, history, reversible, "leapfrog_net", structure, start,
                store_every=store_every)


BUILDERS = {"hamiltonian": hamiltonian_net, "midpoint_net": midpoint_net, "leapfrog_net": leapfrog_net, "revnet": revnet}
"""The reversible networks :func:`numnet.nets.build` knows by name."""


def build_reversible(net: str, depth: int, *, num_classes: int = 10, in_channels: int = 3, scheme=None, **options):
    """:func:`numnet.nets.build` for the names in :data:`BUILDERS`; ``scheme`` (a
    partitioned scheme name) only for "hamiltonian", the others fix theirs.

    >>> build_reversible("hamiltonian", 26, scheme="symplectic_euler", widths=(4, 4, 4)).depth
    26
    >>> build_reversible("revnet", 14, scheme="stormer_verlet")
    Traceback (most recent call last):
    ...
    ValueError: net 'revnet' fixes its scheme; pass scheme=... only with net='hamiltonian', got scheme='stormer_verlet'
    """
    if net not in BUILDERS:
        raise ValueError(f"net must be one of {list(BUILDERS)}, got {net!r}")
    if scheme is not None:
        if net != "hamiltonian":
            raise ValueError(f"net {net!r} fixes its scheme; pass scheme=... only with net='hamiltonian', got scheme={scheme!r}")
        options["scheme"] = scheme
    return BUILDERS[net](depth=depth, num_classes=num_classes, in_channels=in_channels, **options)
