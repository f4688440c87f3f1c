"""Rooted trees: the index set of Runge–Kutta order conditions and B-series.

Every tree with more than one node is written uniquely as a Butcher product
``t = u ∘ v`` (graft ``v`` as a new child of the root of ``u``) where ``v`` is the
largest child of ``t`` in generation order. Generating trees order by order from that
rule needs no isomorphism test, and the same decomposition drives every recursion:

- density        γ(u∘v) = |t| γ(u) γ(v) / |u|
- symmetry       σ(u∘v) = σ(u) σ(v) m, m = multiplicity of v among the children of t
- elementary weight  Φ(u∘v) = Φ(u) ⊙ (A Φ(v))   (stage vectors; Φ(•) = 1)

Trees are integers (their index in a :class:`Forest`); the forest holds arrays.

>>> f = forest(10)
>>> [len(f.of_order(n)) for n in range(1, 11)]
[1, 1, 2, 4, 9, 20, 48, 115, 286, 719]
>>> f.name(2), f.gamma[2], f.sigma[2], f.name(3), f.gamma[3], f.sigma[3]
('[[•]]', 6, 1, '[•,•]', 3, 2)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .._lazy import lazy_module

np = lazy_module("numpy")  # imported at first use: numnet.schemes loads without numpy


@dataclass(frozen=True)
class Forest:
    """All rooted trees up to ``max_order``, in generation order (by order, then id).

    Arrays are indexed by tree id; tree 0 is the single node •.
    ``u[t], v[t]`` give the Butcher product decomposition (-1 for •),
    ``children[t]`` the sorted tuple of child ids.
    """

    max_order: int
    order: np.ndarray
    u: np.ndarray
    v: np.ndarray
    gamma: tuple  # exact Python ints (they overflow int64 beyond order ~20)
    sigma: tuple
    children: tuple
    starts: np.ndarray  # trees of order n are ids starts[n-1] .. starts[n]-1

    def of_order(self, n: int) -> range:
        """Ids of the trees of order ``n``."""
        if not 1 <= n <= self.max_order:
            raise ValueError(f"order must be in 1..{self.max_order}, got {n}")
        return range(int(self.starts[n - 1]), int(self.starts[n]))

    def upto(self, n: int) -> range:
        """Ids of the trees of order 1..n."""
        return range(0, int(self.starts[n]))

    def name(self, t: int) -> str:
        """Bracket notation: • for a node, [t1 t2 …] for a root with children."""
        kids = self.children[t]
        if not kids:
            return "•"
        return "[" + ",".join(self.name(k) for k in kids) + "]"

    def __len__(self) -> int:
        return len(self.order)


class _Growing:
    """The one forest of the session, extended order by order on demand; every
    :func:`forest` call is a prefix view of it (tree ids never change)."""

    def __init__(self):
        self.order, self.u, self.v = [1], [-1], [-1]
        self.gamma, self.sigma, self.mult_last = [1], [1], [0]
        self.children = [()]
        self.starts = [0, 1]
        self.views = {}

    def grow(self, max_order: int) -> None:
        order, u, v, gamma, sigma = self.order, self.u, self.v, self.gamma, self.sigma
        mult_last, children, starts = self.mult_last, self.children, self.starts
        for n in range(len(starts), max_order + 1):
            for nu in range(1, n):  # |u| = nu, |v| = n - nu
                nv = n - nu
                for ui in range(starts[nu - 1], starts[nu]):
                    kids = children[ui]
                    last = kids[-1] if kids else -1
                    for vi in range(max(starts[nv - 1], last), starts[nv]):
                        m = mult_last[ui] + 1 if vi == last else 1
                        order.append(n)
                        u.append(ui)
                        v.append(vi)
                        gamma.append(n * gamma[ui] * gamma[vi] // nu)
                        sigma.append(sigma[ui] * sigma[vi] * m)
                        mult_last.append(m)
                        children.append(kids + (vi,))
            starts.append(len(order))

    def view(self, max_order: int) -> Forest:
        if max_order not in self.views:
            self.grow(max_order)
            end = self.starts[max_order]
            self.views[max_order] = Forest(
                max_order=max_order,
                order=np.array(self.order[:end], dtype=np.int64),
                u=np.array(self.u[:end], dtype=np.int64),
                v=np.array(self.v[:end], dtype=np.int64),
                gamma=tuple(self.gamma[:end]),
                sigma=tuple(self.sigma[:end]),
                children=tuple(self.children[:end]),
                starts=np.array(self.starts[: max_order + 1], dtype=np.int64),
            )
        return self.views[max_order]


_GROWING = _Growing()


MAX_ORDER = 16
"""Highest order :func:`forest` generates: 376,464 trees in all (235,381 of order 16),
0.6 s and 150 MB; order 17 doubles both, and the count grows ~2.96× per order."""


@functools.lru_cache(maxsize=None)
def tree_count(n: int) -> int:
    """Number of rooted trees of order n (OEIS A000081), by the standard recurrence
    a(n+1) = (1/n) Σ_{k=1}^{n} (Σ_{d|k} d·a(d)) a(n−k+1) — counted, not generated.

    >>> [tree_count(n) for n in range(1, 11)], tree_count(30)
    ([1, 1, 2, 4, 9, 20, 48, 115, 286, 719], 354426847597)
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"tree order must be a positive integer, got {n!r}")
    a = [0, 1]
    for m in range(1, int(n)):
        s = sum(sum(d * a[d] for d in range(1, k + 1) if k % d == 0) * a[m - k + 1] for k in range(1, m + 1))
        a.append(s // m)
    return a[int(n)]


def check_order_bound(n: int, bound: int, call: str, limit: str | None = None) -> None:
    """Refuse ``call`` (e.g. ``"forest(30)"``) when it needs trees beyond order ``bound``,
    saying how many trees order n has — the work and memory grow with that count.
    ``limit`` states the bound in the caller's terms (default: the tree order).

    >>> check_order_bound(30, MAX_ORDER, "forest(30)")
    Traceback (most recent call last):
    ...
    ValueError: forest(30) would need 354,426,847,597 trees of order 30; numnet generates trees up to order 16 (235,381 trees of order 16 take seconds and modest memory)
    """
    if n > bound:
        limit = limit or f"numnet generates trees up to order {bound}"
        raise ValueError(
            f"{call} would need {tree_count(n):,} trees of order {n}; {limit} "
            f"({tree_count(bound):,} trees of order {bound} take seconds and modest memory)"
        )


def forest(max_order: int) -> Forest:
    """All rooted trees of order 1..``max_order`` (cached; order 0 gives an empty forest),
    up to :data:`MAX_ORDER` (16); beyond it a ``ValueError`` gives the tree count.

    >>> forest(4).name(7)
    '[•,•,•]'
    """
    if not isinstance(max_order, (int, np.integer)) or isinstance(max_order, bool) or max_order < 0:
        raise ValueError(f"max_order must be a non-negative integer, got {max_order!r}")
    check_order_bound(int(max_order), MAX_ORDER, f"forest({max_order})")
    if max_order == 0:
        return Forest(0, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), (), (), (), np.array([0]))
    return _GROWING.view(int(max_order))


def elementary_weights_float(A: np.ndarray, f: Forest, n: int) -> np.ndarray:
    """Stage vectors Φ(t) for all trees of order ≤ n, as a float array (trees × stages).

    Vectorised per order: Φ(t) = Φ(u) ⊙ (A Φ(v)) for a whole order at once.
    """
    s = A.shape[0]
    ids = f.upto(n)
    phi = np.empty((len(ids), s), dtype=np.result_type(A, float))
    aphi = np.empty_like(phi)
    phi[0] = 1.0
    aphi[0] = A @ phi[0]
    for m in range(2, n + 1):
        r = f.of_order(m)
        sl = slice(r.start, r.stop)
        phi[sl] = phi[f.u[sl]] * aphi[f.v[sl]]
        aphi[sl] = phi[sl] @ A.T
    return phi


def density(f: Forest, n: int) -> np.ndarray:
    """γ(t) as floats for trees of order ≤ n."""
    return np.array([float(g) for g in f.gamma[: int(f.starts[n])]])
