"""Every door refuses bad input with one line that names the value and what is valid:
the command line (exit status 2, no traceback, before any data is read) and the Python API
(numnet errors, not torch internals)."""

import re

import pytest
import torch

import numnet.data
from numnet import data, nets
from numnet.cli import DEFAULT_DATA, main
from numnet.errors import ConfigError, ConfigTypeError, UserError
from numnet.train import Recipe, train

TINY = ["--data", "synthetic", "--limit-train", "32", "--recipe", "quick", "--epochs", "2", "--device", "cpu",
        "--no-progress"]


@pytest.fixture
def no_data(monkeypatch):
    """Loading data fails the test: every refusal below comes before it."""
    def load(*args, **kwargs):
        raise AssertionError("data was loaded before the arguments were checked")

    monkeypatch.setattr(numnet.data, "load", load)


def refused(argv, capsys) -> str:
    """The one line ``main(argv)`` prints on stderr, after checking exit status 2."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"numnet {argv[0]}: ") if not argv[0].startswith("-") else True
    return err


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "argument --epochs: must be an int >= 1, got '0'"),
    (["train", "--epochs", "two"], "argument --epochs: must be an int >= 1, got 'two'"),
    (["train", "--val-split", "1.5"], "argument --val-split: must be a count like 5000 (0: none) or a fraction in "
                                      "(0, 1) like 0.1, got '1.5'"),
    (["train", "--limit-train", "-5"], "argument --limit-train: must be an int >= 1, got '-5'"),
    (["train", "--grad-checkpoint", "-1"], "argument --grad-checkpoint: must be an int >= 0, got '-1'"),
    (["train", "--lr", "0"], "argument --lr: must be a number > 0, got '0'"),
    (["train", "--weight-decay=-1e-4"], "argument --weight-decay: must be a number >= 0, got '-1e-4'"),
    (["train", "--batch-size", "0"], "argument --batch-size: must be an int >= 1, got '0'"),
    (["train", "--scheme", "rk5"], "argument --scheme: unknown scheme 'rk5'; close matches: rk4, rk38 "),
    (["train", "--recipe", "paper"], "argument --recipe: unknown recipe 'paper'; close matches: paper-cifar10, "
                                     "paper-cifar100"),
    (["train", "--data", "mnist"], "argument --data: unknown data set 'mnist'; close matches: "),
    (["train", "--device", "gpu"], "argument --device: device must be 'auto', 'cpu', 'cuda', 'cuda:N'"),
    (["verify", "rk5"], "argument NAME: unknown scheme 'rk5'; close matches: rk4, rk38"),
    (["verify", "lm_resnet"], "argument NAME: lm_resnet is a family with free k; name a member without free "
                              "parameters"),
    (["verify", "rk4", "--problems", "pendlum"], "argument --problems: unknown problem 'pendlum'; known: "),
    (["schemes", "rk44"], "argument NAME: unknown scheme 'rk44'; close matches: rk4, sdirk4, rk38"),
    (["report", "--parts", "schemes,plots"], "argument --parts: parts must be among schemes, verify, train, "
                                             "got 'schemes,plots'"),
    (["report", "--quick", "--full"], "argument --full: not allowed with argument --quick"),
    (["study", "--out", "x", "--depths", "20,x"], "argument --depths: expected comma-separated integers >= 0, "
                                                  "got '20,x'"),
    (["study", "--out", "x", "--shard", "4/4"], "argument --shard: shard must be 'i/n' with 0 <= i < n"),
])
def test_bad_values_are_one_line_while_parsing(argv, message, capsys, no_data):
    err = refused(argv, capsys)
    assert message in err
    assert len(err) < 300  # close matches, not the 61 names of the catalog


def test_scheme_without_close_match_lists_the_valid_ones(capsys):
    err = refused(["train", "--scheme", "xyz"], capsys)
    assert "unknown scheme 'xyz'; choose one of ab1, bdf1," in err and "stormer_verlet" in err


def test_cuda_without_cuda_is_refused_while_parsing(capsys, no_data):
    if torch.cuda.is_available():
        err = refused(["train", "--device", f"cuda:{torch.cuda.device_count()}"], capsys)
        assert f"this machine has {torch.cuda.device_count()} CUDA device(s)" in err
    else:
        err = refused(["train", "--device", "cuda"], capsys)
        assert "argument --device: device cuda requested but CUDA is not available here (use --device cpu" in err


def test_depth_lists_the_valid_depths_before_the_data(capsys, no_data, tmp_path):
    err = refused(["train", "--depth", "21", "--out", str(tmp_path / "r"), *TINY], capsys)
    assert "--net resnet --depth 21: depth must be 6n+2 for basic blocks (8, 14, 20, 26, 32, 38, 44, 56, 110, " in err
    err = refused(["train", "--net", "revnet", "--depth", "20", *TINY], capsys)
    assert "depth must be 12n+2 for revnet (14, 26, 38, 62, 74, 110, 218, 1202), got 20" in err


def test_study_checks_every_net_of_the_grid_before_the_data(capsys, no_data, tmp_path):
    err = refused(["study", "--out", str(tmp_path / "s"), "--archs", "resnet,heun", "--depths", "20,26",
                   "--data", "synthetic", "--no-progress"], capsys)
    assert err.startswith("numnet study: --archs heun --depths 26: heun with rk_blocks='per_stage' takes 2 blocks "
                          "per step: a stage of 4 blocks (1 entry + 3) does not split into whole steps")
    assert not (tmp_path / "s").exists()


def test_missing_data_dir_gives_the_install_hint_first(capsys, tmp_path, monkeypatch):
    missing = tmp_path / "nonexistent"
    err = refused(["train", "--data-dir", str(missing)], capsys)
    assert err.startswith(f"numnet train: {DEFAULT_DATA} not found in {missing}, {missing / 'fashion-mnist'}; "
                          f"to get it: install it with `apt-get install dataset-fashion-mnist`;")
    assert "--download" in err
    # study and report say the same for their data
    monkeypatch.chdir(tmp_path)
    err = refused(["study", "--out", "s", "--archs", "resnet", "--depths", "8", "--seeds", "0",
                   "--data-dir", str(missing), "--device", "cpu", "--no-progress"], capsys)
    assert "fashion_mnist not found in" in err and "apt-get install dataset-fashion-mnist" in err


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(data.DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        main(["--debug", "train", "--data-dir", str(tmp_path / "nonexistent")])


@pytest.mark.parametrize("argv, message", [
    (["schemes", "ab2", "--out", "{tmp}/missing/t.csv"], "argument --out: cannot write '{tmp}/missing/t.csv': the "
                                                         "folder {tmp}/missing does not exist (create it first)"),
    (["verify", "rk4", "--out", "{tmp}/file/v"], "argument --out: cannot create the folder '{tmp}/file/v': "
                                                 "{tmp}/file is a file"),
    (["train", "--out", "{tmp}/file/run"], "argument --out: cannot create the folder '{tmp}/file/run': "
                                           "{tmp}/file is a file"),
])
def test_output_paths_are_checked_while_parsing(argv, message, tmp_path, capsys, no_data):
    (tmp_path / "file").write_text("")
    err = refused([a.format(tmp=tmp_path) for a in argv], capsys)
    assert message.format(tmp=tmp_path) in err


def test_version(capsys):
    from numnet import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"numnet {__version__}\n"


# -- one vocabulary across the commands ---------------------------------------------------

def _help(argv, capsys) -> str:
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["train", "study", "report"])
def test_data_options_are_spelled_alike(command, capsys):
    from numnet.cli import build_parser

    text = " ".join(_help([command], capsys).split())
    for flag in ("--data NAME", "--data-dir DIR", "--download", f"(default: {DEFAULT_DATA})"):
        assert flag in text, flag
    assert "--data-root" not in text and "--train-size" not in text  # old spellings: hidden aliases
    extra = ["--out", "x"] if command == "study" else []
    args = build_parser().parse_args([command, *extra])
    assert args.data == DEFAULT_DATA == "fashion_mnist" and args.data_dir is None and args.download is False
    args = build_parser().parse_args([command, *extra, "--data-root", "/d"])
    assert args.data_dir == "/d"
    if command != "report":
        assert "--limit-train N" in text
        assert build_parser().parse_args([command, *extra, "--train-size", "7"]).limit_train == 7


@pytest.mark.parametrize("argv", [[], ["train"], ["study"], ["report"], ["schemes"], ["verify"]])
def test_help_has_no_rest_markup(argv, capsys):
    text = _help(argv, capsys)
    assert "``" not in text and not re.search(r":(func|mod|class|meth|data):", text), text


def test_train_options_reach_the_recipe_and_the_run_prints_what_was_learned(tmp_path, capsys):
    out = tmp_path / "lm"
    assert main(["train", "--net", "lm_resnet", "--depth", "14", "--out", str(out), "--batch-size", "16",
                 "--lr", "0.05", "--weight-decay", "0.001", *TINY]) == 0
    printed = capsys.readouterr().out
    result = numnet.train.TrainResult.load(out / "result.json")
    assert result.config["recipe"]["batch_size"] == 16 and result.config["recipe"]["lr"] == 0.05
    assert result.config["recipe"]["weight_decay"] == 0.001
    for record in result.history:  # one summary line per epoch, from the stored history
        assert (f"epoch {record['epoch']}/2: loss {record['train_loss']:.4f} train {100 * record['train_acc']:.2f}% "
                f"val - test {100 * record['test_acc']:.2f}%") in printed
    coefficients = result.history[-1]["coefficients"]
    assert len(coefficients) == 3  # depth 14: per stage one LM step after the entry block, one k_n each
    lines = printed[printed.index("learned coefficients after epoch 2:"):].splitlines()
    for stage in range(3):
        k = next(c for c in coefficients if c["stage"] == stage)
        assert lines[1 + stage] == f"  stage {stage}: k_{k['block']} = {k['value']:.4g}"


def test_lm_net_without_learnable_coefficient_warns(tmp_path, capsys):
    assert nets.build("lm_resnet", 8).learned_coefficients() == []  # what the warning is about
    assert main(["train", "--net", "lm_resnet", "--depth", "8", "--out", str(tmp_path / "lm8"), *TINY]) == 0
    err = capsys.readouterr().err
    assert ("warning: --net lm_resnet --depth 8 learns no coefficient of its scheme lm_resnet (k free)" in err
            and "choose a larger depth" in err)
    assert main(["train", "--net", "resnet", "--depth", "8", "--out", str(tmp_path / "r8"), *TINY]) == 0
    assert "warning" not in capsys.readouterr().err  # ResNet has nothing to learn in its scheme


# -- the Python API --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def toy():
    return data.load("synthetic", train_size=16, test_size=8)  # 3 channels, 4 classes


QUICK = Recipe("tiny", epochs=1, batch_size=8, milestones=())


def test_model_built_for_other_data_is_refused_before_training(toy, tmp_path):
    with pytest.raises(ConfigError, match=r"the model does not take the images of synthetic, \(3, 16, 16\) with 3 "
                                          r"channel\(s\) \(build it with in_channels=3\); torch says: "):
        train(nets.build("resnet", 8, in_channels=1, num_classes=4), toy, QUICK, out=tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match=r"the model gives 10 outputs per image but synthetic has 4 classes "
                                          r"\(build it with num_classes=4\)"):
        train(nets.build("resnet", 8), toy, QUICK, out=tmp_path / "b", progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_empty_split_is_refused(toy):
    empty = toy.test.subset(torch.arange(0))
    splits = data.Splits(train=toy.train, val=None, test=empty)
    with pytest.raises(ConfigError, match="the test set of synthetic is empty"):
        train(nets.build("resnet", 8, num_classes=4), splits, QUICK, progress=False)
    with pytest.raises(ConfigError, match=r"^e: the training set has no images$"):
        data.Splits.from_arrays("e", ("a",), (torch.zeros(0, 1, 2, 2, dtype=torch.uint8), torch.zeros(0).long()),
                                (torch.zeros(1, 1, 2, 2, dtype=torch.uint8), torch.zeros(1).long()))


@pytest.mark.parametrize("call, error, message", [
    (lambda t: train(nets.build("resnet", 8, num_classes=4), t, QUICK, seed="0"), ConfigError,
     "seed must be an int >= 0, got '0'"),
    (lambda t: train(nets.build("resnet", 8, num_classes=4), t, QUICK, stop_after="1"), ConfigError,
     r"stop_after must be an epoch count in \[1, 1\], got '1'"),
    (lambda t: train(nets.build("resnet", 8, num_classes=4), t, QUICK, eval_batch_size="100"), ConfigError,
     "eval_batch_size must be a positive int, got '100'"),
    (lambda t: train(nets.build("resnet", 8, num_classes=4), t, QUICK, resume="yes"), ConfigTypeError,
     "resume must be True or False, got 'yes'"),
    (lambda t: train(nets.build("resnet", 8, num_classes=4), "synthetic", QUICK), ConfigTypeError,
     "data must be numnet.data.Splits"),
    (lambda t: data.load("synthetic", val_split="0.1"), ConfigTypeError,
     "val_split must be an int count or a float fraction, got '0.1'"),
    (lambda t: data.load("synthetic", noise="0.1"), ConfigError, "noise must be a number >= 0, got '0.1'"),
    (lambda t: data.load("synthetic", seed="1"), ConfigError, "seed must be an int >= 0, got '1'"),
    (lambda t: t.limit_train("8"), ConfigError, r"limit_train must be an int in \[1, 16\], got '8'"),
    (lambda t: data.Loader(t.train, batch_size="8"), ConfigError, "batch_size must be an int >= 1, got '8'"),
])
def test_strings_where_numbers_belong(toy, call, error, message):
    with pytest.raises(error, match=message) as err:
        call(toy)
    assert isinstance(err.value, UserError)
