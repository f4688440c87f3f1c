"""Trustworthy by default (issue #14): exact zero stability for float coefficients, no NaN
in a scheme, the order of a tableau with c ≠ A·1, a warning for nets on schemes that are not
zero-stable, and bounded cost for tree-based queries."""

import math
import warnings

import numpy as np
import pytest
import sympy as sp
import torch

from numnet import nets, schemes
from numnet.schemes import LinearMultistep, RungeKutta
from numnet.schemes._exact import exact
from numnet.schemes.trees import forest, tree_count

R = sp.Rational
LM = schemes.get("lm_resnet")


def binary(x: float) -> sp.Rational:
    """The exact value of a double, independently of numnet's conversion."""
    return R(*float(x).as_integer_ratio())


# -- zero stability, decided exactly -------------------------------------------------------
# rho = (xi - 1)(xi + k): roots 1 and -k
CASES = [
    (-0.999, True),  # roots 1, 0.999: distinct (a 1e-3 "repeated root" tolerance said no)
    (1 + 1e-7, False),  # root -k just outside (a 1e-6 tolerance accepted it)
    (-1.0, False),  # (xi - 1)^2: a double root on the circle
    (1.0, True),  # roots 1, -1: both simple
    (1 + 2**-52, False),  # -k = -(1 + 2^-52): outside by one ulp
    (-1 + 2**-52, True),  # roots 1 and 1 - 2^-52: inside by one ulp, distinct
    (-0.1, True),
    (0.5, True),
]


@pytest.mark.parametrize("k, stable", CASES)
def test_lm_resnet_float_k_zero_stability_is_exact(k, stable):
    s = LM.subs(k=k)
    assert s.is_zero_stable is stable
    # the same answer as the exact Rational scheme, and as the exact family condition
    assert LM.subs(k=binary(k)).is_zero_stable is stable
    assert (binary(k) in LM.zero_stability_condition()) is stable  # (-1, 1]
    # and as the region data: z = 0 is in the stability region iff zero-stable
    assert bool(s.in_stability_region(np.array([0.0]))[0]) is stable
    assert (s.stability_interval() is not sp.S.EmptySet) is stable


@pytest.mark.parametrize("k", [-0.999, -0.1, 0.3, 1 + 1e-7])
def test_subs_of_a_float_keeps_the_coefficients_exact(k):
    s = LM.subs(k=k)
    assert sum(exact(a) for a in s.alpha) == 0  # rho(1) = 0 exactly: k - 1 was not rounded
    assert [exact(a) for a in s.alpha] == [-binary(k), binary(k) - 1, 1]
    assert isinstance(s.alpha[0], sp.Float)  # -k is a double: it stays a Float


def test_region_points_on_the_boundary_agree_with_the_exact_set():
    # leapfrog on z = iy: roots on the circle for |y| < 1, the double root ±i at |y| = 1,
    # one root outside beyond: the exact set is (-1, 1) (root_condition_set)
    leapfrog = schemes.get("leapfrog")
    assert leapfrog.imaginary_stability_interval() == 1
    ys = [0.0, 0.5, 1 - 2**-52, 1.0, 1 + 2**-52, -1.0, -(1 - 2**-53), 1e-300]
    inside = leapfrog.in_stability_region(1j * np.array(ys))
    assert inside.tolist() == [abs(y) < 1 for y in ys]
    # a hair off the axis a root leaves the circle (|xi| - 1 ~ 1e-12, decided exactly): outside
    assert leapfrog.in_stability_region(np.array([-1e-12 + 0.5j, 1e-12 + 0.5j])).tolist() == [False, False]


def test_exact_reads_the_stored_binary_fraction():
    assert exact(sp.Float(0.1)) == R(3602879701896397, 2**55) == binary(0.1)
    f = sp.Float("0.1", 60)
    sign, man, exp, _ = f._mpf_
    assert exact(f) == R(man, 2**-exp) != R(1, 10)
    assert exact(sp.Float(-3.0) * sp.Symbol("k")) == -3 * sp.Symbol("k")


