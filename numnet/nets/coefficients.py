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

import functools
import math
import numbers
import re

import sympy as sp
import torch

ONE = "one"
ZERO = "zero"
CONSTANT = "constant"
SYMBOLIC = "symbolic"


def exact_number(x, what: str) -> sp.Expr:
    """``x`` as an exact sympy number: floats become the exact dyadic rational they store.

    A float32/float64 value *is* a rational number; keeping it exact lets the schemes
    layer decide stability questions exactly for a learned coefficient.

    >>> exact_number(0.5, "h"), exact_number("1/10", "h")
    (1/2, 1/10)
    """
    if isinstance(x, bool):
        raise TypeError(f"{what} must be a number, got {x!r}")
    if isinstance(x, sp.Basic):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"{what} must be finite, got {x!r}")
        return sp.Rational(x)
    if isinstance(x, numbers.Rational):
        return sp.Rational(int(x.numerator), int(x.denominator))
    if isinstance(x, str):
        try:
            return sp.Rational(x)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a number or a fraction string like '1/10', got {x!r}") from None
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        return exact_number(float(x), what)
    raise TypeError(f"{what} must be a number, got {x!r} ({type(x).__name__})")


@functools.lru_cache(maxsize=4096)
def _is(expr: sp.Expr, value: int) -> bool:
    """Whether a number without free symbols equals ``value`` exactly (a 30-digit
    evaluation settles every clear case; only near-ties go to ``simplify``)."""
    if expr.free_symbols:
        return False
    if abs(complex(expr.evalf(30)) - value) > 1e-20:
        return False
    return sp.simplify(expr - value) == 0


class Coefficients:
    """A list of coefficient expressions compiled for torch.

    Each slot is classified once: ``"zero"`` (exactly 0: the term is dropped),
    ``"one"`` (exactly 1: added without a multiply), ``"constant"`` (a Python float),
    or ``"symbolic"`` (evaluated from the free-symbol values with a lambdified torch
    function, so it is differentiable in them). ``values(params)`` returns one entry per
    slot: the float, 1.0, 0.0, or a 0-dim tensor.
    """

    def __init__(self, exprs, symbols=()):
        self.exprs = tuple(sp.sympify(e) for e in exprs)
        self.symbols = tuple(symbols)
        unknown = set().union(*(e.free_symbols for e in self.exprs)) - set(self.symbols) if self.exprs else set()
        if unknown:
            raise ValueError(f"coefficients use symbols {sorted(s.name for s in unknown)} not in {list(self.symbols)}")
        kinds, consts, sym_slots = [], [], []
        for i, e in enumerate(self.exprs):
            if e.free_symbols:
                kinds.append(SYMBOLIC)
                consts.append(None)
                sym_slots.append(i)
            elif _is(e, 0):
                kinds.append(ZERO)
                consts.append(0.0)
            elif _is(e, 1):
                kinds.append(ONE)
                consts.append(1.0)
            else:
                kinds.append(CONSTANT)
                consts.append(float(e))
        self.kinds = tuple(kinds)
        self._consts = consts
        self._sym_slots = tuple(sym_slots)
        self._fn = (
            sp.lambdify(self.symbols, [self.exprs[i].evalf(20) for i in sym_slots], modules="torch")
            if sym_slots else None
        )

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
        for i, v in zip(self._sym_slots, self._fn(*params)):
            out[i] = v
        return out


# -- inits of learnable coefficients -------------------------------------------------
def _uniform_left_open(lo: float, hi: float):
    """Fill with samples of U(lo, hi], i.e. hi − (hi − lo)·U[0, 1)."""

    def init(t: torch.Tensor) -> None:
        with torch.no_grad():
            t.uniform_(0.0, 1.0).mul_(lo - hi).add_(hi)

    init.__name__ = f"uniform({lo}, {hi}]"
    return init


DEFAULT_INITS = {
    # Lu et al. (2018), reference code: k_n ~ U(-0.1, 0]
    ("lm_resnet", "k"): _uniform_left_open(-0.1, 0.0),
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
        spec = given.get(n, DEFAULT_INITS.get((scheme.name, n)))
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
