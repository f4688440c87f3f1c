"""The recorded Fashion-MNIST study: ResNet vs LM-ResNet vs Adams (fixed, learnable) vs RK2.

A small, resumable driver over numnet.data / numnet.nets / numnet.train (run by hand; the
package's own grid runner is numnet.study). Each run trains into
``<out>/<net>-d<depth>-s<seed>/`` (numnet.train's checkpoint, metrics and result.json)
and leaves ``study.json`` beside them: the numbers the table needs, including whether
every learned step scheme is zero-stable. A finished run is never recomputed.

    # the grid, spread over two single-threaded processes (run both, then aggregate)
    python benchmarks/fmnist_study.py run --shard 0/2 &
    python benchmarks/fmnist_study.py run --shard 1/2 &
    python benchmarks/fmnist_study.py table --figures docs/figures

``table`` prints the Markdown table (also written to ``<out>/table.md``/``table.json``)
and, with ``--figures DIR``, draws test error per net and depth and the learned k_n of
the LM-ResNets against the zero-stability band -1 < k <= 1.
``check DIR`` summarises run directories made with ``numnet train`` (the real-data check),
finished or interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import sympy as sp
import torch

from numnet import data, nets, schemes
from numnet.fileio import write_json
from numnet.train import get_recipe, train

# name -> (builder name, options): RK2 is Heun with rk_blocks="per_stage" (two blocks per
# step), so it has ResNet's parameters *and* its number of block evaluations.
NETS = {
    "resnet": ("resnet", {}),
    "lm_resnet": ("lm_resnet", {}),
    "adams_fixed": ("adams_net", {"steps": 2, "learnable": False}),
    "adams_learnable": ("adams_net", {"steps": 2, "learnable": True}),
    "rk2_heun": ("scheme_net", {"scheme": "heun"}),
}


def build(name: str, depth: int, splits, widths=None):
    net, options = NETS[name]
    return nets.build(net, depth, num_classes=splits.num_classes, in_channels=splits.in_channels, widths=widths,
                      **options)


def load_splits(n_train: int, n_test: int):
    """The first ``n_train`` Fashion-MNIST training images, the first ``n_test`` test images."""
    splits = data.load("fashion_mnist").limit_train(n_train)
    if n_test < len(splits.test):
        splits = dataclasses.replace(splits, test=splits.test.subset(torch.arange(n_test)))
    return splits


def step_summary(model) -> dict:
    """Learned coefficients and whether every step scheme of the trained net is zero-stable."""
    steps = model.step_schemes()
    return {
        "coefficients": model.learned_coefficients(),
        "steps": len(steps),
        "zero_stable_steps": sum(bool(s.scheme.is_zero_stable) for s in steps),
    }


def run_one(name, depth, seed, args, splits, recipe) -> dict:
    out = Path(args.out) / f"{name}-d{depth}-s{seed}"
    record_path = out / "study.json"
    if record_path.exists():
        return json.loads(record_path.read_text())
    torch.manual_seed(seed)
    model = build(name, depth, splits, tuple(args.widths))
    result = train(model, splits, recipe, out=out, resume=True, seed=seed, device="cpu", progress=not args.no_progress,
                   meta={"net": name, "depth": depth, "widths": list(args.widths), "n_train": args.train,
                         "n_test": args.test})
    record = {
        "net": name, "depth": depth, "seed": seed, "widths": list(args.widths),
        "parameters": sum(p.numel() for p in model.parameters()),
        "test_acc": result.final_test_acc, "wall_time": result.wall_time,
        "train_time": result.train_time, "images_per_s": result.images_per_second,
        "data": splits.describe(), "recipe": recipe.to_dict(), **step_summary(model),
    }
    write_json(record_path, record)
    return record


def plan(depths, seeds):
    """Shallow depths first, then seed by seed, so a cut-short grid still has whole comparisons."""
    return [(n, d, s) for d in depths for s in seeds for n in NETS]


def cmd_run(args) -> int:
    torch.set_num_threads(args.threads)
    i, n = (int(x) for x in args.shard.split("/"))
    if not 0 <= i < n:
        raise ValueError(f"--shard must be i/n with 0 <= i < n, got {args.shard!r}")
    splits = load_splits(args.train, args.test)
    recipe = get_recipe("he2016-fashion-mnist").with_epochs(args.epochs).replace(batch_size=args.batch_size)
    for k, (name, depth, seed) in enumerate(plan(args.depths, args.seeds)):
        if k % n != i:
            continue
        t = time.perf_counter()
        rec = run_one(name, depth, seed, args, splits, recipe)
        print(f"{name}-d{depth}-s{seed}: test acc {rec['test_acc']:.4f} ({time.perf_counter() - t:.0f} s)", flush=True)
    return 0


# -- aggregation --------------------------------------------------------------------------------

def _fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


def _family_scheme(name, depth, coefficient_means):
    """The net's scheme, free symbols replaced by the learned means (3 decimals, exact)."""
    scheme = build(name, depth, _Shape()).scheme
    if not scheme.free_symbols:
        return scheme, scheme.name
    values = {str(s): sp.Rational(round(coefficient_means[str(s)], 3)).limit_denominator(1000)
              for s in scheme.free_symbols}
    return scheme.subs(values), scheme.name + " at " + ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


