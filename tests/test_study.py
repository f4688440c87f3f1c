"""The study grid: resume, shards and merge, the table's content, the command line.

Training and building are mostly injected fakes that implement the nets/train contracts
(``learned_coefficients()``, ``step_schemes()``; a result with ``final_test_acc`` and
``history``), so these tests check the study's own logic: what is recomputed, what is
written, and that every property in the table is numnet.schemes' answer. Resuming an
interrupted grid and refusing stale records run the real ``numnet.train.train``.
"""

import csv
import json
import os
from collections import namedtuple
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp
import torch

from numnet import schemes
from numnet.study import load_records, merge, plan, run_grid, shard, study, summarise, write_table
from numnet.study.grid import parse_arch
from numnet.study.records import scheme_from_dict, scheme_to_dict


StepScheme = namedtuple("StepScheme", "stage block kind scheme")


class FakeNet(torch.nn.Module):
    """Three stages of (depth - 2) // 6 blocks; a family's free symbols are per-block
    parameters initialised from torch's generator (so the seed decides them)."""

    def __init__(self, net, depth, scheme, num_classes, in_channels):
        super().__init__()
        self.family = schemes.get(scheme)
        self.n = (depth - 2) // 6
        self.head = torch.nn.Linear(in_channels, num_classes * depth)
        self.symbols = sorted(s.name for s in self.family.free_symbols)
        self.coef = torch.nn.Parameter(torch.empty(3, self.n, len(self.symbols)).uniform_(-0.1, 0.0))

    def learned_coefficients(self):
        return [{"stage": st, "block": b, "symbol": s, "value": self.coef[st, b, j].item()}
                for st in range(3) for b in range(self.n) for j, s in enumerate(self.symbols)]

    def step_schemes(self):
        """Like numnet.nets' StepScheme records: an Euler entry step, then the scheme's."""
        out = []
        for st in range(3):
            out.append(StepScheme(st, 0, "entry", schemes.get("ab1")))
            out += [StepScheme(st, b, "scheme", self.family.subs(
                {s: self.coef[st, b, j].item() for j, s in enumerate(self.symbols)})) for b in range(self.n)]
        return out


def fake_accuracy(meta):
    return 0.9 - 0.001 * meta["depth"] - 0.01 * meta["seed"] - 0.02 * (meta["arch"] == "heun")


class Fakes:
    def __init__(self):
        self.built, self.trained = [], []

    def build(self, net, depth, *, num_classes, in_channels, scheme=None, steps=None, learnable=False):
        """numnet.nets.build's contract: the scheme is fixed by the net except for scheme_net."""
        if net == "scheme_net":
            assert scheme is not None and steps is None
        else:
            assert scheme is None
            scheme = {"resnet": "euler", "lm_resnet": "lm_resnet"}.get(net) or f"adams{steps}" + "_learnable" * learnable
        self.built.append((net, depth, scheme))
        return FakeNet(net, depth, scheme, num_classes, in_channels)

    def train(self, model, data, *, recipe, out, resume, seed, meta):
        self.trained.append((meta["arch"], meta["depth"], seed))
        acc = fake_accuracy(meta)
        return SimpleNamespace(final_test_acc=acc, best_val_acc=None, test_acc_at_best=None,
                               history=[{"epoch": 1, "test_acc": acc}])


DATA = SimpleNamespace(num_classes=10, in_channels=1)
ARCHS = ["resnet", "lm_resnet", "heun", "adams2_learnable"]


def test_plan_and_arch_mapping():
    runs = plan(ARCHS, [8, 14], [0, 1])
    assert len(runs) == 16 and len({r.key for r in runs}) == 16
    assert [(a.net, a.scheme) for a in map(parse_arch, ["resnet", "lm_resnet", "heun", "scheme_net:rk4"])] == [
        ("resnet", "euler"), ("lm_resnet", "lm_resnet"), ("scheme_net", "heun"), ("scheme_net", "rk4")]
    with pytest.raises(ValueError, match="runs an Adams scheme"):
        parse_arch("adams_net:heun")
    with pytest.raises(ValueError, match="repeated"):
        plan(["heun", "heun"], [8], [0])
    with pytest.raises(ValueError, match="depths must be positive integers"):
        plan(["heun"], [0], [0])


