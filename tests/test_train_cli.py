"""``numnet train`` end to end on tiny configurations."""

import json
import os

import pytest
import torch
from numnet.cli import build_parser, main
from numnet.train import TrainResult

TINY = ["--data", "synthetic", "--limit-train", "64", "--recipe", "quick", "--epochs", "2",
        "--device", "cpu", "--no-progress"]


def test_help_lists_the_choices(capsys):
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for choice in ("lm_resnet", "scheme_net", "ode_net", "hamiltonian", "midpoint_net", "leapfrog_net", "revnet",
                   "fashion_mnist", "cifar100_coarse", "paper-cifar100", "rk4", "ab3", "stormer_verlet",
                   "--no-reversible", "--grad-checkpoint"):
        assert choice in text, choice
    flat = " ".join(text.split())   # argparse wraps the help
    assert "fashion_mnist he2016-fashion-mnist" in flat  # Fashion-MNIST's default, named for what it is
    assert "He et al. 2016's CIFAR-10 recipe applied to Fashion-MNIST" in flat.replace("- ", "-")


@pytest.mark.parametrize("argv, message", [
    (["--net", "vgg"], "argument --net: unknown net 'vgg'; choose one of resnet, lm_resnet, adams_net,"),
    (["--net", "lm_resnt"], "argument --net: unknown net 'lm_resnt'; close matches: lm_resnet, lm_resnet_sd, resnet"),
    (["--val-split", "ten"], "argument --val-split: must be a count like 5000 (0: none) or a fraction in (0, 1) "
                             "like 0.1, got 'ten'"),
])
def test_bad_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", *argv])
    err = capsys.readouterr().err
    assert err.startswith("numnet train: argument") and err.count("\n") == 1 and message in err


def test_cli_run_stop_resume_rerun_and_clash(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--net", "scheme_net", "--scheme", "ab2", "--depth", "8", "--out", str(out), *TINY]
    assert main([*argv, "--stop-after", "1"]) == 0
    assert not (out / "result.json").exists()
    assert main([*argv, "--resume"]) == 0
    result = TrainResult.load(out / "result.json")
    assert result.finished and result.epochs_done == 2
    assert result.config["meta"] == {"net": "scheme_net", "depth": 8, "scheme": "ab2", "reversible": True,
                                     "limit_train": 64, "val_split": 0, "split_seed": 0}
    assert result.config["recipe"]["epochs"] == 2 and result.config["data"]["train"] == 64
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.rindex('{\n "out"'):])["finished"] is True
    # the same command again reports the stored result
    assert main(argv) == 0
    # another scheme in the same directory is refused, not mixed in
    with pytest.raises(ValueError, match="different meta"):
        main(["train", "--net", "scheme_net", "--scheme", "ab3", "--depth", "8", "--out", str(out), *TINY])


