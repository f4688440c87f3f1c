"""The errors numnet raises for bad input: one family, so the command line can tell a
user's mistake (one line, exit status 2) from a bug (a traceback).

Each class keeps the builtin base a caller would expect (``ValueError`` for a bad value,
``TypeError`` for a wrong type, ``FileNotFoundError`` for missing files), so
``except ValueError`` goes on working, and adds :class:`UserError`.

>>> try:
...     raise ConfigError("epochs must be a positive int, got 0")
... except ValueError as e:
...     isinstance(e, UserError), str(e)
(True, 'epochs must be a positive int, got 0')
"""

from __future__ import annotations

__all__ = ["UserError", "ConfigError", "ConfigTypeError"]


class UserError(Exception):
    """Bad input from the user: the message names the value, where it came from and what
    is valid. The command line prints it as one line (no traceback unless ``--debug``)."""


class ConfigError(UserError, ValueError):
    """A value outside what is valid (a count below 1, a fraction outside (0, 1), ...)."""


class ConfigTypeError(UserError, TypeError):
    """A value of the wrong type (a string where a number belongs, ...)."""
