"""What every scheme shares: exact coefficients, free symbols, substitution, checks."""

from __future__ import annotations

import functools

import sympy as sp

from ._exact import coefficient, precision_digits, short
from ._exact import is_zero as _is_zero
from .stability import ray_interval

XI = sp.Symbol("xi")
"""The root variable ξ of ρ, σ and the stability polynomial."""
Z = sp.Symbol("z")
"""z = hλ, the variable of stability polynomials and functions."""


cached = functools.cached_property
"""The one cache of derived scheme properties: the value is computed at first access and
stored in the instance ``__dict__`` (which bypasses the frozen ``__setattr__``). A cached
value must depend on the coefficients only (:meth:`Scheme.renamed` keeps the caches),
save those listed in ``Scheme._NAMED_CACHES`` (the plan carries the name for its messages)."""


class Scheme:
    """Base of :class:`LinearMultistep`, :class:`RungeKutta` and ``SecondOrderMultistep``.

    Subclasses store their coefficients as tuples of sympy expressions and list them in
    :meth:`_coefficients`; everything here is derived from those.

    A scheme is an immutable value: its attributes are fixed once the constructor has run
    (so the shared object :func:`numnet.schemes.get` returns cannot be changed by one
    caller for the next), derived properties (``order``, ``error_constant``, stability
    polynomials, ...) are computed once and cached, and two schemes are equal, with equal
    hashes, when they are of the same class with the same coefficients. The name is a
    label, not part of the value: ``gauss1`` equals ``implicit_midpoint``, and a tableau
    typed in by hand equals the catalog scheme it reproduces.

    >>> from numnet.schemes import get, RungeKutta
    >>> get("rk4").name = "oops"
    Traceback (most recent call last):
    ...
    AttributeError: schemes are immutable values; cannot set 'name' on rk4 (use .renamed('oops') or .subs() for a new scheme)
    >>> get("heun") == RungeKutta([[0, 0], [1, 0]], ["1/2", "1/2"])
    True
    >>> get("gauss1") == get("implicit_midpoint"), get("gauss1") == get("radau_iia1")
    (True, False)
    """

    name: str
    kind: str = "scheme"
    _NAMED_CACHES = ("plan",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def frozen_init(self, *args, **kw):
            init(self, *args, **kw)
            if type(self).__init__ is frozen_init:  # the outermost constructor has finished
                object.__setattr__(self, "_frozen", True)

        cls.__init__ = frozen_init

    def __setattr__(self, attr, value):
        if self.__dict__.get("_frozen"):
            hint = f".renamed({value!r}) or .subs()" if attr == "name" else ".subs() or a new constructor call"
            raise AttributeError(
                f"schemes are immutable values; cannot set {attr!r} on {self.name} "
                f"(use {hint} for a new scheme)"
            )
        object.__setattr__(self, attr, value)

    def __delattr__(self, attr):
        if self.__dict__.get("_frozen"):
            raise AttributeError(f"schemes are immutable values; cannot delete {attr!r} of {self.name}")
        object.__delattr__(self, attr)

    def _key(self) -> tuple:
        """What equality and hashing compare: the class and the coefficients (not the name)."""
        return (type(self).__name__, tuple(self._coefficients()))

    def __eq__(self, other):
        if not isinstance(other, Scheme):
            return NotImplemented
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __getstate__(self):
        """Pickles and copies carry the coefficients and the name, not the caches (a number
        field does not pickle; a cache is recomputed at first use)."""
        cls = type(self)
        return {k: v for k, v in self.__dict__.items() if not isinstance(getattr(cls, k, None), functools.cached_property)}

    def renamed(self, name: str, family: str | None = None) -> "Scheme":
        """The same scheme (equal, sharing its cached properties) under another name, and
        ``family`` (:attr:`family`) if given: a stored record's scheme keeps its catalog family.

        >>> from numnet.schemes import get
        >>> m = get("gauss1").renamed("my_midpoint")
        >>> m.name, m == get("gauss1"), get("gauss1").name, m.renamed("x", family="gauss1").family
        ('my_midpoint', True, 'gauss1', 'gauss1')
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a scheme name must be a non-empty string, got {name!r}")
        if family is None:
            return self._relabelled(name)
        if not isinstance(family, str) or not family:
            raise TypeError(f"a scheme family must be a non-empty string, got {family!r}")
        return self._relabelled(name, _family=family)

    def _relabelled(self, name: str, **labels) -> "Scheme":
        """A copy with another name (and ``labels``: ``_family``, ``substituted``), the
        coefficient caches shared, those that carry the name dropped."""
        new = object.__new__(type(self))
        new.__dict__.update((k, v) for k, v in self.__dict__.items() if k not in self._NAMED_CACHES)
        new.__dict__.update(labels, name=name)
        return new

    def _prime(self, **values) -> "Scheme":
        """Seed cached properties with values a constructor already has (the catalog's
        collocation methods know their number field); returns the scheme."""
        for attr, value in values.items():
            if not isinstance(getattr(type(self), attr, None), functools.cached_property):
                raise AttributeError(f"{attr!r} is not a cached property of {type(self).__name__}")
            self.__dict__[attr] = value
        return self

    # -- coefficients -------------------------------------------------------------
    def _coefficients(self) -> tuple:
        raise NotImplementedError

    def _rebuild(self, mapping: dict) -> "Scheme":
        raise NotImplementedError

    @cached
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

    @cached
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

    @cached
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
            done = {**self.substituted, **{s.name: v for s, v in mapping.items()}}
            name = f"{self.family}({', '.join(f'{n}={short(v)}' for n, v in sorted(done.items()))})"
            new = new._relabelled(name, _family=self.family, substituted=done)
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

    def require_concrete(self, what: str) -> None:
        """Raise a ``ValueError`` naming ``what`` and the free symbols, if any are left.

        >>> from numnet.schemes import get
        >>> get("lm_resnet").require_concrete("the step")
        Traceback (most recent call last):
        ...
        ValueError: the step of lm_resnet is undefined while symbols {k} are free; give them values with .subs(k=...)
        """
        if self.free_symbols:
            names = ", ".join(sorted(s.name for s in self.free_symbols))
            raise ValueError(
                f"{what} of {self.name} is undefined while symbols {{{names}}} are free; "
                f"give them values with .subs({names.split(', ')[0]}=...)"
            )

    def is_zero(self, expr):
        """Whether ``expr`` (built from this scheme's coefficients) is zero at their
        precision: exactly for exact coefficients, within rounding for Float ones; None
        when free symbols decide it (see :func:`numnet.schemes.is_zero`).

        >>> from numnet.schemes import get
        >>> rk4 = get("rk4")
        >>> rk4.is_zero(sum(rk4.b) - 1), get("lm_resnet").is_zero(sum(get("lm_resnet").alpha)) is None
        (True, False)
        """
        return _is_zero(expr, self.precision)

    _require_concrete = require_concrete  # the former private names, kept as aliases
    _zero = is_zero

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
