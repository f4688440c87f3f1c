"""One scheme, one step plan: the solvers and the nets run the same numbers.

The parity test runs every explicit catalog scheme twice on a linear vector field
F(u) = W u with the same step h and the same starting values: as a net stage
(:class:`numnet.nets.SchemeStage` of :class:`~numnet.nets.LinearField` blocks) and with
:func:`numnet.solvers.integrate`. Both read :func:`numnet.schemes.plan.plan_of`, so the
final states agree to rounding (float64).
"""

import numpy as np
import pytest
import sympy as sp
import torch

from numnet import schemes, solvers
from numnet._combine import combine
from numnet.nets import LinearField, SchemeStage
from numnet.nets.reversible import MultistepBlock
from numnet.nets.steps import rule_for
from numnet.schemes import partitioned
from numnet.schemes.plan import plan_of
from numnet.solvers.coefficients import tableau

# dyadic values for the free symbols: exact in float64, so the net's float parameter and
# the solver's exact substitution are the same number
SYMBOL_VALUES = {"k": sp.Rational(-1, 4), "b1": sp.Rational(11, 8), "b2": sp.Rational(-3, 8),
                 "a21": sp.Rational(5, 8)}
RK2_FAMILY = {"a21": sp.Rational(1, 2), "b1": sp.Rational(0), "b2": sp.Rational(1)}  # explicit midpoint


def _explicit_names():
    out = []
    for name in schemes.names():
        implicit = plan_of(schemes.get(name)).implicit
        out.append(pytest.param(name, marks=pytest.mark.skip(
            reason="implicit: the net runs fixed-point sweeps, the solver Newton's method (different maps)"))
            if implicit else name)
    return out


def _values(scheme):
    table = RK2_FAMILY if scheme.name == "rk2_family" else SYMBOL_VALUES
    return {s.name: table[s.name] for s in scheme.free_symbols}


@pytest.mark.parametrize("name", _explicit_names())
def test_net_stage_equals_solvers_integrate(name):
    scheme = schemes.get(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    W, y0 = rng.normal(size=(3, 3)) / 2, rng.normal(size=3)
    h, n = sp.Rational(1, 8), 9
    values = _values(scheme)
    field = LinearField(3, torch.as_tensor(W)).double()
    init = {k: float(v) for k, v in values.items()} or None
    stage = SchemeStage(scheme, [field] * n, entry=False, h=h, rk_blocks="shared", init=init).double()
    out = stage(torch.tensor(y0).reshape(1, 3, 1, 1)).reshape(3).detach().numpy()

    concrete = scheme.subs(values) if values else scheme
    kw = {}
    if scheme.kind == "LMM" and scheme.steps > 1:  # the stage starts with Euler steps: same start
        ys = [y0]
        for _ in range(scheme.steps - 1):
            ys.append(ys[-1] + float(h) * (W @ ys[-1]))
        kw["start_values"] = np.array(ys[1:])
    sol = solvers.integrate(concrete, lambda t, y: y @ W.T, (0.0, float(n * h)), y0, n_steps=n, **kw)
    np.testing.assert_allclose(out, sol.y_final, rtol=1e-12, atol=1e-13)
    assert np.abs(out - y0).max() > 0.1  # the steps moved the state


def test_every_executor_reads_the_same_plan():
    ab3, rk4 = schemes.get("ab3"), schemes.get("rk4")
    assert tableau(ab3).plan is rule_for(ab3).plan is ab3.plan is plan_of(schemes.get("ab3"))
    assert tableau(rk4).plan is rule_for(rk4).plan
    leap = schemes.get("leapfrog")
    assert MultistepBlock(leap, torch.nn.Identity(), h=0.1).plan is leap.plan


@pytest.mark.parametrize("name, fsal", [("dormand_prince", True), ("bogacki_shampine", True), ("rk4", False),
                                        ("heun", False), ("cash_karp", False), ("euler", False)])
def test_fsal_is_the_textbook_property(name, fsal):
    assert plan_of(schemes.get(name)).fsal is fsal


def test_layout_of_textbook_schemes():
    ab2 = plan_of(schemes.get("ab2"))  # y2 = y1 + h(3/2 f1 - 1/2 f0)
    assert (ab2.state_terms, ab2.f_terms, ab2.implicit, ab2.lerp, ab2.solvable_oldest) == ((1,), (0, 1), False,
                                                                                           None, False)
    assert ab2.floats() == [0.0, 1.0, -0.5, 1.5, 0.0]
    leap = plan_of(schemes.get("leapfrog"))  # y2 = y0 + 2h f1: the oldest state solves back
    assert (leap.state_terms, leap.f_terms, leap.solvable_oldest) == ((0,), (1,), True)
    lm = plan_of(schemes.get("lm_resnet"))  # u2 = (1-k) u1 + k u0 + h f1, a lerp of the two states
    assert lm.slots.kinds == ("symbolic", "symbolic", "zero", "one", "zero")
    assert (lm.lerp, lm.lerp_terms, lm.solvable_oldest) == ((1, 0), (1, 0), True)
    assert lm.floats(k=-0.25) == [-0.25, 1.25, 0.0, 1.0, 0.0]
    am1 = plan_of(schemes.get("am1"))
    assert am1.implicit and not am1.solvable_oldest
    stormer = plan_of(partitioned.get("stormer"))  # y'' = g: h^2 multiplies beta
    assert stormer.power == 2 and stormer.step_slots(sp.Rational(1, 2)).floats() == [-1.0, 2.0, 0.0, 0.25, 0.0]
    rk4 = plan_of(schemes.get("rk4"))
    assert rk4.rows == ((), (0,), (1,), (2,)) and rk4.weights == (0, 1, 2, 3) and rk4.error_weights is None
    assert rk4.arrays()["c"].tolist() == [0.0, 0.5, 0.5, 1.0]


def test_floats_name_a_missing_symbol_value():
    with pytest.raises(ValueError, match=r"coefficients of lm_resnet depend on symbols \['k'\]"):
        plan_of(schemes.get("lm_resnet")).floats()


def test_equal_schemes_share_a_plan_and_different_ones_do_not():
    a = schemes.get("lm_resnet").subs(k=sp.Rational(-1, 4))
    b = schemes.get("lm_resnet").subs(k=sp.Rational(-1, 4))
    c = schemes.get("lm_resnet").subs(k=sp.Rational(-1, 8))
    assert plan_of(a) is plan_of(b) and plan_of(a) is not plan_of(c)


def test_one_kernel_gives_numpy_and_torch_the_same_numbers():
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(4, 3)) for _ in range(4)]
    coefs = [1.0, -0.5, 0.25, 1.0]
    ref = sum(c * x for c, x in zip(coefs, xs))
    np_out = combine(list(zip(coefs, xs)))
    t_out = combine(list(zip(coefs, [torch.tensor(x) for x in xs]))).numpy()
    np.testing.assert_allclose(np_out, ref, rtol=1e-15)
    np.testing.assert_allclose(t_out, np_out, rtol=1e-15)
    assert combine([(1.0, xs[0])]) is xs[0]  # one term with coefficient one: no copy
    np.testing.assert_allclose(combine([(0.75, xs[0]), (0.25, xs[1])], lerp=(0, 1)), 0.75 * xs[0] + 0.25 * xs[1])