def test_resume_reads_the_runs_own_configuration(tmp_path, capsys):
    """`--resume --out DIR` (the hint printed after Ctrl-C) continues the run as it was
    configured, not with the default data set and net; a flag that would change the run
    is refused in one line naming the key."""
    out = tmp_path / "run"
    start = ["train", "--net", "scheme_net", "--scheme", "ab2", "--depth", "8", "--data", "synthetic",
             "--limit-train", "64", "--val-split", "16", "--recipe", "quick", "--epochs", "2", "--seed", "3",
             "--out", str(out), "--device", "cpu", "--no-progress"]
    assert main([*start, "--stop-after", "1"]) == 0
    capsys.readouterr()
    for flags, key in ((["--depth", "14"], "depth 8 (now 14)"), (["--epochs", "3"], "recipe.epochs 2 (now 3)"),
                       (["--data", "cifar10"], "data 'synthetic' (now 'cifar10')"), (["--seed", "0"], "seed 3 (now 0)"),
                       (["--no-reversible"], "reversible True (now False)")):
        assert main(["train", "--resume", "--out", str(out), *flags, "--device", "cpu", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert key in err and err.count("\n") == 1 and "{" not in err, err
    # repeating the run's own values, or flags that cannot change it, is fine
    assert main(["train", "--resume", "--out", str(out), "--depth", "8", "--seed", "3", "--grad-checkpoint", "0",
                 "--device", "cpu", "--no-progress"]) == 0
    result = TrainResult.load(out / "result.json")
    assert result.finished and result.epochs_done == 2 and result.config["seed"] == 3
    assert result.config["meta"]["scheme"] == "ab2" and (result.config["data"]["train"], result.config["data"]["val"]) == (64, 16)


def test_a_locked_run_directory_is_one_line_exit_1(tmp_path, capsys):
    from numnet.train.lock import run_lock

    out = tmp_path / "run"
    with run_lock(out):  # as a running `numnet train` holds it
        assert main(["train", "--net", "resnet", "--depth", "8", "--out", str(out), *TINY]) == 1
    err = capsys.readouterr().err
    assert f"{out} is in use by another training process (pid {os.getpid()})" in err and err.count("\n") == 1


def _reloaded(out, net, depth, **options):
    """The net rebuilt from ``out/checkpoint.pt`` and its test accuracy, measured again."""
    from numnet import data, nets
    from numnet.train import evaluate

    model = nets.build(net, depth, num_classes=4, **options)
    model.load_state_dict(torch.load(out / "checkpoint.pt", weights_only=True)["model"])
    run = json.loads((out / "config.json").read_text())["options"]   # evaluated as the run evaluated
    cl = run["channels_last"]
    model = model.to(memory_format=torch.channels_last) if cl else model
    loader = data.Loader(data.load("synthetic").test, 1000, channels_last=cl)
    return model, evaluate(model, loader, bf16=run["bf16"])[1]


def test_cli_end_to_end_with_the_real_nets(tmp_path):
    out = tmp_path / "lm"
    assert main(["train", "--net", "lm_resnet", "--depth", "20", "--out", str(out), *TINY]) == 0
    result = TrainResult.load(out / "result.json")
    assert result.finished and result.epochs_done == 2
    # the stored weights give the recorded test accuracy and the recorded k_n
    model, test_acc = _reloaded(out, "lm_resnet", 20)
    assert test_acc == result.final_test_acc == result.history[-1]["test_acc"]
    learned = result.history[-1]["coefficients"]
    assert [(c["stage"], c["block"], c["symbol"]) for c in learned] == [(s, b, "k") for s in range(3) for b in (1, 2)]
    assert [c["value"] for c in learned] == pytest.approx([c["value"] for c in model.learned_coefficients()])
    assert result.history[0]["coefficients"] != learned  # the k_n moved during the second epoch


@pytest.mark.parametrize("argv, message", [
    (["--net", "resnet", "--no-reversible"], "--no-reversible applies to the reversible nets"),
    (["--net", "resnet", "--store-every", "2"], "--store-every applies to the reversible nets"),
    (["--net", "revnet", "--grad-checkpoint", "1"], "--grad-checkpoint applies to the nets ['resnet', 'lm_resnet'"),
    (["--net", "hamiltonian", "--depth", "20"], "numnet train: --net hamiltonian --depth 20: depth must be 12n+2 for "
                                               "hamiltonian with symplectic_euler (14, 26, 38, 62, 74, 110, 218, 1202)"),
    (["--net", "hamiltonian", "--depth", "14", "--scheme", "ab2"], "unknown partitioned scheme 'ab2'"),
])
def test_bad_models_are_refused_without_a_traceback(argv, message, tmp_path, capsys):
    assert main(["train", *argv, "--out", str(tmp_path / "run"), *TINY]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_grad_checkpoint_trains_and_resumes_a_run_started_without_it(tmp_path):
    out = tmp_path / "lm"
    argv = ["train", "--net", "lm_resnet", "--depth", "8", "--out", str(out), *TINY]
    assert main([*argv, "--stop-after", "1"]) == 0
    assert main([*argv, "--resume", "--grad-checkpoint", "2"]) == 0  # exact gradients: the same run
    result = TrainResult.load(out / "result.json")
    assert result.finished and result.epochs_done == 2


def test_reversible_nets_train_reversibly_ordinarily_and_grown(tmp_path):
    for net, depth, extra in (("revnet", 14, ["--store-every", "1"]), ("leapfrog_net", 8, ["--no-reversible"]),
                              ("hamiltonian", 14, ["--grow-depth", "1", "--level-epochs", "1", "1"])):
        out = tmp_path / net
        assert main(["train", "--net", net, "--depth", str(depth), "--out", str(out), *TINY, *extra]) == 0
        result = TrainResult.load(out / "result.json")
        assert result.finished and result.epochs_done == 2
        assert result.config["meta"]["reversible"] is ("--no-reversible" not in extra)
        errors = [h.get("reconstruction_error") for h in result.history]
        if "--no-reversible" in extra:
            assert errors == [None, None]
        else:
            assert all(isinstance(e, float) and e >= 0 for e in errors)
        if "--store-every" in extra:  # a stored state after every block: one block's bf16 rounding at most
            assert max(errors) < 1e-2


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, monkeypatch, capsys):
    import numnet.train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(numnet.train, "train", interrupted)
    out = tmp_path / "run"
    assert main(["train", "--net", "resnet", "--depth", "8", "--out", str(out), *TINY]) == 130
    assert f"continue with --resume --out {out}" in capsys.readouterr().err


@pytest.mark.slow
def test_a_killed_run_leaves_no_stale_lock_and_resumes(tmp_path):
    """SIGKILL a real `numnet train` once it has a checkpoint: its lock dies with it (the
    lock file stays, naming a dead pid, and does not block), and `--resume --out` alone
    continues from the checkpoint."""
    import subprocess
    import sys
    import time

    from numnet.fileio import read_jsonl
    from numnet.train import checkpoint

    out = tmp_path / "run"
    argv = ["train", "--net", "resnet", "--depth", "8", "--data", "synthetic", "--limit-train", "64",
            "--recipe", "quick", "--epochs", "200", "--out", str(out), "--device", "cpu", "--no-progress"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "numnet", *argv], cwd=root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        give_up = time.monotonic() + 300  # a guard against hanging, not a timing assertion
        while not (out / "checkpoint.pt").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < give_up, "no checkpoint after 300 s"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    assert (out / ".lock").read_text() == str(proc.pid)  # left behind by the kill ...
    done = checkpoint.load(out / "checkpoint.pt")["epoch"]
    assert 1 <= done < 200
    assert main(["train", "--resume", "--out", str(out), "--stop-after", str(done + 1), "--device", "cpu",
                 "--no-progress"]) == 0  # ... and not in the way
    assert [m["epoch"] for m in read_jsonl(out / "metrics.jsonl")] == list(range(1, done + 2))
    assert not (out / ".lock").exists()


def test_fast_paths_default_to_the_device_and_are_recorded_as_options(tmp_path):
    from numnet.train.fastpath import fast_paths

    out = tmp_path / "run"
    argv = ["train", "--net", "resnet", "--depth", "8", "--out", str(out), *TINY]
    assert main([*argv, "--threads", "1", "--stop-after", "1"]) == 0
    paths = fast_paths("cpu")
    options = json.loads((out / "config.json").read_text())["options"]
    assert (options["bf16"], options["channels_last"], options["threads"]) == (paths.bf16, paths.channels_last, 1)
    # turned off on resume: options, not part of the run's fingerprint
    assert main([*argv, "--threads", "1", "--resume", "--fp32", "--no-channels-last"]) == 0
    result = TrainResult.load(out / "result.json")
    assert result.finished and (result.config["options"]["bf16"], result.config["options"]["channels_last"]) == \
        (False, False)
    assert main([*argv, "--bf16", "--fp32"]) == 2   # one or the other


def test_study_takes_the_same_speed_flags(tmp_path):
    from numnet.cli import speed_options

    args = build_parser().parse_args(["study", "--out", str(tmp_path / "s"), "--device", "cpu", "--threads", "1",
                                      "--bf16", "--channels-last", "--compile"])
    assert speed_options(args) == {"bf16": True, "channels_last": True, "compile": True}
    args = build_parser().parse_args(["study", "--out", str(tmp_path / "s"), "--device", "cpu", "--threads", "1",
                                      "--fp32", "--no-channels-last"])
    assert speed_options(args) == {"bf16": False, "channels_last": False, "compile": False}
    assert torch.get_num_threads() == 1
