"""`funnel diff`: semantic changes, owners and approvals, revisions, impact on leads.

Every repository here is a real git repository made in a temporary folder, with
pinned identities and dates so commit ids (and so the golden output) are stable.
The policy under test is ``tests/golden/docs/policy`` (three teams; ``lead`` and
``mql`` jointly owned by marketing and sdr). Golden files: ``UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACME, NO_ACME

import policy
from cli.diff_cmd import diff as diff_cmd
from policy.engine.timestamps import parse_timestamp
from policy.io.leads import read_records, text_stream
from policy.model.loader import load_model
from policy.model.ownership import Ownership, declaration_label, owners
from policy.review.impact import REFUSED, measure
from policy.review.revisions import RevisionError, open_policy
from policy.review.semdiff import semantic_diff
from policy.syntax import nodes as n

HERE = Path(__file__).parent
POLICY_DIR = HERE / "golden" / "docs" / "policy"
GOLDEN = HERE / "golden" / "diff"
AS_OF = "2026-12-01T16:00:00Z"
BASE_TEXT = (POLICY_DIR / "policy.funnel").read_text("utf-8")
SCHEMA = (POLICY_DIR / "lead.schema.json").read_text("utf-8")

# The same policy in another layout: split over two files, declarations moved,
# spacing and indentation changed, a define broken over two lines, a number spelled
# 1_000, comments everywhere. Not one change of meaning.
REFORMATTED_MAIN = """\
# Demo policy, rearranged.
policy   demo_b2b   "Demo B2B funnel"   # the header
version "1.0.0"
id lead_id
schema "lead.schema.json"

team sales "@demo/sales"
team marketing "@demo/marketing"
team sdr "@demo/sdr"

funnel lead -> mql ->
  sal -> sql

# vocabulary, in another order
define priority "enterprise, or asked for a demo" =
    enterprise or demo_requested
define enterprise "1,000+ employees" = company.employees >= 1_000
define personal "a free webmail address" = domain(email) in free_mail
define free_mail = ["gmail.com",
                    "yahoo.com"]

stage sql "Sales qualified lead" owned by sales {
    require budget_confirmed   # BANT, short version
}
stage sal "Sales accepted lead" owned by sdr {
    require accepted_at is present
}
stage mql "Marketing qualified lead" owned by marketing, sdr {
    # the threshold both teams agreed
    require fit>=40 "fit below 40"
    exclude competitor "competitors are never qualified"
    keep when mql_at is present
}
stage lead "Known, contactable person" owned by marketing, sdr {
    require email is present "no email address"
}

state disqualified "Never to be worked" owned by marketing
state nurture "Back with marketing" owned by marketing

score fit "Firmographic fit, 0 to 100" owned by marketing, sdr {
    +30 if job_level in ["vp", "c-level"]
    +20 if enterprise
    +5 per webinars_attended up to 15
    -20 if personal
    range 0 to 100
}
"""
REFORMATTED_HANDOFFS = """\
# Handoffs and recycling moved to their own file.
calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
  holidays "2026-11-26"
}

handoff sal to sales {
  route "ae-priority" if priority
  route "ae-pool" otherwise
  sla 2 days from accepted_at until opp_at
}

handoff mql to sdr {
  route "fast-lane" if demo_requested  # hand-raisers first
  route "sdr-pool" otherwise
  sla 4 business hours from mql_at until accepted_at, rejected_at
  escalate to "sdr-managers" after 8 business hours
  reject to nurture with reason rejection_reason in ["bad fit",
                                                     "no budget"]
}

recycle sal, sql to nurture if days_since(last_activity_at) > 30 "stalled: no activity for 30 days"
recycle lead to disqualified if competitor "competitor"

