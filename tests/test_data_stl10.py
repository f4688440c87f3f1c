"""STL-10's official binary release, on tiny files written here in its format."""

import dataclasses
import io
import re
import tarfile

import numpy as np
import pytest
import torch

import numnet.data.sources as sources
from numnet import data
from numnet.cli import main
from numnet.data import ChecksumError, DataFormatError, DataNotFoundError
from numnet.data.sources import STL10
from numnet.fileio import md5_bytes, md5_file
from numnet.train import TrainResult

RNG = np.random.default_rng(0)
CLASSES = b"airplane\nbird\ncar\ncat\ndeer\ndog\nhorse\nmonkey\nship\ntruck\n"
N_TRAIN, N_TEST, N_UNLABELED, FOLD = 6, 4, 3, 2   # FOLD images in each of the 10 folds
PIXEL = (1, 2, 3, 70)   # (image, c, y, x) of a known pixel of the training set (y != x)
PIXEL_VALUE = 251


def column_major(images: np.ndarray) -> bytes:
    """The official byte order, written out by hand: image, channel, then column x, row y."""
    n, c, h, w = images.shape
    i, ch, y, x = np.indices(images.shape)
    raw = np.zeros(images.size, np.uint8)
    raw[((i * c + ch) * w + x) * h + y] = images   # pixel (i, ch, y, x) goes to that byte
    return raw.tobytes()


def stl10_members(n_train=N_TRAIN, n_test=N_TEST):
    images = {split: RNG.integers(0, 200, (n, 3, 96, 96), dtype=np.uint8)
              for split, n in (("train", n_train), ("test", n_test), ("unlabeled", N_UNLABELED))}
    images["train"][PIXEL[0], PIXEL[1], PIXEL[2], PIXEL[3]] = PIXEL_VALUE
    labels = {"train": np.arange(n_train) % 10, "test": (np.arange(n_test) * 3 + 9) % 10}  # 0-based
    folds = np.stack([RNG.permutation(n_train)[:FOLD] for _ in range(10)])
    members = {
        "train_X.bin": column_major(images["train"]), "train_y.bin": bytes((labels["train"] + 1).tolist()),
        "test_X.bin": column_major(images["test"]), "test_y.bin": bytes((labels["test"] + 1).tolist()),
        "unlabeled_X.bin": column_major(images["unlabeled"]),
        "class_names.txt": CLASSES,
        "fold_indices.txt": "".join(" ".join(map(str, f)) + " \n" for f in folds).encode(),
    }
    return members, images, labels, folds


