"""Analysis queries of numnet.schemes (#19): exact costs at higher stage counts, SSP
coefficients, algebraic stability, symmetry, A(α) — against textbook and nodepy values."""

import math

import numpy as np
import pytest
import sympy as sp

from numnet import schemes
from numnet.schemes import Z, gauss_legendre, get, radau_iia
from numnet.schemes._arith import Evaluator


def pade(k, j):
    """The (k, j) Padé approximant of e^z (Hairer–Wanner II, (IV.3.30))."""
    P = sum(sp.factorial(k + j - i) * sp.factorial(k) / (sp.factorial(k + j) * sp.factorial(i) * sp.factorial(k - i)) * Z**i for i in range(k + 1))
    Q = sum(sp.factorial(k + j - i) * sp.factorial(j) / (sp.factorial(k + j) * sp.factorial(i) * sp.factorial(j - i)) * (-Z) ** i for i in range(j + 1))
    return P / Q


# -- exact queries at higher stage counts, in the nodes' number field -----------------
@pytest.mark.parametrize("build,s,order,pade_kj", [
    (gauss_legendre, 4, 8, (4, 4)), (gauss_legendre, 5, 10, (5, 5)), (radau_iia, 4, 7, (3, 4)),
])
def test_collocation_order_and_stability_function(build, s, order, pade_kj):
    m = build(s)
    assert m.order == order
    assert sp.simplify(m.stability_function() - pade(*pade_kj)) == 0
    assert m.is_A_stable
    assert m.is_L_stable == (pade_kj[0] < pade_kj[1])


@pytest.mark.parametrize("name", ["gauss2", "gauss3", "radau_iia2", "radau_iia3", "lobatto_iiia3", "lobatto_iiib3",
                                  "lobatto_iiic3", "heun", "rk4", "euler", "kutta3"])
def test_simplifying_assumptions_agree_with_the_trees(name):
    """The order from B/C/D (Butcher's theorem, collocation) is the order the trees give."""
    m = get(name)
    ev = Evaluator(m.A.tolist(), list(m.b), "exact")
    by_trees = next(n - 1 for n in range(1, 12) if not ev.holds(n))
    assert m.order == by_trees
    shortcut = m._order_by_simplifying()
    assert shortcut in (None, by_trees)
    if name.startswith(("gauss", "radau", "lobatto")):
        assert shortcut == by_trees  # settled without the trees


def test_simplifying_assumptions_of_radau_iia3():
    """Radau IIA, s = 3: B(5), C(3), D(2) (Hairer–Wanner II, Sect. IV.5: B(2s−1), C(s), D(s−1))."""
    m = get("radau_iia3")
    assert [m._simplifying_orders(7, w) for w in "BCD"] == [5, 3, 2]


# -- SSP coefficients ----------------------------------------------------------------------
nodepy_rk = pytest.importorskip("nodepy.runge_kutta_method")
nodepy_lmm = pytest.importorskip("nodepy.linear_multistep_method")


def _from_nodepy(m, name):
    exact = lambda x: sp.Float(x) if isinstance(x, (float, np.floating)) else sp.sympify(x)
    return schemes.RungeKutta([[exact(x) for x in row] for row in m.A], [exact(x) for x in m.b], name=name)


@pytest.fixture(scope="module")
def nodepy_all():
    return nodepy_rk.loadRKM("All")


@pytest.mark.parametrize("name,C", [
    ("euler", 1), ("heun", 1), ("ssprk2", 1), ("ssprk3", 1), ("explicit_midpoint", 0), ("rk4", 0), ("kutta3", 0),
    ("backward_euler", sp.oo), ("implicit_midpoint", 2), ("lobatto_iiia2", 2), ("gauss2", 0), ("radau_iia2", 0),
])
def test_rk_ssp_coefficient_textbook(name, C):
    """Gottlieb–Ketcheson–Shu (2011): forward Euler 1, SSPRK(2,2) = Heun 1, SSPRK(3,3) 1, RK4 0;
    implicit midpoint and trapezoid 2, backward Euler ∞."""
    assert get(name).ssp_coefficient == C


@pytest.mark.parametrize("key,C", [("SSP104", 6), ("SSP43", 2), ("SSP33", 1), ("TR-BDF2", sp.Rational(12, 5))])
def test_rk_ssp_coefficient_of_optimal_methods(key, C, nodepy_all):
    """Ketcheson's SSPRK(10,4): C = 6; Kraaijevanger's SSP(4,3): C = 2 (nodepy's exact tableaus)."""
    m = _from_nodepy(nodepy_all[key], key)
    assert m.precision is None
    assert m.ssp_coefficient == C


