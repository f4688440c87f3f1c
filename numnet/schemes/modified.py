"""Modified equations: the differential equations that a scheme solves more accurately
than the one it was built for. Backward error analysis for any LMM and any RK method.

Two forms (see ``theory/modified-equations.md`` for derivations):

**Difference-operator form** (``form="difference"``): Taylor-expand the step around a
time t and divide by h. The result is an ODE of *higher order* in u, a series in h:

- LMM Σ_j α_j u_{n+j} = h Σ_j β_j f(u_{n+j}), expanded around t = t_{n+c} (``center``
  c, default c = s−1: the newest known value, which for LM-ResNet and Adams–Bashforth
  is where the newest f is evaluated — the convention of the LM-ResNet paper)::

      Σ_q A_q h^(q−1) u^(q)(t) = Σ_q B_q h^q (d/dt)^q f(u(t)),
      A_q = Σ_j α_j (j−c)^q / (q! σ(1)),   B_q = Σ_j β_j (j−c)^q / (q! σ(1)).

  Both sides are divided by σ(1) = Σ β_j (when it is not zero), so the right side starts
  with f(u) and the left with ρ'(1)/σ(1) u' (1 for consistent methods). For
  LM-ResNet's u_{n+1} = (1−k)u_n + k u_{n−1} + h f(u_n) this is
  (1+k) u' + (1−k)(h/2) u'' + (1+k)(h²/6) u''' + … = f(u), for every k.
- RK: (u(t+h) − u(t))/h = Σ_q h^(q−1) u^(q)/q! equals the B-series of the increment,
  Σ_t h^(|t|−1) Φ(t)/σ(t) F(t)(u(t)), with Φ(t) = b·(stage weights).

``.term(j)`` is the h^j coefficient of (left side − right side).

**Modified vector field form** (``form="vector_field"``): u' = f_h(u) = f₁ + h f₂ + h² f₃
+ …, whose exact flow the scheme follows to all orders (formally). Written through the
elementary differentials F(t) (f, f'f, f''(f,f), …) of a general system,
f_h = Σ_t h^(|t|−1) b(t)/σ(t) F(t); ``.scalar()`` rewrites them for a scalar ODE as
products of f, f', f'' … (functions of u). The coefficients b(t) are exact:

- RK: the modified-equation recursion from the method's B-series (GNI IX.9);
- LMM: the field whose exact flow satisfies the multistep formula order by order — the
  modified equation of the *underlying one-step method* (Hairer 1999; the parasitic
  solutions are not part of it). See :mod:`numnet.schemes.bseries`.

An LMM with ρ'(1) ≠ σ(1) (LM-ResNet with k ≠ 0) is consistent with the *rescaled* field
ρ'(1) u' = σ(1) f: its modified field starts with σ(1)/ρ'(1) · f = f/(1+k).

Related modules: :mod:`numnet.schemes.elementary` (the symbols F(t) and their values for a
concrete f), :mod:`numnet.schemes.bseries` (the tree recursions),
:mod:`numnet.schemes.linear` (λ̃/λ on u' = λu from the principal root / log R),
:mod:`numnet.schemes.sde` (stochastic blocks as SDEs).

>>> from numnet.schemes import get
>>> me = get("lm_resnet").modified_equation(2)
>>> me
(k + 1)*u' + (1 - k)/2*h*u'' + (k + 1)/6*h**2*u''' = f + O(h**3)
>>> me.term(0), me.term(1)
((k + 1)*Derivative(u(t), t) - f(u(t)), (1/2 - k/2)*Derivative(u(t), (t, 2)))
>>> get("euler").modified_equation(2, form="vector_field")
f_h = f - 1/2*h*f'f + 1/3*h**2*f'f'f + 1/12*h**2*f''(f,f) + O(h**3)
"""

from __future__ import annotations

import math
import numbers

import sympy as sp
from sympy.polys.constructor import construct_domain

from .._lazy import lazy_module
from ._exact import is_zero
from ._parse import expression
from .bseries import graft, modified_field_of_multistep, modified_field_of_one_step
from .elementary import U, ElementaryDifferential, _primes, elementary_differential, elementary_differentials, f
from .trees import check_order_bound, forest

np = lazy_module("numpy")  # imported at first use: numnet.schemes loads without numpy

