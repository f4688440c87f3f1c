"""Fixed-step RK4 and AB3 on many Van der Pol trajectories: numnet vs torchdiffeq vs scipy.

Run by hand:  PYTHONPATH=. python benchmarks/solvers.py [--n 10000] [--steps 1000] [--device cpu]
              PYTHONPATH=. python benchmarks/solvers.py --adaptive   (work/accuracy tables, no timing)
              PYTHONPATH=. python benchmarks/solvers.py --stiff [--repeat 3]   (adaptive implicit vs scipy)

Every solver integrates the same 10⁴ initial conditions (uniform in [-2, 2]², μ = 1) over
[0, 10] with 10³ equal steps in float64 and keeps every step (10³ + 1 saved states), in
one run. Reported: best wall time of ``--repeat`` runs, throughput in trajectory-steps per
second, and ratios to torchdiffeq.

- numnet torch: ``integrate(scheme, f, ..., y0_tensor, n_steps=...)`` on the batch.
- torchdiffeq: ``odeint(f, y0, t, method=...)`` on the grid t = linspace(0, 10, 1001).
  Its "rk4" is the 3/8 rule, so it is paired with numnet's ``rk38`` (classical ``rk4`` is
  timed too); its ``explicit_adams`` with ``max_order=4`` is AB3 after two 3/8-rule
  steps, paired with numnet's ``ab3`` started the same way.
- numnet numpy: the same calls with a NumPy batch.
- scipy: ``solve_ivp(RK45)`` forced to the same fixed step (first_step = max_step = h,
  tolerances loose enough that no step is rejected) in a Python loop over trajectories;
  scipy has no batched or fixed-step RK4/AB3, so this is the closest loop. It is timed on
  ``--scipy-subset`` trajectories and extrapolated linearly to all of them (said so in the
  output).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torchdiffeq import odeint

from numnet.solvers import integrate
from numnet.solvers.problems import van_der_pol


def best_of(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="initial conditions")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--t-end", type=float, default=10.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scipy-subset", type=int, default=50)
    ap.add_argument("--adaptive", action="store_true", help="print the adaptive pairs beside scipy instead")
    ap.add_argument("--stiff", action="store_true", help="adaptive implicit methods beside scipy's Radau and BDF")
    args = ap.parse_args(argv)
    if args.adaptive:
        return adaptive_tables()
    if args.stiff:
        return stiff_tables(args.repeat)

    p = van_der_pol(1.0)
    f = p.f
    rng = np.random.default_rng(0)
    y0_np = rng.uniform(-2, 2, size=(args.n, 2))
    y0 = torch.tensor(y0_np, dtype=torch.float64, device=args.device)
    t = torch.linspace(0.0, args.t_end, args.steps + 1, dtype=torch.float64, device=args.device)
    span, n = (0.0, args.t_end), args.steps
    work = args.n * args.steps

    print(f"Van der Pol (mu = 1), {args.n} trajectories x {args.steps} steps, float64, device {args.device}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), {platform.processor() or platform.machine()}")
    rows = []

    def run(label, fn, ref=None):
        with torch.no_grad():
            fn()  # warm-up
            sec, out = best_of(fn, args.repeat)
        rows.append((label, sec, ref))
        return out

    # -- RK4 -----------------------------------------------------------------------------
    td_rk4 = run("torchdiffeq rk4 (3/8 rule)", lambda: odeint(f, y0, t, method="rk4"))
    nn_rk38 = run("numnet torch rk38", lambda: integrate("rk38", f, span, y0, n_steps=n).y, "torchdiffeq rk4 (3/8 rule)")
    run("numnet torch rk4 (classical)", lambda: integrate("rk4", f, span, y0, n_steps=n).y, "torchdiffeq rk4 (3/8 rule)")
    run("numnet numpy rk4 (classical)", lambda: integrate("rk4", f, span, y0_np, n_steps=n).y, "torchdiffeq rk4 (3/8 rule)")
    assert (nn_rk38 - td_rk4).abs().max().item() < 1e-10, "rk38 and torchdiffeq's rk4 must agree"

    # -- AB3 -----------------------------------------------------------------------------
    td_ab3 = run("torchdiffeq explicit_adams (AB3)",
                 lambda: odeint(f, y0, t, method="explicit_adams", options={"max_order": 4}))
    nn_ab3 = run("numnet torch ab3", lambda: integrate("ab3", f, span, y0, n_steps=n, starter="rk38",
                                                        start_substeps=1).y, "torchdiffeq explicit_adams (AB3)")
    run("numnet numpy ab3", lambda: integrate("ab3", f, span, y0_np, n_steps=n, starter="rk38", start_substeps=1).y,
        "torchdiffeq explicit_adams (AB3)")
    assert (nn_ab3 - td_ab3).abs().max().item() < 1e-10, "ab3 and torchdiffeq's explicit_adams must agree"

    # -- scipy loop (subset, extrapolated) ----------------------------------------------------
    h = args.t_end / args.steps
    sub = y0_np[: args.scipy_subset]

    def scipy_loop():
        for y in sub:
            sol = solve_ivp(f, span, y, method="RK45", first_step=h, max_step=h, rtol=1e3, atol=1e3)
            # every step accepted (plus at most a rounding-sized last step): the same grid
            assert len(sol.t) - 1 in (args.steps, args.steps + 1), len(sol.t)

    sec, _ = best_of(scipy_loop, 1)
    rows.append((f"scipy RK45 loop, fixed h (timed on {args.scipy_subset}, x{args.n / args.scipy_subset:g})",
                 sec * args.n / args.scipy_subset, "torchdiffeq rk4 (3/8 rule)"))

    secs = {label: sec for label, sec, _ in rows}
    print(f"\n| solver | time (s) | trajectory-steps/s | vs torchdiffeq |")
    print("|---|---|---|---|")
    for label, sec, ref in rows:
        ratio = "1 (reference)" if ref is None else f"{secs[ref] / sec:.2f}x faster" if sec <= secs[ref] else f"{sec / secs[ref]:.2f}x slower"
        print(f"| {label} | {sec:.3f} | {work / sec:.3g} | {ratio} |")


def adaptive_tables():
    """Accepted steps, rejected steps, f-evaluations and global error at t_end for the four
    embedded pairs (PI controller) beside scipy's RK23/RK45/DOP853 at the same tolerances."""
    from numnet.solvers import problems
    from numnet.solvers.compare import adaptive_vs_scipy

    for p in (problems.van_der_pol(1.0), problems.kepler(), problems.brusselator()):
        for rtol, atol in ((1e-6, 1e-9), (1e-9, 1e-12)):
            print(f"\n{p.name}, rtol={rtol:g}, atol={atol:g}\n")
            print("| method | steps | rejected | f-evals | error at t_end |")
            print("|---|---|---|---|---|")
            for r in adaptive_vs_scipy(p, rtol, atol):
                rej = "" if r["rejected"] is None else r["rejected"]
                print(f"| {r['method']} | {r['steps']} | {rej} | {r['f_evals']} | {r['error']:.2e} |")


