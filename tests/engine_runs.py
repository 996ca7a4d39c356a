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
