"""`--jobs` on Linux (policy.io.workers): units and output through shared memory files.

The bytes must be those of ``--jobs 1`` whichever way the output leaves the main
process (``sendfile`` to a file or a pipe, a plain write to a stream without a
descriptor); a worker that fails or dies must end the run with an error, never a hang.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import policy
from policy.io import batch, workers
from policy.io.jsonl_blocks import jsonl_blocks
from policy.io.writers import make_writer, open_output_stream

pytestmark = pytest.mark.skipif(not workers.available(), reason="Linux only (fork, memfd)")

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
LEADS = RULES / "leads.jsonl"
AT = "2026-12-01T16:00:00Z"
AT_US = 1_796_140_800_000_000


@pytest.fixture(scope="module")
def halyard() -> policy.Policy:
    return policy.load(RULES)


def _blocks() -> list:
    return list(jsonl_blocks(io.BytesIO(LEADS.read_bytes()), 16 * 1024))


def _double(unit):
    text = b"".join(b"%d:%d\n" % (unit.line, len(line)) for line in unit.data.splitlines())
    return text, unit.data.count(b"\n"), 0, ("extra", unit.line)


def test_results_come_back_in_input_order_with_their_extras():
    units = _blocks()
    with workers.ForkedWorkers(3, _double) as pool:
        got = [(size, payload.read(), count, extras)
               for size, payload, count, _, extras in pool.ordered(iter(units))]
    assert [g[0] for g in got] == [u.size for u in units]
    assert [g[1] for g in got] == [_double(u)[0] for u in units]
    assert [g[3] for g in got] == [("extra", u.line) for u in units]
    assert sum(g[2] for g in got) == 1000
    assert multiprocessing.active_children() == []


def _faults_of_a_unit(unit):
    """Minor page faults of a unit that fills a fresh 3 MiB buffer and frees it."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = b"x" * (3 << 20)
    del buffer
    return b"", 0, 0, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not workers.keep_heap(False), reason="glibc only (mallopt)")
def test_workers_keep_their_heap_from_one_unit_to_the_next():
    """Every unit's megabytes came fresh from the kernel (mapped, faulted in page by
    page, zeroed, unmapped again): with the heap kept, a worker's later units reuse
    the first one's memory."""
    with workers.ForkedWorkers(1, _faults_of_a_unit) as pool:
        faults = [extras for *_, extras in pool.ordered(iter(_blocks()[:6]))]
    assert faults[0] >= 700  # 768 pages of 4 KiB: the first unit maps its buffer
    assert max(faults[2:]) < 64, faults


def _fails_on_third(unit):
    if unit.line > 30:
        raise ValueError(f"cannot decide line {unit.line}")
    return [unit.line], 1, 0, None  # a payload that is not bytes travels pickled


def test_an_exception_in_a_worker_is_raised_in_the_main_process():
    units = _blocks()
    seen = []
    with pytest.raises(ValueError, match="cannot decide line"):
        with workers.ForkedWorkers(2, _fails_on_third) as pool:
            for _, payload, _, _, _ in pool.ordered(iter(units)):
                seen.append(payload)
    assert seen and all(type(p) is list for p in seen)
    assert multiprocessing.active_children() == []


def _dies(unit):
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_that_dies_ends_the_run_with_an_error():
    with pytest.raises(RuntimeError, match="worker process ended unexpectedly"):
        with workers.ForkedWorkers(2, _dies) as pool:
            list(pool.ordered(iter(_blocks())))
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "table"])
def test_output_to_a_file_is_the_bytes_of_jobs_1(halyard, fmt, tmp_path):
    """A real file: the workers' output reaches it by sendfile, between the writer's own
    buffered text (the JSON array's brackets and commas, the CSV header)."""
    from policy.engine.tabular import layout

    outs = []
    for jobs in (1, 2):
        path = tmp_path / f"out{jobs}"
        with open(path, "wb") as binary:
            stream = open_output_stream(binary)
            writer = make_writer(fmt, stream, info=halyard.info, as_of_us=AT_US,
                                 score_names=tuple(halyard.model.scores),
                                 layout=layout(halyard))
            units = jsonl_blocks(io.BytesIO(LEADS.read_bytes()), 32 * 1024)
            totals = batch.run(halyard, units, writer, AT_US, jobs=jobs)
            stream.detach()
        assert (totals.total, totals.refused) == (1000, 5)
        outs.append(path.read_bytes())
    assert outs[0] == outs[1]


