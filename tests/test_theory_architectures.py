"""theory/architectures.md: every formula on the page recomputed from numnet's schemes."""

import pytest
import sympy as sp

from numnet import schemes
from numnet.schemes import Z, LinearMultistep, RungeKutta
from numnet.nets.poly import poly_module
from theory_blocks import formulas as blocks, same

PAGE = "theory/architectures.md"
h, u = sp.symbols("h u")
f, F, G = sp.Function("f"), sp.Function("F"), sp.Function("G")
R = sp.Rational


def lmm_step(scheme):
    """u_{n+1} of an explicit LMM from numnet's alpha, beta: symbols u_n, u_nm1, … and f_n, …"""
    s = scheme.steps
    assert scheme.alpha[-1] == 1 and scheme.beta[-1] == 0, "explicit, normalised"
    name = lambda j: "n" if j == s - 1 else f"nm{s - 1 - j}"  # noqa: E731
    return sp.expand(sum(-a * sp.Symbol(f"u_{name(j)}") + h * b * sp.Symbol(f"f_{name(j)}")
                         for j, (a, b) in enumerate(zip(scheme.alpha[:-1], scheme.beta[:-1]))))


def rk_step(rk, f=f, y=u):
    """One explicit RK step of u' = f(u) from numnet's A, b (stages in order)."""
    assert rk.is_explicit
    k = []
    for i in range(rk.stages):
        k.append(f(y + h * sum(rk.A[i, j] * k[j] for j in range(i))))
    return y + h * sum(bi * ki for bi, ki in zip(rk.b, k))


def fixed_point_step(rk, iterations, f=f, y=u):
    """A stiffly accurate one-stage method (b = last row of A) solved by the iteration
    u^(m+1) = y + h a11 f(u^(m)) from u^(0) = y, stopped after ``iterations`` steps."""
    assert rk.stages == 1 and rk.b[0] == rk.A[0, 0]
    v = y
    for _ in range(iterations):
        v = y + h * rk.A[0, 0] * f(v)
    return v


def partitioned_step(rk_y, rk_z, x1, x2):
    """One partitioned RK step of the separable system Y' = F(Z), Z' = G(Y), one stage each,
    stage equations solved by substitution (exact for this explicit coupling)."""
    a, b = rk_y.A[0, 0], rk_y.b[0]
    c, d = rk_z.A[0, 0], rk_z.b[0]
    Y, Zs = x1, x2
    for _ in range(3):
        Y, Zs = x1 + h * a * F(Zs), x2 + h * c * G(Y)
    assert (Y, Zs) == (x1 + h * a * F(Zs), x2 + h * c * G(Y)), "stage equations not solved"
    return x1 + h * b * F(Zs), x2 + h * d * G(Y)


def left(scheme):
    return scheme.stability_interval().inf


def lm_rescaled_order():
    k = sp.Symbol("k")
    lm = schemes.get("lm_resnet")
    orders = {LinearMultistep(lm.alpha, [0, 1 + k, 0]).subs(k=v).order for v in (R(-9, 10), R(-1, 10), R(1, 2), R(9, 10))}
    assert len(orders) == 1
    return orders.pop()


def lm_modified(q):
    """Coefficient of h^(q-1) u^(q) in Σ α_j u(t_n + (j − 1) h) (Taylor expansion at t_n)."""
    lm = schemes.get("lm_resnet")
    return sp.expand(sum(a * sp.Integer(j - 1) ** q for j, a in enumerate(lm.alpha)) / sp.factorial(q))


def revnet_inverse():
    y1, y2 = sp.symbols("y1 y2")
    x2 = y2 - h * G(y1)
    x1 = y1 - h * F(x2)
    # the inverse undoes numnet's step: substitute the forward step
    X1, X2 = sp.symbols("x1 x2")
    fy, fz = partitioned_step(schemes.get("backward_euler"), schemes.get("euler"), X1, X2)
    back = sp.Matrix([x1, x2]).subs({y1: fy, y2: fz}, simultaneous=True)
    assert sp.simplify(back - sp.Matrix([X1, X2])) == sp.zeros(2, 1)
    return sp.Matrix([x1, x2])


def piecewise_left(doc):
    fam = schemes.get("adams2_learnable")
    for v in (R(51, 100), R(3, 5), R(7, 10), R(3, 4), R(1), R(21, 20), R(11, 10), R(3, 2), R(5)):
        expect = left(fam.subs(b1=v))
        got = doc.subs(sp.Symbol("b1"), v)
        assert sp.simplify(got - expect) == 0, (v, got, expect)
    return True


