"""The policy digest hashes numbers by value (spec section 5):

    "Numbers are hashed by value (`50_000` and `50000` are the same declaration), so the
    digest does not depend on how `fmt` lays text out. Two policies that differ only in
    layout, comments or examples share a digest; any change of meaning, or of the
    schema, changes it."

The language has one number type, so `100`, `100.0` and `1_00.00` are one value: the
digest hashed a whole number written with a fraction (`100.0`) apart from the same number
written without one (`100`), and `funnel diff` then said "no semantic change" beside a
note that "the policy's meaning changed (its digest differs)".
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy

BASE = """policy t "digest by value"
team m "@m"
team s "@s"
calendar {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
funnel a -> b
score fit owned by m {
  +10 per visits up to 50_000
  +1.5 if x > 0.50
  -20 if y in [1, 2]
  range -5 to 100
  decay half-life 30 days since seen_at
}
stage a owned by m {
  require fit >= 100
}
stage b owned by s {
  require true
}
handoff a to s {
  sla 4 business hours from a_at until b_at
  escalate to "boss" after 1 business day
}
"""
# the same values, written with fractions, and other spellings of the same numbers
SAME = [("50_000", "50000.0"), ("+10 per", "+10.0 per"), ("+1.5 if", "+1.50 if"),
        ("0.50", "0.5"), ("-20 if", "-20.00 if"), ("[1, 2]", "[1.0, 2.0]"),
        ("range -5 to 100", "range -5.0 to 1_00.0"), ("30 days", "30.0 days"),
        (">= 100", ">= 100.0"), ("4 business", "4.0 business"),
        ("1 business day", "1.0 business day")]
# other values: other digests
OTHER = [(">= 100", ">= 100.5"), ("0.50", "0.51"), ("[1, 2]", "[1, 2.5]"),
         ("30 days", "30.5 days")]
AS_OF = datetime(2026, 11, 2, tzinfo=UTC)


def digest(tmp_path: Path, name: str, text: str) -> str:
    d = tmp_path / name
    d.mkdir()
    (d / "p.funnel").write_text(text, encoding="utf-8")
    return policy.load(d).evaluate({}, as_of=AS_OF).policy.digest


@pytest.mark.parametrize(("old", "new"), SAME)
def test_the_same_value_written_otherwise_keeps_the_digest(tmp_path, old, new):
    assert old in BASE
    assert digest(tmp_path, "a", BASE) == digest(tmp_path, "b", BASE.replace(old, new))


@pytest.mark.parametrize(("old", "new"), OTHER)
def test_another_value_changes_the_digest(tmp_path, old, new):
    assert digest(tmp_path, "a", BASE) != digest(tmp_path, "b", BASE.replace(old, new))


def test_diff_of_a_respelling_has_no_note_about_meaning(tmp_path):
    for name, text in (("base", BASE), ("head", BASE.replace(">= 100", ">= 100.0"))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.funnel").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "base"), str(tmp_path / "head"),
                                       "--fail-on-change"])
    assert result.exit_code == 0, result.output
    assert "no semantic change" in result.output
    assert "digest" not in result.output


def test_diff_of_an_entered_at_line_says_the_digest_not_the_meaning_changed(tmp_path):
    # spec section 2: "`diff` lists a change to it without counting it as a change of
    # meaning"; the digest still changes (it hashes the declarations as `fmt` prints them)
    head = BASE.replace("stage b owned by s {", "stage b owned by s {\n  entered at b_at")
    for name, text in (("base", BASE), ("head", head)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.funnel").write_text(text, encoding="utf-8")
    for fmt in ("text", "markdown", "json"):
        result = CliRunner().invoke(main, ["diff", str(tmp_path / "base"),
                                           str(tmp_path / "head"), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "meaning changed" not in result.output
        assert "digest changed" in result.output
