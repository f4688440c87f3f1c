"""Throughput and memory of scheme nets at equal parameters: ResNet-56 vs LM-ResNet-56 vs
Adams-56 vs RK2-56 (Heun, one block per tableau stage: half the steps, same blocks).

Run by hand (not a test):

    PYTHONPATH=. python benchmarks/nets.py                      # CPU, batch 32
    PYTHONPATH=. python benchmarks/nets.py --device cuda --batch 128

Measures, in one run and interleaved (rounds alternate the nets, medians reported):

- forward+backward throughput in training mode (images/s, median over rounds), and the
  time ratio to ResNet from the medians and from the fastest rounds (robust to other load);
- scheme arithmetic: forward+backward time of the step combinations alone (blocks
  replaced by a fixed f), fastest of many repetitions, and its excess over ResNet's as a
  percentage of ResNet's training step — the intrinsic overhead of a scheme;
- saved activations: bytes of the distinct storages autograd keeps for the backward
  pass (``numnet.nets.memory.SavedTensors``, parameters and buffers excluded) — exact and
  device-independent; the target is LM-ResNet = ResNet + 0 extra (the previous state is
  already saved by the next block's batch norm);
- peak memory allocated during one training step: ``torch.cuda.max_memory_allocated``
  on CUDA; on CPU the allocation timeline recorded by ``torch.profiler``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

from numnet import nets
from numnet.nets.memory import SavedTensors

NETS = {
    "resnet": lambda d: nets.resnet(d),
    "lm_resnet": lambda d: nets.lm_resnet(d),
    "adams2_learnable": lambda d: nets.adams_net(d, steps=2, learnable=True),
    "rk2_heun": lambda d: nets.scheme_net("heun", d),
}


def _train_step(model, x, y, loss_fn):
    model.zero_grad(set_to_none=True)
    loss_fn(model(x), y).backward()


def _batch(args, device):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=g).to(device)
    y = torch.randint(0, 10, (args.batch,), generator=g).to(device)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


def _build(name, args, device):
    torch.manual_seed(0)
    model = NETS[name](args.depth).to(device).train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def saved_activation_bytes(model, x) -> tuple:
    """(bytes, count) of distinct storages saved for backward by one training forward."""
    with SavedTensors(exclude=[*model.parameters(), *model.buffers()]) as saved:
        model(x)
    return saved.bytes, saved.count


def step_arithmetic_seconds(model, x, device, reps: int = 30) -> float:
    """Forward+backward time of the scheme arithmetic alone over one training step: each
    planned step's combination on random tensors of the stage's shape (blocks replaced by
    a precomputed f), fastest of ``reps``, summed over the plan. Robust to other load,
    unlike end-to-end timings, because it times milliseconds of pure elementwise work."""
    shapes = []
    hooks = [st.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape))) for st in model.stages]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    total = 0.0
    for stage, shape in zip(model.stages, shapes):
        for kind, blocks, slot in stage.plan:
            rule = stage.euler if kind in ("entry", "startup") else stage.rule
            values = stage._euler_values if rule is stage.euler else stage._step_values(slot)
            leaf = lambda: torch.randn(shape, device=device, requires_grad=True)  # noqa: E731
            f = leaf()
            width = getattr(rule, "steps", 1)
            g = torch.ones(shape, device=device)
            best = float("inf")
            for _ in range(reps):
                hist = [[leaf(), leaf()] for _ in range(width - 1)] + [[leaf(), None]]
                _sync(device)
                t0 = time.perf_counter()
                rule.advance(hist, [lambda u: f] * len(blocks), values)
                hist[-1][0].backward(g)
                _sync(device)
                best = min(best, time.perf_counter() - t0)
            total += best
    return total


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_bytes(model, x, y, loss_fn, device) -> int:
    """Peak memory allocated during one training step: CUDA's allocator statistics, or on
    CPU the memory timeline of ``torch.profiler`` (every allocation and free recorded)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        _train_step(model, x, y, loss_fn)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    import numpy as np
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler._memory_profiler import MemoryProfileTimeline

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof:
        _train_step(model, x, y, loss_fn)
    _, sizes = MemoryProfileTimeline(prof._memory_profile())._coalesce_timeline("cpu")
    return int(np.asarray(sizes).sum(axis=1).max())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=56)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--iters", type=int, default=3, help="training steps per timing")
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (median reported)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile each net (compiled during warm-up)")
    p.add_argument("--nets", default=",".join(NETS))
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    names = args.nets.split(",")
    models = {n: _build(n, args, device) for n in names}
    if args.compile:
        models = {n: torch.compile(m) for n, m in models.items()}
    x, y = _batch(args, device)
    loss_fn = torch.nn.CrossEntropyLoss()
    params = {n: sum(q.numel() for q in m.parameters()) for n, m in models.items()}
    for m in models.values():  # warm-up
        _train_step(m, x, y, loss_fn)
    times = {n: [] for n in names}
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for n in order:
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(args.iters):
                _train_step(models[n], x, y, loss_fn)
            _sync(device)
            times[n].append(time.perf_counter() - t0)
    saved = {n: saved_activation_bytes(models[n], x) for n in names}
    peaks = {n: peak_bytes(models[n], x, y, loss_fn, device) for n in names}
    arith = {n: step_arithmetic_seconds(getattr(models[n], "_orig_mod", models[n]), x, device) for n in names}
    base = names[0]
    ips = {n: args.batch * args.iters / statistics.median(times[n]) for n in names}
    print(f"device={device} threads={torch.get_num_threads()} depth={args.depth} batch={args.batch} "
          f"size={args.size} rounds={args.rounds}x{args.iters} channels_last={args.channels_last} compile={args.compile} "
          f"torch={torch.__version__} loadavg={os.getloadavg()[0]:.1f}")
    fastest = {n: min(times[n]) / args.iters for n in names}
    print(f"{'net':<18}{'params':>10}{'img/s':>8}{'time/'+base:>13}{'(min)':>7}{'arith ms':>10}{'arith %':>9}"
          f"{'saved MB':>10}{'saved/'+base:>13}{'#saved':>8}{'peak MB':>9}")
    for n in names:
        print(f"{n:<18}{params[n]:>10}{ips[n]:>8.1f}{ips[base] / ips[n]:>13.3f}{fastest[n] / fastest[base]:>7.3f}"
              f"{arith[n] * 1e3:>10.2f}{100 * (arith[n] - arith[base]) / fastest[base]:>+9.2f}"
              f"{saved[n][0] / 2**20:>10.2f}{saved[n][0] / saved[base][0]:>13.4f}{saved[n][1]:>8}{peaks[n] / 2**20:>9.1f}")
    print(f"arith: scheme arithmetic (combinations) fwd+bwd per training step; arith %: its excess over {base}'s, "
          f"in % of {base}'s fastest step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
