"""Seeded hostile fuzzing: mutants of real policies and real leads (issue 12, item 3).

``test_fuzz.py`` checks that random text never crashes the front end. This file goes
further and plays the attacker: a seeded mutator takes ``rules/`` (and the conformance
policy when it is there) and the sample leads, and plants what attackers plant:
control characters, carriage returns, escape sequences, lone surrogates, bidi
overrides, markup, formulas, numbers of thousands of digits, deep nesting, long
literals, durations of billions of business days, bytes that are not UTF-8.

Every mutant runs with a time limit and must:

- policies: load (parse and check) to diagnostics without raising, each diagnostic
  rendering with no raw control character; a mutant that still loads must evaluate
  leads and render its documents (Markdown, HTML) without raising, and with no raw
  CR or ESC;
- leads: give exactly one output record per input record in every output format
  (JSON Lines, CSV, table), none with a raw CR, ESC, U+2028 or lone surrogate, through
  the same code as ``funnel eval``.

``FUNNEL_FUZZ_SEED`` picks another seed and ``FUNNEL_FUZZ_SCALE`` multiplies the number
of mutants (CI runs the default: 600 policy mutants and 2,800 lead mutants, well under a
minute of CPU).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import random
import re
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ACME

from policy.api import Policy
from policy.model.loader import load_model
from policy.render.docs import render as render_docs
from policy.syntax.diagnostics import render_all

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
SEED = int(os.environ.get("FUNNEL_FUZZ_SEED", "20261205"))
SCALE = float(os.environ.get("FUNNEL_FUZZ_SCALE", "1"))
POLICY_MUTANTS = int(600 * SCALE)
LEAD_MUTANTS = int(2800 * SCALE)
AS_OF = datetime.datetime(2026, 12, 1, 16, tzinfo=datetime.UTC)
#: Seconds one mutant may take before it counts as a hang.
LIMIT = 20

HOSTILE_TEXT = [
    "\r", "\r\n", "\x1b[31m", "\x1b]52;c;cHduZWQ=\x07", "\x00", "\x01", "\x7f", "\x85",
    "\u2028", "\u2029", "\u202e", "\ufffe", "\uffff", "<div>x</div>", "<script>", "# H",
    "![i](http://e/i.png)", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "|", "`", "```",
    "\\", '"', "::error file=x::y", "%0A", "]]>", "&amp;", "\t", "é", "𝔘",
]
# Escapes written into policy or JSON text (so they decode to the hostile characters).
HOSTILE_ESCAPES = ["\\r", "\\u001b", "\\u0000", "\\ud800", "\\udfff", "\\u2028", "\\u0085",
                   "\\u202e", "\\uffff", "\\n"]
HOSTILE_TOKENS = [
    "9" * 5000, "1" + "0" * 400, "2147483648", "9" * 40, "0.000000000000000000001",
    "(" * 300 + "a" + ")" * 300, '"' + "x" * 70_000 + '"', "999999999 business days",
    "100000 business days", "2147483648 business hours", '"\\ud800"', '"a\\u0000b"',
    '"/dev/zero"', '"../../etc/passwd"', '"\\r# H1"',
]

_BAD_OUTPUT = re.compile("[\r\x1b\u2028\ud800-\udfff]")


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: int):
    """Raise `Hang` in the main thread after ``seconds`` (no limit off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise Hang(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _policies() -> list[tuple[Path, dict[str, str]]]:
    out = [(RULES, {p.name: p.read_text("utf-8") for p in sorted(RULES.glob("*.funnel"))})]
    if ACME.is_dir():
        out.append((ACME, {p.name: p.read_text("utf-8") for p in sorted(ACME.glob("*.funnel"))}))
    return out


def _mutate_text(rng: random.Random, text: str) -> str:
    """One to three hostile edits at random places of ``text``."""
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(text) + 1)
        kind = rng.random()
        if kind < 0.35:
            # inside a string literal: plant an escape or a raw hostile character
            quote = text.find('"', at)
            if quote >= 0:
                piece = rng.choice(HOSTILE_ESCAPES + HOSTILE_TEXT[:12])
                text = text[: quote + 1] + piece + text[quote + 1:]
                continue
        if kind < 0.65:
            # replace a number with a hostile one
            numbers = [m for m in re.finditer(r"\b\d+(?:\.\d+)?\b", text)]
            if numbers:
                m = rng.choice(numbers)
                text = text[: m.start()] + rng.choice(HOSTILE_TOKENS[:5]) + text[m.end():]
                continue
        if kind < 0.8:
            # replace a duration or a string with a hostile token
            durations = list(re.finditer(r"\d+ (?:business )?(?:hours|days|hour|day)", text))
            if durations and rng.random() < 0.5:
                m = rng.choice(durations)
                text = text[: m.start()] + rng.choice(HOSTILE_TOKENS[7:10]) + text[m.end():]
                continue
            strings = list(re.finditer(r'"[^"\n]*"', text))
            if strings:
                m = rng.choice(strings)
                text = text[: m.start()] + rng.choice(HOSTILE_TOKENS[10:]) + text[m.end():]
                continue
        text = text[:at] + rng.choice(HOSTILE_TEXT + HOSTILE_TOKENS) + text[at:]
    return text


def _assert_clean_text(text: str, what: str) -> None:
    bad = _BAD_OUTPUT.search(text)
    if bad is not None:
        around = text[max(0, bad.start() - 60):bad.end() + 60]
        raise AssertionError(f"{what}: raw {bad.group(0)!r} in {around!r}")


def _check_policy_mutant(folder: Path, leads: list[dict]) -> None:
    result = load_model(folder)
    rendered = render_all(result.diagnostics, result.sources)
    # a source line may show a control picture, but never the raw character
    _assert_clean_text(rendered, "diagnostics")
    if not result.ok:
        return
    pol = Policy.from_result(result)
    for lead in leads:
        try:
            decision = pol.evaluate(lead, as_of=AS_OF)
        except Exception as exc:  # noqa: BLE001 - only a refusal is allowed
            assert type(exc).__name__ == "LeadError", repr(exc)
            continue
        from policy.engine.decision import dumps

        line = dumps(decision)
        assert "\n" not in line
        _assert_clean_text(line, "decision JSON")
    for fmt in ("markdown", "html"):
        page = render_docs(result.model, fmt)
        _assert_clean_text(page, f"docs {fmt}")


def _parse_originals_once(monkeypatch, sources) -> None:
    """Parse each unchanged policy file once per test, not once per mutant.

    A mutant changes one file of its policy; the others are the originals, and a file's
    parse is a function of its text and its shown path alone (the result is frozen
    nodes), so parsing them again for every mutant tested nothing new: it was two
    thirds of the test's time (``examples.funnel`` alone is 41 KB). The mutated text is
    parsed afresh every time, through the same `load_model`."""
    from policy.syntax import parser

    originals = {text for _, files in sources for text in files.values()}
    parsed: dict[tuple[str, str], object] = {}
    real = parser.parse

    def parse(text: str, file: str = "<string>"):
        if text not in originals:
            return real(text, file)
        if (text, file) not in parsed:
            parsed[text, file] = real(text, file)
        return parsed[text, file]

    monkeypatch.setattr(parser, "parse", parse)


def _check_original_schemas_once(monkeypatch, sources) -> None:
    """Check each policy's unchanged lead schema once per test, not once per mutant.

    The mutants change `*.funnel` files only; the schema files are copied once and never
    written again, and `parse_schema` is a function of the bytes and the name it shows.
    jsonschema's check of the same schema against the 2020-12 metaschema was a quarter
    of the test's time (cProfile). Bytes that are not an original schema (a mutant that
    points `schema` at another file) are checked afresh, and a schema that fails is
    never cached: its `SchemaError` is raised every time."""
    from policy.model import schema

    originals = set()
    for origin, _ in sources:
        originals.update(p.read_bytes() for p in origin.glob("*.json"))
    checked: dict[tuple[bytes, str], object] = {}
    real = schema.parse_schema

    def parse_schema(raw: bytes, *, source: str = "<schema>"):
        if raw not in originals:
            return real(raw, source=source)
        if (raw, source) not in checked:
            checked[raw, source] = real(raw, source=source)
        return checked[raw, source]

    monkeypatch.setattr(schema, "parse_schema", parse_schema)


@pytest.mark.parametrize("shard", range(4))
def test_policy_mutants_never_crash_hang_or_leak(tmp_path, monkeypatch, shard):
    rng = random.Random(SEED * 31 + shard)
    sources = _policies()
    sample = [json.loads(x) for x in (RULES / "leads.jsonl").read_text("utf-8").splitlines()[:8]]
    # One folder per policy, its other files (the schema, `lines` lists and the like)
    # copied once; each mutant rewrites its `*.funnel` files there, so an unchanged file
    # keeps its path as well as its text.
    folders = {}
    for origin, _ in sources:
        folder = folders[origin] = tmp_path / origin.name
        folder.mkdir()
        for extra in origin.iterdir():
            if extra.is_dir():
                shutil.copytree(extra, folder / extra.name)
            elif extra.suffix != ".funnel":
                (folder / extra.name).write_bytes(extra.read_bytes())
    _parse_originals_once(monkeypatch, sources)
    _check_original_schemas_once(monkeypatch, sources)
    for case in range(POLICY_MUTANTS // 4):
        origin, files = rng.choice(sources)
        name = rng.choice(sorted(files))
        mutant = _mutate_text(rng, files[name])
        folder = folders[origin]
        for other, text in files.items():
            (folder / other).write_text(mutant if other == name else text, "utf-8",
                                        errors="surrogatepass")
        try:
            with time_limit(LIMIT):
                _check_policy_mutant(folder, sample)
        except Hang:
            pytest.fail(f"seed {SEED} shard {shard} case {case}: {name} hangs")
        except AssertionError as exc:
            raise AssertionError(f"seed {SEED} shard {shard} case {case} ({name}): {exc}") from None
        except Exception as exc:
            raise AssertionError(
                f"seed {SEED} shard {shard} case {case} ({name}) raised {exc!r}") from exc


def _mutate_lead(rng: random.Random, line: str) -> bytes:
    kind = rng.random()
    if kind < 0.4:
        at = line.find('"', rng.randrange(len(line)))
        if at >= 0:
            piece = rng.choice(HOSTILE_ESCAPES + [json.dumps(t)[1:-1] for t in HOSTILE_TEXT])
            line = line[: at + 1] + piece + line[at + 1:]
        return line.encode("utf-8")
    if kind < 0.55:
        numbers = list(re.finditer(r":\s*\d+", line))
        if numbers:
            m = rng.choice(numbers)
            line = line[: m.start()] + ": " + rng.choice(["9" * 5000, "1e999", "-0", "1" * 300])\
                + line[m.end():]
        return line.encode("utf-8")
    if kind < 0.65:
        key = rng.choice(['"company"', '"lead_id"', '"email"'])
        at = line.find(key)
        if at >= 0:
            depth = rng.choice([50, 1000, 100_000])
            value = "[" * depth + "]" * depth
            end = line.find(",", at)
            line = line[: at] + f'{key}: {value}' + (line[end:] if end > 0 else "}")
        return line.encode("utf-8")
    if kind < 0.75:
        data = bytearray(line.encode("utf-8"))
        data.insert(rng.randrange(len(data) + 1), rng.choice([0xFF, 0xC3, 0xED, 0x80]))
        return bytes(data)
    if kind < 0.85:
        return line[: rng.randrange(len(line))].encode("utf-8")  # truncated
    return line.replace(",", rng.choice([",\r", ", \u2028", ",\x1b[2J"]), 1).encode("utf-8")


def _run_eval_writers(pol: Policy, data: bytes, fmt: str) -> tuple[int, str]:
    """Decide every record of ``data`` (JSON Lines) and write it as ``eval`` does: the
    same batch reader, engine and writers, in this process."""
    from policy.engine import tabular
    from policy.io import batch
    from policy.io.writers import make_writer

    at = 1_796_140_800_000_000
    units = batch.batches(io.BufferedReader(io.BytesIO(data)), "jsonl",
                          schema=pol.model.schema)
    out = io.StringIO(newline="")
    writer = make_writer(fmt, out, info=pol.info, as_of_us=at,
                         score_names=tuple(pol.model.scores), layout=tabular.layout(pol))
    totals = batch.run(pol, units, writer, at, jobs=1)
    return totals.total, out.getvalue()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_lead_mutants_keep_one_record_each_and_escape_every_format(fmt):
    rng = random.Random(SEED * 7 + len(fmt))
    pol = Policy.from_result(load_model(RULES))
    lines = (RULES / "leads.jsonl").read_text("utf-8").splitlines()
    batch_size = 100
    for batch in range(max(1, LEAD_MUTANTS // 3 // batch_size)):
        batch_lines = [_mutate_lead(rng, rng.choice(lines)) for _ in range(batch_size)]
        # a mutant may itself hold a CR, which ends no line (docs/decisions.md): count
        # the records by LF, the way the reader does
        data = b"\n".join(batch_lines) + b"\n"
        expected = sum(1 for x in data.split(b"\n")
                       if x.decode("utf-8", "surrogateescape").strip())
        try:
            with time_limit(LIMIT * 3):
                count, text = _run_eval_writers(pol, data, fmt)
        except Hang:
            pytest.fail(f"seed {SEED} {fmt} batch {batch}: hangs")
        assert count == expected, f"seed {SEED} {fmt} batch {batch}: {count} of {expected}"
        if fmt == "csv":
            # CSV is data for spreadsheets: control characters stay (quoted), but no CR
            # that splits a row and no lone surrogate
            assert "\r" not in text and not re.search("[\ud800-\udfff]", text)
        else:
            _assert_clean_text(text, fmt)
        if fmt == "jsonl":
            out = text.splitlines()
            assert len(out) == expected
            for row in out:
                json.loads(row)
        elif fmt == "csv":
            rows = list(csv.reader(io.StringIO(text, newline="")))
            assert len(rows) == expected + 1
            for row in rows[1:]:
                assert all(not cell.startswith(("=", "+", "@")) for cell in row[1:2]), row
        else:
            assert len(text.splitlines()) == expected + 2