H = sp.Symbol("h", positive=True)
"""The step size h."""
T = sp.Symbol("t")
"""Time, the variable of the difference-operator form."""
u = sp.Function("u")

_FORMS = ("difference", "vector_field")


# -- input checks and domains --------------------------------------------------------------
def _check_order(order):
    if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or order < 0:
        raise ValueError(f"order must be a non-negative integer (truncate after h^order), got {order!r}")
    return int(order)


def _check_scheme(scheme):
    from .lmm import LinearMultistep
    from .rk import RungeKutta

    if not isinstance(scheme, (LinearMultistep, RungeKutta)):
        raise TypeError(f"scheme must be a LinearMultistep or RungeKutta, got {type(scheme).__name__}")
    return scheme


def _domain(exprs):
    """One sympy field holding all the numbers/expressions (QQ, QQ<√3>, ZZ(k), RR, …)."""
    K, elems = construct_domain([sp.sympify(e) for e in exprs], field=True, extension=True)
    return K, elems


def _rk_weights(rk, n: int):
    """(K, [b·Φ(t) for all trees of order ≤ n]) in exact domain arithmetic."""
    from ._arith import Evaluator

    ev = Evaluator(rk.A.tolist(), list(rk.b), "exact")
    a = []
    for m in range(1, n + 1):
        a.extend(ev.weights(m))
    return ev.K, a


def field_coefficients(scheme, n: int) -> list:
    """b(t) for all trees of order ≤ n (sympy numbers/expressions, by tree id): the
    modified vector field is f_h = Σ_t h^(|t|−1) b(t)/σ(t) F(t); n ≤ 11
    (:data:`TREES_MAX_ORDER` + 1).

    >>> from numnet.schemes import get
    >>> field_coefficients(get("explicit_midpoint"), 3)
    [1, 0, -1/6, -1/12]
    """
    _check_scheme(scheme)
    n = _check_order(n)
    if n == 0:
        return []
    check_order_bound(n, TREES_MAX_ORDER + 1, f"field_coefficients({n})", f"numnet derives them up to order {TREES_MAX_ORDER + 1}")
    fo = forest(n)
    if scheme.kind == "RK":
        K, a = _rk_weights(scheme, n)
        b = modified_field_of_one_step(a, fo, n, K)
    else:
        rho1 = sum(scheme.alpha)
        if is_zero(rho1, scheme.precision) is not True:
            raise ValueError(
                f"{scheme.name} has rho(1) = {sp.simplify(rho1)} (must be 0): its steps do not "
                "preserve constants, so no modified vector field exists"
            )
        K, el = _domain(list(scheme.alpha) + list(scheme.beta))
        s1 = len(scheme.alpha)
        try:
            b = modified_field_of_multistep(el[:s1], el[s1:], fo, n, K)
        except ValueError as exc:
            raise ValueError(f"{scheme.name}: {exc}") from None
    return [K.to_sympy(x) for x in b]