def test_float_adams_and_bdf_variants_agree_with_their_exact_values():
    ab2 = LinearMultistep([0, -1.0, 1.0], [-0.5, 1.5, 0.0])
    assert ab2.is_zero_stable and schemes.get("ab2").is_zero_stable
    bdf2 = LinearMultistep([1 / 3, -4 / 3, 1.0], [0.0, 0.0, 2 / 3])
    bdf2_exact = LinearMultistep([binary(1 / 3), binary(-4 / 3), 1], [0, 0, binary(2 / 3)])
    # rho(1) = 1 - fl(4/3) + fl(1/3) = 2^-54 > 0: the root near 1 moves inside
    assert sum(exact(a) for a in bdf2.alpha) == R(1, 2**54)
    assert bdf2.is_zero_stable and bdf2_exact.is_zero_stable and schemes.get("bdf2").is_zero_stable
    # typed by hand, fl(0.9) + fl(0.1) > 1: rho(1) < 0 puts a root just outside the circle,
    # which is what these numbers do; LM-ResNet's subs(k=0.1) keeps rho(1) = 0 instead
    typed = LinearMultistep([-0.1, -0.9, 1.0], [0.0, 1.0, 0.0])
    assert sum(exact(a) for a in typed.alpha) < 0
    assert not typed.is_zero_stable
    assert not LinearMultistep([-binary(0.1), -binary(0.9), 1], [0, 1, 0]).is_zero_stable
    assert not typed.in_stability_region(np.array([0.0]))[0]
    assert LM.subs(k=0.1).is_zero_stable


def test_learned_k_read_back_from_a_net_is_decided_exactly():
    net = nets.lm_resnet(56, widths=(2, 2, 2))
    values = [-0.999, 1 + 1e-7, -1.0, 1.0, -1 + 2**-23, 1 + 2**-23, -0.05, 0.5]  # float32 values
    with torch.no_grad():
        for stage in net.stages:
            k = stage.coef["k"]
            k.copy_(torch.tensor((values * 3)[: len(k)]))
    steps = [s for s in net.step_schemes() if s.kind == "scheme"]
    assert len(steps) == 24
    for stage_index, stage in enumerate(net.stages):
        ks = [float(v) for v in stage.coef["k"].detach()]  # float32 widened: exact
        mine = [s.scheme.is_zero_stable for s in steps if s.stage == stage_index]
        assert mine == [bool(-1 < binary(k) <= 1) for k in ks]  # the family's condition, k in (-1, 1]
        assert True in mine and False in mine
    # what the net holds is the float32 value: 1 + 1e-7 is stored as 1 + 2^-23, just outside
    assert float(torch.tensor(1 + 1e-7)) == 1 + 2**-23


# -- NaN and infinities never enter a scheme ------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -math.inf, np.float64("nan"), sp.nan, sp.oo])
def test_nonfinite_values_are_rejected_where_they_enter(bad):
    with pytest.raises(ValueError, match=r"k in lm_resnet.subs\(\) must be finite"):
        LM.subs(k=bad)
    with pytest.raises(ValueError, match=r"alpha\[0\] must be finite"):
        LinearMultistep([bad, -1, 1], [0, 1, 0])
    with pytest.raises(ValueError, match=r"A\[1\]\[0\] must be finite"):
        RungeKutta([[0, 0], [bad, 0]], [0, 1])
    with pytest.raises(ValueError, match=r"b\[1\] must be finite"):
        RungeKutta([[0, 0], [1, 0]], [0, bad])


def test_a_substitution_that_divides_by_zero_is_rejected():
    k = sp.Symbol("k")
    family = LinearMultistep([-1, 1], [0, 1 / (1 + k)], name="fam")
    with pytest.raises(ValueError, match=r"beta\[1\] must be finite"):
        family.subs(k=-1)


@pytest.mark.parametrize("options, message", [
    (dict(k=float("nan")), "k of lm_resnet must be finite, got nan"),
    (dict(k=math.inf), "k of lm_resnet must be finite, got inf"),
    (dict(init=float("nan")), r"init of k: constant needs finite numbers, got \(nan,\)"),
    (dict(init=("uniform", -0.1, math.inf)), "init of k: uniform needs finite numbers"),
    (dict(init=("normal", float("nan"), 0.1)), "init of k: normal needs finite numbers"),
    (dict(init=lambda t: t.fill_(float("nan"))), "init of k gave non-finite values"),
])
def test_nets_reject_nonfinite_k_and_init(options, message):
    with pytest.raises(ValueError, match=message):
        nets.build("lm_resnet", 14, widths=(2, 2, 2), **options)


# -- Runge–Kutta tableaux with c != A·1 ----------------------------------------------------
MIDPOINT = dict(A=[[0, 0], [R(1, 2), 0]], b=[0, 1])


def _errors(scheme, ns):
    from numnet.solvers import integrate

    out = []
    for n in ns:
        sol = integrate(scheme, lambda t, y: t * np.ones_like(y), (0.0, 1.0), np.zeros(1), n_steps=n)
        out.append(abs(float(np.asarray(sol.y)[-1, 0]) - 0.5))  # y' = t, y(1) = 1/2
    return out


