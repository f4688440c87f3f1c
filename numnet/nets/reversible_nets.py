"""Reversible networks: Hamiltonian, midpoint, leapfrog (Chang et al., AAAI 2018), RevNet.

Each network is a :class:`~numnet.nets.ResidualNet` (its stem, pre-activation head and
bridge back to numerics) whose stages are :class:`ReversibleSection` s: a
:class:`~numnet.nets.reversible.ReversibleStage` preceded, from the second stage on, by a
transition that halves the resolution and changes the width with BN-ReLU-conv3×3
(stride 2). Transitions are *not* reversible: they store their input like any layer (two
per network, so the stored memory stays flat in depth). Sections pass the state tuple
from one to the next; the last one reads out the tensor the head sees.

============  =========================================  ======================  ===========
network       block                                      scheme                  depth
============  =========================================  ======================  ===========
hamiltonian   Y += hF(Z), Z −= hG(Y); F = Kᵀσ(N(K·))      symplectic_euler        12n+2
midpoint_net  y_{j+1} = y_{j−1} + 2h σ(N((K−Kᵀ)y_j))      leapfrog (nystrom2)     6n+2
leapfrog_net  y_{j+1} = 2y_j − y_{j−1} − h² Kᵀσ(N(Ky_j))  stormer (y'' = −F(y))   6n+2
revnet        Y += F(Z), Z += G(Y); F, G = BasicBlock     symplectic_euler, h = 1 12n+2
============  =========================================  ======================  ===========

Depth counts the block convolutions (K and Kᵀ are two) plus stem and classifier; the
two transition convolutions are not counted, as ResNet's projection shortcuts are not.
The Hamiltonian
and RevNet state is the channel split (Y, Z) of the stem's output; the two-step nets start
from y_{−1} = y_0 (zero initial velocity) and carry both states through the transition's
projection (``history="project"``, as LM-ResNet does) or restart from the projected
newest state (``history="restart"``).

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
    symmetric positive semidefinite.

    >>> f = TransposedConvPair(4, norm=False, activation=None).double()
    >>> x, y = torch.randn(1, 4, 5, 5).double(), torch.randn(1, 4, 5, 5).double()
    >>> bool(torch.isclose((f(x) * y).sum(), (x * f(y)).sum()))  # KᵀK is symmetric
    True
    """

    def __init__(self, channels: int, hidden: int | None = None, norm: bool = True, activation=nn.ReLU):
        super().__init__()
        hidden = channels if hidden is None else hidden
        self.weight = _kaiming((hidden, channels, 3, 3))
        self.bias = None if norm else nn.Parameter(torch.zeros(hidden))
        self.norm = nn.BatchNorm2d(hidden) if norm else nn.Identity()
        self.act = activation() if activation is not None else nn.Identity()

    def forward(self, z):
        u = F.conv2d(z, self.weight, self.bias, padding=1)
        return F.conv_transpose2d(self.act(self.norm(u)), self.weight, padding=1)


class AntisymmetricConv(nn.Module):
    """f(y) = σ(N((K − Kᵀ)y + b)) with K a square 3×3 convolution and Kᵀ its adjoint: the
    Jacobian D(K − Kᵀ) (D = diag σ' ≥ 0) has a purely imaginary spectrum — where the midpoint
    rule is stable (theory/reversible-stability.md §3).

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


class HistoryTransition(nn.Module):
    """(y_{n−1}, y_n) ↦ (P y_{n−1}, P y_n) (``"project"``) or (P y_n, P y_n) (``"restart"``).

    P's batch norm normalises each state with its own batch statistics; its running
    statistics follow the newest state only (older states pass with them frozen), so they
    are updated once per forward, as in every other layer."""

    def __init__(self, c_in: int, c_out: int, history: str = "project"):
        super().__init__()
        if history not in ("project", "restart"):
            raise ValueError(f"history must be 'project' or 'restart', got {history!r}")
        self.history = history
        self.proj = _projection(c_in, c_out)

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
    :meth:`step_records`, the bridge back to numerics)."""

    def __init__(self, stage: ReversibleStage, scheme, transition: nn.Module | None = None, split: bool = True,
                 steps: int = 1, first: bool = False, last: bool = False):
        super().__init__()
        self.stage, self.scheme, self.transition = stage, scheme, transition
        self.split, self.steps, self.first, self.last = split, steps, first, last

    def forward(self, u):
        if self.first:
            state = tuple(torch.chunk(u, 2, dim=1)) if self.split else (u,) * self.steps
        else:
            state = u
        if self.transition is not None:
            state = self.transition(*state)
        state = self.stage(*state)
        if not self.last:
            return state
        return torch.cat(state, dim=1) if self.split else state[-1]

    def branches(self) -> list:
        """``(module, h)`` per block: the field f of a first-order multistep block (midpoint:
        z = hλ against the LMM's region); ``None`` for coupling and second-order blocks,
        whose linear stability is not read off one Jacobian (see
        theory/reversible-stability.md)."""
        return [(b.f, b.h) if isinstance(b, MultistepBlock) and b.order == 1 else (None, b.h)
                for b in self.stage.blocks]

    def step_records(self) -> list:
        """One record per block: every block is one step of :attr:`scheme` (nothing learned)."""
        return [{"kind": "scheme", "block": j, "blocks": [j], "scheme": self.scheme, "values": {}}
                for j in range(len(self.stage.blocks))]


