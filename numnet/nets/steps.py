"""One step of a scheme on tensors: the rules a stage of residual blocks runs.

A *history* is a list of entries ``[state, f]``, oldest first: the last states u_j and,
where evaluated, f_j = F_j(u_j) (``None`` when not evaluated). A rule advances it by
one step of its scheme and appends the new state:

- :class:`LMMRule` — u_{n+s} = Σ_{j<s} c_j u_{n+j} + Σ_{j<s} d_j f_{n+j} with
  c_j = −α_j and d_j = h β_j; implicit ones (β_s ≠ 0) then run a fixed number of
  fixed-point iterations u ← rhs + h β_s F(u) from the predictor u = u_{n+s−1}.
- :class:`RKRule` — stage values K_i = F_i(u_n + h Σ_j a_ij K_j), then
  u_{n+1} = u_n + h Σ_i b_i K_i; stages are swept in order with the newest values
  (one sweep is the explicit method exactly; implicit tableaus take ``iterations`` sweeps).

Both read the scheme's step plan (:func:`numnet.schemes.plan.plan_of`: the slots, their
kinds, the term layout, the lerp pair, whether the oldest state can be solved back),
the same plan the solver steppers read; :class:`~numnet.nets.coefficients.Coefficients`
turns its slots into torch values, and :func:`numnet._combine.combine` (the kernel the
solvers use too) forms every linear combination. The step is a plain function of the
history, the vector fields and the coefficient values, so an inverse (reversible nets)
can mirror it: :meth:`LMMRule.solve_oldest` recovers the oldest state.

>>> import torch
>>> from numnet.schemes import get
>>> ab2 = LMMRule(get("ab2"))
>>> hist = [[torch.tensor([1.0]), torch.tensor([-2.0])], [torch.tensor([3.0]), None]]
>>> ab2.advance(hist, [lambda u: 2 * u], ab2.values())  # 3 + 1.5*6 - 0.5*(-2)
>>> hist[-1][0]
tensor([13.])
"""

from __future__ import annotations

import torch

from numnet._combine import DROPPED, combine
from numnet.schemes.plan import plan_of

from .coefficients import ONE, SYMBOLIC, Coefficients, exact_number


class _Rule:
    """What LMM and RK rules share: the scheme, the step size h, compiled coefficients."""

    kind = None
    steps = 1

    def __init__(self, scheme, h=1, iterations: int = 2):
        if getattr(scheme, "kind", None) != self.kind:
            raise TypeError(f"{type(self).__name__} needs a {self.kind} scheme, got {scheme!r}")
        if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
            raise ValueError(f"iterations (fixed-point sweeps of an implicit scheme) must be an integer >= 1, got {iterations!r}")
        h = exact_number(h, "h")
        if h.free_symbols or not h > 0:
            raise ValueError(f"step size h must be a positive number, got {h}")
        self.scheme = scheme
        self.h = h
        self.iterations = iterations
        self.plan = plan_of(scheme)
        self.symbols = self.plan.symbols
        self.coefficients = Coefficients.from_slots(self.plan.step_slots(h))

    @property
    def symbol_names(self) -> tuple:
        return tuple(s.name for s in self.symbols)

    @property
    def learnable(self) -> bool:
        return bool(self.symbols)

    def values(self, params=None) -> list:
        """Coefficient values for one step (``params``: one 0-dim tensor per free symbol)."""
        return self.coefficients.values(params)

    def concrete(self, values: dict):
        """The scheme with free symbols replaced by ``values`` (name → number), exactly."""
        if not self.symbols:
            return self.scheme
        return self.scheme.subs({n: exact_number(v, n) for n, v in values.items()})


