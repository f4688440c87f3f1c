"""Linear multistep methods Σ_j α_j y_{n+j} = h Σ_j β_j f_{n+j}, stored exactly."""

from __future__ import annotations

import math

import sympy as sp

from .._lazy import lazy_module
from ._exact import coefficient, exact, exactly, substitute
from .base import XI, Z, Scheme
from .stability import (critical_values, gaussian_root_condition, max_root_modulus, nonnegative_on_interval,
                        root_condition, root_condition_set, roots_satisfy_condition, schur_cohn)

np = lazy_module("numpy")  # imported at first use: numnet.schemes loads without numpy


class LinearMultistep(Scheme):
    """A linear multistep method Σ_{j=0}^{s} α_j y_{n+j} = h Σ_{j=0}^{s} β_j f_{n+j}.

    Coefficients are given oldest first and normalised so that α_s = 1 (both lists are
    divided by α_s when it is another non-zero number). They may be exact numbers, floats
    or sympy expressions in free symbols.

    Conventions: the linear difference operator L[y](t) = Σ α_j y(t+jh) − h β_j y'(t+jh)
    = Σ_q C_q h^q y^{(q)}(t) with C_q = Σ_j j^q α_j / q! − j^{q−1} β_j/(q−1)!. The order p
    is the largest p with C_0 = … = C_p = 0. The error constant is C_{p+1}/σ(1), the
    coefficient of the local error that does not depend on the scaling of (α, β).

    >>> ab2 = LinearMultistep([0, -1, 1], [sp.Rational(-1, 2), sp.Rational(3, 2), 0], name="ab2")
    >>> ab2.order, ab2.error_constant, ab2.is_explicit
    (2, 5/12, True)
    >>> ab2.stability_interval()
    Interval.Lopen(-1, 0)
    """

    kind = "LMM"

    def __init__(self, alpha, beta, name: str | None = None):
        alpha, beta = list(_as_sequence(alpha, "alpha")), list(_as_sequence(beta, "beta"))
        if len(alpha) != len(beta):
            raise ValueError(
                f"alpha and beta must have the same length (steps + 1), got {len(alpha)} and {len(beta)}"
            )
        if len(alpha) < 2:
            raise ValueError(f"a multistep method needs at least 2 coefficients (1 step), got {len(alpha)}")
        alpha = [coefficient(a, f"alpha[{j}]") for j, a in enumerate(alpha)]
        beta = [coefficient(b, f"beta[{j}]") for j, b in enumerate(beta)]
        lead = alpha[-1]
        if lead == 0:
            raise ValueError(
                f"alpha[-1] (the coefficient of the newest value y_(n+s)) must be non-zero, got {alpha}"
            )
        if lead.free_symbols:
            raise ValueError(f"alpha[-1] must be a number (it is normalised to 1), got {lead}")
        if exact(lead) != 1:  # divided exactly: a Float lead must not round exact entries
            alpha = [exactly(lambda a, d: sp.simplify(a / d), a, lead) for a in alpha]
            beta = [exactly(lambda b, d: sp.simplify(b / d), b, lead) for b in beta]
        self.alpha = tuple(alpha)
        self.beta = tuple(beta)
        self.name = name or "lmm"

    # -- basics ---------------------------------------------------------------------
    def _coefficients(self):
        return self.alpha + self.beta

    def _rebuild(self, mapping):
        return LinearMultistep([substitute(a, mapping) for a in self.alpha], [substitute(b, mapping) for b in self.beta], name=self.name)

    @property
    def steps(self) -> int:
        """Number of steps s."""
        return len(self.alpha) - 1

    @property
    def is_explicit(self) -> bool:
        """True when β_s = 0 (the new value is not passed through f).

        >>> from numnet.schemes import get
        >>> get("ab3").is_explicit, get("am2").is_explicit
        (True, False)
        """
        z = self._zero(self.beta[-1])
        if z is None:
            raise ValueError(f"is_explicit of {self.name} depends on beta[-1] = {self.beta[-1]}")
        return z

    @property
    def is_reversible(self) -> bool:
        """Explicit with α_0 ≠ 0 and β_0 = 0: the oldest value is solved back exactly,
        y_n = −(Σ_{j≥1} α_j y_{n+j} − h Σ_{j≥1} β_j f_{n+j})/α_0, so a network built on the
        scheme can recompute its states backwards instead of storing them. Exact algebra
        only: the inversion amplifies rounding by the roots of ρ inside the unit disk
        (LM-ResNet: |1/k| per step), see :func:`numnet.schemes.reversal.inversion_growth`.

        >>> from numnet.schemes import get
        >>> get("leapfrog").is_reversible, get("ab2").is_reversible, get("lm_resnet").subs(k=-0.1).is_reversible
        (True, False, True)
        """
        if not self.is_explicit:
            return False
        a0, b0 = self._zero(self.alpha[0]), self._zero(self.beta[0])
        if a0 is True or b0 is False:
            return False
        if a0 is None or b0 is None:
            raise ValueError(
                f"is_reversible of {self.name} depends on alpha[0] = {self.alpha[0]}, "
                f"beta[0] = {self.beta[0]}; give the free symbols values with .subs()"
            )
        return True

    @property
    def rho(self) -> sp.Expr:
        """First characteristic polynomial ρ(ξ) = Σ α_j ξ^j."""
        return sum(a * XI**j for j, a in enumerate(self.alpha))

    @property
    def sigma(self) -> sp.Expr:
        """Second characteristic polynomial σ(ξ) = Σ β_j ξ^j."""
        return sum(b * XI**j for j, b in enumerate(self.beta))

    def stability_polynomial(self) -> sp.Expr:
        """π(ξ, z) = ρ(ξ) − z σ(ξ); its roots in ξ decide absolute stability at z = hλ.

        >>> from numnet.schemes import get
        >>> get("leapfrog").stability_polynomial()
        xi**2 - 2*xi*z - 1
        """
        return sp.expand(self.rho - Z * self.sigma)

    # -- accuracy -----------------------------------------------------------------
    def C(self, q: int) -> sp.Expr:
        """The q-th coefficient of the difference operator (see class docstring).

        >>> from numnet.schemes import get
        >>> [get("ab2").C(q) for q in range(4)]
        [0, 0, 0, 5/12]
        """
        if not isinstance(q, (int, np.integer)) or q < 0:
            raise ValueError(f"q must be a non-negative integer, got {q!r}")
        if q == 0:
            return sp.expand(sum(self.alpha))
        fq, fq1 = math.factorial(q), math.factorial(q - 1)
        return sp.expand(
            sum(sp.Integer(j) ** q * a for j, a in enumerate(self.alpha)) / fq
            - sum(sp.Integer(j) ** (q - 1) * b for j, b in enumerate(self.beta)) / fq1
        )

    def order_conditions(self, p: int) -> list:
        """The equations C_0 = … = C_p = 0 that order p requires (sympy ``Eq``).

        >>> from numnet.schemes import get
        >>> get("lm_resnet").order_conditions(1)
        [True, Eq(k, 0)]
        """
        return [sp.Eq(self.C(q), 0) for q in range(p + 1)]

    @property
    def order(self) -> int:
        """Order of accuracy p (0 for an inconsistent method), derived from the C_q.

        >>> from numnet.schemes import LinearMultistep
        >>> LinearMultistep([1, 1], [1, 0]).order  # y_{n+1} + y_n = h f_n: inconsistent
        0
        """
        p = self._order_and_constant()[0]
        return p

    def _order_and_constant(self):
        for q in range(0, 2 * self.steps + 3):
            c = self.C(q)
            z = self._zero(c)
            if z is None:
                names = ", ".join(sorted(s.name for s in c.free_symbols))
                raise ValueError(
                    f"order of {self.name} depends on {{{names}}}: C_{q} = {c}; "
                    f"use order_conditions() or subs() values"
                )
            if not z:
                return (0 if q <= 1 else q - 1), c
        raise ValueError(f"{self.name}: all C_q vanish up to q = {2 * self.steps + 2}; is rho identically zero?")

    @property
    def is_consistent(self) -> bool:
        """ρ(1) = 0 and ρ'(1) = σ(1) (order ≥ 1)."""
        return self.order >= 1

    @property
    def error_constant(self) -> sp.Expr:
        """C_{p+1}/σ(1): the error constant, independent of how (α, β) are scaled
        (AB2: 5/12, AM2: −1/24, BDF2: −1/3, whose raw C_3 is −2/9).

        >>> from numnet.schemes import get
        >>> get("bdf2").error_constant, get("am1").error_constant
        (-1/3, -1/12)
        """
        p, c = self._order_and_constant()
        s1 = sum(self.beta)
        if self._zero(s1):
            raise ValueError(f"error constant of {self.name} is undefined: sigma(1) = 0")
        if p == 0:
            c = self.C(0) if not self._zero(self.C(0)) else self.C(1)
        return sp.nsimplify(c / s1) if self.precision is None else c / s1

    @property
    def ssp_coefficient(self) -> sp.Expr:
        """The SSP coefficient min_{j<s, β_j>0} −α_j/β_j, or 0 when some α_j > 0 or β_j < 0
        (see :mod:`numnet.schemes.ssp`).

        >>> from numnet.schemes import get
        >>> get("ab1").ssp_coefficient, get("ab2").ssp_coefficient
        (1, 0)
        """
        from .ssp import lmm_ssp_coefficient

        return lmm_ssp_coefficient(self)

    @property
    def is_symmetric(self) -> bool:
        """α_j = −α_{s−j}, β_j = β_{s−j} (leapfrog, Milne–Simpson, trapezoid); see
        :func:`numnet.schemes.algebraic.is_symmetric_lmm`.

        >>> from numnet.schemes import get
        >>> get("leapfrog").is_symmetric, get("ab2").is_symmetric
        (True, False)
        """
        from .algebraic import is_symmetric_lmm

        return is_symmetric_lmm(self)

    # -- zero stability ----------------------------------------------------------------
    @property
    def is_zero_stable(self) -> bool:
        """Root condition on ρ: roots in the closed unit disk, those on the circle simple.

        Decided exactly (:func:`.stability.root_condition`), Float coefficients as the
        binary fractions they store: LM-ResNet with k = −0.999 is zero-stable, with
        k = 1 + 2⁻⁵² it is not (a root at −k, just outside), with k = −1 it is not (ρ = (ξ − 1)²).

        >>> from numnet.schemes import get
        >>> [get(f"bdf{s}").is_zero_stable for s in (6, 7)]
        [True, False]
        """
        if self.rho.free_symbols - {XI}:
            self._require_concrete("is_zero_stable")
        return root_condition(sp.Poly(exact(self.rho), XI))  # exact first: Poly would round a mix to RR

    def zero_stability_condition(self) -> sp.Set:
        """The exact set of values of the free symbol in ρ for which the method is zero-stable.

        Critical values (roots crossing the unit circle or colliding) split the real line;
        each piece and each critical value is decided exactly. When ρ has no free symbol
        (a learnable Adams net: only σ is free) the answer is all reals or nothing.

        >>> from numnet.schemes import get
        >>> get("lm_resnet").zero_stability_condition()
        Interval.Lopen(-1, 1)
        """
        syms = sorted(self.rho.free_symbols - {XI}, key=lambda s: s.name)
        if not syms:
            return sp.S.Reals if self.is_zero_stable else sp.S.EmptySet
        if len(syms) > 1:
            raise ValueError(
                f"zero_stability_condition supports one free symbol in rho, {self.name} has {[s.name for s in syms]}"
            )
        return root_condition_set(self.rho, XI, syms[0])

    # -- absolute stability -----------------------------------------------------------
    def _numeric_coefficients(self):
        self._require_concrete("numerical stability data")
        a = np.array([complex(x) for x in self.alpha])
        b = np.array([complex(x) for x in self.beta])
        return a, b

    def in_stability_region(self, z) -> np.ndarray:
        """Whether each z = hλ satisfies the root condition for π(·, z); vectorised.

        Uses a batched Schur–Cohn test (no root finding); points within rounding of the
        boundary (z = 0 among them: ρ has a root on the circle) are settled exactly by
        :func:`.stability.root_condition` on π(·, z) with z's exact binary value, so
        z = 0 agrees with :attr:`is_zero_stable` (root finding only for irrational
        coefficients).

        >>> from numnet.schemes import get
        >>> get("ab2").in_stability_region(np.array([-0.5, -1.5, 0.0])).tolist()
        [True, False, True]
        """
        a, b = self._numeric_coefficients()
        z = np.asarray(z, dtype=complex)
        coeffs = np.stack([a_j - z * b_j for a_j, b_j in zip(a, b)])  # π(ξ, z), one array per coefficient
        inside, unsure = schur_cohn(coeffs, axis=0)
        if unsure.any():
            inside[unsure] = self._settle(z[unsure], np.moveaxis(coeffs, 0, -1)[unsure])
        return inside

    def _settle(self, zs, rows):
        """The root condition of π(·, z) at the points ``zs`` (``rows``: its float
        coefficients there): by companion eigenvalues where the largest root is clearly
        off the circle (by > 1e-7, far above their error), else exactly where α, β are
        rational (root finding otherwise)."""
        ab = [exact(c) for c in self.alpha + self.beta]
        if not all(c.is_Rational for c in ab):
            return roots_satisfy_condition(rows)
        K = sp.QQ_I
        a, b = ([K.from_sympy(x) for x in part] for part in (ab[: len(self.alpha)], ab[len(self.alpha) :]))

        def ok(z):  # π(·, z) for the exact binary value of z, in QQ(i)
            zq = K(sp.QQ(*float(z.real).as_integer_ratio()), sp.QQ(*float(z.imag).as_integer_ratio()))
            coeffs = [a_j - zq * b_j for a_j, b_j in zip(a, b)][::-1]
            while coeffs and not coeffs[0]:
                coeffs.pop(0)
            return gaussian_root_condition(tuple(coeffs), K, XI)

        m = max_root_modulus(rows)
        out = m < 1 - 1e-5
        near = np.abs(m - 1) <= 1e-5  # within reach of eigenvalue error (a double root: ~1e-8)
        out[near] = [ok(complex(z)) for z in zs[near]]
        return out

    def boundary_locus(self, n: int = 400) -> np.ndarray:
        """z(θ) = ρ(e^{iθ})/σ(e^{iθ}) at n angles θ in [0, 2π]: where π has a root on |ξ| = 1.

        >>> from numnet.schemes import get
        >>> z = get("ab1").boundary_locus(5)
        >>> np.allclose(z, np.exp(1j * np.linspace(0, 2 * np.pi, 5)) - 1)
        True
        """
        if not isinstance(n, (int, np.integer)) or n < 2:
            raise ValueError(f"n must be an integer ≥ 2, got {n!r}")
        a, b = self._numeric_coefficients()
        xi = np.exp(1j * np.linspace(0.0, 2 * np.pi, int(n)))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.polyval(a[::-1], xi) / np.polyval(b[::-1], xi)

    def _ray_candidates(self, direction) -> sp.Poly | None:
        """Polynomial in r ≥ 0 whose real roots include every z = r·d where the root
        condition of π(·, z) can change (see :func:`.stability.critical_values`)."""
        r = sp.Symbol("r", real=True)
        return critical_values(self.rho - r * sp.nsimplify(direction) * self.sigma, XI, r)

    @property
    def is_A_stable(self) -> bool:
        """Whether the whole left half-plane is in the stability region.

        Decided exactly: the boundary locus must stay in Re z ≥ 0 (Re ρσ̄ ≥ 0 on |ξ| = 1,
        a polynomial inequality in t = tan(θ/2)) and z = −1 must be stable.

        >>> from numnet.schemes import get
        >>> get("am1").is_A_stable, get("bdf2").is_A_stable, get("bdf3").is_A_stable
        (True, True, False)
        """
        self._require_concrete("is_A_stable")
        if not self.in_stability_region(np.array([-1.0]))[0]:
            return False
        # Re ρ(e^{iθ}) conj σ(e^{iθ}) = Σ α_j β_k cos((j−k)θ) = P(cos θ), P via Chebyshev T_m
        x = sp.Symbol("x", real=True)
        P = sp.expand(sum(a * b * sp.chebyshevt(abs(j - k), x) for j, a in enumerate(self.alpha) for k, b in enumerate(self.beta)))
        return nonnegative_on_interval(P, x, -1, 1)

    @property
    def is_L_stable(self) -> bool:
        """A-stable, and every root of ρ(ξ) − zσ(ξ) tends to 0 as z → ∞: σ(ξ) = β_s ξ^s
        with β_s ≠ 0 (the roots tend to those of σ; a lower degree sends some to
        infinity). BDF1 and BDF2 are L-stable; the trapezoidal rule (root −1 at ∞) is not.

        >>> from numnet.schemes import get
        >>> get("bdf2").is_L_stable, get("am1").is_L_stable, get("bdf3").is_L_stable
        (True, False, False)
        """
        self._require_concrete("is_L_stable")
        s = self.steps
        if self._zero(self.beta[s]) or not all(self._zero(b) for b in self.beta[:s]):
            return False
        return self.is_A_stable

    def stability_angle(self) -> float | None:
        """The angle α in degrees such that the method is A(α)-stable; None if not even A(0).

        A(α): the sector |arg(−z)| < α lies in the stability region. 90 for A-stable
        methods; for BDF3..6 ≈ 86.03, 73.35, 51.84, 17.84. The minimum of π − |arg z(θ)|
        over the boundary locus in Re z < 0, refined to 1e-12 rad.

        >>> from numnet.schemes import get
        >>> round(get("bdf4").stability_angle(), 2), get("leapfrog").stability_angle()
        (73.35, None)
        """
        interval = self.stability_interval()
        if interval is sp.S.EmptySet or interval.inf != -sp.oo:
            return None
        if self.is_A_stable:
            return 90.0
        return _locus_angle(self)

    # -- display -------------------------------------------------------------------------
    def _repr_coefficients(self) -> str:
        a = ", ".join(str(x) for x in self.alpha)
        b = ", ".join(str(x) for x in self.beta)
        return f"LinearMultistep({self.name!r}, alpha=({a}), beta=({b}))"

    def to_latex(self) -> str:
        """The scheme as one LaTeX equation.

        >>> from numnet.schemes import get
        >>> get("ab2").to_latex()
        'y_{n+2} - y_{n+1} = h \\\\left(\\\\frac{3}{2} f_{n+1} - \\\\frac{1}{2} f_{n}\\\\right)'
        """

        def side(coeffs, letter):
            terms = []
            for j in reversed(range(len(coeffs))):  # newest first
                c = coeffs[j]
                if c == 0:
                    continue
                sub = f"{letter}_{{n+{j}}}" if j else f"{letter}_{{n}}"
                mag = sp.latex(-c if c.could_extract_minus_sign() else c)
                mag = "" if mag == "1" else (f"\\left({mag}\\right) " if c.is_Add else mag + " ")
                sign = "-" if c.could_extract_minus_sign() else "+"
                terms.append((sign, mag + sub))
            if not terms:
                return "0"
            first = ("-" if terms[0][0] == "-" else "") + terms[0][1]
            return " ".join([first] + [f"{s} {t}" for s, t in terms[1:]])

        return f"{side(self.alpha, 'y')} = h \\left({side(self.beta, 'f')}\\right)"


