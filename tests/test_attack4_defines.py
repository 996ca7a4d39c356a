"""Defines that build on defines (hostile but legal policies, session 14).

Before: `funnel check` accepted a chain of a few hundred `define d1 = d2 + 1` lines (or
3,000 `define d1 = d2`), and every other command (`test`, `eval`, `explain`, `sql`, the
DuckDB engine) ended in a Python traceback, RecursionError, while resolving or printing
it. And 22 lines of `define d1 = d2 + d2`, each using the next twice, made every engine
run for hours (the rule, written out, holds 2^23 operations); with a score using it,
`check` itself never ended (the score order walked every path through the defines).
Now both are E108 (kind `expansion`) in `check`, every command stops with the same
diagnostic, and a chain within the limit is decided alike by every engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy

AS_OF = "2026-11-03T00:00:00Z"

POLICY = '''policy dd "Defines on defines"
version "1"
id lead_id

team marketing "@m"

funnel lead -> mql

score fit owned by marketing {
  +20 if SCORE_CONDITION
}

DEFINES

stage lead owned by marketing {
  require email is present
}

stage mql owned by marketing {
  require GATE_CONDITION
}
'''

LEADS = [{"lead_id": f"L-{i}", "email": "a@b.c", "employees": e}
         for i, e in enumerate((0, 5, 99, 100, 101, 5000))]


def _write(folder: Path, defines: list[str], *, gate: str = "employees >= 0",
           score: str = "employees >= 100") -> Path:
    folder.mkdir()
    text = (POLICY.replace("DEFINES", "\n".join(defines)).replace("GATE_CONDITION", gate)
            .replace("SCORE_CONDITION", score))
    (folder / "policy.funnel").write_text(text)
    (folder / "leads.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LEADS))
    return folder


def _chain(n: int, step: str = "d{next} + 1", last: str = "employees") -> list[str]:
    return [f"define d{i} = " + step.format(next=i + 1) for i in range(n)] + [
        f"define d{n} = {last}"]


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("defines", [
    pytest.param(_chain(400), id="arithmetic-chain"),
    pytest.param(_chain(3000, step="d{next}"), id="alias-chain"),
])
def test_a_chain_of_defines_too_deep_to_evaluate_is_e108_in_every_command(tmp_path, defines):
    folder = _write(tmp_path / "p", defines, gate="employees + 0 >= d0 - 1000")
    path, leads = str(folder), str(folder / "leads.jsonl")
    result = _run("check", path)
    assert result.exit_code == 1, result.output
    assert "error[E108]" in result.output
    assert "levels deep once the defines it uses are written out in place" in result.output
    assert result.output.count("error[E108]") == 1  # once, at the define that crosses
    for args in (["test", path], ["eval", path, leads, "--as-of", AS_OF],
                 ["explain", path, leads + ":1", "--as-of", AS_OF], ["sql", path],
                 ["eval", path, leads, "--engine", "duckdb", "--as-of", AS_OF]):
        result = _run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args, result.exception)
        assert "error[E108]" in result.output, args


def test_check_json_names_the_kind(tmp_path):
    folder = _write(tmp_path / "p", _chain(3000, step="d{next}"),
                    gate="employees + 0 >= d0 - 1000")
    result = _run("check", str(folder), "--format", "json")
    assert result.exit_code == 1
    found = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "E108"]
    assert [d["kind"] for d in found] == ["expansion"]
    assert found[0]["line"] == 13 + 2800  # `define d2800`, 201 levels from the field


def _timed(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    # a subprocess with a time limit: on the old code these never ended
    return subprocess.run([sys.executable, "-m", "funnel_cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("where", ["gate", "score"])
def test_defines_that_double_at_every_step_are_e108_not_hours(tmp_path, where):
    defines = _chain(30, step="d{next} + d{next}")
    condition = "employees >= d0"
    folder = _write(tmp_path / "p", defines, **{where: condition})
    done = _timed(["check", str(folder)], tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "error[E108]" in done.stdout
    assert "the defines add 2,147,483,646 operations" in done.stdout
    done = _timed(["eval", str(folder), str(folder / "leads.jsonl")], tmp_path)
    assert done.returncode == 1 and "error[E108]" in done.stderr


def test_a_list_of_literals_used_many_times_is_one_constant(tmp_path):
    # a long list used by many rules is not "growth": every engine holds it once
    many = ", ".join(f'"x{i}"' for i in range(5000))
    folder = _write(tmp_path / "p", [f"define many = [{many}]"],
                    gate=" or ".join(["email in many"] * 60))
    assert _run("check", str(folder)).exit_code == 0


def _decisions(args: list[str]) -> list[dict]:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_chain_within_the_limit_is_decided_alike_by_every_engine(tmp_path):
    # 90 defines that each add 1 (181 levels written out), and a chain of 150 aliases
    defines = _chain(90) + [f"define a{i} = a{i + 1}" for i in range(150)] + [
        "define a150 = employees"]
    folder = _write(tmp_path / "p", defines, gate="a0 + 90 >= d0",
                    score="d0 >= 190")
    path, leads = str(folder), str(folder / "leads.jsonl")
    assert _run("check", path).exit_code == 0
    python = _decisions(["eval", path, leads, "--as-of", AS_OF])
    duck = _decisions(["eval", path, leads, "--as-of", AS_OF, "--engine", "duckdb"])
    assert python == duck
    assert [(d["stage"], d["scores"]["fit"]) for d in python] == [
        ("mql", 0), ("mql", 0), ("mql", 0), ("mql", 20), ("mql", 20), ("mql", 20)]
    loaded = policy.load(path)
    at = datetime(2026, 11, 3, tzinfo=UTC)
    assert loaded.evaluate(LEADS[3], as_of=at).scores["fit"] == 20
    assert _run("sql", path, "--dialect", "spark").exit_code == 0
    assert _run("explain", path, leads + ":4", "--as-of", AS_OF).exit_code == 0