def test_the_torch_solvers_bind_torch_in_the_kernel_themselves(monkeypatch):
    import numnet._combine as kernel

    monkeypatch.setattr(kernel, "torch", None)  # as in a fresh process where no net has run yet
    sol = solvers.integrate("rk4", lambda t, y: -y, (0.0, 1.0), torch.ones(2, dtype=torch.float64), n_steps=4)
    assert abs(float(sol.y_final[0]) - np.exp(-1.0)) < 1e-4


# -- one float policy --------------------------------------------------------------------
def test_a_float_is_kept_as_the_exact_binary_number_it_stores():
    from numnet.nets.coefficients import exact_number

    k32 = torch.tensor(-0.1, dtype=torch.float32)  # a learned coefficient: float32's binary value
    for x in (exact_number(k32, "k"), schemes.get("lm_resnet").subs(k=k32).alpha[0] * -1):
        assert isinstance(x, sp.Float) and sp.Rational(x) == sp.Rational(float(k32))
    assert exact_number(0.1, "h") == schemes.get("lm_resnet").subs(k=0.1).alpha[0] * -1  # one policy, both layers
    assert exact_number("1/10", "h") == sp.Rational(1, 10)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float64("-inf")])
def test_a_non_finite_coefficient_is_refused_with_its_name(bad):
    with pytest.raises(ValueError, match=r"beta\[0\] must be finite"):
        schemes.LinearMultistep([0, -1, 1], [bad, 1.5, 0])
    with pytest.raises(ValueError, match=r"k in lm_resnet\.subs\(\) must be finite"):
        schemes.get("lm_resnet").subs(k=bad)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_a_bf16_coefficient_gradient_is_the_float64_dot_product(layout):
    # under bf16 autocast g and x are bfloat16: the coefficient's gradient <g, x> is one
    # product and one float32-accumulated sum; each bf16 product is off by at most 2^-9 of
    # itself, so the result lies within 2^-8 * sum |g x| of the float64 reference
    gen = torch.Generator().manual_seed(3)
    xs = [torch.randn(8, 6, 5, 5, generator=gen).bfloat16().contiguous(memory_format=layout) for _ in range(3)]
    g = torch.randn(8, 6, 5, 5, generator=gen).bfloat16().contiguous(memory_format=layout)
    k = torch.tensor(0.3, requires_grad=True)
    w = torch.tensor(0.25, requires_grad=True)
    out = combine([(1 - w, xs[0]), (w, xs[1]), (k, xs[2])], lerp=(0, 1))
    assert out.dtype == torch.bfloat16
    gw, gk = torch.autograd.grad(out, [w, k], g)
    dot = lambda a: (g.double() * a.double()).sum()  # noqa: E731
    size = lambda a: (g.double() * a.double()).abs().sum()  # noqa: E731
    assert gk.dtype == gw.dtype == torch.float32
    assert abs(gk.double() - dot(xs[2])) <= 2 ** -8 * size(xs[2])
    assert abs(gw.double() - (dot(xs[1]) - dot(xs[0]))) <= 2 ** -8 * (size(xs[1]) + size(xs[0]))
    # far closer than a bf16 sum could be: the accumulation is float32
    assert abs(gk.double() - dot(xs[2])) < 1e-3 * abs(dot(xs[2]))