class ReversibleNet(ResidualNet):
    """A :class:`~numnet.nets.ResidualNet` of :class:`ReversibleSection` s; ``reversible``
    switches every stage between the reconstructing backward pass and ordinary autograd
    (same weights, same outputs)."""

    def __init__(self, sections, *, in_channels: int, widths, num_classes: int, scheme, depth: int,
                 reversible: bool = True):
        super().__init__(sections, in_channels=in_channels, stem_width=widths[0], out_channels=widths[-1],
                         num_classes=num_classes, scheme=scheme, depth=depth)
        self.reversible = reversible

    @property
    def reversible(self) -> bool:
        return all(s.stage.reversible for s in self.stages)

    @reversible.setter
    def reversible(self, flag: bool):
        for s in self.stages:
            s.stage.reversible = flag


# -- stages and networks ------------------------------------------------------------------
def _partitioned(name: str) -> partitioned.PartitionedScheme:
    sch = partitioned.get(name)
    if not isinstance(sch, partitioned.PartitionedScheme):
        raise ValueError(f"a Hamiltonian stage needs a partitioned one-step scheme, got {name!r} ({type(sch).__name__})")
    sch.kicks  # raises for schemes that are not sequences of kicks (forward_euler_pair)
    return sch


def hamiltonian_stage(channels: int, blocks: int, h: float = 0.1, scheme: str = "symplectic_euler", norm: bool = True,
                      activation=nn.ReLU) -> ReversibleStage:
    """``blocks`` Hamiltonian blocks on a state (Y, Z) of ``channels`` channels each: the
    kicks of a reversible partitioned scheme, each through its own Kᵀσ(N(K·))."""
    sch = _partitioned(scheme)
    return ReversibleStage([
        CouplingBlock.from_scheme(sch, h, [TransposedConvPair(channels, norm=norm, activation=activation) for _ in sch.kicks])
        for _ in range(blocks)
    ])


REVNET_FIELD_SIGNS = {"Y": 1, "Z": 1}
"""RevNet's system Y' = F(Z), Z' = +G(Y): Gomez et al. (2017) add G(y_1) to x_2; the
partitioned schemes' Z' = −G(Y) has the other sign (G is learned, so both are RevNets)."""


def revnet_stage(channels: int, blocks: int) -> ReversibleStage:
    """``blocks`` RevNet blocks Y += F(Z), Z += G(Y) on halves of ``channels`` channels each:
    the kicks of ``partitioned.get("revnet")`` (symplectic Euler) with h = 1 and
    :data:`REVNET_FIELD_SIGNS`; F and G are the nets layer's pre-activation
    :class:`~numnet.nets.BasicBlock` branches."""
    sch = partitioned.get("revnet")
    return ReversibleStage([
        CouplingBlock.from_scheme(sch, 1.0, [BasicBlock(channels, channels) for _ in sch.kicks], REVNET_FIELD_SIGNS)
        for _ in range(blocks)
    ])


def midpoint_stage(channels: int, blocks: int, h: float = 0.1, norm: bool = True, activation=nn.ReLU) -> ReversibleStage:
    """``blocks`` midpoint steps y_{j+1} = y_{j−1} + 2h σ(N((K − Kᵀ)y_j)) on a state (y_{j−1}, y_j)."""
    scheme = get_scheme("leapfrog")
    return ReversibleStage([MultistepBlock(scheme, AntisymmetricConv(channels, norm=norm, activation=activation), h)
                            for _ in range(blocks)])