def write_archive(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(f"stl10_binary/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def tiny(members, archive=None, **changes):
    """The official source with the tiny files' md5s (none for the two text files, as
    published), counts and, given the archive, its md5."""
    payloads = tuple((name, md5 if md5 is None else md5_bytes(members[name])) for name, md5 in STL10.payloads)
    downloads = ((STL10.archive, md5_file(archive)),) if archive else STL10.downloads
    return dataclasses.replace(STL10, payloads=payloads, downloads=downloads, sizes=(N_TRAIN, N_TEST),
                               fold_shape=(10, FOLD), unlabeled_size=N_UNLABELED, **changes)


@pytest.fixture
def stl(tmp_path):
    members, images, labels, folds = stl10_members()
    archive = write_archive(tmp_path / "stl10_binary.tar.gz", members)
    return tmp_path, archive, members, images, labels, folds


def test_stl10_archive_reads_back_exactly(stl, monkeypatch):
    root, archive, members, images, labels, folds = stl
    read = []
    capped = sources._read_capped
    monkeypatch.setattr(sources, "_read_capped", lambda s, cap, where: read.append(where) or capped(s, cap, where))
    splits = data.load(tiny(members, archive), root=root)
    i, c, y, x = PIXEL
    assert splits.train.images[i, c, y, x] == PIXEL_VALUE     # row y, column x, as written column-major
    assert members["train_X.bin"][((i * 3 + c) * 96 + x) * 96 + y] == PIXEL_VALUE
    assert splits.train.images.shape == (N_TRAIN, 3, 96, 96) and splits.train.images.dtype == torch.uint8
    assert np.array_equal(splits.train.images.numpy(), images["train"])
    assert np.array_equal(splits.test.images.numpy(), images["test"])
    assert splits.train.labels.tolist() == labels["train"].tolist() == [0, 1, 2, 3, 4, 5]   # 1..10 on disk
    assert splits.test.labels.tolist() == [9, 2, 5, 8] and splits.test.labels.dtype == torch.int64
    assert splits.classes[0] == "airplane" and splits.classes[9] == "truck" and splits.name == "stl10"
    assert not any("unlabeled" in w for w in read) and len(read) == 6   # the 2.7 GB set is never read
    # the archive itself as root, and the extracted folder without the unlabelled file
    assert np.array_equal(data.load(tiny(members, archive), root=archive).test.images.numpy(), images["test"])
    with tarfile.open(archive) as tar:
        tar.extractall(root / "x", filter="data")
    (root / "x" / "stl10_binary" / "unlabeled_X.bin").unlink()
    assert np.array_equal(data.load(tiny(members), root=root / "x").train.images.numpy(), images["train"])


def test_stl10_unlabeled_only_when_asked(stl):
    root, archive, members, images, _, _ = stl
    unlabeled = data.load_unlabeled(tiny(members, archive), root=archive)
    assert unlabeled.shape == (N_UNLABELED, 3, 96, 96) and np.array_equal(unlabeled.numpy(), images["unlabeled"])
    with pytest.raises(ChecksumError, match=r"unlabeled_X.bin: md5 .* expected 5242ba1fed5e4be9e1e742405eb56ca4"):
        data.load_unlabeled(dataclasses.replace(tiny(members, archive), payloads=STL10.payloads), root=archive)


def test_stl10_folds_are_the_predefined_ones(stl):
    root, archive, members, images, labels, folds = stl
    source = tiny(members, archive)
    splits = data.load(source, root=root, fold=3)
    assert splits.name == "stl10-fold3" and len(splits.train) == FOLD and len(splits.test) == N_TEST
    assert np.array_equal(splits.train.images.numpy(), images["train"][folds[3]])
    assert splits.train.labels.tolist() == labels["train"][folds[3]].tolist()
    with pytest.raises(ValueError, match=r"fold must be an int in \[0, 10\) for the 10 predefined folds"):
        data.load(source, root=root, fold=10)
    with pytest.raises(ValueError, match="cifar10 has no predefined folds"):
        data.load("cifar10", root=root, fold=0)


@pytest.mark.parametrize("member", ["train_X.bin", "test_y.bin"])
def test_stl10_corrupt_binary_fails_its_md5(tmp_path, member):
    members, *_ = stl10_members()
    source = tiny(members)
    raw = bytearray(members[member])
    raw[len(raw) // 2] ^= 0x01   # still a valid label / pixel: only the checksum can tell
    write_archive(tmp_path / "stl10_binary.tar.gz", {**members, member: bytes(raw)})
    with pytest.raises(ChecksumError, match=rf"stl10_binary/{member}: md5 .* expected {md5_bytes(members[member])}"):
        data.load(source, root=tmp_path)


def test_stl10_fold_file_is_trusted_through_the_archive_md5(tmp_path):
    members, *_ = stl10_members()
    (tmp_path / "a").mkdir()
    honest = write_archive(tmp_path / "a" / "stl10_binary.tar.gz", members)
    source = tiny(members, honest)
    folds = members["fold_indices.txt"]
    changed = folds.replace(folds.split()[0], b"5" if folds.split()[0] != b"5" else b"4", 1)
    (tmp_path / "b").mkdir()
    write_archive(tmp_path / "b" / "stl10_binary.tar.gz", {**members, "fold_indices.txt": changed})
    with pytest.raises(ChecksumError, match=rf"b/stl10_binary.tar.gz: md5 \w+, expected {md5_file(honest)} for the "
                                            r"official .* has no published md5 of its own"):
        data.load(source, root=tmp_path / "b")
    assert len(data.load(source, root=tmp_path / "b", verify=False, fold=0).train) == FOLD
    assert len(data.load(source, root=tmp_path / "a", fold=0).train) == FOLD


@pytest.mark.parametrize("member, raw, message", [
    ("train_X.bin", b"\0" * (27648 * N_TRAIN - 1), "is not a whole number of 3x96x96 images"),
    ("train_y.bin", bytes([1, 2, 0, 4, 5, 6]), "label 0 at position 2; STL-10 labels are 1..10"),
    ("train_y.bin", bytes([1, 2, 3]), "6 images in train_X.bin but 3 labels in train_y.bin"),
    ("fold_indices.txt", b"0 1\n" * 9, "expected 10 folds (one per line), found 9"),
    ("fold_indices.txt", b"0 1\n" * 9 + b"0 0x1\n", "fold 9 holds '0x1', not a 0-based image index"),
    ("fold_indices.txt", b"0 1\n" * 9 + b"3 3\n", "fold 9 names an image more than once"),
    ("fold_indices.txt", b"0 1\n" * 9 + b"3 6\n", "fold 9 names image 6; the 6 training images have indices 0..5"),
    ("class_names.txt", CLASSES.replace(b"monkey", b"ape"), "names the classes"),
])
def test_stl10_layout_errors_name_the_file(tmp_path, member, raw, message):
    members, *_ = stl10_members()
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    for name, content in {**members, member: raw}.items():
        (folder / name).write_bytes(content)
    with pytest.raises(DataFormatError, match=re.escape(message)) as e:
        data.load(tiny(members), root=tmp_path, verify=False)  # every layout check holds without md5s
    assert member in str(e.value)


def test_stl10_size_caps_from_the_official_shapes(tmp_path):
    assert STL10.max_bytes("train_X.bin") == 5000 * 96 * 96 * 3 and STL10.max_bytes("test_y.bin") == 8000
    members, *_ = stl10_members()
    too_many = members["train_X.bin"] + bytes(27648)   # one image more than the source allows
    write_archive(tmp_path / "stl10_binary.tar.gz", {**members, "train_X.bin": too_many})
    with pytest.raises(DataFormatError, match=rf"stl10_binary/train_X.bin: the archive says {len(too_many):,} bytes, "
                                              rf"more than the {27648 * N_TRAIN:,} the official stl10 file can have"):
        data.load(tiny(members), root=tmp_path)


def test_stl10_missing_says_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(DataNotFoundError) as e:
        data.load("stl10", root=tmp_path)
    msg = str(e.value)
    assert msg.startswith(f"stl10 not found in {tmp_path}, {tmp_path / 'stl10_binary'}, "
                          f"{tmp_path / 'stl10_binary.tar.gz'}; to get it: download stl10_binary.tar.gz "
                          f"from http://ai.stanford.edu/~acoates/stl10/")
    assert "\n" not in msg


def test_numnet_train_on_tiny_stl10(stl, monkeypatch, capsys):
    root, archive, members, *_ = stl
    monkeypatch.setitem(sources.SOURCES, "stl10", tiny(members, archive))
    out = root / "run"
    assert main(["train", "--data", "stl10", "--data-dir", str(root), "--net", "resnet", "--depth", "8",
                 "--epochs", "1", "--device", "cpu", "--no-progress", "--out", str(out), "--fold", "1"]) == 0
    result = TrainResult.load(out / "result.json")
    recipe = result.config["recipe"]
    assert result.finished and result.epochs_done == 1 and result.final_test_acc is not None
    assert recipe["name"] == "chang2018-stl10" and recipe["batch_size"] == 50 and recipe["weight_decay"] == 4e-4
    assert result.config["data"] == {"name": "stl10-fold1", "train": FOLD, "val": 0, "test": N_TEST,
                                     "shape": [3, 96, 96], "num_classes": 10}
    capsys.readouterr()
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    assert all(word in text for word in ("stl10", "imagenet", "chang2018-stl10", "--fold", "--workers"))
    assert main(["train", "--data", "stl10", "--data-dir", str(root), "--fold", "10", "--out", str(root / "r2")]) == 2
    assert capsys.readouterr().err.startswith("numnet train: fold must be an int in [0, 10) for the 10 predefined")