def test_resume_never_recomputes(tmp_path):
    runs = plan(ARCHS, [8], [0, 1])
    fakes = Fakes()
    first = run_grid(runs, tmp_path, data=DATA, build=fakes.build, train=fakes.train, progress=False)
    assert len(fakes.trained) == len(runs) == len(first)
    again = Fakes()
    second = run_grid(runs, tmp_path, data=DATA, build=again.build, train=again.train, progress=False)
    assert again.trained == [] and again.built == []
    assert second == first


TIMING = {"train_time", "epoch_time", "images_per_s"}


def comparable(records):
    """Records without what a clock decides."""
    return [{**{k: v for k, v in r.items() if k != "seconds"},
             "history": [{k: v for k, v in h.items() if k not in TIMING} for h in r["history"]]} for r in records]


@pytest.fixture(scope="module")
def tiny():
    from numnet import data
    from numnet.train import Recipe

    torch.set_num_threads(1)
    return data.load("synthetic", train_size=64, test_size=32, image_size=8), \
        Recipe("tiny", epochs=2, batch_size=16, lr=0.1, milestones=(1.5,), pad=1)


def test_interrupted_grid_resumes_the_real_training(tiny, tmp_path):
    """A grid killed in the second epoch of its second run: the rerun keeps the first run's
    record, resumes the second from its epoch-1 checkpoint (epoch 1 is not trained again)
    and ends with the records an uninterrupted grid writes."""
    from numnet import nets

    splits, recipe = tiny
    runs = plan(["resnet", "lm_resnet"], [14], [0])
    options = {"device": "cpu", "progress": False}
    ref = run_grid(runs, tmp_path / "ref", data=splits, recipe=recipe, progress=False, train_options=options)
    forwards = {}

    def build(interrupt_at=None):
        def make(net, depth, **kw):
            model = nets.build(net, depth, **kw)

            def count(module, args):
                if module.training:
                    forwards[net] = forwards.get(net, 0) + 1
                    if forwards[net] == interrupt_at and net == "lm_resnet":
                        raise KeyboardInterrupt  # as a kill would, mid-epoch: no checkpoint of this epoch
            model.register_forward_pre_hook(count)
            return model
        return make

    out = tmp_path / "study"
    with pytest.raises(KeyboardInterrupt):  # 4 steps per epoch: the 6th is in epoch 2
        run_grid(runs, out, data=splits, recipe=recipe, build=build(interrupt_at=6), progress=False,
                 train_options=options)
    assert [r["run"]["key"] for r in load_records(out)] == ["resnet-d14-s0"]
    assert forwards == {"resnet": 8, "lm_resnet": 6}
    forwards.clear()
    again = run_grid(runs, out, data=splits, recipe=recipe, build=build(), progress=False, train_options=options)
    assert forwards == {"lm_resnet": 4}  # resnet not retrained; lm_resnet trained its second epoch only
    assert comparable(again) == comparable(ref)  # the resumed run reaches the same weights and record
    lm = next(r for r in again if r["run"]["arch"] == "lm_resnet")
    assert lm["epochs_done"] == 2 and [h["epoch"] for h in lm["history"]] == [1, 2] and lm["coefficients"]
    assert not list(out.rglob(".*.tmp")) and not list(out.rglob(".lock"))


