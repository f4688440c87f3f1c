"""Scheme coefficients as numbers torch can use, and the inits of learnable ones.

A scheme stores its coefficients as exact sympy expressions. A network reads them once,
when it is built: a coefficient without free symbols becomes a Python float (the exact
value rounded once), and one with free symbols (LM-ResNet's ``k``, a learnable Adams
``b1``) becomes a small torch function of per-block parameters, so gradients flow into
them. Exact zeros and ones are kept as such, so that a term with coefficient 0 costs
nothing and one with coefficient 1 costs no multiply.

>>> import sympy as sp, torch
>>> k = sp.Symbol("k")
>>> c = Coefficients([-k, k - 1, sp.Integer(1), sp.Rational(3, 2)], [k])
>>> c.kinds
('symbolic', 'symbolic', 'one', 'constant')
>>> [float(v) for v in c.values([torch.tensor(0.25)])]
[-0.25, -0.75, 1.0, 1.5]
"""

from __future__ import annotations

import math
import numbers
import re

import sympy as sp
import torch

from numnet.schemes import plan
from numnet.schemes._exact import coefficient
from numnet.schemes._parse import expression

ONE, ZERO, CONSTANT, SYMBOLIC = plan.ONE, plan.ZERO, plan.CONSTANT, plan.SYMBOLIC


def exact_number(x, what: str) -> sp.Expr:
    """``x`` as a sympy number by numnet's one number policy,
    :func:`numnet.schemes._exact.coefficient`: a float — a learned coefficient, a step
    size — stays the exact binary number it stores (a 53-bit sympy ``Float``), fractions
    and integers are exact Rationals. Non-numbers and non-finite values are refused.

    >>> exact_number(0.5, "h"), exact_number("1/10", "h"), exact_number(torch.tensor(-0.25), "k")
    (0.500000000000000, 1/10, -0.250000000000000)
    """
    if isinstance(x, str):
        try:
            return sp.Rational(x)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a number or a fraction string like '1/10', got {x!r}") from None
    if isinstance(x, torch.Tensor) and x.numel() != 1:
        raise TypeError(f"{what} must be a number, got a tensor of shape {tuple(x.shape)}")
    try:
        return coefficient(x, what)
    except TypeError:
        raise TypeError(f"{what} must be a number, got {x!r} ({type(x).__name__})") from None


class Coefficients:
    """Coefficient slots compiled for torch: a thin reader of
    :class:`numnet.schemes.plan.Slots`, which classifies each slot once — ``"zero"``
    (the term is dropped), ``"one"`` (added without a multiply), ``"constant"`` (a Python
    float) or ``"symbolic"`` (evaluated from the free-symbol values by the slots'
    lambdified torch function, so it is differentiable in them). ``values(params)``
    returns one entry per slot: the float, 1.0, 0.0, or a 0-dim tensor.
    """

    def __init__(self, exprs, symbols=()):
        self._init(plan.Slots(tuple(expression(e, f"coefficient {i}") for i, e in enumerate(exprs)), tuple(symbols)))

    @classmethod
    def from_slots(cls, slots: "plan.Slots") -> "Coefficients":
        """The torch reader of already classified slots (a step plan's)."""
        out = cls.__new__(cls)
        out._init(slots)
        return out

    def _init(self, slots):
        self.slots = slots
        self.exprs, self.symbols, self.kinds = slots.exprs, slots.symbols, slots.kinds
        self._consts = list(slots.constants)
        self._fn = slots.function("torch")

    def nonzero(self, i: int) -> bool:
        """Whether slot ``i`` can be non-zero (a symbolic slot counts as non-zero)."""
        return self.kinds[i] != ZERO

    def values(self, params=None) -> list:
        """Slot values for the given free-symbol values (0-dim tensors, symbol order)."""
        if self._fn is None:
            return list(self._consts)
        if params is None or len(params) != len(self.symbols):
            raise ValueError(f"expected values for {[s.name for s in self.symbols]}, got {params!r}")
        out = list(self._consts)
        for i, v in zip(self.slots.symbolic, self._fn(*params)):
            out[i] = v
        return out


# -- inits of learnable coefficients -------------------------------------------------
def uniform_left_open(lo: float, hi: float):
    """Fill with samples of U(lo, hi], i.e. hi − (hi − lo)·U[0, 1)."""

    def init(t: torch.Tensor) -> None:
        with torch.no_grad():
            t.uniform_(0.0, 1.0).mul_(lo - hi).add_(hi)

    init.__name__ = f"uniform({lo}, {hi}]"
    return init


