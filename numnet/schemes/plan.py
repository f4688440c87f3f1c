"""The step plan of a scheme: everything an executor of one step reads, compiled once.

A solver stepper, a net stage and a reversible block all run "one step of the scheme".
What they need to know about the coefficients is derived here, once per scheme, from its
exact sympy entries, and nowhere else:

- per coefficient *slot* its exact expression and its kind: ``"zero"`` (the term is
  dropped), ``"one"`` (added without a multiply), ``"constant"`` (a number) or
  ``"symbolic"`` (depends on free symbols: a learnable coefficient);
- the term layout: which states and f-values (LMM) or which stage values (RK) a step
  touches;
- FSAL (the last RK stage is f at the new state), the *lerp pair* (two LMM states whose
  coefficients sum to one, fused into one ``lerp``), the implicit flag, and whether the
  oldest LMM state can be solved back from the newer ones (reversible networks).

Numbers come from the slots: :meth:`Slots.floats` for solvers (each value rounded once
from 30 digits), :meth:`Slots.function` a ``sympy.lambdify`` of the symbolic slots with
the caller's ``modules`` (the nets layer asks for ``"torch"``; this module never imports
torch).

>>> from numnet.schemes import get
>>> p = plan_of(get("lm_resnet"))
>>> p.slots.kinds, p.state_terms, p.f_terms, p.lerp, p.solvable_oldest
(('symbolic', 'symbolic', 'zero', 'one', 'zero'), (0, 1), (1,), (1, 0), True)
>>> p.slots.floats({"k": -0.5})  # c_0 = k, c_1 = 1 - k, beta = (0, 1, 0)
[-0.5, 1.5, 0.0, 1.0, 0.0]
>>> q = plan_of(get("rk4"))
>>> q.rows, q.weights, q.fsal
(((), (0,), (1,), (2,)), (0, 1, 2, 3), False)
"""

from __future__ import annotations

import functools

import sympy as sp

from ._exact import coefficient

ZERO = "zero"
ONE = "one"
CONSTANT = "constant"
SYMBOLIC = "symbolic"
KINDS = (ZERO, ONE, CONSTANT, SYMBOLIC)


@functools.lru_cache(maxsize=4096)
def _is(expr: sp.Expr, value: int) -> bool:
    """Whether a number without free symbols equals ``value`` exactly (a 30-digit
    evaluation settles every clear case; only near-ties go to ``simplify``)."""
    if expr.free_symbols:
        return False
    if abs(complex(expr.evalf(30)) - value) > 1e-20:
        return False
    return sp.simplify(expr - value) == 0


def _float(expr: sp.Expr) -> float:
    """The exact value rounded once to float64 (from 30 digits)."""
    return float(sp.N(expr, 30))


class Slots:
    """An ordered list of exact coefficient expressions, each classified once.

    ``symbols``: the free symbols the expressions may use, in the order their values are
    passed (default: every free symbol, sorted by name); ``name`` (the scheme's) goes into
    error messages.

    >>> k = sp.Symbol("k")
    >>> s = Slots([-k, k - 1, sp.Integer(1), sp.Rational(3, 2), sp.Integer(0)])
    >>> s.kinds, s.nonzero
    (('symbolic', 'symbolic', 'one', 'constant', 'zero'), (0, 1, 2, 3))
    >>> s.floats({"k": 0.25})
    [-0.25, -0.75, 1.0, 1.5, 0.0]
    >>> s.function("math")(0.25)
    [-0.25, -0.75]
    """

    def __init__(self, exprs, symbols=None, name: str = "coefficients"):
        self.name = name
        self._functions = {}
        self.exprs = tuple(sp.sympify(e) for e in exprs)
        used = set().union(*(e.free_symbols for e in self.exprs)) if self.exprs else set()
        if symbols is None:
            symbols = sorted(used, key=lambda s: s.name)
        self.symbols = tuple(symbols)
        unknown = used - set(self.symbols)
        if unknown:
            raise ValueError(f"{name} use symbols {sorted(s.name for s in unknown)} not in {list(self.symbols)}")
        kinds, consts = [], []
        for e in self.exprs:
            if e.free_symbols:
                kinds.append(SYMBOLIC)
                consts.append(None)
            elif _is(e, 0):
                kinds.append(ZERO)
                consts.append(0.0)
            elif _is(e, 1):
                kinds.append(ONE)
                consts.append(1.0)
            else:
                kinds.append(CONSTANT)
                consts.append(_float(e))
        self.kinds = tuple(kinds)
        self.constants = tuple(consts)
        """Per slot its float (0.0, 1.0 or the rounded constant); None for a symbolic slot."""
        self.symbolic = tuple(i for i, k in enumerate(kinds) if k == SYMBOLIC)
        self.nonzero = tuple(i for i, k in enumerate(kinds) if k != ZERO)
        """Slots that can be non-zero (a symbolic slot counts as non-zero)."""

    def __len__(self) -> int:
        return len(self.exprs)

    @property
    def symbol_names(self) -> tuple:
        return tuple(s.name for s in self.symbols)

    def floats(self, values=None) -> list:
        """Every slot as a float64, symbols replaced by ``values`` (name → number) exactly
        before the one rounding; a missing value is an error naming it."""
        if not self.symbolic:
            return list(self.constants)
        values = dict(values or {})
        missing = [n for n in self.symbol_names if n not in values]
        if missing:
            raise ValueError(f"{self.name} depend on symbols {missing}; give their values")
        mapping = {s: coefficient(values[s.name], s.name) for s in self.symbols}
        out = list(self.constants)
        for i in self.symbolic:
            out[i] = _float(self.exprs[i].subs(mapping))
        return out

    def function(self, modules="numpy"):
        """``fn(*symbol_values) -> [value of each symbolic slot]``: a ``sympy.lambdify``
        of the symbolic slots (evaluated to 20 digits first) with ``modules`` — "torch"
        makes it differentiable in tensor arguments. None when no slot is symbolic.
        Compiled once per ``modules``."""
        if not self.symbolic:
            return None
        if modules not in self._functions:
            exprs = [self.exprs[i].evalf(20) for i in self.symbolic]
            self._functions[modules] = sp.lambdify(self.symbols, exprs, modules=modules)
        return self._functions[modules]

    def scaled(self, factor, slots) -> "Slots":
        """These slots with the given slot indices multiplied by the exact ``factor``."""
        slots = set(slots)
        return Slots([factor * e if i in slots else e for i, e in enumerate(self.exprs)], self.symbols, self.name)


