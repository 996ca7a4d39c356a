"""`funnel init [DIR]`: a starter policy that checks and tests clean (spec section 9).

Copies the starter files shipped in ``funnel_cli/starter/`` into DIR: the policy in
``rules/`` (header, teams, calendar, funnel, a score, gates, a handoff, a recycle rule,
examples covering every rule, a schema and sample leads), a pre-commit configuration and
the GitHub Actions workflow of ``docs/ci/funnel-policy.yml``. It never overwrites: when a
file it would write exists, it writes nothing and exits 2 naming the files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .common import OK, fail_usage

STARTER = Path(__file__).parent / "starter"

#: starter file -> where it goes in DIR (the template names carry no leading dot, so
#: that packaging tools do not skip them)
FILES = {
    "policy.funnel": "rules/policy.funnel",
    "examples.funnel": "rules/examples.funnel",
    "lead.schema.json": "rules/lead.schema.json",
    "leads.jsonl": "rules/leads.jsonl",
    "pre-commit-config.yaml": ".pre-commit-config.yaml",
    "github-workflow.yml": ".github/workflows/funnel-policy.yml",
}


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", default=None, metavar="NAME",
              help="The policy's name (lowercase snake_case). Default: from DIR's name.")
def init(directory: str, name: str | None) -> None:
    """Start a new policy in DIR (default: the current folder).

    Writes rules/ (a policy with teams, a business-hours calendar, a funnel, a
    score, stage gates, a handoff with an SLA, examples, a lead schema and sample
    leads), a .pre-commit-config.yaml and a GitHub Actions workflow. The result
    passes `funnel check`, `funnel fmt --check` and `funnel test` as written. Nothing
    is overwritten.

    \b
    Examples:
      funnel init acme-funnel
      cd acme-funnel && funnel test rules
      funnel eval rules rules/leads.jsonl --format table

    Exit status: 0 the files were written; 2 a file already exists, DIR cannot be
    written, or NAME is not a valid policy name.
    """
    root = Path(directory)
    policy_name = name or _name_from(root)
    if not policy_name or not policy_name.isidentifier() or policy_name != policy_name.lower() \
            or not policy_name.isascii():
        fail_usage(f"{policy_name!r} is not a policy name: use lowercase letters, digits and "
                   "underscores (--name acme_inbound)")
    if not _parses_as_name(policy_name):
        fail_usage(f"{policy_name!r} is a word of the language: give the policy another "
                   "name with --name")
    targets = {src: root / dst for src, dst in FILES.items()}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing:
        fail_usage("not overwriting what is there: " + ", ".join(existing))
    try:
        for src, dst in targets.items():
            text = (STARTER / src).read_text("utf-8")
            if src == "policy.funnel":
                text = text.replace("policy starter ", f"policy {policy_name} ", 1)
            dst.parent.mkdir(parents=True, exist_ok=True)
            # exclusive creation: a file that appeared meanwhile is never overwritten
            with open(dst, "x", encoding="utf-8", newline="\n") as f:
                f.write(text)
    except OSError as exc:
        fail_usage(f"{exc.filename or root}: cannot write: {exc.strerror or exc}")
    import shlex

    from policy import terminal_text

    # a command to paste: the folder quoted for the shell, and no control character
    # (ESC, CR) of a folder name reaches the terminal; a name that starts with `-` is
    # written `./-rf`, or `cd` reads it as options (and `cd -` goes back instead)
    shown = f"./{directory}" if directory.startswith("-") else directory
    quoted = shlex.quote(shown)
    if terminal_text(quoted) != quoted:
        # a character the terminal must not get (ESC, a line break, a bidi override):
        # bash's $'…' with \xHH, which reaches the folder, where '…' with the visible
        # escape inside named another one
        quoted = "$'" + "".join(
            c if terminal_text(c) == c and c not in "'\\" else
            "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogateescape"))
            for c in shown) + "'"
    where = "" if os.path.abspath(directory) == os.getcwd() else f"cd {quoted} && "
    click.echo(f"wrote a starter policy `{policy_name}` in {terminal_text(str(root))}/rules, a "
               ".pre-commit-config.yaml and .github/workflows/funnel-policy.yml")
    click.echo("next:")
    click.echo(f"  {where}funnel check rules && funnel test rules")
    click.echo("  funnel eval rules rules/leads.jsonl --format table")
    click.echo("  funnel docs rules -o policy.html      # the page both teams sign")
    sys.exit(OK)


def _name_from(root: Path) -> str:
    """``acme-funnel`` -> ``acme_funnel``; a name that cannot be one -> ``starter``."""
    base = os.path.basename(os.path.abspath(root)).lower()
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in base)
    cleaned = "_".join(part for part in cleaned.split("_") if part)
    if not cleaned or cleaned[0].isdigit() or not cleaned.isidentifier() \
            or not _parses_as_name(cleaned):
        return "starter"
    return cleaned


#: Words that cannot name a policy (the reserved literals and the operators).
_NOT_NAMES = frozenset({"true", "false", "null", "none", "and", "or", "not", "in", "is", "if"})


def _parses_as_name(name: str) -> bool:
    """Whether ``policy NAME "…"`` parses: a reserved word such as ``true`` does not."""
    return name not in _NOT_NAMES
