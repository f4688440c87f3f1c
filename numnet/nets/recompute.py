"""Recomputing blocks in the backward pass, with batch norm counted once.

:func:`frozen_batch_norm` lets a block run again (to rebuild its activations for the
gradient) without updating running statistics a second time; :func:`recomputed` runs a
function under ``torch.utils.checkpoint`` with that rule. Both the reversible stages
(:mod:`numnet.nets.reversible`) and per-step checkpointing of a
:class:`~numnet.nets.SchemeStage` (``checkpoint=``) use them.

>>> lin = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
>>> x = torch.randn(8, 3, requires_grad=True)
>>> recomputed(lin, x, modules=lin).sum().backward()   # forward, then again in backward
>>> int(lin[1].num_batches_tracked)
1
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def frozen_batch_norm(modules):
    """Batch norms in ``modules`` (a module or an iterable of them) that are training
    still normalise with batch statistics (so gradients are those of the forward pass)
    but leave their running statistics and ``num_batches_tracked`` bit-for-bit
    unchanged: momentum is 0 inside (running ← 1·running + 0·batch, exact in floating
    point) and the counter is restored after. The same tensors are saved for backward as
    in an ordinary call, which ``torch.utils.checkpoint`` checks.

    >>> bn = nn.BatchNorm1d(2)
    >>> with frozen_batch_norm(bn):
    ...     _ = bn(torch.randn(4, 2) + 5)
    >>> bn.running_mean.tolist(), int(bn.num_batches_tracked)
    ([0.0, 0.0], 0)
    """
    roots = [modules] if isinstance(modules, nn.Module) else list(modules)
    bns = list({id(m): m for root in roots for m in root.modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats}.values())
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(bns, saved):
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


def recomputed(fn, *tensors, modules):
    """``fn(*tensors)`` keeping only its inputs for backward: the backward pass runs it
    again (``torch.utils.checkpoint``, non-reentrant, RNG state restored) with the batch
    norms of ``modules`` frozen. Without grad mode it is a plain call."""
    if not torch.is_grad_enabled():
        return fn(*tensors)
    return checkpoint(fn, *tensors, use_reentrant=False,
                      context_fn=lambda: (contextlib.nullcontext(), frozen_batch_norm(modules)))
