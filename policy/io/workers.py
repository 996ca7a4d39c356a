"""``--jobs`` on Linux: forked workers fed and drained through shared memory, not pipes.

With ``multiprocessing.Pool`` every unit's bytes crossed two pipes: a megabyte of leads
pickled and pushed through a 64 KiB pipe to a worker, a megabyte and a half of decisions
pickled back, unpickled and copied again by the main process, with the pool's two
threads handing each result over under the GIL. On 2 cores that main process is the
third process competing for them, so its share is the speed-up's limit (bench/README.md,
issue 13). Here:

- each of ``2 × jobs`` *slots* is a pair of memory files (``memfd_create``), made before
  the workers fork, so every process shares them: the main process writes a unit's bytes
  into a slot's input file (one copy), the worker reads them (one copy), decides, and
  writes its rendered output into the slot's output file;
- a block of a regular file skips the input file: the worker reads it from the leads
  file itself, at the offset the block came with (:attr:`JsonlBlock.offset`);
- with an ``output`` (a descriptor), the worker writes its unit's output there itself
  when its turn has come (:meth:`ForkedWorkers._place`), and the output file is skipped
  too; a unit finished before its turn waits there for the main process;
- the pipes carry only fixed-size messages (a slot's number and a few counts: far under
  ``PIPE_BUF``, so each write is atomic and one shared pipe serves every worker each way);
- the main process sends a slot's output to an output file with ``sendfile`` (a copy
  inside the kernel); to a pipe, or a stream without a descriptor, by a plain read and
  write (see :meth:`FileRange.send_to` for why not ``sendfile`` into a pipe).

No threads: the main process alone reads units, hands them out (any free worker takes the
next), and writes results in input order. A slot is reused only once its output is
written, so at most ``2 × jobs`` units are in flight. A worker that dies makes the run
fail with a message instead of waiting forever (its end is watched with its sentinel);
an exception in a worker is raised again in the main process.
"""

from __future__ import annotations

import errno
import os
import pickle
import select
import stat
import struct
from collections.abc import Callable, Iterator
from typing import Any

from policy.io.jsonl_blocks import JsonlBlock, ReadFailed

__all__ = ["FileRange", "ForkedWorkers", "available", "keep_heap", "worker_signals"]

# A task: slot, kind, input bytes, first line, and the descriptor and offset of the
# regular file to read the block from (-1: it is in the slot). A result: slot, status,
# payload bytes, records, refusals, bytes of the pickled extras that follow the payload.
_TASK = struct.Struct("<iiqqiqq")  # ... and the unit's index in the input
_RESULT = struct.Struct("<iiqqqq")
_BLOCK, _FIRST_BLOCK, _TOO_LONG, _PICKLED = range(4)
_RAW, _PICKLED_PAYLOAD, _FAILED, _PLACED = range(4)
#: The turn of :class:`ForkedWorkers` with an output (in memory all processes share):
#: the index of the next unit to be written, and the records written before it.
_TURN = struct.Struct("<qq")


def available() -> bool:
    """Whether this platform can run :class:`ForkedWorkers` (Linux: fork, memfd)."""
    import sys

    return sys.platform.startswith("linux") and hasattr(os, "memfd_create") \
        and hasattr(os, "sendfile")


class FileRange:
    """The first ``length`` bytes of the file open at ``fd``: UTF-8 output a worker
    rendered, for :meth:`policy.io.writers.Writer.write` to copy to its output."""

    __slots__ = ("fd", "length")

    def __init__(self, fd: int, length: int) -> None:
        self.fd = fd
        self.length = length

    def read(self) -> bytes:
        return _pread(self.fd, self.length)

    def send_to(self, out_fd: int) -> bool:
        """Copy the bytes to the regular file ``out_fd`` in the kernel; False (nothing
        written) for any other descriptor. Not into a pipe: ``sendfile`` to a pipe is a
        splice, which puts references to the memory file's pages in the pipe, not copies,
        and the worker rewrites those pages with its next unit before the reader at the
        other end has read them."""
        if not stat.S_ISREG(os.fstat(out_fd).st_mode):
            return False
        sent = 0
        while sent < self.length:
            try:
                n = os.sendfile(out_fd, self.fd, sent, self.length - sent)
            except OSError as exc:
                if sent == 0 and exc.errno in (errno.EINVAL, errno.ENOSYS, errno.EBADF,
                                               errno.EOPNOTSUPP, errno.ESPIPE):
                    return False
                raise
            if n == 0:  # pragma: no cover - the slot is never shorter than its length
                raise OSError(errno.EIO, "short output slot")
            sent += n
        return True