example "A VP with two webinars is an MQL in the SDR pool" {
  at "2026-12-01T16:00:00Z"
  lead {"lead_id": "D-1", "email": "dana@bigco.com", "job_level": "vp", "webinars_attended": 2}
  expect stage mql
  expect score fit 40
  expect route "sdr-pool"
}
"""


# --------------------------------------------------------------------------- helpers


class Repo:
    """A git repository in a temporary folder, with pinned identity and dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ticks = 0
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Funnel Tests")
        self.git("config", "user.email", "tests@funnel.invalid")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        date = f"2026-11-01T12:{self.ticks:02d}:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        proc = subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True,
                              text=True, check=True)
        return proc.stdout

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def commit(self, message: str) -> str:
        self.ticks += 1
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A repository whose first commit holds the test policy in ``rules/``."""
    # the user's own git configuration must not leak in (signing, hooks, templates)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    r = Repo(tmp_path / "repo")
    r.write("rules/policy.funnel", BASE_TEXT)
    r.write("rules/lead.schema.json", SCHEMA)
    r.write("README.md", "demo\n")
    r.commit("the policy")
    monkeypatch.chdir(r.path)
    return r


def run_diff(*args: str):
    result = CliRunner().invoke(diff_cmd, list(args), catch_exceptions=False)
    return result


def json_diff(*args: str) -> dict:
    result = run_diff(*args, "--format", "json")
    assert result.stderr == ""
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def write_leads(path: Path, count: int = 300, seed: int = 5) -> list[dict]:
    """Leads around the MQL threshold: vp (30) plus 0-3 webinars (5 each), some demos."""
    rng = random.Random(seed)
    leads = []
    for i in range(count):
        lead = {"lead_id": f"T-{i:04d}", "email": f"p{i}@co{i % 7}.com",
                "job_level": rng.choice(["vp", "director", "c-level", "manager"]),
                "webinars_attended": rng.randint(0, 4),
                "company": {"employees": rng.choice([50, 400, 2000])},
                "demo_requested": rng.random() < 0.3}
        if rng.random() < 0.3:
            lead["mql_at"] = "2026-12-01T14:00:00Z"
        if rng.random() < 0.1:
            lead["email"] = f"p{i}@gmail.com"
        if i % 50 == 0:
            lead["webinars_attended"] = -1  # refused by the schema (minimum 0)
        leads.append(lead)
    path.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")
    return leads


def separately(base_dir: Path, head_dir: Path, leads: list[dict]) -> list[tuple]:
    """(lead, base placement, head placement, base decision, head decision) per lead,
    each version evaluated on its own, lead by lead."""
    from datetime import datetime

    at = datetime.fromisoformat(AS_OF.replace("Z", "+00:00"))
    a, b = policy.load(base_dir), policy.load(head_dir)
    out = []
    for lead in leads:
        res = []
        for p in (a, b):
            try:
                d = p.evaluate(lead, as_of=at)
                res.append((d.stage or "none", d))
            except policy.LeadError:
                res.append((REFUSED, None))
        out.append((lead, res[0][0], res[1][0], res[0][1], res[1][1]))
    return out


# --------------------------------------------------------------------------- owners


def small_model():
    result = load_model(POLICY_DIR)
    assert result.ok, result.diagnostics
    return result.model


def test_owners_follow_the_spec_for_every_kind_of_declaration():
    model = small_model()
    own = Ownership(model)
    every = {"marketing", "sdr", "sales"}
    by_label = {}
    for located in model.all_decls():
        by_label[declaration_label(located.decl)] = own.of(located.decl)
    assert by_label["score fit"] == {"marketing", "sdr"}
    assert by_label["stage lead"] == {"marketing", "sdr"}
    assert by_label["stage sql"] == {"sales"}
    assert by_label["state nurture"] == {"marketing"}
    # a handoff: its stage's owners and the team it hands to
    assert by_label["handoff mql"] == {"marketing", "sdr"}
    assert by_label["handoff sal"] == {"sdr", "sales"}
    # a recycle rule: the stages it takes leads from and its target state
    assert by_label["recycle sal, sql to nurture"] == every
    assert by_label["recycle lead to disqualified"] == {"marketing", "sdr"}
    # the calendar: handoffs with a business-time SLA only (sal's SLA is in plain days)
    assert by_label["calendar"] == {"marketing", "sdr"}
    # a define: every block that uses it, directly or through other defines
    assert by_label["define priority"] == {"sdr", "sales"}
    assert by_label["define enterprise"] == every  # fit directly, handoff sal via priority
    assert by_label["define free_mail"] == {"marketing", "sdr"}  # via personal, in fit
    for label in ("policy", "version", "schema", "id", "funnel", "team sdr"):
        assert by_label[label] == every, label
    assert by_label['example "A VP with two webinars is an MQL in the SDR pool"'] == set()


def test_owners_function_and_fallback_to_every_team_for_an_unused_define():
    model = small_model()
    stage = model.stages["mql"]
    assert owners(model, stage) == {"marketing", "sdr"}
    unused = n.Define(name=n.Ident("nobody_uses_me"), description=None, value=n.Number(1))
    assert owners(model, unused) == {"marketing", "sdr", "sales"}


@pytest.mark.skipif(not ACME.is_dir(), reason=NO_ACME)
def test_owners_of_the_conformance_policy():
    result = load_model(ACME)
    assert result.model is not None
    own = Ownership(result.model)
    m = result.model
    assert own.of(m.scores["fit"]) == {"marketing", "sales"}
    assert own.of(m.handoffs[0]) == {"marketing", "sales"}
    # `enterprise` is used by score fit (marketing, sales) and the handoff's route
    assert own.of(m.defines["enterprise"]) == {"marketing", "sales"}
    # `target_countries` only by fit; `free_email_domains` only by fit
    assert own.of(m.defines["target_countries"]) == {"marketing", "sales"}


# --------------------------------------------------------------------------- semantic diff


def test_a_commit_that_only_reformats_and_recomments_is_no_change(repo: Repo):
    repo.write("rules/policy.funnel", REFORMATTED_MAIN)
    repo.write("rules/handoffs.funnel", REFORMATTED_HANDOFFS)
    repo.commit("reformat, re-comment, split in two files")
    assert repo.git("diff", "--stat", "HEAD~1", "HEAD").strip()  # the text did change

    result = run_diff("HEAD~1", "HEAD", "--fail-on-change")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "no semantic change; no approval needed"

    data = json_diff("HEAD~1", "HEAD", "--fail-on-change")
    assert data["changed"] is False
    assert data["changes"] == []
    assert data["approvals"] == []
    assert data["examples"] == []
    # (the digests differ: the spec hashes declarations in file then source order,
    # and this commit moved some to another file)
    # HEAD defaults to the working tree, which is the same commit here
    assert run_diff("HEAD~1", "--fail-on-change").exit_code == 0


def test_raising_a_threshold_in_a_jointly_owned_stage(repo: Repo, tmp_path: Path):
    raised = BASE_TEXT.replace('require fit >= 40 "fit below 40"',
                               'require fit >= 50 "fit below 50"')
    repo.write("rules/policy.funnel", raised)
    leads = write_leads(repo.path / "rules" / "leads.jsonl")
    repo.commit("raise the MQL fit threshold to 50")

    result = run_diff("HEAD~1", "--leads", "rules/leads.jsonl", "--as-of", AS_OF,
                      "--format", "json", "--fail-on-change")
    assert result.exit_code == 1  # the meaning changed
    data = json.loads(result.stdout)
    assert [(c["kind"], c["declaration"], c["owners"]) for c in data["changes"]] == [
        ("changed", "stage mql", ["marketing", "sdr"])]
    assert data["changes"][0]["lines"] == [{
        "kind": "changed",
        "old": 'require fit >= 40 "fit below 40"',
        "new": 'require fit >= 50 "fit below 50"',
    }]
    assert data["changes"][0]["where"] == "rules/policy.funnel:40"
    assert data["approvals"] == [
        {"team": "marketing", "handle": "@demo/marketing", "for": ["stage mql"]},
        {"team": "sdr", "handle": "@demo/sdr", "for": ["stage mql"]},
    ]

    # the leads that move are exactly those whose placement differs when each version
    # decides them on its own
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / "policy.funnel").write_text(BASE_TEXT, encoding="utf-8")
    (base_dir / "lead.schema.json").write_text(SCHEMA, encoding="utf-8")
    each = separately(base_dir, repo.path / "rules", leads)
    moved = [x for x in each if x[1] != x[2]]
    impact = data["impact"]
    assert impact["moved"] == len(moved) > 0
    assert impact["leads"] == len(leads)
    matrix = {(t["from"], t["to"]): t["count"] for t in impact["placements"]}
    expected: dict[tuple[str, str], int] = {}
    for _, a, b, _, _ in each:
        expected[(a, b)] = expected.get((a, b), 0) + 1
    assert matrix == expected
    assert matrix[(REFUSED, REFUSED)] == 6  # every 50th lead breaks the schema
    moves = [t for t in impact["placements"] if t["from"] != t["to"]]
    assert [(t["from"], t["to"]) for t in moves] == [("mql", "lead")]
    assert moves[0]["samples"] == [x[0]["lead_id"] for x in moved][:5]
    assert impact["scores"][0]["changed"] == 0  # a threshold moves no score


def test_renaming_a_route(repo: Repo):
    repo.write("rules/policy.funnel",
               BASE_TEXT.replace('route "sdr-pool" otherwise', 'route "sdr-queue" otherwise')
               .replace('expect route "sdr-pool"', 'expect route "sdr-queue"'))
    leads = write_leads(repo.path / "leads.jsonl")
    repo.commit("rename the SDR pool")

    data = json_diff("HEAD~1", "--leads", "leads.jsonl", "--as-of", AS_OF)
    changes = data["changes"]
    assert [(c["declaration"], c["owners"]) for c in changes] == [
        ("handoff mql", ["marketing", "sdr"])]
    assert changes[0]["lines"] == [
        {"kind": "changed", "old": 'route "sdr-pool" otherwise',
         "new": 'route "sdr-queue" otherwise'}]
    assert [c["declaration"] for c in data["examples"]] == [
        'example "A VP with two webinars is an MQL in the SDR pool"']
    impact = data["impact"]
    assert impact["moved"] == 0
    decided = [x for x in separately(POLICY_DIR, repo.path / "rules", leads) if x[3] is not None]
    in_pool = [x for x in decided
               if x[3].handoff() is not None and x[3].handoff().route == "sdr-pool"]
    assert [(t["from"], t["to"], t["count"]) for t in impact["routes"]] == [
        ("sdr-pool", "sdr-queue", len(in_pool))]


def test_adding_a_stage(repo: Repo):
    added = (BASE_TEXT.replace("funnel lead -> mql -> sal -> sql",
                               "funnel lead -> mql -> sal -> sql -> won")
             .replace('state nurture "Back with marketing"',
                      'stage won "Closed won" owned by sales {\n'
                      '  require opp_at is present\n}\n\n'
                      'state nurture "Back with marketing"'))
    repo.write("rules/policy.funnel", added)
    repo.commit("add a won stage")

    data = json_diff("HEAD~1")
    assert [(c["kind"], c["declaration"], c["owners"]) for c in data["changes"]] == [
        ("changed", "funnel", ["marketing", "sales", "sdr"]),
        ("added", "stage won", ["sales"]),
    ]
    assert data["changes"][0]["lines"] == [{
        "kind": "changed", "old": "funnel lead -> mql -> sal -> sql",
        "new": "funnel lead -> mql -> sal -> sql -> won"}]
    assert data["changes"][1]["new"] == ('stage won "Closed won" owned by sales {\n'
                                         "  require opp_at is present\n}")
    assert [a["team"] for a in data["approvals"]] == ["marketing", "sales", "sdr"]
    text = run_diff("HEAD~1").stdout
    assert "  added stage won  [owners: sales]  (rules/policy.funnel:" in text
    assert "      + stage won \"Closed won\" owned by sales {" in text
    md = run_diff("HEAD~1", "--format", "markdown").stdout
    assert ("| added | `stage won` | added: `stage won \"Closed won\" owned by sales` | "
            "sales |") in md
    assert ("<details><summary>Added and removed declarations</summary>\n\n"
            "added `stage won`:\n\n```\nstage won \"Closed won\" owned by sales {\n"
            "  require opp_at is present\n}\n```\n") in md


def test_a_schema_change_needs_every_team(repo: Repo):
    repo.write("rules/lead.schema.json",
               SCHEMA.replace('"lead_id": {"type": "string"},',
                              '"lead_id": {"type": "string"},\n    "phone": {"type": "string"},'))
    repo.commit("schema: phone")
    data = json_diff("HEAD~1")
    assert data["changes"] == [{
        "kind": "changed", "declaration": "schema file",
        "owners": ["marketing", "sales", "sdr"], "where": None, "lines": [],
        "old": None, "new": None}]
    assert data["base"]["policy"]["digest"] != data["head"]["policy"]["digest"]


def test_semantic_diff_api_owners_on_both_sides_and_lines_inside_blocks(tmp_path: Path):
    head_text = (BASE_TEXT
                 .replace('stage sal "Sales accepted lead" owned by sdr {',
                          'stage sal "Sales accepted" owned by sdr, sales {')
                 .replace("hours 09:00 to 17:00", "hours 08:00 to 17:00")
                 .replace("up to 15", "up to 20")
                 .replace("  range 0 to 100\n", ""))
    (tmp_path / "policy.funnel").write_text(head_text, encoding="utf-8")
    (tmp_path / "lead.schema.json").write_text(SCHEMA, encoding="utf-8")
    head = load_model(tmp_path)
    assert head.ok, head.diagnostics
    d = semantic_diff(small_model(), head.model)
    got = {c.declaration: (c.owners, [(x.kind, x.old, x.new) for x in c.lines])
           for c in d.changes}
    assert got == {
        "calendar": (("marketing", "sdr"),
                     [("changed", "hours 09:00 to 17:00", "hours 08:00 to 17:00")]),
        "score fit": (("marketing", "sdr"),
                      [("changed", "+5 per webinars_attended up to 15",
                        "+5 per webinars_attended up to 20"),
                       ("removed", "range 0 to 100", None)]),
        # a new owner and the old ones all approve; a description is meaning too
        "stage sal": (("sales", "sdr"),
                      [("changed", 'stage sal "Sales accepted lead" owned by sdr',
                        'stage sal "Sales accepted" owned by sdr, sales')]),
    }
    assert [c.declaration for c in d.changes] == ["calendar", "score fit", "stage sal"]
    assert semantic_diff(small_model(), small_model()).changed is False


def test_an_examples_only_change_needs_no_approval(repo: Repo):
    more = BASE_TEXT.replace("expect score fit 40", "expect score fit 40\n  expect reached mql")
    repo.write("rules/policy.funnel", more)
    repo.commit("one more expectation")
    result = run_diff("HEAD~1", "--fail-on-change")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == (
        "no semantic change; no approval needed (1 example changed)")


def test_recycle_rules_in_another_order_are_a_change(repo: Repo):
    a = 'recycle sal, sql to nurture if days_since(last_activity_at) > 30 ' \
        '"stalled: no activity for 30 days"'
    b = 'recycle lead to disqualified if competitor "competitor"'
    repo.write("rules/policy.funnel", BASE_TEXT.replace(f"{a}\n{b}", f"{b}\n{a}"))
    repo.commit("swap")
    data = json_diff("HEAD~1")
    assert [(c["declaration"], c["owners"]) for c in data["changes"]] == [
        ("recycle order", ["marketing", "sales", "sdr"])]
    assert data["changes"][0]["lines"][0]["new"] == f"{b}\n{a}"


# --------------------------------------------------------------------------- revisions


def test_a_revision_that_does_not_exist_exits_2(repo: Repo):
    result = run_diff("no-such-branch")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("funnel: `no-such-branch` is neither a directory nor a "
                                    "revision of the git repository at ")


def test_outside_a_git_repository_a_revision_exits_2(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = run_diff("main")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("is not in a git repository")
    with pytest.raises(RevisionError, match="not in a git repository"):
        with open_policy("main", cwd=tmp_path):
            pass


def test_a_policy_path_missing_at_the_revision_exits_2(repo: Repo):
    result = run_diff("HEAD", "HEAD", "--policy", "nowhere")
    assert result.exit_code == 2
    assert result.stderr == "funnel: `nowhere` does not exist at `HEAD`\n"


def test_reading_a_revision_never_touches_the_work_tree(repo: Repo):
    repo.write("rules/policy.funnel", BASE_TEXT.replace(">= 40", ">= 45"))  # uncommitted
    before = repo.git("status", "--porcelain")
    head_before = repo.git("rev-parse", "HEAD")
    with open_policy("HEAD") as side:
        assert side.commit == head_before.strip()
        assert (side.path / "lead.schema.json").read_text("utf-8") == SCHEMA
        text = (side.path / "policy.funnel").read_text("utf-8")
        assert "fit >= 40" in text
        checkout = side.checkout
        assert side.display(str(side.path / "policy.funnel")) == "HEAD:rules/policy.funnel"
    assert not checkout.exists()  # the temporary copy is gone
    assert repo.git("status", "--porcelain") == before
    assert "fit >= 45" in (repo.path / "rules" / "policy.funnel").read_text("utf-8")
    data = json_diff("HEAD")
    assert data["changes"][0]["lines"][0]["new"] == 'require fit >= 45 "fit below 40"'


def test_a_schema_outside_the_policy_folder_comes_along(repo: Repo):
    repo.write("rules/policy.funnel",
               BASE_TEXT.replace('schema "lead.schema.json"', 'schema "../schemas/lead.json"'))
    (repo.path / "rules" / "lead.schema.json").unlink()
    repo.write("schemas/lead.json", SCHEMA)
    repo.commit("move the schema")
    with open_policy("HEAD") as side:
        result = load_model(side.path)
        assert result.ok, result.diagnostics
        assert result.model.schema is not None
    data = json_diff("HEAD~1", "HEAD")
    assert [c["declaration"] for c in data["changes"]] == ["schema"]


def test_a_version_with_errors_exits_1_and_names_the_revision(repo: Repo):
    repo.write("rules/policy.funnel", BASE_TEXT.replace("require fit >= 40", "require fitt >= 40"))
    repo.commit("typo")
    result = run_diff("HEAD", "--policy", "rules")
    assert result.exit_code == 1
    assert "HEAD:rules/policy.funnel:40:" in result.stderr
    assert "error[E101]" in result.stderr


def test_directories_are_compared_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    other = tmp_path / "other"
    other.mkdir()
    (other / "policy.funnel").write_text(BASE_TEXT.replace('"@demo/sdr"', '"@demo/sdr-team"'),
                                         encoding="utf-8")
    (other / "lead.schema.json").write_text(SCHEMA, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    data = json_diff(str(POLICY_DIR), "other")
    assert data["base"]["label"] == str(POLICY_DIR)
    assert data["base"]["revision"] is None
    assert [(c["declaration"], c["lines"][0]["new"]) for c in data["changes"]] == [
        ("team sdr", 'team sdr "@demo/sdr-team"')]
    # a handle comes from HEAD's team lines
    assert {a["team"]: a["handle"] for a in data["approvals"]}["sdr"] == "@demo/sdr-team"


# --------------------------------------------------------------------------- impact


def test_score_shifts_match_separate_evaluation(tmp_path: Path):
    head_dir = tmp_path / "head"
    head_dir.mkdir()
    (head_dir / "policy.funnel").write_text(
        BASE_TEXT.replace("+30 if job_level", "+35 if job_level"), encoding="utf-8")
    (head_dir / "lead.schema.json").write_text(SCHEMA, encoding="utf-8")
    leads_file = tmp_path / "leads.jsonl"
    leads = write_leads(leads_file, count=200, seed=11)
    with text_stream(open(leads_file, "rb")) as stream:
        impact = measure(policy.load(POLICY_DIR), policy.load(head_dir),
                         read_records(stream, fmt="jsonl"),
                         as_of=parse_timestamp(AS_OF), samples=3)
    each = [x for x in separately(POLICY_DIR, head_dir, leads) if x[3] is not None]
    shifts = [(x[0]["lead_id"], x[4].scores["fit"] - x[3].scores["fit"]) for x in each
              if x[4].scores["fit"] != x[3].scores["fit"]]
    fit = next(s for s in impact.scores if s.score == "fit")
    assert fit.changed == len(shifts) > 0
    assert fit.mean == pytest.approx(sum(d for _, d in shifts) / len(shifts))
    assert fit.up == max(d for _, d in shifts)
    assert fit.up_lead == next(i for i, d in shifts if d == fit.up)
    assert fit.samples == tuple(i for i, _ in shifts[:3])
    assert impact.moved == sum(1 for x in separately(POLICY_DIR, head_dir, leads) if x[1] != x[2])


def test_impact_covers_every_handoff_not_only_the_deepest(repo: Repo):
    """Issue 14 row 1: an SDR SLA from 4 to 3 business hours flips a lead that sits at
    `sal` (so the deepest handoff is `sal`'s) from met to breached at the `mql` handoff."""
    repo.write("rules/policy.funnel", BASE_TEXT.replace(
        "sla 4 business hours from mql_at", "sla 3 business hours from mql_at"))
    base = {"lead_id": "D-1", "email": "dana@bigco.com", "job_level": "vp",
            "webinars_attended": 2, "mql_at": "2026-11-30T14:00:00Z"}
    deep = {**base, "lead_id": "D-2", "accepted_at": "2026-11-30T17:30:00Z"}  # 3.5 h: breached
    fast = {**base, "lead_id": "D-3", "accepted_at": "2026-11-30T15:00:00Z"}  # 1 h: met both
    (repo.path / "leads.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in (base, deep, fast)), encoding="utf-8")
    data = json_diff("HEAD", "--leads", "leads.jsonl", "--as-of", AS_OF)
    impact = data["impact"]
    assert impact["moved"] == 0
    assert impact["changed"] == 1
    assert impact["sla"] == [{"handoff": "mql", "from": "met", "to": "breached", "count": 1,
                              "samples": ["D-2"]}]
    result = run_diff("HEAD", "--leads", "leads.jsonl", "--as-of", AS_OF, "--format",
                      "markdown")
    assert "0 of 3 leads move (0.0%); 1 more changes route, SLA status or escalation" \
        in result.stdout
    assert "| `mql` | SLA | `met` | `breached` | 1 |" in result.stdout
    text = run_diff("HEAD", "--leads", "leads.jsonl", "--as-of", AS_OF).stdout
    assert "handoff mql: SLA met -> breached: D-2" in text


def test_unreadable_records_count_as_refused_by_both(tmp_path: Path):
    leads_file = tmp_path / "leads.jsonl"
    leads_file.write_text('{"lead_id": "A", "email": "a@b.com"}\nnot json\n[1]\n',
                          encoding="utf-8")
    pol = policy.load(POLICY_DIR)
    with text_stream(open(leads_file, "rb")) as stream:
        impact = measure(pol, pol, read_records(stream, fmt="jsonl"),
                         as_of=parse_timestamp(AS_OF))
    assert impact.leads == 3
    assert impact.unreadable == 2  # a line that is not JSON, a value that is not an object
    assert impact.moved == 0
    assert {(t.old, t.new): t.count for t in impact.placements} == {
        ("lead", "lead"): 1, (REFUSED, REFUSED): 2}


def test_a_missing_leads_file_exits_2(repo: Repo):
    result = run_diff("HEAD", "--leads", "nope.jsonl")
    assert result.exit_code == 2
    assert "nope.jsonl" in result.stderr


# --------------------------------------------------------------------------- output


def test_json_keys_are_stable(repo: Repo):
    repo.write("rules/policy.funnel", BASE_TEXT.replace(">= 40", ">= 50"))
    write_leads(repo.path / "leads.jsonl", count=20)
    data = json_diff("HEAD", "--leads", "leads.jsonl", "--as-of", AS_OF)
    assert list(data) == ["base", "head", "changed", "changes", "approvals", "examples",
                          "records", "impact", "notes"]
    assert list(data["base"]) == ["label", "revision", "commit", "policy"]
    assert list(data["changes"][0]) == ["kind", "declaration", "owners", "where", "lines",
                                        "old", "new"]
    assert list(data["impact"]) == ["as_of", "leads", "moved", "changed", "unreadable",
                                    "placements", "routes", "sla", "escalations", "scores",
                                    "scores_added", "scores_removed"]


def test_golden_markdown_pull_request_comment(repo: Repo):
    raised = BASE_TEXT.replace('require fit >= 40 "fit below 40"',
                               'require fit >= 50 "fit below 50"')
    raised = raised.replace('route "fast-lane" if demo_requested',
                            'route "fast-lane" if demo_requested or enterprise')
    repo.write("rules/policy.funnel", raised)
    write_leads(repo.path / "rules" / "leads.jsonl")
    repo.commit("raise the MQL threshold; enterprise leads take the fast lane")
    result = run_diff("HEAD~1", "HEAD", "--leads", "rules/leads.jsonl", "--as-of", AS_OF,
                      "--format", "markdown", "--samples", "3")
    assert result.exit_code == 0, result.output
    check_golden(GOLDEN / "threshold.md", result.stdout)
    text = run_diff("HEAD~1", "HEAD", "--leads", "rules/leads.jsonl", "--as-of", AS_OF,
                    "--samples", "3").stdout
    check_golden(GOLDEN / "threshold.txt", text)


def check_golden(path: Path, actual: str) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1"
    assert actual == path.read_text("utf-8")


def test_output_file_and_summary(repo: Repo):
    repo.write("rules/policy.funnel", BASE_TEXT.replace(">= 40", ">= 50"))
    result = run_diff("HEAD", "--format", "markdown", "-o", "comment.md")
    assert result.exit_code == 0
    assert result.stdout == "1 semantic change; approval needed from marketing, sdr\n"
    written = (repo.path / "comment.md").read_text("utf-8")
    assert written.startswith("### Policy change: `HEAD (")
    assert "| changed | `stage mql` | `require fit >= 40 \"fit below 40\"` → " in written
