"""Readers of the official formats, on tiny files written here in those formats."""

import dataclasses
import gzip
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from numnet import data
from numnet.data import ChecksumError, DataFormatError, DataNotFoundError
from numnet.data.formats import parse_idx, write_idx
from numnet.data.sources import CIFAR10, CIFAR100, FASHION_MNIST
from numnet.fileio import md5_bytes, md5_file

RNG = np.random.default_rng(0)


# -- CIFAR -------------------------------------------------------------------------------

def cifar_batch(n, label_key=b"labels", num_classes=10, extra=None):
    """Bytes of a batch in the official layout: dict with b'data' (n, 3072) uint8, labels."""
    images = RNG.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = RNG.integers(0, num_classes, n).tolist()
    d = {b"batch_label": b"tiny", b"data": images.reshape(n, 3072), label_key: labels,
         b"filenames": [b"x.png"] * n, **(extra or {})}
    return pickle.dumps(d, protocol=2), images, labels


def write_cifar10(root: Path, sizes=(3, 2, 2, 2, 2), test=4, corrupt=None):
    """A cifar-10-python.tar.gz with tiny batches; returns (archive, expected arrays, payload md5s)."""
    members, train_x, train_y = {}, [], []
    for i, n in enumerate(sizes, 1):
        members[f"data_batch_{i}"], x, y = cifar_batch(n)
        train_x.append(x), train_y.extend(y)
    members["test_batch"], test_x, test_y = cifar_batch(test)
    names = [f"c{i}".encode() for i in range(10)]
    members["batches.meta"] = pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2)
    md5s = {k: md5_bytes(v) for k, v in members.items()}
    if corrupt:
        raw = bytearray(members[corrupt])
        raw[len(raw) // 2] ^= 0xFF
        members[corrupt] = bytes(raw)
    archive = root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    expected = (np.concatenate(train_x), np.array(train_y), test_x, np.array(test_y))
    return archive, expected, md5s


def tiny(source, md5s, sizes):
    """The official source with the tiny files' checksums and counts."""
    return dataclasses.replace(source, payloads=tuple(md5s.items()), sizes=sizes)


def test_cifar10_archive_reads_back_exactly(tmp_path):
    archive, (x, y, tx, ty), md5s = write_cifar10(tmp_path)
    splits = data.load(tiny(CIFAR10, md5s, (11, 4)), root=tmp_path)
    assert splits.train.images.shape == (11, 3, 32, 32) and splits.train.images.dtype == torch.uint8
    assert np.array_equal(splits.train.images.numpy(), x)  # batches in order 1..5, channel planes R,G,B
    assert np.array_equal(splits.train.labels.numpy(), y) and splits.train.labels.dtype == torch.int64
    assert np.array_equal(splits.test.images.numpy(), tx) and np.array_equal(splits.test.labels.numpy(), ty)
    assert splits.classes == tuple(f"c{i}" for i in range(10))
    # the archive path itself works as root, and so does the extracted folder
    assert np.array_equal(data.load(tiny(CIFAR10, md5s, (11, 4)), root=archive).train.images.numpy(), x)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
    for root in (tmp_path / "extracted", tmp_path / "extracted" / "cifar-10-batches-py"):
        assert np.array_equal(data.load(tiny(CIFAR10, md5s, (11, 4)), root=root).test.images.numpy(), tx)


def test_cifar10_rejects_a_corrupt_batch(tmp_path):
    _, _, md5s = write_cifar10(tmp_path, corrupt="data_batch_3")
    with pytest.raises(ChecksumError, match=r"data_batch_3: md5 .* expected " + md5s["data_batch_3"]):
        data.load(tiny(CIFAR10, md5s, (11, 4)), root=tmp_path)


def test_cifar10_official_checksums_reject_files_that_are_not_the_release(tmp_path):
    write_cifar10(tmp_path)
    with pytest.raises(ChecksumError, match="expected 5ff9c542aee3614f3951f8cda6e48888 for the official cifar10"):
        data.load("cifar10", root=tmp_path)


def test_cifar_format_checked_even_without_checksums(tmp_path):
    archive, _, md5s = write_cifar10(tmp_path)
    # wrong count: a partial set is an error, never returned
    with pytest.raises(DataFormatError, match="expected 50000 images"):
        data.load(dataclasses.replace(CIFAR10, payloads=tuple(md5s.items())), root=tmp_path, verify=False)
    # a truncated archive
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFormatError, match="truncated or corrupt archive"):
        data.load(tiny(CIFAR10, md5s, (11, 4)), root=tmp_path, verify=False)