def test_rk_ssp_coefficient_against_nodepy(nodepy_all):
    """Every method of nodepy's catalog: numnet's exact radius matches nodepy's bisection
    to its bisection's accuracy: it stops short of the exact value at an entry that reaches
    zero (SSP104: 5.9999995 for 6) and, with its 3e-16 tolerance, runs past it where the
    published tableau is rounded (SSP63: 3.518392309 for the exact 3.518392285)."""
    checked = 0
    for key, m in nodepy_all.items():
        ours = _from_nodepy(m, key).ssp_coefficient
        theirs = m.absolute_monotonicity_radius()
        if theirs == np.inf:
            assert ours == sp.oo, key
        else:
            assert float(ours) == pytest.approx(theirs, rel=1e-7, abs=1e-9), key
        checked += 1
    assert checked >= 25


def test_rk_ssp_coefficient_irrational(nodepy_all):
    """SSP22star (float data): its radius is an irrational root (≈ 0.78475) of the exact
    binary tableau, returned at the data's precision."""
    C = _from_nodepy(nodepy_all["SSP22star"], "SSP22star").ssp_coefficient
    assert isinstance(C, sp.Float) and C not in (0, 1)
    assert float(C) == pytest.approx(nodepy_all["SSP22star"].absolute_monotonicity_radius(), abs=1e-9)


def test_rk_ssp_coefficient_of_float_coefficients():
    """Float tableau: the same value, as a Float at the coefficients' precision."""
    heun = schemes.RungeKutta([[0.0, 0.0], [1.0, 0.0]], [0.5, 0.5])
    C = heun.ssp_coefficient
    assert isinstance(C, sp.Float) and float(C) == 1.0


@pytest.mark.parametrize("name,C", [("ab1", 1), ("ab2", 0), ("ab3", 0), ("bdf1", sp.oo), ("bdf2", 0), ("am1", 2),
                                    ("am2", 0), ("leapfrog", 0), ("nystrom3", 0)])
def test_lmm_ssp_coefficient_textbook(name, C):
    """Forward Euler 1, AB2 0 (β_0 < 0), BDF2 0 (α_0 > 0), trapezoid 2, backward Euler ∞."""
    assert get(name).ssp_coefficient == C


def test_lmm_ssp_coefficient_against_nodepy():
    """nodepy's optimal explicit SSP multistep methods (elm_ssp2: s steps, order 2,
    C = (s−2)/(s−1)) and its Adams, BDF and Nyström families."""
    for s in (3, 4, 5, 6):
        m = nodepy_lmm.elm_ssp2(s)
        ours = schemes.LinearMultistep(list(m.alpha), list(m.beta))
        assert ours.ssp_coefficient == m.ssp_coefficient() == sp.Rational(s - 2, s - 1)
    for ctor, name, steps in [(nodepy_lmm.Adams_Bashforth, "ab", range(1, 6)), (nodepy_lmm.Adams_Moulton, "am", range(1, 5)),
                              (nodepy_lmm.backward_difference_formula, "bdf", range(2, 6)), (nodepy_lmm.Nystrom, "nystrom", range(2, 5))]:
        for s in steps:
            assert float(get(f"{name}{s}").ssp_coefficient) == float(ctor(s).ssp_coefficient()), f"{name}{s}"


# -- algebraic stability, adjoint, symmetry, L-stability ----------------------------------
@pytest.mark.parametrize("name,expected", [
    ("gauss1", True), ("gauss2", True), ("gauss3", True), ("radau_iia1", True), ("radau_iia2", True), ("radau_iia3", True),
    ("lobatto_iiic2", True), ("lobatto_iiic3", True), ("lobatto_iiia2", False), ("lobatto_iiia3", False),
    ("lobatto_iiib2", False), ("lobatto_iiib3", False), ("rk4", False), ("euler", False),
])
def test_algebraic_stability_textbook(name, expected):
    """Hairer–Wanner II, Thm IV.12.9: Gauss, Radau IA/IIA and Lobatto IIIC are algebraically
    stable; Lobatto IIIA/IIIB are not (M has a zero diagonal entry beside non-zeros)."""
    assert get(name).is_algebraically_stable is expected