def test_records_of_another_configuration_are_never_reused(tiny, tmp_path, capsys):
    """epochs=1 then epochs=2 in the same folder: refused, naming the key; nothing mixed."""
    from numnet.cli import main
    from numnet.study.runner import StaleRecord

    splits, recipe = tiny
    runs = plan(["resnet"], [8], [0])
    one = run_grid(runs, tmp_path, data=splits, recipe=recipe.with_epochs(1), progress=False,
                   train_options={"device": "cpu", "progress": False})
    assert one[0]["config"]["recipe"]["epochs"] == 1 and one[0]["config"]["numnet"]
    with pytest.raises(StaleRecord, match=r"resnet-d8-s0.json was trained under another configuration: "
                                          r"recipe.epochs 1 \(now 2\); recipe.milestones \[0.75\] \(now \[1.5\]\)"):
        run_grid(runs, tmp_path, data=splits, recipe=recipe, progress=False)
    with pytest.raises(StaleRecord, match=r"data.train 64 \(now 32\)"):
        run_grid(runs, tmp_path, data=splits.limit_train(32), recipe=recipe.with_epochs(1), progress=False)
    assert load_records(tmp_path) == one  # untouched
    # the command line: exit 2 and the differing key, no traceback
    argv = ["study", "--out", str(tmp_path / "cli"), "--archs", "resnet", "--depths", "8", "--seeds", "0",
            "--data", "synthetic", "--train-size", "64", "--batch-size", "32", "--device", "cpu", "--no-progress"]
    assert main([*argv, "--epochs", "1"]) == 0
    assert main([*argv, "--epochs", "2"]) == 2
    assert "recipe.epochs 1 (now 2)" in capsys.readouterr().err


def test_seed_decides_initialisation(tmp_path):
    recs = run_grid(plan(["lm_resnet"], [8], [0, 1]), tmp_path, data=DATA, build=Fakes().build,
                    train=Fakes().train, progress=False)
    torch.manual_seed(1)
    expect = FakeNet("lm_resnet", 8, "lm_resnet", 10, 1).learned_coefficients()
    assert recs[1]["coefficients"] == expect
    assert recs[0]["coefficients"] != recs[1]["coefficients"]


def test_shards_cover_the_grid_once_and_merge(tmp_path):
    runs = plan(ARCHS, [8, 14], [0, 1, 2])
    parts = [shard(runs, f"{i}/3") for i in range(3)]
    assert sorted(r.key for p in parts for r in p) == sorted(r.key for r in runs)
    for i, part in enumerate(parts):
        run_grid(part, tmp_path / f"s{i}", data=DATA, build=Fakes().build, train=Fakes().train, progress=False)
    whole = Fakes()
    run_grid(runs, tmp_path / "whole", data=DATA, build=whole.build, train=whole.train, progress=False)
    copied = merge(tmp_path / "merged", *(tmp_path / f"s{i}" for i in range(3)))
    assert len(copied) == len(runs)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(load_records(tmp_path / "merged")) == strip(load_records(tmp_path / "whole"))
    # a conflicting copy of a run is refused
    rec = json.loads((tmp_path / "s0" / "runs" / f"{parts[0][0].key}.json").read_text())
    rec["final_test_acc"] = 0.123
    (tmp_path / "s0" / "runs" / f"{parts[0][0].key}.json").write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="differs"):
        merge(tmp_path / "merged", tmp_path / "s0")


def test_shards_of_other_settings_are_not_merged_into_one_table(tmp_path):
    from numnet.study import write_outputs
    from numnet.train import get_recipe

    runs = plan(["resnet"], [8], [0, 1])
    quick = get_recipe("quick")
    run_grid(shard(runs, "0/2"), tmp_path / "a", data=DATA, recipe=quick, build=Fakes().build, train=Fakes().train,
             progress=False)
    run_grid(shard(runs, "1/2"), tmp_path / "b", data=DATA, recipe=quick.with_epochs(3), build=Fakes().build,
             train=Fakes().train, progress=False)
    with pytest.raises(ValueError, match=r"runs resnet-d8-s0 and resnet-d8-s1 were trained under different "
                                         r"configurations: recipe.epochs 10 \(resnet-d8-s1: 3\)"):
        merge(tmp_path / "all", tmp_path / "a", tmp_path / "b")
    assert load_records(tmp_path / "all") == []
    (tmp_path / "a" / "runs" / "resnet-d8-s1.json").write_text((tmp_path / "b" / "runs" / "resnet-d8-s1.json")
                                                               .read_text())  # mixed by hand
    with pytest.raises(ValueError, match="different configurations"):
        write_outputs(tmp_path / "a")


