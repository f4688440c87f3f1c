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
