"""Reading a user's file, bounded before and while reading.

Only regular files are read: a FIFO would block forever, ``/dev/zero`` never ends,
a directory is not a file. The size is checked before reading (``stat``) and again
while reading (a file may grow, and some special files report size 0), so no read
ever takes more than the limit plus one chunk.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import CnnCalcError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def regular_file(path: str | Path, what: str, hint: str = "check the path") -> os.stat_result:
    """``stat`` of ``path``, or a one-line error when it is missing or not a regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CnnCalcError(f"no such file: {what}", None, hint) from None
    except OSError as e:
        raise CnnCalcError(f"cannot read {what}: {e.strerror}", None) from None
    if not stat.S_ISREG(st.st_mode):
        raise CnnCalcError(f"{what} is {kind_of(st.st_mode)}, not a regular file", None,
                           "name a file" if stat.S_ISDIR(st.st_mode) else "cnncalc reads files, not streams or devices")  # fmt: skip
    return st


def too_large(size: int, limit: int) -> str:
    """``file is 6.3 MB, larger than the 4 MiB limit``."""
    shown = f"{size / 1e6:.1f} MB" if size < 10**12 else f"more than {limit // 2**20} MiB"
    return f"file is {shown}, larger than the {limit // 2**20} MiB limit"


def read_bounded(path: str | Path, what: str, limit: int, hint: str = "check the path") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is a one-line error.

    The error for a file that is too large is raised as :class:`FileTooLarge` (it carries the size),
    so that callers can locate it.
    """
    st = regular_file(path, what, hint)
    if st.st_size > limit:
        raise FileTooLarge(st.st_size, limit)
    chunks, total = [], 0
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise FileTooLarge(total, limit)
    except OSError as e:
        raise CnnCalcError(f"cannot read {what}: {e.strerror}", None) from None
    return b"".join(chunks)


class FileTooLarge(CnnCalcError):
    """A file over the size limit (``size`` is what was seen: at least the limit plus one byte)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(too_large(size, limit))
        self.size = size
        self.limit = limit


def line_col(raw: bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of byte ``offset`` of ``raw``."""
    start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, len(raw[start:offset].decode("utf-8", "replace")) + 1
