"""Timings of numnet.schemes beside nodepy 1.1.1, in the same run (ratios printed).

Run by hand: ``python benchmarks/schemes.py``. Figures go to benchmarks/README.md.
Each figure is the best of ``--repeat`` runs (default 5) on fresh objects, so per-object
caches never help; the rooted-tree forest is shared by the session and is timed
separately (cold) where it matters.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def import_time(module: str, repeat: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout) for _ in range(repeat))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    r = args.repeat

    from nodepy import runge_kutta_method as nrk, linear_multistep_method as nlm

    from numnet.schemes import RungeKutta, gauss_legendre, get
    from numnet.schemes._arith import Evaluator
    from numnet.schemes.io import read_rk_table
    from numnet.schemes.trees import forest

    rows = []

    # 1. all order-condition residuals up to order 14 of a 35-stage method (Feagin 14)
    t_forest = best(lambda: forest(14), 1)  # cold the first time in this process
    feagin = read_rk_table(ROOT / "tests" / "data" / "rk1412.txt")
    A = np.array(feagin.A.tolist(), dtype=float)
    b = np.array(feagin.b, dtype=float)

    def ours_residuals():
        ev = Evaluator(A, b, "float")
        ev._ensure(14)
        for n in range(1, 15):
            ev._residuals(n, ev.phi[n - 1], ev.mag[n - 1], ev.forest.of_order(n))

    # nodepy's wheel lacks its coefficient files: give it the same float64 tableau
    nodepy_feagin = nrk.ExplicitRungeKuttaMethod(A=A, b=b)
    import io
    import contextlib

    def theirs_residuals():
        with contextlib.redirect_stdout(io.StringIO()):
            nodepy_feagin.order(tol=1e-12, extremely_high_order=True)

    rows.append(("order-condition residuals to order 14, 35 stages", best(ours_residuals, r), best(theirs_residuals, r), 0.1,
                 f"forest of 53,272 trees built once per session: {t_forest:.3f} s"))

    # 2. exact order of Gauss–Legendre s = 3
    gl3_nodepy = nrk.loadRKM("GL3")
    rows.append(("exact order, Gauss–Legendre s=3", best(lambda: gauss_legendre(3).order, r),
                 best(lambda: gl3_nodepy.order(mode="exact"), max(1, r // 5)), 0.1,
                 "numnet's time includes building the method from its collocation definition"))

    # 2b. exact queries at higher stage counts (nodepy: exact order of its GL/Radau tableaus where it has them)
    from numnet.schemes import radau_iia

    rows.append(("exact order, Gauss–Legendre s=4 (built)", best(lambda: gauss_legendre(4).order, r), float("nan"), 1.0,
                 "before #19: 13 s (the trees in a degree-8 field); now B(p) + C(s) in the nodes' field"))
    rows.append(("exact order, Gauss–Legendre s=5 (built)", best(lambda: gauss_legendre(5).order, r), float("nan"), 1.0,
                 "before #19: 31 s"))
    rows.append(("radau_iia(4): stability function + is_A_stable (built)",
                 best(lambda: (lambda m: (m.stability_function(), m.is_A_stable))(radau_iia(4)), r), float("nan"), 1.0,
                 "before #19: did not finish in 300 s (CRootOf nodes, EX-domain charpoly)"))

    # 2c. SSP coefficient of SSPRK(10,4): exact sweep vs nodepy's float bisection
    ssp104 = nrk.loadRKM("SSP104")
    ours104 = RungeKutta([[sp.sympify(x) for x in row] for row in ssp104.A], [sp.sympify(x) for x in ssp104.b])
    rows.append(("SSP coefficient, SSPRK(10,4) (exact 6 vs nodepy 5.9999995)",
                 best(lambda: RungeKutta(ours104.A, ours104.b).ssp_coefficient, r),
                 best(lambda: ssp104.absolute_monotonicity_radius(), r), 1.0, "numnet exact; nodepy bisection to 1e-10"))

    # 3. exact stability polynomial of an 8th-order pair (Prince–Dormand 8(7), 13 stages)
    pd8 = nrk.loadRKM("PD8")
    exact_A = [[sp.Rational(float(x)) for x in row] for row in pd8.A]
    exact_b = [sp.Rational(float(x)) for x in pd8.b]
    pd8_exact = nrk.ExplicitRungeKuttaMethod(A=np.array(exact_A, dtype=object), b=np.array(exact_b, dtype=object))
    rows.append(("exact stability polynomial, 8th-order pair (PD8)",
                 best(lambda: RungeKutta(exact_A, exact_b).stability_function(), r),
                 best(lambda: pd8_exact.stability_function(mode="exact"), max(1, r // 5)), 0.1,
                 "coefficients: the float64 values as exact rationals, for both"))

    # 4. stability-region data of an LMM on a 400 x 400 grid
    ab3 = get("ab3")
    x, y = np.meshgrid(np.linspace(-3, 1, 400), np.linspace(-2, 2, 400))
    grid = x + 1j * y
    nab3 = nlm.Adams_Bashforth(3)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def theirs_region():
        nab3.plot_stability_region(N=400)
        plt.close("all")

    rows.append(("stability-region data, LMM, 400x400 grid", best(lambda: ab3.in_stability_region(grid), r),
                 best(theirs_region, max(1, r // 5)), 0.05, "nodepy: its plot_stability_region(N=400), which computes and draws"))

    # 5. zero stability of the 24 learned LM-ResNet steps of a 56-layer net (float32 k, read back exactly)
    rng = np.random.default_rng(0)
    ks = [float(np.float32(x)) for x in rng.uniform(-1.1, 1.1, 24)]
    lm = get("lm_resnet")

    def ours_zero_stability():
        from numnet.schemes.stability import gaussian_root_condition

        gaussian_root_condition.cache_clear()
        return [lm.subs(k=sp.Rational(*k.as_integer_ratio())).is_zero_stable for k in ks]

    def theirs_zero_stability():
        return [nlm.LinearMultistepMethod(np.array([-k, k - 1, 1.0]), np.array([0.0, 1.0, 0.0])).is_zero_stable() for k in ks]

    rows.append(("zero stability, 24 learned LM-ResNet steps (exact)", best(ours_zero_stability, r),
                 best(theirs_zero_stability, r), 0.1, "numnet exact on the float32 values; nodepy: float roots, tol 1e-13"))

    # 6. import
    rows.append(("import numnet.schemes", import_time("numnet.schemes", r), import_time("nodepy", r), 0.5, "fresh interpreter"))

    print(f"{'task':52s} {'numnet s':>10s} {'nodepy s':>10s} {'ratio':>8s} {'target':>8s}  met")
    for name, ours, theirs, target, note in rows:
        print(f"{name:52s} {ours:10.4f} {theirs:10.4f} {theirs / ours:8.1f}x {target:8.3f}  {'yes' if ours <= target else 'NO'}")
        print(f"    {note}")


if __name__ == "__main__":
    main()
