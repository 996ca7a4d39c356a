"""`funnel init` (spec section 9, issue 14 row 16): a starter policy that checks, formats
and tests clean, with sample leads, a pre-commit configuration and the CI workflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_init_writes_a_policy_that_checks_formats_and_tests_clean(tmp_path: Path):
    target = tmp_path / "acme-funnel"
    result = run("init", target)
    assert result.exit_code == 0, result.output
    assert "funnel check rules && funnel test rules" in result.stdout
    rules = target / "rules"
    assert sorted(p.name for p in rules.iterdir()) == [
        "examples.funnel", "lead.schema.json", "leads.jsonl", "policy.funnel"]
    assert 'policy acme_funnel "Inbound funnel"' in (rules / "policy.funnel").read_text()
    check = run("check", rules, "--strict")
    assert (check.exit_code, check.stdout) == (0, "")
    assert run("fmt", "--check", rules).exit_code == 0
    tested = run("test", rules, "--min-coverage", "100")
    assert tested.exit_code == 0, tested.output
    assert "coverage: 100%" in tested.stdout
    # every declaration kind the spec names is there
    text = (rules / "policy.funnel").read_text()
    for word in ("\nteam ", "\ncalendar {", "\nfunnel ", "\nscore ", "\nstage ", "\nhandoff ",
                 'schema "lead.schema.json"', "  sla ", "\nrecycle "):
        assert word in text, word
    # the sample leads decide without a refusal
    decided = run("eval", rules, rules / "leads.jsonl", "--as-of", "2026-12-01T16:00:00Z")
    assert decided.exit_code == 0, decided.output
    records = [json.loads(x) for x in decided.stdout.splitlines()]
    assert len(records) == 8 and all("error" not in r for r in records)
    assert {r["stage"] for r in records} >= {"mql", "sal", "nurture", "lead"}
    # the workflow is the documented one; the pre-commit config uses the installed funnel
    workflow = target / ".github" / "workflows" / "funnel-policy.yml"
    assert workflow.read_text() == (ROOT / "docs" / "ci" / "funnel-policy.yml").read_text()
    assert "entry: funnel check rules" in (target / ".pre-commit-config.yaml").read_text()


def test_init_never_overwrites(tmp_path: Path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "policy.funnel").write_text("# mine\n")
    result = run("init", tmp_path)
    assert result.exit_code == 2
    assert "not overwriting what is there: " in result.stderr
    assert (tmp_path / "rules" / "policy.funnel").read_text() == "# mine\n"
    assert not (tmp_path / "rules" / "examples.funnel").exists()


def test_init_names_the_policy(tmp_path: Path):
    assert run("init", tmp_path / "a", "--name", "Bad-Name").exit_code == 2
    assert run("init", tmp_path / "b", "--name", "true").exit_code == 2  # a reserved word
    assert run("init", tmp_path / "true").exit_code == 0  # falls back to `starter`
    assert 'policy starter "' in (tmp_path / "true" / "rules" / "policy.funnel").read_text()


def test_the_starter_is_packaged():
    """A package of its own with every file as data (test_packaging checks every folder)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "funnel_cli.starter" in config["packages"]
    assert config["package-data"]["funnel_cli.starter"] == ["*"]


@pytest.mark.skipif(shutil.which("pre-commit") is None and not (
    Path(sys.executable).parent / "pre-commit").exists(),
    reason="pre-commit is not installed (pip install pre-commit): docs/ci/try-pre-commit.sh")
def test_the_starters_pre_commit_hooks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """pre-commit, run for real on the starter: the hooks pass on the starter and stop a
    commit of a policy with an error."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    repo = tmp_path / "repo"
    assert run("init", repo).exit_code == 0
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def sh(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True)

    sh("git", "init", "-q")
    sh("git", "add", "-A")
    ok = sh(pre_commit, "run", "--all-files")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    policy_file = repo / "rules" / "policy.funnel"
    policy_file.write_text(policy_file.read_text().replace("require fit >= 50",
                                                           "require fitt >= 50"))
    sh("git", "add", "-A")
    bad = sh(pre_commit, "run", "--all-files")
    assert bad.returncode == 1
    assert "E101" in bad.stdout
