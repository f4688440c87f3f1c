"""Adaptive implicit integration (Radau IIA with RADAU5's estimate) beside scipy's Radau."""

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from scipy.integrate._ivp import radau as scipy_radau

from numnet import schemes
from numnet.solvers import integrate
from numnet.solvers import problems as P
from numnet.solvers.coefficients import tableau
from numnet.solvers.radau import coefficients

STIFF = [
    (P.robertson(1e5), 1e-6, 1e-10),
    (P.van_der_pol(1000.0, 3000.0), 1e-6, 1e-9),
    (P.hires(), 1e-6, 1e-10),
]


def test_radau5_constants_derived_from_the_catalog_tableau_match_scipy():
    """E (the embedded estimate), μ (the real eigenvalue of A⁻¹) and the collocation
    interpolation matrix, all derived from schemes.get("radau_iia3"), equal scipy's typed
    constants to rounding."""
    co = coefficients(tableau(schemes.get("radau_iia3")))
    np.testing.assert_allclose(co.E, scipy_radau.E, rtol=1e-13)
    assert abs(1 / co.gamma0 - scipy_radau.MU_REAL) < 1e-13
    np.testing.assert_allclose(co.P.T, scipy_radau.P, rtol=1e-12)
    # the transformation to A⁻¹'s eigenbasis: T⁻¹ A⁻¹ T is block diagonal (real, 2x2 complex block)
    B = co.TI @ co.AI @ co.T
    off = np.abs(B) > 1e-10
    assert off.sum() == 5  # one real eigenvalue, one 2x2 block


def test_hires_reference_matches_scipy_radau_at_tight_tolerance():
    p = P.hires()
    r = solve_ivp(p.f, p.t_span, p.y0, method="Radau", rtol=1e-10, atol=1e-13, jac=p.jac)
    np.testing.assert_allclose(r.y[:, -1], P.HIRES_REFERENCE, rtol=1e-9)


@pytest.mark.parametrize("problem, rtol, atol", STIFF, ids=lambda x: getattr(x, "name", str(x)))
def test_radau_iia3_adapts_like_scipy_radau(problem, rtol, atol):
    """The same algorithm as scipy's Radau: the same step count, f-evaluations, Jacobians and
    LU factorisations, and the same state at t_end up to rounding (so the same error)."""
    ours = integrate("radau_iia3", problem.f, problem.t_span, problem.y0, rtol=rtol, atol=atol, jac=problem.jac)
    ref = solve_ivp(problem.f, problem.t_span, problem.y0, method="Radau", rtol=rtol, atol=atol, jac=problem.jac)
    assert (ours.n_steps, ours.n_f_evals, ours.n_jac_evals, ours.n_lu) == (len(ref.t) - 1, ref.nfev, ref.njev, ref.nlu)
    scale = atol + rtol * np.abs(ref.y[:, -1])
    assert np.max(np.abs(ours.y_final - ref.y[:, -1]) / scale) < 1e-3


@pytest.mark.parametrize("method, within", [("radau_iia3", 10), ("bdf", 100), ("ndf", 100)])
def test_error_follows_the_tolerance_on_hires(method, within):
    """Against the published HIRES reference: the relative error at t_end is within a
    modest factor of rtol and shrinks by at least 10^2 when rtol shrinks by 10^4
    (tolerance proportionality, error ≈ C·rtol^(0.7…1))."""
    p = P.hires()
    errs = []
    for rtol in (1e-4, 1e-8):
        sol = integrate(method, p.f, p.t_span, p.y0, rtol=rtol, atol=rtol * 1e-4, jac=p.jac)
        errs.append(np.max(np.abs(sol.y_final / P.HIRES_REFERENCE - 1)))
    assert errs[0] < within * 1e-4 and errs[1] < within * 1e-8
    assert errs[1] < errs[0] / 100


def test_finite_difference_jacobian_is_counted():
    """Without jac= each forward-difference Jacobian costs d = 2 f-calls, counted in n_f_evals
    (the steps are the same as with the exact Jacobian here)."""
    p = P.van_der_pol(1000.0)
    a = integrate("radau_iia3", p.f, p.t_span, p.y0, rtol=1e-6, atol=1e-9)
    b = integrate("radau_iia3", p.f, p.t_span, p.y0, rtol=1e-6, atol=1e-9, jac=p.jac)
    assert (a.n_steps, a.n_jac_evals) == (b.n_steps, b.n_jac_evals)
    assert a.n_f_evals == b.n_f_evals + 2 * a.n_jac_evals
    np.testing.assert_allclose(a.y_final, b.y_final, rtol=1e-6)


def test_radau_dense_output_matches_scipy_collocation_polynomial():
    p = P.van_der_pol(1000.0)
    ours = integrate("radau_iia3", p.f, p.t_span, p.y0, rtol=1e-6, atol=1e-9, jac=p.jac, dense_output=True)
    ref = solve_ivp(p.f, p.t_span, p.y0, method="Radau", rtol=1e-6, atol=1e-9, jac=p.jac, dense_output=True)
    ts = np.linspace(0, 2, 57)
    np.testing.assert_allclose(ours.sol(ts), ref.sol(ts).T, rtol=1e-9, atol=1e-12)


