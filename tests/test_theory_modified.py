"""Every formula of theory/modified-equations.md, parsed from its fenced ```sympy blocks
and compared with what numnet computes. A block without a checker here fails the test."""

from __future__ import annotations

import math

import pytest
import sympy as sp

import theory_blocks

from numnet.schemes import LinearMultistep, get, lm_resnet
from numnet.schemes import sde
from numnet.schemes.elementary import ElementaryDifferential, elementary_differentials
from numnet.schemes.linear import modified_linear_rate, principal_root_series
from numnet.schemes.modified import H, T, f, u

DOC = "theory/modified-equations.md"

h, k, z, p = sp.symbols("h k z p")
alpha, beta = sp.IndexedBase("alpha"), sp.IndexedBase("beta")
LOCALS = {"alpha": alpha, "beta": beta, "h": h, "k": k, "z": z, "p": p, "O": sp.O, "beta_": beta}


def blocks() -> dict:
    return theory_blocks.texts(DOC)


def parse(name, **extra):
    return sp.sympify(blocks()[name], locals={**LOCALS, **extra})


def plain(expr):
    """numnet's expressions in the doc's symbols: u(t)-derivatives → u1, u2 …, f(u(t)) → f,
    elementary differentials → their prefix names, h → h."""
    rep = {d: sp.Symbol(f"u{d.derivative_count}") for d in expr.atoms(sp.Derivative) if d.expr == u(T)}
    expr = expr.xreplace(rep).xreplace({f(u(T)): sp.Symbol("f"), H: h})
    return expr.xreplace({e: sp.Symbol(e.name) for e in expr.atoms(ElementaryDifferential)})


def zero(e):
    return sp.simplify(e) == 0


def eq_sides(e):
    return e.lhs - e.rhs


# -- checkers, one per block -----------------------------------------------------------------
def check_lmm_difference_coefficients(name, side):
    c, q, s_, j = sp.symbols("c q s j")
    formula = parse(name)
    for scheme, center in [(get("ab2"), 1), (get("bdf2"), 2), (get("milne_simpson"), 1), (get("ab3"), 0)]:
        coeffs = scheme.alpha if side == "lhs" else scheme.beta
        me = scheme.modified_equation(4, center=center)
        for qq in range(1, 5):
            val = formula.subs({c: center, q: qq, s_: scheme.steps}).doit()
            val = val.subs({alpha[i]: a for i, a in enumerate(scheme.alpha)}).subs({beta[i]: b for i, b in enumerate(scheme.beta)})
            if side == "lhs":
                got = plain(me._lhs[qq - 1]).coeff(sp.Symbol(f"u{qq}"))
            else:
                term = me._rhs[qq]
                got = term.coeff(sp.Derivative(f(u(T)), (T, qq)))
            assert zero(val - got), (scheme.name, qq)
        assert coeffs  # both coefficient lists are used by the formulas


def check_lm_resnet_scheme():
    un, up, ux, fn = sp.symbols("u_n u_prev u_next f_n")
    lm = get("lm_resnet")
    from_scheme = sum(a * v for a, v in zip(lm.alpha, (up, un, ux))) - h * sum(b * v for b, v in zip(lm.beta, (0, fn, 0)))
    assert zero(parse("lm_resnet_scheme") - from_scheme)
    assert zero(parse("lm_resnet_momentum") - from_scheme)


def check_lm_resnet_taylor():
    e = parse("lm_resnet_taylor")
    un, up, ux = sp.symbols("u_n u_prev u_next")
    us = [un] + [sp.Symbol(f"u{q}") for q in range(1, 5)]
    sub = {ux: sum(h**q / math.factorial(q) * us[q] for q in range(5)), up: sum((-h) ** q / math.factorial(q) * us[q] for q in range(5))}
    rhs = e.rhs
    assert isinstance(rhs, sp.Add) and rhs.getO() == sp.O(h**4)
    diff = sp.expand(e.lhs.subs(sub) - rhs.removeO())
    assert all(zero(diff.coeff(h, i)) for i in range(4))