def worker_signals() -> None:
    """What every worker process of ``--jobs`` does first (these and the pool's)."""
    import signal

    # Ctrl-C goes to the whole process group; the main process alone decides what
    # happens (it terminates the workers), so a worker never dies half-way on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the command's SIGTERM handler (which unwinds the main
    # process to exit 130); a worker must simply end when the pool terminates it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()


def _die_with_parent() -> None:
    """End this worker when the main process ends, however it ends: an interrupted
    command exits at once (cli.output), and an orphaned worker would hold its pipes
    open and wait for tasks forever. Linux only (prctl); elsewhere the pool's own
    shutdown stops the workers."""
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent or parent == 1:  # the parent ended before prctl took hold
        os._exit(0)



#: glibc's ``mallopt`` parameters (malloc.h) and the values :func:`keep_heap` sets: a
#: unit's buffers (a megabyte of leads, a megabyte and a half of output) come from the
#: heap, and up to ``_TRIM`` bytes freed at its top stay there for the next unit.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP, _TRIM = 16 << 20, 64 << 20
#: glibc's defaults, put back in the main process when its workers are done
_DEFAULT_MMAP, _DEFAULT_TRIM = 128 << 10, 128 << 10


def keep_heap(keep: bool = True) -> bool:
    """Keep freed megabytes in this process's heap for the next unit (glibc only; False
    elsewhere, where nothing changes).

    Every unit allocates a megabyte or two and frees it. With glibc's own thresholds,
    which move with the sizes freed, those buffers were often ``mmap``-ed and unmapped,
    or the heap's top given back to the system, and taken again for the next unit: a
    worker of ``--jobs 2`` faulted in about 640 fresh pages (2.5 MiB, zeroed by the
    kernel) per unit, 58,000 for 300,000 leads, and spent about 4% of its CPU on them;
    the main process 180 per unit (bench/README.md, sixth session). ``keep=False``
    puts glibc's default thresholds back (its moving thresholds stay off) and returns
    the kept memory to the system."""
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        if not hasattr(libc, "gnu_get_libc_version"):  # musl's mallopt does nothing
            return False
    except (OSError, AttributeError):
        return False
    mmap, trim = (_MMAP, _TRIM) if keep else (_DEFAULT_MMAP, _DEFAULT_TRIM)
    done = bool(mallopt(_M_MMAP_THRESHOLD, mmap)) and bool(mallopt(_M_TRIM_THRESHOLD, trim))
    if not keep:
        libc.malloc_trim(0)
    return done


def _pread(fd: int, length: int) -> bytes:
    data = os.pread(fd, length, 0)
    if len(data) == length:
        return data
    parts = [data]  # pragma: no cover - a memory file gives all it has at once
    got = len(data)
    while got < length:
        more = os.pread(fd, length - got, got)
        if not more:
            raise OSError(errno.EIO, "short input slot")
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _read_block(fd: int, length: int, offset: int) -> bytes:
    """A block's bytes from the leads file, where the main process read them (the
    same bytes, unless the file was changed meanwhile: cut short, that is an error)."""
    data = os.pread(fd, length, offset)
    while len(data) < length:
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            raise ReadFailed("the file was cut short while it was read")
        data += more
    return data


