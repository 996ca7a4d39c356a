"""Past the error cap every report says how many errors it left out.

The loader keeps the first ``MAX_ERRORS`` errors (sorted by place) and every warning;
``funnel check`` in text, JSON and GitHub form, the commands that load a policy, and the
library's ``PolicyError`` all say "… and N more errors" for the rest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import policy
from cli import test_cmd
from cli.check import check
from policy.model.loader import load_model
from policy.syntax.diagnostics import (
    MAX_ERRORS,
    cap_errors,
    error,
    omitted_line,
    render_all,
    warning,
)
from policy.syntax.nodes import Span

HEAD = """\
policy demo "Demo"
team marketing "@demo/marketing"
funnel lead
stage lead "Known" owned by marketing {
  require email is present
}
"""


def write_policy(folder: Path, bad: int) -> Path:
    """A policy with ``bad`` E113 errors (names that are not snake_case) and nothing else."""
    lines = [HEAD] + [f"define Bad{i} = email is present\n" for i in range(bad)]
    # the stage uses every define, so the only diagnostics are the E113s
    uses = " or ".join(f"Bad{i}" for i in range(bad))
    text = "".join(lines).replace("require email is present",
                                  f"require {uses}" if bad else "require email is present")
    (folder / "p.funnel").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    return CliRunner()


def test_cap_errors_counts_what_it_leaves_out():
    at = [Span("f", line, 1, line, 2) for line in range(1, 20)]
    diags = [error("E113", f"e{i}", at[i]) for i in range(14)] + [warning("W201", "w", at[18])]
    kept, omitted = cap_errors(diags + diags[:3])  # repeats are dropped, not counted
    assert omitted == 14 - MAX_ERRORS
    assert [d.message for d in kept] == [f"e{i}" for i in range(MAX_ERRORS)] + ["w"]
    assert cap_errors(diags[:MAX_ERRORS]) == (diags[:MAX_ERRORS], 0)


@pytest.mark.parametrize("omitted, line", [(1, "… and 1 more error"), (5, "… and 5 more errors")])
def test_the_line_says_how_many(omitted: int, line: str):
    assert omitted_line(omitted) == line
    assert render_all([], {}, omitted=omitted) == line
    assert render_all([], {}, omitted=0) == ""


def test_the_loader_keeps_ten_errors_and_counts_the_rest(tmp_path: Path):
    result = load_model(write_policy(tmp_path, 15))
    codes = [d.code for d in result.diagnostics]
    assert codes == ["E113"] * MAX_ERRORS
    assert result.omitted == 5


def test_text_format_ends_with_the_left_out_count(runner: CliRunner, tmp_path: Path):
    write_policy(tmp_path, 15)
    result = runner.invoke(check, ["."])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[-2:] == ["… and 5 more errors", "10 errors"]
    assert result.stdout.count("error[E113]") == MAX_ERRORS


def test_at_the_cap_exactly_nothing_is_said(runner: CliRunner, tmp_path: Path):
    write_policy(tmp_path, MAX_ERRORS)
    result = runner.invoke(check, ["."])
    assert "more error" not in result.stdout
    assert result.stdout.splitlines()[-1] == "10 errors"
    payload = json.loads(runner.invoke(check, [".", "--format", "json"]).stdout)
    assert "omitted_errors" not in payload


def test_json_format_counts_the_left_out_errors(runner: CliRunner, tmp_path: Path):
    write_policy(tmp_path, 15)
    result = runner.invoke(check, [".", "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["errors"], payload["warnings"], payload["omitted_errors"]) == (10, 0, 5)
    assert len(payload["diagnostics"]) == 10


def test_github_format_adds_one_notice(runner: CliRunner, tmp_path: Path):
    write_policy(tmp_path, 12)
    result = runner.invoke(check, [".", "--format", "github"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len([x for x in lines if x.startswith("::error ")]) == MAX_ERRORS
    assert lines[-1] == ("::notice title=funnel check::… and 2 more errors (funnel check "
                         "shows the first 10; fix them and run it again)")


def test_commands_that_load_a_policy_say_it_too(runner: CliRunner, tmp_path: Path):
    write_policy(tmp_path, 11)
    result = runner.invoke(test_cmd.test, ["."])
    assert result.exit_code == 1
    assert "… and 1 more error\n" in result.stderr


def test_the_library_error_holds_every_error(tmp_path: Path):
    # spec section 8: "raises policy.PolicyError with all diagnostics"; only its text,
    # like funnel check's, stops at the cap
    write_policy(tmp_path, 15)
    with pytest.raises(policy.PolicyError) as info:
        policy.load(tmp_path)
    exc = info.value
    assert [d.code for d in exc.diagnostics] == ["E113"] * 15
    assert exc.omitted == 5
    assert re.search(r"\(and 14 more errors\)$", str(exc))
    rendered = exc.render()
    assert rendered.count("error[E113]") == MAX_ERRORS
    assert rendered.endswith("\n… and 5 more errors")
