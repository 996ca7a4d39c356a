"""Writing output files in one step: a temporary file renamed into place.

Every `-o FILE` of the command line and every file `funnel fmt` rewrites goes through
`atomic_open`, so a full disk, a crash, Ctrl-C or SIGTERM half-way leaves the old file
as it was (or no file) and never a torn one: readers see the old bytes or all the new
bytes. Nothing must run before this module.

A target that exists and is not a regular file (``/dev/null``, ``/dev/stdout``, a FIFO)
is written in place, since renaming onto it would replace the device or pipe itself. A
symbolic link is followed, so the file it points at is replaced and the link kept.

The temporary folders a command works in (DuckDB's staging database, a Parquet writer's
rows, a report's facts, a git revision's checkout) come from `scratch_folder`, which
lists them until `drop_scratch` removes them, so that `discard_pending` (Ctrl-C, SIGTERM)
removes them too and no interrupted run leaves anything in the temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["atomic_open", "atomic_write", "discard_pending", "drop_scratch",
           "refuse_folder_path", "scratch", "scratch_folder"]

#: Temporary files being written now: removed by `discard_pending` when the process must
#: end at once (an interrupt whose clean unwinding does not finish in time).
_PENDING: set[str] = set()
#: Temporary folders in use (`scratch_folder`), removed by `discard_pending` as well.
_SCRATCH: set[str] = set()


def discard_pending() -> None:
    """Remove every temporary file still being written (their targets stay as they were)
    and every temporary folder still in use."""
    for tmp in list(_PENDING):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _PENDING.discard(tmp)
    for folder in list(_SCRATCH):
        drop_scratch(folder)


def _held() -> Any:
    """Block SIGINT and SIGTERM (a handler must not run between making a file and listing
    it); the mask to restore, or None where signals cannot be blocked."""
    block = getattr(signal, "pthread_sigmask", None)
    return block(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}) if block else None


def _release(held: Any) -> None:
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def scratch_folder(prefix: str) -> str:
    """A new temporary folder (``mkdtemp``), listed so that `discard_pending` removes it
    if the process must end at once; the owner removes it with `drop_scratch`."""
    import tempfile

    held = _held()
    try:
        folder = tempfile.mkdtemp(prefix=prefix)
        _SCRATCH.add(folder)
    finally:
        _release(held)
    return folder


def drop_scratch(folder: str) -> None:
    """Remove a folder made by `scratch_folder` with all it holds (errors ignored)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    _SCRATCH.discard(folder)


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[str]:
    """`scratch_folder` for the length of a ``with`` block."""
    folder = scratch_folder(prefix)
    try:
        yield folder
    finally:
        drop_scratch(folder)


def _make_pending(tempfile: Any, directory: str, prefix: str) -> tuple[int, str]:
    """``mkstemp``, the name in `_PENDING` before any signal handler can run: Ctrl-C's
    handler (cli.output) removes the pending files and exits at once, and it runs
    between any two bytecodes, so a signal just after the file was made and before it
    was listed left a torn temporary file (seen in a full test run under load)."""
    held = _held()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
        _PENDING.add(tmp)
    finally:
        _release(held)
    return fd, tmp


def refuse_folder_path(path: str | os.PathLike[str]) -> None:
    """Raise ``IsADirectoryError`` for a path that ends with a separator (``-o out/``):
    it names a folder, and ``realpath`` would drop the separator and write a file
    ``out`` (JSON Lines, even for ``-o x.parquet/``)."""
    text = os.fspath(path)
    if text.endswith(os.sep) or (os.altsep and text.endswith(os.altsep)):
        import errno

        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), text)


def _default_mode() -> int:
    # mkstemp creates files 0600; a new output file should get the usual 0666 & ~umask.
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], *, encoding: str = "utf-8",
                newline: str | None = "", binary: bool = False) -> Iterator[IO[Any]]:
    """A text file to write that replaces ``path`` only when the block ends normally.

    An exception in the block (``KeyboardInterrupt`` included) removes the temporary
    file and leaves ``path`` untouched. The new file keeps the old one's permission
    bits (a new one gets 0666 less the umask). Raises ``OSError`` when the directory
    cannot take the file. With ``binary`` the file takes bytes; the caller may
    ``detach`` a text wrapper from it but must not close it.
    """
    text_args: dict[str, Any] = {} if binary else {"encoding": encoding, "newline": newline}
    mode = "wb" if binary else "w"
    refuse_folder_path(path)
    target = os.path.realpath(os.fspath(path))
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        with open(target, mode, **text_args) as f:
            yield f
        return
    bits = stat.S_IMODE(info.st_mode) if info is not None else _default_mode()
    directory, name = os.path.split(target)
    import tempfile  # only -o needs it (it imports shutil, bz2, lzma: start-up)

    fd, tmp = _make_pending(tempfile, directory or ".", f".{name}.")
    try:
        with os.fdopen(fd, mode, **text_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, bits)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _PENDING.discard(tmp)


def atomic_write(path: str | os.PathLike[str], text: str, *, newline: str | None = "") -> None:
    """Replace the file at ``path`` with ``text`` (UTF-8) in one step; see `atomic_open`."""
    with atomic_open(path, newline=newline) as f:
        f.write(text)
