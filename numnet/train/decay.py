"""The optimiser of a recipe: SGD whose weight decay treats learnable scheme
coefficients as ``recipe.coefficient_decay`` says.

Every other parameter is decayed toward 0 as usual. A coefficient vector c with center
c* (:meth:`numnet.nets.ResidualNet.coefficient_decay`) sits in its own parameter group
without SGD's decay; before each step ``weight_decay·(c − c*)`` is added to its gradient —
exactly SGD's decay of the shifted parameter c − c* (LM-ResNet's official code decays
its parameter 1 − k: c* = 1). Center None: no decay.

>>> import torch
>>> from numnet import nets
>>> from numnet.train import get_recipe
>>> net = nets.lm_resnet(14, widths=(4, 4, 4))
>>> opt = sgd(net, get_recipe("paper-cifar10"))
>>> [g["weight_decay"] for g in opt.param_groups], len(opt.param_groups[1]["params"])
([0.0001, 0.0], 3)
"""

from __future__ import annotations

import torch


def sgd(model, recipe) -> torch.optim.SGD:
    """``torch.optim.SGD`` over ``model``'s parameters with ``recipe``'s settings (see the
    module docstring for the coefficients' group)."""
    decay = model.coefficient_decay(recipe.coefficient_decay) if hasattr(model, "coefficient_decay") else []
    special = {id(p) for p, _ in decay}
    plain = [p for p in model.parameters() if id(p) not in special]
    groups = [{"params": plain}]
    if decay:
        groups.append({"params": [p for p, _ in decay], "weight_decay": 0.0})
    opt = torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay,
                          nesterov=recipe.nesterov)
    pulled = [(p, c) for p, c in decay if c is not None]
    wd = recipe.weight_decay
    if pulled and wd:
        def pull(optimizer, args, kwargs):
            with torch.no_grad():
                for p, c in pulled:
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
                    p.grad.add_(p - c, alpha=wd)

        opt.register_step_pre_hook(pull)
    return opt
