"""60-digit published pairs (Feagin 10/12/14, Curtis 10): orders without tolerance tuning."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from numnet.schemes import RungeKutta
from numnet.schemes._arith import Evaluator
from numnet.schemes.io import read_rk_table

DATA = Path(__file__).parent / "data"
PAIRS = {"rk108": (17, 10, 8), "rk108curtis": (21, 10, 8), "rk1210": (25, 12, 10), "rk1412": (35, 14, 12)}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_orders_of_published_pairs(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = read_rk_table(DATA / f"{name}.txt")
    stages, p, q = PAIRS[name]
    assert m.stages == stages and m.precision >= 60
    if name == "rk1412":
        # the published c[13] is 1.55e-10 off the row sum of A (its mirror node c[25] is not):
        # as printed, sum(b_i c_i) = 1/2 + 8.2e-12, order 1 on y' = f(t, y); with c = A·1, order 14
        assert len(caught) == 1 and "c[13] = 0.039217224820313235617" in str(caught[0].message)
        assert float(sum(bi * ci for bi, ci in zip(m.b, m.c)) - sp.Rational(1, 2)) == pytest.approx(8.189e-12, rel=1e-3)
        assert m.order == 1
        m = RungeKutta(m.A, m.b, name=m.name, b_hat=m.b_hat)
    else:
        assert not caught
    assert m.order == p  # nodepy 1.1.1 calls Feagin 14 order 2
    assert m.embedded_order == q


def _residuals(ev, n):
    ev._ensure(n)
    return ev._residuals(n, ev.phi[n - 1], ev.mag[n - 1], ev.forest.of_order(n))


def test_rounding_bounds_decide_instead_of_a_tolerance():
    m = read_rk_table(DATA / "rk1210.txt")
    fl = Evaluator(np.array(m.A.tolist(), dtype=float), np.array(m.b, dtype=float), "float")
    res, bound = _residuals(fl, 12)
    assert np.all(np.abs(res) <= bound)  # true order-12 conditions pass in float64 ...
    res13, bound13 = _residuals(fl, 13)
    assert np.any(np.abs(res13) > 1e6 * bound13)  # ... and order 13 fails far outside them
    # double-double sees the 60-digit data's residuals far below float64 rounding
    dd = Evaluator(m.A.tolist(), list(m.b), "dd")
    res_dd, bound_dd = _residuals(dd, 12)
    assert np.all(np.abs(res_dd) <= bound_dd) and np.max(np.abs(res_dd)) < 1e-10 * np.max(np.abs(res))


def test_table_parse_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("  k   b[k]\n 0  0.5 0.7\n 1  x\n")
    with pytest.raises(ValueError, match="bad.txt:3: cannot parse b entry"):
        read_rk_table(bad)
    (tmp_path / "empty.txt").write_text("nothing here\n")
    with pytest.raises(ValueError, match="no b\\[k\\] block"):
        read_rk_table(tmp_path / "empty.txt")


def test_values_keep_their_digits():
    m = read_rk_table(DATA / "rk108.txt")
    assert isinstance(m.A[2, 0], sp.Float) and m.precision >= 60
    assert m.c[0] == 0 and m.c[0].is_Rational