X1, X2 = sp.symbols("x1 x2")
CHECKS = {
    "resnet_step": lambda: lmm_step(schemes.get("ab1")),
    "resnet_stability_left": lambda: left(schemes.get("euler")),
    "adams2_step": lambda: lmm_step(schemes.get("adams2")),
    "adams3_step": lambda: lmm_step(schemes.get("adams3")),
    "adams2_learnable_step": lambda: lmm_step(schemes.get("adams2_learnable")),
    "adams3_learnable_step": lambda: lmm_step(schemes.get("adams3_learnable")),
    "adams2_learnable_C2": lambda: schemes.get("adams2_learnable").C(2),
    "lm_resnet_step": lambda: lmm_step(schemes.get("lm_resnet")),
    "lm_resnet_rho": lambda: schemes.get("lm_resnet").rho,
    "lm_resnet_zero_stability": lambda: schemes.get("lm_resnet").zero_stability_condition(),
    "lm_resnet_C1": lambda: schemes.get("lm_resnet").C(1),
    "lm_resnet_modified_u1": lambda: lm_modified(1),
    "lm_resnet_modified_u2": lambda: lm_modified(2),
    "lm_resnet_rescaled_order": lm_rescaled_order,
    "backward_euler_R": lambda: schemes.get("backward_euler").stability_function(),
    "polynet_poly2": lambda: poly_module("poly2", u, lambda v: h * f(v)),
    "polynet_2way": lambda: poly_module("2way", u, lambda v: h * F(v), lambda v: h * G(v)),
    "polynet_mpoly": lambda: poly_module("mpoly", u, lambda v: h * F(v), lambda v: h * G(v)),
    "backward_euler_fixed_point": lambda: fixed_point_step(schemes.get("backward_euler"), 2),
    "polynet_R": lambda: schemes.get("poly2").stability_function(),
    "polynet_order": lambda: schemes.get("poly2").order,
    "polynet_stability_left": lambda: left(schemes.get("poly2")),
    "fractalnet_join": lambda: rk_step(schemes.get("heun")),
    "heun_step": lambda: rk_step(schemes.get("heun")),
    "heun_order": lambda: schemes.get("heun").order,
    "revnet_y": lambda: partitioned_step(schemes.get("backward_euler"), schemes.get("euler"), X1, X2)[0],
    "revnet_z": lambda: partitioned_step(schemes.get("backward_euler"), schemes.get("euler"), X1, X2)[1],
    "revnet_inverse": revnet_inverse,
}


def test_every_block_has_a_check():
    assert set(blocks(PAGE)) == set(CHECKS) | {"lm_resnet_stability_left", "adams2_learnable_stability_left"}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_block(name):
    doc = blocks(PAGE)[name]
    assert same(doc, CHECKS[name]()), f"{name}: page says {doc}, numnet gives {CHECKS[name]()}"


def test_lm_resnet_stability_left():
    doc = blocks(PAGE)["lm_resnet_stability_left"]
    lm = schemes.get("lm_resnet")
    for k in (R(-99, 100), R(-1, 2), R(-1, 10), R(0), R(1, 10), R(1, 2), R(9, 10)):
        assert doc.subs(sp.Symbol("k"), k) == left(lm.subs(k=k)), k


def test_adams2_learnable_stability_left():
    assert piecewise_left(blocks(PAGE)["adams2_learnable_stability_left"])


def test_polynet_is_backward_euler_to_third_order_and_both_readings_agree():
    R_be = schemes.get("backward_euler").stability_function()
    polynet = blocks(PAGE)["polynet_R"]
    assert sp.expand(sp.series(R_be, Z, 0, 3).removeO() - polynet) == 0
    lam = sp.Symbol("lam")
    linear = fixed_point_step(schemes.get("backward_euler"), 2, f=lambda v: lam * v).subs(lam, Z / h)
    assert sp.expand(linear / u - polynet) == 0
    poly2 = poly_module("poly2", u, lambda v: h * lam * v).subs(lam, Z / h)
    assert sp.expand(poly2 / u - polynet) == 0                      # equal on linear fields ...
    assert not same(blocks(PAGE)["polynet_poly2"], blocks(PAGE)["backward_euler_fixed_point"])  # ... only
    assert same(rk_step(RungeKutta([[0, 0], [1, 0]], [0, 1])), blocks(PAGE)["backward_euler_fixed_point"])
    assert same(rk_step(schemes.get("poly2")), blocks(PAGE)["backward_euler_fixed_point"])


def test_lm_resnet_modified_equation_agrees():
    """numnet's modified equation (difference form, expanded at t_n) has the page's u' and
    u'' coefficients."""
    from numnet.schemes.modified import T, u as U

    me = schemes.get("lm_resnet").modified_equation(2)
    page = blocks(PAGE)
    assert same(page["lm_resnet_modified_u1"], sp.expand(me.term(0)).coeff(U(T).diff(T)))
    assert same(page["lm_resnet_modified_u2"], sp.expand(me.term(1)).coeff(U(T).diff(T, 2)))
