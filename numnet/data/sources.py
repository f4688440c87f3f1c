"""Where the official data sets come from, how to find them on disk, and how to check them.

A :class:`Source` is data: the file names, the published md5 checksums, the expected
shapes and counts, the download address and where a system package installs the
files. One finder, one downloader and one reader per file format serve every source.

Checksums are taken over each file's *content* (a CIFAR batch inside the archive, an
IDX file inside its ``.gz``), so a re-compressed copy — Debian's
``dataset-fashion-mnist`` re-gzips the official files — still verifies, while any
changed byte of the data does not. Downloads are checked against the md5 of the
published file itself before they are kept. A payload published without a checksum of
its own (STL-10's fold and class-name files) is trusted through the md5 of the official
archive, taken while the archive streams past; from an extracted folder only its parser
checks it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from numnet.data.errors import ChecksumError, DataFormatError, DataNotFoundError, DownloadError
from numnet.errors import ConfigError
from numnet.fileio import atomic_write

__all__ = ["NAMES", "Source", "SOURCES", "get_source", "search_dirs", "locate", "download", "read_payload"]

ENV_VAR = "NUMNET_DATA"


@dataclass(frozen=True)
class Source:
    """The official release of one data set, as data.

    ``payloads`` maps each file the reader needs (a member of the archive, or an IDX
    file without its ``.gz``) to the md5 of its content (``None`` where none is
    published); ``downloads`` lists the files published at ``url`` with their own md5.
    ``train`` and ``test`` name the payloads of each split, ``sizes`` their image counts.
    ``folds`` names a payload of predefined training folds, ``fold_shape`` its
    ``(folds, images per fold)``; ``unlabeled`` a payload of ``unlabeled_size`` images
    without labels, read only when asked for (it is not needed to find the set).
    """

    name: str
    format: str                      # "cifar" (pickled batches), "idx" or "stl10" (raw bytes)
    folder: str                      # folder holding the payloads once extracted/installed
    url: str                         # base address of the files in ``downloads``
    downloads: tuple[tuple[str, str], ...]
    payloads: tuple[tuple[str, str], ...]
    train: tuple[str, ...]
    test: tuple[str, ...]
    sizes: tuple[int, int]           # (train, test) image counts
    shape: tuple[int, int, int]      # (C, H, W)
    num_classes: int
    archive: str | None = None       # the payloads live in this .tar.gz under ``folder/``
    classes: tuple[str, ...] = ()    # fixed class names; else read from ``meta``
    meta: str | None = None          # payload holding the class names (CIFAR)
    names_key: str = "label_names"
    label_key: str = "labels"
    system_dirs: tuple[str, ...] = ()
    install_hint: str = ""
    folds: str | None = None
    fold_shape: tuple[int, int] = (0, 0)
    unlabeled: str | None = None
    unlabeled_size: int = 0

    @property
    def md5(self) -> dict[str, str | None]:
        return dict(self.payloads)

    @property
    def required(self) -> tuple[str, ...]:
        """The payloads every load reads (all but the unlabelled images)."""
        return tuple(name for name, _ in self.payloads if name != self.unlabeled)

    def max_bytes(self, name: str) -> int:
        """The most bytes payload ``name`` can have in the official layout, from the image
        shape and counts: a reader stops there, so a larger (or decompression-bomb) file
        is refused before it fills memory.

        IDX: the header (4 bytes, 4 per dimension) plus the images or labels exactly
        (Fashion-MNIST: 47,040,016 / 60,008 / 7,840,016 / 10,008 bytes). A CIFAR batch is a
        pickle of its images (3072 bytes each) with a label and a file name per image
        (under ``_CIFAR_PER_IMAGE`` bytes together) and a small header; the meta file holds
        only class names. STL-10's binaries are the bytes of the images (27,648 each) or one
        byte per label, nothing else; its fold and class-name files are short text.

        >>> [FASHION_MNIST.max_bytes(n) for n, _ in FASHION_MNIST.payloads]
        [47040016, 60008, 7840016, 10008]
        >>> CIFAR10.max_bytes("data_batch_1") > 31_035_704, CIFAR10.max_bytes("data_batch_1") < 2**25
        (True, True)
        >>> [STL10.max_bytes(n) for n in ("train_X.bin", "train_y.bin", "test_X.bin", "unlabeled_X.bin")]
        [138240000, 5000, 221184000, 2764800000]
        """
        if name in (self.meta, self.folds):
            return _META_BYTES
        c, h, w = self.shape
        if name == self.unlabeled:
            return self.unlabeled_size * c * h * w
        for split, count in ((self.train, self.sizes[0]), (self.test, self.sizes[1])):
            if name in split:
                if self.format in ("idx", "stl10"):  # (images, labels): each file holds the whole split
                    header = (4 + 4 * 3, 4 + 4) if self.format == "idx" else (0, 0)
                    return header[0] + count * c * h * w if name == split[0] else header[1] + count
                per_file = -(-count // len(split))
                return per_file * (c * h * w + _CIFAR_PER_IMAGE) + _META_BYTES
        raise ValueError(f"{name!r} is not a payload of {self.name} (payloads: {', '.join(self.md5)})")


_META_BYTES = 1 << 16        # a CIFAR meta file (class names) and a batch's pickle header
_CIFAR_PER_IMAGE = 256       # label(s) and file name of one image in a CIFAR pickle (official: ~32)


_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/"
_STL10_URL = "http://ai.stanford.edu/~acoates/stl10/"
_FMNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

CIFAR10 = Source(
    name="cifar10", format="cifar", folder="cifar-10-batches-py", url=_CIFAR_URL,
    archive="cifar-10-python.tar.gz",
    downloads=(("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),),
    payloads=(
        ("data_batch_1", "c99cafc152244af753f735de768cd75f"),
        ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
        ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
        ("data_batch_4", "634d18415352ddfa80567beed471001a"),
        ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
        ("test_batch", "40351d587109b95175f43aff81a1287e"),
        ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888"),
    ),
    train=("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"),
    test=("test_batch",), sizes=(50000, 10000), shape=(3, 32, 32), num_classes=10,
    meta="batches.meta", names_key="label_names", label_key="labels",
    system_dirs=("/usr/share/datasets/cifar-10",),
)

CIFAR100 = Source(
    name="cifar100", format="cifar", folder="cifar-100-python", url=_CIFAR_URL,
    archive="cifar-100-python.tar.gz",
    downloads=(("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),),
    payloads=(
        ("train", "16019d7e3df5f24257cddd939b257f8d"),
        ("test", "f0ef6b0ae62326f3e7ffdfab6717acfc"),
        ("meta", "7973b15100ade9c7d40fb424638fde48"),
    ),
    train=("train",), test=("test",), sizes=(50000, 10000), shape=(3, 32, 32), num_classes=100,
    meta="meta", names_key="fine_label_names", label_key="fine_labels",
    system_dirs=("/usr/share/datasets/cifar-100",),
)

FASHION_MNIST = Source(
    name="fashion_mnist", format="idx", folder="fashion-mnist", url=_FMNIST_URL,
    downloads=(
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ),
    # md5 of the decompressed IDX files (the same bytes in Debian's re-gzipped copies)
    payloads=(
        ("train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        ("train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9"),
        ("t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a"),
        ("t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965"),
    ),
    train=("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    test=("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    sizes=(60000, 10000), shape=(1, 28, 28), num_classes=10,
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    install_hint="apt-get install dataset-fashion-mnist",
)

# STL-10 (Coates, Lee & Ng, AISTATS 2011): md5s of the archive and of its binaries as
# torchvision's datasets/stl10.py checks them; the fold and class-name files have none.
STL10 = Source(
    name="stl10", format="stl10", folder="stl10_binary", url=_STL10_URL,
    archive="stl10_binary.tar.gz",
    downloads=(("stl10_binary.tar.gz", "91f7769df0f17e558f3565bffb0c7dfb"),),
    payloads=(
        ("train_X.bin", "918c2871b30a85fa023e0c44e0bee87f"),
        ("train_y.bin", "5a34089d4802c674881badbb80307741"),
        ("test_X.bin", "7f263ba9f9e0b06b93213547f721ac82"),
        ("test_y.bin", "36f9794fa4beb8a2c72628de14fa638e"),
        ("class_names.txt", None),
        ("fold_indices.txt", None),
        ("unlabeled_X.bin", "5242ba1fed5e4be9e1e742405eb56ca4"),
    ),
    train=("train_X.bin", "train_y.bin"), test=("test_X.bin", "test_y.bin"),
    sizes=(5000, 8000), shape=(3, 96, 96), num_classes=10,
    classes=("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"),
    meta="class_names.txt", folds="fold_indices.txt", fold_shape=(10, 1000),
    unlabeled="unlabeled_X.bin", unlabeled_size=100000,
)

SOURCES: dict[str, Source] = {
    s.name: s for s in (
        CIFAR10,
        CIFAR100,
        replace(CIFAR100, name="cifar100_coarse", num_classes=20,  # the 20 superclasses
                names_key="coarse_label_names", label_key="coarse_labels"),
        FASHION_MNIST,
        STL10,
    )
}


# every name numnet.data.load accepts: the sources read from files, the toy task, and a
# folder of class folders in the ImageNet layout (numnet.data.imagefolder)
NAMES = (*SOURCES, "synthetic", "imagenet")


def get_source(name: str) -> Source:
    """The registered source called ``name``.

    >>> get_source("cifar10").sizes
    (50000, 10000)
    >>> get_source("mnist")
    Traceback (most recent call last):
    ...
    numnet.errors.ConfigError: unknown data set 'mnist'; choose one of cifar10, cifar100, cifar100_coarse, fashion_mnist, stl10
    """
    if name not in SOURCES:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(SOURCES)}")
    return SOURCES[name]


def search_dirs(source: Source, root: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched for ``source``, first match wins.

    An explicit ``root`` is the only place searched. Otherwise: ``$NUMNET_DATA``, the
    user cache (``$XDG_CACHE_HOME/numnet`` or ``~/.cache/numnet``), then the
    directories a system package installs to.
    """
    if root is not None:
        return [Path(root)]
    dirs = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "numnet"
    return dirs + [cache] + [Path(d) for d in source.system_dirs]