STIFF_METHODS = (("radau_iia3", "Radau"), ("ndf", "BDF"), ("bdf", "BDF"), ("sdirk4", "Radau"))


def stiff_tables(repeat=3):
    """Steps, f-evaluations, Jacobians, LU factorisations and the max-norm error at t_end
    (against HIRES's published reference, else scipy's Radau at rtol 1e-12) for numnet's
    adaptive implicit methods beside scipy's Radau and BDF at the same rtol/atol, all with
    the exact Jacobian; and the wall-time ratio numnet/scipy, timed interleaved (numnet,
    scipy, numnet, ... ``repeat`` times each, the medians compared), with the 1-minute load
    average read before and after each problem."""
    import os
    import statistics

    from numnet.solvers import problems

    cases = [(problems.robertson(1e5), 1e-6, 1e-10), (problems.van_der_pol(1000.0, 3000.0), 1e-6, 1e-9),
             (problems.hires(), 1e-6, 1e-10)]
    for p, rtol, atol in cases:
        ref = p.solution()
        load0 = os.getloadavg()[0]
        print(f"\n{p.name} on {p.t_span}, rtol={rtol:g}, atol={atol:g}\n")
        print("| method | steps | f-evals | Jacobians | LUs | error at t_end | time (s) | time / scipy's |")
        print("|---|---|---|---|---|---|---|---|")
        def scipy_run(method):
            return solve_ivp(p.f, p.t_span, p.y0, method=method, rtol=rtol, atol=atol, jac=p.jac)

        ours_sec, scipy_sec, results = {}, {"Radau": [], "BDF": []}, {}
        for name, against in STIFF_METHODS:
            t_ours = []
            for _ in range(repeat):  # interleaved: numnet, scipy, numnet, scipy, ...
                t0 = time.perf_counter()
                results[name] = integrate(name, p.f, p.t_span, p.y0, rtol=rtol, atol=atol, jac=p.jac)
                t_ours.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                results["scipy " + against] = scipy_run(against)
                scipy_sec[against].append(time.perf_counter() - t0)
            ours_sec[name] = statistics.median(t_ours)
        for name, against in STIFF_METHODS:
            r, sec = results[name], ours_sec[name]
            err = np.max(np.abs(r.y_final - ref))
            print(f"| numnet {name} | {r.n_steps} | {r.n_f_evals} | {r.n_jac_evals} | {r.n_lu} | {err:.2e} | "
                  f"{sec:.3f} | {sec / statistics.median(scipy_sec[against]):.2f} (vs {against}) |")
        for against in ("Radau", "BDF"):
            r = results["scipy " + against]
            err = np.max(np.abs(r.y[:, -1] - ref))
            print(f"| scipy {against} | {len(r.t) - 1} | {r.nfev} | {r.njev} | {r.nlu} | {err:.2e} | "
                  f"{statistics.median(scipy_sec[against]):.3f} | 1 |")
        print(f"\nload average (1 min) {load0:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
