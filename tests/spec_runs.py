"""Decide the leads of a drawn policy (``spec_policies``) every way the project can, and
say where two ways differ.

``differences(folder, leads, as_of, ...)`` returns a list of human-readable differences
(empty when every way agrees):

- in process: the interpreter (the reference, spec section 4) and the compiled engine,
  lead by lead (the canonical JSON of each decision, or the refusal's message and
  problem paths), and the compiled engine's JSON-line decider (``line_encoder``) on each
  lead's JSON text against the record the interpreter's decision writes;
- ``funnel eval`` through click: the python engine and ``--engine duckdb`` from JSON
  Lines (plain, and written every way JSON allows: ``jsonl_text``), CSV and Parquet,
  each to jsonl, json and csv, with the drawn ``--local-tz`` and without; the exit
  status and standard output byte for byte. A policy the SQL engine refuses by name
  (a documented limit, exit 2) raises :class:`Unsupported`.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.engine.decision import LeadError, dumps
from policy.engine.timestamps import parse_timestamp

__all__ = ["csv_text", "differences", "write_folder"]


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("utf-8"))
    return folder


def loaded_draws(first: int, last: int, prefix: str, refused: list[int]):
    """For each seed in ``first``..``last`` - 1, the policy ``draw_policy`` draws from it,
    written to a fresh temporary folder: ``(seed, rng, drawn, tmp, folder)`` for those that
    load (the rng goes on to draw the leads). A seed whose policy does not load is appended
    to ``refused`` and its folder removed. The long hunts' common loop head."""
    import random
    import shutil
    import tempfile

    from spec_policies import draw_policy

    for seed in range(first, last):
        rng = random.Random(seed)
        drawn = draw_policy(rng)
        tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{seed}_"))
        folder = write_folder(tmp / "p", drawn.files)
        try:
            policy.load(folder)
        except policy.PolicyError:
            refused.append(seed)
            shutil.rmtree(tmp)
            continue
        yield seed, rng, drawn, tmp, folder


def _outcome(pol, lead, at: datetime) -> str:
    try:
        return dumps(pol.evaluate(lead, as_of=at))
    except LeadError as exc:
        return "refused " + json.dumps([exc.message, [p.path for p in exc.problems]])


def _header_key(key: str) -> str:
    return f"`{key}`" if "." in key or "`" in key else key


_BOOL_CELLS = {True: ("true", "TRUE", "yes", "Yes", "1"),
               False: ("false", "False", "no", "NO", "0")}


def _flatten(value, prefix: str, row: dict, rng) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{prefix}.{_header_key(k)}" if prefix else _header_key(k), row, rng)
        return
    if value is None:
        row[prefix] = ""
    elif isinstance(value, str):
        row[prefix] = value
    elif isinstance(value, bool):  # spec section 9: any of these, in any case
        row[prefix] = rng.choice(_BOOL_CELLS[value])
    elif type(value) is int and rng.random() < 0.2:  # JSON number syntax, another way
        row[prefix] = rng.choice((f"{value}.0", f"{value}e0", f"{value}E+0"))
    else:
        row[prefix] = json.dumps(value)


