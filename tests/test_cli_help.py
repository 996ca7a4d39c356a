"""`funnel --help` lists every command from cli/main.py's table of summaries, without
importing the commands: each summary must be the command's own first sentence."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from funnel_cli.main import COMMANDS, SUMMARIES, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_the_commands_own(name):
    command = main.get_command(click.Context(main), name)
    assert command is not None and not command.hidden
    assert SUMMARIES[name] == command.get_short_help_str(limit=10_000)


def test_help_lists_every_command_without_importing_them():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.startswith("  ") and not line.startswith("   ")]
    assert listed == list(COMMANDS)
    code = ("import sys; from funnel_cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('funnel_cli.', 'policy.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out == "['funnel_cli.main']"
