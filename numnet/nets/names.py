"""The network families :func:`numnet.nets.build` knows, importable without torch (the
command line builds its ``--help`` from them).

>>> NETS[:3], "revnet" in REVERSIBLE_NETS
(('resnet', 'lm_resnet', 'adams_net'), True)
"""

REVERSIBLE_NETS = ("hamiltonian", "midpoint_net", "leapfrog_net", "revnet")  # numnet.nets.reversible_nets
NET_ALIASES = {"resnet_postact": ("resnet", {"preact": False}),
               "lm_resnet_sd": ("lm_resnet", {"stochastic_depth": True}),
               "lm_resnet_channelwise": ("lm_resnet", {"channelwise": True}),
               **{f"{name}_{c}x64d": (net, {"block": "resnext", "cardinality": c, "group_width": 64})
                  for name, net in (("resnext", "resnet"), ("lm_resnext", "lm_resnet")) for c in (8, 16)}}
"""Names for a builder with fixed options, for the command line and the study:
``resnet_postact`` is He et al. (2016a)'s ResNet, ``build("resnet", d, preact=False)``;
``lm_resnet_sd`` the LM-ResNet paper's stochastic LM-ResNet (p_L 0.8 at depth 56, 0.5 at
110, the official code's schedule), ``build("lm_resnet", d, stochastic_depth=True)``;
``lm_resnet_channelwise`` the authors' MResNetC (one k per channel),
``build("lm_resnet", d, channelwise=True)``;
``resnext_8x64d``, ``resnext_16x64d`` Xie et al.'s ResNeXt (depth 29 in their table) and
``lm_resnext_8x64d``, ``lm_resnext_16x64d`` Lu et al.'s LM-ResNeXt,
``build("resnet" | "lm_resnet", d, block="resnext", cardinality=8 | 16)``."""
NETS = (("resnet", "lm_resnet", "adams_net", "scheme_net", "ode_net", "polynet", "shake_shake", "fractalnet")
        + REVERSIBLE_NETS + tuple(NET_ALIASES))
SCHEME_NETS = ("scheme_net", "ode_net")  # nets whose scheme is chosen by the caller
# SchemeStage nets (checkpoint=n)
STAGE_NETS = ("resnet", "lm_resnet", "adams_net", "scheme_net", "shake_shake") + tuple(NET_ALIASES)

COEFFICIENT_DECAY = ("official", "none", "toward-scheme", "zero")
"""How weight decay treats a learnable scheme coefficient c (a recipe field; the centers
are :func:`numnet.nets.coefficients.decay_centers`): ``"official"`` as the authors' code
stores and decays it (LM-ResNet: 1 − k decayed to 0, so k → 1), ``"none"`` not at all,
``"toward-scheme"`` toward the values that give the scheme its highest order (LM-ResNet:
k = 0; learnable Adams: the Adams–Bashforth weights), ``"zero"`` toward c = 0 (plain
decay of the coefficient as numnet stores it)."""
