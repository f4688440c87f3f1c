"""Stochastic training as stochastic differential equations.

A residual step with a random coefficient η (drawn afresh at every step)

    u_{n+1} = (1 − k) u_n + k u_{n−1} + h G(u_n, η_n)        (k = 0: a one-step block)

is, for small h, a weak approximation of the Itô SDE

    dU = a(U) dt + b(U) dW,   a = E[G]/(1+k),   b = √(h Var η) · (∂G/∂η)/(1+k),

with W a scalar Brownian motion and time t_n = n h (so a network of N blocks of step h
runs to T = N h). Derivation (one-step case k = 0): one step of Euler–Maruyama for the
SDE moves U by h a + b ΔW, ΔW ~ N(0, h): mean h a, covariance h b bᵀ. The random step
moves u by h G(u, η): mean h E[G], covariance h² Var(η) (∂G/∂η)(∂G/∂η)ᵀ for G affine in η.
Matching mean to h·drift and covariance to h·diffusion² gives a and b. The diffusion
carries √h: the noise is a modified-equation effect that vanishes as h → 0.

For k ≠ 0 (stochastic LM-ResNet) the step is the LM two-step recursion, whose increments
v_n = u_{n+1} − u_n obey v_n = −k v_{n−1} + h G_n: the mean increment settles to
h E[G]/(1+k) and the noise of a step is passed on with total weight 1/(1+k), so over many
steps the walk has drift E[G]/(1+k) and diffusion √(h Var η) ∂G/∂η/(1+k). Kept at second
order this is the stochastic version of LM-ResNet's modified equation,
(1+k) U' + (1−k)(h/2) U'' ≈ E[G] + √(h Var η) (∂G/∂η) Ẇ.

>>> sd = stochastic_depth()
>>> sd.drift, sd.diffusion
(f*p, f*sqrt(h)*sqrt(p*(1 - p)))
>>> shake_shake().diffusion
sqrt(3)*sqrt(h)*(f1 - f2)/6
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ._exact import coefficient
from ._parse import expression
from .modified import H


@dataclass(frozen=True)
class RandomCoefficient:
    """A scalar random coefficient η given by its law's mean and variance.

    >>> bernoulli("p")
    RandomCoefficient(symbol=eta, law='Bernoulli(p)', mean=p, variance=p*(1 - p))
    """

    symbol: sp.Symbol
    law: str
    mean: sp.Expr
    variance: sp.Expr


ETA = sp.Symbol("eta")
"""The random coefficient's symbol in residual expressions."""


def _probability(p, default="p"):
    if p is None:
        return sp.Symbol(default)
    if isinstance(p, str) and p.isidentifier():
        return sp.Symbol(p)
    p = coefficient(p, "p")
    if not p.free_symbols and not (0 <= p <= 1):
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    return p


def bernoulli(p=None) -> RandomCoefficient:
    """η ∈ {0, 1} with P(η = 1) = p (stochastic depth: the block survives with prob. p)."""
    p = _probability(p)
    return RandomCoefficient(ETA, f"Bernoulli({p})", p, p * (1 - p))


def uniform(a=0, b=1) -> RandomCoefficient:
    """η uniform on [a, b] (shake-shake: [0, 1]).

    >>> uniform().variance
    1/12
    """
    a, b = coefficient(a, "a"), coefficient(b, "b")
    if not (a.free_symbols or b.free_symbols) and not a < b:
        raise ValueError(f"uniform needs a < b, got a={a}, b={b}")
    return RandomCoefficient(ETA, f"Uniform({a}, {b})", (a + b) / 2, (b - a) ** 2 / 12)


@dataclass(frozen=True)
class SDELimit:
    """dU = drift dt + diffusion dW (W scalar; drift and diffusion may be vectors).

    ``step_mean`` and ``step_variance`` are the exact mean and variance of one random
    residual increment h G(u, η) at fixed u (for a vector G, the variance is
    step_variance times (∂G/∂η)(∂G/∂η)ᵀ/(∂G/∂η)² — rank one — shown here for scalars).
    ``inertia`` is k (0 for one-step blocks); ``h`` the step, time t_n = n h.
    """

    name: str
    eta: RandomCoefficient
    residual: sp.Expr
    drift: sp.Expr
    diffusion: sp.Expr
    step_mean: sp.Expr
    step_variance: sp.Expr
    inertia: sp.Expr
    h: sp.Symbol = H

    def __repr__(self) -> str:
        return f"SDELimit({self.name}: dU = ({self.drift}) dt + ({self.diffusion}) dW, eta ~ {self.eta.law})"

    def _repr_latex_(self) -> str:
        return (
            f"$$dU = \\left({sp.latex(self.drift)}\\right) dt + \\left({sp.latex(self.diffusion)}\\right) dW_t,"
            f"\\quad \\eta \\sim \\mathrm{{{self.eta.law}}}$$"
        )