def test_a_pipe_gets_the_bytes_of_jobs_1(tmp_path):
    """Standard output a pipe (sendfile into a pipe), standard input a pipe too."""
    leads = LEADS.read_bytes() * 4  # several blocks of 1 MiB
    runs = [subprocess.run([sys.executable, "-m", "funnel_cli.main", "eval", str(RULES), "-",
                            "--as-of", AT, "--jobs", str(jobs)],
                           input=leads, capture_output=True, check=False)
            for jobs in (1, 2)]
    assert runs[0].returncode == runs[1].returncode == 1
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.count(b"\n") == 4000
    assert runs[0].stderr == runs[1].stderr


def test_a_stream_without_a_descriptor_gets_the_bytes_read(halyard, tmp_path):
    memory = tmp_path / "slot"
    fd = os.open(memory, os.O_RDWR | os.O_CREAT)
    try:
        os.write(fd, "é\n".encode() * 3)
        text = io.StringIO()
        binary = io.BytesIO()
        for out in (text, open_output_stream(binary)):
            writer = make_writer("jsonl", out, info=halyard.info, as_of_us=0, score_names=())
            writer.write(workers.FileRange(fd, 6), 2)
            out.flush()
        assert text.getvalue() == "é\né\n"
        assert binary.getvalue() == "é\né\n".encode()
    finally:
        os.close(fd)


def test_without_memory_files_the_pool_writes_the_same_bytes(halyard, monkeypatch):
    """Where fork or memfd is missing (macOS, BSDs) the units go to a multiprocessing
    pool through pipes: the same bytes, the same totals."""
    outs = []
    for available in (True, False):
        monkeypatch.setattr(workers, "available", lambda available=available: available)
        out = io.StringIO()
        writer = make_writer("json", out, info=halyard.info, as_of_us=AT_US,
                             score_names=tuple(halyard.model.scores))
        units = jsonl_blocks(io.BytesIO(LEADS.read_bytes()), 32 * 1024)
        totals = batch.run(halyard, units, writer, AT_US, jobs=2)
        outs.append((out.getvalue(), totals.total, totals.refused, totals.first_refusals))
    assert outs[0] == outs[1]
    assert multiprocessing.active_children() == []


def test_without_memory_files_diff_measures_in_one_process(halyard, monkeypatch):
    from policy.review.impact import measure_units

    units = lambda: jsonl_blocks(io.BytesIO(LEADS.read_bytes()), 32 * 1024)  # noqa: E731
    forked = measure_units(halyard, halyard, units(), as_of=AT_US, jobs=2)
    monkeypatch.setattr(workers, "available", lambda: False)
    assert measure_units(halyard, halyard, units(), as_of=AT_US, jobs=2) == forked
    assert forked.leads == 1000 and forked.moved == 0


def _dies_at_once(unit):
    os._exit(3)


def test_workers_that_all_die_before_the_main_process_looks_end_the_run(monkeypatch):
    """Every worker gone before the main process waits: the results pipe is at its end
    (readable, empty) as well as the sentinels; the run must fail, not read it forever."""
    import select as select_module

    real = select_module.select

    def late(*args):
        import time

        time.sleep(0.5)  # let every worker exit first
        return real(*args)

    monkeypatch.setattr(workers.select, "select", late)
    with pytest.raises(RuntimeError, match="exit code 3"):
        with workers.ForkedWorkers(2, _dies_at_once) as pool:
            list(pool.ordered(iter(_blocks())))
    assert multiprocessing.active_children() == []


