"""No silent wrong numbers from the solvers: non-finite states, hanging step control, spurious
Newton roots and torch internals each become a named numnet error (or the right answer)."""

import numpy as np
import pytest
import torch
from scipy.optimize import fsolve

from numnet import schemes
from numnet.solvers import ConvergenceError, NonFiniteError, integrate, linear_stability
from numnet.solvers import problems as P
from numnet.solvers.coefficients import tableau

ROBERTSON_SCHEMES = ("backward_euler", "radau_iia2", "radau_iia3", "lobatto_iiic3", "gauss2", "implicit_midpoint")


def physical_root(name, f, y0, h, n_continuation=60):
    """One RK step's y1 on the branch of the stage equations that starts at Z = 0 for h → 0,
    followed by continuation in h (scipy's fsolve from the previous h's root): the root
    the integration means, whatever other roots the equations have."""
    tab = tableau(schemes.get(name))
    m, d = tab.stages, len(y0)
    Z = np.zeros(m * d)
    for hk in np.geomspace(1e-8, h, n_continuation):
        Z = fsolve(lambda z: z - (hk * tab.A @ f(0.0, y0 + z.reshape(m, d))).ravel(), Z, xtol=1e-13)
    return y0 + tab.d @ Z.reshape(m, d)


@pytest.mark.filterwarnings("ignore:The iteration is not making good progress")  # fsolve, once (backward_euler, h = 1): same root as with 400 continuation steps
@pytest.mark.parametrize("h", [1.0, 0.1, 0.01])
@pytest.mark.parametrize("name", ROBERTSON_SCHEMES)
def test_robertson_first_step_finds_the_physical_root(name, h):
    """One step from (1, 0, 0) with a finite-difference Jacobian. Before the damped Newton,
    12 of these 18 cases converged quietly to a spurious root with y2 between −3.7e-5 and
    −1.4e-4, and the other 6 (h = 1) raised ConvergenceError: the Jacobian at the start has
    no stiff part (y2 = y3 = 0), so the second, simplified step overshoots (to y2 ≈ −48 for
    h = 0.1) and full Newton then converges to the root on the far side."""
    p = P.robertson()
    sol = integrate(name, p.f, (0.0, h), p.y0, n_steps=1)
    np.testing.assert_allclose(sol.y_final, physical_root(name, p.f, p.y0, h), rtol=1e-7, atol=1e-12)
    if (name, h) != ("gauss2", 1.0):  # Gauss's R(∞) = 1 leaves y2 = −5.6e-6 on the physical branch itself
        assert sol.y_final[1] >= 0
    assert sol.n_newton_iters <= 30


@pytest.mark.parametrize("name", ROBERTSON_SCHEMES)
def test_robertson_to_t1_matches_scipy_radau_to_the_stiff_order(name):
    """100 steps of h = 0.01 from t = 0 (through the initial layer): relative error against
    scipy Radau (rtol 1e-12) within 10·h^min(p, q+1), q the stage order (the order of an
    implicit RK method on stiff problems, Hairer–Wanner II §VI.7); y2 ≥ 0 throughout."""
    p = P.robertson()
    s = schemes.get(name)
    h = 0.01
    sol = integrate(name, p.f, (0.0, 1.0), p.y0, h=h, jac=p.jac)
    ref = p.reference(1.0)
    assert np.max(np.abs(sol.y_final - ref) / ref) <= 10 * h ** min(s.order, s.stage_order + 1)
    assert sol.y[:, 1].min() >= 0


@pytest.mark.parametrize("name", ["bdf1", "bdf2", "bdf3", "bdf5"])
def test_robertson_bdf_from_t0_with_large_steps_stays_on_the_physical_branch(name):
    """h = 0.1 from t = 0 to 40: before, BDF1 ended on the spurious branch at y1 = −0.34
    and BDF2–5 (started on it by Radau IIA3) raised ConvergenceError at t ≈ 3.5. Now the
    relative error is within 0.05·h^p of scipy's Radau, and y2 ≥ 0 throughout."""
    p = P.robertson()
    s = schemes.get(name)
    sol = integrate(name, p.f, p.t_span, p.y0, h=0.1)
    assert np.max(np.abs(sol.y_final - p.solution()) / p.solution()) <= 0.05 * 0.1**s.order
    assert sol.y[:, 1].min() >= 0