def leapfrog_stage(channels: int, blocks: int, h: float = 0.1, norm: bool = True, activation=nn.ReLU) -> ReversibleStage:
    """``blocks`` Störmer steps y_{j+1} = 2y_j − y_{j−1} − h² Kᵀσ(N(Ky_j)) on (y_{j−1}, y_j):
    the field enters with the scheme's ``FIELD_SIGN`` (y'' = −F(y), where its step bound holds)."""
    scheme = partitioned.get("stormer")
    return ReversibleStage([MultistepBlock(scheme, TransposedConvPair(channels, norm=norm, activation=activation), h,
                                           sign=scheme.FIELD_SIGN) for _ in range(blocks)])


def _net(stage, scheme, layers_per_block, depth, widths, split, steps, num_classes, in_channels, history, reversible, what):
    n = _blocks_per_stage(depth, layers_per_block, what)
    widths = _check_widths(widths, even=split)
    sections = []
    for i, w in enumerate(widths):
        transition = None
        if i:
            transition = PairTransition(widths[i - 1], w) if split else HistoryTransition(widths[i - 1], w, history)
        sections.append(ReversibleSection(stage(w // 2 if split else w, n), scheme, transition, split, steps,
                                          first=i == 0, last=i == len(widths) - 1))
    return ReversibleNet(sections, in_channels=in_channels, widths=widths, num_classes=num_classes, scheme=scheme,
                         depth=depth, reversible=reversible)


def hamiltonian_net(depth: int = 74, num_classes: int = 10, in_channels: int = 3, widths=(32, 64, 112),
                    h: float = 0.1, scheme: str = "symplectic_euler", norm: bool = True, activation=nn.ReLU,
                    reversible: bool = True) -> ReversibleNet:
    """Chang et al.'s Hamiltonian network: Y_{j+1} = Y_j + h K₁ᵀσ(N(K₁Z_j)),
    Z_{j+1} = Z_j − h K₂ᵀσ(N(K₂Y_{j+1})) — a partitioned scheme (any reversible one from
    :mod:`numnet.schemes.partitioned`, e.g. ``"stormer_verlet"``) on channel halves."""
    sch = _partitioned(scheme)
    return _net(lambda c, n: hamiltonian_stage(c, n, h, scheme, norm, activation), sch, 2 * len(sch.kicks), depth,
                widths, True, 1, num_classes, in_channels, None, reversible, f"hamiltonian with {sch.name}")


def revnet(depth: int = 38, num_classes: int = 10, in_channels: int = 3, widths=(32, 64, 112),
           reversible: bool = True) -> ReversibleNet:
    """RevNet (Gomez et al., 2017) with basic blocks: Y += F(Z), Z += G(Y) with
    pre-activation residual functions — symplectic Euler with h = 1 (its G is the negative
    of the scheme's, a learned function). RevNet-38 / -110: 3 / 9 blocks per stage."""
    return _net(revnet_stage, partitioned.get("symplectic_euler"), 4, depth, widths, True, 1, num_classes, in_channels,
                None, reversible, "revnet")


def midpoint_net(depth: int = 56, num_classes: int = 10, in_channels: int = 3, widths=(16, 32, 64), h: float = 0.1,
                 norm: bool = True, activation=nn.ReLU, history: str = "project", reversible: bool = True) -> ReversibleNet:
    """Midpoint network: Y_{j+1} = Y_{j−1} + 2h σ(N((K_j − K_jᵀ)Y_j)) — the catalog's
    ``leapfrog`` LMM with an antisymmetric-Jacobian block (stable for |hλ| < 1)."""
    return _net(lambda c, n: midpoint_stage(c, n, h, norm, activation), get_scheme("leapfrog"), 2, depth, widths, False,
                2, num_classes, in_channels, history, reversible, "midpoint_net")


def leapfrog_net(depth: int = 56, num_classes: int = 10, in_channels: int = 3, widths=(16, 32, 64), h: float = 0.1,
                 norm: bool = True, activation=nn.ReLU, history: str = "project", reversible: bool = True) -> ReversibleNet:
    """Leapfrog network: Y_{j+1} = 2Y_j − Y_{j−1} − h² K_jᵀσ(N(K_jY_j)) — Störmer's scheme
    for Y'' = −Kᵀσ(KY) (stable for h < 2/σ_max(K) when N = identity, 0 ≤ σ' ≤ 1)."""
    return _net(lambda c, n: leapfrog_stage(c, n, h, norm, activation), partitioned.get("stormer"), 2, depth, widths,
                False, 2, num_classes, in_channels, history, reversible, "leapfrog_net")


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
