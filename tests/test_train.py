"""The training loop: learning, bit-exact resume, durable files, recipes, DDP (gloo, world 1)."""

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import torch
from torch import nn

from numnet import data
from numnet.fileio import read_jsonl
from numnet.train import RECIPES, Recipe, TrainResult, get_recipe, train
from numnet.train import checkpoint as ckpt
from numnet.train import loop
from numnet.train.lock import RunLocked

RECIPE = Recipe("test", epochs=4, batch_size=32, lr=0.5, milestones=(3,), pad=2, flip=True)
TIMING = {"train_time", "epoch_time", "images_per_s"}


class TinyNet(nn.Module):
    """conv-BN-ReLU, a learnable residual weight k (reported like a scheme coefficient), pool, linear."""

    def __init__(self, channels=3, classes=4, width=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.block = nn.Conv2d(width, width, 3, padding=1)
        self.k = nn.Parameter(torch.tensor(0.5))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes))

    def forward(self, x):
        u = self.stem(x)
        return self.head(u + self.k * torch.relu(self.block(u)))

    def learned_coefficients(self):
        return [{"stage": 0, "block": 0, "symbol": "k", "value": self.k.detach()}]


def make_net(seed=0):
    torch.manual_seed(seed)
    return TinyNet()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny convolutions: one thread is fastest, and avoids oversubscribing CPUs shared by
    pytest-xdist workers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def splits():
    return data.load("synthetic", train_size=160, test_size=64, val_split=32, image_size=8)


def strip_timing(history):
    return [{k: v for k, v in h.items() if k not in TIMING} for h in history]