def _pwrite(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_messages(fd: int, size: int, most: int) -> list[bytes]:
    """Whole messages from a pipe: every write to it is one ``size``-byte message
    (atomic, being under PIPE_BUF), so a read of a multiple of ``size`` gives whole ones."""
    data = os.read(fd, size * most)
    return [data[i:i + size] for i in range(0, len(data), size)]


class ForkedWorkers:
    """``jobs`` forked processes running ``work(unit)`` on the units of :meth:`ordered`.

    ``work`` returns ``(payload, records, refusals, extras)``: the payload as UTF-8
    bytes (sent on without being decoded) or any picklable value, ``extras`` anything
    picklable. Each worker ignores SIGINT and ends with the main process
    (:func:`worker_signals`), then runs ``setup``. Use as a context manager: leaving it
    by an exception (Ctrl-C included) terminates every worker.
    """

    def __init__(self, jobs: int, work: Callable[[Any], tuple[Any, int, int, Any]],
                 setup: Callable[[], None] | None = None,
                 output: tuple[int, Callable[[int], bytes]] | None = None) -> None:
        import multiprocessing

        self.slots = [(os.memfd_create("funnel-in"), os.memfd_create("funnel-out"))
                      for _ in range(2 * jobs)]
        self._tasks_r, self._tasks = os.pipe()
        self._results, self._results_w = os.pipe()
        #: ``(descriptor, separator)``: each worker writes its unit's payload to the
        #: descriptor itself, when its turn has come (see :meth:`_place`)
        self._output = output
        if output is not None:
            import fcntl
            import mmap

            self._lockf = fcntl.lockf
            self._locked, self._unlocked = fcntl.LOCK_EX, fcntl.LOCK_UN
            self._turn = mmap.mmap(-1, _TURN.size)  # shared with the forked workers
            self._turn_lock = os.memfd_create("funnel-turn")  # lockf: one at a time
        # Set before the workers fork, so that they start with it; undone by __exit__.
        self._kept = keep_heap()
        context = multiprocessing.get_context("fork")
        self.procs = [context.Process(target=self._serve, args=(work, setup, self._tasks_r,
                                                                self._results_w), daemon=True)
                      for _ in range(jobs)]
        #: the workers not started yet: :meth:`ordered` starts each one right after it
        #: has sent a unit (see :meth:`_start_one`)
        self._unstarted = list(self.procs)
        self._sentinels: dict[int, Any] = {}

    def _start_one(self) -> None:
        """Fork the next worker. Each is forked after a unit is waiting for it, not all
        before the first unit is sent: the first worker decides while the main process
        forks the second (a fork of a process holding a loaded policy takes
        milliseconds, and every one of them before the first unit is decided is time
        that neither core spends deciding: bench/README.md, sixth session)."""
        proc = self._unstarted.pop(0)
        try:
            proc.start()
        finally:
            if not self._unstarted:
                self._started_all()
        self._sentinels[proc.sentinel] = proc

    def _started_all(self) -> None:
        """No more forks: the main process closes its copies of the workers' pipe ends
        (else the end of the tasks and of the results would never be seen)."""
        self._unstarted.clear()
        for fd in (self._tasks_r, self._results_w):
            if fd >= 0:
                os.close(fd)
        self._tasks_r = self._results_w = -1

    # ------------------------------------------------------------------ in a worker

    def _serve(self, work: Callable[[Any], tuple[Any, int, int, Any]],
               setup: Callable[[], None] | None, tasks: int, results: int) -> None:
        os.close(self._tasks)  # else the end of the tasks would never be seen
        os.close(self._results)
        worker_signals()  # (the heap settings of keep_heap are inherited)
        if setup is not None:
            setup()
        while True:
            message = os.read(tasks, _TASK.size)
            if not message:
                return
            os.write(results, self._decide(work, *_TASK.unpack(message)))

    def _decide(self, work: Callable[[Any], tuple[Any, int, int, Any]], slot: int,
                kind: int, length: int, line: int, fd: int = -1, offset: int = -1,
                index: int = 0) -> bytes:
        source, target = self.slots[slot]
        try:
            data = _pread(source, length) if offset < 0 else _read_block(fd, length, offset)
            unit = pickle.loads(data) if kind == _PICKLED else JsonlBlock(
                data, line, kind == _FIRST_BLOCK, too_long=kind == _TOO_LONG)
            payload, count, refused, extras = work(unit)
            status = _RAW
            if type(payload) is not bytes:
                payload, status = pickle.dumps(payload, pickle.HIGHEST_PROTOCOL), \
                    _PICKLED_PAYLOAD
            elif self._output is not None and self._place(index, payload, count):
                payload, status = b"", _PLACED
            tail = pickle.dumps(extras, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - raised again in the main process
            payload, count, refused, status = b"", 0, 0, _FAILED
            try:
                tail = pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                tail = pickle.dumps(RuntimeError(repr(exc)))
        _pwrite(target, payload, 0)
        _pwrite(target, tail, len(payload))
        return _RESULT.pack(slot, status, len(payload), count, refused, len(tail))

    def _place(self, index: int, payload: bytes, count: int) -> bool:
        """Write the payload of unit ``index`` to the output if its turn has come (every
        unit before it written), and pass the turn on; False, nothing written, if not.

        The worker that rendered a unit writes it (its bytes still in its caches, no
        copy into a memory file, and none by the main process, which on 2 cores was
        the third process competing for them: bench/README.md, seventh session). A
        unit finished before its turn waits in its memory file, and the main process
        writes it when it gets there (:meth:`ordered`). The turn is taken under a lock
        (``lockf``: released by the kernel if its holder dies), and the writes go
        through the descriptor all the processes share, whose offset the kernel keeps."""
        fd, separator = self._output  # type: ignore[misc]
        self._lockf(self._turn_lock, self._locked)
        try:
            turn, before = _TURN.unpack_from(self._turn)
            if turn != index:
                return False
            if count:
                _write_all(fd, separator(before))
                _write_all(fd, payload)
            _TURN.pack_into(self._turn, 0, index + 1, before + count)
            return True
        finally:
            self._lockf(self._turn_lock, self._unlocked)

    def _pass_turn(self, index: int, count: int) -> None:
        """The main process has written unit ``index`` itself: the next one's turn."""
        self._lockf(self._turn_lock, self._locked)
        try:
            turn, before = _TURN.unpack_from(self._turn)
            if turn != index:  # pragma: no cover - every unit before it was written
                raise AssertionError(f"unit {index} written out of turn ({turn})")
            _TURN.pack_into(self._turn, 0, index + 1, before + count)
        finally:
            self._lockf(self._turn_lock, self._unlocked)

    # ------------------------------------------------------------ in the main process

    def ordered(self, units: Iterator[Any]
                ) -> Iterator[tuple[Any, Any, int, int, Any]]:
        """``(unit size, payload, records, refusals, extras)`` of each unit, in input
        order. A raw payload is a :class:`FileRange`, valid until the next result is
        asked for. With an ``output``, a payload of None is one its worker wrote to it
        already; any other must be written by the caller before it asks for the next."""
        free = list(range(len(self.slots)))
        size: dict[int, int] = {}  # unit index → its size (for progress)
        ready: dict[int, tuple[int, int, int, int, int, int]] = {}  # unit index → result
        of_slot: dict[int, int] = {}  # slot → the unit index in it
        sent = written = 0
        units = iter(units)
        more = True
        while more or written < sent:
            while more and free:
                unit = next(units, None)
                if unit is None:
                    more = False
                    # fewer units than workers: the rest are not needed
                    self._started_all()
                    break
                slot = free.pop()
                self._send(slot, unit, sent)
                of_slot[slot], size[sent] = sent, unit.size
                sent += 1
                if self._unstarted:
                    self._start_one()
            while written not in ready and written < sent:
                for message in self._wait():
                    result = _RESULT.unpack(message)
                    ready[of_slot.pop(result[0])] = result
            while written in ready:
                slot, status, length, count, refused, tail = ready.pop(written)
                target = self.slots[slot][1]
                extras = pickle.loads(os.pread(target, tail, length))
                if status == _FAILED:
                    raise extras
                payload = None if status == _PLACED else FileRange(target, length) \
                    if status == _RAW else pickle.loads(_pread(target, length))
                yield size.pop(written), payload, count, refused, extras
                if payload is not None and self._output is not None:
                    self._pass_turn(written, count)  # the caller has written it
                free.append(slot)
                written += 1

    def _send(self, slot: int, unit: Any, index: int) -> None:
        fd = offset = -1
        if type(unit) is JsonlBlock:
            data, line = unit.data, unit.line
            kind = _TOO_LONG if unit.too_long else _FIRST_BLOCK if unit.first else _BLOCK
            if unit.offset >= 0 and data:
                # in a regular file: the worker reads it there (no copy made here)
                fd, offset = unit.fd, unit.offset
        else:
            data, line, kind = pickle.dumps(unit, pickle.HIGHEST_PROTOCOL), 0, _PICKLED
        if offset < 0:
            _pwrite(self.slots[slot][0], data, 0)
        try:
            os.write(self._tasks, _TASK.pack(slot, kind, len(data), line, fd, offset, index))
        except BrokenPipeError:  # every worker has ended already (not a closed stdout)
            self._ended([])

    def _wait(self) -> list[bytes]:
        """The results ready now (waiting for one); a worker's death is an error."""
        ready, _, _ = select.select([self._results, *self._sentinels], [], [])
        if self._results in ready:
            messages = _read_messages(self._results, _RESULT.size, len(self.slots))
            if messages:
                return messages
            # the end of the results: every worker has closed its end, so all are gone
            # (checked before their sentinels, it would otherwise be read forever)
        self._ended([self._sentinels[fd] for fd in ready if fd in self._sentinels])
        raise AssertionError("unreachable")  # pragma: no cover - _ended raises

    def _ended(self, ended: list[Any]) -> None:
        """Raise the error of a worker that ended (one of ``ended``, or any that did)."""
        started = list(self._sentinels.values())
        proc = ended[0] if ended else next(
            (p for p in started if not p.is_alive()), started[0])
        proc.join()
        raise RuntimeError(f"a worker process ended unexpectedly (exit code {proc.exitcode})")

    # ------------------------------------------------------------------ lifetime

    def __enter__(self) -> ForkedWorkers:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self._started_all()
        started = list(self._sentinels.values())
        try:
            os.close(self._tasks)  # the end of the tasks: idle workers return
            for proc in started:
                if kind is not None:
                    proc.terminate()  # an error or Ctrl-C: stop whatever they decide
                proc.join()
        finally:
            for proc in started:
                if proc.is_alive():  # pragma: no cover - join above waited for it
                    proc.kill()
                    proc.join()
            os.close(self._results)
            if self._output is not None:
                os.close(self._turn_lock)
                self._turn.close()
            for source, target in self.slots:
                os.close(source)
                os.close(target)
            if self._kept:
                keep_heap(False)