# -- the two forms --------------------------------------------------------------------------
class _HSeries:
    """A series Σ_j h^j T_j truncated after h^order; subclasses define the terms."""

    order: int
    lowest: int = 0

    def term(self, j: int) -> sp.Expr:
        """The coefficient of h^j (0 below the lowest power; an error beyond ``order``).

        >>> from numnet.schemes import get
        >>> get("euler").modified_equation(1, form="vector_field").term(1)
        -f'f/2
        """
        if not isinstance(j, (int, np.integer)) or isinstance(j, bool):
            raise TypeError(f"j must be an integer power of h, got {j!r}")
        if j > self.order:
            raise ValueError(f"term({j}) is beyond the truncation order {self.order}; ask for a higher order")
        if j < self.lowest:
            return sp.Integer(0)
        return self._term(int(j))

    def as_expr(self) -> sp.Expr:
        """Σ_j h^j term(j), j = lowest … order.

        >>> from numnet.schemes import get
        >>> get("euler").modified_equation(1, form="vector_field").as_expr()
        f - f'f*h/2
        """
        return sp.Add(*[H**j * self.term(j) for j in range(self.lowest, self.order + 1)])

    def _check_truncation(self, order):
        order = _check_order(order)
        if order > self.order:
            raise ValueError(f"cannot truncate after h^{order}: this series stops at h^{self.order}")
        return order

    @staticmethod
    def _render(terms, latex: bool) -> str:
        """Σ_j h^j T_j as text, one 'coefficient·h^j·basis' piece per basis element.

        ``terms``: (j, T_j) pairs; a basis element is the part of a product holding the
        state (u, f, elementary differentials), the coefficient the rest.
        """
        pieces = []
        for j, x in terms:
            x, names = _display(x)

            def show(e):
                return sp.latex(e, symbol_names=names) if latex else str(e)

            groups: dict = {}
            for arg in sp.Add.make_args(sp.expand(x)):
                coeff, basis = sp.Integer(1), sp.Integer(1)
                for fac in sp.Mul.make_args(arg):
                    if fac.atoms(_Shown, ElementaryDifferential):
                        basis *= fac
                    else:
                        coeff *= fac
                groups[basis] = groups.get(basis, 0) + coeff
            for basis, coeff in groups.items():
                r, num, den = _tidy(coeff)
                if r == 0:
                    continue
                neg = bool(r.is_extended_negative)
                c = _show_coefficient(-r if neg else r, num, den, latex, show, bare=basis != 1)
                parts = [c] if c else []
                if j:
                    parts.append(("h" if j == 1 else f"h^{{{j}}}") if latex else ("h" if j == 1 else f"h**{j}"))
                if basis != 1:
                    parts.append(show(basis))
                pieces.append((neg, (" " if latex else "*").join(parts)))
        if not pieces:
            return "0"
        out = ("- " if pieces[0][0] else "") + pieces[0][1]
        for neg, body in pieces[1:]:
            out += (" - " if neg else " + ") + body
        return out


def _tidy(c):
    """A coefficient as (number r, numerator, denominator) with r·num/den = c and num, den
    free of numeric factors: (1 − k)/2 is (1/2, 1 − k, 1), not sympy's 1/2 − k/2."""
    c = sp.sympify(c)
    if c == 0:
        return sp.Integer(0), sp.Integer(1), sp.Integer(1)
    if not c.free_symbols:
        r, rest = c.as_coeff_Mul()
        return r, rest, sp.Integer(1)
    n, d = sp.fraction(sp.factor(c))
    r1, n_rest = sp.factor_terms(sp.expand(n)).as_coeff_Mul()
    r2, d_rest = d.as_coeff_Mul()
    return r1 / r2, n_rest, d_rest


def _show_coefficient(r, num, den, latex, show, bare):
    """Text of the positive coefficient r·num/den ('' for 1 in front of a basis element)."""
    p, q = (r.p, r.q) if isinstance(r, sp.Rational) else (r, 1)
    top = num if p == 1 else (sp.Mul(p, num, evaluate=False) if num != 1 else p)
    bottom = den if q == 1 else (sp.Mul(q, den, evaluate=False) if den != 1 else q)
    if bottom == 1:
        if top == 1:
            return "" if bare else show(top)
        text = show(top)
        if isinstance(top, sp.Add) and bare:
            text = f"\\left({text}\\right)" if latex else f"({text})"
        return text
    if latex:
        return f"\\frac{{{show(top)}}}{{{show(bottom)}}}"
    wrap = lambda e, kinds: f"({show(e)})" if isinstance(e, kinds) else show(e)  # noqa: E731
    return f"{wrap(top, (sp.Add,))}/{wrap(bottom, (sp.Add, sp.Mul, sp.Pow))}"


class _Shown(sp.Symbol):
    """Placeholder for a state-dependent factor while printing (u'', f', d/dt f(u), …);
    its name is the plain-text form."""


def _display(x):
    """(x with u(t)-, f-derivatives replaced by short placeholders, their LaTeX names)."""
    rep, names = {}, {}

    def shown(text, tex):
        s = _Shown(text)
        names[s] = tex
        return s

    for d in x.atoms(sp.Derivative):
        q = d.derivative_count
        var = d.variables[0]
        if d.expr == u(T):
            rep[d] = shown(_primes("u", q), _primes("u", q, True))
        elif d.expr == f(u(T)) and var == T:
            rep[d] = shown(f"D^{q}f" if q > 1 else "Df", r"\frac{d^{%d}}{dt^{%d}} f(u)" % (q, q) if q > 1 else r"\frac{d}{dt} f(u)")
        elif isinstance(d.expr, sp.Function) and d.expr.func == f and var == d.expr.args[0]:
            rep[d] = shown(_primes("f", q), _primes("f", q, True))
    x = x.xreplace(rep)
    for arg in (U, u(T)):
        x = x.xreplace({f(arg): shown("f", "f")})
    x = x.xreplace({u(T): shown("u", "u")})
    return x, names


