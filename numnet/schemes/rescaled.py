"""A multistep step read as a method for c·u' = f: what LM-ResNet's step is consistent with.

A step Σ α_j u_{n+j} = h Σ β_j f_{n+j} with ρ(1) = 0 but ρ'(1) ≠ σ(1) is not consistent
with u' = f (its order there is 0), but it is consistent with c·u' = f for
c = ρ'(1)/σ(1): with f = c·g it is the method (α, c·β) for u' = g. LM-ResNet's step
u_{n+1} = (1−k)u_n + k u_{n−1} + h f(u_n) has c = 1 + k — the leading term of its modified
equation (1+k)u' + (1−k)(h/2)u'' + … = f (Lu et al. 2018) — and as a method for
(1+k)u' = f it has order 1 with error constant (1−k)/(2(1+k)) (order 2 at k = 1, the
leapfrog point). For a consistent method c = 1 and nothing changes.

>>> from numnet.schemes import get
>>> c, m = rescaled(get("lm_resnet"))
>>> c, m.C(2)
(k + 1, 1/2 - k/2)
>>> c, m = rescaled(get("lm_resnet").subs(k=sp.Rational(-3, 10)))
>>> c, m.order, m.error_constant                 # (1 - k)/(2(1 + k)) at k = -3/10
(7/10, 1, 13/14)
>>> rescaled(get("lm_resnet").subs(k=1))[1].order, rescaled(get("ab2"))[0]
(2, 1)
"""

from __future__ import annotations

import sympy as sp

from .base import XI


def rescaled(scheme) -> tuple:
    """``(c, method)``: c = ρ'(1)/σ(1) and the LMM (α, c·β), the step as a method for
    c·u' = f. Raises ``ValueError`` when ρ(1) ≠ 0 (no c makes the step consistent) or
    σ(1) = 0."""
    if getattr(scheme, "kind", None) != "LMM":
        raise TypeError(f"rescaled() reads a linear multistep step, got {scheme!r}")
    from .lmm import LinearMultistep

    rho1 = sp.simplify(scheme.rho.subs(XI, 1))
    if rho1 != 0:
        raise ValueError(f"{scheme.name}: rho(1) = {rho1} != 0, so the step is consistent with no c*u' = f")
    sigma1 = sp.simplify(sum(scheme.beta))
    if sigma1 == 0:
        raise ValueError(f"{scheme.name}: sigma(1) = 0, so c = rho'(1)/sigma(1) is undefined")
    c = sp.factor(sp.simplify(sp.diff(scheme.rho, XI).subs(XI, 1) / sigma1))
    if c == 1:
        return sp.Integer(1), scheme
    return c, LinearMultistep(scheme.alpha, [sp.expand(c * b) for b in scheme.beta], name=f"{scheme.name} on ({c})u'=f")
