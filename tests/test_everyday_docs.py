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