def test_radau_t_eval_and_events_match_scipy():
    """t_eval values and the zero crossings of x (both directions) on Van der Pol μ = 1."""
    p = P.van_der_pol(1.0)

    def x_zero(t, y):
        return y[0]

    te = np.linspace(0, 10, 11)
    ours = integrate("radau_iia3", p.f, p.t_span, p.y0, rtol=1e-8, atol=1e-10, t_eval=te, events=x_zero)
    ref = solve_ivp(p.f, p.t_span, p.y0, method="Radau", rtol=1e-8, atol=1e-10, t_eval=te, events=x_zero)
    np.testing.assert_array_equal(ours.t, te)
    np.testing.assert_allclose(ours.y, ref.y.T, atol=1e-9)
    assert len(ours.t_events[0]) == len(ref.t_events[0]) == 3
    np.testing.assert_allclose(ours.t_events[0], ref.t_events[0], rtol=1e-10)
    np.testing.assert_allclose(ours.y_events[0], ref.y_events[0], atol=1e-9)


def test_radau_torch_batched_and_differentiable():
    """A batch of two Robertson runs in torch: the same end state as numpy, and d y1(T)/d y0
    by autograd equal to a central finite difference of the (numpy) solver."""
    p = P.robertson(1.0)
    y0 = torch.tensor(p.y0, requires_grad=True)
    sol = integrate("radau_iia3", p.f, p.t_span, y0, rtol=1e-8, atol=1e-12, jac=p.jac)
    np.testing.assert_allclose(sol.y_final.detach().numpy(), p.solution(), rtol=1e-6, atol=1e-12)
    sol.y_final[0].backward()
    eps = 1e-5
    fd = []
    for j in range(3):
        e = np.eye(3)[j] * eps
        hi = integrate("radau_iia3", p.f, p.t_span, p.y0 + e, rtol=1e-10, atol=1e-14, jac=p.jac).y_final[0]
        lo = integrate("radau_iia3", p.f, p.t_span, p.y0 - e, rtol=1e-10, atol=1e-14, jac=p.jac).y_final[0]
        fd.append((hi - lo) / (2 * eps))
    np.testing.assert_allclose(y0.grad.numpy(), fd, rtol=1e-3, atol=1e-6)
    batch = torch.tensor(np.stack([p.y0, [0.5, 0.0, 0.5]]))
    both = integrate("radau_iia3", p.f, p.t_span, batch, rtol=1e-8, atol=1e-12)
    assert tuple(both.y_final.shape) == (2, 3)
    np.testing.assert_allclose(both.y_final[0].numpy(), p.solution(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", ["gauss2", "radau_iia2", "lobatto_iiic3"])
def test_implicit_without_error_estimate_is_refused(name):
    """Gauss is not stiffly accurate, Radau IIA2's A has no real eigenvalue, Lobatto IIIC is
    no collocation method (its c₁ = 0 made the interpolation matrix singular before)."""
    with pytest.raises(ValueError, match=f"{name} need an error estimate"):
        integrate(name, lambda t, y: -y, (0, 1), np.array([1.0]), rtol=1e-6)


@pytest.mark.parametrize("problem, rtol, atol", STIFF, ids=lambda x: getattr(x, "name", str(x)))
def test_ndf_is_scipy_bdf_and_bdf_is_comparable(problem, rtol, atol):
    """integrate("ndf") is scipy's BDF (Klopfenstein–Shampine NDF): the same steps, f-evals,
    Jacobians, LUs, and the end state to a twentieth of the tolerance (rounding, amplified
    over the 1848 steps across Van der Pol's relaxation jumps). integrate("bdf") (κ = 0) is within a factor 1.5 of its
    step count, and its end state differs from scipy's by less than the tolerance."""
    ref = solve_ivp(problem.f, problem.t_span, problem.y0, method="BDF", rtol=rtol, atol=atol, jac=problem.jac)
    scale = atol + rtol * np.abs(ref.y[:, -1])
    ndf = integrate("ndf", problem.f, problem.t_span, problem.y0, rtol=rtol, atol=atol, jac=problem.jac)
    assert (ndf.n_steps, ndf.n_f_evals, ndf.n_jac_evals, ndf.n_lu) == (len(ref.t) - 1, ref.nfev, ref.njev, ref.nlu)
    assert np.max(np.abs(ndf.y_final - ref.y[:, -1]) / scale) < 0.05
    bdf = integrate("bdf", problem.f, problem.t_span, problem.y0, rtol=rtol, atol=atol, jac=problem.jac)
    assert (len(ref.t) - 1) / 1.5 < bdf.n_steps < 1.5 * (len(ref.t) - 1)
    assert np.max(np.abs(bdf.y_final - ref.y[:, -1]) / scale) < 20


def test_ndf_dense_output_and_events_match_scipy_bdf():
    p = P.van_der_pol(1.0)

    def x_zero(t, y):
        return y[0]

    x_zero.direction = 1
    kw = dict(rtol=1e-7, atol=1e-10, jac=p.jac)
    ours = integrate("ndf", p.f, p.t_span, p.y0, dense_output=True, events=x_zero, **kw)
    ref = solve_ivp(p.f, p.t_span, p.y0, method="BDF", dense_output=True, events=x_zero, **kw)
    ts = np.linspace(0, 10, 41)
    np.testing.assert_allclose(ours.sol(ts), ref.sol(ts).T, rtol=1e-8, atol=1e-10)
    assert len(ours.t_events[0]) == len(ref.t_events[0]) == 1
    np.testing.assert_allclose(ours.t_events[0], ref.t_events[0], rtol=1e-9)


def test_bdf_torch_batched_and_differentiable():
    p = P.robertson(1.0)
    y0 = torch.tensor(np.stack([p.y0, [0.5, 0.0, 0.5]]), requires_grad=True)
    sol = integrate("bdf", p.f, p.t_span, y0, rtol=1e-8, atol=1e-12, jac=p.jac)
    single = integrate("bdf", p.f, p.t_span, p.y0, rtol=1e-8, atol=1e-12, jac=p.jac)
    np.testing.assert_allclose(sol.y_final[0].detach().numpy(), single.y_final, rtol=1e-6, atol=1e-11)
    sol.y_final[:, 0].sum().backward()
    eps = 1e-5
    fd = [(integrate("bdf", p.f, p.t_span, p.y0 + e, rtol=1e-10, atol=1e-14, jac=p.jac).y_final[0]
           - integrate("bdf", p.f, p.t_span, p.y0 - e, rtol=1e-10, atol=1e-14, jac=p.jac).y_final[0]) / (2 * eps)
          for e in np.eye(3) * eps]
    np.testing.assert_allclose(y0.grad[0].numpy(), fd, rtol=1e-3, atol=1e-6)


def test_bdf_refuses_fixed_steps():
    with pytest.raises(ValueError, match="bdf1 … bdf5"):
        integrate("bdf", lambda t, y: -y, (0, 1), np.array([1.0]), h=0.1)


def test_sdirk4_pair_adapts_on_the_stiff_problems():
    """Hairer–Wanner's SDIRK4 with its embedded order-3 weights, through the same machinery:
    on Robertson and HIRES its state at t_end and (Hermite dense output) at t_end/3 agrees
    with a tight scipy Radau reference to within 100 tolerance scales atol + rtol·|y|."""
    for p in (P.robertson(1e5), P.hires()):
        te = [p.t_end / 3, p.t_end]
        ours = integrate("sdirk4", p.f, p.t_span, p.y0, rtol=1e-6, atol=1e-10, jac=p.jac, t_eval=te)
        ref = solve_ivp(p.f, p.t_span, p.y0, method="Radau", rtol=1e-10, atol=1e-14, jac=p.jac, t_eval=te)
        scale = 1e-10 + 1e-6 * np.abs(ref.y.T)
        assert np.max(np.abs(ours.y - ref.y.T) / scale) < 100  # a global error of ~45 local tolerances on HIRES
        assert ours.n_steps < 1000


@pytest.mark.parametrize("method", ["radau_iia3", "bdf", "ndf", "sdirk4"])
def test_f_undefined_below_a_level_is_named_where_the_solution_reaches_it(method):
    """y' = −y from 1 with f NaN for y < 1/2: every method integrates up to t = ln 2, where the
    solution leaves f's domain, and raises NonFiniteError naming that t. Before, each ended in
    a bare 'step size underflow', and bdf at t = 0.644 (a NaN Jacobian from a prediction
    outside the domain was kept and poisoned every later Newton matrix)."""
    from numnet.solvers import NonFiniteError

    def f(t, y):
        return np.where(y < 0.5, np.nan, -y)

    with pytest.raises(NonFiniteError, match="returned inf/NaN") as info:
        integrate(method, f, (0, 2), np.array([1.0]), rtol=1e-6, atol=1e-9)
    assert abs(info.value.t - np.log(2)) < 1e-6


@pytest.mark.parametrize("method", ["radau_iia3", "bdf"])
def test_half_precision_is_refused_and_float32_works(method):
    p = P.robertson(1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        integrate(method, p.f, p.t_span, torch.tensor(p.y0, dtype=torch.float16), rtol=1e-3)
    sol = integrate(method, p.f, p.t_span, torch.tensor(p.y0, dtype=torch.float32), rtol=1e-4, atol=1e-7)
    assert sol.y_final.dtype == torch.float32
    np.testing.assert_allclose(sol.y_final.numpy(), p.solution(), rtol=1e-2, atol=1e-6)
