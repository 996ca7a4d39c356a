"""Where command output goes: standard output or an `-o` file, safely.

Every sub-command writes its report through `emit` (or `stdout_write` for streams), so
that all of them behave alike when the output cannot take it:

- standard output that fails (a full disk, ``> /dev/full``, a closed descriptor): one
  line ``funnel: standard output: cannot write: …`` and exit 2, never a traceback;
- a reader that goes away (``funnel check | head``): the rest of the output is dropped
  quietly and the command ends with the status it would have had;
- ``-o FILE``: written atomically (:mod:`policy.io.atomic`), so an error or an
  interruption leaves the previous file as it was;
- text is UTF-8 whatever the terminal's locale says, and a lone surrogate that slipped
  through becomes U+FFFD rather than an encoding error.

Interrupts (Ctrl-C, SIGTERM) are handled once for all commands by `interruptible`, and
a full disk under the working files (`disk_full`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, NoReturn

import click

from policy import atomic_open, discard_pending, no_surrogates
from policy import terminal_text as terminal

USAGE = 2
#: The shell's status for a command ended by SIGINT (128 + 2); SIGTERM ends the same way.
INTERRUPTED = 130

_pipe_closed = False


def _dash_is_stdout(ctx: click.Context, param: click.Parameter, value: str | None
                    ) -> str | None:
    """``-o -``: standard output, as ``-`` is standard input for a command's input; it
    wrote a file named ``-`` in every command."""
    return None if value == "-" else value


def output_option(what: str = "", **extra: Any) -> Callable:
    """The ``-o/--output FILE`` option every command that prints has (``-`` is standard
    output); ``what`` names what is written ("the report")."""
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False, **extra), default=None,
        callback=_dash_is_stdout, metavar="FILE",
        help=f"Write {what + ' ' if what else ''}to FILE instead of standard output "
             "(`-`: standard output).")


def _fail(where: str, exc: OSError) -> NoReturn:
    click.echo(terminal(f"funnel: {where}: cannot write: {exc.strerror or exc}"), err=True)
    sys.exit(USAGE)


def silence_stdout() -> None:
    """The reader went away: point standard output at /dev/null so later writes, and
    the interpreter's flush at exit, do not fail (Python's docs advise this)."""
    global _pipe_closed
    _pipe_closed = True
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def pipe_closed() -> bool:
    """Whether the reader of standard output has gone away (a long run may stop)."""
    return _pipe_closed


def stdout_write(text: str) -> None:
    """Write ``text`` to standard output as UTF-8; exit 2 with one line when it fails."""
    if _pipe_closed:
        return
    data = no_surrogates(text).encode("utf-8")
    try:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a stream without bytes underneath (an IDE's console)
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
            return
        buffer.write(data)
        buffer.flush()
    except BrokenPipeError:
        silence_stdout()
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            silence_stdout()
            return
        _fail("standard output", exc)


def emit(text: str, output: str | None = None) -> None:
    """Write a whole report: to ``output`` atomically, else to standard output.

    A final line feed is added when missing.
    """
    if text and not text.endswith("\n"):
        text += "\n"
    if output:
        try:
            with atomic_open(output) as f:
                f.write(no_surrogates(text))
        except OSError as exc:
            _fail(output, exc)
    else:
        stdout_write(text)


@contextlib.contextmanager
def output_file(output: str) -> Iterator[IO[str]]:
    """A streaming ``-o`` file written atomically; exit 2 with one line on an error."""
    try:
        with atomic_open(output) as f:
            yield f
    except OSError as exc:
        _fail(output, exc)


#: The process that installed the handlers (a forked worker inherits them).
_owner = 0


def _say_interrupted() -> None:
    with contextlib.suppress(OSError, ValueError):
        click.echo("funnel: interrupted", err=True)


def _on_signal(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: end now, cleanly.

    Raising ``KeyboardInterrupt`` here would unwind through whatever the main thread
    was doing, and Python swallows it in places (an at-fork hook of a worker pool,
    a ``__del__``), printing a traceback and running on. So nothing is raised: the
    temporary files of the atomic writers are removed (every target keeps its old
    bytes), worker processes are ended, one line is printed and the process exits
    130 at once. Output that was already complete has been renamed into place.
    """
    if os.getpid() != _owner:
        # a worker forked before it could set its own handlers: end silently (the
        # main process reports the interrupt)
        os._exit(128 + signum)
    if "multiprocessing" in sys.modules:
        import multiprocessing

        with contextlib.suppress(Exception):
            for child in multiprocessing.active_children():
                child.terminate()
    with contextlib.suppress(Exception):
        _end_children()
    discard_pending()
    _say_interrupted()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(INTERRUPTED)