def _as_sequence(x, what):
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{what} must be a sequence of coefficients, got {x!r}")
    return x


def _locus_angle(scheme) -> float:
    """min over the boundary locus in Re z < 0 of π − |arg z|, in degrees: a dense scan,
    then a golden-section refinement between the neighbours of the best sample."""
    a, b = scheme._numeric_coefficients()

    def angle(theta):
        xi = np.exp(1j * np.asarray(theta, dtype=float))
        with np.errstate(divide="ignore", invalid="ignore"):
            zz = np.polyval(a[::-1], xi) / np.polyval(b[::-1], xi)
            # z(0) = 0 is the origin itself (ρ(1) = 0), not a boundary point with an angle
            keep = (zz.real < 0) & np.isfinite(zz) & (np.abs(zz) > 1e-8)
            return np.where(keep, np.pi - np.abs(np.angle(zz)), np.inf)

    theta = np.linspace(0.0, 2 * np.pi, 20001)
    vals = angle(theta)
    i = int(np.argmin(vals))
    if not np.isfinite(vals[i]):
        return 90.0
    lo, hi = theta[max(i - 1, 0)], theta[min(i + 1, len(theta) - 1)]
    g = (np.sqrt(5) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = angle(x1), angle(x2)
    while hi - lo > 1e-13:
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = angle(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = angle(x2)
    return float(np.degrees(min(f1, f2, vals[i])))
