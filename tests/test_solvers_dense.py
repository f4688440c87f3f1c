"""Dense output, t_eval and events beside scipy's solve_ivp (same problems, same steps)."""

import numpy as np
import pytest
import sympy as sp
import torch
from scipy.integrate import solve_ivp

from numnet import schemes
from numnet.schemes import continuous
from numnet.solvers import integrate
from numnet.solvers import problems as P

VDP = P.van_der_pol(1.0)
TS = np.linspace(0, 10, 201)


def x_zero(t, y):
    return y[0]


def test_dormand_prince_extension_is_order_4_and_ends_at_b():
    dp = schemes.get("dormand_prince")
    bt = continuous.polynomials(dp)
    assert [b.subs(continuous.THETA, 1) for b in bt] == list(dp.b)
    assert continuous.order(dp) == 4  # and not 5: the conditions of order 5 fail
    assert all(b.subs(continuous.THETA, 0) == 0 for b in bt)


def test_extension_refused_for_a_tableau_that_differs_from_the_catalog():
    dp = schemes.get("dormand_prince")
    A = sp.Matrix(dp.A)
    A[1, 0] = sp.Rational(1, 4)
    other = schemes.RungeKutta(A.tolist(), list(dp.b), name="dormand_prince")
    assert continuous.weights(other) is None


@pytest.mark.parametrize("pair, method", [("dormand_prince", "RK45"), ("bogacki_shampine", "RK23")])
@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_dense_output_matches_scipy(pair, method, tol):
    """With scipy's controller the steps are scipy's, and the interpolants agree to rounding:
    Dormand–Prince's own order-4 extension (RK45) and the Hermite cubic (RK23's, the same
    polynomial since Bogacki–Shampine is FSAL)."""
    kw = dict(rtol=tol, atol=tol * 1e-2)
    ours = integrate(pair, VDP.f, VDP.t_span, VDP.y0, controller="I", dense_output=True, **kw)
    ref = solve_ivp(VDP.f, VDP.t_span, VDP.y0, method=method, dense_output=True, **kw)
    assert ours.n_steps == len(ref.t) - 1
    np.testing.assert_allclose(ours.sol(TS), ref.sol(TS).T, atol=1e-10)
    np.testing.assert_allclose(ours.sol(5.0), ref.sol(5.0), atol=1e-10)


def test_t_eval_matches_scipy():
    kw = dict(rtol=1e-6, atol=1e-9)
    ours = integrate("dormand_prince", VDP.f, VDP.t_span, VDP.y0, controller="I", t_eval=TS, **kw)
    ref = solve_ivp(VDP.f, VDP.t_span, VDP.y0, method="RK45", t_eval=TS, **kw)
    np.testing.assert_array_equal(ours.t, TS)
    np.testing.assert_allclose(ours.y, ref.y.T, atol=1e-10)


def test_fixed_step_hermite_is_exact_on_the_grid_and_fourth_order_between():
    p = P.harmonic_oscillator()
    grid = integrate("rk4", p.f, p.t_span, p.y0, n_steps=50)
    on = integrate("rk4", p.f, p.t_span, p.y0, n_steps=50, t_eval=grid.t[::5])
    np.testing.assert_array_equal(on.y, grid.y[::5])
    mid = np.linspace(0.05, 4.95, 50)
    errs = [np.abs(integrate("rk4", p.f, p.t_span, p.y0, n_steps=n, t_eval=mid).y - p.exact(mid).T).max()
            for n in (50, 100)]
    assert 3.5 < np.log2(errs[0] / errs[1]) < 4.5


def test_events_both_directions_and_filtered_match_scipy():
    kw = dict(rtol=1e-8, atol=1e-10)
    ours = integrate("dormand_prince", VDP.f, VDP.t_span, VDP.y0, controller="I", events=x_zero, **kw)
    ref = solve_ivp(VDP.f, VDP.t_span, VDP.y0, method="RK45", events=x_zero, **kw)
    assert len(ours.t_events[0]) == len(ref.t_events[0]) == 3
    np.testing.assert_allclose(ours.t_events[0], ref.t_events[0], rtol=1e-11)
    np.testing.assert_allclose(ours.y_events[0], ref.y_events[0], atol=1e-9)
    np.testing.assert_allclose(ours.y_events[0][:, 0], 0, atol=1e-12)

    def rising(t, y):
        return y[0]

    rising.direction = 1.0
    up = integrate("dormand_prince", VDP.f, VDP.t_span, VDP.y0, controller="I", events=[x_zero, rising], **kw)
    ref_up = solve_ivp(VDP.f, VDP.t_span, VDP.y0, method="RK45", events=[x_zero, rising], **kw)
    assert len(up.t_events[1]) == len(ref_up.t_events[1]) == 1
    np.testing.assert_allclose(up.t_events[1], ref_up.t_events[1], rtol=1e-11)


