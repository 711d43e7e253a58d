"""Refuse paths that are not regular files: opening a FIFO or a device would block or misread."""

from __future__ import annotations

import os
import stat

from engine.errors import InputError

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"))


def not_a_file(path: str | os.PathLike) -> str | None:
    """What `path` is when it exists and is not a regular file ("a FIFO", …), else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_file(path: str | os.PathLike, role: str = "a file") -> None:
    """Raise a one-line InputError when `path` exists but is not a regular file."""
    kind = not_a_file(path)
    if kind is not None:
        raise InputError(f"{path} is {kind}, not {role}")
