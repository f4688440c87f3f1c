"""Schemes behind reversible networks (Chang et al., AAAI 2018), with exact linear stability.

Three kinds of step, each one object:

- :class:`PartitionedScheme` — one step for the coupled system Y' = F(Z), Z' = −G(Y),
  stored as data: a sequence of substeps, each adding h·c_Y·F(Z) to Y and subtracting
  h·c_Z·G(Y) from Z at one state. Symplectic Euler (the Hamiltonian network's and RevNet's
  coupling), Störmer–Verlet and forward Euler on the pair are three such sequences.
- :class:`SecondOrderMultistep` — Σ α_j y_{n+j} = h² Σ β_j g(y_{n+j}) for y'' = g(y); Störmer's
  leapfrog y_{n+1} = 2y_n − y_{n−1} + h² g(y_n) is the leapfrog network's step.
- the midpoint rule y_{n+1} = y_{n−1} + 2h f(y_n) for first-order ODEs is the catalog's
  ``leapfrog`` (``nystrom2``) :class:`~numnet.schemes.LinearMultistep`;
  :func:`root_product`, :func:`locus` and :func:`imaginary_stability_set` derive where
  it is stable.

Linear test problems: Y' = aZ, Z' = −bY (a, b > 0) for partitioned schemes, whose
amplification matrix depends on h only through w = h²ab; y'' = −λ²y for second-order
schemes, through x = hλ; y' = λy, z = hλ for the midpoint rule. Every condition comes out
of :func:`~numnet.schemes.stability.root_condition_set` applied to a characteristic
polynomial; none is typed in.

>>> get("symplectic_euler").stability_condition()
a*b*h**2 < 4
>>> get("forward_euler_pair").stability_set()
EmptySet
>>> get("stormer").step_bound()
2/lam
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import sympy as sp

from ._exact import coefficient, substitute
from .base import XI, Z, Scheme
from .lmm import LinearMultistep
from .stability import root_condition_set

H = sp.Symbol("h", positive=True)
"""Step size h > 0."""
A, B = sp.symbols("a b", positive=True)
"""Coefficients of the partitioned linear test problem Y' = aZ, Z' = −bY."""
W = sp.Symbol("w", real=True)
"""w = h²ab, the one combination the partitioned amplification matrices depend on."""
LAM = sp.Symbol("lam", positive=True)
"""λ > 0 of the second-order test problem y'' = −λ²y (λ = σ_max(K) for Kᵀσ(K·) blocks)."""
X = sp.Symbol("x", real=True)
"""x = hλ, the variable of second-order characteristic polynomials."""
Y = sp.Symbol("y", real=True)
"""y of z = i·y on the imaginary axis."""
THETA = sp.Symbol("theta", real=True)
"""Angle of ξ = e^{iθ} on the unit circle (boundary locus)."""


@functools.lru_cache(maxsize=64)
def _positive_stable_set(poly: sp.Expr, param: sp.Symbol) -> sp.Set:
    """Values of ``param`` > 0 (it stands for h²ab or hλ) where ``poly`` in ξ satisfies
    the root condition; cached, since condition, set and bound all start from it."""
    return sp.Intersection(root_condition_set(poly, XI, param), sp.Interval.open(0, sp.oo))


def _step_bound(stable: sp.Set, param_in_h: sp.Expr) -> sp.Expr:
    """sup{h : param_in_h(h) ∈ stable} for a stable set that is an interval (0, s).

    0 when no h > 0 is stable; ``oo`` when every h is."""
    if stable is sp.S.EmptySet:
        return sp.Integer(0)
    if not (isinstance(stable, sp.Interval) and stable.inf == 0):
        raise ValueError(f"step bound needs a stable set of the form (0, s), got {stable}")
    if stable.sup == sp.oo:
        return sp.oo
    roots = [r for r in sp.solve(sp.Eq(param_in_h, stable.sup), H) if r.is_positive]
    if len(roots) != 1:
        raise ValueError(f"cannot solve {param_in_h} = {stable.sup} for one h > 0, got {roots}")
    return sp.simplify(roots[0])


# -- one-step partitioned schemes ---------------------------------------------------------
@dataclass(frozen=True)
class PartitionedScheme:
    """One step for Y' = F(Z), Z' = −G(Y) as a sequence of substeps ``(c_Y, c_Z)``.

    Each substep reads one state (Y, Z) and writes Y + h·c_Y·F(Z), Z − h·c_Z·G(Y). A
    substep with one non-zero weight is a *kick* of one half by a function of the other;
    it is undone exactly by subtracting the same term, so a scheme made of kicks only is
    reversible (:attr:`is_reversible`). Weights are exact sympy numbers.

    >>> se = PartitionedScheme("symplectic_euler", ((1, 0), (0, 1)))
    >>> se.amplification_matrix()
    Matrix([
    [     1,          a*h],
    [-b*h, -a*b*h**2 + 1]])
    >>> se.determinant(), se.is_reversible, se.linear_order
    (1, True, 1)
    """

    name: str
    substeps: tuple

    FIELD_SIGNS = (("Y", 1), ("Z", -1))
    """The system the substeps step, Y' = +F(Z), Z' = −G(Y): the sign of each half's
    field (the linear test problem Y' = aZ, Z' = −bY, a, b > 0, has the same signs)."""

    def __post_init__(self):
        if isinstance(self.substeps, (str, bytes)) or not hasattr(self.substeps, "__iter__"):
            raise TypeError(f"substeps must be a sequence of (c_Y, c_Z) pairs, got {self.substeps!r}")
        steps = []
        for i, pair in enumerate(self.substeps):
            if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
                raise ValueError(f"substep {i} must be a pair (c_Y, c_Z), got {pair!r}")
            cy, cz = (coefficient(c, f"substeps[{i}][{j}]") for j, c in enumerate(pair))
            if cy == 0 and cz == 0:
                raise ValueError(f"substep {i} of {self.name} updates nothing: (0, 0)")
            steps.append((cy, cz))
        if not steps:
            raise ValueError(f"{self.name} needs at least one substep, got none")
        object.__setattr__(self, "substeps", tuple(steps))

    @property
    def kicks(self) -> tuple:
        """The substeps as kicks ``("Y", c)`` (Y += h·c·F(Z)) or ``("Z", c)`` (Z −= h·c·G(Y)).

        >>> get("stormer_verlet").kicks
        (('Z', 1/2), ('Y', 1), ('Z', 1/2))
        """
        if not self.is_reversible:
            raise ValueError(
                f"{self.name} has a substep that updates Y and Z from the same state "
                f"{self.substeps}; only kicks (one non-zero weight) can be run as a coupling"
            )
        return tuple(("Y", cy) if cy != 0 else ("Z", cz) for cy, cz in self.substeps)

    def kick_weights(self, field_signs=None) -> tuple:
        """The kicks as ``(target, w)`` with Y += h·w·F(Z) or Z += h·w·G(Y): w = sign·c with
        the field signs of the system (default :attr:`FIELD_SIGNS`; a network whose learned
        G enters with the other sign, as RevNet's Z += G(Y), passes its own).

        >>> get("stormer_verlet").kick_weights()
        (('Z', -1/2), ('Y', 1), ('Z', -1/2))
        >>> get("revnet").kick_weights({"Y": 1, "Z": 1})
        (('Y', 1), ('Z', 1))
        """
        signs = dict(self.FIELD_SIGNS if field_signs is None else field_signs)
        if set(signs) != {"Y", "Z"} or any(v not in (1, -1) for v in signs.values()):
            raise ValueError(f"field_signs must give +1 or -1 for 'Y' and 'Z', got {field_signs!r}")
        return tuple((t, signs[t] * c) for t, c in self.kicks)

    @property
    def is_reversible(self) -> bool:
        """Every substep is a kick, so the step is undone kick by kick in reverse order."""
        return all(cy == 0 or cz == 0 for cy, cz in self.substeps)

    def amplification_matrix(self) -> sp.Matrix:
        """M with (Y, Z)_{n+1} = M (Y, Z)_n on Y' = aZ, Z' = −bY: the product of the
        substep matrices [[1, h c_Y a], [−h c_Z b, 1]], last substep leftmost."""
        M = sp.eye(2)
        for cy, cz in self.substeps:
            M = sp.Matrix([[1, H * cy * A], [-H * cz * B, 1]]) * M
        return M.applyfunc(sp.expand)

    def determinant(self) -> sp.Expr:
        """det M: 1 means the step preserves area (volume) in the (Y, Z) plane."""
        return sp.factor(self.amplification_matrix().det())

    @property
    def is_area_preserving(self) -> bool:
        """det M = 1 for every h, a, b (true of every sequence of kicks).

        >>> get("forward_euler_pair").is_area_preserving
        False
        """
        return sp.simplify(self.determinant() - 1) == 0

    def characteristic_polynomial(self) -> sp.Expr:
        """det(ξI − M) written in w = h²ab (M's trace and determinant depend on h, a, b
        only through w).

        >>> get("symplectic_euler").characteristic_polynomial()
        w*xi + xi**2 - 2*xi + 1
        """
        p = sp.expand(self.amplification_matrix().charpoly(XI).as_expr())
        out = sp.expand(p.subs(A, W / (H**2 * B)))
        if out.free_symbols - {XI, W}:
            raise ValueError(f"characteristic polynomial of {self.name} is not a function of w = h²ab: {p}")
        return out

    def stability_set(self) -> sp.Set:
        """The exact set of w = h²ab > 0 for which M satisfies the root condition."""
        return _positive_stable_set(self.characteristic_polynomial(), W)

    def stability_condition(self) -> sp.Boolean:
        """The stability condition as a relation in h, a, b (``False`` when none holds)."""
        return self.stability_set().as_relational(H**2 * A * B)

    def step_bound(self) -> sp.Expr:
        """The largest stable step: every 0 < h < bound is stable (0 when none is)."""
        return _step_bound(self.stability_set(), H**2 * A * B)

    @property
    def linear_order(self) -> int:
        """Order of M(h) as an approximation of exp(hJ), J = [[0, a], [−b, 0]]: the largest p
        with M(h) = Σ_{k≤p} (hJ)^k/k! + O(h^{p+1}). It is the order on linear problems, a
        bound on the classical order (equal for the catalog's schemes).

        >>> get("stormer_verlet").linear_order, get("forward_euler_pair").linear_order
        (2, 1)
        """
        M = self.amplification_matrix()
        J = sp.Matrix([[0, A], [-B, 0]])
        deg = max(sp.Poly(e, H).degree() for e in M if e.has(H))
        power = sp.eye(2)
        for k in range(deg + 2):
            coeff = M.applyfunc(lambda e: sp.expand(e).coeff(H, k))
            if sp.simplify(coeff - power / math.factorial(k)) != sp.zeros(2):
                return k - 1
            power = power * J
        return deg + 1


# -- two-step schemes for second-order ODEs ----------------------------------------------
class SecondOrderMultistep(Scheme):
    """A linear multistep method Σ α_j y_{n+j} = h² Σ β_j g(y_{n+j}) for y'' = g(y).

    Coefficients oldest first with α_s = 1. Linear test problem y'' = −λ²y: the
    characteristic polynomial ρ(ξ) + x² σ(ξ), x = hλ. Order p: C_0 = … = C_{p+1} = 0 for
    C_q = Σ j^q α_j/q! − Σ j^{q−2} β_j/(q−2)!; the error constant is C_{p+2}/σ(1).

    >>> s = SecondOrderMultistep([1, -2, 1], [0, 1, 0], name="stormer")
    >>> s.order, s.error_constant, s.stability_set()
    (2, 1/12, Interval.open(0, 2))
    """

    kind = "LMM2"

    FIELD_SIGN = -1
    """The sign of a monotone field F (Jacobian positive semidefinite, e.g. Kᵀσ(K·)) in the
    system whose stability :meth:`stability_set` and :meth:`step_bound` describe:
    y'' = −F(y), the test problem y'' = −λ²y."""

    def __init__(self, alpha, beta, name: str | None = None):
        alpha = [coefficient(a, f"alpha[{j}]") for j, a in enumerate(alpha)]
        beta = [coefficient(b, f"beta[{j}]") for j, b in enumerate(beta)]
        if len(alpha) != len(beta) or len(alpha) < 3:
            raise ValueError(
                f"alpha and beta must have the same length ≥ 3 (steps + 1, at least 2 steps), "
                f"got {len(alpha)} and {len(beta)}"
            )
        if alpha[-1] != 1:
            raise ValueError(f"alpha[-1] must be 1 (normalised), got {alpha[-1]}")
        self.alpha, self.beta = tuple(alpha), tuple(beta)
        self.name = name or "lmm2"

    def _coefficients(self):
        return self.alpha + self.beta

    def _rebuild(self, mapping):
        return SecondOrderMultistep([substitute(a, mapping) for a in self.alpha], [substitute(b, mapping) for b in self.beta], self.name)

    def _repr_coefficients(self) -> str:
        return f"SecondOrderMultistep({self.name!r}, alpha={self.alpha}, beta={self.beta})"

    @property
    def steps(self) -> int:
        """Number of steps s."""
        return len(self.alpha) - 1

    @property
    def is_explicit(self) -> bool:
        """β_s = 0: the new value is not passed through g."""
        return self._zero(self.beta[-1]) is True

    is_reversible = LinearMultistep.is_reversible
    """Explicit, α_0 ≠ 0 and β_0 = 0 — the same definition as for first-order LMMs."""

    def C(self, q: int) -> sp.Expr:
        """The q-th coefficient of the difference operator (see the class docstring)."""
        out = sum(sp.Integer(j) ** q * a for j, a in enumerate(self.alpha)) / math.factorial(q)
        if q >= 2:
            out -= sum(sp.Integer(j) ** (q - 2) * b for j, b in enumerate(self.beta)) / math.factorial(q - 2)
        return sp.expand(out)

    @property
    def order(self) -> int:
        """Order of accuracy p (0 when inconsistent)."""
        return self._order_and_constant()[0]

    @property
    def error_constant(self) -> sp.Expr:
        """C_{p+2}/σ(1)."""
        return self._order_and_constant()[1] / sum(self.beta)

    def _order_and_constant(self):
        for q in range(2 * self.steps + 4):
            c = self.C(q)
            if not self._zero(c):
                return max(q - 2, 0), c
        raise ValueError(f"{self.name}: all C_q vanish up to q = {2 * self.steps + 3}")

    def characteristic_polynomial(self) -> sp.Expr:
        """ρ(ξ) + x² σ(ξ), x = hλ: the recurrence on y'' = −λ²y.

        >>> get("stormer").characteristic_polynomial()
        x**2*xi + xi**2 - 2*xi + 1
        """
        rho = sum(a * XI**j for j, a in enumerate(self.alpha))
        sigma = sum(b * XI**j for j, b in enumerate(self.beta))
        return sp.expand(rho + X**2 * sigma)

    def stability_set(self) -> sp.Set:
        """The exact set of x = hλ > 0 for which the recurrence satisfies the root condition."""
        self._require_concrete("stability_set")
        return _positive_stable_set(self.characteristic_polynomial(), X)

    def stability_condition(self) -> sp.Boolean:
        """The stability condition as a relation in h and λ."""
        return self.stability_set().as_relational(H * LAM)

    def step_bound(self) -> sp.Expr:
        """The largest stable step in terms of λ (λ = σ_max(K) for a Kᵀσ(K·) block with
        0 ≤ σ' ≤ 1)."""
        return _step_bound(self.stability_set(), H * LAM)


# -- two-step schemes for first-order ODEs: where the midpoint rule is stable ----------------
def root_product(scheme) -> sp.Expr:
    """Product of the s roots of π(ξ, z) = ρ(ξ) − zσ(ξ): (−1)^s (α_0 − zβ_0)/(α_s − zβ_s).

    When its modulus is 1 for every z, a root inside the unit disk forces another outside:
    the scheme can only be stable where every root lies on the circle, i.e. on the
    boundary locus (:func:`locus`).

    >>> from numnet.schemes import get as get_lmm
    >>> root_product(get_lmm("leapfrog")), root_product(get_lmm("ab2"))
    (-1, z/2)
    """
    s = scheme.steps
    return sp.simplify((-1) ** s * (scheme.alpha[0] - Z * scheme.beta[0]) / (scheme.alpha[-1] - Z * scheme.beta[-1]))


def locus(scheme) -> sp.Expr:
    """The boundary locus z(θ) = ρ(e^{iθ})/σ(e^{iθ}) as an exact expression in θ (free
    symbols taken real): z = ρ(u)σ(1/u) / (σ(u)σ(1/u)) at u = e^{iθ}, whose numerator and
    denominator are real trigonometric polynomials.

    >>> from numnet.schemes import get as get_lmm
    >>> locus(get_lmm("leapfrog"))
    I*sin(theta)
    """
    u = sp.Dummy("u")
    real = {s: sp.Symbol(s.name, real=True) for s in scheme.free_symbols}
    rho = sum(a * u**j for j, a in enumerate(scheme.alpha)).subs(real)
    sigma = sum(b * u**j for j, b in enumerate(scheme.beta)).subs(real)

    def on_circle(laurent):
        return sp.expand(sp.expand_complex(sp.expand(laurent).subs(u, sp.exp(sp.I * THETA))))

    out = sp.factor_terms(sp.cancel(on_circle(rho * sigma.subs(u, 1 / u)) / on_circle(sigma * sigma.subs(u, 1 / u))))
    return out.subs({v: k for k, v in real.items()}) if real else out


def imaginary_stability_set(scheme) -> sp.Set:
    """The exact set of real y for which z = i·y is in the stability region.

    >>> from numnet.schemes import get as get_lmm
    >>> imaginary_stability_set(get_lmm("leapfrog"))
    Interval.open(-1, 1)
    """
    return root_condition_set(sp.expand(scheme.stability_polynomial().subs(Z, sp.I * Y)), XI, Y)


# -- registry -----------------------------------------------------------------------------
_R = sp.Rational
_REGISTRY = {
    "symplectic_euler": lambda: PartitionedScheme("symplectic_euler", ((1, 0), (0, 1))),
    "stormer_verlet": lambda: PartitionedScheme("stormer_verlet", ((0, _R(1, 2)), (1, 0), (0, _R(1, 2)))),
    "forward_euler_pair": lambda: PartitionedScheme("forward_euler_pair", ((1, 1),)),
    "stormer": lambda: SecondOrderMultistep([1, -2, 1], [0, 1, 0], name="stormer"),
}
_ALIASES = {"revnet": "symplectic_euler", "hamiltonian": "symplectic_euler", "verlet": "stormer_verlet",
            "leapfrog2": "stormer"}


def names() -> list:
    """Registered names: partitioned one-step schemes and second-order multistep schemes.

    >>> names()
    ['symplectic_euler', 'stormer_verlet', 'forward_euler_pair', 'stormer']
    """
    return list(_REGISTRY)


def get(name: str):
    """The scheme registered under ``name`` (aliases: revnet, hamiltonian → symplectic_euler;
    verlet → stormer_verlet; leapfrog2 → stormer).

    >>> get("revnet").name
    'symplectic_euler'
    """
    if not isinstance(name, str):
        raise TypeError(f"scheme name must be a string, got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise ValueError(f"unknown partitioned scheme {name!r}; known: {', '.join(list(_REGISTRY) + list(_ALIASES))}")
    return _REGISTRY[key]()