@pytest.mark.parametrize("batch, message", [
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"labels must lie in \[0, 10\)"),
    ({b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]}, r"uint8 array \(n, 3072\)"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "must be 2 integers"),
    ({b"data": np.zeros((2, 3072), np.uint8)}, "needs keys 'data' and 'labels'"),
])
def test_cifar_batch_layout_errors(batch, message):
    with pytest.raises(DataFormatError, match=message):
        data.formats.parse_cifar_batch(pickle.dumps(batch), where="b")


def test_cifar_pickles_cannot_run_code():
    class Evil:
        def __reduce__(self):
            return (eval, ("1",))
    with pytest.raises(DataFormatError, match="refusing to load builtins.eval"):
        data.formats.parse_cifar_batch(pickle.dumps({b"data": Evil()}))


def test_cifar100_fine_and_coarse_labels(tmp_path):
    members = {}
    fine_extra = lambda n: {b"coarse_labels": RNG.integers(0, 20, n).tolist()}  # noqa: E731
    members["train"], x, fine = cifar_batch(5, b"fine_labels", 100, fine_extra(5))
    coarse = pickle.loads(members["train"])[b"coarse_labels"]
    members["test"], _, _ = cifar_batch(3, b"fine_labels", 100, fine_extra(3))
    members["meta"] = pickle.dumps({b"fine_label_names": [f"f{i}".encode() for i in range(100)],
                                    b"coarse_label_names": [f"s{i}".encode() for i in range(20)]})
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name, raw in members.items():
        (folder / name).write_bytes(raw)
    md5s = {k: md5_bytes(v) for k, v in members.items()}
    fine_set = data.load(tiny(CIFAR100, md5s, (5, 3)), root=tmp_path)
    coarse_set = data.load(tiny(data.SOURCES["cifar100_coarse"], md5s, (5, 3)), root=tmp_path)
    assert fine_set.train.labels.tolist() == fine and fine_set.num_classes == 100
    assert coarse_set.train.labels.tolist() == coarse and coarse_set.num_classes == 20
    assert np.array_equal(fine_set.train.images.numpy(), x) and coarse_set.classes[3] == "s3"


def test_download_checks_md5_and_writes_atomically(tmp_path):
    (tmp_path / "server").mkdir()
    archive, _, md5s = write_cifar10(tmp_path / "server")
    source = dataclasses.replace(tiny(CIFAR10, md5s, (11, 4)), url=f"file://{tmp_path / 'server'}/",
                                 downloads=(("cifar-10-python.tar.gz", md5_file(archive)),))
    splits = data.load(source, root=tmp_path / "cache", download=True)
    assert len(splits.train) == 11 and (tmp_path / "cache" / "cifar-10-python.tar.gz").is_file()
    bad = dataclasses.replace(source, downloads=(("cifar-10-python.tar.gz", "0" * 32),))
    with pytest.raises(ChecksumError, match="nothing was kept"):
        data.download(bad, tmp_path / "other", progress=False)
    assert not (tmp_path / "other").exists() or list((tmp_path / "other").iterdir()) == []