DEFAULT_INITS = {
    # Lu et al. (2018), reference code: k_n ~ U(-0.1, 0]
    ("lm_resnet", "k"): uniform_left_open(-0.1, 0.0),
    # Yan (2019): beta_1 (on f_n) ~ U(1, 1.1); with three steps beta_2 (on f_{n-1}) ~ U(-1, -0.9)
    ("adams2_learnable", "b1"): ("uniform", 1.0, 1.1),
    ("adams3_learnable", "b1"): ("uniform", 1.0, 1.1),
    ("adams3_learnable", "b2"): ("uniform", -1.0, -0.9),
}
"""Default inits by (scheme name, symbol name); any other free symbol needs an explicit init."""

_SPEC = re.compile(r"^\s*(uniform|normal|constant)\s*\(([^()]*)\)\s*$")


def initializer(spec, name: str = "coefficient"):
    """A function filling a tensor in place, from an init spec.

    Specs: a number (constant); ``("uniform", a, b)`` or ``"uniform(a, b)"`` for U[a, b);
    ``("normal", mean, std)`` or ``"normal(mean, std)"``; ``("constant", c)``; or a
    callable ``fn(tensor)`` that fills the tensor in place (``torch.nn.init.*_`` style) or
    returns a tensor of the same shape.

    >>> t = torch.empty(3)
    >>> initializer("constant(0.5)")(t); t.tolist()
    [0.5, 0.5, 0.5]
    >>> initializer(("uniform", 2, 1), "k")
    Traceback (most recent call last):
    ...
    ValueError: init of k: uniform needs a < b, got (2, 1)
    >>> initializer(float("nan"), "k")
    Traceback (most recent call last):
    ...
    ValueError: init of k: constant needs finite numbers, got (nan,)
    """
    if callable(spec):
        def init(t):
            with torch.no_grad():
                out = spec(t)
                if isinstance(out, torch.Tensor) and out is not t:
                    if out.shape != t.shape:
                        raise ValueError(f"init of {name} returned shape {tuple(out.shape)}, expected {tuple(t.shape)}")
                    t.copy_(out)
        return init
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        spec = ("constant", float(spec))
    if isinstance(spec, str):
        m = _SPEC.match(spec)
        if not m:
            raise ValueError(
                f"init of {name}: cannot parse {spec!r}; use 'uniform(a, b)', 'normal(mean, std)', "
                f"'constant(c)', a number, a tuple or a callable"
            )
        try:
            args = [float(a) for a in m.group(2).split(",") if a.strip()]
        except ValueError:
            raise ValueError(f"init of {name}: bad numbers in {spec!r}") from None
        spec = (m.group(1), *args)
    if not isinstance(spec, tuple) or not spec or spec[0] not in ("uniform", "normal", "constant"):
        raise ValueError(
            f"init of {name} must be a number, ('uniform', a, b), ('normal', mean, std), ('constant', c), "
            f"a spec string or a callable, got {spec!r}"
        )
    kind, args = spec[0], tuple(float(a) for a in spec[1:])
    need = {"uniform": 2, "normal": 2, "constant": 1}[kind]
    if len(args) != need:
        raise ValueError(f"init of {name}: {kind} takes {need} numbers, got {args}")
    if not all(math.isfinite(a) for a in args):
        raise ValueError(f"init of {name}: {kind} needs finite numbers, got {args}")
    if kind == "uniform" and not args[0] < args[1]:
        raise ValueError(f"init of {name}: uniform needs a < b, got {spec[1:]}")
    if kind == "normal" and not args[1] >= 0:
        raise ValueError(f"init of {name}: normal needs std >= 0, got {args[1]}")

    def init(t):
        with torch.no_grad():
            if kind == "uniform":
                t.uniform_(*args)
            elif kind == "normal":
                t.normal_(*args)
            else:
                t.fill_(args[0])

    return init