def test_a_tableau_with_c_off_the_row_sums_reports_the_order_it_converges_at():
    good = RungeKutta(**MIDPOINT)
    shifted = RungeKutta(**MIDPOINT, c=[0, 1])  # stage 2 at t_n + h, state at y_n + h/2 k1
    assert good.order == 2 and shifted.order == 1
    assert shifted.order_conditions(2) == [sp.true, sp.true]  # the autonomous conditions (c = A·1) hold
    ns = [10, 20, 40, 80]
    assert max(_errors(good, ns)) < 1e-14  # the midpoint rule integrates y' = t exactly
    err = _errors(shifted, ns)
    slopes = [math.log2(a / b) for a, b in zip(err, err[1:])]
    assert err[0] == pytest.approx(0.05, rel=1e-9)  # error h/2 = Σ h·h/2 over the steps
    assert slopes == pytest.approx([1.0] * 3, abs=1e-6)


def test_c_off_the_row_sums_where_it_does_not_matter_keeps_the_order():
    # the third stage has weight 0, so its node is never used
    rk = RungeKutta([[0, 0, 0], [R(1, 2), 0, 0], [0, 0, 0]], [0, 1, 0], c=[0, R(1, 2), 5])
    assert rk.order == 2
    # RK4 with c3 moved from 1/2 to 1/4: Σ b_i c_i = (2·1/2 + 2·1/4 + 1)/6 = 5/12 ≠ 1/2
    rk4 = schemes.get("rk4")
    moved = RungeKutta(rk4.A, rk4.b, c=[0, R(1, 2), R(1, 4), 1])
    assert rk4.order == 4 and moved.order == 1


# -- nets on schemes that are not zero-stable ------------------------------------------------
def _build_warnings(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        builder = kwargs.pop("builder")
        builder(*args, **kwargs)
    return [w for w in caught if issubclass(w.category, nets.ZeroStabilityWarning)]


def test_nets_on_schemes_that_are_not_zero_stable_warn_at_build():
    w = _build_warnings(14, k=1.5, widths=(2, 2, 2), builder=nets.lm_resnet)
    assert len(w) == 1
    msg = str(w[0].message)
    assert "lm_resnet(k=1.5) is not zero-stable (3 of 6 steps)" in msg and "roots -1.5, 1" in msg and "|xi| = 1.5 > 1" in msg
    w = _build_warnings(14, k=-1, widths=(2, 2, 2), builder=nets.lm_resnet)
    assert "roots 1 (multiplicity 2): a repeated root on the unit circle" in str(w[0].message)
    w = _build_warnings("bdf7", 44, widths=(2, 2, 2), builder=nets.scheme_net)  # 7 blocks: 1 BDF7 step per stage
    assert len(w) == 1 and "bdf7 is not zero-stable (3 of 21 steps)" in str(w[0].message)
    assert "|xi| = 1.02222 > 1" in str(w[0].message)
    w = _build_warnings(14, init=1 + 2**-20, widths=(2, 2, 2), builder=nets.lm_resnet)  # learnable, at its init
    assert len(w) == 1 and "with k = 1" in str(w[0].message)


@pytest.mark.parametrize("k", [None, 1.0, -0.999, 0.0])
def test_zero_stable_nets_do_not_warn(k):
    assert _build_warnings(14, k=k, widths=(2, 2, 2), builder=nets.lm_resnet) == []


# -- bounded cost ---------------------------------------------------------------------------------
A000081 = [1, 1, 2, 4, 9, 20, 48, 115, 286, 719, 1842, 4766, 12486, 32973, 87811, 235381]


def test_tree_count_is_a000081_and_matches_the_forest():
    assert [tree_count(n) for n in range(1, 17)] == A000081
    f = forest(12)
    assert [len(f.of_order(n)) for n in range(1, 13)] == A000081[:12]
    assert tree_count(30) == 354426847597 and tree_count(25) == 2067174645


def test_unreasonable_tree_requests_are_refused_with_the_tree_count():
    with pytest.raises(ValueError, match="forest\\(30\\) would need 354,426,847,597 trees of order 30; "
                                         "numnet generates trees up to order 16"):
        forest(30)
    rk4 = schemes.get("rk4")
    with pytest.raises(ValueError, match="order_conditions\\(30\\) would need 354,426,847,597 trees of order 30; "
                                         "numnet derives them up to order 10"):
        rk4.order_conditions(30)
    with pytest.raises(ValueError, match="error_coefficients\\(25\\) would need 2,067,174,645 trees of order 25"):
        rk4.error_coefficients(25)
    with pytest.raises(ValueError, match="modified_equation\\(30, form='difference'\\) would need "
                                         "997,171,512,998 trees of order 31"):
        rk4.modified_equation(30)
    with pytest.raises(ValueError, match="would need 997,171,512,998 trees of order 31"):
        LM.subs(k=0).modified_equation(30, form="vector_field")
    # the difference form of an LMM needs no trees: no bound
    assert LM.modified_equation(30).order == 30
