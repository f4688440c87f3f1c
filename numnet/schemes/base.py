"""What every scheme shares: exact coefficients, free symbols, substitution, checks."""

from __future__ import annotations

import sympy as sp

from ._exact import coefficient, is_zero, precision_digits, short
from .stability import ray_interval

XI = sp.Symbol("xi")
"""The root variable ξ of ρ, σ and the stability polynomial."""
Z = sp.Symbol("z")
"""z = hλ, the variable of stability polynomials and functions."""


class Scheme:
    """Base of :class:`LinearMultistep` and :class:`RungeKutta`.

    Subclasses store their coefficients as tuples of sympy expressions and list them in
    :meth:`_coefficients`; everything here is derived from those.
    """

    name: str
    kind: str = "scheme"

    # -- coefficients -------------------------------------------------------------
    def _coefficients(self) -> tuple:
        raise NotImplementedError

    def _rebuild(self, mapping: dict) -> "Scheme":
        raise NotImplementedError

    @property
    def free_symbols(self) -> frozenset:
        """Parameters left open (LM-ResNet's ``k``, a learnable Adams ``b1``).

        >>> from numnet.schemes import get
        >>> sorted(s.name for s in get("lm_resnet").free_symbols)
        ['k']
        """
        out = set()
        for c in self._coefficients():
            out |= c.free_symbols
        return frozenset(out)

    @property
    def plan(self):
        """The step plan every executor of this scheme reads (solver steppers, net stages,
        reversible blocks): slots and kinds, term layout, FSAL, lerp pair, implicitness,
        whether the oldest state can be solved back. Compiled once per set of
        coefficients, see :mod:`numnet.schemes.plan`.

        >>> from numnet.schemes import get
        >>> get("ab3").plan.f_terms, get("rk4").plan.fsal
        ((0, 1, 2), False)
        """
        from .plan import plan_of

        return plan_of(self)

    @property
    def precision(self) -> int | None:
        """Decimal digits of the Float coefficients, or None when all are exact."""
        return precision_digits(self._coefficients())

    def subs(self, values: dict | None = None, /, **kwargs) -> "Scheme":
        """A new scheme with free symbols replaced by values.

        Keys are symbol names or symbols; an unknown name raises ``ValueError`` listing
        the free symbols, a NaN or infinite value one naming the symbol. A float value
        enters as the binary fraction it is (:func:`._exact.substitute`): a coefficient
        stays a Float where a Float holds it exactly (−k for k = −0.1), and is the exact
        Rational where rounding would change it (k − 1), so ρ(1) = 0 is kept exactly.

        >>> from numnet.schemes import get
        >>> get("lm_resnet").subs(k=0).order
        1
        >>> get("lm_resnet").subs(k=float("inf"))
        Traceback (most recent call last):
        ...
        ValueError: k in lm_resnet.subs() must be finite, got inf
        """
        mapping = {}
        free = {s.name: s for s in self.free_symbols}
        for key, value in {**(values or {}), **kwargs}.items():
            name = key.name if isinstance(key, sp.Symbol) else key
            if name not in free:
                raise ValueError(
                    f"{self.name} has no free symbol {name!r}; its free symbols are "
                    f"{sorted(free) or 'none'}"
                )
            mapping[free[name]] = coefficient(value, f"{name} in {self.name}.subs()")
        new = self._rebuild(mapping)
        if mapping:  # named by what was substituted: lm_resnet(k=0.31), so labels never collide
            new._family = self.family
            new.substituted = {**self.substituted, **{s.name: v for s, v in mapping.items()}}
            new.name = f"{new.family}({', '.join(f'{n}={short(v)}' for n, v in sorted(new.substituted.items()))})"
        return new

    @property
    def family(self) -> str:
        """The name of the scheme values were substituted into (its own name if none were).

        >>> from numnet.schemes import get
        >>> s = get("lm_resnet").subs(k=0.31)
        >>> s.name, s.family, s.substituted
        ('lm_resnet(k=0.31)', 'lm_resnet', {'k': 0.310000000000000})
        >>> get("lm_resnet").subs(k="-1/4").name, get("ab2").family
        ('lm_resnet(k=-1/4)', 'ab2')
        """
        return getattr(self, "_family", None) or self.name

    substituted: dict = {}
    """``{symbol name: value}`` substituted by :meth:`subs` (empty for a scheme as built)."""

    def __repr__(self) -> str:
        """A substituted scheme in its family's terms, ``LinearMultistep('lm_resnet(k=0.31)')``;
        others with their coefficients (:meth:`_repr_coefficients`)."""
        if self.substituted:
            return f"{type(self).__name__}({self.name!r})"
        return self._repr_coefficients()

    def _repr_coefficients(self) -> str:  # pragma: no cover - subclasses implement
        raise NotImplementedError

    def to_nodepy(self):
        """This scheme as a nodepy method (exact coefficients); see :mod:`numnet.schemes.interop`.

        >>> from numnet.schemes import get
        >>> get("heun").to_nodepy().order()
        2
        """
        from .interop import to_nodepy

        return to_nodepy(self)

    def _require_concrete(self, what: str) -> None:
        if self.free_symbols:
            names = ", ".join(sorted(s.name for s in self.free_symbols))
            raise ValueError(
                f"{what} of {self.name} is undefined while symbols {{{names}}} are free; "
                f"give them values with .subs({names.split(', ')[0]}=...)"
            )

    def _zero(self, expr):
        return is_zero(expr, self.precision)

    # -- stability along rays ------------------------------------------------------
    def _ray_candidates(self, direction):  # pragma: no cover - subclasses implement
        raise NotImplementedError

    def _ray(self, direction):
        """Extent R of the stability region along z = r·direction from 0: exact for exact
        coefficients, a Float at their precision for float ones; None if 0 is unstable."""
        self._require_concrete("stability along a ray")
        R = ray_interval(self._ray_candidates(direction), self.in_stability_region, direction)
        if R is not None and R not in (0, sp.oo) and self.precision is not None:
            R = sp.Float(sp.N(R, self.precision), self.precision)
        return R

    def stability_interval(self) -> sp.Set:
        """The interval (a, 0] of the negative real axis inside the stability region.

        a is exact (an algebraic number, e.g. RK4's real root of R(x) = 1 near −2.785) for
        exact coefficients; −∞ for A(0)-stable methods; {0} when only the origin is stable
        (leapfrog); the empty set when 0 itself is not (a method that is not zero-stable).

        >>> from numnet.schemes import get
        >>> get("ab3").stability_interval(), get("heun").stability_interval()
        (Interval.Lopen(-6/11, 0), Interval.Lopen(-2, 0))
        >>> round(float(get("rk4").stability_interval().inf), 6)
        -2.785294
        """
        R = self._ray(-1)
        if R is None:
            return sp.S.EmptySet
        if R == sp.oo:
            return sp.Interval(-sp.oo, 0)
        if R == 0:
            return sp.FiniteSet(0)
        return sp.Interval.Lopen(-R, 0)

    def imaginary_stability_interval(self) -> sp.Expr:
        """Largest b with i·y in the stability region for all 0 ≤ y < b (``oo`` if unbounded),
        the same for exact and float coefficients (RK4: 2√2 either way).

        >>> from numnet.schemes import get
        >>> get("rk4").imaginary_stability_interval(), get("leapfrog").imaginary_stability_interval()
        (2*sqrt(2), 1)
        """
        R = self._ray(1j)
        return sp.Integer(0) if R is None else R

    # -- display ---------------------------------------------------------------
    def _repr_latex_(self) -> str:
        return "$" + self.to_latex() + "$"

    def to_latex(self) -> str:  # pragma: no cover - subclasses implement
        raise NotImplementedError

    # -- delegations to modules that build on the core ----------------------------
    def modified_equation(self, order: int, form: str = "difference", **options):
        """The modified equation of this scheme, truncated after the h^order term.

        See :mod:`numnet.schemes.modified` for the two forms
        (``"difference"`` and ``"vector_field"``) and the ``options`` (``center``).

        >>> from numnet.schemes import get
        >>> get("lm_resnet").modified_equation(1)
        (k + 1)*u' + (1 - k)/2*h*u'' = f + O(h**2)
        """
        from . import modified

        return modified.modified_equation(self, order, form=form, **options)
