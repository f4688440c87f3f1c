"""theory/reversible-stability.md: every sympy block equals what numnet.schemes derives."""

import sympy as sp

from numnet.schemes import get as get_lmm
from numnet.schemes import partitioned as P
from numnet.schemes.reversal import expected_log_inversion_growth, inversion_growth
from theory_blocks import formulas as blocks, same

PAGE = "theory/reversible-stability.md"


def computed() -> dict:
    se, sv, fe, st = (P.get(n) for n in ("symplectic_euler", "stormer_verlet", "forward_euler_pair", "stormer"))
    mid = get_lmm("leapfrog")
    verlet_poly = se.characteristic_polynomial()
    assert sp.expand(verlet_poly - sv.characteristic_polynomial()) == 0
    assert se.stability_set() == sv.stability_set()
    assert se.stability_condition() == sv.stability_condition()
    return {
        "symplectic_euler_matrix": se.amplification_matrix(),
        "symplectic_euler_det": se.determinant(),
        "stormer_verlet_matrix": sv.amplification_matrix(),
        "verlet_charpoly": verlet_poly,
        "verlet_stable_set": se.stability_set(),
        "verlet_condition": se.stability_condition(),
        "verlet_step_bound": se.step_bound(),
        "symplectic_euler_linear_order": se.linear_order,
        "stormer_verlet_linear_order": sv.linear_order,
        "forward_euler_pair_det": fe.determinant(),
        "forward_euler_pair_stable_set": fe.stability_set(),
        "stormer_error_constant": st.error_constant,
        "leapfrog_charpoly": st.characteristic_polynomial(),
        "leapfrog_stable_set": st.stability_set(),
        "leapfrog_condition": st.stability_condition(),
        "leapfrog_step_bound": st.step_bound(),
        "midpoint_root_product": P.root_product(mid),
        "midpoint_locus": P.locus(mid),
        "midpoint_real_set": mid.stability_interval(),
        "midpoint_imaginary_set": P.imaginary_stability_set(mid),
        "midpoint_inversion_growth": inversion_growth(mid),
        "lm_resnet_inversion_growth": inversion_growth(get_lmm("lm_resnet")),
        "lm_resnet_mean_log_growth": expected_log_inversion_growth(get_lmm("lm_resnet"), "-1/10", 0),
    }


def test_every_block_of_the_page_matches_numnet():
    doc, ours = blocks(PAGE), computed()
    assert set(doc) == set(ours), f"page-only: {set(doc) - set(ours)}, test-only: {set(ours) - set(doc)}"
    wrong = {name: (doc[name], ours[name]) for name in doc if not same(doc[name], ours[name])}
    assert not wrong, wrong


def test_same_detects_a_wrong_formula():
    assert not same(sp.sympify("a*b*h**2 < 2"), P.get("symplectic_euler").stability_condition())
    assert not same(sp.Interval.open(0, 3), P.get("stormer").stability_set())
    assert not same(sp.sympify("2/lam + 1"), P.get("stormer").step_bound())


def test_leapfrog_is_verlet_with_w_equal_x_squared():
    """Eliminating Z from symplectic Euler gives Störmer's leapfrog: same polynomial at w = x²."""
    verlet = P.get("symplectic_euler").characteristic_polynomial()
    assert sp.expand(verlet.subs(P.W, P.X**2) - P.get("stormer").characteristic_polynomial()) == 0