def csv_text(leads: list[dict]) -> str | None:
    """The leads as a CSV export (``a.b`` headers nest); None when one header would
    be both a field and an object (the CSV reader refuses that whole file)."""
    import random

    rng = random.Random(len(leads))
    rows, header = [], []
    for lead in leads:
        row: dict = {}
        _flatten(lead, "", row, rng)
        rows.append(row)
        for k in row:
            if k not in header:
                header.append(k)
    names = set(header)
    for h in header:
        parts = h.split(".")
        if any(".".join(parts[:i]) in names for i in range(1, len(parts))):
            return None
    buf = io.StringIO()
    w = csv.DictWriter(buf, header, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow(row)
    return buf.getvalue()


_ID_FORMS = ("7", "7.0", "1e2", "-0", "0.0", "12345678901234567890", "1E400", "\"\\u0130\"",
             "\"\\ud83d\\ude00\"", "true", "null", "[1]", "{}", "\"\"", "-1.5e-7")


def jsonl_text(leads: list[dict], seed: int) -> str:
    """The leads as JSON Lines, written the many ways JSON allows: ``\\u`` escapes or
    raw UTF-8, a key repeated (the last one wins, spec section 9), CRLF line ends and
    blank lines (line numbers stay physical), numbers as ``1e2`` or ``7.0`` in the lead
    id (which every output echoes), lines that are not objects or not JSON."""
    import random

    rng = random.Random(seed)
    out = []
    for lead in leads:
        text = json.dumps(lead, ensure_ascii=rng.random() < 0.5)
        r = rng.random()
        if r < 0.1 and len(lead) > 1:
            key = rng.choice([k for k in lead if k != "lead_id"])
            text = "{" + json.dumps(key) + ": \"shadowed\", " + text[1:]
        elif r < 0.2 and "lead_id" in lead:
            text = text.replace('"lead_id": ' + json.dumps(lead["lead_id"]),
                                '"lead_id": ' + rng.choice(_ID_FORMS), 1)
        elif r < 0.23:
            text = rng.choice(("[]", "1", "null", "{", "{\"lead_id\": \"x\",}", "\"text\""))
        end = "\r\n" if rng.random() < 0.2 else "\n"
        out.append(text + end + ("  \n" if rng.random() < 0.05 else ""))
    return "".join(out)


def _eval(runner, folder: Path, source: Path, engine: str, fmt: str, as_of: str,
          extra: tuple[str, ...]) -> tuple[int, str]:
    res = runner.invoke(main, ["eval", str(folder), str(source), "--engine", engine,
                               "--format", fmt, "--as-of", as_of, *extra])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return -1, f"{type(res.exception).__name__}: {res.exception}\n{res.stderr}"
    if res.exit_code == 2 and engine != "python" and "cannot run this policy" in res.stderr:
        raise Unsupported(res.stderr.strip().splitlines()[-1])
    return res.exit_code, res.stdout


class Unsupported(Exception):
    """A policy an SQL engine refuses by name (spec section 10: a documented limit)."""


def in_process(folder: Path, leads: list, as_of: str, local_tz: str | None) -> list[str]:
    """Interpreter vs compiled engine vs the compiled JSON-line decider."""
    out = []
    ref = policy.load(folder, engine="interpreter", local_tz=local_tz)
    comp = policy.load(folder, engine="compiled", local_tz=local_tz)
    at = datetime.fromisoformat(as_of.replace("Z", "+00:00")).astimezone(UTC)
    at_us = parse_timestamp(as_of)
    encoder = comp.line_encoder
    for i, lead in enumerate(leads):
        want = _outcome(ref, lead, at)
        got = _outcome(comp, lead, at)
        if want != got:
            out.append(f"compiled != interpreter, lead {i} {json.dumps(lead)}:\n"
                       f"  interpreter {want}\n  compiled    {got}")
        if encoder is not None and not want.startswith("refused"):
            try:
                text = encoder(json.dumps(lead).encode(), at_us)
            except ArithmeticError:
                text = None
            if text is not None and json.loads(text) != json.loads(want):
                out.append(f"line_encoder != interpreter, lead {i} {json.dumps(lead)}:\n"
                           f"  interpreter {want}\n  encoder     {text}")
    return out


def differences(folder: Path, leads: list, as_of: str, local_tz: str | None = None, *,
                sources: tuple[str, ...] = ("jsonl", "raw", "csv", "parquet"),
                formats: tuple[str, ...] = ("jsonl", "json", "csv"),
                engines: tuple[str, ...] = ("python", "duckdb"),
                cli: bool = True) -> list[str]:
    out = in_process(folder, leads, as_of, None)
    if local_tz:
        out += in_process(folder, leads, as_of, local_tz)
    if not cli:
        return out
    work = folder.parent / (folder.name + "_in")
    work.mkdir(exist_ok=True)
    jsonl = work / "leads.jsonl"
    jsonl.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in leads),
                     encoding="utf-8")
    paths = {"jsonl": jsonl}
    if "raw" in sources:
        paths["raw"] = work / "raw.jsonl"
        paths["raw"].write_bytes(jsonl_text(leads, len(leads)).encode("utf-8", "surrogatepass"))
    if "csv" in sources:
        text = csv_text(leads)
        if text is not None:
            paths["csv"] = work / "leads.csv"
            paths["csv"].write_text(text, encoding="utf-8")
    if "parquet" in sources:
        import duckdb

        target = work / "leads.parquet"
        try:
            duckdb.connect().execute(
                "COPY (SELECT * FROM read_json(?, sample_size=-1)) TO ? (FORMAT parquet)",
                [str(jsonl), str(target)])
            paths["parquet"] = target
        except duckdb.Error:
            pass
    runner = CliRunner()
    tzs = [()] + ([("--local-tz", local_tz)] if local_tz else [])
    for kind, path in paths.items():
        for tz in tzs:
            for fmt in formats:
                runs = {e: _eval(runner, folder, path, e, fmt, as_of, tz) for e in engines}
                base = runs[engines[0]]
                for e in engines[1:]:
                    if runs[e] != base:
                        out.append(f"{e} != {engines[0]} from {kind} to {fmt} {tz}:\n"
                                   + _first_diff(base, runs[e]))
    return out


def _first_diff(a: tuple[int, str], b: tuple[int, str]) -> str:
    if a[0] != b[0]:
        return f"  exit {a[0]} vs {b[0]}\n  {a[1][:600]!r}\n  {b[1][:600]!r}"
    la, lb = a[1].splitlines(), b[1].splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"  line {i + 1}:\n  {x[:1500]}\n  {y[:1500]}"
    return f"  lengths {len(la)} vs {len(lb)}"
