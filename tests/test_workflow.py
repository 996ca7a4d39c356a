"""The GitHub Actions workflow of docs/ci/funnel-policy.yml, run for real (issue 14 rows
5 and 12): its `run:` steps execute with bash, in order and with the workflow's `if:`
rules, in a throw-away git repository made in a temporary folder. `pip` and `gh` are
stand-ins on PATH (nothing is installed; `gh` records the comment it would post); `funnel`
is the one installed beside this interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

HERE = Path(__file__).parent
WORKFLOW = HERE.parent / "docs" / "ci" / "funnel-policy.yml"
POLICY_DIR = HERE / "golden" / "docs" / "policy"
BASE_TEXT = (POLICY_DIR / "policy.funnel").read_text("utf-8")
SCHEMA = (POLICY_DIR / "lead.schema.json").read_text("utf-8")
BASE_TIME = "2026-11-20T09:30:00+00:00"

LEADS = [
    {"lead_id": "W-1", "email": "a@big.com", "job_level": "vp", "webinars_attended": 2,
     "mql_at": "2026-11-19T14:00:00Z"},
    {"lead_id": "W-2", "email": "b@big.com", "job_level": "director", "webinars_attended": 3},
    {"lead_id": "W-3", "email": "c@big.com", "job_level": "c-level", "webinars_attended": 0,
     "company": {"employees": 5000}},
]


def git(repo: Path, *args: str, when: str = BASE_TIME) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`main` holds the policy (committed at BASE_TIME, and known as `origin/main`, as after
    actions/checkout with fetch-depth 0); the work tree is the pull request's branch."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    r = tmp_path / "repo"
    (r / "rules").mkdir(parents=True)
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "user.name", "CI")
    git(r, "config", "user.email", "ci@funnel.invalid")
    (r / "rules" / "policy.funnel").write_text(BASE_TEXT, "utf-8")
    (r / "rules" / "lead.schema.json").write_text(SCHEMA, "utf-8")
    (r / "rules" / "leads.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LEADS))
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "the policy")
    git(r, "update-ref", "refs/remotes/origin/main", "main")
    git(r, "checkout", "-q", "-b", "change")
    return r


def expand(text: str, context: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: context[m.group(1)], text)


def condition_holds(cond: str | None, failed: bool, cwd: Path) -> bool:
    """The few `if:` forms the workflow uses: always(), hashFiles('f') != '', and &&."""
    if cond is None:
        return not failed
    ok = True
    for part in (p.strip() for p in cond.split("&&")):
        if part == "always()":
            continue
        m = re.fullmatch(r"hashFiles\('([^']+)'\) != ''", part)
        assert m, f"unknown condition {part!r}: teach this test about it"
        ok = ok and (cwd / m.group(1)).exists()
    if "always()" not in cond:
        ok = ok and not failed
    return ok


def run_workflow(repo: Path, tmp_path: Path, base_ref: str = "main") -> dict:
    """Run every `run:` step; returns step outcomes, the step summary and posted comments."""
    flow = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    context = {"github.base_ref": base_ref, "github.event.pull_request.number": "7",
               "github.token": "not-a-token"}
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    posted = tmp_path / "posted"
    posted.mkdir(exist_ok=True)
    (bin_dir / "pip").write_text("#!/bin/sh\nexit 0\n")
    # `gh pr comment N --body-file F`: keep a copy of F, as GitHub would post it
    (bin_dir / "gh").write_text(
        '#!/bin/sh\n[ "$1 $2" = "pr comment" ] || exit 3\n'
        f'n=$(ls "{posted}" | wc -l)\n'
        'while [ $# -gt 0 ]; do if [ "$1" = --body-file ]; then '
        f'cp "$2" "{posted}/$n.md"; fi; shift; done\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    summary = tmp_path / "summary.md"
    summary.write_text("")
    env = {**os.environ,
           "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
                   + os.environ["PATH"],
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(repo),
           "NO_COLOR": "1"}
    env.update({k: expand(str(v), context) for k, v in flow["env"].items()})
    failed = False
    outcomes: dict[str, int | None] = {}
    for step in flow["jobs"]["policy"]["steps"]:
        name = step.get("name") or step.get("uses")
        if "run" not in step:
            outcomes[name] = None  # an action (checkout, setup-python, reports): not run here
            continue
        if not condition_holds(step.get("if"), failed, repo):
            outcomes[name] = None
            continue
        step_env = {**env, **{k: expand(str(v), context) for k, v in step.get("env", {}).items()}}
        # GitHub runs `run:` with `bash --noprofile --norc -eo pipefail {0}`
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               expand(step["run"], context)],
                              cwd=repo, env=step_env, capture_output=True, text=True)
        outcomes[name] = proc.returncode
        failed = failed or proc.returncode != 0
    comments = [p.read_text("utf-8") for p in sorted(posted.iterdir())]
    return {"steps": outcomes, "summary": summary.read_text("utf-8"), "comments": comments}


def test_a_head_that_does_not_load_gets_a_comment_with_its_diagnostics(repo, tmp_path):
    (repo / "rules" / "policy.funnel").write_text(
        BASE_TEXT.replace("require fit >= 40", "require fit >== 40"), "utf-8")
    out = run_workflow(repo, tmp_path)
    assert out["steps"]["check"] == 1
    assert out["steps"]["impact of the change"] == 1
    assert out["steps"]["comment on the pull request"] == 0
    [comment] = out["comments"]
    assert comment.startswith("### Policy change: `working tree` does not load")
    assert "error[E100]" in comment and "rules/policy.funnel:" in comment
    assert "require fit >== 40" in comment  # the source line under the caret
    assert comment in out["summary"]


def test_the_comment_is_fixed_at_the_base_commits_time_and_nudges_the_version(repo, tmp_path):
    (repo / "rules" / "policy.funnel").write_text(
        BASE_TEXT.replace('require fit >= 40 "fit below 40"', 'require fit >= 30 "fit below 30"'),
        "utf-8")
    first = run_workflow(repo, tmp_path)
    assert first["steps"]["check"] == 0 and first["steps"]["impact of the change"] == 0
    [comment] = first["comments"]
    assert "#### Impact on 3 leads at `2026-11-20T09:30:00Z`" in comment
    assert "> [!WARNING]" in comment and "`version` is still `1.0.0`" in comment
    # a re-run (later, on another runner) posts the very same comment
    for f in (tmp_path / "posted").iterdir():
        f.unlink()
    second = run_workflow(repo, tmp_path)
    assert second["comments"] == [comment]
    # bumping the version silences the nudge
    (repo / "rules" / "policy.funnel").write_text(
        (repo / "rules" / "policy.funnel").read_text("utf-8")
        .replace('version "1.0.0"', 'version "1.1.0"'), "utf-8")
    for f in (tmp_path / "posted").iterdir():
        f.unlink()
    bumped = run_workflow(repo, tmp_path)
    assert "[!WARNING]" not in bumped["comments"][0]


def test_a_diff_that_cannot_start_still_explains_itself(repo, tmp_path):
    (repo / "rules" / "policy.funnel").write_text(BASE_TEXT + "\n# a comment\n", "utf-8")
    out = run_workflow(repo, tmp_path, base_ref="no-such-branch")
    assert out["steps"]["impact of the change"] != 0
    [comment] = out["comments"]
    assert comment.startswith("### funnel diff could not run")
    assert "no-such-branch" in comment