def test_a_starter_failure_names_the_scheme_asked_for():
    with pytest.raises(ConvergenceError, match=r"implicit solve of bdf3 \(its starting values by radau_iia3\) did not"):
        integrate("bdf3", P.robertson().f, (0, 40), P.robertson().y0, h=0.1, max_newton_iter=2)


def test_implicit_solve_without_a_root_still_raises():
    """y' = y², y(0) = 1, h = 0.5: z − 0.5(1 + z)² = 0 has no real root; no damped step helps."""
    with pytest.raises(ConvergenceError, match=r"backward_euler did not converge at step 0 \(t = 0\)"):
        integrate("backward_euler", lambda t, y: y * y, (0.0, 1.0), [1.0], h=0.5)


@pytest.mark.parametrize("make", [np.ones, lambda shape: torch.ones(shape, dtype=torch.float64)], ids=["numpy", "torch"])
def test_singular_newton_matrix_is_named_with_step_and_t(make):
    """y' = c(t) y with c(0.3) = 10 and h = 0.1: I − h·J = 0 for the stage at t = 0.3 of the
    step from t = 0.2 (step 2); before, numpy said 'residual norm nan after 0 Newton
    iterations' and torch raised its own 'lu_factor: U[1,1] is zero' RuntimeError."""
    c = lambda t: 10.0 if abs(t - 0.3) < 1e-9 else -1.0  # noqa: E731
    jac = lambda t, y: y[..., None] * 0 + c(t)  # noqa: E731
    with pytest.raises(ConvergenceError, match=r"backward_euler failed at step 2 \(t = 0.2\): the Newton matrix I - W\*J"):
        integrate("backward_euler", lambda t, y: c(t) * y, (0, 1), make((2, 1)), h=0.1, jac=jac)


def test_newton_settings_are_checked():
    f = lambda t, y: -y  # noqa: E731
    with pytest.raises(ValueError, match="max_newton_iter must be a positive integer, got 0"):
        integrate("backward_euler", f, (0, 1), [1.0], h=0.1, max_newton_iter=0)
    with pytest.raises(ValueError, match="newton_tol must be a number in"):
        integrate("gauss2", f, (0, 1), [1.0], h=0.1, newton_tol=-1)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_implicit_schemes_refuse_16_bit_floats_by_name(dtype):
    with pytest.raises(TypeError, match="implicit scheme gauss2 needs float32 or float64"):
        integrate("gauss2", lambda t, y: -y, (0, 1), torch.ones(2, dtype=dtype), h=0.1)
    sol = integrate("heun", lambda t, y: -y, (0, 1), torch.ones(2, dtype=dtype), h=0.25)  # explicit: fine
    assert sol.y.dtype == dtype


def test_meta_tensors_are_refused_by_name():
    with pytest.raises(ValueError, match="y0 is a meta tensor"):
        integrate("gauss2", lambda t, y: -y, (0, 1), torch.ones(2, device="meta"), h=0.1)


# -- non-finite values -----------------------------------------------------------------------

STIFF = lambda t, y: -1000 * y  # noqa: E731  Euler with h = 0.1 multiplies by −99 per step


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("make", [lambda: np.array([1.0]), lambda: torch.ones(3, 2, dtype=torch.float64)],
                         ids=["numpy", "torch-batched"])
