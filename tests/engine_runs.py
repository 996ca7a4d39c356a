"""``funnel eval`` of one folder's policy over a list of leads, engine by engine, through
click's ``CliRunner``: for the tests that check that every engine writes the python
engine's bytes (the CLI path, so eval's typed line decider and the SQL writers run).

Import from a test module as ``from engine_runs import eval_engines``.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from funnel_cli.main import main


def eval_engines(folder: Path, leads: list, *extra: str,
                 engines: tuple[str, ...] = ("python", "duckdb"),
                 as_of: str = "2026-12-01T00:00:00Z") -> dict[str, tuple[int, str]]:
    """``{engine: (exit code, output)}`` of ``funnel eval`` of ``leads`` (written as JSON
    Lines into ``folder``) with each engine, ``extra`` options added."""
    path = folder / "leads.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")
    runner = CliRunner()
    out = {}
    for engine in engines:
        res = runner.invoke(main, ["eval", str(folder), str(path), "--engine", engine,
                                   "--as-of", as_of, *extra])
        out[engine] = (res.exit_code, res.output)
    return out


def assert_table_rows(pol, leads: list[dict], rows: list[tuple], as_of_us: int) -> None:
    """The rows a printed statement gave over a table of ``leads`` equal the python
    engine's decisions of those leads field by field in the tabular form (rows meet
    their leads by the lead id; a table has no line numbers, and its error messages may
    be shorter, so ``line`` and ``error`` are not compared, only that a refused lead is
    refused, with the same problem paths)."""
    from datetime import UTC, datetime, timedelta

    from policy.engine import tabular
    from policy.engine.decision import LeadError

    lay = tabular.layout(pol)
    kinds = {c.name: c.kind for c in lay.columns}
    got_rows = {row[1]: dict(zip(lay.names, row, strict=True)) for row in rows}
    assert len(got_rows) == len(rows) == len(leads)
    as_of = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=as_of_us)  # exact
    for lead in leads:
        got = got_rows[lead["lead_id"]]
        try:
            want = pol.evaluate(lead, as_of=as_of)
        except LeadError as exc:
            want = exc
        expected = tabular.row_dict(want, lay, info=pol.info, as_of=as_of_us)
        assert (got["error"] is None) == (expected["error"] is None), (lead, got, expected)
        for key, value in expected.items():
            if key in ("line", "error"):
                continue
            g = got[key]
            if kinds[key] == "timestamp" and g is not None:
                g = (g.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
                    microseconds=1)
            if kinds[key] == "list" and g is not None:
                g = tuple(g)
            # a null stays null; an empty text stays "" (the statement's cell is '',
            # not NULL: a rejection reason may be an empty string)
            if kinds[key] == "json" and value is not None:
                value = tabular.cell_text("json", value)
            assert g == value, (lead, key, value, g)
