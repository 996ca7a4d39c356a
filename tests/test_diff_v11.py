"""`funnel diff` for the v1.1 additions: `lines` lists, named calendars, `entered at`.

A real git repository in a temporary folder (pinned identity and dates, as in
``test_diff.py``), so BASE is read from a revision: the `lines` file must be read as it
stood at that revision, not from the working tree. Golden files: ``UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_diff import Repo, check_golden

from cli.diff_cmd import diff as diff_cmd
from policy.model.loader import load_model
from policy.model.ownership import Ownership
from policy.syntax import nodes as n

GOLDEN = Path(__file__).parent / "golden" / "diff"

POLICY = """\
policy regions "Two regions"
version "1.0.0"
id lead_id

team marketing "@demo/marketing"
team sdr "@demo/sdr"
team sales "@demo/sales"

calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}

calendar emea "Berlin SDR office" {
  timezone "Europe/Berlin"
  workdays mon tue wed thu fri
  hours 09:00 to 18:00
}

funnel lead -> mql -> sal

define free_mail "free-mail providers" = lines "lists/free_mail.txt"

stage lead "Known person" owned by marketing {
  entered at created_at
  require email is present
  exclude domain(email) in free_mail "a free-mail address"
}

stage mql "Qualified" owned by marketing {
  require demo_requested
}

stage sal "Accepted" owned by sdr {
  require accepted_at is present
}

handoff mql to sdr {
  calendar emea
  route "amer" if country == "US" on default
  route "emea" otherwise
  sla 2 business hours from mql_at until accepted_at
}

handoff sal to sales {
  route "ae" otherwise
  sla 1 business day from accepted_at until opp_at
}
"""

FREE_MAIL = "# free-mail providers\ngmail.com\nyahoo.com\naol.com\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    r = Repo(tmp_path / "repo")
    r.write("rules/policy.funnel", POLICY)
    r.write("rules/lists/free_mail.txt", FREE_MAIL)
    r.commit("two regions")
    monkeypatch.chdir(r.path)
    return r


def run(*args: str):
    return CliRunner().invoke(diff_cmd, list(args), catch_exceptions=False)


def test_a_changed_lines_file_is_a_change_of_its_define(repo: Repo):
    # comments, blank lines, CRLF and order of the file do not count; entries do
    repo.write("rules/lists/free_mail.txt",
               "# free-mail providers (sorted)\r\n\r\naol.com\r\ngmail.com\r\nyahoo.com\r\n")
    repo.commit("sort the list")
    assert run("HEAD~1", "HEAD", "--fail-on-change").exit_code == 0
    repo.write("rules/lists/free_mail.txt", "gmail.com\naol.com\ngmx.de\nproton.me\n")
    repo.commit("gmx and proton in, yahoo out")
    result = run("HEAD~1", "HEAD")
    assert result.exit_code == 0, result.output
    check_golden(GOLDEN / "lines_list.txt", result.stdout)
    data = json.loads(run("HEAD~1", "HEAD", "--format", "json").stdout)
    (change,) = data["changes"]
    assert change["declaration"] == "define free_mail"
    assert change["owners"] == ["marketing"]  # the owners of the stage that uses it
    assert [(x["kind"], x["old"], x["new"]) for x in change["lines"]] == [
        ("removed", '"yahoo.com"', None), ("added", None, '"gmx.de"'),
        ("added", None, '"proton.me"')]
    assert data["base"]["policy"]["digest"] != data["head"]["policy"]["digest"]


def test_the_working_tree_against_a_revision_reads_each_sides_file(repo: Repo):
    repo.write("rules/lists/free_mail.txt", FREE_MAIL + "icloud.com\n")
    data = json.loads(run("HEAD", "--format", "json").stdout)
    (change,) = data["changes"]
    assert [x["new"] for x in change["lines"]] == ['"icloud.com"']


def test_a_changed_calendar_needs_the_owners_of_the_handoffs_that_count_on_it(repo: Repo):
    repo.write("rules/policy.funnel", POLICY.replace("hours 09:00 to 18:00",
                                                     "hours 08:00 to 17:00"))
    repo.commit("the Berlin office opens earlier")
    result = run("HEAD~1", "HEAD", "--format", "markdown")
    assert result.exit_code == 0, result.output
    check_golden(GOLDEN / "named_calendar.md", result.stdout)
    data = json.loads(run("HEAD~1", "HEAD", "--format", "json").stdout)
    (change,) = data["changes"]
    assert change["declaration"] == "calendar emea"
    # the mql handoff counts on emea (its `calendar` line): marketing owns mql, sdr gets it
    assert change["owners"] == ["marketing", "sdr"]


def test_entered_at_is_listed_but_changes_no_meaning(repo: Repo):
    repo.write("rules/policy.funnel", POLICY.replace(
        "  require demo_requested\n", "  entered at mql_at\n  require demo_requested\n"))
    repo.commit("record when leads become MQLs")
    result = run("HEAD~1", "HEAD", "--fail-on-change")
    assert result.exit_code == 0, result.output
    assert "no semantic change" in result.stdout
    assert "record-keeping changed" in result.stdout and "+ entered at mql_at" in result.stdout
    data = json.loads(run("HEAD~1", "HEAD", "--format", "json").stdout)
    assert data["changed"] is False and data["changes"] == []
    assert [c["declaration"] for c in data["records"]] == ["stage mql"]


def test_calendar_ownership_follows_the_routes(tmp_path: Path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "free_mail.txt").write_text(FREE_MAIL, encoding="utf-8")
    (tmp_path / "policy.funnel").write_text(POLICY, encoding="utf-8")
    result = load_model(tmp_path)
    assert result.ok, result.diagnostics
    model = result.model
    own = Ownership(model)
    unnamed = model.calendar
    emea = model.calendars["emea"]
    # mql: route amer `on default`, route emea on the handoff's emea; sal: the unnamed one
    assert own.of(emea) == {"marketing", "sdr"}
    assert own.of(unnamed) == {"marketing", "sdr", "sales"}
    assert isinstance(unnamed, n.Calendar) and unnamed.name is None