class ModifiedVectorField(_HSeries):
    """u' = f_h(u) = Σ_{j ≤ order} h^j f_{j+1}(u): the modified vector field of a scheme.

    ``term(j)`` is f_{j+1}, a combination of elementary differentials
    (:class:`ElementaryDifferential`); ``.scalar()`` gives the same in f(u), f'(u), ….

    >>> from numnet.schemes import get
    >>> me = get("euler").modified_equation(2, form="vector_field")
    >>> me.term(1), me.scalar().term(1)
    (-f'f/2, -f(u)*Derivative(f(u), u)/2)
    >>> me.coefficients(2)
    {'[[•]]': 1/3, '[•,•]': 1/12}
    """

    def __init__(self, scheme, order: int, b: list, scalar: bool = False):
        self.scheme = scheme
        self.order = order
        self.b = tuple(b)  # B-series coefficients b(t), t of order ≤ order + 1
        self.forest = forest(max(order + 1, 1))
        self._scalar = scalar

    def _F(self, t):
        F = elementary_differential(self.forest, t)
        return F.scalar(U) if self._scalar else F

    def _coef(self, t):
        return self.b[t] / self.forest.sigma[t]

    def _term(self, j):
        fo = self.forest
        return sp.Add(*[self._coef(t) * self._F(t) for t in fo.of_order(j + 1)])

    def coefficients(self, j: int) -> dict:
        """{tree: b(t)/σ(t)} for the trees of order j+1: the coefficient of each F(t) in f_{j+1}.

        >>> from numnet.schemes import get
        >>> get("heun").modified_equation(2, form="vector_field").coefficients(2)
        {'[[•]]': -1/6, '[•,•]': 1/12}
        """
        self.term(j)  # range check
        fo = self.forest
        return {fo.name(t): self._coef(t) for t in fo.of_order(j + 1)}

    def scalar(self) -> "ModifiedVectorField":
        """The same field written for a scalar ODE: products of f(u), f'(u), f''(u) …

        >>> from numnet.schemes import get
        >>> get("euler").modified_equation(2, form="vector_field").scalar()
        f_h = f - 1/2*h*f*f' + 1/3*h**2*f*f'**2 + 1/12*h**2*f**2*f'' + O(h**3)
        """
        return ModifiedVectorField(self.scheme, self.order, self.b, scalar=True)

    def truncate(self, order: int) -> "ModifiedVectorField":
        """The field truncated after h^order (order ≤ self.order).

        >>> from numnet.schemes import get
        >>> get("euler").modified_equation(3, form="vector_field").truncate(1)
        f_h = f - 1/2*h*f'f + O(h**2)
        """
        order = self._check_truncation(order)
        return ModifiedVectorField(self.scheme, order, self.b[: int(self.forest.starts[order + 1])], self._scalar)

    def subs(self, values: dict | None = None, /, **kwargs) -> "ModifiedVectorField":
        """Substitute values for free symbols of the coefficients (e.g. k=-0.3).

        >>> from numnet.schemes import get
        >>> get("lm_resnet").modified_equation(1, form="vector_field").subs(k="-1/3")
        f_h = 3/2*f - 9/4*h*f'f + O(h**2)
        """
        mapping = _mapping(self.b, values, kwargs)
        return ModifiedVectorField(self.scheme, self.order, [sp.simplify(x.subs(mapping)) for x in self.b], self._scalar)

    def linear_rate(self) -> sp.Expr:
        """λ̃/λ for f = λu as a polynomial in z = hλ: only the chains [[…[•]…]] contribute.

        >>> from numnet.schemes import get
        >>> get("ab2").modified_equation(3, form="vector_field").linear_rate()
        z**3/4 - 5*z**2/12 + 1
        """
        z = sp.Symbol("z")
        fo = self.forest
        terms, t = [], 0
        for j in range(self.order + 1):
            c = self.b[t]
            terms.append((sp.factor(c) if c.free_symbols else c) * z**j)
            if j < self.order:
                t = graft(fo, 0, t)  # the chain one node taller
        return sp.Add(*terms)

    # -- concrete right-hand sides -----------------------------------------------------
    def evaluate(self, fexpr, y=None):
        """The truncated modified field for a concrete f, symbolic in h.

        ``fexpr``: a sympy expression in one symbol (scalar ODE), a column Matrix in the
        symbols ``y``, or a callable that builds either from sympy symbols (then ``y`` is
        required: a Symbol or a list of Symbols).

        >>> from numnet.schemes import get
        >>> x = sp.Symbol("x")
        >>> get("euler").modified_equation(1, form="vector_field").evaluate(-x)
        -h*x/2 - x
        """
        fexpr, ys, scalar = _concrete_field(fexpr, y)
        n = self.order + 1
        F = elementary_differentials(fexpr if scalar else sp.Matrix(fexpr), ys[0] if scalar else ys, n)
        total = sum((H ** (int(self.forest.order[t]) - 1) * self._coef(t) * F[t] for t in self.forest.upto(n)), sp.zeros(len(ys), 1) if not scalar else sp.Integer(0))
        return sp.expand(total) if scalar else total.applyfunc(sp.expand)

    def lambdify(self, fexpr, y=None, h=None):
        """A callable g(t, y) of the truncated modified ODE for ``scipy.integrate.solve_ivp``.

        ``h``: the step size of the scheme (a positive number); with ``h=None`` the
        callable is g(t, y, h), for ``solve_ivp(g, ..., args=(h,))`` over many step sizes.
        See :meth:`evaluate` for ``fexpr`` and ``y``. The state is a 1-D array (length 1
        for a scalar ODE).

        >>> from numnet.schemes import get
        >>> x = sp.Symbol("x")
        >>> me = get("euler").modified_equation(1, form="vector_field")
        >>> me.lambdify(-x, h=0.1)(0.0, np.array([2.0]))
        array([-2.1])
        >>> me.lambdify(-x)(0.0, np.array([2.0]), 0.1)
        array([-2.1])
        """
        if h is not None:
            h = _check_step(h)
        fexpr, ys, scalar = _concrete_field(fexpr, y)
        expr = self.evaluate(fexpr, ys[0] if scalar else ys)
        comps = [expr] if scalar else list(expr)
        comps = [sp.sympify(c) if h is None else sp.sympify(c).subs(H, h) for c in comps]
        extra = set().union(*[c.free_symbols for c in comps]) - set(ys) - {H}
        if extra:
            names = ", ".join(sorted(s.name for s in extra))
            first = names.split(", ")[0]
            raise ValueError(
                f"the modified field still contains free symbols {{{names}}}; substitute them "
                f"first, e.g. scheme.subs({first}=...) or .subs({first}=...)"
            )
        fn = sp.lambdify(ys + [H], comps, modules="numpy", cse=True)
        dim = len(ys)

        def call(state, hv):
            state = np.asarray(state, dtype=float)
            if state.shape != (dim,):
                raise ValueError(f"state must have shape ({dim},), got {state.shape}")
            return np.array(fn(*state, hv), dtype=float).reshape(dim)

        if h is None:

            def g(t, state, h):
                return call(state, h if isinstance(h, float) and h > 0 else float(_check_step(h)))

        else:
            hv = float(h)

            def g(t, state):
                return call(state, hv)

        return g

    # -- display ------------------------------------------------------------------------
    def __repr__(self) -> str:
        terms = [(j, self.term(j)) for j in range(self.order + 1)]
        return f"f_h = {self._render(terms, False)} + O(h**{self.order + 1})"

    def _repr_latex_(self) -> str:
        terms = [(j, self.term(j)) for j in range(self.order + 1)]
        lhs = r"\tilde f_h(u)" if self._scalar else r"\tilde f_h"
        return f"$${lhs} = {self._render(terms, True)} + \\mathcal{{O}}(h^{{{self.order + 1}}})$$"


