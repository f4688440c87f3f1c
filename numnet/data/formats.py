"""Parsers for the official file formats: CIFAR's python pickles, the IDX files of MNIST
and STL-10's raw binaries (with its fold and class-name text files).

They take the bytes of one file and return numpy arrays, checking the layout strictly:
a truncated or malformed file raises :class:`~numnet.data.errors.DataFormatError`
naming the file, never yields a partial array.
"""

from __future__ import annotations

import io
import pickle
import re

import numpy as np

from numnet.data.errors import DataFormatError

__all__ = ["parse_idx", "parse_cifar_batch", "parse_cifar_meta", "write_idx", "parse_stl10_images",
           "write_stl10_images", "parse_stl10_labels", "parse_stl10_folds", "parse_lines"]

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def parse_idx(raw: bytes, where: str = "<bytes>") -> np.ndarray:
    """The array stored in an (uncompressed) IDX file.

    Layout: two zero bytes, a type code, the number of dimensions ``d``, then ``d``
    big-endian uint32 sizes, then the data in C order.

    >>> parse_idx(write_idx(np.arange(6, dtype=np.uint8).reshape(2, 3)))
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    >>> parse_idx(write_idx(np.arange(6, dtype=np.uint8))[:-1], "x")
    Traceback (most recent call last):
    ...
    numnet.data.errors.DataFormatError: x: IDX data of shape (6,) needs 6 bytes after the header, found 5 (truncated or corrupt file)
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataFormatError(f"{where}: not an IDX file (magic number must start with two zero bytes, "
                              f"got {raw[:4].hex() or 'an empty file'})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise DataFormatError(f"{where}: unknown IDX type code 0x{code:02x} (expected one of "
                              f"{', '.join(f'0x{c:02x}' for c in _IDX_TYPES)})")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise DataFormatError(f"{where}: IDX header with {ndim} dimensions is truncated")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[code]
    need = int(np.prod(shape)) * dtype.itemsize
    have = len(raw) - 4 - 4 * ndim
    if have != need:
        raise DataFormatError(f"{where}: IDX data of shape {shape} needs {need} bytes after the header, "
                              f"found {have} (truncated or corrupt file)")
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of ``array`` (the inverse of :func:`parse_idx`).

    >>> write_idx(np.zeros((1, 2), dtype=np.uint8)).hex(" ", -4)
    '00000802 00000001 00000002 0000'
    """
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): c for c, dt in _IDX_TYPES.items()}
    if array.dtype not in codes:
        raise TypeError(f"IDX stores {sorted(str(d) for d in codes)}, got {array.dtype}")
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, strings and numpy arrays, and refuses anything else.

    The CIFAR batches are pickles; a file that is not the official one must not be able
    to run code when it is read.
    """

    _allowed = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"), ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"), ("__builtin__", "object"), ("builtins", "object"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2
    }

    def find_class(self, module, name):
        if module.startswith("numpy.core."):  # pickles written by numpy 1 (and Python 2)
            module = "numpy._core." + module[len("numpy.core."):]
        if (module, name) not in self._allowed:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def _unpickle(raw: bytes, where: str) -> dict:
    try:
        obj = _ArraysOnly(io.BytesIO(raw), encoding="latin1").load()
    except Exception as e:  # truncated pickles raise EOFError, UnpicklingError, ValueError...
        raise DataFormatError(f"{where}: not a readable CIFAR pickle ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict):
        raise DataFormatError(f"{where}: expected a pickled dict, got {type(obj).__name__}")
    # Python 2 pickles give str keys under latin1; pickles written by Python 3 keep bytes keys.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def parse_cifar_batch(raw: bytes, label_key: str = "labels", where: str = "<bytes>",
                      num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 3, 32, 32)`` uint8 and labels ``(n,)`` int64 of one CIFAR batch file.

    The file is a pickled dict with ``data`` (an ``(n, 3072)`` uint8 array: 1024 red,
    then 1024 green, then 1024 blue values, each 32×32 in row-major order) and the
    labels under ``label_key`` (``labels`` for CIFAR-10, ``fine_labels`` or
    ``coarse_labels`` for CIFAR-100).

    >>> batch = {b"data": np.arange(2 * 3072, dtype=np.uint64).astype(np.uint8).reshape(2, 3072),
    ...          b"labels": [3, 7]}
    >>> x, y = parse_cifar_batch(pickle.dumps(batch))
    >>> x.shape, int(x[1, 2, 0, 0]) == (3072 + 2048) % 256, y
    ((2, 3, 32, 32), True, array([3, 7]))
    """
    batch = _unpickle(raw, where)
    if "data" not in batch or label_key not in batch:
        raise DataFormatError(f"{where}: a CIFAR batch needs keys 'data' and {label_key!r}, "
                              f"found {sorted(batch)}")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        desc = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataFormatError(f"{where}: 'data' must be a uint8 array (n, 3072), got {desc}")
    labels = np.asarray(batch[label_key])
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data):
        raise DataFormatError(f"{where}: {label_key!r} must be {len(data)} integers, "
                              f"got {labels.dtype} {labels.shape}")
    if len(labels) and not (labels.min() >= 0 and labels.max() < num_classes):
        raise DataFormatError(f"{where}: labels must lie in [0, {num_classes}), "
                              f"got range [{labels.min()}, {labels.max()}]")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def parse_cifar_meta(raw: bytes, names_key: str, where: str = "<bytes>") -> tuple[str, ...]:
    """The class names stored under ``names_key`` in a CIFAR meta file.

    >>> parse_cifar_meta(pickle.dumps({b"label_names": [b"cat", b"dog"]}), "label_names")
    ('cat', 'dog')
    """
    meta = _unpickle(raw, where)
    names = meta.get(names_key)
    if not isinstance(names, list) or not all(isinstance(n, (str, bytes)) for n in names):
        raise DataFormatError(f"{where}: expected a list of class names under {names_key!r}, "
                              f"found keys {sorted(meta)}")
    return tuple(n.decode("latin1") if isinstance(n, bytes) else n for n in names)