def check_lm_resnet_difference():
    me = get("lm_resnet").modified_equation(2)
    assert zero(eq_sides(parse("lm_resnet_difference")) - plain(me.as_expr()))


def check_lm_resnet_difference_coefficient():
    q = sp.Symbol("q")
    formula = parse("lm_resnet_difference_coefficient")
    me = get("lm_resnet").modified_equation(8)
    for qq in range(1, 10):
        assert zero(plain(me._lhs[qq - 1]).coeff(sp.Symbol(f"u{qq}")) - formula.subs(q, qq))


def check_lm_resnet_mass_friction():
    me = plain(get("lm_resnet").modified_equation(1).lhs)
    assert zero(me.coeff(sp.Symbol("u2")) - parse("lm_resnet_mass"))
    assert zero(me.coeff(sp.Symbol("u1")) - parse("lm_resnet_friction"))


def check_heavy_ball():
    b = sp.Symbol("beta")
    hb = LinearMultistep([b, -(1 + b), 1], [0, 1, 0], name="heavy_ball")  # x_{n+1} = x_n + β(x_n − x_{n−1}) + h f_n
    e = parse("heavy_ball_difference", beta=b)
    assert zero(eq_sides(e) - plain(hb.modified_equation(1).as_expr()))
    assert zero(eq_sides(e).subs(b, -k) - eq_sides(parse("lm_resnet_difference")).subs(h**2, 0).subs(sp.Symbol("u3"), 0))


def _concrete_system():
    """A 3-D polynomial field whose elementary differentials are generic enough to tell the
    trees of order ≤ 3 apart."""
    y = sp.symbols("y0:3")
    fv = sp.Matrix([y[1] ** 2 + y[2], y[0] * y[2] - y[1], y[0] ** 3 + y[1] * y[2]])
    F = elementary_differentials(fv, list(y), 3)
    names = {"f": F[0], "f1f": F[1], "f1f1f": F[2], "f2ff": F[3]}
    return y, fv, names


def _as_matrix(expr, names):
    expr = sp.expand(expr)
    out = sp.zeros(3, 1)
    for s, v in names.items():
        out += expr.coeff(sp.Symbol(s)) * v
    rest = expr.subs({sp.Symbol(s): 0 for s in names})
    assert rest == 0, rest
    return out


def check_lm_ansatz():
    """u'' and u''' along the ansatz field, by the chain rule on a concrete system
    (u'' needs the field through h, u''' only its h⁰ part; c, d do not enter)."""
    a, b = sp.symbols("a b")
    y, fv, names = _concrete_system()
    g0, g1 = a * names["f"], b * names["f1f"]  # u' = g0 + h g1 + O(h²)

    def J(m):
        return m.jacobian(list(y))

    u2 = {0: J(g0) * g0, 1: J(g0) * g1 + J(g1) * g0}
    u3 = J(u2[0]) * g0
    block2 = sp.expand(parse("lm_ansatz_u2", a=a, b=b))
    for power in range(2):
        assert (u2[power] - _as_matrix(block2.coeff(h, power), names)).applyfunc(sp.expand) == sp.zeros(3, 1)
    assert (u3 - _as_matrix(parse("lm_ansatz_u3", a=a), names)).applyfunc(sp.expand) == sp.zeros(3, 1)


def check_lm_resnet_field():
    me = get("lm_resnet").modified_equation(2, form="vector_field")
    assert zero(parse("lm_resnet_field") - plain(me.as_expr()))


def check_euler_difference():
    assert zero(eq_sides(parse("euler_difference")) - plain(get("euler").modified_equation(2).as_expr()))


def check_euler_field():
    me = get("euler").modified_equation(2, form="vector_field")
    assert zero(parse("euler_field") - plain(me.as_expr()))
    assert zero(parse("lm_resnet_field").subs(k, 0) - parse("euler_field"))


