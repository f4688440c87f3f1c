"""Runge–Kutta methods: orders from the package's own Butcher conditions, stability."""

import numpy as np
import pytest
import sympy as sp

from numnet import schemes
from numnet.schemes import RungeKutta

R = sp.Rational

ORDERS = {
    "euler": 1, "explicit_midpoint": 2, "heun": 2, "ralston": 2, "kutta3": 3, "rk4": 4, "rk38": 4,
    "ssprk2": 2, "ssprk3": 3, "poly2": 1, "bogacki_shampine": 3, "dormand_prince": 5, "fehlberg45": 4,
    "cash_karp": 5, "backward_euler": 1, "implicit_midpoint": 2, "gauss1": 2, "gauss2": 4, "gauss3": 6,
    "radau_iia1": 1, "radau_iia2": 3, "radau_iia3": 5, "lobatto_iiia2": 2, "lobatto_iiia3": 4,
    "lobatto_iiib2": 2, "lobatto_iiib3": 4, "lobatto_iiic2": 2, "lobatto_iiic3": 4,
    "lobatto_iiia4": 6, "lobatto_iiib4": 6, "lobatto_iiic4": 6, "sdirk4": 4,
}
EMBEDDED = {"bogacki_shampine": 2, "dormand_prince": 4, "fehlberg45": 5, "cash_karp": 4, "sdirk4": 3}


@pytest.mark.parametrize("name", sorted(ORDERS))
def test_orders(name):
    assert schemes.get(name).order == ORDERS[name]


@pytest.mark.parametrize("name", sorted(EMBEDDED))
def test_embedded_orders(name):
    assert schemes.get(name).embedded_order == EMBEDDED[name]


def test_every_catalog_rk_has_a_known_order():
    rk = [s.name for s in schemes.catalog() if s.kind == "RK"]
    assert set(rk) == set(ORDERS)


def test_collocation_coefficients():
    g2 = schemes.get("gauss2")
    r3 = sp.sqrt(3)
    assert g2.A == sp.Matrix([[R(1, 4), R(1, 4) - r3 / 6], [R(1, 4) + r3 / 6, R(1, 4)]])
    assert g2.b == (R(1, 2), R(1, 2))
    r2 = schemes.get("radau_iia2")
    assert r2.A == sp.Matrix([[R(5, 12), R(-1, 12)], [R(3, 4), R(1, 4)]]) and r2.b == (R(3, 4), R(1, 4))
    l3 = schemes.get("lobatto_iiic3")
    assert l3.A == sp.Matrix([[R(1, 6), R(-1, 3), R(1, 6)], [R(1, 6), R(5, 12), R(-1, 12)], [R(1, 6), R(2, 3), R(1, 6)]])


def test_rk4_stability_function_interval_and_imaginary_interval():
    rk4 = schemes.get("rk4")
    z = schemes.Z
    assert sp.expand(rk4.stability_function() - (1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24)) == 0
    a = rk4.stability_interval().inf
    assert float(a) == pytest.approx(-2.785293563405282, abs=1e-12)
    assert sp.N(1 + a + a**2 / 2 + a**3 / 6 + a**4 / 24, 40) == pytest.approx(1, abs=1e-30)  # exact root
    assert rk4.imaginary_stability_interval() == 2 * sp.sqrt(2)


def test_imaginary_interval_independent_of_number_mode():
    rk4 = schemes.get("rk4")
    f = RungeKutta(rk4.A.applyfunc(lambda x: sp.Float(float(x))), [sp.Float(float(x)) for x in rk4.b], name="rk4 (float)")
    assert float(f.imaginary_stability_interval()) == pytest.approx(float(2 * sp.sqrt(2)), rel=1e-13)
    assert float(f.stability_interval().inf) == pytest.approx(-2.785293563405282, rel=1e-13)
    assert f.order == 4


@pytest.mark.parametrize("name", ["gauss1", "gauss2", "gauss3", "radau_iia1", "radau_iia2", "radau_iia3"])
def test_gauss_and_radau_are_A_stable(name):
    m = schemes.get(name)
    assert m.is_A_stable and m.stability_interval() == sp.Interval(-sp.oo, 0)
    assert m.is_L_stable == name.startswith("radau")


def test_explicit_methods_are_not_A_stable_and_L_stability():
    assert not schemes.get("rk4").is_A_stable
    assert schemes.get("lobatto_iiic2").is_L_stable and not schemes.get("lobatto_iiia2").is_L_stable