def resolve_inits(scheme, init) -> dict:
    """Map each free symbol name of ``scheme`` to an init function.

    ``init`` is None, one spec for every symbol, or a dict name → spec; symbols without a
    spec take :data:`DEFAULT_INITS` for this scheme, else a ``ValueError`` says what to pass.

    >>> from numnet.schemes import get
    >>> sorted(resolve_inits(get("adams3_learnable"), None))
    ['b1', 'b2']
    >>> resolve_inits(get("rk2_family"), {"a21": 1.0})
    Traceback (most recent call last):
    ...
    ValueError: scheme rk2_family has free symbols ['b1', 'b2'] with no default init; pass init={'b1': ..., 'b2': ...} (a number, ('uniform', a, b), ... or a callable) or fix them with scheme.subs(...)
    """
    names = sorted(s.name for s in scheme.free_symbols)
    if isinstance(init, dict):
        extra = sorted(set(init) - set(names))
        if extra:
            raise ValueError(f"init names {extra} are not free symbols of {scheme.name}; its free symbols are {names or 'none'}")
        given = dict(init)
    elif init is None:
        given = {}
    else:
        given = {n: init for n in names}
    out, missing = {}, []
    for n in names:
        spec = given.get(n, DEFAULT_INITS.get((scheme.family, n)))
        if spec is None:
            missing.append(n)
        else:
            out[n] = initializer(spec, n)
    if missing:
        hint = ", ".join(f"{n!r}: ..." for n in missing)
        raise ValueError(
            f"scheme {scheme.name} has free symbols {missing} with no default init; pass init={{{hint}}} "
            f"(a number, ('uniform', a, b), ... or a callable) or fix them with scheme.subs(...)"
        )
    return out


# -- weight decay of learnable coefficients ------------------------------------------
from .names import COEFFICIENT_DECAY  # noqa: E402  (torch-free, read by the recipe too)

OFFICIAL_DECAY_CENTERS = {
    # Lu et al. (2018), MResNet.py: `self.ks = ... uniform_(1.0, 1.1)` and
    # `x = b(x) + ks[i]*residual + (1 - ks[i])*last_residual`: the parameter is 1 - k, and
    # SGD's weight decay pulls it to 0, i.e. k -> 1 (u_{n+1} = u_{n-1} + F(u_n), leapfrog-like).
    ("lm_resnet", "k"): 1,
}
"""The value weight decay pulls a coefficient to under ``"official"``, by (scheme, symbol).
Absent: the coefficient is stored as itself (decayed toward 0). Yan (2019) published no
code for the learnable Adams nets; numnet reads them as storing β itself."""


def highest_order_values(scheme) -> dict:
    """The free-symbol values that give an LMM family its highest order (solved exactly
    from its order conditions C_0 = … = C_p = 0), as symbol name → sympy number.

    >>> from numnet.schemes import get
    >>> highest_order_values(get("lm_resnet")), highest_order_values(get("adams3_learnable"))
    ({'k': 0}, {'b1': 23/12, 'b2': -4/3})
    """
    symbols = sorted(scheme.free_symbols, key=lambda s: s.name)
    if getattr(scheme, "kind", None) != "LMM":
        raise ValueError(f"toward-scheme decay needs an LMM family; {scheme.name} is {getattr(scheme, 'kind', '?')}")
    best = None
    for p in range(1, 2 * len(scheme.alpha) + 1):
        eqs = [e for e in scheme.order_conditions(p) if e is not sp.true]
        if any(e is sp.false for e in eqs):
            break
        sols = sp.solve(eqs, symbols, dict=True) if eqs else []
        if len(sols) != 1 or set(sols[0]) != set(symbols):
            if best is not None:
                break
            continue
        best = sols[0]
    if best is None:
        raise ValueError(f"scheme {scheme.name}: no unique values of {[s.name for s in symbols]} maximise its order; "
                         f"choose coefficient_decay 'official', 'none' or 'zero'")
    return {s.name: best[s] for s in symbols}


def decay_centers(scheme, mode: str) -> dict:
    """Per free symbol of ``scheme``, the value weight decay pulls it toward under ``mode``
    (one of :data:`COEFFICIENT_DECAY`), or None for no decay.

    >>> from numnet.schemes import get
    >>> [decay_centers(get("lm_resnet"), m) for m in COEFFICIENT_DECAY]
    [{'k': 1}, {'k': None}, {'k': 0}, {'k': 0}]
    >>> decay_centers(get("adams2_learnable"), "toward-scheme")
    {'b1': 3/2}
    """
    if mode not in COEFFICIENT_DECAY:
        raise ValueError(f"coefficient_decay must be one of {COEFFICIENT_DECAY}, got {mode!r}")
    names = sorted(s.name for s in scheme.free_symbols)
    if mode == "toward-scheme":
        return highest_order_values(scheme)
    if mode == "none":
        return {n: None for n in names}
    if mode == "zero":
        return {n: sp.Integer(0) for n in names}
    return {n: sp.Integer(OFFICIAL_DECAY_CENTERS.get((scheme.family, n), 0)) for n in names}