class StepPlan:
    """What LMM and RK plans share: the scheme's name, free symbols and its slots."""

    kind = None
    implicit: bool

    def __init__(self, scheme, slots: Slots):
        self.name = scheme.name
        self.slots = slots
        self.symbols = slots.symbols
        self._step_slots_by_h = {}

    @property
    def symbol_names(self) -> tuple:
        return self.slots.symbol_names

    def floats(self, **values) -> list:
        """Every slot as a float64 (see :meth:`Slots.floats`)."""
        return self.slots.floats(values)

    def step_slots(self, h=1) -> Slots:
        """The slots a step of size ``h`` multiplies, f-coefficients scaled by h exactly
        (LMM: c_j, then h^q β_j; RK: h a_ij, then h b_i); compiled once per h."""
        h = sp.sympify(h)
        if h not in self._step_slots_by_h:
            self._step_slots_by_h[h] = self._step_slots(h)
        return self._step_slots_by_h[h]


class LMMPlan(StepPlan):
    """The plan of Σ α_j y_{n+j} = h^q Σ β_j f_{n+j} (q = 1: first-order LMM; q = 2: a
    second-order multistep scheme for y'' = g(y)).

    Slots, oldest first: c_j = −α_j for j < s, then β_j for j ≤ s. A step is
    y_{n+s} = Σ_{j∈state_terms} c_j y_{n+j} + h^q Σ_{j∈f_terms} β_j f_{n+j} (+ h^q β_s f_{n+s}
    when ``implicit``).

    >>> from numnet.schemes import get
    >>> p = plan_of(get("ab2"))
    >>> p.state_terms, p.f_terms, p.implicit, p.lerp, p.solvable_oldest
    ((1,), (0, 1), False, None, False)
    >>> plan_of(get("am1")).implicit, plan_of(get("leapfrog")).solvable_oldest
    (True, True)
    """

    kind = "LMM"

    def __init__(self, scheme, power: int = 1):
        s = scheme.steps
        super().__init__(scheme, Slots([-a for a in scheme.alpha[:-1]] + list(scheme.beta), name=f"coefficients of {scheme.name}"))
        self.steps, self.power = s, power
        kinds = self.slots.kinds
        self.state_terms = tuple(j for j in range(s) if kinds[j] != ZERO)
        self.f_terms = tuple(j for j in range(s) if kinds[s + j] != ZERO)
        self.implicit = kinds[2 * s] != ZERO
        """β_s can be non-zero (a symbolic β_s counts as implicit)."""
        self.lerp = None
        """(newer, older) state indices when exactly two states are used and their
        coefficients sum to one (ρ(1) = 0): the step starts from the newer state and moves
        towards the older with the older one's coefficient as weight."""
        if len(self.state_terms) == 2:
            a, b = (self.slots.exprs[j] for j in self.state_terms)
            if sp.simplify(a + b - 1) == 0:
                self.lerp = (self.state_terms[1], self.state_terms[0])
        self.lerp_terms = None if self.lerp is None else tuple(self.state_terms.index(j) for j in self.lerp)
        """The lerp pair as positions in the list of :meth:`terms` (for ``combine``)."""
        self.solvable_oldest = not self.implicit and kinds[0] != ZERO and kinds[s] == ZERO
        """Explicit, c_0 = −α_0 not identically zero and β_0 = 0: y_n is solved back from
        y_{n+1} … y_{n+s} (and their f-values) — the inverse of a reversible block."""

    @property
    def evaluates_newest(self) -> bool:
        """Whether a step evaluates f at its newest known state (some f-value is used)."""
        return bool(self.f_terms) or self.implicit

    def state_slot(self, j: int) -> int:
        return j

    def f_slot(self, j: int) -> int:
        """Slot of β_j (j = s: the implicit coefficient)."""
        return self.steps + j

    def _step_slots(self, h):
        s = self.steps
        return self.slots.scaled(h**self.power, range(s, 2 * s + 1))

    # -- the step and its inverse as term lists (any array type; combined by the caller) --
    def terms(self, values, states, fs, scale=None) -> list:
        """The explicit part of a step as ``[(coefficient, array)]``:
        Σ_{j∈state_terms} c_j y_j + Σ_{j∈f_terms} d_j f_j, with ``values`` one entry per
        slot (floats or tensors), ``states``/``fs`` the last s states and f-values (oldest
        first) and the f-coefficients multiplied by ``scale`` (e.g. h) unless it is None.

        >>> from numnet.schemes import get
        >>> p = plan_of(get("ab2"))
        >>> p.terms(p.floats(), ["y0", "y1"], ["f0", "f1"], scale=0.5)
        [(1.0, 'y1'), (-0.25, 'f0'), (0.75, 'f1')]
        """
        s = self.steps
        out = [(values[j], states[j]) for j in self.state_terms]
        if scale is None:
            return out + [(values[s + j], fs[j]) for j in self.f_terms]
        return out + [(scale * values[s + j], fs[j]) for j in self.f_terms]

    def oldest_terms(self, values, states, fs, new, scale=None) -> tuple:
        """The inverse of an explicit step (``solvable_oldest`` plans only):
        ``(terms, c_0)`` with y_0 = Σ terms / c_0, from the new state ``new`` = y_s and
        the entries j = 1 … s−1 of ``states``/``fs`` (entry 0 is not read). Coefficients
        are negated values, so a tensor value stays a differentiable tensor.

        >>> from numnet.schemes import get
        >>> p = plan_of(get("leapfrog"))  # y_2 = y_0 + 2h f_1
        >>> p.oldest_terms(p.floats(), [None, "y1"], [None, "f1"], "y2", scale=0.1)
        ([(1.0, 'y2'), (-0.2, 'f1')], 1.0)
        """
        if not self.solvable_oldest:
            raise ValueError(f"{self.name} is not reversible: it needs alpha_0 != 0, beta_0 = 0 and an explicit step")
        s = self.steps
        out = [(1.0, new)] + [(-values[j], states[j]) for j in self.state_terms if j]
        if scale is None:
            out += [(-values[s + j], fs[j]) for j in self.f_terms if j]
        else:
            out += [(-(scale * values[s + j]), fs[j]) for j in self.f_terms if j]
        return out, values[0]