def test_table_content(tmp_path):
    seeds = [0, 1, 2]
    records = run_grid(plan(ARCHS, [8], seeds), tmp_path, data=DATA, build=Fakes().build, train=Fakes().train,
                       progress=False)
    rows = {r["arch"]: r for r in summarise(records)}
    heun, resnet, lm, adams = rows["heun"], rows["resnet"], rows["lm_resnet"], rows["adams2_learnable"]
    # properties are numnet.schemes' answers
    assert heun["order"] == schemes.get("heun").order == 2
    assert heun["error_constant"] == str(schemes.get("heun").error_constant)
    assert heun["stability_interval"] == "(-2, 0]" and heun["stability_left"] == -2.0
    assert resnet["scheme"] == "euler" and resnet["order"] == 1 and resnet["zero_stable"] is True
    # test error mean ± sample std over seeds
    errors = [1 - fake_accuracy({"arch": "heun", "depth": 8, "seed": s}) for s in seeds]
    assert heun["test_error_mean"] == pytest.approx(np.mean(errors))
    assert heun["test_error_std"] == pytest.approx(np.std(errors, ddof=1))
    assert heun["runs"] == 3 and heun["seeds"] == seeds
    assert heun["parameters"] == sum(p.numel() for p in FakeNet("x", 8, "heun", 10, 1).parameters())
    # a family: properties of the learned blocks, exact substitution of each learned value
    ks = [r["value"] for rec in records if rec["run"]["arch"] == "lm_resnet" for r in rec["coefficients"]]
    assert len(ks) == 9 and all(-0.1 <= k <= 0 for k in ks)
    assert lm["zero_stable"] == "9/9 blocks"
    lefts = [float(schemes.get("lm_resnet").subs(k=sp.Rational(k)).stability_interval().inf) for k in ks]
    assert lm["stability_left"] == pytest.approx(max(lefts))
    assert lm["learned_stats"]["k"]["mean"] == pytest.approx(np.mean(ks))
    assert lm["learned_stats"]["k"]["min"] == pytest.approx(min(ks))
    assert lm["order"] == 0  # k != 0: the step is not consistent with u' = f (see theory/architectures.md)
    assert adams["learned_stats"]["b1"]["count"] == 9
    assert adams["zero_stable"] == "9/9 blocks"  # rho = xi^2 - xi for every b1

    paths = write_table(list(rows.values()), tmp_path)
    md = paths["md"].read_text().splitlines()
    assert md[0].startswith("| net | scheme | depth |") and len(md) == 2 + len(rows)
    heun_line = next(line for line in md if line.startswith("| heun |"))
    assert f"{100 * np.mean(errors):.2f} ± {100 * np.std(errors, ddof=1):.2f}" in heun_line
    with open(paths["csv"]) as f:
        table = list(csv.DictReader(f))
    assert {r["arch"] for r in table} == set(ARCHS)
    assert float(next(r for r in table if r["arch"] == "heun")["test_error_mean"]) == pytest.approx(np.mean(errors))
    assert json.loads(paths["json"].read_text())[0].keys() >= {"arch", "order", "test_error_mean"}


