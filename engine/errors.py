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


class OutputError(EmbtuiError):
    """An output could not be written: disk full, no permission, a device that refuses."""

    exit_code = 2

    def __init__(self, path: str, cause: BaseException | str):
        self.path = path
        self.cause = describe(cause)
        super().__init__(f"cannot write {path}: {self.cause}")


def describe(cause: BaseException | str) -> str:
    """An OSError as its reason alone ("no space left on device"), else its first line."""
    if isinstance(cause, OSError) and cause.strerror:
        text = cause.strerror
    else:
        text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return text[:1].lower() + text[1:]