def _end_children() -> None:
    """SIGTERM to every descendant process (Linux: found in ``/proc``; elsewhere none).

    The Spark engine's JVM ignores SIGINT (PySpark starts it so) and ends only when it
    reads the end of its standard input, which it does only once its start has finished:
    a Ctrl-C during the seconds Spark takes to start left the JVM running for good, with
    its folders in the temporary folder. SIGTERM ends it, and its shutdown hooks remove
    those folders. Spark starts through shell scripts (``spark-submit``, ``spark-class``,
    whose launcher is a JVM of its own), so the JVM may still be a grandchild: every
    descendant is ended, not only the children. And the start runs in a thread that
    may fork the scripts while this runs: with PySpark loaded, a second look catches a
    process forked after the first."""
    _term_descendants()
    if "pyspark" in sys.modules:
        time.sleep(0.2)
        _term_descendants()


def _term_descendants() -> None:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            # the parent's id is the second field after the ")" that ends the name
            parents[int(name)] = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    mine = {os.getpid()}
    grew = True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in mine} - mine
        grew = bool(found)
        mine |= found
    mine.discard(os.getpid())
    for pid in sorted(mine):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C or SIGTERM: leave no torn file, say so in one line, exit 130
    (`_on_signal`). A ``KeyboardInterrupt`` raised some other way ends the same way."""
    global _owner
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        _owner = os.getpid()
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _on_signal)
    try:
        yield
    except KeyboardInterrupt:
        _say_interrupted()
        sys.exit(INTERRUPTED)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: What a full disk, a full quota or a file-size limit says.
_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_DUCKDB_WRITE = re.compile(r'Could not write file "(?P<file>[^"]*)": (?P<why>[^"\n]+)')


def _full_disk(exc: BaseException) -> tuple[str | None, str] | None:
    """``(file or None, reason)`` when ``exc`` is a write that failed for want of room:
    an OSError with ENOSPC, EFBIG or EDQUOT, or DuckDB's error for one."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return exc.filename, exc.strerror or os.strerror(exc.errno)
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, duckdb.Error):
        found = _DUCKDB_WRITE.search(str(exc))
        if found is not None:
            return found.group("file"), found.group("why").strip()
    return None


@contextlib.contextmanager
def disk_full() -> Iterator[None]:
    """A write that fails for want of room outside the output itself (the working files
    in the temporary folder: DuckDB's staging database, the report's facts, a Parquet
    writer's rows), which no command catches where it writes: one line, exit 2, instead
    of a traceback (the output, written atomically, stays as it was). The output and
    standard output say so in their own words (`emit`, `stdout_write`)."""
    try:
        yield
    except Exception as exc:
        found = _full_disk(exc)
        if found is None:
            raise
        import tempfile

        name, why = found
        folder = tempfile.gettempdir()
        if name is None or os.path.abspath(name).startswith(os.path.join(folder, "")):
            click.echo(terminal(f"funnel: cannot write a working file in {folder}: {why}; "
                                "free space there, or set TMPDIR to a folder with room"),
                       err=True)
        else:
            click.echo(terminal(f"funnel: {name}: cannot write: {why}"), err=True)
        sys.exit(USAGE)


class _ClosedStream(io.BufferedIOBase):
    """Standard input or output that was closed when the command started (``>&-``,
    ``<&-``): Python leaves ``sys.stdout``/``sys.stdin`` None then, and every command
    that wrote or read it ended in an AttributeError traceback. Reading or writing this
    raises EBADF instead, which the commands already turn into their one line
    (``funnel: standard output: cannot write: Bad file descriptor``, exit 2)."""

    def __init__(self, readable: bool) -> None:
        super().__init__()
        self._readable = readable

    def readable(self) -> bool:
        return self._readable

    def writable(self) -> bool:
        return not self._readable

    def _closed(self, *args: object) -> Any:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    read = read1 = readinto = write = _closed


def closed_streams() -> None:
    """Stand :class:`_ClosedStream` in for a standard stream that is closed."""
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(_ClosedStream(False), encoding="utf-8",
                                      write_through=True)
    if sys.stdin is None:
        sys.stdin = io.TextIOWrapper(_ClosedStream(True), encoding="utf-8")
