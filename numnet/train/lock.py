"""One writer per run directory: an ``fcntl`` lock held for the run's whole life.

:func:`run_lock` is what :func:`numnet.train.train` enters before it reads or writes
anything in ``out``, so the Python API, ``numnet train`` and the study all share it. A
second process aiming at the same directory gets :class:`RunLocked` at once, naming the
directory and the holder's pid, instead of interleaving its epochs into the first one's
``metrics.jsonl``. The lock is the kernel's (``flock``): it dies with the process that
held it, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

__all__ = ["LOCK", "RunLocked", "run_lock", "clean_temporaries"]

LOCK = ".lock"


class RunLocked(RuntimeError):
    """Another process is training into this run directory."""

    def __init__(self, directory: Path, pid: int | None):
        self.directory, self.pid = Path(directory), pid
        holder = f"pid {pid}" if pid is not None else "a process whose pid could not be read"
        super().__init__(f"{directory} is in use by another training process ({holder}); "
                         f"wait for it to finish or choose another out directory")


@contextlib.contextmanager
def run_lock(directory: str | os.PathLike) -> Iterator[Path]:
    """Hold the exclusive lock of ``directory`` (created if absent) while the block runs.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with run_lock(d):
    ...     with run_lock(d):  # a second holder, even in the same process, is refused
    ...         pass
    Traceback (most recent call last):
    ...
    numnet.train.lock.RunLocked: ... is in use by another training process (pid ...); ...
    >>> with run_lock(d):  # released on exit
    ...     (d / LOCK).read_text() == str(os.getpid())
    True
    """
    import fcntl

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLocked(directory, _holder(path)) from None
        try:  # the holder before us may have removed the file between our open and our lock
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield path
    finally:
        path.unlink(missing_ok=True)  # while still locked: nobody can hold this file any more
        os.close(fd)


def _holder(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def clean_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed writer left in ``directory``
    (:func:`numnet.fileio.atomic_write` writes ``.<name>.<random>.tmp`` beside its
    target); call it only while holding :func:`run_lock`. Returns the files removed."""
    removed = sorted(Path(directory).glob(".*.tmp"))
    for p in removed:
        p.unlink(missing_ok=True)
    return removed