def test_terminal_count_stops_at_that_crossing_like_scipy():
    def second(t, y):
        return y[0]

    second.terminal = 2
    kw = dict(rtol=1e-8, atol=1e-10)
    ours = integrate("dormand_prince", VDP.f, VDP.t_span, VDP.y0, controller="I", events=second, **kw)
    ref = solve_ivp(VDP.f, VDP.t_span, VDP.y0, method="RK45", events=second, **kw)
    assert ref.status == 1 and len(ref.t_events[0]) == len(ours.t_events[0]) == 2
    assert ours.t[-1] == ours.t_events[0][-1]
    np.testing.assert_allclose(ours.t[-1], ref.t[-1], rtol=1e-11)
    np.testing.assert_allclose(ours.y_final, ref.y[:, -1], atol=1e-9)
    assert ours.n_steps == len(ref.t) - 1


def test_fixed_step_event_is_exact_for_free_fall():
    """rk4 and the Hermite cubic are exact for a quadratic: the ground is hit at sqrt(2·10/g)."""

    def ground(t, y):
        return y[0]

    ground.terminal = True
    sol = integrate("rk4", lambda t, y: np.array([y[1], -9.81]), (0, 3), np.array([10.0, 0.0]), h=0.01, events=ground)
    assert abs(sol.t_events[0][0] - np.sqrt(20 / 9.81)) < 1e-12
    assert sol.t[-1] == sol.t_events[0][0] and abs(sol.y_final[0]) < 1e-12


def test_backward_integration_with_t_eval_and_events():
    p = P.harmonic_oscillator()
    te = np.linspace(5, 0, 11)
    ours = integrate("dormand_prince", p.f, (5.0, 0.0), p.exact(5.0), rtol=1e-10, atol=1e-12, t_eval=te, events=x_zero)
    np.testing.assert_allclose(ours.y, p.exact(te).T, atol=1e-8)
    # y = (cos t, −sin t): x crosses zero at 3π/2 and then π/2, found in the direction of integration
    np.testing.assert_allclose(ours.t_events[0], [1.5 * np.pi, 0.5 * np.pi], rtol=1e-9)


def test_torch_dense_output_is_differentiable():
    y0 = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    sol = integrate("dormand_prince", lambda t, y: -y, (0, 1), y0, rtol=1e-9, atol=1e-12, dense_output=True,
                    t_eval=[0.37, 1.0])
    sol.sol(0.61).sum().backward()
    np.testing.assert_allclose(y0.grad.numpy(), np.exp(-0.61), rtol=1e-7)
    np.testing.assert_allclose(sol.y.detach().numpy(), np.exp(-np.array([[0.37], [1.0]])) * [1, 2], rtol=1e-8)


def test_bad_requests_are_named():
    f, y0 = (lambda t, y: -y), np.array([1.0])
    with pytest.raises(ValueError, match="within t_span"):
        integrate("rk4", f, (0, 1), y0, n_steps=4, t_eval=[0.5, 2.0])
    with pytest.raises(ValueError, match="sorted in the direction"):
        integrate("dormand_prince", f, (0, 1), y0, rtol=1e-6, t_eval=[0.5, 0.2])
    with pytest.raises(ValueError, match="single trajectory"):
        integrate("dormand_prince", f, (0, 1), np.ones((3, 1)), rtol=1e-6, events=x_zero)
    with pytest.raises(ValueError, match="save='last'"):
        integrate("rk4", f, (0, 1), y0, n_steps=4, save="last", t_eval=[0.5])
    with pytest.raises(ValueError, match="t = 1.5 lies outside"):
        integrate("rk4", f, (0, 1), y0, n_steps=4, dense_output=True).sol(1.5)
    with pytest.raises(ValueError, match="must return a number"):
        integrate("rk4", lambda t, y: -y, (0, 1), np.array([1.0, 2.0]), n_steps=4, events=lambda t, y: y)
