"""Where an output file may be written: a regular file (or none yet), through any symlink.

Outputs are written under a temporary name and renamed over the target, which would turn a
device or a FIFO into a plain file and a symlink into a copy; so a symlink is followed to the
file it names (the link stays), and anything but a regular file is refused.
"""

from __future__ import annotations

import os
import stat

from engine.errors import InputError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def output_path(out: str | os.PathLike) -> str:
    """The file to write for the output `out`: ~ expanded, symlinks followed; refuses a
    target that exists and is not a regular file, or whose directory does not exist."""
    given = os.path.expanduser(str(out))
    real = os.path.realpath(given)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(f"{given} is {kind_of(mode)}, not a regular file")
    parent = os.path.dirname(real)
    if not os.path.isdir(parent):
        raise InputError(f"{os.path.dirname(os.path.abspath(given))}: no such directory")
    return real


def temp_beside(path: str, tag: str) -> str:
    """A new, empty file next to `path` (same directory, so a rename replaces it atomically),
    created exclusively: an existing file or link of that name is never written through."""
    base = f"{path}.{tag}"
    for n in range(1000):
        name = base if n == 0 else f"{base}.{n}"
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return name
    raise InputError(f"{os.path.dirname(path)}: cannot create a temporary file beside {path}")


def check_file(path: str | os.PathLike, role: str = "a file") -> None:
    """Refuse, in one line, an input or dataset that exists but is not a regular file: opening
    a FIFO or a device would block or misread."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise InputError(f"{path} is {kind_of(mode)}, not {role}")