def check_euler_field_scalar():
    x = sp.Symbol("u")
    me = get("euler").modified_equation(2, form="vector_field").scalar().as_expr()
    fu = f(x)
    got = me.xreplace({fu.diff(x, 2): sp.Symbol("fpp")}).xreplace({fu.diff(x): sp.Symbol("fp")}).xreplace({fu: sp.Symbol("f"), H: h})
    assert zero(parse("euler_field_scalar") - got)


def check_euler_modified_loss():
    x, y = sp.symbols("x y")
    L = x**4 / 4 + x * y**2 + y**2 / 2
    grad = sp.Matrix([L.diff(x), L.diff(y)])
    Lmod = parse("euler_modified_loss", L=L, grad_L_squared=(grad.T * grad)[0])
    field = get("euler").modified_equation(1, form="vector_field").evaluate(-grad, [x, y])
    target = -sp.Matrix([Lmod.diff(x), Lmod.diff(y)])
    assert (field - target.subs(h, H)).applyfunc(sp.expand) == sp.zeros(2, 1)


def check_ab2_root_and_rate():
    assert zero(parse("ab2_principal_root") - principal_root_series(get("ab2"), 4))
    assert zero(parse("ab2_linear_rate") - modified_linear_rate(get("ab2"), 3))


def check_ab2_oscillation_growth():
    omega = sp.Symbol("omega", positive=True)
    rate = modified_linear_rate(get("ab2"), 3)
    lam = sp.I * omega
    re = sp.expand(sp.re(sp.expand(lam * rate.subs(z, h * lam))))
    hh = sp.Symbol("h", positive=True)
    assert zero(re.subs(h, hh) - parse("ab2_oscillation_growth", omega=omega).subs(h, hh))


def check_lm_resnet_linear_rate():
    assert zero(parse("lm_resnet_linear_rate") - modified_linear_rate(get("lm_resnet"), 2))


SYMS = {"f": sp.Symbol("f"), "f1": sp.Symbol("f1"), "f2": sp.Symbol("f2")}


def _sde_value(e):
    return e.subs(sp.Symbol("h", positive=True), h)


def check_matching():
    d, s, drift, diffusion, step_mean, step_variance = sp.symbols("d s drift diffusion step_mean step_variance")
    e1, e2 = parse("matching_drift", drift=drift, step_mean=step_mean), parse("matching_diffusion", diffusion=diffusion, step_variance=step_variance)
    for lim in (sde.stochastic_depth(), sde.shake_shake(), sde.stochastic_lm_resnet()):
        kk = lim.inertia
        sol1 = sp.solve(e1.subs({step_mean: _sde_value(lim.step_mean), k: kk}), drift)[0]
        sol2 = sp.solve(e2.subs({step_variance: _sde_value(lim.step_variance), k: kk}), diffusion**2)
        sol2 = sol2[0] if sol2 else sp.solve(e2.subs({step_variance: _sde_value(lim.step_variance), k: kk}), diffusion)[0] ** 2
        assert zero(sol1 - _sde_value(lim.drift)) and zero(sol2 - _sde_value(lim.diffusion) ** 2)


def check_sde(prefix, lim):
    assert zero(parse(f"{prefix}_drift") - _sde_value(lim.drift))
    hh = sp.Symbol("h", positive=True)
    assert zero(parse(f"{prefix}_diffusion").subs(h, hh) ** 2 - lim.diffusion**2)


def check_stochastic_depth_steps():
    lim = sde.stochastic_depth()
    assert zero(parse("stochastic_depth_step_mean") - _sde_value(lim.step_mean))
    assert zero(parse("stochastic_depth_step_variance") - _sde_value(lim.step_variance))


def check_lm_noise_weight():
    e = parse("lm_noise_weight")
    for kv in (sp.Rational(-3, 10), sp.Rational(1, 2)):
        assert zero(e.lhs.subs(k, kv).doit() - e.rhs.subs(k, kv))