class RKPlan(StepPlan):
    """The plan of a Butcher tableau. Slots: a_ij row by row, then b_i, c_i and b̂_i.

    ``rows[i]``: the j with a_ij ≠ 0 (every j < i for an explicit tableau); ``weights``:
    the i with b_i ≠ 0; ``error_weights``: the i with b_i − b̂_i ≠ 0 (pairs only);
    ``fsal``: explicit, c_s = 1 and the last row of A is b, so the last stage is
    f(t + h, y_{n+1}).

    >>> from numnet.schemes import get
    >>> p = plan_of(get("dormand_prince"))
    >>> p.fsal, p.error_weights, p.implicit
    (True, (0, 2, 3, 4, 5, 6), False)
    """

    kind = "RK"

    def __init__(self, scheme):
        m = self.stages = scheme.stages
        b_hat = scheme.b_hat
        exprs = list(scheme.A) + list(scheme.b) + list(scheme.c) + list(b_hat or ())
        super().__init__(scheme, Slots(exprs, name=f"coefficients of {scheme.name}"))
        kinds = self.slots.kinds
        self.implicit = not scheme.is_explicit
        self.rows = tuple(tuple(j for j in range(m) if kinds[i * m + j] != ZERO) for i in range(m))
        self.weights = tuple(i for i in range(m) if kinds[m * m + i] != ZERO)
        self.has_embedded = b_hat is not None
        self.error_weights = None
        if b_hat is not None:
            diff = Slots([b - bh for b, bh in zip(scheme.b, b_hat)], self.symbols, self.slots.name)
            self.error_weights = tuple(i for i in range(m) if diff.kinds[i] != ZERO)
        self.fsal = (not self.implicit and _is(sp.sympify(scheme.c[-1]), 1)
                     and all(sp.simplify(scheme.A[m - 1, j] - scheme.b[j]) == 0 for j in range(m)))

    def a_slot(self, i: int, j: int) -> int:
        return i * self.stages + j

    def b_slot(self, i: int) -> int:
        return self.stages * self.stages + i

    def arrays(self, **values) -> dict:
        """A, b, c (and b_hat) as float64 numpy arrays."""
        import numpy as np

        v, m = self.floats(**values), self.stages
        out = {"A": np.array(v[: m * m], dtype=np.float64).reshape(m, m),
               "b": np.array(v[m * m: m * m + m], dtype=np.float64),
               "c": np.array(v[m * m + m: m * m + 2 * m], dtype=np.float64)}
        out["b_hat"] = np.array(v[m * m + 2 * m:], dtype=np.float64) if self.has_embedded else None
        return out

    def _step_slots(self, h):  # h a_ij, h b_i (the nodes c and b_hat are not multiplied in a step)
        m = self.stages
        return Slots([h * e for e in self.slots.exprs[: m * m + m]], self.symbols, self.slots.name)

    # -- stages and update as term lists (any array type; combined by the caller) ----------
    def stage_terms(self, i, values, y, K, scale=None) -> list:
        """The argument of stage i as ``[(coefficient, array)]``: y + Σ_j a_ij K_j over the
        non-zero a_ij whose K_j is known (not None), coefficients times ``scale``."""
        m = self.stages
        if scale is None:
            return [(1.0, y)] + [(values[i * m + j], K[j]) for j in self.rows[i] if K[j] is not None]
        return [(1.0, y)] + [(scale * values[i * m + j], K[j]) for j in self.rows[i] if K[j] is not None]

    def update_terms(self, values, y, K, scale=None) -> list:
        """y_{n+1} = y + Σ_i b_i K_i as ``[(coefficient, array)]`` (coefficients times ``scale``).

        >>> from numnet.schemes import get
        >>> p = plan_of(get("heun"))
        >>> p.update_terms(p.floats(), "y", ["k1", "k2"], scale=2.0)
        [(1.0, 'y'), (1.0, 'k1'), (1.0, 'k2')]
        """
        m2 = self.stages * self.stages
        if scale is None:
            return [(1.0, y)] + [(values[m2 + i], K[i]) for i in self.weights]
        return [(1.0, y)] + [(scale * values[m2 + i], K[i]) for i in self.weights]


