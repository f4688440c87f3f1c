"""Issue 20's Fashion-MNIST study (preset ``fmnist-full``) on one device, with its fast paths.

    PYTHONPATH=. python benchmarks/gpu_study.py --data-dir DIR            # one CUDA GPU, < 9 min projected
    PYTHONPATH=. python benchmarks/gpu_study.py --data-dir DIR --dry-run  # only measure and project
    PYTHONPATH=. python benchmarks/gpu_study.py --tiny --device cpu --out /tmp/tiny  # 1 seed x 2 archs x 4 batches
    PYTHONPATH=. python benchmarks/gpu_study.py --table-only --out docs/fmnist-full --doc docs/fmnist-full-study.md

The grid (:data:`numnet.study.presets.PRESETS` ``["fmnist-full"]``): He et al.'s ResNet-20
(``resnet_postact``), LM-ResNet-20, Adams k = 2 learnable (A) and fixed (B), and LM-ResNet-20
with ``coefficient_decay="none"`` (``lm_resnet@decay=none``), widths 16-32-64, seeds 0, 1, 2,
all 60,000 training images with 5,000 held out for model selection (split seed 0), the
10,000 test images evaluated after every epoch, the paper's schedule scaled to 12 epochs.
``DIR`` holds the four official ``*-ubyte.gz`` files (carried beside the working tree).

It runs :func:`numnet.study.study` — the same records (``OUT/runs/<key>.json``), the same
resumption (finished runs are read back, an interrupted one continues from its last epoch
under ``OUT/train/``) and the same ``table.md/.csv/.json`` as ``numnet study`` — with the
device's fast paths, none of which changes the algorithm: the data resident on the device,
bf16 autocast where the device computes bf16 natively, channels-last, and
``torch.compile`` (``--compile auto``: on CUDA; a model that fails to compile is reported
and trained eagerly). Before the grid it times a few training steps of ResNet-20 and
prints the projected wall time; ``--procs N`` trains N shards of the grid as N processes
on the one GPU (small nets at batch 128 leave a GPU mostly idle between kernel launches,
so several processes fill it), then writes the table.

The projection before any GPU measurement (none was at hand when this was written): a
ResNet-20 training step at batch 128 on 28x28 images is ~12 GFLOP, ~0.1 ms of an H100's or
H200's bf16 throughput, so the step is bound by launching its ~300 kernels: ~4-6 ms eager
(~25,000 img/s), less compiled (fused batch-norm/ReLU kernels). The grid is 15 runs x 12
epochs x 430 steps = 77,400 steps (9.9 M images) plus 2.7 M images evaluated: ~390 s in one
eager process at 5 ms/step. ``--procs 3`` (the default on CUDA) trains three shards side by
side, filling the GPU's idle time between one process's launches: ~2-2.5x the throughput of
one, ~160-200 s, plus ~20-30 s per process to start, load the data and probe the compiler —
about 4 minutes, under 9 even at twice the step time assumed. ``torch.compile`` (``--compile
auto``) is kept only where it pays: the script times compiled and eager steps and the cost of
compiling (:func:`compile_pays`). It prints its measured projection before training (an
optimistic bound with several processes, which it assumes share the GPU perfectly) and says
when it exceeds ``--budget-s``; the runs are resumable, so a second call finishes whatever a
first one left.

On this project's lent H200 (its image's ``python3`` holds torch with CUDA and every numnet
dependency; at most 8 files come back, so the records travel as one archive), copy the four
files here once into the git-ignored ``.data/fashion-mnist/`` and run, with
``carry=[".data/fashion-mnist"]`` and ``timeout_s=600``:

    PYTHONUNBUFFERED=1 PYTHONPATH=. timeout 540 python3 benchmarks/gpu_study.py \
        --data-dir .data/fashion-mnist --no-progress 2>&1 | tee $OUT/log; \
    tar czf $OUT/fmnist-full-gpu.tgz docs/fmnist-full-gpu/runs docs/fmnist-full-gpu/table.*

(``timeout 540`` leaves time for the archive: whatever finished before it comes back, and
a later call with the archive unpacked in place resumes the rest.)

The CIFAR-10 paper grid (Lu et al. 2018, Table 1: ResNet and LM-ResNet at 20, 32, 44, 56;
the Adams nets beside them) runs through the command line, whose speed flags are the same
fast paths: ``numnet study`` and ``numnet train`` take ``--device``, ``--threads``,
``--bf16``/``--fp32`` and ``--channels-last``/``--no-channels-last`` (both on by default where
the device runs them natively: :func:`numnet.train.fastpath.fast_paths`) and ``--compile
[BACKEND]``; ``numnet report`` takes ``--device``, ``--threads`` and ``--fp32`` but trains only
its own small study. So:

    python -m numnet study --data cifar10 --download \
        --archs resnet_postact,resnet,lm_resnet,lm_resnet@decay=none,adams2,adams2_learnable \
        --depths 20,32,44,56 --seeds 0,1,2 --val-split 5000 --device cuda --compile --out runs/cifar10-paper
    python -m numnet report --device cuda --out report      # scheme table + scipy checks + small study

(160 epochs of the paper's schedule by default; ``--shard I/N`` spreads the grid over N
processes or GPUs and ``--merge`` gathers their records.)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC_BEGIN, DOC_END = "<!-- results:begin -->", "<!-- results:end -->"


def tiny_preset(p):
    """The ``--tiny`` grid: 1 seed x 2 archs (one with its own recipe field) x a few batches."""
    return p.replace(name=p.name + "-tiny", data="synthetic", archs=("resnet_postact", "lm_resnet@decay=none"),
                     depths=(14,), seeds=(0,), val_split=16, epochs=1)


def load_splits(p, data_dir, tiny: bool):
    from numnet import data

    if tiny:   # 1-channel 10-class toy images: the shapes of Fashion-MNIST, 4 batches of 16
        return data.load("synthetic", num_classes=10, channels=1, image_size=16, train_size=80, test_size=32,
                         val_split=p.val_split)
    return data.load(p.data, root=data_dir, val_split=p.val_split)


def recipe_of(p, tiny: bool):
    return p.recipe().replace(batch_size=16) if tiny else p.recipe()


def choose_compile(setting: str, device, build_model, example, bf16: bool, channels_last: bool):
    """``torch.compile`` on (``True``) or off: ``auto`` is on for CUDA; a model that fails
    to compile (or a backend that is missing) is reported and trained eagerly. ``setting``
    may also name a backend."""
    import torch

    if setting == "off" or (setting == "auto" and device.type != "cuda"):
        return False
    backend = True if setting in ("on", "auto") else setting
    t0 = time.perf_counter()
    try:
        model = build_model().to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        compiled = torch.compile(model, **({} if backend is True else {"backend": backend}))
        x, y = example
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(compiled(x).float(), y)
        loss.backward()
    except Exception as e:   # any failure of the compiler: train eagerly instead
        print(f"torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
              f"training without it", flush=True)
        return False
    choose_compile.seconds = time.perf_counter() - t0   # what compiling one graph cost
    return backend


def compile_pays(eager_s: float, compiled_s: float, compile_s: float, steps: int, graphs: int) -> bool:
    """Whether compiling saves time: the per-step saving over ``steps`` training steps of one
    process against ``compile_s`` for each of its ``graphs`` compiled graphs (each
    architecture's training and evaluation graph; the seeds of one architecture reuse them,
    torch inlining a module's parameters as graph inputs, and the inductor's cache on disk
    serves the shards after the first).

    >>> compile_pays(0.005, 0.002, 5.0, steps=25_800, graphs=10), compile_pays(0.005, 0.004, 5.0, 25_800, 10)
    (True, False)
    """
    return (eager_s - compiled_s) * steps > compile_s * graphs


def step_seconds(build_model, example, device, *, bf16, channels_last, compile, steps: int, warmup: int = 3) -> float:
    """Median wall seconds of one training step (forward, backward, SGD) of ``build_model()``."""
    import statistics

    import torch

    model = build_model().to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model, **({} if compile is True else {"backend": compile})) if compile else model
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = example
    times = []
    for i in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def projection(p, splits, recipe, seconds_per_step: float, procs: int) -> dict:
    """Projected wall seconds of the grid: training steps at the measured rate, evaluation
    of the validation and test images after every epoch at a third of a training image's
    cost (a forward pass of the three), ``procs`` processes assumed to share the device
    perfectly (an optimistic bound when ``procs > 1``)."""
    runs = len(p.runs())
    steps = -(-len(splits.train) // recipe.batch_size)
    per_image = seconds_per_step / recipe.batch_size
    evaluated = len(splits.test) + (len(splits.val) if splits.val is not None else 0)
    train_s = runs * recipe.epochs * steps * seconds_per_step
    eval_s = runs * recipe.epochs * evaluated * per_image / 3
    return {"runs": runs, "epochs": recipe.epochs, "steps_per_epoch": steps, "train_s": train_s, "eval_s": eval_s,
            "total_s": (train_s + eval_s) / procs, "images_per_s": recipe.batch_size / seconds_per_step}


def run_timing(records) -> str:
    """Markdown: per run, epochs, test accuracy (last epoch; at the best validation epoch),
    wall seconds, training images/s and the device and fast paths it ran with, from the records."""
    lines = ["| run | epochs | test acc (last) | test acc (best val epoch) | wall s | train img/s | ran on |",
             "|---|---|---|---|---|---|---|"]
    for rec in records:
        h = rec.get("history") or []
        images, train_time = sum(e.get("images", 0) for e in h), sum(e.get("train_time", 0) for e in h)
        rate = f"{images / train_time:.0f}" if train_time else "—"
        best = rec.get("test_acc_at_best")
        o = rec.get("options") or {}
        ran = ", ".join([o.get("device", "?")] + [k.replace("_", "-") for k in ("bf16", "channels_last", "compile")
                                                  if o.get(k)]) if o else "—"
        best = "—" if best is None else f"{100 * best:.2f} %"
        lines.append(f"| {rec['run']['key']} | {len(h)} | {100 * rec['final_test_acc']:.2f} % | {best} | "
                     f"{rec.get('seconds', 0):.0f} | {rate} | {ran} |")
    return "\n".join(lines) + "\n"


def results_markdown(p, out, *, write: bool = True, doc=None) -> str:
    """The results section: how many runs are finished, the study table and the timings
    (``write``: the table and figures written first from the records)."""
    from numnet.study import load_records, summarise, write_outputs

    from numnet.study import significance, stable_share
    from numnet.study.figures import caption

    keys = {r.key for r in p.runs()}
    records = [r for r in load_records(out) if r["run"]["key"] in keys]
    pending = "pending — " if len(records) < len(keys) else ""
    head = f"Results: {pending}{len(records)} of {len(keys)} runs finished.\n"
    if not records:
        return head
    figures = write_outputs(out) if write else {}
    table = (Path(out) / "table.md").read_text()
    parts = [head, table, run_timing(records)]
    baseline = p.archs[0]
    if sum(r["run"]["arch"] == baseline for r in records) >= 2:
        rows = significance.versus(records, baseline)
        if rows:
            floor = rows[0]["p_floor"]
            parts.append(f"Each net against {baseline} on the test error after the last epoch, two-sided: Welch's "
                         f"unequal-variance t-test (normal errors assumed) and the exact permutation test over seeds "
                         f"(only exchangeable seeds assumed; with these seed counts its p cannot fall below "
                         f"{floor:.3f}). Negative Δ: fewer errors than {baseline}.\n\n" + significance.markdown(rows))
    if any(r.get("spectra") is not None for r in records):
        parts.append("Outermost eigenvalues z = h·λ of each trained block's branch Jacobian (Arnoldi, 16 Ritz values "
                     "per test image; `spectra_from` in each record says which checkpoint and images) read against "
                     "the block's own learned scheme's region of absolute stability:\n\n"
                     + stable_share.markdown(stable_share.summary(records)))
    doc_dir = Path(doc).parent if doc else None
    for name, path in figures.items():
        if name.startswith("learned_") or name == "training_curves":
            where = os.path.relpath(path, doc_dir) if doc_dir else str(path)
            parts.append(f"![{name}]({where})\n\n{caption(name, summarise(records), records)}\n")
    return "\n".join(parts)


def write_doc(doc, text: str) -> None:
    """Replace the text between the results markers of ``doc`` (which must hold both)."""
    from numnet.fileio import write_text

    doc = Path(doc)
    page = doc.read_text()
    if DOC_BEGIN not in page or DOC_END not in page:
        raise SystemExit(f"{doc} has no {DOC_BEGIN} ... {DOC_END} section to fill")
    before, rest = page.split(DOC_BEGIN, 1)
    after = rest.split(DOC_END, 1)[1]
    write_text(doc, f"{before}{DOC_BEGIN}\n{text}{DOC_END}{after}")


def parse(argv=None):
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST *-ubyte.gz files")
    a.add_argument("--out", default=None, help="study folder (default: docs/fmnist-full-gpu; --tiny: required)")
    a.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default: %(default)s)")
    a.add_argument("--epochs", type=int, default=None, help="epochs instead of the preset's 12 (another "
                   "configuration: use another --out)")
    a.add_argument("--compile", default="auto", help="auto (on for CUDA), on, off, or a torch.compile backend")
    a.add_argument("--no-bf16", action="store_true", help="fp32 even where bf16 is native")
    a.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    a.add_argument("--procs", type=int, default=None, help="train the grid as N processes on the device "
                   "(default: 3 on CUDA, 1 on CPU)")
    a.add_argument("--shard", default=None, metavar="I/N", help="only every N-th run from I (no table)")
    a.add_argument("--budget-s", type=float, default=540.0, help="warn when the projection exceeds it")
    a.add_argument("--tiny", action="store_true", help="1 seed x 2 archs x a few batches on synthetic data")
    a.add_argument("--dry-run", action="store_true", help="measure and project, train nothing")
    a.add_argument("--table-only", action="store_true", help="write the table (and --doc) from OUT's records")
    a.add_argument("--spectra", type=int, default=0, metavar="N", help="with --table-only: first add the "
                   "Jacobian spectra at N test images to the finished records that lack them (from their checkpoints)")
    a.add_argument("--doc", default=None, help="a page whose results section to rewrite from the records")
    a.add_argument("--no-progress", action="store_true")
    args = a.parse_args(argv)
    if args.out is None:
        if args.tiny:
            a.error("--tiny needs --out")
        args.out = "docs/fmnist-full-gpu"
    if args.procs is None:
        args.procs = 3 if args.device.startswith("cuda") and not args.shard and not args.tiny else 1
    if args.procs < 1 or (args.procs > 1 and args.shard):
        a.error("--procs must be >= 1 and cannot be combined with --shard")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    import torch

    from numnet import nets
    from numnet.study import study
    from numnet.study.presets import get_preset
    from numnet.train.fastpath import fast_paths, machine

    p = get_preset("fmnist-full")
    p = tiny_preset(p) if args.tiny else p
    if args.epochs:
        p = p.replace(epochs=args.epochs)
    if args.table_only:
        if args.spectra:
            from numnet.study import add_spectra

            added = add_spectra(args.out, data=lambda: load_splits(p, args.data_dir, args.tiny), samples=args.spectra,
                                progress=not args.no_progress)
            print(f"spectra added to {len(added)} records", flush=True)
        text = results_markdown(p, args.out, doc=args.doc)
        print(text)
        if args.doc:
            write_doc(args.doc, text)
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here; pass --device cpu (or --tiny --device cpu for the smoke run)")
    paths = fast_paths(device)
    bf16, channels_last = paths.bf16 and not args.no_bf16, paths.channels_last
    splits = load_splits(p, args.data_dir, args.tiny)
    recipe = recipe_of(p, args.tiny)
    first = p.runs()[0]
    build_first = lambda: nets.build(first.net, first.depth, num_classes=splits.num_classes,  # noqa: E731
                                     in_channels=splits.in_channels, **first.build_options())
    g = torch.Generator().manual_seed(0)
    x = torch.rand(recipe.batch_size, splits.in_channels, *splits.image_size, generator=g).to(device)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    example = (x, torch.randint(0, splits.num_classes, (recipe.batch_size,), generator=g).to(device))
    compile = choose_compile(args.compile, device, build_first, example, bf16, channels_last)
    print(f"{machine() if device.type == 'cpu' else torch.cuda.get_device_name(device)}; bf16 {bf16}, "
          f"channels-last {channels_last}, compile {compile}, torch threads {torch.get_num_threads()}", flush=True)
    if args.shard is None:
        seconds = step_seconds(build_first, example, device, bf16=bf16, channels_last=channels_last,
                               compile=compile, steps=3 if args.tiny else 30)
        proj = projection(p, splits, recipe, seconds, args.procs)
        if compile and args.compile == "auto":   # keep it only where it pays, measured
            eager = step_seconds(build_first, example, device, bf16=bf16, channels_last=channels_last,
                                 compile=False, steps=3 if args.tiny else 30)
            steps = proj["runs"] * proj["epochs"] * proj["steps_per_epoch"] / args.procs
            graphs = 2 * len(p.archs)
            if not compile_pays(eager, seconds, choose_compile.seconds, steps, graphs):
                print(f"torch.compile does not pay here ({1000 * seconds:.1f} ms/step compiled, {1000 * eager:.1f} "
                      f"eager, {choose_compile.seconds:.0f} s per compiled graph x {graphs}); training eagerly",
                      flush=True)
                compile, seconds = False, eager
                proj = projection(p, splits, recipe, seconds, args.procs)
        print(f"projected: {proj['runs']} runs x {proj['epochs']} epochs x {proj['steps_per_epoch']} steps at "
              f"{1000 * seconds:.1f} ms/step ({proj['images_per_s']:.0f} img/s): {proj['train_s']:.0f} s training "
              f"+ {proj['eval_s']:.0f} s evaluation, {proj['total_s']:.0f} s with {args.procs} process(es)"
              f"{'' if proj['total_s'] <= args.budget_s else f' — over the {args.budget_s:.0f} s budget'}",
              flush=True)
        if args.dry_run:
            return 0
    t0 = time.perf_counter()
    if args.procs > 1:
        return _spawn(args, p, t0, compile)
    options = {"device": str(device), "bf16": bf16, "channels_last": channels_last, "compile": compile,
               "resident": True, "progress": not args.no_progress}
    study(list(p.archs), list(p.depths), list(p.seeds), args.out, data=splits, recipe=recipe, shard_of=args.shard,
          progress=not args.no_progress, train_options=options)
    print(f"{'shard ' + args.shard if args.shard else 'grid'} done in {time.perf_counter() - t0:.0f} s "
          f"under {args.out}", flush=True)
    if args.shard is None:
        _finish(args, p, write=False)   # study() has written the table
    return 0


def _spawn(args, p, t0, compile) -> int:
    """Train ``args.procs`` shards as child processes of this script (with the ``compile``
    decided here), then write the table."""
    decided = "off" if not compile else "on" if compile is True else compile
    base = [sys.executable, str(Path(__file__).resolve()), "--out", args.out, "--device", args.device,
            "--compile", decided, "--no-progress"]
    for flag, value in (("--data-dir", args.data_dir), ("--epochs", args.epochs), ("--threads", args.threads)):
        if value:
            base += [flag, str(value)]
    base += ["--tiny"] * args.tiny + ["--no-bf16"] * args.no_bf16
    children = [subprocess.Popen([*base, "--shard", f"{i}/{args.procs}"], env=os.environ.copy())
                for i in range(args.procs)]
    codes = [c.wait() for c in children]
    print(f"{args.procs} shards done in {time.perf_counter() - t0:.0f} s (exit codes {codes})", flush=True)
    if any(codes):
        return 1
    _finish(args, p)
    return 0


def _finish(args, p, write: bool = True) -> None:
    text = results_markdown(p, args.out, write=write, doc=args.doc)
    print(text)
    if args.doc:
        write_doc(args.doc, text)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))   # this checkout's numnet, wherever the script is run from
    raise SystemExit(main())
