"""The one linear-combination kernel, Σ c·x, for NumPy arrays and torch tensors.

Every step of every scheme ends in linear combinations of states, f-values or stage
values: the solver steppers (:mod:`numnet.solvers`, NumPy or torch arrays, float
coefficients) and the net stages and reversible blocks (:mod:`numnet.nets`, torch, fixed
or learnable coefficients) all call :func:`combine`. It lives at the package root because
both layers read it and neither may import the other. torch is imported only when a torch
tensor arrives, so the NumPy solvers never load it.

>>> import numpy as np
>>> combine([(1.0, np.array([1.0, 2.0])), (0.5, np.array([10.0, 20.0]))])
array([ 6., 12.])
"""

from __future__ import annotations

import sys


class _Zero:
    """A vector-field value known to be zero (a block dropped by stochastic depth)."""

    def __repr__(self):
        return "DROPPED"


DROPPED = _Zero()


torch = None  # the torch module, bound at the first combination of tensors


def _is_tensor(x) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch when it is not loaded."""
    t = sys.modules.get("torch") if torch is None else torch
    return t is not None and isinstance(x, t.Tensor)


def _bind_torch():
    global torch
    import torch as t

    torch = t


def combine(terms, lerp=None):
    """Σ c·x over ``terms`` [(c, x)] with as few passes over memory as the data allow.

    ``x``: NumPy arrays or torch tensors (all of one kind). ``c`` is 1.0 for an exact one
    (no multiply), a Python float, or (torch) a 0-dim tensor — learnable, differentiable —
    or a tensor that broadcasts against x (one coefficient per channel, shape (C, 1, 1):
    its gradient is g·x summed to that shape);
    a ``x`` that is :data:`DROPPED` is skipped. ``lerp`` = (i, j): terms i and j have
    coefficients 1 − w and w (their sum is exactly 1, as for two states of a consistent
    LMM): they are fused into ``torch.lerp(x_i, x_j, w)``, which returns x_i bit for bit
    when w = 0. Only the array this function creates is updated in place, so autograd
    never sees an overwritten input; a single term with coefficient one is returned
    as it is (not copied).

    With learnable coefficients the whole combination is one autograd node whose backward
    writes only what the inputs need (g·c, or g itself for c = 1) and gets a coefficient's
    gradient as a dot product ⟨g, x⟩ without a temporary; it saves only the x's of
    learnable coefficients. Fixed coefficients use torch's own ops (their backward is g·c).

    >>> import torch
    >>> x, y = torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0])
    >>> combine([(1.0, x), (0.5, y)])
    tensor([ 6., 12.])
    >>> combine([(0.75, x), (0.25, y), (1.0, y)], lerp=(0, 1))
    tensor([13.2500, 26.5000])
    """
    if lerp is not None:
        i, j = lerp
        terms = [(1.0, terms[i][1]), terms[j]] + [t for m, t in enumerate(terms) if m not in lerp]
    lerp = lerp is not None
    if terms and terms[0][1] is not DROPPED and not _is_tensor(terms[0][1]):
        return sum_numpy(terms, lerp)  # NumPy arrays (never DROPPED: that is a nets value)
    terms = [t for t in terms if t[1] is not DROPPED]
    if not terms:
        raise ValueError("combine: every term is dropped")
    if torch is None:
        _bind_torch()
    if torch.is_grad_enabled() and any(type(c) is not float and isinstance(c, torch.Tensor) and c.requires_grad
                                       for c, _ in terms):
        return _autograd_node().apply(lerp, len(terms), *[c for c, _ in terms], *[x for _, x in terms])
    return sum_torch(terms, lerp)


def sum_numpy(terms, lerp=False):
    """:func:`combine` for NumPy arrays and number coefficients, without the dispatch
    (a solver's NumPy backend calls it directly): the first two terms make a new array,
    the rest are added into it."""
    c0, x0 = terms[0]
    if len(terms) == 1:
        return x0 if c0 == 1.0 else c0 * x0
    c1, x1 = terms[1]
    if lerp:
        acc = x0 + c1 * (x1 - x0)
    else:
        acc = (x0 if c0 == 1.0 else c0 * x0) + (x1 if c1 == 1.0 else c1 * x1)
    for k in range(2, len(terms)):
        c, x = terms[k]
        acc += x if c == 1.0 else c * x
    return acc


def sum_torch(terms, lerp=False):
    """:func:`combine` for tensors with float or 0-dim tensor coefficients outside
    autograd's view of the coefficients, without the dispatch (a solver's torch backend
    calls it directly)."""
    if torch is None:
        _bind_torch()
    c0, x0 = terms[0]
    if len(terms) == 1:
        return x0 if _is_one(c0) else _scaled(x0, c0)
    c1, x1 = terms[1]
    if lerp:
        acc = torch.lerp(x0, x1, c1.to(x0.dtype) if _is_tensor(c1) else c1)
    elif _is_one(c0):
        acc = _add(x0, x1, c1)
    elif _is_one(c1):
        acc = _add(x1, x0, c0)
    else:
        acc = _add(_scaled(x0, c0), x1, c1)
    for k in range(2, len(terms)):
        c, x = terms[k]
        acc = _add_(acc, x, c)
    return acc


_NODE = []


def _autograd_node():
    """:func:`combine` as one autograd node (forward: the same arithmetic), defined at
    first use so that importing this module does not import torch."""
    if not _NODE:
        _NODE.append(_define_node())
    return _NODE[0]


def _define_node():
    class _Combine(torch.autograd.Function):
        @staticmethod
        def forward(ctx, lerp, n, *args):
            coefs, xs = args[:n], args[n:]
            ctx.lerp, ctx.n = lerp, n
            ctx.floats = [None if isinstance(c, torch.Tensor) else c for c in coefs]
            need_c = ctx.needs_input_grad[2:2 + n]  # a coefficient's gradient needs its x (lerp: both)
            keep_x = [bool(need_c[i]) or (lerp and i < 2 and bool(need_c[1])) for i in range(n)]
            ctx.keep_x = keep_x
            ctx.save_for_backward(*[c for c in coefs if isinstance(c, torch.Tensor)],
                                  *[x for x, k in zip(xs, keep_x) if k])
            return sum_torch(list(zip(coefs, xs)), lerp)

        @staticmethod
        def backward(ctx, g):
            n, floats, saved = ctx.n, ctx.floats, list(ctx.saved_tensors)
            coefs = [f if f is not None else saved.pop(0) for f in floats]
            xs = [saved.pop(0) if k else None for k in ctx.keep_x]
            need_c, need_x = ctx.needs_input_grad[2:2 + n], ctx.needs_input_grad[2 + n:]
            gc, gx = [None] * n, [None] * n
            start = 0
            if ctx.lerp:
                w = coefs[1]
                if need_x[0]:
                    gx[0] = g * ((1 - w).to(g.dtype) if isinstance(w, torch.Tensor) else 1 - w)
                if need_x[1]:
                    gx[1] = g * (w.to(g.dtype) if isinstance(w, torch.Tensor) else w)
                if need_c[1]:
                    gc[1] = (_reduce(g, xs[1], w) - _reduce(g, xs[0], w)).to(w.dtype)
                start = 2
            for i in range(start, n):
                c = coefs[i]
                if need_x[i]:
                    gx[i] = g if _is_one(c) else g * (c.to(g.dtype) if isinstance(c, torch.Tensor) else c)
                if need_c[i]:
                    gc[i] = _reduce(g, xs[i], c).to(c.dtype)
            return (None, None, *gc, *gx)

    return _Combine


def _reduce(g, x, c):
    """A coefficient's gradient: ⟨g, x⟩ for a one-element c, and for a c that broadcasts
    (one value per channel, shape (C, 1, 1)) g·x summed to c's shape.

    >>> import torch
    >>> g, x = torch.ones(2, 3, 2, 2), torch.arange(24.0).reshape(2, 3, 2, 2)
    >>> _reduce(g, x, torch.zeros(3, 1, 1)).flatten().tolist(), float(_reduce(g, x, torch.zeros(())))
    ([60.0, 92.0, 124.0], 276.0)
    """
    if c.numel() == 1:
        return _dot(g, x).reshape(c.shape)
    return (g * x).sum_to_size(c.shape)


def _dot(g, x):
    """⟨g, x⟩ summed over every element, without a temporary where the layouts allow.

    float32/float64 of one layout: one ``torch.dot``. Anything else (bf16 or float16 under
    autocast, mixed layouts): one product and one sum accumulated in float32
    (``torch.sum(g * x, dtype=float32)``, a single temporary; copying both to float32
    first costs 2-10x as much, benchmarks/README.md). The result is at least float32.
    """
    if g.shape == x.shape and g.dtype == x.dtype and g.dtype in (torch.float32, torch.float64):
        if g.is_contiguous() and x.is_contiguous():
            return torch.dot(g.view(-1), x.view(-1))
        cl = torch.channels_last
        if g.dim() == 4 and g.is_contiguous(memory_format=cl) and x.is_contiguous(memory_format=cl):
            return torch.dot(g.permute(0, 2, 3, 1).reshape(-1), x.permute(0, 2, 3, 1).reshape(-1))
    product = g * x
    return product.sum(dtype=torch.promote_types(product.dtype, torch.float32))


def _is_one(c):
    return c == 1.0 if type(c) is float else (not _is_tensor(c) and c == 1.0)


def _scaled(x, c):
    return x * c if type(c) is float else x * (c.to(x.dtype) if _is_tensor(c) else c)


def _add(x, y, c):
    if type(c) is not float and isinstance(c, torch.Tensor):
        return torch.addcmul(x, y, c.to(y.dtype))
    return torch.add(x, y) if c == 1.0 else torch.add(x, y, alpha=c)


def _add_(acc, y, c):
    if type(c) is not float and isinstance(c, torch.Tensor):
        return acc.addcmul_(y, c.to(y.dtype))
    return acc.add_(y) if c == 1.0 else acc.add_(y, alpha=c)
