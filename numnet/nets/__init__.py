"""Residual networks compiled from scheme objects (PyTorch).

A stage of N residual blocks f_n is N steps of a scheme read from :mod:`numnet.schemes`
(never re-typed): Euler = ResNet, LM(k) = LM-ResNet, AB2/AB3 = Adams nets, RK methods with
stages inside a step, implicit schemes by fixed-point iterations. After training, the
network answers numerical questions about itself.

>>> from numnet import nets
>>> net = nets.build("lm_resnet", 20)
>>> net.learned_coefficients()[0]["symbol"], len(net.learned_coefficients())
('k', 6)
>>> all(s.scheme.is_zero_stable for s in net.step_schemes())
True

Layout: :mod:`.coefficients` (sympy → torch, inits), :mod:`.steps` (one step of an LMM or
RK on tensors), :mod:`.stage` (the compiler: scheme + blocks → stage), :mod:`.blocks`,
:mod:`.stochastic` (stochastic depth), :mod:`.model` (the network and its bridge back to
numerics), :mod:`.continuous` (torchdiffeq baseline), :mod:`.builders`, :mod:`.names` (the
families, without torch), :mod:`.reversible` and :mod:`.reversible_nets` (reversible
stages and networks), :mod:`.recompute` (checkpointing with batch norm counted once),
:mod:`.memory`, :mod:`.multiscale`, :mod:`.poly` (PolyNet's PolyInception stages),
:mod:`.fractal` (FractalNet). Names are imported on first use.
This package never imports :mod:`numnet.solvers`.
"""

from numnet._lazy import lazy_exports

_MODULES = {
    "numnet.nets.blocks": ("BasicBlock", "Bottleneck", "LinearField", "PostActBasicBlock", "ResNeXtBlock",
                           "ShakeShakeBlock", "make_block"),
    "numnet.nets.builders": ("ZeroStabilityWarning", "adams_net", "blocks_per_stage", "build", "lm_resnet", "ode_net", "polynet",
                             "resnet", "scheme_net", "shake_shake",
                             "warn_if_not_zero_stable"),
    "numnet.nets.coefficients": ("Coefficients", "initializer"),
    "numnet.nets.continuous": ("ODEBlock", "ODEStage", "torchdiffeq_method"),
    "numnet.nets.model": ("ResidualNet", "StepScheme"),
    "numnet.nets.names": ("NETS", "REVERSIBLE_NETS"),
    "numnet.nets.poly": ("POLY_KINDS", "PolyStage", "poly_module"),
    "numnet.nets.fractal": ("FractalBlock", "FractalNet", "fractalnet"),
    "numnet.nets.stage": ("SchemeStage",),
    "numnet.nets.steps": ("DROPPED", "LMMRule", "RKRule", "combine", "rule_for"),
    "numnet.nets.stochastic": ("survival_probabilities",),
}
__all__ = sorted(name for names in _MODULES.values() for name in names)
__getattr__, __dir__ = lazy_exports(__name__, {n: m for m, names in _MODULES.items() for n in names})
