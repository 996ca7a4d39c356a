"""`funnel explain`: one lead's derivation, for a person (spec section 9).

Thin: find the lead (a JSON file, a record of a lead file, standard input or an
inline object), load the policy, and print :meth:`policy.Policy.explain`'s text.
Exit status: 0 the lead got a decision; 1 it was refused (its problems are
printed) or the policy has errors; 2 bad usage or a lead that cannot be read.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, NoReturn

import click

from .common import OK, PROBLEMS, fail_usage, load_policy, say
from .leadfile import as_of_option, local_tz_option, now_us, open_leads
from .output import stdout_write

_AT_RECORD = re.compile(r"(?P<file>.+):(?P<line>[0-9]+)")


def find_by_id(path: str, wanted: str, pol: Any) -> tuple[Any, str]:
    """The first record of the lead file ``path`` whose ``id`` field reads ``wanted``.

    Ids are compared as text, so ``--id 1001`` finds a lead whose id is the number 1001
    (a CSV export) as well as the string. Exits 2 when no record has that id.
    """
    from policy import LeadFileError, csv_kinds, input_format_of, read_records, text_stream

    if pol.model.id_field is None:
        fail_usage("--id needs the policy's `id` line (which field names a lead); "
                   "without one, name the lead as FILE:N")
    source, _, shown = open_leads(path)
    found = None
    try:
        fmt = input_format_of(path, source.head)
        for record in read_records(text_stream(source), fmt=fmt,  # type: ignore[arg-type]
                                   schema=pol.model.schema, kinds=csv_kinds(pol.model, fmt)):
            if record.error is not None and type(record.value) is not dict:
                continue  # nothing to read an id from
            lead_id = pol.lead_id(record.value)
            if lead_id is not None and wanted in _id_texts(lead_id):
                found = record
                break
    except LeadFileError as exc:
        fail_usage(f"{shown}: {exc.message}")
    except OSError as exc:
        fail_usage(f"{shown}: cannot read: {exc.strerror or exc}")
    finally:
        if path != "-":
            source.raw.close()
    if found is None:
        field = ".".join(pol.model.id_field)
        fail_usage(f"{shown}: no lead whose {field} is {wanted!r}")
    where = f"{shown}, line {found.line} ({wanted})"
    if found.error is not None:
        refused(where, found.error, found.problems)
    return found.value, where


def refused(where: str, message: str, problems) -> NoReturn:
    """Say why the lead is refused, problem by problem, and exit 1 (like ``eval``)."""
    if problems and message == "; ".join(f"{p.path}: {p.message}" for p in problems):
        message = ""  # a CSV row's message lists its cells: list them once, one a line
    say(f"funnel: {where}: the lead is refused:" + (f" {message}" if message else ""))
    for problem in problems:
        if problem.path or problem.message != message:
            say(f"  {problem.path or '(the record)'}: {problem.message}")
    sys.exit(PROBLEMS)


def _id_texts(value: Any) -> tuple[str, ...]:
    """The texts ``--id`` takes for an id: as the table view, CSV and ``diff`` write it
    (text as it is, anything else as JSON text: ``true``, ``1.0``, ``{"a": 1}``), and a
    whole float also as an integer (``1``)."""
    if isinstance(value, str):
        return (value,)
    import json

    shown = json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return (shown, str(int(value)))
    return (shown,)


def read_lead(spec: str, schema: Any = None, model: Any = None) -> tuple[Any, str]:
    """The lead LEAD names, and how to name it in messages. Exits 2 when it cannot be read.

    ``-``: standard input (one JSON object); ``{…}``: the object itself; ``FILE:N``:
    the record at line N of a lead file (JSON Lines, CSV or a JSON array, by
    extension; N as ``funnel eval`` reports it); otherwise a JSON file holding one
    object (or a JSON Lines file of exactly one lead). ``model``: the policy, whose
    use of each field types the cells of a CSV when it has no schema.
    """
    from policy import LeadFileError, csv_kinds, input_format_of, read_records, text_stream

    if spec.lstrip().startswith("{"):
        return _json_object(spec, "the lead given inline"), "the lead given inline"
    wanted: int | None = None
    path = spec
    if spec != "-" and not os.path.exists(spec):
        match = _AT_RECORD.fullmatch(spec)
        if match is None:
            fail_usage(f"{spec}: no such file")
        path, wanted = match["file"], int(match["line"])
    if path == "-" and wanted is None:
        source, _, shown = open_leads("-")
        return _json_object(source.readall().decode("utf-8", "replace"), shown), shown
    source, _, shown = open_leads(path)
    try:
        fmt = input_format_of(path, source.head)
        kinds = csv_kinds(model, fmt) if model is not None else None
        records = read_records(text_stream(source), fmt=fmt, schema=schema,  # type: ignore[arg-type]
                               kinds=kinds)
        found = None
        count = 0
        for record in records:
            count += 1
            if wanted is None and count > 1:
                fail_usage(f"{shown} holds more than one lead: name one as {path}:LINE")
            if wanted is None or record.line == wanted:
                found = record
                if wanted is not None:
                    break
    except LeadFileError as exc:
        fail_usage(f"{shown}: {exc.message}")
    except OSError as exc:
        fail_usage(f"{shown}: cannot read: {exc.strerror or exc}")
    finally:
        if path != "-":
            source.raw.close()
    where = shown if wanted is None else f"{shown}, line {wanted}"
    if found is None:
        fail_usage(f"{shown} has no lead" + ("" if wanted is None else f" at line {wanted}"))
    if found.error is not None:
        if type(found.value) is dict:  # a lead, refused as read (a number past a double)
            refused(where, found.error, found.problems)
        say(f"funnel: {where}: {found.error}")
        sys.exit(PROBLEMS)
    return found.value, where


def _json_object(text: str, shown: str) -> dict:
    """The lead given inline or on standard input, read as `funnel eval` reads a JSON
    Lines line (``json.loads`` took ``NaN`` and ``1e999``, which eval refuses, and
    stumbled on a byte-order mark): not JSON, or not an object, is exit 2; a lead that
    eval would refuse as read (a number past a double's range) is refused here."""
    from policy import jsonl_record

    record = jsonl_record(1, text.removeprefix("\ufeff"))
    if record.error is not None:
        if type(record.value) is dict:
            refused(shown, record.error, record.problems)
        fail_usage(f"{shown}: {record.error}")
    return record.value


@click.command("explain")
@click.argument("path", type=click.Path())
@click.argument("lead")
@as_of_option
@local_tz_option
@click.option("--id", "lead_id", metavar="ID", default=None,
              help="Explain the lead whose `id` field is ID in the lead file LEAD "
                   "(JSONL, JSON or CSV), instead of naming it by line as FILE:N.")
@click.option("--color/--no-color", default=False,
              help="Mark passing and failing rules in colour (off unless asked; NO_COLOR wins).")
def explain(path: str, lead: str, as_of: int | None, lead_id: str | None, color: bool,
            local_tz: str | None = None) -> None:
    """Show how the policy at PATH decides one LEAD, rule by rule.

    LEAD is a JSON file holding one lead, FILE:N for the record at line N of a
    lead file (as `funnel eval` numbers them), FILE with --id ID for the lead whose
    `id` field is ID, `-` for standard input, or the JSON object itself. The
    derivation shows each score rule with the values it read, every gate line
    until the first gate that fails, each handoff (routes, SLA, escalation,
    rejection), the recycle rules tried and what the next stage needs.

    \b
    Examples:
      funnel explain rules lead.json
      funnel explain rules leads.jsonl:17 --as-of 2026-11-02T15:00:00Z
      funnel explain rules export.csv --id 00Q5e00000AbCdE
      funnel explain rules '{"lead_id": "L-1", "created_at": "2026-11-01T09:00:00Z"}'

    Exit status: 0 a decision was explained; 1 the lead is refused or the policy has
    errors; 2 bad usage or the lead cannot be read.
    """
    from policy import LeadError
    from policy import render_explanation as render

    pol = load_policy(path, local_tz=local_tz)
    if lead_id is not None:
        if lead.lstrip().startswith("{") or _AT_RECORD.fullmatch(lead) and not os.path.exists(
                lead):
            fail_usage("--id takes a lead file as LEAD (not FILE:N or an inline lead)")
        value, where = find_by_id(lead, lead_id, pol)
    else:
        value, where = read_lead(lead, pol.model.schema, pol.model)
    at = now_us() if as_of is None else as_of
    try:
        decision = pol.run_prepared(value, pol.prepare(value), at, trace=True)
    except LeadError as err:
        refused(where, err.message, err.problems)
    color = color and not os.environ.get("NO_COLOR")
    stdout_write(render(decision, pol.model, color=color, local_tz=pol.local_tz))
    sys.exit(OK)
