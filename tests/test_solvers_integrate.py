"""integrate(): exact one-step identities, batching, counts, options and bad input."""

import numpy as np
import pytest
import sympy as sp

from numnet import schemes
from numnet.schemes import Z
from numnet.solvers import ConvergenceError, integrate
from numnet.solvers import problems as P

RK = [s for s in schemes.catalog() if s.kind == "RK"]
LMM = [s for s in schemes.catalog() if s.kind == "LMM"]
LAMBDAS = np.array([-3.0, -1.0, -0.2, 0.5, -1.0 + 2.0j, -0.3 - 0.7j])


def linear(lam):
    lam = np.asarray(lam).reshape(-1, 1)
    return (lambda t, y: lam * y), (lambda t, y: lam[..., None] * np.ones_like(y)[..., None])


@pytest.mark.parametrize("scheme", RK, ids=lambda s: s.name)
def test_rk_on_linear_problem_is_its_stability_function(scheme):
    """n steps on y' = λy give R(hλ)^n with R the scheme's exact stability function."""
    h, n = 0.1, 7
    f, jac = linear(LAMBDAS)
    sol = integrate(scheme, f, (0.0, n * h), np.ones((len(LAMBDAS), 1), complex), n_steps=n, jac=jac)
    R = sp.lambdify(Z, scheme.stability_function(), "numpy")
    np.testing.assert_allclose(sol.y[:, :, 0], R(h * LAMBDAS)[None, :] ** np.arange(n + 1)[:, None], rtol=1e-12)