def _read_capped(stream, cap: int, where: str) -> tuple[bytes, str]:
    """The bytes of ``stream`` and their md5, read in chunks and stopped past ``cap`` bytes.

    >>> import io
    >>> _read_capped(io.BytesIO(b"abc"), 3, "x")
    (b'abc', '900150983cd24fb0d6963f7d28e17f72')
    >>> _read_capped(io.BytesIO(b"abcd"), 3, "x")
    Traceback (most recent call last):
    ...
    numnet.data.errors.DataFormatError: x: more than 3 bytes, the most the official file can have (not the official release, or a decompression bomb); stopped reading there
    """
    h = hashlib.md5(usedforsecurity=False)
    data = bytearray()
    while True:
        block = stream.read(min(1 << 20, cap + 1 - len(data)))
        if not block:
            return bytes(data), h.hexdigest()
        data += block
        if len(data) > cap:
            raise DataFormatError(f"{where}: more than {cap:,} bytes, the most the official file can have "
                                  f"(not the official release, or a decompression bomb); stopped reading there")
        h.update(block)


class _Folder:
    """Payloads as files in a directory (each optionally gzipped)."""

    def __init__(self, path: Path, source: Source):
        self.path, self.source = path, source

    md5 = None  # no archive: payloads without a published md5 are checked by their parsers only

    def complete(self) -> bool:
        return all(self._file(name) is not None for name in self.source.required)

    def _file(self, name: str) -> Path | None:
        for candidate in (self.path / name, self.path / f"{name}.gz"):
            if candidate.is_file():
                return candidate
        return None

    def read(self, name: str) -> tuple[bytes, str, str]:
        path = self._file(name)
        if path is None:
            raise DataNotFoundError(f"{self.path}: {name} is missing")
        cap = self.source.max_bytes(name)
        if path.suffix != ".gz" and path.stat().st_size > cap:
            raise DataFormatError(f"{path}: {path.stat().st_size:,} bytes, more than the {cap:,} the official "
                                  f"{self.source.name} file can have (not the official release); not read")
        try:
            with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
                return (*_read_capped(f, cap, str(path)), str(path))
        except (EOFError, gzip.BadGzipFile, zlib.error) as e:
            raise DataFormatError(f"{path}: truncated or corrupt gzip file ({e})") from None


