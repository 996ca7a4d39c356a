"""Reading the files a policy names, with a bound: never a FIFO, a device or a giant.

A policy from a pull request may name ``/dev/zero``, a FIFO or a symlink loop as its
schema or lead file, and a policy folder may hold such a ``*.funnel`` entry. Reading
one of those would hang or fill memory, so every such read goes through `read_bounded`:
only a regular file (symbolic links followed) of at most `MAX_FILE_BYTES` is read,
and anything else raises ``OSError`` with a message for a person. Nothing must run
before this module.
"""

from __future__ import annotations

import errno
import os
import stat

__all__ = ["MAX_FILE_BYTES", "read_bounded"]

#: The largest policy file, schema, `lines` list or example lead file that is read.
MAX_FILE_BYTES = 16 * 1024 * 1024


def read_bounded(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    Raises ``FileNotFoundError``, ``IsADirectoryError`` or another ``OSError`` whose
    ``strerror`` says what is wrong: not a regular file (a FIFO, a device, a socket),
    larger than the limit, a symbolic-link loop, no permission. The file is opened
    without blocking, so a FIFO with no writer cannot hang the read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except ValueError:  # a NUL character, or a lone surrogate the file system cannot encode
        raise OSError(errno.EINVAL, "not a usable file name (it holds a NUL character or "
                      "a lone surrogate)", os.fspath(path)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", os.fspath(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a device, FIFO or socket)",
                          os.fspath(path))
        too_big = OSError(errno.EFBIG, f"larger than {limit // (1024 * 1024)} MiB",
                          os.fspath(path))
        if info.st_size > limit:
            raise too_big
        chunks = []
        size = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # the file grew while being read
                raise too_big
        return b"".join(chunks)
    finally:
        os.close(fd)
