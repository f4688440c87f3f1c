"""NumPy and torch behind one small interface: the few array operations the steppers use.

The steppers are written once against :class:`Backend`; :func:`resolve` picks the
implementation from ``y0`` (a ``torch.Tensor`` selects torch, anything else NumPy) or
from an explicit ``backend=`` name. torch is imported only when it is used.

>>> be, y0 = resolve([1.0, 2.0], None)
>>> be.name, y0.dtype
('numpy', dtype('float64'))
"""

from __future__ import annotations

import cmath
import contextlib
import math

import numpy as np

from numnet import _combine

BACKENDS = ("numpy", "torch")


class NumpyBackend:
    """Array operations on NumPy arrays (float or complex)."""

    name = "numpy"

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.eps = float(np.finfo(self.dtype).eps)

    # -- creation / conversion ------------------------------------------------------
    def const(self, x):
        """A constant array (coefficients) in this backend's real dtype."""
        return np.asarray(x, dtype=np.finfo(self.dtype).dtype)

    def stack(self, xs, axis):
        """np.stack for axis 0, -1 or -2, by filling a new array (np.stack's checks cost
        more than the copy for the small arrays of a step)."""
        first = xs[0]
        n = len(xs)
        if n == 1:
            return np.expand_dims(first, axis)
        if axis == 0:
            out = np.empty((n,) + first.shape, dtype=np.result_type(*xs))
            for i, x in enumerate(xs):
                out[i] = x
            return out
        pos = first.ndim + 1 + axis
        out = np.empty(first.shape[:pos] + (n,) + first.shape[pos:], dtype=np.result_type(*xs))
        tail = (slice(None),) * (-1 - axis)
        for i, x in enumerate(xs):
            out[(Ellipsis, i) + tail] = x
        return out

    def zeros_like(self, x):
        return np.zeros_like(x)

    def empty(self, shape, like):
        return np.empty(shape, dtype=like.dtype)

    def asarray(self, x):
        """x in this backend's dtype (refusing a torch tensor)."""
        if _is_tensor(x):
            raise TypeError("the numpy backend got a torch.Tensor; pass a NumPy array")
        return np.asarray(x, dtype=self.dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def is_array(self, x):
        return isinstance(x, np.ndarray)

    # -- arithmetic ----------------------------------------------------------------------
    def sum(self, terms):
        """Σ c·k for (c, k) in terms (c numbers): the combination kernel of
        :mod:`numnet._combine`, which the nets layer uses too."""
        return _combine.sum_numpy(terms)

    def combine(self, y, terms):
        """y + Σ c·k for (c, k) in terms, without touching y."""
        return _combine.sum_numpy([(1.0, y), *terms]) if terms else y.copy()

    def linear(self, W, X):
        """Σ_j W[i, j] X[..., j, :] for a constant matrix W (s × m)."""
        return W @ X

    def maxabs(self, x) -> float:
        return float(np.abs(x).max()) if x.size else 0.0

    def all_finite(self, x) -> bool:
        """No inf or NaN in x. A finite sum proves it (one reduction, 2x cheaper than
        isfinite().all()); only a sum that is not finite (an inf/NaN, or finite values that
        overflow when added, numpy then warning of it) has each entry checked."""
        return _finite_number(np.add.reduce(x, axis=None).item()) or bool(np.isfinite(x).all())

    def no_grad(self):
        return contextlib.nullcontext()

    def abs(self, x):
        return np.abs(x)

    def sqrt(self, x):
        return np.sqrt(x)

    def maximum(self, a, b):
        return np.maximum(a, b)

    # -- linear algebra ----------------------------------------------------------------
    def eye(self, n, like):
        return np.eye(n, dtype=like.dtype)

    def factor(self, M):
        """A batched solver x = M⁻¹ r for M (..., n, n), r (..., n); M is factored once.
        A singular M raises ``np.linalg.LinAlgError`` (both backends)."""
        Minv = np.linalg.inv(M)
        return lambda r: (Minv @ r[..., None])[..., 0]

    def jacobian(self, f, t, y, fy):
        """Forward differences, one column per state component, over the whole batch at once.

        Each batch row is perturbed independently, so f must act row by row (any
        vectorised right-hand side does). Costs d calls of f.
        """
        d = y.shape[-1]
        cols = []
        for j in range(d):
            step = np.sqrt(self.eps) * np.maximum(np.abs(y[..., j]), 1.0)
            yp = y.copy()
            yp[..., j] += step
            step = (yp[..., j] - y[..., j]).real  # the step actually taken
            cols.append((f(t, yp) - fy) / step[..., None])
        return np.stack(cols, -1), d


class TorchBackend:
    """Array operations on torch tensors; differentiable; any device and floating dtype."""

    name = "torch"

    def __init__(self, dtype, device):
        import torch

        self.torch = torch
        self.dtype = dtype
        self.device = device
        self.eps = float(torch.finfo(dtype).eps)

    def const(self, x):
        t = self.torch
        real = t.empty((), dtype=self.dtype).real.dtype if self.dtype.is_complex else self.dtype
        return t.as_tensor(np.asarray(x), dtype=real, device=self.device)

    def stack(self, xs, axis):
        return self.torch.stack(xs, axis)

    def zeros_like(self, x):
        return self.torch.zeros_like(x)

    def empty(self, shape, like):
        return self.torch.empty(shape, dtype=like.dtype, device=like.device)

    def asarray(self, x):
        """x in this backend's dtype and device (gradients kept)."""
        return self.torch.as_tensor(x, dtype=self.dtype, device=self.device)

    def to_numpy(self, x):
        return x.detach().cpu().numpy()

    def is_array(self, x):
        return isinstance(x, self.torch.Tensor)

    def sum(self, terms):
        return _combine.sum_torch(terms)

    def combine(self, y, terms):
        return _combine.sum_torch([(1.0, y), *terms]) if terms else y.clone()

    def linear(self, W, X):
        return W.to(X.dtype) @ X

    def maxabs(self, x) -> float:
        return float(x.detach().abs().max()) if x.numel() else 0.0

    def all_finite(self, x) -> bool:
        """As :meth:`NumpyBackend.all_finite` (the sum is 4x cheaper than isfinite().all())."""
        return _finite_number(x.detach().sum().item()) or bool(self.torch.isfinite(x).all())

    def no_grad(self):
        return self.torch.no_grad()

    def abs(self, x):
        return x.abs()

    def sqrt(self, x):
        return x.sqrt()

    def maximum(self, a, b):
        return self.torch.maximum(a, b)

    def eye(self, n, like):
        return self.torch.eye(n, dtype=like.dtype, device=like.device)

    def factor(self, M):
        t = self.torch
        LU, piv, info = t.linalg.lu_factor_ex(M.detach())
        if bool((info > 0).any()):
            raise np.linalg.LinAlgError("Singular matrix")
        return lambda r: t.linalg.lu_solve(LU, piv, r.unsqueeze(-1)).squeeze(-1)

    def jacobian(self, f, t, y, fy):
        """∂f/∂y by reverse-mode autograd: one backward pass per state component.

        The Jacobian only preconditions Newton's method, so it is computed on a detached
        copy of y (gradients of the solution flow through the Newton iterations).
        """
        torch = self.torch
        d = y.shape[-1]
        with torch.enable_grad():
            yy = y.detach().requires_grad_(True)
            out = f(t, yy)
            rows = []
            for i in range(d):
                (g,) = torch.autograd.grad(out[..., i].sum(), yy, retain_graph=i < d - 1, allow_unused=True)
                rows.append(torch.zeros_like(yy) if g is None else g)
        return torch.stack(rows, -2).detach(), 1


def _finite_number(s) -> bool:
    return cmath.isfinite(s) if isinstance(s, complex) else math.isfinite(s)  # s: a Python number


def _is_tensor(x) -> bool:
    mod = type(x).__module__
    return mod.startswith("torch") and type(x).__name__ in ("Tensor", "Parameter")


def resolve(y0, backend, dtype=None, device=None):
    """(backend object, y0 as that backend's array) after checking y0.

    ``backend`` None infers it from ``y0``; "torch" converts a NumPy ``y0`` (its dtype
    kept unless ``dtype`` is given); "numpy" with a tensor is refused rather than coerced.
    Integer NumPy input becomes float64; integer tensors are refused (the choice of
    float32/float64 is the caller's).

    >>> resolve(np.zeros(()), None)
    Traceback (most recent call last):
    ...
    ValueError: y0 must have shape (..., d) with the state dimension last, got a scalar; wrap it as [y0]
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None (inferred from y0), got {backend!r}")
    tensor = _is_tensor(y0)
    if backend is None:
        backend = "torch" if tensor else "numpy"
    if backend == "numpy":
        if tensor:
            raise TypeError("backend='numpy' got a torch.Tensor y0; pass y0.detach().cpu().numpy() or backend='torch'")
        if device is not None:
            raise ValueError(f"device= is a torch option; the numpy backend got device={device!r}")
        try:
            arr = np.asarray(y0)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"y0 must be an array of shape (..., d), got {y0!r}") from exc
        if arr.dtype == object or arr.dtype.kind not in "biufc":
            raise TypeError(f"y0 must hold real or complex numbers, got dtype {arr.dtype}")
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype.kind in "biu":
            arr = arr.astype(np.float64)
        _check_shape(arr.shape)
        if not np.all(np.isfinite(arr)):
            raise ValueError("y0 contains NaN or infinite values")
        return NumpyBackend(arr.dtype), arr
    import torch

    arr = y0 if tensor else torch.as_tensor(np.asarray(y0))
    if dtype is not None:
        arr = arr.to(dtype)
    if not (arr.dtype.is_floating_point or arr.dtype.is_complex):
        raise TypeError(f"torch y0 must be a floating tensor (float32/float64), got {arr.dtype}; pass dtype=")
    if device is not None:
        arr = arr.to(device)
    if arr.device.type == "meta":
        raise ValueError("y0 is a meta tensor (a shape without values); integrate needs values: put it on a real device")
    _check_shape(tuple(arr.shape))
    if not bool(torch.isfinite(arr).all()):
        raise ValueError("y0 contains NaN or infinite values")
    return TorchBackend(arr.dtype, arr.device), arr


def _check_shape(shape):
    if len(shape) == 0:
        raise ValueError("y0 must have shape (..., d) with the state dimension last, got a scalar; wrap it as [y0]")
    if 0 in shape:
        raise ValueError(f"y0 must have non-empty dimensions (..., d), got shape {tuple(shape)}")