def _marked(mark: bytes) -> list[int]:
    """The processes whose environment holds ``mark``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if mark in f.read():
                        found.append(int(entry))
            except OSError:  # gone, or not ours to read
                continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_the_command_and_every_worker(tmp_path, sig):
    """Ctrl-C (or SIGTERM) to `funnel eval --jobs 2` while its workers decide: exit 130,
    one line, no output file, and no worker left running (each one is found by a mark
    in its environment, which forked workers inherit)."""
    import time

    leads = tmp_path / "many.jsonl"
    leads.write_bytes(LEADS.read_bytes() * 200)
    out = tmp_path / "out.jsonl"
    mark = f"FUNNEL_TEST_MARK={os.getpid()}-{sig}-{time.monotonic_ns()}"
    env = {**os.environ, mark.split("=")[0]: mark.split("=")[1]}
    proc = subprocess.Popen([sys.executable, "-m", "funnel_cli.main", "eval", str(RULES),
                             str(leads), "--as-of", AT, "-o", str(out), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while len(_marked(mark.encode())) < 3 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    assert len(_marked(mark.encode())) >= 3  # the command and its two workers
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.decode().strip().splitlines() == ["funnel: interrupted"]
    assert not out.exists()
    while _marked(mark.encode()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marked(mark.encode()) == []


def _file_blocks(path: Path, size: int = 16 * 1024) -> tuple[io.BufferedReader, list]:
    binary = open(path, "rb")  # noqa: SIM115 - closed by the caller
    return binary, list(jsonl_blocks(binary, size))


def test_blocks_of_a_regular_file_say_where_they_lie_in_it(tmp_path):
    """The workers read such a block from the file (not from a copy the main process
    made): the bytes at its offset are the block's bytes. A stream that is not a
    regular file (here in memory) gives no offsets."""
    path = tmp_path / "leads.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + LEADS.read_bytes() + b'{"no": "line end"}')
    data = path.read_bytes()
    binary, blocks = _file_blocks(path)
    with binary:
        assert len(blocks) > 10
        assert all(b.fd == binary.fileno() for b in blocks)
        assert [data[b.offset:b.offset + len(b.data)] for b in blocks] == [b.data for b in blocks]
        assert b"".join(b.data for b in blocks) == data
    assert {b.offset for b in jsonl_blocks(io.BytesIO(data), 16 * 1024)} == {-1}


def test_the_command_reader_of_a_file_gives_its_offsets(tmp_path):
    """``funnel eval``'s reader (cli.leadfile.Source) replays the bytes it sniffed, then
    reads on: offsets count from where the file stood, as for standard input redirected
    from a file that was read in part already."""
    from cli.leadfile import Source

    path = tmp_path / "leads.jsonl"
    path.write_bytes(LEADS.read_bytes())
    data = path.read_bytes()
    with open(path, "rb") as raw:
        raw.seek(1000)
        source = Source(raw, raw.read(5000))
        assert (source.input_fd(), source.tell()) == (raw.fileno(), 1000)
        blocks = list(jsonl_blocks(io.BufferedReader(source), 64 * 1024))
        assert blocks[0].offset == 1000
        assert all(data[b.offset:b.offset + len(b.data)] == b.data for b in blocks)
    read, write = os.pipe()
    with open(read, "rb") as raw, open(write, "wb"):
        assert Source(raw).input_fd() is None


def test_workers_read_a_regular_file_in_place(tmp_path):
    """Blocks of a regular file reach the workers as offsets: nothing is written into
    the memory files' input halves, and the results are those of the same blocks
    handed over in them."""
    path = tmp_path / "leads.jsonl"
    path.write_bytes(LEADS.read_bytes())
    binary, blocks = _file_blocks(path)
    with binary, workers.ForkedWorkers(2, _double) as pool:
        got = [(payload.read(), count) for _, payload, count, _, _ in pool.ordered(iter(blocks))]
        assert {os.fstat(source).st_size for source, _ in pool.slots} == {0}
    assert got == [_double(b)[:2] for b in _blocks()]


def test_a_file_cut_short_while_it_is_read_ends_the_run_with_a_read_error(tmp_path):
    path = tmp_path / "leads.jsonl"
    path.write_bytes(LEADS.read_bytes())
    binary, blocks = _file_blocks(path)
    os.truncate(path, 1000)
    with binary, pytest.raises(batch.ReadFailed, match="cut short"):
        with workers.ForkedWorkers(2, _double) as pool:
            list(pool.ordered(iter(blocks)))
    assert multiprocessing.active_children() == []


def test_the_line_decider_is_compiled_before_the_workers_fork(tmp_path):
    """Once, in the main process, where both workers inherit it: not once in each."""
    pol = policy.load(RULES)
    box = pol._decide_json._json  # [maker, {text?: function}, lock]
    assert box[0] is not None and not box[1]
    leads = LEADS.read_bytes() * 4  # blocks of 1 MiB: big enough for the decider
    out = io.BytesIO()
    stream = open_output_stream(out)
    writer = make_writer("jsonl", stream, info=pol.info, as_of_us=AT_US,
                         score_names=tuple(pol.model.scores))
    totals = batch.run(pol, batch.batches(io.BytesIO(leads), "jsonl"), writer, AT_US, jobs=2)
    assert totals.total == 4000
    assert box[1].get(True) is not None  # the line encoder (funnel eval's JSON output)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_standard_input_from_a_file_gets_the_bytes_of_jobs_1(fmt, tmp_path):
    """Standard input redirected from a file is read in place by the workers too."""
    path = tmp_path / "leads.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + LEADS.read_bytes() * 3)
    runs = []
    for jobs in (1, 2):
        with open(path, "rb") as stdin:
            runs.append(subprocess.run(
                [sys.executable, "-m", "funnel_cli.main", "eval", str(RULES), "-", "--as-of",
                 AT, "--format", fmt, "--jobs", str(jobs)], stdin=stdin, capture_output=True,
                check=False))
    assert runs[0].returncode == runs[1].returncode == 1
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.count(b"\n") == 3000 + (fmt == "csv")
    assert runs[0].stderr == runs[1].stderr


def _separator(before: int) -> bytes:
    return b"<%d>" % before


def test_workers_write_their_units_themselves_in_turn(tmp_path, monkeypatch):
    """With an output, a worker writes its unit when every unit before it is written;
    a unit finished before its turn comes back to the main process, which writes it.
    The file holds every unit in input order, each after its separator.

    Both ways are made certain, not left to the scheduler: the first unit (its turn has
    come) waits until the second unit's worker has found its turn not come yet."""
    import time

    units = _blocks()
    marker = tmp_path / "second-unit-waits"
    place = workers.ForkedWorkers._place

    def noted_place(self, index, payload, count):
        done = place(self, index, payload, count)
        if index == 1 and not done:
            marker.touch()
        return done

    def first_waits(unit):
        if unit.line == 1:
            deadline = time.monotonic() + 60
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.005)
        return _double(unit)

    monkeypatch.setattr(workers.ForkedWorkers, "_place", noted_place)
    path = tmp_path / "out"
    got = []  # whether each unit came back written (placed) or for the caller (parked)
    before = 0
    with open(path, "wb") as out:
        fd = out.fileno()
        with workers.ForkedWorkers(2, first_waits, output=(fd, _separator)) as pool:
            for _, payload, count, _, _ in pool.ordered(iter(units)):
                got.append("placed" if payload is None else "parked")
                if payload is not None and count:
                    os.write(fd, _separator(before) + payload.read())
                before += count
    expected, before = b"", 0
    for unit in units:
        text, count, _, _ = _double(unit)
        if count:
            expected += _separator(before) + text
        before += count
    assert path.read_bytes() == expected
    assert marker.exists()
    # the first unit's worker wrote it; the second, finished before its turn, came back
    assert got[:2] == ["placed", "parked"] and len(got) == len(units)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_units_written_out_of_turn_keep_the_bytes_of_jobs_1(halyard, fmt, tmp_path,
                                                             monkeypatch):
    """The first unit decided slowest: the workers' own writes and the main process's
    writes of the units that waited interleave, and the bytes are still those of
    ``--jobs 1`` (the JSON array's commas, the CSV header)."""
    import time

    from policy.engine.tabular import layout

    process = batch.process

    def slow_first(pol, writer, unit, *args):
        if unit.line == 1:
            time.sleep(0.4)
        return process(pol, writer, unit, *args)

    outs = []
    for jobs in (1, 2):
        if jobs == 2:
            monkeypatch.setattr(batch, "process", slow_first)
        path = tmp_path / f"out{jobs}"
        with open(path, "wb") as binary:
            stream = open_output_stream(binary)
            writer = make_writer(fmt, stream, info=halyard.info, as_of_us=AT_US,
                                 score_names=tuple(halyard.model.scores),
                                 layout=layout(halyard))
            units = jsonl_blocks(io.BytesIO(LEADS.read_bytes() * 2), 32 * 1024)
            totals = batch.run(halyard, units, writer, AT_US, jobs=jobs)
            stream.detach()
        assert (totals.total, totals.refused) == (2000, 10)
        outs.append(path.read_bytes())
    assert outs[0] == outs[1]
    if fmt == "json":
        assert len(json.loads(outs[1])) == 2000