def test_missing_data_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMNET_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError) as e:
        data.load("cifar10")
    msg = str(e.value)
    assert str(tmp_path / "d" / "cifar-10-batches-py") in msg and str(tmp_path / "cache" / "numnet") in msg
    assert "https://www.cs.toronto.edu/~kriz/" in msg and "cifar-10-python.tar.gz" in msg
    with pytest.raises(DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion_mnist", root=tmp_path)


# -- IDX / Fashion-MNIST -----------------------------------------------------------------

def write_fmnist(folder: Path, n_train=6, n_test=4, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": RNG.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": RNG.integers(0, 10, n_test).astype(np.uint8),
    }
    md5s = {}
    for name, array in arrays.items():
        raw = write_idx(array)
        md5s[name] = md5_bytes(raw)
        (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(raw) if gz else raw)
    return arrays, md5s


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_idx_reads_back_exactly(tmp_path, gz):
    arrays, md5s = write_fmnist(tmp_path / "fashion-mnist", gz=gz)
    splits = data.load(tiny(FASHION_MNIST, md5s, (6, 4)), root=tmp_path)
    assert splits.train.images.shape == (6, 1, 28, 28)
    assert np.array_equal(splits.train.images[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(splits.test.labels.numpy(), arrays["t10k-labels-idx1-ubyte"])
    assert splits.classes[9] == "Ankle boot"


def test_found_through_numnet_data(tmp_path, monkeypatch):
    arrays, md5s = write_fmnist(tmp_path / "store" / "fashion-mnist")
    monkeypatch.setenv("NUMNET_DATA", str(tmp_path / "store"))
    splits = data.load(tiny(FASHION_MNIST, md5s, (6, 4)))
    assert np.array_equal(splits.test.images[:, 0].numpy(), arrays["t10k-images-idx3-ubyte"])


def test_fashion_mnist_truncated_or_corrupt_files(tmp_path):
    _, md5s = write_fmnist(tmp_path)
    source = tiny(FASHION_MNIST, md5s, (6, 4))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    good = path.read_bytes()
    path.write_bytes(good[:-20])  # cut-off gzip stream
    with pytest.raises(DataFormatError, match="truncated or corrupt gzip"):
        data.load(source, root=tmp_path)
    path.write_bytes(gzip.compress(gzip.decompress(good)[:-5]))  # whole gzip of a short IDX file
    with pytest.raises(ChecksumError):
        data.load(source, root=tmp_path)
    with pytest.raises(DataFormatError, match="needs 4704 bytes after the header, found 4699"):
        data.load(source, root=tmp_path, verify=False)


@pytest.mark.parametrize("raw, message", [
    (b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", "magic number"),
    (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01" + b"\x05", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00", "header with 3 dimensions is truncated"),
    (b"\x00\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x05\x06", "needs 1 bytes after the header, found 2"),
])
def test_idx_format_errors(raw, message):
    with pytest.raises(DataFormatError, match=message):
        parse_idx(raw)


def test_idx_round_trip_other_dtypes():
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    assert np.array_equal(parse_idx(write_idx(a)), a)


REAL_FMNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not REAL_FMNIST.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist():
    # Debian re-gzips the files: their .gz md5s differ from the published ones, the content's do not
    published = dict(FASHION_MNIST.downloads)
    assert md5_file(REAL_FMNIST / "t10k-labels-idx1-ubyte.gz") != published["t10k-labels-idx1-ubyte.gz"]
    splits = data.load("fashion_mnist", val_split=5000, split_seed=1)  # verify=True: content md5s
    assert (len(splits.train), len(splits.val), len(splits.test)) == (55000, 5000, 10000)
    assert splits.train.images.shape[1:] == (1, 28, 28)
    full = data.load("fashion_mnist", root=REAL_FMNIST)
    assert full.train.labels.bincount().tolist() == [6000] * 10  # balanced, as published
    assert full.test.labels.bincount().tolist() == [1000] * 10
    # the commonly quoted normalisation constants of Fashion-MNIST
    assert full.train.mean[0] == pytest.approx(0.2860, abs=1e-4)
    assert full.train.std[0] == pytest.approx(0.3530, abs=1e-4)


# -- bounded cost: files larger than the official ones are refused while streaming --------

class _Zeros(io.RawIOBase):
    """``n`` zero bytes as a stream (a bomb is written without holding it in memory)."""

    def __init__(self, n):
        self.n = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.n)
        b[:k] = bytes(k)
        self.n -= k
        return k


def _peak_bytes(call):
    """Peak Python memory while ``call()`` runs (it must raise DataFormatError), and the error."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError) as err:
            call()
        return tracemalloc.get_traced_memory()[1], str(err.value)
    finally:
        tracemalloc.stop()


BOMB = 256 << 20  # 256 MiB of zeros: ~1 MB compressed, 5x the largest official payload


def test_cifar_archive_member_larger_than_official_is_refused_unread(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = BOMB
        tar.addfile(info, _Zeros(BOMB))
    assert archive.stat().st_size < 2 << 20
    peak, msg = _peak_bytes(lambda: data.load("cifar10", root=archive))
    cap = CIFAR10.max_bytes("data_batch_1")
    assert f"the archive says {BOMB:,} bytes, more than the {cap:,}" in msg and "data_batch_1" in msg
    assert 31_035_704 < cap < BOMB and peak < 16 << 20


def test_fashion_mnist_gzip_bomb_stops_at_the_official_size(tmp_path):
    folder = tmp_path / "fashion-mnist"
    write_fmnist(folder)
    bomb = folder / "train-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as f:  # a valid header (60000, 28, 28), then far too much
        f.write(write_idx(np.zeros((0, 28, 28), np.uint8))[:8] + np.array([60000, 28, 28], ">u4").tobytes())
        for _ in range(BOMB >> 20):
            f.write(bytes(1 << 20))
    assert bomb.stat().st_size < 2 << 20
    peak, msg = _peak_bytes(lambda: data.load("fashion_mnist", root=tmp_path))
    assert "more than 47,040,016 bytes, the most the official file can have" in msg and str(bomb) in msg
    assert peak < 2 * 47_040_016  # stopped at the cap, never the 256 MiB


def test_uncompressed_file_larger_than_official_is_refused_by_its_size(tmp_path):
    folder = tmp_path / "fashion-mnist"
    write_fmnist(folder, gz=False)
    big = folder / "train-images-idx3-ubyte"
    os.truncate(big, 3 << 30)  # sparse: 3 GiB claimed, nothing written
    peak, msg = _peak_bytes(lambda: data.load("fashion_mnist", root=tmp_path))
    assert f"{3 << 30:,} bytes, more than the 47,040,016 the official fashion_mnist file can have" in msg
    assert peak < 1 << 20
