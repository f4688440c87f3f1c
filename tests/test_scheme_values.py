"""Schemes are immutable values (issue #17): no caller can change the shared object
``get`` returns, equal coefficients mean equal schemes (and equal hashes), and expensive
derived properties are computed once."""

import copy
import pickle

import pytest
import sympy as sp

from numnet import schemes
from numnet.schemes import LinearMultistep, RungeKutta
from numnet.schemes.partitioned import PartitionedScheme, SecondOrderMultistep

R = sp.Rational
RK4 = ([[0, 0, 0, 0], [R(1, 2), 0, 0, 0], [0, R(1, 2), 0, 0], [0, 0, 1, 0]], [R(1, 6), R(1, 3), R(1, 3), R(1, 6)])


@pytest.mark.parametrize("name", ["rk4", "ab3", "lm_resnet", "gauss2", "stormer"])
@pytest.mark.parametrize("attr", ["name", "b", "alpha", "order", "A", "new_attribute"])
def test_a_scheme_cannot_be_changed_after_construction(name, attr):
    s = schemes.partitioned.get(name) if name == "stormer" else schemes.get(name)
    with pytest.raises(AttributeError, match="schemes are immutable values"):
        setattr(s, attr, "oops")
    assert s.name == name and not hasattr(s, "new_attribute")
    with pytest.raises(AttributeError, match="immutable"):
        del s.name


def test_partitioned_schemes_are_frozen_too():
    with pytest.raises(AttributeError):
        schemes.partitioned.get("stormer_verlet").name = "oops"


def test_renaming_the_shared_catalog_object_is_refused_for_every_later_caller():
    with pytest.raises(AttributeError, match=r"\.renamed\('oops'\)"):
        schemes.get("rk4").name = "oops"
    assert schemes.get("rk4").name == "rk4"
    assert schemes.get("rk4").renamed("mine").name == "mine" and schemes.get("rk4").name == "rk4"


def test_equal_coefficients_are_equal_schemes_with_equal_hashes():
    typed = RungeKutta(*RK4)  # default name "rk": the name is a label, not part of the value
    assert typed == schemes.get("rk4") and hash(typed) == hash(schemes.get("rk4"))
    assert typed != schemes.get("rk38")
    assert schemes.get("gauss1") == schemes.get("implicit_midpoint") != schemes.get("radau_iia1")
    assert LinearMultistep([-2, 2], [2, 0]) == LinearMultistep([-1, 1], [1, 0], name="ab1")  # normalised
    assert schemes.get("euler") == RungeKutta([[0]], [1])
    assert schemes.get("euler") != SecondOrderMultistep([1, -2, 1], [0, 1, 0])  # another class
    # an embedded pair is not the single method with the same entries
    assert RungeKutta([[0, 0], [1, 0]], [R(1, 2)] * 2, b_hat=[1, 0]) != RungeKutta([[0, 0], [1, 0]], [R(1, 2)] * 2)
    # exact 1/2 and the float 0.5 are different values
    assert RungeKutta([[0, 0], [1, 0]], [0.5, 0.5]) != schemes.get("heun")
    assert SecondOrderMultistep([1, -2, 1], [0, 1, 0], name="x") == schemes.partitioned.get("stormer")
    se = ((1, 0), (0, 1))
    assert PartitionedScheme("a", se) == PartitionedScheme("b", se) and hash(PartitionedScheme("a", se)) == hash(PartitionedScheme("b", se))


def test_schemes_key_dicts_and_sets_by_value():
    table = {schemes.get("rk4"): "classic", schemes.get("heun"): "heun"}
    assert table[RungeKutta(*RK4, name="typed")] == "classic"
    assert len({schemes.get("gauss1"), schemes.get("implicit_midpoint"), schemes.get("radau_iia1")}) == 2


def test_subs_gives_a_new_value_and_leaves_the_family_alone():
    lm = schemes.get("lm_resnet")
    assert lm.subs(k=0) == lm.subs(k=0) and lm.subs(k=0) != lm.subs(k=R(1, 2))
    assert lm.free_symbols == {sp.Symbol("k")}


def test_the_order_is_computed_once(monkeypatch):
    calls = []
    real = RungeKutta._order_by_simplifying
    monkeypatch.setattr(RungeKutta, "_order_by_simplifying", lambda self: calls.append(1) or real(self))
    s = RungeKutta(*RK4, name="fresh")
    assert [s.order, s.order, s.order] == [4, 4, 4] and len(calls) == 1
    assert s.renamed("other").order == 4 and len(calls) == 1  # a renamed copy keeps the cache
    assert RungeKutta(*RK4).order == 4 and len(calls) == 2  # another object computes its own
    assert s.plan is s.plan and s.renamed("other").plan.name == "other" and s.plan.name == "fresh"


def test_the_stability_polynomials_are_computed_once(monkeypatch):
    calls = []
    real = RungeKutta._stability_polys_in_field
    monkeypatch.setattr(RungeKutta, "_stability_polys_in_field", lambda self: calls.append(1) or real(self))
    g = schemes.gauss_legendre(2)
    first = g.stability_function()
    assert g.stability_function() == first and g.is_A_stable and len(calls) == 1


def test_copies_and_pickles_stay_frozen_and_equal():
    """A torch.save of a net pickles its schemes: the cached number field of gauss2 (which
    does not pickle) must not travel with it."""
    for s in (schemes.get("rk4"), schemes.get("ab3"), schemes.get("gauss2"), schemes.get("radau_iia3")):
        assert s.order > 0 and s.plan is not None and s.is_A_stable in (True, False)  # fill the caches
        for other in (copy.copy(s), copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
            assert other == s and other.name == s.name
            with pytest.raises(AttributeError, match="immutable"):
                other.name = "x"


def test_equal_schemes_under_two_names_keep_their_names_in_caches():
    """Value equality must not let a cache keyed by schemes hand one name's result to the
    other: gauss1 == implicit_midpoint, yet each integration reports its own name."""
    import numpy as np

    from numnet import solvers

    first = solvers.integrate("implicit_midpoint", lambda t, y: -y, (0.0, 1.0), np.ones(1), h=0.5)
    second = solvers.integrate("gauss1", lambda t, y: -y, (0.0, 1.0), np.ones(1), h=0.5)
    assert (first.scheme, second.scheme) == ("implicit_midpoint", "gauss1")
    # one implicit-midpoint step on y' = -y multiplies by (1 - h/2)/(1 + h/2) = 3/5
    assert np.allclose(second.y[-1], 0.36) and np.allclose(first.y[-1], second.y[-1])
    assert schemes.get("gauss1").plan.name == "gauss1" and schemes.get("implicit_midpoint").plan.name == "implicit_midpoint"


def test_a_subclass_sets_its_attributes_in_its_constructor_then_is_frozen():
    class Labelled(RungeKutta):
        def __init__(self, *args, note="", **kwargs):
            super().__init__(*args, **kwargs)
            self.note = note  # still constructing: allowed

    s = Labelled(*RK4, note="classic")
    assert s.note == "classic" and s.order == 4
    with pytest.raises(AttributeError, match="immutable"):
        s.note = "changed"