def assert_same_weights(a: nn.Module, b: nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_loss_falls_and_result_is_complete(splits):
    net = make_net()
    r = train(net, splits, RECIPE, progress=False)
    losses = [h["train_loss"] for h in r.history]
    assert losses[-1] < 0.5 * losses[0]
    assert r.final_test_acc >= 0.9 and r.best_val_acc >= 0.9 and r.finished and r.epochs_done == 4
    assert [h["lr"] for h in r.history] == pytest.approx([0.5, 0.5, 0.5, 0.05])
    assert all(h["images"] == 128 for h in r.history)  # 160 - 32 held out for validation
    assert r.images_per_second > 0 and r.wall_time >= r.train_time > 0
    # learned coefficients recorded after every epoch, as plain numbers, tracking the parameter
    assert [c[0]["symbol"] for c in r.coefficients] == ["k"] * 4
    assert r.coefficients[-1][0]["value"] == pytest.approx(net.k.item())
    assert r.test_acc_at_best == r.history[r.best_epoch - 1]["test_acc"]
    json.dumps(r.to_dict())


def test_same_seed_same_run_other_seed_other_run(splits):
    a, b, c = make_net(), make_net(), make_net()
    train(a, splits, RECIPE.replace(epochs=1, milestones=()), seed=1, progress=False)
    train(b, splits, RECIPE.replace(epochs=1, milestones=()), seed=1, progress=False)
    train(c, splits, RECIPE.replace(epochs=1, milestones=()), seed=2, progress=False)
    assert_same_weights(a, b)
    assert not torch.equal(a.k, c.k)


def test_resume_after_stopping_at_an_epoch_is_bit_identical(splits, tmp_path):
    ref = make_net()
    r_ref = train(ref, splits, RECIPE, out=tmp_path / "ref", progress=False)
    net = make_net()
    partial = train(net, splits, RECIPE, out=tmp_path / "run", stop_after=2, progress=False)
    assert not partial.finished and partial.epochs_done == 2 and not (tmp_path / "run/result.json").exists()
    fresh = make_net(seed=123)  # a new process would rebuild the model with any weights
    r = train(fresh, splits, RECIPE, out=tmp_path / "run", resume=True, progress=False)
    assert r.finished and strip_timing(r.history) == strip_timing(r_ref.history)
    assert_same_weights(fresh, ref)
    assert strip_timing(read_jsonl(tmp_path / "run/metrics.jsonl")) == strip_timing(r.history)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_mid_epoch_leaves_a_checkpoint_that_resumes_bit_identically(splits, tmp_path):
    ref = make_net()
    train(ref, splits, RECIPE, out=tmp_path / "ref", progress=False)

    class CtrlC(TinyNet):
        calls = 0

        def forward(self, x):
            if self.training:
                CtrlC.calls += 1
                if CtrlC.calls == 7:  # second batch of epoch 2 (4 batches per epoch)
                    os.kill(os.getpid(), signal.SIGINT)
            return super().forward(x)

    torch.manual_seed(0)
    net = CtrlC()
    with pytest.raises(KeyboardInterrupt, match="resume=True"):
        train(net, splits, RECIPE, out=tmp_path / "run", progress=False)
    state = ckpt.load(tmp_path / "run/checkpoint.pt")
    assert (state["epoch"], state["batch"]) == (1, 3)  # the batch in flight was finished first
    assert len(read_jsonl(tmp_path / "run/metrics.jsonl")) == 1
    torch.manual_seed(9)
    resumed = CtrlC()  # the same model class (its fingerprint is checked); no signal this time
    r = train(resumed, splits, RECIPE, out=tmp_path / "run", resume=True, progress=False)
    assert_same_weights(resumed, ref)
    assert r.history[1]["train_loss"] == pytest.approx(
        json.loads((tmp_path / "ref/result.json").read_text())["history"][1]["train_loss"], rel=1e-12)


def test_checkpoint_write_is_atomic(splits, tmp_path, monkeypatch):
    train(make_net(), splits, RECIPE, out=tmp_path, stop_after=1, progress=False)
    before = ckpt.load(tmp_path / "checkpoint.pt")

    def crash(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        train(make_net(), splits, RECIPE, out=tmp_path, resume=True, stop_after=2, progress=False)
    after = ckpt.load(tmp_path / "checkpoint.pt")
    assert after["epoch"] == before["epoch"] == 1
    assert all(torch.equal(after["model"][k], before["model"][k]) for k in before["model"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "checkpoint.pt", "config.json", "metrics.jsonl"]


def test_finished_run_is_returned_not_recomputed(splits, tmp_path, monkeypatch):
    trained = make_net()
    first = train(trained, splits, RECIPE, out=tmp_path, progress=False)
    records = read_jsonl(tmp_path / "metrics.jsonl")
    assert [m["epoch"] for m in records] == [1, 2, 3, 4]
    assert set(records[0]) >= {"train_loss", "train_acc", "val_acc", "test_acc", "lr", "images_per_s", "coefficients"}
    monkeypatch.setattr(loop._Run, "fit", lambda *a, **k: pytest.fail("recomputed a finished run"))
    fresh = make_net(seed=5)
    again = train(fresh, splits, RECIPE, out=tmp_path, progress=False)
    assert again.history == first.history and again.finished
    assert_same_weights(fresh, trained)  # the final weights are loaded into the model
    assert TrainResult.load(tmp_path / "result.json").summary() == first.summary()
    best = ckpt.load(tmp_path / "best.pt")
    assert best["epoch"] == first.best_epoch
    with pytest.raises(ValueError, match="holds a run with a different seed"):
        train(make_net(), splits, RECIPE, out=tmp_path, seed=1, progress=False)


def test_existing_checkpoint_needs_resume(splits, tmp_path):
    train(make_net(), splits, RECIPE, out=tmp_path, stop_after=1, progress=False)
    with pytest.raises(FileExistsError, match="pass resume=True"):
        train(make_net(), splits, RECIPE, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="different recipe"):
        train(make_net(), splits, RECIPE.replace(lr=0.1), out=tmp_path, resume=True, progress=False)


def test_fast_paths_do_not_change_the_algorithm(splits):
    one = RECIPE.replace(epochs=1, milestones=())
    ref = make_net()
    train(ref, splits, one, progress=False)
    for options in (dict(compile="eager"), dict(resident=False)):
        net = make_net()
        train(net, splits, one, progress=False, **options)
        assert_same_weights(net, ref)
    net = make_net()  # channels-last changes the order of float sums, not the computation
    train(net, splits, one, channels_last=True, progress=False)
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(net.state_dict()[k], v, rtol=1e-4, atol=1e-5)
    net = make_net()  # bf16 autocast: lower precision, the same learning
    r = train(net, splits, RECIPE, bf16=True, progress=False)
    assert r.final_test_acc >= 0.9


def test_ddp_world_size_one_matches_single_process(splits, tmp_path):
    import torch.distributed as dist

    if dist.is_initialized():
        pytest.skip("a process group already exists")
    ref = make_net()
    train(ref, splits, RECIPE.replace(epochs=2, milestones=()), progress=False)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        net = make_net()
        r = train(net, splits, RECIPE.replace(epochs=2, milestones=()), device="cpu", progress=False)
    finally:
        dist.destroy_process_group()
    assert r.config["options"]["world_size"] == 1
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(net.state_dict()[k], v, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("changes, message", [
    (dict(epochs=0), "epochs must be a positive int, got 0"),
    (dict(batch_size=0), "batch_size must be a positive int, got 0"),
    (dict(batch_size=12.5), "batch_size must be a positive int"),
    (dict(lr=-0.1), r"lr must be a finite number in \(0, inf\), got -0.1"),
    (dict(lr=float("inf")), r"lr must be a finite number in \(0, inf\), got inf"),
    (dict(lr=float("nan")), r"lr must be a finite number in \(0, inf\), got nan"),
    (dict(gamma=2.0), r"gamma must be a finite number in \(0, 1\], got 2.0"),
    (dict(momentum=1.0), r"momentum must be a finite number in \[0, 1\), got 1.0"),
    (dict(momentum=-0.5), r"momentum must be a finite number in \[0, 1\), got -0.5"),
    (dict(weight_decay=-1e-4), r"weight_decay must be a finite number in \[0, inf\), got -0.0001"),
    (dict(weight_decay=float("nan")), r"weight_decay must be a finite number in \[0, inf\), got nan"),
    (dict(milestones=(120, 80)), r"milestones must be increasing epochs in \(0, 160\)"),
    (dict(milestones=(80, 160)), r"milestones must be increasing epochs in \(0, 160\)"),
    (dict(milestones=(0, 80)), r"milestones must be increasing epochs in \(0, 160\), got \(0, 80\)"),
    (dict(milestones=(80, float("nan"))), r"milestones must be increasing epochs in \(0, 160\)"),
    (dict(pad=-4), "pad must be an int >= 0"),
    (dict(momentum=0.0, nesterov=True), "nesterov needs momentum"),
])
def test_recipe_validation(changes, message):
    with pytest.raises(ValueError, match=message):
        get_recipe("paper-cifar10").replace(**changes)


def test_paper_recipes():
    r10, r100 = RECIPES["paper-cifar10"], RECIPES["paper-cifar100"]
    assert (r10.lr, r10.momentum, r10.weight_decay, r10.batch_size, r10.epochs) == (0.1, 0.9, 1e-4, 128, 160)
    assert [r10.lr_at(e) for e in (0, 79, 80, 119, 120, 159)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    assert (r100.epochs, r100.milestones) == (300, (150, 225)) and (r10.pad, r10.flip) == (4, True)
    assert r10.with_epochs(2).milestones == (1, 1.5) and r10.with_epochs(1).milestones == (0.5, 0.75)
    assert r10.with_epochs(16).milestones == (8, 12) and r100.with_epochs(4).milestones == (2, 3)
    # a recipe given only its epochs has the paper's schedule at the paper's fractions
    assert Recipe("tiny", epochs=1).milestones == (0.5, 0.75) and Recipe("x").milestones == (80, 120)
    assert Recipe("x", epochs=300).milestones == r100.milestones


def test_schedule_is_resolved_per_step(splits, monkeypatch):
    """A one-epoch run of the paper's recipe still divides the lr by 10 at 1/2 and 3/4 of
    its steps (before, the milestones scaled to epoch 0 and were dropped: lr 0.1 throughout)."""
    seen = []
    step = torch.optim.SGD.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", spy)
    recipe = get_recipe("paper-cifar10").with_epochs(1).replace(batch_size=16, pad=0)  # 128 images: 8 steps
    r = train(make_net(), splits, recipe, progress=False)
    assert seen == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)
    assert r.history[0]["lr"] == 0.1
    seen.clear()  # fractional milestones across epochs: 2 epochs of 8 steps, milestone at 1.25 epochs
    train(make_net(), splits, recipe.replace(epochs=2, milestones=(1.25,)), progress=False)
    assert seen == pytest.approx([0.1] * 10 + [0.01] * 6)


def test_train_validates_its_arguments(splits):
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        train(lambda x: x, splits, RECIPE)
    with pytest.raises(TypeError, match="data must be numnet.data.Splits"):
        train(make_net(), splits.train, RECIPE)
    with pytest.raises(ValueError, match=r"stop_after must be an epoch count in \[1, 4\], got 5"):
        train(make_net(), splits, RECIPE, stop_after=5)
    with pytest.raises(ValueError, match="unknown recipe 'fast'"):
        train(make_net(), splits, "fast")
    with pytest.raises(ValueError, match="device must be"):
        train(make_net(), splits, RECIPE, device="gpu")


def test_divergence_stops_at_the_step(splits):
    """lr = 1e6: the loss is inf/nan within a few steps; the run stops there, not at the end
    of the epoch (16 steps of 8 images), and says where and what the loss was."""
    forwards = []

    class Counted(TinyNet):
        def forward(self, x):
            if self.training:
                forwards.append(1)
            return super().forward(x)

    torch.manual_seed(0)
    with pytest.raises(FloatingPointError, match=r"diverged in epoch 1, step (\d+) of 16: loss (nan|inf)") as err:
        train(Counted(), splits, RECIPE.replace(lr=1e6, batch_size=8), progress=False)
    step = int(re.search(r"step (\d+)", str(err.value))[1])
    assert step < 16 and len(forwards) == step + 1  # checked one step later, never at the epoch's end


def test_divergence_keeps_the_last_good_checkpoint(splits, tmp_path):
    class NaNAt(TinyNet):
        calls = 0

        def forward(self, x):
            out = super().forward(x)
            if self.training:
                NaNAt.calls += 1
                if NaNAt.calls == 6:  # step 2 of epoch 2 (4 steps per epoch)
                    return out * float("nan")
            return out

    torch.manual_seed(0)
    with pytest.raises(FloatingPointError, match=r"epoch 2, step 2 of 4: loss nan .*checkpoint.pt keeps epoch 1"):
        train(NaNAt(), splits, RECIPE, out=tmp_path, progress=False)
    state = ckpt.load(tmp_path / "checkpoint.pt")
    assert (state["epoch"], state["batch"]) == (1, 0)
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert [m["epoch"] for m in read_jsonl(tmp_path / "metrics.jsonl")] == [1]
    assert not (tmp_path / "result.json").exists()


HOLD = """
import sys, time
from numnet.train.lock import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_second_process_cannot_write_into_a_running_directory(splits, tmp_path):
    """Another process holds the run directory (as a running ``numnet train`` does): a second
    writer is refused at once, with the directory and the holder's pid, and writes nothing."""
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked, match=rf"{re.escape(str(out))} is in use by another training process "
                                            rf"\(pid {holder.pid}\)"):
            train(make_net(), splits, RECIPE, out=out, progress=False)
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing of the second run
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    r = train(make_net(), splits, RECIPE.replace(epochs=1, milestones=()), out=out, progress=False)  # released
    assert r.finished and ".lock" not in {p.name for p in out.iterdir()}


def test_resume_removes_temporaries_of_a_killed_write(splits, tmp_path):
    train(make_net(), splits, RECIPE, out=tmp_path, stop_after=1, progress=False)
    (tmp_path / ".checkpoint.pt.k1ll3d.tmp").write_bytes(b"half a checkpoint")
    train(make_net(), splits, RECIPE, out=tmp_path, resume=True, progress=False)
    assert not list(tmp_path.glob(".*.tmp"))


def test_zero_stability_is_tracked_per_epoch(splits):
    """An LM-ResNet whose k_n is pushed out of (-1, 1] during training: the history and the
    result say which block left the zero-stability set, and when."""
    from numnet import nets

    torch.manual_seed(0)
    net = nets.lm_resnet(14, widths=(4, 4, 4), num_classes=4)  # per stage: an Euler entry step, one LM step
    k = net.stages[0].coef.k
    calls = []

    def push(module, args):  # after epoch 1 (4 steps), set stage 0's k to 1.5: rho = (xi - 1)(xi + 1.5)
        if module.training:
            calls.append(1)
            if len(calls) == 5:
                with torch.no_grad():
                    k.fill_(1.5)
                k.requires_grad_(False)  # and keep it there

    net.register_forward_pre_hook(push)
    with pytest.warns(RuntimeWarning, match="epoch 2: the learned scheme of stage 0 block 1 is no longer zero-stable"):
        r = train(net, splits, RECIPE.replace(epochs=3, milestones=()), progress=False)
    assert [h["zero_unstable"] for h in r.history] == [[], [{"stage": 0, "block": 1}], [{"stage": 0, "block": 1}]]
    assert r.zero_unstable == [{"stage": 0, "block": 1, "epoch": 2}] == r.summary()["zero_unstable"]
