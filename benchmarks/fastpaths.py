"""Do bf16 autocast and channels-last pay on this CPU, and do they keep the accuracy? (run by hand)

    PYTHONPATH=. python benchmarks/fastpaths.py                       # step times, 1 and 2 threads
    PYTHONPATH=. python benchmarks/fastpaths.py --accuracy 10000      # + fp32 vs bf16 on Fashion-MNIST
    PYTHONPATH=. python benchmarks/fastpaths.py --net lm_resnet --against resnet --threads 1

Step times: one training step (forward, backward, SGD update) of ``--net``-``--depth`` on a
batch of 128 28×28 images, each mode on its own copy of the model, the modes *interleaved*
step by step in one process (so drifting machine load hits all of them alike), medians
over ``--steps`` steps after warm-up; the ratio to fp32 is the figure to read. The load
average is printed beside them: the machines are shared.

``--against NET``: both nets in every mode, interleaved, and the ratio of ``--net``'s step
to ``NET``'s per mode (the overhead of learnable coefficients, e.g. LM-ResNet's over ResNet's).

Accuracy: the same net, seed and data trained by numnet.train.train in fp32 and with the
default fast paths (numnet.train.fastpath.fast_paths), test accuracy side by side.
Record the tables in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

MODES = {"fp32": (False, False), "channels-last": (False, True), "bf16": (True, False),
         "bf16+channels-last": (True, True)}


def step_times(net: str, depth: int, widths, steps: int, threads: int, against: str | None = None) -> dict:
    """Median step time per mode (``against``: also per ``(mode, against)``)."""
    from numnet import nets

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (128,), generator=g)
    runs = {}
    for name, (bf16, cl), arch in [(m, o, a) for m, o in MODES.items() for a in (net, against) if a]:
        torch.manual_seed(0)
        model = nets.build(arch, depth, in_channels=1, num_classes=10, widths=widths)
        name = name if arch == net else (name, arch)
        xs = x.contiguous(memory_format=torch.channels_last) if cl else x
        if cl:
            model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        runs[name] = (model, opt, xs, bf16, [])
    for i in range(steps + 2):
        for name, (model, opt, xs, bf16, times) in runs.items():
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = torch.nn.functional.cross_entropy(model(xs), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if i >= 2:
                times.append(time.perf_counter() - t)
    return {name: statistics.median(r[4]) for name, r in runs.items()}


def accuracy(net: str, depth: int, widths, images: int, epochs: int) -> dict:
    from numnet import data, nets
    from numnet.train import Recipe, train
    from numnet.train.fastpath import fast_paths

    splits = data.load("fashion_mnist").limit_train(images)
    fast = fast_paths("cpu")
    out = {}
    for name, options in (("fp32", {}), ("fast", {"bf16": fast.bf16, "channels_last": fast.channels_last})):
        torch.manual_seed(0)
        model = nets.build(net, depth, in_channels=1, num_classes=10, widths=widths)
        recipe = Recipe("fastpath-check", epochs=epochs, batch_size=128, milestones=())
        r = train(model, splits, recipe, device="cpu", seed=0, progress=False, **options)
        out[name] = (r.final_test_acc, r.history[-1]["images_per_s"], options)
    return out


def main(argv=None) -> None:
    from numnet.train.fastpath import machine

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="resnet")
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--against", default=None, help="a second net: the step ratio --net / NET per mode")
    p.add_argument("--accuracy", type=int, default=0, help="training images for the fp32-vs-fast check (0: skip)")
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args(argv)
    widths = tuple(int(w) for w in args.widths.split(","))
    print(f"{args.net}-{args.depth} widths {widths}, batch 128 of 1x28x28; {machine()}; torch {torch.__version__}")
    print("| threads | " + " | ".join(MODES) + " | load avg before/after |")
    print("| ---: | " + " | ".join("---:" for _ in MODES) + " | --- |")
    for threads in (int(t) for t in args.threads.split(",")):
        before = os.getloadavg()[0]
        t = step_times(args.net, args.depth, widths, args.steps, threads, args.against)
        after = os.getloadavg()[0]
        cells = [f"{t[m] * 1000:.0f} ms ({t['fp32'] / t[m]:.2f}x)" for m in MODES]
        if args.against:
            cells = [c + f", {t[m] / t[(m, args.against)]:.3f}x {args.against}" for c, m in zip(cells, MODES)]
        print(f"| {threads} | " + " | ".join(cells) + f" | {before:.2f} / {after:.2f} |", flush=True)
    if args.accuracy:
        acc = accuracy(args.net, args.depth, widths, args.accuracy, args.epochs)
        print(f"\n{args.accuracy} Fashion-MNIST images, {args.epochs} epochs, seed 0, {torch.get_num_threads()} threads")
        print("| run | options | test accuracy | images/s |\n| --- | --- | ---: | ---: |")
        for name, (a, rate, options) in acc.items():
            print(f"| {name} | {options or 'fp32'} | {a:.4f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