def check_stochastic_lm_resnet_inertial():
    xi = sp.Symbol("xi")
    e = parse("stochastic_lm_resnet_inertial", xi=xi)
    lim = sde.stochastic_lm_resnet()
    lhs = plain(get("lm_resnet").modified_equation(1).lhs)
    rhs = (1 + k) * (_sde_value(lim.drift) + _sde_value(lim.diffusion) * xi)
    assert zero(e.lhs - lhs)
    hh = sp.Symbol("h", positive=True)
    assert zero((e.rhs - rhs).subs(h, hh))


CHECKERS = {
    "lmm_difference_lhs_coefficient": lambda: check_lmm_difference_coefficients("lmm_difference_lhs_coefficient", "lhs"),
    "lmm_difference_rhs_coefficient": lambda: check_lmm_difference_coefficients("lmm_difference_rhs_coefficient", "rhs"),
    "lm_resnet_scheme": check_lm_resnet_scheme,
    "lm_resnet_momentum": check_lm_resnet_scheme,
    "lm_resnet_taylor": check_lm_resnet_taylor,
    "lm_resnet_difference": check_lm_resnet_difference,
    "lm_resnet_difference_coefficient": check_lm_resnet_difference_coefficient,
    "lm_resnet_mass": check_lm_resnet_mass_friction,
    "lm_resnet_friction": check_lm_resnet_mass_friction,
    "heavy_ball_difference": check_heavy_ball,
    "lm_ansatz_u2": check_lm_ansatz,
    "lm_ansatz_u3": check_lm_ansatz,
    "lm_resnet_field": check_lm_resnet_field,
    "euler_difference": check_euler_difference,
    "euler_field": check_euler_field,
    "euler_field_scalar": check_euler_field_scalar,
    "euler_modified_loss": check_euler_modified_loss,
    "ab2_principal_root": check_ab2_root_and_rate,
    "ab2_linear_rate": check_ab2_root_and_rate,
    "ab2_oscillation_growth": check_ab2_oscillation_growth,
    "lm_resnet_linear_rate": check_lm_resnet_linear_rate,
    "matching_drift": check_matching,
    "matching_diffusion": check_matching,
    "stochastic_depth_step_mean": check_stochastic_depth_steps,
    "stochastic_depth_step_variance": check_stochastic_depth_steps,
    "stochastic_depth_drift": lambda: check_sde("stochastic_depth", sde.stochastic_depth()),
    "stochastic_depth_diffusion": lambda: check_sde("stochastic_depth", sde.stochastic_depth()),
    "shake_shake_drift": lambda: check_sde("shake_shake", sde.shake_shake()),
    "shake_shake_diffusion": lambda: check_sde("shake_shake", sde.shake_shake()),
    "lm_noise_weight": check_lm_noise_weight,
    "stochastic_lm_resnet_drift": lambda: check_sde("stochastic_lm_resnet", sde.stochastic_lm_resnet()),
    "stochastic_lm_resnet_diffusion": lambda: check_sde("stochastic_lm_resnet", sde.stochastic_lm_resnet()),
    "stochastic_lm_resnet_inertial": check_stochastic_lm_resnet_inertial,
}


def test_every_block_has_a_checker():
    assert set(blocks()) == set(CHECKERS)


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_block(name):
    CHECKERS[name]()


def test_checks_have_teeth():
    """A wrong formula in the doc would be caught: perturb a block and re-run its check."""
    original = blocks

    def tampered():
        out = original()
        out["lm_resnet_difference"] = out["lm_resnet_difference"].replace("(1 - k)*h/2", "(1 + k)*h/2")
        out["euler_field"] = out["euler_field"].replace("f2ff/12", "f2ff/6")
        return out

    globals()["blocks"] = tampered
    try:
        with pytest.raises(AssertionError):
            check_lm_resnet_difference()
        with pytest.raises(AssertionError):
            check_euler_field()
    finally:
        globals()["blocks"] = original
    assert lm_resnet(0).modified_equation(0).term(0) == u(T).diff(T) - f(u(T))