class LMMRule(_Rule):
    """An explicit or implicit linear multistep step on a history of ``steps`` entries.

    The newest f-value f_{n+s−1} = F(u_{n+s−1}) is evaluated by this step's field (the
    block of step n+s−1 is the vector field at its own state); older ones come from the
    history. A history shorter than ``steps`` cannot take this step (see :meth:`ready`);
    a stage then takes plain Euler steps until it can.
    """

    kind = "LMM"

    def __init__(self, scheme, h=1, iterations: int = 2):
        super().__init__(scheme, h, iterations)
        p = self.plan  # slots: c_j = -alpha_j (j < s), then d_j = h beta_j (j <= s)
        s = self.steps = p.steps
        self.state_terms, self.f_terms, self.implicit = p.state_terms, p.f_terms, p.implicit
        self.uses_state = tuple(j in p.state_terms for j in range(s))
        self.uses_f = tuple(j in p.f_terms for j in range(s))
        self.evaluates_newest = p.evaluates_newest
        """Whether each step evaluates F at its newest state (some f-value is used)."""

    @property
    def is_reversible(self) -> bool:
        """Explicit, c_0 = −α_0 not identically zero and β_0 = 0: the oldest state can be
        solved back from the newer ones (:meth:`solve_oldest`).

        >>> from numnet.schemes import get
        >>> LMMRule(get("lm_resnet")).is_reversible, LMMRule(get("ab2")).is_reversible
        (True, False)
        """
        return self.plan.solvable_oldest

    def ready(self, history) -> bool:
        return len(history) >= self.steps

    def advance(self, history, fields, values) -> None:
        """Take one step: evaluate f at the newest state if needed, append the new state."""
        field = fields[0] if fields else None
        newest = history[-1]
        if self.evaluates_newest and newest[1] is None:
            newest[1] = field(newest[0])
        window = history[-self.steps:]
        u = combine(self.plan.terms(values, [e[0] for e in window], [e[1] for e in window]), self.plan.lerp_terms)
        if self.implicit:  # u <- rhs + h beta_s F(u), from the predictor u = u_{n+s-1}
            d, rhs, f = values[self.plan.f_slot(self.steps)], u, newest[1]
            for it in range(self.iterations):
                u = combine([(1.0, rhs), (d, f)])
                if it + 1 < self.iterations:
                    f = field(u)
        history.append([u, None])

    def trim(self, history) -> None:
        """Keep only what the next steps of this rule read: the last ``steps`` entries,
        and in each only a state/f-value some later step uses."""
        del history[: max(0, len(history) - self.steps)]
        for j, entry in enumerate(history):
            if not any(self.uses_state[: j + 1]) and j < len(history) - 1:
                entry[0] = None
            if not any(self.uses_f[: j + 1]):
                entry[1] = None

    def solve_oldest(self, newer, new, values):
        """Invert a step: u_n from u_{n+s} = ``new`` and the entries ``newer`` = [u_j, f_j]
        for j = n+1 … n+s−1 (reversible rules only).

        >>> from numnet.schemes import get
        >>> lm = LMMRule(get("lm_resnet")); v = lm.values([torch.tensor(-0.5)])
        >>> hist = [[torch.tensor([2.0]), None], [torch.tensor([3.0]), None]]
        >>> lm.advance(hist, [torch.sin], v)
        >>> lm.solve_oldest(hist[1:2], hist[2][0], v)
        tensor([2.])
        """
        window = [[None, None]] + list(newer)
        terms, c0 = self.plan.oldest_terms(values, [e[0] for e in window], [e[1] for e in window], new)
        acc = combine(terms)
        return acc / (c0.to(acc.dtype) if isinstance(c0, torch.Tensor) else c0)


class RKRule(_Rule):
    """A Runge–Kutta step; ``fields`` gives one vector field per stage, or one shared by all.

    Stage values are computed in stage order, each from the newest values of the others
    (Gauss–Seidel). An explicit tableau needs one sweep and gives the method exactly; an
    implicit one takes ``iterations`` sweeps, starting from K = 0 (so the first sweep of
    backward Euler evaluates F(u_n), the second F(u_n + h F(u_n))).
    """

    kind = "RK"

    def __init__(self, scheme, h=1, iterations: int = 2):
        super().__init__(scheme, h, iterations)  # slots: h a_ij row by row, then h b_i
        self.stages, self.implicit = self.plan.stages, self.plan.implicit

    def ready(self, history) -> bool:
        return len(history) >= 1

    def advance(self, history, fields, values) -> None:
        s = self.stages
        u = history[-1][0]
        K = [None] * s
        for _ in range(self.iterations if self.implicit else 1):
            for i in range(s):
                K[i] = fields[i % len(fields)](combine(self.plan.stage_terms(i, values, u, K)))
        history.append([combine(self.plan.update_terms(values, u, K)), None])

    def trim(self, history) -> None:
        del history[:-1]
        history[0][1] = None


def rule_for(scheme, h=1, iterations: int = 2):
    """The rule that runs ``scheme``: :class:`LMMRule` or :class:`RKRule`.

    >>> from numnet.schemes import get
    >>> type(rule_for(get("rk4"))).__name__, rule_for(get("lm_resnet")).symbol_names
    ('RKRule', ('k',))
    """
    kind = getattr(scheme, "kind", None)
    if kind == "LMM":
        return LMMRule(scheme, h, iterations)
    if kind == "RK":
        return RKRule(scheme, h, iterations)
    raise TypeError(f"expected a numnet scheme (LinearMultistep or RungeKutta), got {scheme!r}")


__all__ = ["DROPPED", "combine", "LMMRule", "RKRule", "rule_for", "ONE", "SYMBOLIC"]