def sde_limit(residual, eta: RandomCoefficient, k=0, name: str = "sde") -> SDELimit:
    """The SDE that u_{n+1} = (1−k)u_n + k u_{n−1} + h·residual(η) weakly approximates
    (see the module docstring for the time scaling and derivation).

    ``residual`` is a sympy expression affine in ``eta.symbol`` (η).

    >>> f = sp.Symbol("f")
    >>> sde_limit(ETA * f, bernoulli(sp.Rational(1, 2))).diffusion
    f*sqrt(h)/2
    """
    if not isinstance(eta, RandomCoefficient):
        raise TypeError(f"eta must be a RandomCoefficient (bernoulli(p), uniform()), got {type(eta).__name__}")
    G = expression(residual, "residual")
    x = eta.symbol
    if sp.simplify(sp.diff(G, x, 2)) != 0:
        raise ValueError(f"the residual must be affine in {x} (one scalar noise direction), got {G}")
    k = coefficient(k, "k")
    if not k.free_symbols and k == -1:
        raise ValueError("k = -1 makes the LM step inconsistent (1 + k = 0): no limit exists")
    slope = sp.simplify(sp.diff(G, x))
    mean = sp.simplify(G.subs(x, eta.mean))
    var = sp.factor(eta.variance)
    return SDELimit(
        name=name,
        eta=eta,
        residual=G,
        drift=sp.simplify(mean / (1 + k)),
        diffusion=sp.simplify(sp.sqrt(H * var) * slope / (1 + k)),
        step_mean=sp.simplify(H * mean),
        step_variance=sp.simplify(H**2 * var * slope**2),
        inertia=k,
    )


def stochastic_depth(p=None, inverted: bool = False) -> SDELimit:
    """u_{n+1} = u_n + η h f(u_n), η ~ Bernoulli(p): drift p f, diffusion √(h p(1−p)) f.

    ``inverted=True`` is the form that rescales a kept block by 1/p (so E[η/p] = 1, as in
    :mod:`numnet.nets.stochastic`): drift f, diffusion √(h (1−p)/p) f.

    >>> stochastic_depth(0.8).drift
    0.8*f
    >>> stochastic_depth(inverted=True).drift
    f
    """
    f = sp.Symbol("f")
    eta = bernoulli(p)
    G = ETA * f / eta.mean if inverted else ETA * f
    return sde_limit(G, eta, name="stochastic depth (inverted)" if inverted else "stochastic depth")


def shake_shake(k=0) -> SDELimit:
    """u_{n+1} = u_n + h(η f1 + (1−η) f2), η ~ U(0, 1): drift (f1+f2)/2,
    diffusion √(h/12) (f1 − f2). ``k``: the LM-ResNet step (1−k)u_n + k u_{n−1} + …
    (Lu et al.'s LM version of shake-shake): both divided by 1 + k.

    >>> shake_shake().drift, shake_shake("k").drift
    (f1/2 + f2/2, (f1 + f2)/(2*(k + 1)))
    """
    f1, f2 = sp.symbols("f1 f2")
    k = sp.Symbol(k) if isinstance(k, str) and k.isidentifier() else k
    return sde_limit(ETA * f1 + (1 - ETA) * f2, uniform(0, 1), k=k,
                     name="shake-shake" if k == 0 else "LM shake-shake")


def stochastic_lm_resnet(p=None, k=None, inverted: bool = False) -> SDELimit:
    """Stochastic depth on LM-ResNet: u_{n+1} = (1−k)u_n + k u_{n−1} + η h f(u_n):
    drift p f/(1+k), diffusion √(h p(1−p)) f/(1+k) (``inverted``: η/p, drift f/(1+k)).

    >>> stochastic_lm_resnet().drift
    f*p/(k + 1)
    """
    k = sp.Symbol("k") if k is None else k
    f = sp.Symbol("f")
    eta = bernoulli(p)
    G = ETA * f / eta.mean if inverted else ETA * f
    return sde_limit(G, eta, k=k, name="stochastic LM-ResNet")
