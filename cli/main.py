"""The `funnel` command: one thin sub-command per module in this package.

Sub-commands parse arguments, call `policy.*`, render, and choose an exit
status. Exit status is a contract (spec section 9): 0 all good; 1 the input
was read and problems were found; 2 bad usage or input that cannot be read.
"""

from __future__ import annotations

import importlib

import click

#: sub-command name -> "module:function" inside this package (loaded lazily so
#: `funnel check` does not pay for importing the engine).
COMMANDS = {
    "init": "init_cmd:init",
    "check": "check:check",
    "fmt": "fmt:fmt",
    "test": "test_cmd:test",
    "eval": "eval_cmd:eval_",
    "explain": "explain_cmd:explain",
    "diff": "diff_cmd:diff",
    "docs": "docs_cmd:docs",
    "report": "report_cmd:report",
    "sql": "sql_cmd:sql",
}

#: Each command's summary in `funnel --help` (the first sentence of its docstring), so
#: that the list does not import every command and what it imports (the engine, DuckDB's
#: glue, the report's charts). tests/test_everyday_cli.py checks each against the
#: command's own.
SUMMARIES = {
    "init": "Start a new policy in DIR (default: the current folder).",
    "check": "Parse and check the policy at PATH (a directory of *.funnel files, or one file).",
    "fmt": "Rewrite policy files in the one canonical layout, every comment kept.",
    "test": "Run every example in the policy at PATH and check its expectations.",
    "eval": "Decide every lead in LEADS with the policy at PATH.",
    "explain": "Show how the policy at PATH decides one LEAD, rule by rule.",
    "diff": "Compare two versions of a policy by meaning, not by text.",
    "docs": "Write the policy at PATH as a readable document.",
    "report": "How the funnel the policy at PATH agreed on performs on the leads in LEADS.",
    "sql": "Print the policy at PATH as one SQL statement that decides every row of a leads "
           "table, in the tabular form (one row per lead: scores, stage, handoffs, "
           "violations, errors).",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._exists(name)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole first sentence: click's default cuts summaries at
        45 characters with "...", which hid what `check`, `fmt` and `test` are for."""
        rows = []
        for name in self.list_commands(ctx):
            summary = SUMMARIES.get(name)
            if summary is None:  # a command without a summary here: ask it
                cmd = self.get_command(ctx, name)
                if cmd is None or cmd.hidden:
                    continue
                summary = cmd.get_short_help_str(limit=10_000)
            rows.append((name, summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        # One place for Ctrl-C and SIGTERM: exit 130 with one line, atomic writers
        # having removed their temporary files on the way out.
        # And for a full disk under the working files (output.disk_full).
        # A standard stream closed at the start (`>&-`) fails like one that fails later.
        from .output import closed_streams, disk_full, interruptible

        closed_streams()
        with interruptible(), disk_full():
            return super().invoke(ctx)

    def _exists(self, name: str) -> bool:
        """Whether the command's module is there, without importing it."""
        from importlib.util import find_spec

        target = COMMANDS.get(name)
        return target is not None and \
            find_spec(f"{__package__}.{target.split(':')[0]}") is not None

    def _load(self, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.{module_name}":
                return None  # not built yet
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="funnel-policy", prog_name="funnel")
def main() -> None:
    """Rules as code for the marketing-to-sales funnel.

    \b
    Examples:
      funnel check rules
      funnel eval rules rules/leads.jsonl --format table
      funnel explain rules rules/leads.jsonl:3
    """


if __name__ == "__main__":  # pragma: no cover
    main()