def test_study_writes_table_and_figures(tmp_path):
    fakes = Fakes()
    rows = study(["resnet", "lm_resnet"], [8], [0, 1], tmp_path, data=DATA, build=fakes.build, train=fakes.train,
                 progress=False)
    assert len(rows) == 2 and len(fakes.trained) == 4
    starts = {"table.md": b"| net |", "table.csv": b"arch,", "table.json": b"[\n {", "error_vs_stability_left.png":
              b"\x89PNG\r\n\x1a\n", "learned_lm_resnet_d8.png": b"\x89PNG\r\n\x1a\n"}
    for name, start in starts.items():  # each file in its own format
        assert (tmp_path / name).read_bytes()[:len(start)] == start, name
    # a shard trains its part only and writes no table
    sub = tmp_path / "shard"
    out = study(["heun"], [8], [0, 1, 2], sub, data=DATA, build=Fakes().build, train=Fakes().train,
                shard_of="1/2", progress=False)
    assert [r["run"]["seed"] for r in out] == [1] and not (sub / "table.md").exists()


class BranchNet(FakeNet):
    """FakeNet with a forward pass: one linear vector field per step (None at entries)."""

    def __init__(self, *args):
        super().__init__(*args)
        steps = self.step_schemes()
        self.fields = torch.nn.ModuleList(torch.nn.Linear(3, 3, bias=False) for s in steps if s.kind != "entry")
        it = iter(self.fields)
        self.branches = [None if s.kind == "entry" else next(it) for s in steps]

    def forward(self, u):
        for f in self.fields:
            u = u + f(u)
        return u

    def residual_branches(self):
        return self.branches


def test_spectra_are_stored_per_step(tmp_path):
    fakes = Fakes()
    built = []

    def build(net, depth, **kw):
        model = fakes.build(net, depth, **kw)
        model = BranchNet(net, depth, model.family.name, kw["num_classes"], kw["in_channels"])
        built.append(model)
        return model

    recs = run_grid(plan(["lm_resnet"], [8], [0]), tmp_path, data=DATA, build=build, train=fakes.train,
                    spectra_samples=2, spectra_input=lambda splits, n: torch.randn(n, 3), progress=False)
    spectra, model = recs[0]["spectra"], built[0]
    assert len(spectra) == len(recs[0]["blocks"]) == len(model.branches) == 6
    for eig, branch in zip(spectra, model.branches):
        if branch is None:
            assert eig is None
            continue
        got = np.sort_complex(np.round([complex(re, im) for re, im in eig], 6))
        lam = np.linalg.eigvals(branch.weight.detach().double().numpy())
        assert np.allclose(got, np.sort_complex(np.round(np.concatenate([lam, lam]), 6)), atol=2e-6)  # 2 samples
    from numnet.study import write_outputs
    from numnet.study.figures import learned_figure

    fig = learned_figure(recs, "lm_resnet", 8)
    dots = [c for c in fig.axes[1].collections if len(c.get_offsets()) == 6]  # 3 eigenvalues x 2 samples
    assert len(dots) == 3  # one per non-entry step
    assert "learned_lm_resnet_d8" in write_outputs(tmp_path)
    # a model without residual_branches(): no spectra, and a warning that says why
    with pytest.warns(UserWarning, match="residual_branches"):
        rec = run_grid(plan(["heun"], [8], [0]), tmp_path / "b", data=DATA, build=Fakes().build, train=fakes.train,
                       spectra_samples=2, spectra_input=lambda splits, n: torch.randn(n, 3), progress=False)[0]
    assert rec["spectra"] is None


def test_block_schemes_round_trip_exactly():
    for s in (schemes.get("lm_resnet").subs(k=-0.0734), schemes.get("rk4"), schemes.get("gauss2"),
              schemes.get("adams3_learnable").subs(b1=1.05, b2=-0.93)):
        back = scheme_from_dict(json.loads(json.dumps(scheme_to_dict(s))))
        assert back._repr_coefficients() == s._repr_coefficients() and back.kind == s.kind
        assert (back.name, back.family) == (s.name, s.family)
    assert scheme_to_dict(s)["name"] == "adams3_learnable(b1=1.05, b2=-0.93)"


