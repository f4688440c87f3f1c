"""The network families :func:`numnet.nets.build` knows, importable without torch (the
command line builds its ``--help`` from them).

>>> NETS[:3], "revnet" in REVERSIBLE_NETS
(('resnet', 'lm_resnet', 'adams_net'), True)
"""

REVERSIBLE_NETS = ("hamiltonian", "midpoint_net", "leapfrog_net", "revnet")  # numnet.nets.reversible_nets
NETS = ("resnet", "lm_resnet", "adams_net", "scheme_net", "ode_net") + REVERSIBLE_NETS
SCHEME_NETS = ("scheme_net", "ode_net")  # nets whose scheme is chosen by the caller
STAGE_NETS = ("resnet", "lm_resnet", "adams_net", "scheme_net")  # SchemeStage nets (checkpoint=n)