# -- STL-10 (https://cs.stanford.edu/~acoates/stl10/, README of stl10_binary) ------------------

def parse_stl10_images(raw: bytes, where: str = "<bytes>", shape: tuple[int, int, int] = (3, 96, 96)) -> np.ndarray:
    """Images ``(n, C, H, W)`` uint8 of an STL-10 ``*_X.bin`` file.

    The file is the images back to back with no header, each stored one channel after the
    other (red, green, blue), every channel in *column-major* order: byte ``x * H + y`` of a
    channel is the pixel at row ``y``, column ``x``.

    >>> img = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 1, 3, 4)   # 2 images, 1 channel, 3x4
    >>> raw = write_stl10_images(img)
    >>> list(raw[:6])   # first image, column 0 (rows 0..2), then column 1
    [0, 4, 8, 1, 5, 9]
    >>> bool((parse_stl10_images(raw, shape=(1, 3, 4)) == img).all())
    True
    >>> parse_stl10_images(raw[:-1], "x", shape=(1, 3, 4))
    Traceback (most recent call last):
    ...
    numnet.data.errors.DataFormatError: x: 23 bytes is not a whole number of 1x3x4 images (12 bytes each; truncated or corrupt file)
    """
    c, h, w = shape
    per_image = c * h * w
    if len(raw) % per_image:
        raise DataFormatError(f"{where}: {len(raw):,} bytes is not a whole number of {c}x{h}x{w} images "
                              f"({per_image:,} bytes each; truncated or corrupt file)")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, c, w, h).transpose(0, 1, 3, 2)


def write_stl10_images(images: np.ndarray) -> bytes:
    """The ``*_X.bin`` bytes of uint8 images ``(n, C, H, W)`` (the inverse of :func:`parse_stl10_images`)."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise TypeError(f"STL-10 stores uint8 images (n, C, H, W), got {images.dtype} of shape {images.shape}")
    return np.ascontiguousarray(images.transpose(0, 1, 3, 2)).tobytes()


def parse_stl10_labels(raw: bytes, where: str = "<bytes>", num_classes: int = 10) -> np.ndarray:
    """Labels ``(n,)`` int64, 0-based, of an STL-10 ``*_y.bin`` file (one byte per image,
    1-based on disk: 1 is the first class).

    >>> parse_stl10_labels(bytes([1, 10, 3]))
    array([0, 9, 2])
    >>> parse_stl10_labels(bytes([1, 0, 3]), "y.bin")
    Traceback (most recent call last):
    ...
    numnet.data.errors.DataFormatError: y.bin: label 0 at position 1; STL-10 labels are 1..10 (corrupt file)
    """
    labels = np.frombuffer(raw, dtype=np.uint8).astype(np.int64)
    bad = np.flatnonzero((labels < 1) | (labels > num_classes))
    if len(bad):
        raise DataFormatError(f"{where}: label {labels[bad[0]]} at position {bad[0]}; STL-10 labels are "
                              f"1..{num_classes} (corrupt file)")
    return labels - 1


def parse_lines(raw: bytes, where: str = "<bytes>") -> tuple[str, ...]:
    """The non-empty lines of an ASCII text file, stripped (STL-10's ``class_names.txt``).

    >>> parse_lines(b"airplane\\nbird\\n")
    ('airplane', 'bird')
    """
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise DataFormatError(f"{where}: not an ASCII text file (byte {e.start} is 0x{raw[e.start]:02x})") from None
    return tuple(line.strip() for line in text.splitlines() if line.strip())


_INDEX = re.compile(r"[0-9]+")


def parse_stl10_folds(raw: bytes, where: str = "<bytes>", *, folds: int = 10, fold_size: int = 1000,
                      train_size: int = 5000) -> np.ndarray:
    """The predefined training folds of STL-10's ``fold_indices.txt``: ``(folds, fold_size)``
    int64, each line the 0-based indices of one fold's training images, separated by spaces.

    Every index must be a plain decimal below ``train_size``, and no fold may name an
    image twice.

    >>> parse_stl10_folds(b"0 2\\n1 3 \\n", folds=2, fold_size=2, train_size=4)
    array([[0, 2],
           [1, 3]])
    >>> parse_stl10_folds(b"0 2\\n1 4\\n", "f", folds=2, fold_size=2, train_size=4)
    Traceback (most recent call last):
    ...
    numnet.data.errors.DataFormatError: f: fold 1 names image 4; the 4 training images have indices 0..3
    """
    lines = parse_lines(raw, where)
    if len(lines) != folds:
        raise DataFormatError(f"{where}: expected {folds} folds (one per line), found {len(lines)}")
    rows = []
    for k, line in enumerate(lines):
        tokens = line.split()
        odd = next((t for t in tokens if not _INDEX.fullmatch(t)), None)
        if odd is not None:
            raise DataFormatError(f"{where}: fold {k} holds {odd[:20]!r}, not a 0-based image index")
        index = np.array([int(t) for t in tokens], dtype=np.int64)
        if len(index) != fold_size:
            raise DataFormatError(f"{where}: fold {k} has {len(index)} indices, expected {fold_size}")
        if index.max() >= train_size:
            raise DataFormatError(f"{where}: fold {k} names image {index.max()}; the {train_size} training "
                                  f"images have indices 0..{train_size - 1}")
        if len(np.unique(index)) != len(index):
            raise DataFormatError(f"{where}: fold {k} names an image more than once")
        rows.append(index)
    return np.stack(rows)