class ModifiedDifferenceEquation(_HSeries):
    """The scheme's Taylor expansion as a higher-order ODE in u:
    Σ_j h^j L_j = Σ_j h^j R_j, truncated after h^order; ``term(j)`` = L_j − R_j.

    ``lhs``/``rhs``/``equation()`` give both sides. ``center`` (LMM) is the index c of the
    expansion point t = t_{n+c}; ``normalisation`` the number both sides were divided by
    (σ(1) for an LMM). To integrate it, :meth:`lambdify` converts it to the equivalent
    modified vector field first (same truncation order).

    >>> from numnet.schemes import get
    >>> get("lm_resnet").modified_equation(1).equation()
    Eq(h*(1/2 - k/2)*Derivative(u(t), (t, 2)) + (k + 1)*Derivative(u(t), t), f(u(t)))
    """

    def __init__(self, scheme, order: int, lhs: list, rhs: list, lowest: int = 0, center=None, normalisation=1, scalar=False):
        self.scheme = scheme
        self.order = order
        self.lowest = lowest
        self._lhs = list(lhs)  # index j - lowest
        self._rhs = list(rhs)
        self.center = center
        self.normalisation = normalisation
        self._scalar = scalar

    def _scal(self, x):
        if not self._scalar:
            return x
        return x.xreplace({s: s.scalar(u(T)) for s in x.atoms(ElementaryDifferential)})

    def _term(self, j):
        i = j - self.lowest
        return self._scal(self._lhs[i] - self._rhs[i])

    @property
    def lhs(self) -> sp.Expr:
        """Left side: the expanded u-terms, Σ_j h^j L_j.

        >>> from numnet.schemes import get
        >>> get("euler").modified_equation(1).lhs
        h*Derivative(u(t), (t, 2))/2 + Derivative(u(t), t)
        """
        return sp.Add(*[H**j * self._lhs[j - self.lowest] for j in range(self.lowest, self.order + 1)])

    @property
    def rhs(self) -> sp.Expr:
        """Right side: the expanded f-terms, Σ_j h^j R_j.

        >>> from numnet.schemes import get
        >>> get("ab2").modified_equation(1).rhs
        h*Derivative(f(u(t)), t)/2 + f(u(t))
        """
        return self._scal(sp.Add(*[H**j * self._rhs[j - self.lowest] for j in range(self.lowest, self.order + 1)]))

    def equation(self) -> sp.Eq:
        """lhs = rhs, truncated.

        >>> from numnet.schemes import get
        >>> get("ab2").modified_equation(0).equation()
        Eq(Derivative(u(t), t), f(u(t)))
        """
        return sp.Eq(self.lhs, self.rhs)

    def scalar(self) -> "ModifiedDifferenceEquation":
        """Elementary differentials (RK right-hand sides) written for a scalar ODE.

        >>> from numnet.schemes import get
        >>> get("heun").modified_equation(1).scalar()
        u' + 1/2*h*u'' = f + 1/2*h*f*f' + O(h**2)
        """
        return self._copy(order=self.order, scalar=True)

    def _copy(self, order=None, scalar=None, lhs=None, rhs=None):
        n = (self.order if order is None else order) - self.lowest + 1
        return ModifiedDifferenceEquation(
            self.scheme, self.order if order is None else order, (lhs or self._lhs)[:n], (rhs or self._rhs)[:n],
            self.lowest, self.center, self.normalisation, self._scalar if scalar is None else scalar,
        )

    def truncate(self, order: int) -> "ModifiedDifferenceEquation":
        """The equation truncated after h^order (order ≤ self.order).

        >>> from numnet.schemes import get
        >>> get("lm_resnet").modified_equation(3).truncate(1)
        (k + 1)*u' + (1 - k)/2*h*u'' = f + O(h**2)
        """
        order = self._check_truncation(order)
        return self._copy(order=order)

    def subs(self, values: dict | None = None, /, **kwargs) -> "ModifiedDifferenceEquation":
        """Substitute values for free symbols of the coefficients (e.g. k=-0.3).

        >>> from numnet.schemes import get
        >>> get("lm_resnet").modified_equation(1).subs(k=0)
        u' + 1/2*h*u'' = f + O(h**2)
        """
        mapping = _mapping(self._lhs + self._rhs, values, kwargs)
        return self._copy(lhs=[sp.expand(x.subs(mapping)) for x in self._lhs], rhs=[sp.expand(x.subs(mapping)) for x in self._rhs])

    def to_vector_field(self) -> ModifiedVectorField:
        """The equivalent first-order form u' = f_h(u) (higher derivatives eliminated), to
        the same order; independent of the expansion point and normalisation.

        >>> from numnet.schemes import get
        >>> get("lm_resnet").modified_equation(1).to_vector_field()
        f_h = 1/(k + 1)*f + (k - 1)/(2*(k + 1)**3)*h*f'f + O(h**2)
        """
        return modified_equation(self.scheme, self.order, form="vector_field")

    def lambdify(self, fexpr, y=None, h=None):
        """Integrable callable g(t, y): that of :meth:`to_vector_field` (the difference
        form is a higher-order ODE; its solutions near the scheme's are those of the
        modified first-order field)."""
        return self.to_vector_field().lambdify(fexpr, y=y, h=h)

    def __repr__(self) -> str:
        js = range(self.lowest, self.order + 1)
        lhs = self._render([(j, self._scal(self._lhs[j - self.lowest])) for j in js], False)
        rhs = self._render([(j, self._scal(self._rhs[j - self.lowest])) for j in js], False)
        return f"{lhs} = {rhs} + O(h**{self.order + 1})"

    def _repr_latex_(self) -> str:
        js = range(self.lowest, self.order + 1)
        lhs = self._render([(j, self._scal(self._lhs[j - self.lowest])) for j in js], True)
        rhs = self._render([(j, self._scal(self._rhs[j - self.lowest])) for j in js], True)
        return f"$${lhs} = {rhs} + \\mathcal{{O}}(h^{{{self.order + 1}}})$$"