class _Shape:  # enough of a Splits to build a net for its scheme
    num_classes, in_channels = 10, 1


def _interval(scheme):
    iv = scheme.stability_interval()
    lo = getattr(iv, "start", None)
    return f"({float(lo):.3g}, 0]" if lo is not None and lo.is_finite else str(iv)


def aggregate(records):
    rows = []
    groups = {}
    for r in records:
        groups.setdefault((r["net"], r["depth"]), []).append(r)
    for (name, depth) in sorted(groups, key=lambda k: (k[1], list(NETS).index(k[0]))):
        rs = sorted(groups[(name, depth)], key=lambda r: r["seed"])
        errs = [100 * (1 - r["test_acc"]) for r in rs]
        values = {}
        for r in rs:
            for c in r["coefficients"]:
                values.setdefault(c["symbol"], []).append(c["value"])
        means = {k: statistics.fmean(v) for k, v in values.items()}
        scheme, label = _family_scheme(name, depth, means)
        rows.append({
            "net": name, "depth": depth, "parameters": rs[0]["parameters"], "seeds": len(rs),
            "scheme": label, "order": scheme.order, "error_constant": str(scheme.error_constant),
            "zero_stable": bool(scheme.is_zero_stable), "stability_interval": _interval(scheme),
            "learned": {k: {"mean": statistics.fmean(v), "min": min(v), "max": max(v), "count": len(v)}
                        for k, v in values.items()},
            "all_steps_zero_stable": all(r["zero_stable_steps"] == r["steps"] for r in rs),
            "test_error_mean": statistics.fmean(errs),
            "test_error_std": statistics.stdev(errs) if len(errs) > 1 else None,
            "wall_time_mean": statistics.fmean(r["wall_time"] for r in rs),
            "images_per_s_mean": statistics.fmean(r["images_per_s"] for r in rs),
        })
    return rows


def markdown(rows) -> str:
    head = ("| net | depth | params | scheme (learned mean) | order | error const. | zero-stable | "
            "stability interval | learned coefficients: mean [min, max] | all learned steps zero-stable | "
            "test error % (mean ± std) | seeds | wall s/run | img/s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        learned = "; ".join(f"{k}: {v['mean']:+.3f} [{v['min']:+.3f}, {v['max']:+.3f}] (n={v['count']})"
                            for k, v in sorted(r["learned"].items())) or "—"
        std = "" if r["test_error_std"] is None else f" ± {r['test_error_std']:.2f}"
        lines.append(
            f"| {r['net']} | {r['depth']} | {r['parameters']:,} | {r['scheme']} | {r['order']} | "
            f"{r['error_constant']} | {'yes' if r['zero_stable'] else 'no'} | {r['stability_interval']} | {learned} | "
            f"{'yes' if r['all_steps_zero_stable'] else 'NO'} | {r['test_error_mean']:.2f}{std} | {r['seeds']} | "
            f"{r['wall_time_mean']:.0f} | {r['images_per_s_mean']:.0f} |")
    return "\n".join(lines) + "\n"