def test_unstable_euler_raises_where_f_first_overflows(make):
    """y_n = (−99)^n: y_153 = 99^153 = 2.1e305 is finite, f = −1000·y_153 overflows; before,
    the run returned y = nan as a normal Solution. Up to t = 10 the state (3.7e199) is
    finite and returned: only inf/NaN is refused."""
    with pytest.raises(NonFiniteError, match=r"euler: f\(t, y\) returned inf/NaN at step 153 \(t = 15.3\)") as exc:
        integrate("euler", STIFF, (0, 20), make(), h=0.1)
    e = exc.value
    assert (e.step, e.source) == (153, "f") and e.t == pytest.approx(15.3) and e.y_max == pytest.approx(99.0**153)
    assert isinstance(e, ArithmeticError)
    finite = integrate("euler", STIFF, (0, 10), make(), h=0.1)
    assert float(abs(finite.y_final).max()) == pytest.approx(99.0**100)


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
@pytest.mark.parametrize("name", ["rk4", "ab2", "dormand_prince", "bdf2"])
def test_every_stepper_checks_its_states(name):
    """RK4, an explicit LMM, a FSAL pair and an implicit LMM on y' = sqrt(0.58 − t): f is NaN
    from t = 0.6 on; before, a Solution full of NaN came back."""
    f = lambda t, y: np.sqrt(0.58 - t) + 0 * y  # noqa: E731
    with pytest.raises(NonFiniteError, match=rf"^{name}: f\(t, y\) returned inf/NaN at step") as exc:
        integrate(name, f, (0, 1), np.array([1.0]), h=0.05)
    assert exc.value.source == "f" and exc.value.t > 0.58
    if schemes.get(name).is_explicit:  # the raw trajectory on request (Newton cannot solve with a NaN f)
        raw = integrate(name, f, (0, 1), np.array([1.0]), h=0.05, check_finite=False)
        assert np.isnan(raw.y_final).all() and np.isfinite(raw.y[:11]).all()


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_an_overflowing_combination_is_the_state_not_f():
    with pytest.raises(NonFiniteError, match=r"the state became inf/NaN in step 0 from t = 0 although f returned finite") as exc:
        integrate("euler", lambda t, y: 0 * y + 1.5e308, (0, 1), np.array([1e308]), h=1.0)
    assert exc.value.source == "state" and exc.value.y_max == 1e308


def test_f_nan_at_t0_raises_at_once_fixed_and_adaptive():
    """Before: a fixed-step run returned NaN; the adaptive one looped forever (a NaN step
    size never compares below the minimum step). f stops the test rather than hang."""
    calls = []

    def f(t, y):
        calls.append(t)
        if len(calls) > 1000:
            raise RuntimeError("the step control loops on NaN")
        return y * np.nan

    for kwargs in (dict(h=0.1), dict(rtol=1e-6), dict(rtol=1e-6, first_step=0.1)):
        calls.clear()
        with pytest.raises(NonFiniteError, match=r"at step 0 \(t = 0\)"):
            integrate("dormand_prince", f, (0, 1), np.array([1.0]), **kwargs)
        assert len(calls) == 1
    with pytest.raises(ValueError, match="initial step size is NaN"):  # unchecked: still no loop
        integrate("dormand_prince", f, (0, 1), np.array([1.0]), rtol=1e-6, check_finite=False)


def test_adaptive_nan_error_norm_mid_run_raises():
    """f is NaN for t > 0.5: before, the controller rejected and shrank the step down to
    'step size underflow ... may be stiff' (about 50 wasted f-calls) — the wrong diagnosis."""
    f = lambda t, y: -y if t <= 0.5 else y * np.nan  # noqa: E731
    with pytest.raises(NonFiniteError, match=r"dormand_prince: f\(t, y\) returned inf/NaN") as exc:
        integrate("dormand_prince", f, (0, 1), np.array([1.0, 2.0]), rtol=1e-6)
    assert exc.value.t > 0.5 and exc.value.source == "f"
    with pytest.raises(NonFiniteError, match="returned inf/NaN") as exc:  # the torch path alike
        integrate("dormand_prince", f, (0, 1), torch.ones(2, 2, dtype=torch.float64), rtol=1e-6)
    assert exc.value.t > 0.5


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_implicit_f_nan_inside_newton_is_named():
    f = lambda t, y: np.sqrt(0.58 - t) + 0 * y  # noqa: E731
    with pytest.raises(NonFiniteError, match=r"radau_iia3: f\(t, y\) returned inf/NaN at step"):
        integrate("radau_iia3", f, (0, 1), np.array([1.0]), h=0.1)


@pytest.mark.parametrize("name", ["euler", "ab2"])
def test_linear_stability_measures_overflowing_growth_instead_of_raising(name):
    """z = −1e4 overflows within the 80 steps; the check reads that as growth = inf."""
    check = linear_stability(name, np.array([-1e4 + 0j, -0.5 + 0j]))
    assert check.growth[0] == np.inf and check.bounded.tolist() == [False, True] and check.agree.all()


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_convergence_counts_an_overflowing_run_as_an_infinite_error():
    """Euler on y' = −1e5 y with h = 1/256 multiplies by −389 per step and overflows: the
    fit gets error inf for that h (as for a failed implicit solve), not an exception."""
    from numnet.solvers import convergence

    c = convergence("euler", P.dahlquist(-1e5), hs=[1 / 256, 1 / 512])
    assert np.isinf(c.errors).all()