class _Hashing:
    """A binary stream that feeds every byte read through it to ``digest``."""

    def __init__(self, stream, digest):
        self.stream, self.digest = stream, digest

    def read(self, size: int = -1) -> bytes:
        block = self.stream.read(size)
        self.digest.update(block)
        return block


class _Archive:
    """Payloads as members ``folder/name`` of a .tar.gz archive, streamed once without
    extracting: only the payloads are kept, each refused when its header claims more bytes
    than the official file can have, and the md5 of the whole archive is taken on the way
    (``md5``). The unlabelled images are read only when asked for, in a pass of their own."""

    def __init__(self, path: Path, source: Source):
        self.path, self.source = path, source
        self._members: dict[str, tuple[bytes, str]] = {}
        self._scanned: set[str] = set()
        self.md5: str | None = None

    def read(self, name: str) -> tuple[bytes, str, str]:
        if name not in self._scanned:
            wanted = set(self.source.required) if name in self.source.required else {name}
            self._members.update(self._scan(wanted))
            self._scanned |= wanted
        where = f"{self.path}:{self.source.folder}/{name}"
        if name not in self._members:
            raise DataFormatError(f"{where}: member missing from the archive "
                                  f"(found {sorted(self._members) or 'none'})")
        return (*self._members[name], where)

    def _scan(self, wanted: set[str]) -> dict[str, tuple[bytes, str]]:
        members, digest = {}, hashlib.md5(usedforsecurity=False)
        try:
            with open(self.path, "rb") as raw:
                stream = _Hashing(raw, digest)
                # tarfile's small default reads: a gzip bomb inflates ~10 kB at a time, never whole
                with tarfile.open(fileobj=stream, mode="r|gz") as tar:
                    for info in tar:
                        parent, _, name = info.name.rpartition("/")
                        if not (info.isfile() and parent.strip("./") == self.source.folder and name in wanted):
                            continue
                        where, cap = f"{self.path}:{info.name}", self.source.max_bytes(name)
                        if info.size > cap:
                            raise DataFormatError(f"{where}: the archive says {info.size:,} bytes, more than the "
                                                  f"{cap:,} the official {self.source.name} file can have (not the "
                                                  f"official release, or a decompression bomb); not read")
                        members[name] = _read_capped(tar.extractfile(info), cap, where)
                while stream.read(1 << 20):  # the end of the file after the archive's last block
                    pass
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise DataFormatError(f"{self.path}: truncated or corrupt archive ({type(e).__name__}: {e})") from None
        self.md5 = digest.hexdigest()
        return members


