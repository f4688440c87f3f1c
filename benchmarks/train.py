"""Images per second of a ResNet training epoch: eager vs compiled vs bf16 (run by hand).

    PYTHONPATH=. python benchmarks/train.py                      # CPU: small epoch
    PYTHONPATH=. python benchmarks/train.py --device cuda        # GPU: full 50k-image epoch
    PYTHONPATH=. python benchmarks/train.py --net lm_resnet --modes eager,bf16+cl+compile
    PYTHONPATH=. python benchmarks/train.py --against-plain --depth 20   # numnet loop vs a plain one

Each mode trains a fresh model (numnet.nets.build(net, depth, num_classes=10,
in_channels=3)) for ``--epochs`` epochs of CIFAR-shaped synthetic data through
numnet.train.train — the real loop: on-device augmentation, SGD step, evaluation —
and reports the images/s of the last epoch (the first one pays for compilation and
warm-up). "160 epochs" extrapolates the paper recipe: 160 × (50,000 images / rate);
evaluation time is not included. Record the table in benchmarks/README.md.

``--against-plain``: the numnet loop (numnet.train.train, one epoch per call, no
augmentation) against a plain PyTorch loop (preloaded normalised float tensors, a
randperm per epoch, autocast, SGD) on the same Fashion-MNIST-shaped synthetic images,
in fp32, channels-last and bf16 + channels-last, with 1 and 2 threads — every
combination interleaved epoch by epoch in one process over ``--rounds`` rounds (the
first is warm-up), medians of the training time per image; the 1-minute load average
is printed beside each round (the machines are shared: read the ratios).
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

MODES = {  # name -> train() options; none of them changes the algorithm
    "eager": {},
    "cl": {"channels_last": True},
    "bf16": {"bf16": True},
    "bf16+cl": {"bf16": True, "channels_last": True},
    "compile": {"compile": True},
    "bf16+cl+compile": {"bf16": True, "channels_last": True, "compile": True},
}


def run_mode(args, options: dict) -> dict:
    from numnet import data, nets
    from numnet.train import Recipe, train

    splits = data.synthetic(num_classes=10, channels=3, image_size=32, train_size=args.train_size,
                            test_size=args.test_size, seed=0)
    torch.manual_seed(0)
    model = nets.build(args.net, args.depth, num_classes=10, in_channels=3)
    recipe = Recipe("bench", epochs=args.epochs, batch_size=args.batch_size, milestones=())
    t0 = time.perf_counter()
    result = train(model, splits, recipe, device=args.device, progress=False, **options)
    last = result.history[-1]
    return {"img_s": last["images_per_s"], "first_epoch_s": result.history[0]["train_time"],
            "wall_s": time.perf_counter() - t0, "loss": last["train_loss"]}


PLAIN_MODES = {"fp32": {}, "channels-last": {"channels_last": True},
               "bf16+channels-last": {"bf16": True, "channels_last": True}}


def against_plain(args) -> None:
    import copy
    import os
    import statistics

    from numnet import data, nets
    from numnet.data import Loader
    from numnet.train import Recipe, train
    from numnet.train.fastpath import machine

    splits = data.synthetic(num_classes=10, channels=1, image_size=28, train_size=args.train_size,
                            test_size=args.test_size, seed=0)
    recipe = Recipe("bench", epochs=1, batch_size=args.batch_size, milestones=(), pad=0, flip=False)
    x = torch.cat([b.images for b in Loader(splits.train, 4096).epoch(0)])   # normalised, as numnet feeds them
    y = splits.train.labels
    torch.manual_seed(0)
    base = nets.build(args.net, args.depth, num_classes=10, in_channels=1)
    cells = {}
    for threads in (1, 2):
        for mode, options in PLAIN_MODES.items():
            for loop in ("numnet", "plain"):
                model = copy.deepcopy(base)
                if options.get("channels_last"):
                    model = model.to(memory_format=torch.channels_last)
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
                xs = x.contiguous(memory_format=torch.channels_last) if options.get("channels_last") else x
                cells[(threads, mode, loop)] = (model, opt, xs, options, [])

    def plain_epoch(model, opt, xs, options, epoch) -> float:
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch))
        t = time.perf_counter()
        for i in range(0, len(y), args.batch_size):
            idx = order[i:i + args.batch_size]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=options.get("bf16", False)):
                logits = model(xs[idx]).float()
            loss = torch.nn.functional.cross_entropy(logits, y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t

    print(f"{args.net}-{args.depth}, batch {args.batch_size} of 1x28x28, {args.train_size} images/epoch; "
          f"{machine()}; torch {torch.__version__}")
    for r in range(args.rounds):
        for (threads, mode, loop), (model, opt, xs, options, times) in cells.items():
            torch.set_num_threads(threads)
            if loop == "numnet":
                seconds = train(model, splits, recipe, device="cpu", seed=r, progress=False, **options).history[-1][
                    "train_time"]
            else:
                seconds = plain_epoch(model, opt, xs, options, r)
            if r:
                times.append(seconds / args.train_size)
        print(f"round {r + 1}/{args.rounds}{' (warm-up)' if not r else ''}: load average {os.getloadavg()[0]:.2f}",
              flush=True)
    med = {k: statistics.median(v[4]) for k, v in cells.items()}
    print("\n| threads | mode | numnet ms/img | plain ms/img | numnet / plain | speed-up over fp32 (numnet) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for threads in (1, 2):
        for mode in PLAIN_MODES:
            n, pl = med[(threads, mode, "numnet")], med[(threads, mode, "plain")]
            print(f"| {threads} | {mode} | {n * 1e3:.2f} | {pl * 1e3:.2f} | {n / pl:.3f} | "
                  f"{med[(threads, 'fp32', 'numnet')] / n:.2f}x |")
    one, two = med[(1, "bf16+channels-last", "numnet")], med[(2, "bf16+channels-last", "numnet")]
    print(f"\nbf16+channels-last, numnet: 2 threads / 1 thread = {two / one:.2f} of the time per image")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="resnet")
    p.add_argument("--depth", type=int, default=56)
    p.add_argument("--device", default="auto")
    p.add_argument("--train-size", type=int, help="images per epoch (default: 50000 on CUDA, 1024 on CPU)")
    p.add_argument("--test-size", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--modes", default=None, help=f"comma-separated, from {', '.join(MODES)} (default: all)")
    p.add_argument("--against-plain", action="store_true", help="numnet loop vs a plain PyTorch loop (CPU)")
    p.add_argument("--rounds", type=int, default=3, help="--against-plain: rounds, the first one warm-up")
    args = p.parse_args(argv)
    if args.against_plain:
        args.train_size = args.train_size or 384
        against_plain(args)
        return
    from numnet.train.distributed import resolve_device

    args.device = str(resolve_device(args.device))
    if args.train_size is None:
        args.train_size = 50000 if args.device.startswith("cuda") else 1024
    modes = args.modes.split(",") if args.modes else list(MODES)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        p.error(f"unknown modes {unknown}; choose from {', '.join(MODES)}")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "CPU"
    print(f"{args.net}-{args.depth}, batch {args.batch_size}, {args.train_size} images/epoch, "
          f"device {args.device} ({name}, {torch.get_num_threads()} threads), torch {torch.__version__}\n")
    print("| mode | images/s | first epoch (s) | est. 160 epochs (min) | last-epoch loss |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for mode in modes:
        try:
            r = run_mode(args, MODES[mode])
        except Exception as e:  # e.g. no C++ compiler for torch.compile: report, go on
            print(f"| {mode} | failed: {type(e).__name__}: {str(e).splitlines()[0][:80]} | | | |")
            continue
        est = 160 * 50000 / r["img_s"] / 60
        print(f"| {mode} | {r['img_s']:.0f} | {r['first_epoch_s']:.1f} | {est:.1f} | {r['loss']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