def check_summary(check_dir) -> str:
    """One line per ``numnet train`` run directory under ``check_dir``: its config.json and
    metrics.jsonl (the epochs finished so far, so an interrupted run is reported too)."""
    lines = ["| run | train / val / test images | epochs done / scheduled | lr per epoch | val acc per epoch | "
             "test acc per epoch | train s | epoch wall s | train img/s | learned k_n: mean [min, max] |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for cfg in sorted(Path(check_dir).glob("*/config.json")):
        config = json.loads(cfg.read_text())
        h = [json.loads(x) for x in (cfg.parent / "metrics.jsonl").read_text().splitlines() if x.strip()]
        d = config["data"]
        ks = [c["value"] for c in h[-1]["coefficients"]] if h else []
        k = f"{statistics.fmean(ks):+.3f} [{min(ks):+.3f}, {max(ks):+.3f}] (n={len(ks)})" if ks else "—"
        train_time = sum(e["train_time"] for e in h)
        ips = sum(e["images"] for e in h) / train_time if train_time else None
        per = lambda key, f="{:.4f}": ", ".join("—" if e[key] is None else f.format(e[key]) for e in h)
        lines.append(f"| {cfg.parent.name} | {d['train']} / {d['val']} / {d['test']} | "
                     f"{len(h)} / {config['recipe']['epochs']} | {per('lr', '{:g}')} | {per('val_acc')} | "
                     f"{per('test_acc')} | {train_time:.0f} | {sum(e['epoch_time'] for e in h):.0f} | "
                     f"{_fmt(ips, 1)} | {k} |")
    return "\n".join(lines) + "\n"


def figures(records, rows, out_dir: Path) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    depths = sorted({r["depth"] for r in rows})
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / max(len(depths), 1)
    names = list(NETS)
    for j, depth in enumerate(depths):
        xs, ys, es = [], [], []
        for i, name in enumerate(names):
            row = next((r for r in rows if r["net"] == name and r["depth"] == depth), None)
            if row is None:
                continue
            xs.append(i + (j - (len(depths) - 1) / 2) * width)
            ys.append(row["test_error_mean"])
            es.append(row["test_error_std"] or 0)
        ax.bar(xs, ys, width, yerr=es, capsize=3, label=f"depth {depth}")
        for r in records:
            if r["depth"] == depth:
                ax.plot(names.index(r["net"]) + (j - (len(depths) - 1) / 2) * width, 100 * (1 - r["test_acc"]),
                        "k.", ms=3)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("test error % (mean ± std, dots: seeds)")
    lo = min(100 * (1 - r["test_acc"]) for r in records)
    ax.set_ylim(max(0, lo - 5), None)
    ax.legend()
    ax.set_title("Fashion-MNIST subset: test error by scheme and depth")
    fig.tight_layout()
    paths.append(out_dir / "fmnist-study-error.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    lm = [r for r in records if r["net"] == "lm_resnet" and r["coefficients"]]
    if lm:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        for r in lm:
            ks = [c["value"] for c in r["coefficients"] if c["symbol"] == "k"]
            ax.plot(range(len(ks)), ks, "o-", ms=4, label=f"d{r['depth']} s{r['seed']}")
        ax.axhspan(-1, 1, color="tab:green", alpha=0.08, label="zero-stable: −1 < k ≤ 1")
        ax.axhspan(-0.1, 0, color="tab:gray", alpha=0.15, label="init U(−0.1, 0]")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("LM step (over all stages)")
        ax.set_ylabel("learned k_n")
        allk = [c["value"] for r in lm for c in r["coefficients"]]
        ax.set_ylim(min(-0.3, min(allk) - 0.05), max(0.3, max(allk) + 0.05))
        ax.legend(fontsize=7, ncol=3)
        ax.set_title("LM-ResNet: learned k_n against the zero-stability band")
        fig.tight_layout()
        paths.append(out_dir / "fmnist-study-lm-k.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def cmd_table(args) -> int:
    records = [json.loads(p.read_text()) for p in sorted(Path(args.out).glob("*/study.json"))]
    if not records:
        print(f"no finished runs (study.json) under {args.out}", file=sys.stderr)
        return 1
    rows = aggregate(records)
    text = markdown(rows)
    Path(args.out, "table.md").write_text(text)
    write_json(Path(args.out, "table.json"), rows)
    print(text)
    if args.figures:
        for p in figures(records, rows, Path(args.figures)):
            print("wrote", p)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("run", "table"):
        s = sub.add_parser(name)
        s.add_argument("--out", default="runs/fmnist-study", help="grid directory (default: runs/fmnist-study)")
    r = sub.choices["run"]
    r.add_argument("--shard", default="0/1", help="run the i-th of n interleaved shares of the grid (default 0/1)")
    r.add_argument("--depths", type=int, nargs="+", default=[20, 32],
                   help="depths 6n+2 with n odd, so RK2 (2 blocks a step) fits (default: 20 32)")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--widths", type=int, nargs=3, default=[8, 16, 32],
                   help="channels per stage (default: 8 16 32, a quarter-width net; the paper's is 16 32 64)")
    r.add_argument("--train", type=int, default=2000, help="first N training images (default 2000)")
    r.add_argument("--test", type=int, default=1000, help="first N test images (default 1000)")
    r.add_argument("--epochs", type=int, default=2, help="paper recipe scaled to this many epochs (default 2)")
    r.add_argument("--batch-size", type=int, default=64,
                   help="batch size (default 64: twice the SGD steps of the paper's 128 on a tiny subset)")
    r.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    r.add_argument("--no-progress", action="store_true")
    t = sub.choices["table"]
    t.add_argument("--figures", metavar="DIR", help="write PNG figures here")
    c = sub.add_parser("check", help="summarise the numnet-train run directories under DIR")
    c.add_argument("dir", help="e.g. runs/fmnist-check")
    args = p.parse_args(argv)
    if args.cmd == "check":
        print(check_summary(args.dir))
        return 0
    return cmd_run(args) if args.cmd == "run" else cmd_table(args)


if __name__ == "__main__":
    sys.exit(main())
