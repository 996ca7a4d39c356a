"""The repository as a new user meets it (issue 14, row 18 and row 4): a licence file that
matches the package metadata, documentation that links only inside the repository, a
top-level `--help` whose summaries are not cut, and a release the pre-commit snippet names.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from click.testing import CliRunner

from cli.main import COMMANDS, main

ROOT = Path(__file__).parent.parent


def test_license_file_matches_the_package_metadata() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    # an SPDX string (PEP 639): the table form makes pip print a deprecation warning
    assert meta["project"]["license"] == "MIT"
    assert meta["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text


def _links(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", markdown)


def test_markdown_links_stay_inside_the_repository() -> None:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "rules").glob("*.md"))]
    for md in files:
        text = md.read_text("utf-8")
        assert "/work/" not in text, f"{md.name} names a path of the development machine"
        for link in _links(text):
            if re.match(r"[a-z]+:", link) or link.startswith("#"):
                continue
            target = (md.parent / link.split("#")[0]).resolve()
            assert target.is_relative_to(ROOT), f"{md.name} links {link} outside the repo"
            assert target.exists(), f"{md.name} links {link}, which does not exist"


def test_top_level_help_does_not_cut_summaries() -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=100)
    assert result.exit_code == 0
    commands = result.stdout.split("Commands:", 1)[1]
    assert "..." not in commands and "…" not in commands
    assert "check    Parse and check the policy at PATH (a directory of *.funnel files," \
        in commands
    for name in COMMANDS:
        assert re.search(rf"^  {name}\b", commands, re.M), name


def test_pre_commit_snippet_names_the_released_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"rev: v{version}" in readme
    assert f"rev: v{version}" in (ROOT / ".pre-commit-hooks.yaml").read_text("utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert re.search(rf"^## v{re.escape(version)} ", changelog, re.M)