def test_algebraic_stability_at_higher_stage_counts():
    assert gauss_legendre(4).is_algebraically_stable and radau_iia(4).is_algebraically_stable


def test_algebraic_stability_against_nodepy(nodepy_all):
    checked = 0
    for key, m in nodepy_all.items():
        assert _from_nodepy(m, key).is_algebraically_stable == bool(m.is_algebraically_stable()), key
        checked += 1
    assert checked >= 25


@pytest.mark.parametrize("name,expected", [
    ("implicit_midpoint", True), ("gauss2", True), ("gauss3", True), ("lobatto_iiia2", True), ("lobatto_iiia3", True),
    ("lobatto_iiib3", True), ("lobatto_iiic3", False), ("radau_iia2", False), ("backward_euler", False), ("rk4", False),
    ("heun", False),
])
def test_rk_symmetry_textbook(name, expected):
    """GNI Sect. V.2: Gauss and Lobatto IIIA/IIIB are symmetric; Radau, Lobatto IIIC and explicit methods are not."""
    assert get(name).is_symmetric is expected


def test_symmetry_at_higher_stage_counts():
    assert gauss_legendre(4).is_symmetric and not radau_iia(4).is_symmetric


@pytest.mark.parametrize("name", ["euler", "heun", "kutta3", "rk4", "radau_iia2", "gauss2", "lobatto_iiic3"])
def test_adjoint(name):
    """R*(z) = 1/R(−z); the adjoint's adjoint is the method; same order."""
    m = get(name)
    adj = m.adjoint()
    assert sp.simplify(adj.stability_function() - 1 / m.stability_function().subs(Z, -Z)) == 0
    back = adj.adjoint()
    assert all(sp.radsimp(x - y) == 0 for x, y in zip(back.A, m.A)) and all(sp.radsimp(x - y) == 0 for x, y in zip(back.b, m.b))
    assert adj.order == m.order


@pytest.mark.parametrize("name,expected", [("leapfrog", True), ("milne_simpson", True), ("am1", True), ("nystrom2", True),
                                           ("ab2", False), ("bdf2", False), ("am2", False)])
def test_lmm_symmetry(name, expected):
    assert get(name).is_symmetric is expected


@pytest.mark.parametrize("name,expected", [("bdf1", True), ("bdf2", True), ("am0", True), ("am1", False), ("bdf3", False),
                                           ("ab1", False)])
def test_lmm_L_stability(name, expected):
    """BDF1/BDF2 (= backward Euler) are L-stable; the trapezoid rule is A- but not L-stable;
    BDF3 is not A-stable."""
    assert get(name).is_L_stable is expected


# -- A(alpha) of Runge–Kutta methods -------------------------------------------------------
def _max_modulus_on_ray(R, phi_deg):
    r = np.logspace(-3, 4, 200001)
    z = -r * np.exp(1j * np.radians(phi_deg))
    return np.abs(R(z)).max()


@pytest.mark.parametrize("name", ["kutta3", "rk4"])
def test_rk_stability_angle_of_pade_0j(name):
    """The adjoints of the explicit 3- and 4-stage methods have R = 1/T_j(−z), the (0, j)
    Padé approximants: not A-stable (Ehle: j > k + 2), A(α) with α just below 90°.
    Checked by brute force: rays just inside the angle keep |R| ≤ 1, a ray just outside does not."""
    m = get(name).adjoint()
    assert not m.is_A_stable
    alpha = m.stability_angle()
    assert 80 < alpha < 90
    R = sp.lambdify(Z, m.stability_function(), "numpy")
    for phi in np.linspace(0, alpha - 0.02, 25):
        assert _max_modulus_on_ray(R, phi) <= 1 + 1e-12
    assert _max_modulus_on_ray(R, alpha + 0.02) > 1


@pytest.mark.parametrize("name,expected", [("rk4", None), ("euler", None), ("dormand_prince", None), ("gauss2", 90.0),
                                           ("radau_iia3", 90.0), ("lobatto_iiic2", 90.0), ("backward_euler", 90.0)])
def test_rk_stability_angle_textbook(name, expected):
    """Explicit methods: the stability region is bounded, not even A(0); A-stable methods: 90°."""
    assert get(name).stability_angle() == expected


def test_rk_stability_angle_equals_lmm_for_one_step_methods():
    """Backward Euler as an RK and as BDF1 / AM0: the same angle."""
    assert get("backward_euler").stability_angle() == get("bdf1").stability_angle() == get("am0").stability_angle() == 90.0