def test_cli_merge_and_table(tmp_path, capsys):
    from numnet.cli import main

    for i in range(2):
        run_grid(shard(plan(["resnet", "lm_resnet"], [8], [0, 1]), f"{i}/2"), tmp_path / f"s{i}", data=DATA,
                 build=Fakes().build, train=Fakes().train, progress=False)
    assert main(["study", "--out", str(tmp_path / "all"), "--merge", str(tmp_path / "s0"), str(tmp_path / "s1")]) == 0
    assert len(load_records(tmp_path / "all")) == 4 and (tmp_path / "all" / "table.md").exists()
    assert main(["study", "--out", str(tmp_path / "none"), "--table-only"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("numnet study: --table-only: no finished runs") and err.count("\n") == 1


def test_a_run_in_use_by_another_process_stops_the_study_with_one_line(tmp_path, capsys):
    from numnet.cli import main
    from numnet.train.lock import run_lock

    argv = ["study", "--out", str(tmp_path), "--archs", "resnet", "--depths", "8", "--seeds", "0", "--data",
            "synthetic", "--train-size", "64", "--epochs", "1", "--device", "cpu", "--no-progress"]
    with run_lock(tmp_path / "train" / "resnet-d8-s0"):  # as a second `numnet study` into this folder holds it
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("numnet study: ") and f"(pid {os.getpid()})" in err and err.count("\n") == 1
    assert load_records(tmp_path) == []


def test_an_arch_with_its_own_coefficient_decay_is_a_row_whose_records_say_so(tmp_path):
    """``lm_resnet@decay=none`` trains the grid's recipe with coefficient_decay='none': its
    record holds that recipe and the change, the table shows it, shards merge into one
    table, and records whose recipes disagree otherwise are still refused. (Before, the
    table's coef. decay column read a key records do not have and said 'zero (recorded
    before the field)' for every run.)"""
    from numnet.study import write_outputs
    from numnet.train import get_recipe

    quick, fakes = get_recipe("quick"), Fakes()
    got = []
    train = lambda model, data, *, recipe, **kw: got.append((kw["meta"]["arch"], recipe.coefficient_decay)) \
        or fakes.train(model, data, recipe=recipe, **kw)  # noqa: E731
    runs = plan(["lm_resnet", "lm_resnet@decay=none"], [8], [0, 1])
    for i in (0, 1):
        run_grid(shard(runs, f"{i}/2"), tmp_path / f"s{i}", data=DATA, recipe=quick, build=fakes.build, train=train,
                 progress=False)
    assert sorted(set(got)) == [("lm_resnet", "official"), ("lm_resnet@decay=none", "none")]
    merge(tmp_path / "all", tmp_path / "s0", tmp_path / "s1")
    rec = json.loads((tmp_path / "all" / "runs" / "lm_resnet@decay=none-d8-s1.json").read_text())
    assert rec["config"]["recipe"]["coefficient_decay"] == "none"
    assert rec["config"]["recipe_changes"] == {"coefficient_decay": "none"}
    assert rec["run"]["recipe"] == {"coefficient_decay": "none"}
    base = json.loads((tmp_path / "all" / "runs" / "lm_resnet-d8-s1.json").read_text())
    assert "recipe_changes" not in base["config"] and "recipe" not in base["run"]
    write_outputs(tmp_path / "all")
    rows = {r["arch"]: r for r in json.loads((tmp_path / "all" / "table.json").read_text())}
    assert rows["lm_resnet"]["coefficient_decay"] == "official"
    assert rows["lm_resnet@decay=none"]["coefficient_decay"] == "none"
    assert rows["lm_resnet@decay=none"]["runs"] == 2

    # a record that claims a change its recipe does not hold is refused, naming the run
    rec["config"]["recipe"]["coefficient_decay"] = "zero"
    (tmp_path / "all" / "runs" / "lm_resnet@decay=none-d8-s1.json").write_text(json.dumps(rec))
    with pytest.raises(ValueError, match=r"run lm_resnet@decay=none-d8-s1 sets \{'coefficient_decay': 'none'\}"):
        write_outputs(tmp_path / "all")
    # the grid's own value must agree among the runs that do not set it
    other = plan(["lm_resnet"], [8], [2])
    run_grid(other, tmp_path / "z", data=DATA, recipe=quick.replace(coefficient_decay="zero"), build=fakes.build,
             train=fakes.train, progress=False)
    with pytest.raises(ValueError, match=r"recipe.coefficient_decay 'official' \(lm_resnet-d8-s2: 'zero'\)"):
        merge(tmp_path / "s0", tmp_path / "z")


def test_arch_recipe_options_are_checked():
    assert parse_arch("adams2_learnable@decay=toward-scheme").recipe == (("coefficient_decay", "toward-scheme"),)
    with pytest.raises(ValueError, match="euler learns no scheme coefficients"):
        parse_arch("resnet@decay=none")
    with pytest.raises(ValueError, match="unknown option 'lr'"):
        parse_arch("lm_resnet@lr=1")
    with pytest.raises(ValueError, match="repeated option 'decay'"):
        parse_arch("lm_resnet@decay=none@decay=zero")


def test_a_resumed_runs_record_counts_the_wall_time_of_every_session(tmp_path):
    """The record's seconds is the training result's wall time (earlier sessions of a resumed
    run included), not only the last call's few seconds."""
    fakes = Fakes()
    train = lambda model, data, **kw: SimpleNamespace(**vars(fakes.train(model, data, **kw)),  # noqa: E731
                                                       wall_time=3600.0)
    run_grid(plan(["resnet"], [8], [0]), tmp_path, data=DATA, build=fakes.build, train=train, progress=False)
    assert json.loads((tmp_path / "runs" / "resnet-d8-s0.json").read_text())["seconds"] == 3600.0


def test_spectra_added_after_the_run_equal_those_stored_during_it(tiny, tmp_path):
    """add_spectra rebuilds each finished run from its record and last checkpoint: the same
    spectra run_grid stores with spectra_samples; a checkpoint that is not the recorded
    model is refused."""
    from numnet.study import add_spectra
    from numnet.study.runner import StaleRecord
    from numnet.train import checkpoint

    splits, recipe = tiny
    runs = plan(["lm_resnet"], [14], [0])
    options = {"device": "cpu", "progress": False}
    ref = run_grid(runs, tmp_path / "ref", data=splits, recipe=recipe, spectra_samples=2, progress=False,
                   train_options=options)
    out = tmp_path / "later"
    run_grid(runs, out, data=splits, recipe=recipe, progress=False, train_options=options)
    assert "spectra" not in load_records(out)[0]
    assert add_spectra(out, data=splits, samples=2, progress=False) == ["lm_resnet-d14-s0"]
    rec = load_records(out)[0]
    assert rec["spectra"] == ref[0]["spectra"] and len(rec["spectra"]) == len(rec["blocks"])
    assert "checkpoint.pt (epoch 2)" in rec["spectra_from"] and rec["coefficients"]
    assert add_spectra(out, data=splits, samples=2, progress=False) == []   # nothing left to add

    ckpt = out / "train" / "lm_resnet-d14-s0" / "checkpoint.pt"
    path = out / "runs" / "lm_resnet-d14-s0.json"
    rec.pop("spectra")
    path.write_text(json.dumps(rec))
    state = checkpoint.load(ckpt)
    checkpoint.save(ckpt, {**state, "epoch": 1})
    with pytest.raises(StaleRecord, match="holds epoch 1, but the record lm_resnet-d14-s0 finished after 2"):
        add_spectra(out, data=splits, samples=2, progress=False)
    state["model"] = {k: (v + 0.5 if k.endswith(".k") or "coef" in k else v) for k, v in state["model"].items()}
    checkpoint.save(ckpt, state)
    with pytest.raises(StaleRecord, match="learned coefficients differ"):
        add_spectra(out, data=splits, samples=2, progress=False)
    ckpt.unlink()
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        add_spectra(out, data=splits, samples=2, progress=False)
    with pytest.raises(ValueError, match="samples must be a positive int"):
        add_spectra(out, data=splits, samples=0)