def locate(source: Source, root: str | os.PathLike | None = None):
    """An object whose ``read(name)`` gives ``(bytes, where)`` for each payload of ``source``.

    In each searched directory ``d`` (see :func:`search_dirs`) it looks for the
    payloads in ``d`` itself, in ``d/<folder>``, and in the archive ``d/<archive>``;
    ``root`` may also be the archive file itself. Raises
    :class:`~numnet.data.errors.DataNotFoundError` listing every place looked at.
    """
    looked = []
    for d in search_dirs(source, root):
        if source.archive and d.is_file():
            return _Archive(d, source)
        for folder in (d, d / source.folder):
            looked.append(str(folder))
            if _Folder(folder, source).complete():
                return _Folder(folder, source)
        if source.archive:
            looked.append(str(d / source.archive))
            if (d / source.archive).is_file():
                return _Archive(d / source.archive, source)
    raise DataNotFoundError(_missing_message(source, looked))


def _missing_message(source: Source, looked: list[str]) -> str:
    files = ", ".join(name for name, _ in source.downloads)
    how = [f"download {files} from {source.url} (download=True, or --download on the command line)"]
    if source.install_hint:
        how.insert(0, f"install it with `{source.install_hint}`")
    how.append(f"or point root= / --data-dir / ${ENV_VAR} at a directory holding them")
    return f"{source.name} not found in {', '.join(looked)}; to get it: " + "; ".join(how)


def download(source: Source, into: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Download the published files of ``source`` into ``into`` and check their md5.

    ``into`` defaults to the first of ``$NUMNET_DATA`` and the user cache. Archives go
    to ``into/<archive>``, single files to ``into/<folder>/``. Each file is written
    atomically: a failed or corrupt download leaves nothing behind. Returns the
    directory to pass as ``root``.
    """
    into = Path(into) if into is not None else search_dirs(source)[0]
    target = into if source.archive else into / source.folder
    for name, md5 in source.downloads:
        path = target / name
        if path.is_file():
            continue
        _fetch(source.url + name, path, md5, progress)
    return into


def _fetch(url: str, path: Path, md5: str, progress: bool) -> None:
    import hashlib

    from numnet.progress import progress as progress_bar

    try:
        response = urllib.request.urlopen(url, timeout=60)
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"could not download {url}: {e}. Fetch it by hand (md5 {md5}) "
                            f"and put it at {path}") from None
    total = int(response.headers.get("Content-Length") or 0) or None
    h = hashlib.md5(usedforsecurity=False)
    with response, atomic_write(path) as tmp, open(tmp, "wb") as out, \
            progress_bar(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
        for block in iter(lambda: response.read(1 << 20), b""):
            out.write(block)
            h.update(block)
            bar.update(len(block))
        out.flush()
        if h.hexdigest() != md5:
            raise ChecksumError(f"{url}: downloaded file has md5 {h.hexdigest()}, expected {md5} "
                                f"(corrupt or changed download; nothing was kept)")


def read_payload(files, source: Source, name: str, verify: bool) -> tuple[bytes, str]:
    """The bytes of payload ``name`` and where they came from, md5-checked if ``verify``
    (the digest is taken while the file is read, in chunks and capped in size).

    A payload published without an md5 is checked through the official archive's md5
    when it comes from the archive; from a folder its parser is the only check."""
    raw, md5, where = files.read(name)
    expected = source.md5[name]
    if verify and expected is None:
        published = dict(source.downloads).get(source.archive)
        if files.md5 is not None and published is not None and files.md5 != published:
            raise ChecksumError(f"{files.path}: md5 {files.md5}, expected {published} for the official "
                                f"{source.archive} ({name} has no published md5 of its own, so it is trusted "
                                f"only inside the official archive; fetch the archive again, or pass "
                                f"verify=False to check the format only)")
    elif verify and md5 != expected:
        raise ChecksumError(f"{where}: md5 {md5}, expected {expected} for the official "
                            f"{source.name} file (corrupt or not the official release; delete it "
                            f"and fetch it again, or pass verify=False to check the format only)")
    return raw, where