def _mapping(exprs, values, kwargs):
    free = {}
    for x in exprs:
        for s in sp.sympify(x).free_symbols:
            free[s.name] = s
    mapping = {}
    for key, value in {**(values or {}), **kwargs}.items():
        name = key.name if isinstance(key, sp.Symbol) else key
        if name not in free or name in ("h", "t", "u"):
            raise ValueError(f"no free symbol {name!r} in the coefficients; they have {sorted(set(free) - {'h', 't', 'u'}) or 'none'}")
        from ._exact import coefficient

        mapping[free[name]] = coefficient(value, name)
    return mapping


def _check_step(h):
    if h is None:
        raise ValueError("h (the step size of the scheme) is required to get a numeric field, e.g. h=0.1")
    if isinstance(h, bool) or not isinstance(h, (numbers.Real, sp.Number)) or not float(h) > 0:
        raise ValueError(f"h must be a positive number, got {h!r}")
    return sp.sympify(h)


def _concrete_field(fexpr, y):
    """(expression or Matrix, [state symbols], is_scalar)."""
    if callable(fexpr) and not isinstance(fexpr, sp.Basic):
        if y is None:
            raise ValueError("a callable f needs y= (a Symbol or list of Symbols) to be evaluated on")
        arg = y if isinstance(y, sp.Symbol) else sp.Matrix(list(y))
        try:
            fexpr = fexpr(arg)
        except Exception as exc:  # the callable does not accept sympy input
            raise TypeError(f"could not build a sympy expression from the callable f ({exc}); pass a sympy expression") from exc
        if not isinstance(fexpr, sp.MatrixBase) and not isinstance(y, sp.Symbol):
            fexpr = sp.Matrix(list(fexpr))
    if isinstance(fexpr, sp.MatrixBase):
        fexpr = sp.Matrix(fexpr)
        if fexpr.shape[1] != 1:
            fexpr = fexpr.reshape(len(fexpr), 1)
        if y is None:
            if len(fexpr) == 1 and len(fexpr.free_symbols) == 1:
                y = list(fexpr.free_symbols)
            else:
                raise ValueError(f"a system needs y=[...] (its {len(fexpr)} state symbols in order)")
        ys = [y] if isinstance(y, sp.Symbol) else list(y)
        if len(ys) != len(fexpr):
            raise ValueError(f"f has {len(fexpr)} components but y has {len(ys)} symbols")
        return fexpr, ys, False
    fexpr = expression(fexpr, "f")
    if not isinstance(fexpr, sp.Expr):
        raise TypeError(f"f must be a sympy expression, Matrix or callable, got {type(fexpr).__name__}")
    if y is None:
        syms = fexpr.free_symbols - {H}
        if len(syms) != 1:
            raise ValueError(f"give y= for a scalar f with free symbols {sorted(s.name for s in syms)}")
        y = syms.pop()
    if not isinstance(y, sp.Symbol):
        raise TypeError(f"y must be a sympy Symbol for a scalar f, got {y!r}")
    return fexpr, [y], True


