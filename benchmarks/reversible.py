"""Activation memory and step time vs depth: reversible vs ordinary autograd.

Run by hand: ``python benchmarks/reversible.py`` (CPU; ``--device cuda`` on a GPU).
Figures go to benchmarks/README.md, section "reversible".

For each network and depth, one training step (forward, backward, SGD step) on random
CIFAR-sized data, measured in a fresh subprocess so that peaks do not mix:

- ``saved``: bytes of activations autograd stores for backward, counted exactly by
  :class:`numnet.nets.memory.SavedTensors` (parameters and buffers excluded);
- ``peak``: the peak memory allocated during one forward+backward (activations,
  gradients, temporaries), measured by benchmarks/nets.py's ``peak_bytes``: CUDA
  ``max_memory_allocated``, or on CPU the ``torch.profiler`` memory timeline;
- ``time``: median wall time of ``--repeat`` steps after one warm-up step; the reversible
  and ordinary variants of a network are timed in one process with their steps
  interleaved, so that load changes on a shared machine hit both alike. Beside the
  measured ratio the table gives its floor, 1 + T(forward without graph)/T(ordinary
  step): reconstruction evaluates every block function once more, with a graph.

Networks: ``hamiltonian`` (Chang et al.; widths 32/64/128, so each F acts on 16/32/64
channels like a ResNet block), the same with ``reversible=False``, ``revnet`` likewise,
``resnet``: the nets layer's pre-activation ResNet (widths 16/32/64), and
``lm_resnet_checkpointed``: LM-ResNet with per-step checkpointing (``checkpoint=1``, what
numnet does for a scheme that cannot be inverted safely) beside plain ``lm_resnet``; all
built by ``numnet.nets.build``. Depths 12n+2 / 6n+2: 38, 110, 218, 1202. One thread by
default (tiny CPU batches only contend with more).
Results are appended to ``--out`` (JSON lines) as they finish, and a
rerun skips what is already there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

VARIANTS = {  # table row -> (family, build options)
    "hamiltonian": ("hamiltonian", {"widths": (32, 64, 128)}),
    "hamiltonian_ordinary": ("hamiltonian", {"widths": (32, 64, 128), "reversible": False}),
    "revnet": ("revnet", {"widths": (32, 64, 128)}),
    "revnet_ordinary": ("revnet", {"widths": (32, 64, 128), "reversible": False}),
    "resnet": ("resnet", {}),
    "lm_resnet_checkpointed": ("lm_resnet", {"checkpoint": 1}),
    "lm_resnet": ("lm_resnet", {}),
}
NETS = tuple(VARIANTS)  # table rows
TWINS = {"hamiltonian": "hamiltonian_ordinary", "revnet": "revnet_ordinary", "lm_resnet_checkpointed": "lm_resnet"}
# --nets choices: a family's recomputing variant and its twin, measured together
GROUPS = {**{VARIANTS[net][0]: (net, twin) for net, twin in TWINS.items()}, "resnet": ("resnet",)}


def build(name: str, depth: int):
    from numnet import nets

    if name not in VARIANTS:
        raise ValueError(f"unknown network {name!r}; known: {', '.join(NETS)}")
    family, options = VARIANTS[name]
    return nets.build(family, depth, **options)


def _step_fn(net, batch, device):
    import torch
    import torch.nn.functional as F

    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    return step, x, y


def measure_memory(name: str, depth: int, batch: int, device: str, threads: int) -> dict:
    """Saved activation bytes (exact) and the peak memory of one forward+backward, measured
    as benchmarks/nets.py does (CUDA allocator peak, or the torch.profiler memory timeline
    on CPU)."""
    import torch
    import torch.nn.functional as F

    from nets import peak_bytes  # benchmarks/nets.py
    from numnet.nets.memory import SavedTensors

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build(name, depth).to(device)
    _, x, y = _step_fn(net, batch, device)
    with SavedTensors(exclude=list(net.parameters()) + list(net.buffers())) as saved:
        loss = F.cross_entropy(net(x), y)
    del loss
    peak = peak_bytes(net, x, y, F.cross_entropy, torch.device(device))
    params = sum(p.numel() for p in net.parameters())
    return {"net": name, "depth": depth, "params": params, "saved_MB": saved.bytes / 2**20, "peak_MB": peak / 2**20}


def _no_grad_forward(net, x, device):
    import torch

    def run():
        with torch.no_grad():
            net(x)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    return run


def measure_time(names, depth: int, batch: int, repeat: int, device: str, threads: int) -> dict:
    """Median step time of each network, steps of the networks interleaved (after one
    warm-up each), so that a change of machine load affects them alike."""

    import torch

    torch.set_num_threads(threads)
    steps = {}
    for name in list(names):
        torch.manual_seed(0)
        net = build(name, depth).to(device)
        steps[name], x, _ = _step_fn(net, batch, device)
        steps[name]()
        if name in TWINS.values():  # what recomputation adds at least: one forward without a graph
            steps[f"{name}/forward"] = _no_grad_forward(net, x, device)
    names = list(steps)
    times = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            t = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _table(by, depths):
    lines = ["| network | " + " | ".join(f"depth {d}" for d in depths) + " |", "|---" * (len(depths) + 1) + "|"]
    for what, key, fmt in (("saved activations (MB)", "saved_MB", "{:.1f}"), ("peak step memory (MB)", "peak_MB", "{:.0f}"),
                           ("step time (s)", "time_s", "{:.2f}")):
        lines.append(f"| **{what}** |" + " |" * len(depths))
        for net in NETS:
            cells = [fmt.format(by[net, d][key]) if key in by.get((net, d), {}) else "–" for d in depths]
            if any(c != "–" for c in cells):
                lines.append(f"| {net} | " + " | ".join(cells) + " |")
    lines.append("| **recomputing / ordinary: saved, time (floor)** |" + " |" * len(depths))
    for net, twin in TWINS.items():
        cells = []
        for d in depths:
            a, b = by.get((net, d), {}), by.get((twin, d), {})
            f = by.get((f"{twin}/forward", d), {})
            ok = all(k in a and k in b for k in ("saved_MB", "time_s"))
            floor = f" ({1 + f['time_s'] / b['time_s']:.2f}×)" if ok and "time_s" in f else ""
            cells.append(f"{a['saved_MB'] / b['saved_MB']:.3f}, {a['time_s'] / b['time_s']:.2f}×{floor}" if ok else "–")
        if any(c != "–" for c in cells):
            lines.append(f"| {net} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[38, 110, 218, 1202])
    parser.add_argument("--nets", nargs="+", default=list(GROUPS), choices=list(GROUPS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reversible-results.jsonl")
    parser.add_argument("--one", nargs=3, metavar=("KIND", "NETS", "DEPTH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    common = {"batch": args.batch, "device": args.device, "threads": args.threads}
    if args.one:
        kind, nets, depth = args.one[0], args.one[1].split(","), int(args.one[2])
        if kind == "memory":
            out = measure_memory(nets[0], depth, args.batch, args.device, args.threads)
        else:
            out = {"net": ",".join(nets), "depth": depth,
                   "time_s": measure_time(nets, depth, args.batch, args.repeat, args.device, args.threads)}
        print(json.dumps({**out, **common, "kind": kind}))
        return 0
    from tqdm import tqdm

    done = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()] if args.out.exists() else []
    same = [r for r in done if all(r.get(k) == v for k, v in common.items())]
    have = {(r["kind"], r["net"], r["depth"]) for r in same}
    jobs = []
    for d in args.depths:
        for group in args.nets:
            jobs += [("memory", n, d) for n in GROUPS[group]] + [("time", ",".join(GROUPS[group]), d)]
    todo = [j for j in jobs if j not in have]
    for kind, nets, depth in tqdm(todo, desc="measurements"):
        cmd = [sys.executable, __file__, "--one", kind, nets, str(depth), "--batch", str(args.batch),
               "--repeat", str(args.repeat), "--device", args.device, "--threads", str(args.threads)]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if res.returncode:
            print(f"{kind} {nets}-{depth} failed:\n{res.stderr[-2000:]}", file=sys.stderr)
            continue
        row = json.loads(res.stdout.strip().splitlines()[-1])
        with args.out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        same.append(row)
    rows = {}
    for r in same:
        if r["kind"] == "memory":
            rows.setdefault((r["net"], r["depth"]), {}).update(r)
        else:
            for name, t in r["time_s"].items():
                rows.setdefault((name, r["depth"]), {})["time_s"] = t
    print(f"batch {args.batch}, 3×32×32, device {args.device}, {args.threads} thread(s)")
    print(_table(rows, args.depths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
