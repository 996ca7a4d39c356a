"""The sessions that a reader copies from the documentation print what the page shows.

Every ```console block of README.md and docs/*.md that starts with `$ funnel …` is run
(from the repository's root, on the example policy in rules/) and each line the page
shows must appear in the output, in order; a line `…` stands for lines left out. A
page that drifted from the example policy (docs/testing.md said `examples.funnel:15` and
`31 passed` of a policy with 35 examples, the first at line 19) fails here."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def sessions() -> list[tuple[str, str, list[str]]]:
    """(where, command, shown lines) of every console block that runs `funnel`."""
    found = []
    for page in PAGES:
        text = page.read_text("utf-8")
        for m in re.finditer(r"^```console\n(.*?)^```", text, re.S | re.M):
            first, *shown = m.group(1).rstrip("\n").split("\n")
            if first.startswith("$ funnel "):
                line = text[:m.start()].count("\n") + 1
                found.append((f"{page.name}:{line}", first[2:], shown))
    return found


def test_the_pages_hold_sessions_to_check():
    where = {w.split(":")[0] for w, _, _ in sessions()}
    assert {"README.md", "testing.md"} <= where


@pytest.mark.parametrize(("where", "command", "shown"), sessions(),
                         ids=[w for w, _, _ in sessions()])
def test_a_documented_session_prints_what_the_page_shows(where: str, command: str,
                                                         shown: list[str], monkeypatch):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(main, args, terminal_width=100)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    out = result.stdout.splitlines()
    at = 0
    for line in shown:
        if line.strip() == "…":
            continue
        try:
            at = out.index(line, at) + 1
        except ValueError:
            pytest.fail(f"{where}: `{command}` does not print, in this order: {line!r}")


#: The options of the examples that take a value (not a file to look for).
_VALUED = {"--as-of", "--format", "-k", "--min-coverage", "--id", "--by", "--cohort",
           "--period", "--engine", "--jobs", "-j", "--local-tz", "--input-format"}


def help_examples() -> list[tuple[str, list[str]]]:
    """(command, argv) of every example in `funnel --help` and each command's `--help`
    that runs on this repository as it stands: its files exist (the example policy in
    rules/), it writes no file (no `-o`, no `init`, no `fmt` that rewrites) and has no
    pipe or redirection."""
    from funnel_cli.main import COMMANDS

    found = []
    for name in ["", *COMMANDS]:
        args = [name, "--help"] if name else ["--help"]
        text = CliRunner().invoke(main, args, terminal_width=200).stdout
        for line in text.split("Examples:", 1)[-1].splitlines():
            command = line.split("  #")[0].strip()
            if not command.startswith("funnel ") or any(c in command for c in "|>&"):
                continue
            argv = shlex.split(command)[1:]
            if argv[0] == "init" or "-o" in argv or (
                    argv[0] == "fmt" and not {"--check", "--diff"} & set(argv)):
                continue
            if argv[0] in ("diff", "sql"):  # a git revision; a statement of 110,000 lines
                continue
            values = {i + 1 for i, a in enumerate(argv) if a in _VALUED}
            named = [a.split(":")[0] for i, a in enumerate(argv) if i > 0
                     and i not in values and not a.startswith(("-", "{"))]
            if all((ROOT / a).exists() for a in named):
                found.append((command, argv))
    return found


def test_the_help_holds_examples_to_run():
    commands = [c for c, _ in help_examples()]
    assert "funnel explain rules rules/leads.jsonl:3" in commands
    assert any(c.startswith("funnel explain rules '{") for c in commands)


@pytest.mark.parametrize(("command", "argv"), help_examples(), ids=[c for c, _ in help_examples()])
def test_a_help_example_runs_on_the_example_policy(command: str, argv: list[str], monkeypatch):
    """`funnel explain rules '{"lead_id": "L-1", "created_at": "2026-11-01"}'` was refused
    by the example policy (its schema wants a date-time there): a reader who copies an
    example gets a decision, or the refused leads the sample holds on purpose (exit 1)."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code != 2, result.output
    if argv[0] == "explain":
        assert result.exit_code == 0, result.output