# -- construction ----------------------------------------------------------------------------
TREES_MAX_ORDER = 10
"""Highest truncation order of the tree-based modified equations (see :func:`modified_equation`)."""


def modified_equation(scheme, order: int, form: str = "difference", center: int | None = None):
    """The modified equation of ``scheme`` truncated after the h^order term.

    ``form="difference"``: :class:`ModifiedDifferenceEquation` (the Taylor-expanded step;
    ``center`` picks the LMM expansion point t_{n+center}, default steps−1).
    ``form="vector_field"``: :class:`ModifiedVectorField`.
    Both forms of an RK method and the vector field of an LMM sum over rooted trees up to
    order+1, so ``order`` ≤ :data:`TREES_MAX_ORDER` (10: 1,842 trees of order 11, a few
    seconds for Gauss3); beyond it a ``ValueError`` gives the tree count. The difference
    form of an LMM needs no trees and has no such bound.

    >>> from numnet.schemes import get
    >>> modified_equation(get("heun"), 2, form="vector_field").scalar().term(2)
    f(u)**2*Derivative(f(u), (u, 2))/12 - f(u)*Derivative(f(u), u)**2/6
    >>> modified_equation(get("ab2"), 1)
    u' + 1/2*h*u'' = f + 1/2*h*Df + O(h**2)
    """
    _check_scheme(scheme)
    order = _check_order(order)
    if form not in _FORMS:
        raise ValueError(f"form must be one of {_FORMS}, got {form!r}")
    if form == "vector_field" or scheme.kind == "RK":  # these expand over trees up to order + 1
        check_order_bound(order + 1, TREES_MAX_ORDER + 1, f"modified_equation({order}, form={form!r})",
                          f"numnet truncates this form at order ≤ {TREES_MAX_ORDER} (trees up to order {TREES_MAX_ORDER + 1})")
    if form == "vector_field":
        if center is not None:
            raise ValueError("center applies to form='difference' only")
        return ModifiedVectorField(scheme, order, field_coefficients(scheme, order + 1))
    if scheme.kind == "RK":
        if center not in (None, 0):
            raise ValueError(f"a Runge–Kutta step is expanded around t_n (center=0), got center={center!r}")
        K, a = _rk_weights(scheme, order + 1)
        fo = forest(order + 1)
        lhs = [u(T).diff(T, j + 1) / math.factorial(j + 1) for j in range(order + 1)]
        rhs = [
            sp.Add(*[K.to_sympy(a[t]) / fo.sigma[t] * elementary_differential(fo, t) for t in fo.of_order(j + 1)])
            for j in range(order + 1)
        ]
        return ModifiedDifferenceEquation(scheme, order, lhs, rhs, 0, 0, 1)
    return _lmm_difference(scheme, order, center)


def _lmm_difference(lmm, order, center):
    s = lmm.steps
    c = s - 1 if center is None else center
    if not isinstance(c, (int, np.integer)) or isinstance(c, bool) or not 0 <= c <= s:
        raise ValueError(f"center must be an integer step index in 0..{s}, got {center!r}")
    sigma1 = sp.simplify(sum(lmm.beta))
    norm = sigma1 if is_zero(sigma1, lmm.precision) is not True else sp.Integer(1)

    def moment(coeffs, q):
        return sp.simplify(sum(x * sp.Integer(j - c) ** q for j, x in enumerate(coeffs)) / math.factorial(q) / norm)

    rho1 = moment(lmm.alpha, 0)
    lowest = 0 if is_zero(rho1, lmm.precision) is True else -1
    lhs, rhs = [], []
    for j in range(lowest, order + 1):
        q = j + 1
        lhs.append(moment(lmm.alpha, q) * (u(T).diff(T, q) if q else u(T)))
        rhs.append(moment(lmm.beta, j) * (sp.Derivative(f(u(T)), (T, j)) if j > 0 else f(u(T))) if j >= 0 else sp.Integer(0))
    return ModifiedDifferenceEquation(lmm, order, lhs, rhs, lowest, int(c), norm)