class _ByKey:
    """A scheme hashed and compared by its kind, name and coefficients (schemes
    themselves compare by coefficients only; the plan carries the name for its messages),
    so equal schemes of one name share one cached plan."""

    __slots__ = ("key", "scheme")

    def __init__(self, scheme):
        self.key = (type(scheme).__name__, scheme.name, getattr(scheme, "stages", None),
                    getattr(scheme, "b_hat", None) is not None, tuple(scheme._coefficients()))
        self.scheme = scheme

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, _ByKey) and other.key == self.key


@functools.lru_cache(maxsize=512)
def _compile(wrapped: _ByKey) -> StepPlan:
    scheme = wrapped.scheme
    if scheme.kind == "RK":
        return RKPlan(scheme)
    return LMMPlan(scheme, 2 if scheme.kind == "LMM2" else 1)


def plan_of(scheme) -> StepPlan:
    """The step plan of ``scheme``, compiled once per set of coefficients (two scheme
    objects with the same name and coefficients share one plan).

    >>> from numnet.schemes import get
    >>> plan_of(get("rk4")) is plan_of(get("rk4"))
    True
    >>> plan_of("rk4")
    Traceback (most recent call last):
    ...
    TypeError: expected a numnet scheme (LinearMultistep, RungeKutta or SecondOrderMultistep), got 'rk4'
    """
    if getattr(scheme, "kind", None) not in ("RK", "LMM", "LMM2"):
        raise TypeError(f"expected a numnet scheme (LinearMultistep, RungeKutta or SecondOrderMultistep), got {scheme!r}")
    return _compile(_ByKey(scheme))