@pytest.mark.parametrize("scheme", LMM, ids=lambda s: s.name)
def test_lmm_on_linear_problem_is_its_recurrence(scheme):
    """From given starting values, y' = λy follows Σ (α_j − hλβ_j) y_{n+j} = 0."""
    h, n, s = 0.1, 9, scheme.steps
    rng = np.random.default_rng(1)
    start = rng.normal(size=(s - 1, len(LAMBDAS), 1)) + 1j * rng.normal(size=(s - 1, len(LAMBDAS), 1))
    f, jac = linear(LAMBDAS)
    sol = integrate(scheme, f, (0.0, n * h), np.ones((len(LAMBDAS), 1), complex), n_steps=n, jac=jac,
                    start_values=start)
    a = np.array([float(x) for x in scheme.alpha])
    b = np.array([float(x) for x in scheme.beta])
    z = h * LAMBDAS
    ys = [np.ones(len(LAMBDAS), complex)] + [start[i, :, 0] for i in range(s - 1)]
    while len(ys) <= n:
        rhs = sum((-a[j] + z * b[j]) * ys[-s + j] for j in range(s))
        ys.append(rhs / (1 - z * b[s]))
    np.testing.assert_allclose(sol.y[:, :, 0], np.array(ys), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("name", ["rk4", "dormand_prince", "gauss2", "radau_iia3", "lobatto_iiia3", "ab3", "bdf4", "am3"])
def test_batched_equals_looped(name):
    p = P.van_der_pol(1.0)
    rng = np.random.default_rng(0)
    y0 = rng.normal(size=(2, 3, 2))
    batched = integrate(name, p.f, (0.0, 1.0), y0, n_steps=25)
    for idx in np.ndindex(2, 3):
        single = integrate(name, p.f, (0.0, 1.0), y0[idx], n_steps=25)
        np.testing.assert_allclose(batched.y[(slice(None),) + idx], single.y, rtol=1e-10, atol=1e-12)
    assert batched.y.shape == (26, 2, 3, 2)


def test_counts_of_f_evaluations():
    f = lambda t, y: -y  # noqa: E731
    y0 = np.array([1.0])
    assert integrate("rk4", f, (0, 1), y0, n_steps=10).n_f_evals == 40
    # first same as last: 6 new stages per step plus f(y0)
    assert integrate("dormand_prince", f, (0, 1), y0, n_steps=10).n_f_evals == 61
    # AB3 started by two single 3/8-rule steps: f(y0), 2 x 3 stages, f(y1), f(y2), then one per step
    sol = integrate("ab3", f, (0, 1), y0, n_steps=10, starter="rk38", start_substeps=1)
    assert sol.n_f_evals == 1 + 6 + 2 + 8
    counted = []

    def g(t, y):
        counted.append(1)
        return -y

    sol = integrate("gauss2", g, (0, 1), y0, n_steps=5)
    assert sol.n_f_evals == len(counted) and sol.n_jac_evals == 5 and sol.n_newton_iters >= 5


def test_default_starter_makes_lmm_starting_error_negligible():
    """AB6 on y' = −y: with the default starter the error equals that with exact starting values."""
    p = P.dahlquist()
    h, n = 0.05, 20
    exact_start = np.exp(-h * np.arange(1, 6))[:, None]
    default = integrate("ab6", p.f, (0, 1), p.y0, n_steps=n)
    exact = integrate("ab6", p.f, (0, 1), p.y0, n_steps=n, start_values=exact_start)
    err_default = abs(default.y_final[0] - np.exp(-1))
    err_exact = abs(exact.y_final[0] - np.exp(-1))
    assert err_exact > 0 and abs(err_default - err_exact) < 0.05 * err_exact


def test_one_argument_f_is_autonomous_and_save_last():
    a = integrate("heun", lambda y: -2 * y, (0, 1), [1.0], n_steps=8, save="last")
    b = integrate("heun", lambda t, y: -2 * y, (0, 1), [1.0], n_steps=8)
    assert a.t.tolist() == [0.0, 1.0] and a.y.shape == (2, 1)
    np.testing.assert_array_equal(a.y_final, b.y_final)


def test_nonautonomous_f_sees_the_stage_times():
    """y' = cos t, y(0) = 0: RK4 (Simpson's rule per step) integrates it to O(h^4)."""
    sol = integrate("rk4", lambda t, y: np.cos(t) + 0 * y, (0, 2), [0.0], n_steps=20)
    assert abs(sol.y_final[0] - np.sin(2.0)) < 1e-6


def test_backward_span_and_shortened_last_step():
    back = integrate("rk4", lambda t, y: -y, (1.0, 0.0), [np.exp(-1.0)], h=0.01)
    assert back.t[0] == 1.0 and back.t[-1] == 0.0 and abs(back.y_final[0] - 1.0) < 1e-9
    short = integrate("rk4", lambda t, y: -y, (0.0, 1.0), [1.0], h=0.3, last_step="shorten")
    assert short.t.tolist() == pytest.approx([0.0, 0.3, 0.6, 0.9, 1.0]) and short.n_steps == 4
    # the same as three steps of 0.3 followed by one of 0.1
    a = integrate("rk4", lambda t, y: -y, (0.0, 0.9), [1.0], n_steps=3)
    b = integrate("rk4", lambda t, y: -y, (0.9, 1.0), a.y_final, n_steps=1)
    np.testing.assert_allclose(short.y_final, b.y_final, rtol=1e-15)


def test_stiff_problems_with_implicit_schemes():
    """Robertson with BDF5 and Radau IIA3: h = 1e-3 through the initial layer, then h = 0.1
    (stiffness ratio ~1e4·h); the reference to 1e-7 relative and the linear invariant
    y1 + y2 + y3 = 1 to rounding (every RK and LMM keeps linear invariants).

    (With h = 0.1 from t = 0 the first implicit step's equations have a second, unphysical
    root with y2 < 0; the damped Newton iteration keeps to the physical one, see
    test_solvers_trust.py. The small steps through the layer are for accuracy.)"""
    p = P.robertson()
    ref = p.solution()
    for name in ("bdf5", "radau_iia3"):
        layer = integrate(name, p.f, (0.0, 0.1), p.y0, h=1e-3, jac=p.jac)
        sol = integrate(name, p.f, (0.1, p.t_end), layer.y_final, h=0.1, jac=p.jac)
        np.testing.assert_allclose(sol.y_final, ref, rtol=1e-7)
        assert np.max(np.abs(p.invariants["mass"](sol.y) - 1.0)) < 1e-13
    vdp = P.van_der_pol(1000.0)
    sol = integrate("radau_iia3", vdp.f, vdp.t_span, vdp.y0, h=0.02)  # finite-difference Jacobian
    np.testing.assert_allclose(sol.y_final, vdp.solution(), rtol=1e-6)


def test_gauss_conserves_quadratic_invariants_rk4_does_not():
    p = P.kepler()
    L = p.invariants["angular_momentum"]
    gauss = integrate("gauss2", p.f, (0, 3 * p.t_end), p.y0, n_steps=600, jac=p.jac)
    rk4 = integrate("rk4", p.f, (0, 3 * p.t_end), p.y0, n_steps=600)
    assert np.max(np.abs(L(gauss.y) - L(p.y0))) < 1e-13
    assert np.max(np.abs(L(rk4.y) - L(p.y0))) > 1e-7
    # and the symplectic method's energy error stays bounded: back to rounding after whole periods
    H = p.invariants["energy"]
    assert abs(H(gauss.y_final) - H(p.y0)) < 1e-12 < 1e-7 < abs(H(rk4.y_final) - H(p.y0))


def test_free_symbols_must_be_substituted():
    with pytest.raises(ValueError, match=r"symbols \{k\} are free; give them values with \.subs\(k=\.\.\.\)"):
        integrate("lm_resnet", lambda t, y: -y, (0, 1), [1.0], n_steps=4)
    lm = schemes.get("lm_resnet").subs(k=0)  # k = 0 is explicit midpoint-free Euler: u_{n+1} = u_n + h f(u_n)
    sol = integrate(lm, lambda t, y: -y, (0, 1), [1.0], n_steps=4, start_values=[[0.75]])
    assert sol.y_final[0] == pytest.approx(0.75**4)


def test_implicit_solve_that_cannot_converge_raises_with_step_t_and_residual():
    # backward Euler on y' = y² from 1 with h = 0.5: y1 − 0.5 y1² = 1 has no real root
    with pytest.raises(ConvergenceError, match=r"backward_euler did not converge at step 0 \(t = 0\): residual norm") as exc:
        integrate("backward_euler", lambda t, y: y * y, (0.0, 1.0), [1.0], h=0.5)
    assert exc.value.step == 0 and exc.value.t == 0.0 and exc.value.residual > 1e-3
    with pytest.raises(ConvergenceError, match="at step 1 "):  # the first step is solvable, the second not
        integrate("backward_euler", lambda t, y: y * y, (0.0, 0.5), [1.0], n_steps=2)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(y0=np.float64(1.0)), ValueError, r"y0 must have shape \(\.\.\., d\).*got a scalar"),
        (dict(y0=np.zeros((3, 0))), ValueError, "non-empty dimensions"),
        (dict(y0=[1.0, np.nan]), ValueError, "NaN"),
        (dict(y0=["a"]), TypeError, "real or complex numbers"),
        (dict(y0=[[1.0, 2.0], [3.0]]), ValueError, "array of shape"),
        (dict(f=lambda t, y: y[..., :1]), ValueError, r"f returned shape \(1,\) for y of shape \(2,\)"),
        (dict(f=lambda t, y: [0.0, 0.0]), TypeError, "f must return a numpy array"),
        (dict(f=3), TypeError, "f must be callable"),
        (dict(h=0.3, n_steps=None), ValueError, "does not divide the span"),
        (dict(h=-0.1, n_steps=None), ValueError, "h must be a positive"),
        (dict(n_steps=0), ValueError, "n_steps must be a positive integer"),
        (dict(n_steps=2.5), ValueError, "n_steps must be a positive integer"),
        (dict(n_steps=4, h=0.25), ValueError, "exactly one of h= and n_steps="),
        (dict(n_steps=None), ValueError, "give h= or n_steps="),
        (dict(t_span=(0.0, 0.0)), ValueError, "t0 != t1"),
        (dict(t_span=(0.0, np.inf)), ValueError, "finite"),
        (dict(t_span="ab"), ValueError, "pair"),
        (dict(scheme="rk5"), ValueError, "unknown scheme 'rk5'"),
        (dict(scheme=object()), TypeError, "RungeKutta or LinearMultistep"),
        (dict(backend="jax"), ValueError, "backend must be one of"),
        (dict(save="some"), ValueError, "save must be one of"),
        (dict(last_step="stretch", h=0.3, n_steps=None), ValueError, "last_step must be one of"),
        (dict(scheme="ab3", h=0.3, n_steps=None, last_step="shorten"), ValueError, "multistep method and needs equal steps"),
        (dict(scheme="ab3", start_values=np.zeros((1, 2))), ValueError, r"must have shape \(s-1, \.\.\.\) = \(2, 2\)"),
        (dict(start_values=np.zeros((1, 2))), ValueError, "start_values are for multistep"),
        (dict(scheme="ab3", start_substeps=0), ValueError, "start_substeps must be a positive integer"),
        (dict(scheme="ab3", starter="ab2"), TypeError, "starter must be a one-step Runge"),
        (dict(scheme="gauss2", jac=lambda t, y: np.eye(3)), ValueError, r"jac\(t, y\) must return .* \(2, 2\)"),
        (dict(rtol=1e-6), ValueError, "give either h=/n_steps="),
        (dict(rtol=1e-6, n_steps=None), ValueError, "rk4 has none"),
        (dict(scheme="dormand_prince", rtol=-1.0, n_steps=None), ValueError, "rtol must be a non-negative"),
        (dict(scheme="dormand_prince", rtol=0.0, atol=0.0, n_steps=None), ValueError, "cannot both be 0"),
        (dict(scheme="dormand_prince", rtol=1e-3, controller="PID", n_steps=None), ValueError, "controller must be"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(kwargs, exc, match):
    args = dict(scheme="rk4", f=lambda t, y: -y, t_span=(0.0, 1.0), y0=np.array([1.0, 2.0]), n_steps=4)
    args.update(kwargs)
    scheme, f, span, y0 = (args.pop(k) for k in ("scheme", "f", "t_span", "y0"))
    with pytest.raises(exc, match=match):
        integrate(scheme, f, span, y0, **args)


def test_integer_numpy_y0_becomes_float64():
    sol = integrate("euler", lambda t, y: -y, (0, 1), [1, 2], n_steps=2)
    assert sol.y.dtype == np.float64 and sol.y_final.tolist() == [0.25, 0.5]
