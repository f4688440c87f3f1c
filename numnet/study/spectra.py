"""Jacobian spectra of residual branches: the z = hλ a trained block actually sees.

A residual block computes u ↦ (step of the scheme) with the vector-field term
F_n(u) = h f(u; θ_n). Linearised at an input u, the block's z values are the
eigenvalues of ∂F_n/∂u. Two estimators, both per sample of a batch (a branch in eval mode
treats samples independently):

- ``"full"``: the whole Jacobian, n columns by forward-mode AD (``torch.autograd.forward_ad``,
  batched over unit tangents), and its eigenvalues (small inputs: n = C·H·W up to
  ``max_full_dim``);
- ``"arnoldi"``: ``krylov_dim`` steps of the Arnoldi iteration with Jacobian–vector
  products (forward-mode AD, ``torch.autograd.forward_ad``), whose Ritz values approximate the outermost eigenvalues
  (those that decide stability) at a cost of ``krylov_dim`` forward passes.

>>> import torch
>>> A = torch.tensor([[-1.0, 2.0], [0.0, -3.0]], dtype=torch.float64)
>>> lam = jacobian_eigenvalues(lambda u: u @ A.T, torch.ones(1, 2, dtype=torch.float64))
>>> sorted(lam[0].real.round(12).tolist())
[-3.0, -1.0]
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

__all__ = ["jacobian_eigenvalues", "arnoldi_ritz", "block_spectra"]


def jacobian_eigenvalues(fn, x: torch.Tensor, *, method: str = "auto", krylov_dim: int = 24,
                         max_full_dim: int = 2048, seed: int = 0) -> np.ndarray:
    """Eigenvalues of the Jacobian of ``fn`` at each sample of ``x``: a complex array of
    shape ``(batch, m)`` (m = n for ``"full"``, ``min(krylov_dim, n)`` for ``"arnoldi"``).

    ``fn`` maps a batch ``(B, ...)`` to a batch of the same shape, each sample on its own.
    ``method="auto"`` takes ``"full"`` when n ≤ ``max_full_dim``, else ``"arnoldi"``.

    >>> import torch
    >>> conv = torch.nn.Conv2d(2, 2, 3, padding=1, bias=False).double()
    >>> x = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    >>> full = jacobian_eigenvalues(conv, x, method="full")
    >>> ritz = jacobian_eigenvalues(conv, x, method="arnoldi", krylov_dim=32)  # k = n: all of them
    >>> full.shape, bool(np.allclose(np.sort_complex(full[0]), np.sort_complex(ritz[0]), atol=1e-8))
    ((3, 32), True)
    """
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        raise ValueError(f"x must be a batch tensor (B, ...) with at least 2 dims, got "
                         f"{type(x).__name__} {tuple(getattr(x, 'shape', ()))}")
    if method not in ("auto", "full", "arnoldi"):
        raise ValueError(f"method must be 'auto', 'full' or 'arnoldi', got {method!r}")
    if not isinstance(krylov_dim, int) or krylov_dim < 1:
        raise ValueError(f"krylov_dim must be a positive int, got {krylov_dim!r}")
    n = int(np.prod(x.shape[1:]))
    with torch.no_grad():
        out = fn(x)
    if out.shape != x.shape:
        raise ValueError(f"the Jacobian has eigenvalues only for a map onto its own space: "
                         f"input {tuple(x.shape)}, output {tuple(out.shape)}")
    if method == "auto":
        method = "full" if n <= max_full_dim else "arnoldi"
    if method == "full":
        if n > max_full_dim:
            raise ValueError(f"method='full' needs n = {n} <= max_full_dim = {max_full_dim}; use 'arnoldi'")
        jac = _jacobian(fn, x.detach(), n)
        return np.linalg.eigvals(jac.cpu().double().numpy())

    x0 = x.detach()

    def matvec(v):  # forward-mode AD: one forward pass with dual numbers per product
        with fwAD.dual_level():
            out = fn(fwAD.make_dual(x0, v.reshape(x.shape)))
            return fwAD.unpack_dual(out).tangent.reshape(x.shape[0], n)

    gen = torch.Generator(device="cpu").manual_seed(seed)
    v0 = torch.randn(x.shape[0], n, generator=gen, dtype=x.dtype).to(x.device)
    return arnoldi_ritz(matvec, v0, min(krylov_dim, n), seed=seed)


def _jacobian(fn, x, n: int, chunk: int = 256) -> torch.Tensor:
    """Per-sample Jacobians (B, n, n) by forward-mode AD: each sample repeated with unit
    tangents, ``chunk`` columns per forward pass."""
    B = x.shape[0]
    cols = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        eye = torch.zeros(m, n, dtype=x.dtype, device=x.device)
        eye[torch.arange(m), torch.arange(start, start + m)] = 1
        xs = x.reshape(B, 1, n).expand(B, m, n).reshape(B * m, *x.shape[1:]).clone()
        with torch.no_grad(), fwAD.dual_level():
            out = fn(fwAD.make_dual(xs, eye.expand(B, m, n).reshape(B * m, *x.shape[1:]).clone()))
            cols.append(fwAD.unpack_dual(out).tangent.reshape(B, m, n))
    return torch.cat(cols, dim=1).transpose(1, 2)  # J[b, i, j] = d out_i / d x_j


def arnoldi_ritz(matvec, v0: torch.Tensor, k: int, *, seed: int = 0) -> np.ndarray:
    """Ritz values of a batch of linear maps after ``k`` Arnoldi steps: the eigenvalues of
    H = Vᵀ J V on the Krylov space of ``v0`` (shape ``(B, n)``), one row per batch entry.

    Orthogonalisation is classical Gram–Schmidt done twice; if the Krylov space closes
    (an invariant subspace) the next vector is a random one orthogonalised against V, so
    H stays the exact projection. With k = n the Ritz values are all the eigenvalues.

    >>> A = torch.diag(torch.tensor([-4.0, -1.0, -0.5, -0.1], dtype=torch.float64))
    >>> ritz = arnoldi_ritz(lambda v: v @ A.T, torch.ones(1, 4, dtype=torch.float64), 4)
    >>> sorted(ritz[0].real.round(10).tolist())
    [-4.0, -1.0, -0.5, -0.1]
    """
    B, n = v0.shape
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..n = {n}, got {k}")
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)
    V = torch.zeros(B, k + 1, n, dtype=v0.dtype, device=v0.device)
    H = torch.zeros(B, k + 1, k, dtype=v0.dtype, device=v0.device)
    V[:, 0] = v0 / v0.norm(dim=1, keepdim=True)
    with torch.no_grad():
        for j in range(k):
            w = matvec(V[:, j]).detach()
            scale = w.norm(dim=1).clamp_min(1e-300)
            for _ in range(2):
                c = torch.einsum("bin,bn->bi", V[:, : j + 1], w)
                H[:, : j + 1, j] += c
                w = w - torch.einsum("bin,bi->bn", V[:, : j + 1], c)
            h = w.norm(dim=1)
            H[:, j + 1, j] = h
            if j + 1 == n:
                break
            closed = h <= 1e-10 * scale
            if closed.any():  # invariant subspace: continue from a fresh orthogonal direction
                r = torch.randn(int(closed.sum()), n, generator=gen, dtype=v0.dtype).to(v0.device)
                for _ in range(2):
                    Vc = V[closed, : j + 1]
                    r = r - torch.einsum("bin,bi->bn", Vc, torch.einsum("bin,bn->bi", Vc, r))
                H[closed, j + 1, j] = 0
                w[closed] = r
                h = h.clone()
                h[closed] = r.norm(dim=1)
            V[:, j + 1] = w / h.clamp_min(1e-300)[:, None]
    return np.linalg.eigvals(H[:, :k, :k].cpu().double().numpy())


def block_spectra(model: torch.nn.Module, x: torch.Tensor, branches=None, *, h=None, samples: int = 4,
                  dtype: torch.dtype | None = torch.float64, method: str = "auto", krylov_dim: int = 24,
                  max_full_dim: int = 2048, seed: int = 0) -> list:
    """Per residual branch, the eigenvalues of its Jacobian at the inputs it receives when
    ``model`` runs on the first ``samples`` images of ``x``; ``None`` for a branch whose
    output shape differs from its input (a downsampling block has no eigenvalues).

    ``branches``: the modules computing F_n(u) = h f(u; θ_n), in block order (the order of
    ``model.step_schemes()``), ``None`` for a step without a square Jacobian (an entry
    block that changes the shape); default ``model.residual_branches()``. Each branch's
    input is its first call in the forward pass (for RK nets, the step's own u_n). ``h``:
    the step size multiplying the branches' output in the scheme (one number, or one per
    branch); default ``model.step_sizes()`` with the model's branches, else 1. The
    eigenvalues returned are z = h·λ. The model
    runs in eval mode (batch norm from running statistics, no stochastic depth) on a copy
    in ``dtype`` (float64 by default, for clean eigenvalues); the model itself is left as
    it was.

    >>> torch.manual_seed(0) and None
    >>> lin = [torch.nn.Linear(3, 3, bias=False) for _ in range(2)]
    >>> class Net(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__(); self.f = torch.nn.ModuleList(lin)
    ...     def forward(self, u):
    ...         for f in self.f: u = u + f(u)
    ...         return u
    ...     def residual_branches(self): return list(self.f)
    >>> eig = block_spectra(Net(), torch.randn(5, 3))
    >>> bool(np.allclose(np.sort_complex(eig[1][0]), np.sort_complex(np.linalg.eigvals(lin[1].weight.detach().double().numpy()))))
    True
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    if branches is None:
        if not hasattr(model, "residual_branches"):
            raise TypeError(f"{type(model).__name__} has no residual_branches(); pass branches=[module, ...] "
                            f"(the modules computing each block's F_n, in block order)")
        branches = list(model.residual_branches())
        if h is None and hasattr(model, "step_sizes"):
            h = model.step_sizes()
    branches = list(branches)
    h = 1.0 if h is None else h
    hs = [h] * len(branches) if isinstance(h, (int, float)) else list(h)
    if len(hs) != len(branches):
        raise ValueError(f"h must be one number or one per branch ({len(branches)}), got {len(hs)}")
    index = {id(b): i for i, b in enumerate(branches) if b is not None}
    missing = [i for i, b in enumerate(branches) if b is not None and not any(m is b for m in model.modules())]
    if missing:
        raise ValueError(f"branches {missing} are not submodules of the model")
    work = copy.deepcopy(model)
    if dtype is not None:
        work = work.to(dtype)
    work.eval()
    copies = [m for m in work.modules()]
    originals = [m for m in model.modules()]
    wbranches = [None] * len(branches)
    for orig, cp in zip(originals, copies):
        if id(orig) in index:
            wbranches[index[id(orig)]] = cp
    inputs = [None] * len(branches)

    def hook(i):
        def pre(_module, args):
            if inputs[i] is None:
                inputs[i] = args[0].detach()
        return pre

    handles = [b.register_forward_pre_hook(hook(i)) for i, b in enumerate(wbranches) if b is not None]
    try:
        xs = x[:samples].to(dtype) if dtype is not None and x.is_floating_point() else x[:samples]
        with torch.no_grad():
            work(xs.to(next(work.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    out = []
    for i, (b, u) in enumerate(zip(wbranches, inputs)):
        if b is None:
            out.append(None)
            continue
        if u is None:
            raise ValueError(f"branch {i} was not called in the forward pass")
        with torch.no_grad():
            same = b(u).shape == u.shape
        out.append(hs[i] * jacobian_eigenvalues(b, u, method=method, krylov_dim=krylov_dim,
                                                max_full_dim=max_full_dim, seed=seed) if same else None)
    return out
