"""Errors the command line turns into a one-line message and an exit status."""


class EmbtuiError(Exception):
    """Base class; `exit_code` is what the command line exits with."""

    exit_code = 2


class InputError(EmbtuiError):
    """Bad input or usage: a missing file, an unknown column, NaN vectors, …"""

    exit_code = 2


class NoMatch(EmbtuiError):
    """A query matched nothing."""

    exit_code = 1
