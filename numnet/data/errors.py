"""What goes wrong with data files: missing, corrupt, or not in the expected format."""

from __future__ import annotations

from numnet.errors import UserError

__all__ = ["DataNotFoundError", "DataFormatError", "ChecksumError", "DownloadError"]


class DataNotFoundError(UserError, FileNotFoundError):
    """The files of a data set are in none of the places searched (the message lists them)."""


class DataFormatError(UserError, ValueError):
    """A data file is truncated or does not have the layout of the official release."""


class ChecksumError(DataFormatError):
    """A data file's md5 differs from the one published with the official release."""


class DownloadError(UserError, OSError):
    """A download failed (no network, or the server refused)."""