def test_stage_order_symplecticity():
    assert [schemes.get(f"gauss{s}").stage_order for s in (1, 2, 3)] == [1, 2, 3]
    assert [schemes.get(f"radau_iia{s}").stage_order for s in (1, 2, 3)] == [1, 2, 3]
    assert all(schemes.get(f"gauss{s}").is_symplectic for s in (1, 2, 3))
    assert not schemes.get("rk4").is_symplectic and not schemes.get("radau_iia2").is_symplectic


def test_error_coefficients():
    # RK4's principal error norm (Dormand–Prince's A^(5))
    rk4 = schemes.get("rk4")
    assert float(rk4.error_constant) == pytest.approx(0.014504582, rel=1e-6)
    # Dormand–Prince 5(4): A^(6) = 3.99e-4 (Dormand & Prince 1980, Table 2)
    assert float(schemes.get("dormand_prince").error_constant) == pytest.approx(3.99e-4, rel=2e-3)
    assert schemes.get("euler").error_coefficients() == {"[•]": R(-1, 2)}


def test_two_stage_family_solved_by_order_conditions():
    fam = schemes.get("rk2_family")
    a21, b1, b2 = sp.symbols("a21 b1 b2")
    assert fam.order_conditions(2) == [sp.Eq(b1 + b2, 1), sp.Eq(a21 * b2, R(1, 2))]
    (sol,) = fam.solve_order_conditions(2)
    assert sp.simplify(sol[b2] - 1 / (2 * a21)) == 0
    assert fam.subs(a21=R(2, 3), b1=R(1, 4), b2=R(3, 4)).order == 2  # Ralston
    assert fam.subs(a21=1, b1=R(1, 4), b2=R(3, 4)).order == 1


def test_region_membership():
    m = schemes.get("euler")
    z = np.array([-1, -2.0001, -1.9999, 0.01, -1 + 0.99j])
    assert m.in_stability_region(z).tolist() == [True, False, True, False, True]


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        RungeKutta([[0, 0], [1]], [1, 0])
    with pytest.raises(ValueError, match="b must have one weight per stage \\(2\\), got 3"):
        RungeKutta([[0, 0], [1, 0]], [1, 0, 0])
    with pytest.raises(TypeError, match="A\\[1\\]\\[0\\]"):
        RungeKutta([[0, 0], [{}, 0]], [1, 0])
    with pytest.raises(ValueError, match="order of rk2_family is undefined.*a21"):
        schemes.get("rk2_family").order


def test_latex():
    tex = schemes.get("heun").to_latex()
    assert tex.startswith(r"\begin{array}{c|cc}") and r"\frac{1}{2}" in tex


def _reference_nodes(family, s):
    from numpy.polynomial import legendre as L

    P = lambda n: np.eye(n + 1)[n]  # noqa: E731  Legendre series of P_n on [-1, 1]
    x = {"gauss_legendre": lambda: L.legroots(P(s)),
         "radau_iia": lambda: L.legroots(L.legsub(P(s), P(s - 1))),  # P_s(2t-1) - P_{s-1}(2t-1)
         "lobatto_iiia": lambda: np.r_[-1, L.legroots(L.legder(P(s - 1))), 1]}[family]()
    return np.sort((np.real(x) + 1) / 2)


@pytest.mark.parametrize("family, s", [("gauss_legendre", 4), ("gauss_legendre", 5), ("radau_iia", 4),
                                       ("lobatto_iiia", 5)])
def test_collocation_methods_beyond_the_catalog_are_exact_collocation(family, s):
    """Nodes in radicals (or CRootOf where Cardano needs complex numbers: Radau s = 4),
    weights solved in their number field: C(s), B(s) and, for Gauss, B(2s) hold to
    rounding; nodes agree with numpy's Legendre roots."""
    m = getattr(schemes, family)(s)
    assert not any(e.atoms(sp.Float) for e in (*m.A, *m.b, *m.c))  # exact
    A = np.array(m.A.evalf(30).tolist(), dtype=float)
    b, c = np.array([float(x) for x in m.b]), np.array([float(x) for x in m.c])
    np.testing.assert_allclose(c, _reference_nodes(family, s), atol=1e-14)
    for k in range(1, s + 1):
        np.testing.assert_allclose(A @ c ** (k - 1), c**k / k, atol=1e-14)
    quadrature = 2 * s if family == "gauss_legendre" else s
    for k in range(1, quadrature + 1):
        assert abs(b @ c ** (k - 1) - 1 / k) < 1e-14
