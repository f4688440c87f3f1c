"""numnet <-> nodepy: methods move both ways with their coefficients and properties intact."""

import numpy as np
import pytest
import sympy as sp

from numnet import schemes
from numnet.schemes import from_nodepy, to_nodepy

nodepy_rk = pytest.importorskip("nodepy.runge_kutta_method")
nodepy_lmm = pytest.importorskip("nodepy.linear_multistep_method")

EXPLICIT = [n for n in schemes.names() if schemes.get(n).kind == "RK" and not schemes.get(n).free_symbols
            and schemes.get(n).is_explicit]
LMMS = [n for n in schemes.names() if schemes.get(n).kind == "LMM" and not schemes.get(n).free_symbols]


@pytest.mark.parametrize("name", EXPLICIT + ["gauss2", "radau_iia3", "lobatto_iiic3"])
def test_rk_round_trip_is_exact_and_nodepy_agrees(name):
    ours = schemes.get(name)
    theirs = to_nodepy(ours)
    assert theirs.order() == ours.order  # nodepy derives the order from the exact arrays we handed over
    back = from_nodepy(theirs)
    assert back.A == ours.A and back.b == ours.b and back.c == ours.c and back.b_hat == ours.b_hat
    if ours.b_hat is not None:
        assert isinstance(theirs, nodepy_rk.ExplicitRungeKuttaPair)


@pytest.mark.parametrize("name", LMMS)
def test_lmm_round_trip_is_exact_and_nodepy_agrees(name):
    ours = schemes.get(name)
    theirs = to_nodepy(ours)
    assert theirs.order() == ours.order
    back = from_nodepy(theirs)
    assert back.alpha == ours.alpha and back.beta == ours.beta


def test_from_nodepy_takes_nodepy_catalog_methods():
    rk44 = nodepy_rk.loadRKM("RK44")
    assert from_nodepy(rk44).b == schemes.get("rk4").b
    ab3 = nodepy_lmm.Adams_Bashforth(3)
    assert from_nodepy(ab3, name="ab3").beta == schemes.get("ab3").beta
    bs5 = nodepy_rk.loadRKM("BS5")  # a float-valued nodepy method keeps its binary values
    back = from_nodepy(bs5)
    assert np.array(back.A.tolist(), dtype=float).tolist() == np.asarray(bs5.A, dtype=float).tolist()


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"symbols \{k\} are free"):
        to_nodepy(schemes.get("lm_resnet"))
    odd = schemes.RungeKutta([[0, 0], [sp.Rational(1, 2), 0]], [0, 1], [0, sp.Rational(1, 3)], name="odd")
    with pytest.raises(ValueError, match=r"c = A·1, but c\[1\] = 1/3 while row 1 of A sums to 1/2"):
        to_nodepy(odd)
    with pytest.raises(TypeError, match="from_nodepy takes a nodepy"):
        from_nodepy(object())
