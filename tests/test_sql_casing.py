"""Ignoring case in SQL is python's ``str.lower()`` (spec section 3), special rules too.

DuckDB's ``LOWER`` maps each character on its own; python's ``str.lower()`` also turns
``İ`` into two characters and a word-final ``Σ`` into ``ς``. :mod:`policy.sql.casing`
spells those two rules in SQL; these tests derive the classes the final-sigma rule
needs from python's own ``str.lower()``, check every assigned character through DuckDB
in the contexts that decide the rule, and run policies that ignore case through both
engines on text where the rules matter.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from policy.sql import casing
from policy.sql.dialects import dialect


def _derived() -> tuple[list[int], list[int]]:
    """Python's cased and case-ignorable characters, read off ``str.lower()``: a cased
    character that is not ignorable keeps a ``Σ`` after it from ending the word; an
    ignorable one is skipped on either side."""
    cased, ignorable = [], []
    for i in range(1, 0x110000):
        if 0xD800 <= i < 0xE000:
            continue
        c = chr(i)
        is_cased = c.islower() or c.isupper() or c.istitle()
        if is_cased:
            skipped = ("ΑΣ" + c).lower()[-2] == "ς"
        else:
            skipped = ("Α" + c + "Σ").lower()[-1] == "ς"
        if is_cased and not skipped:
            cased.append(i)
        if skipped:
            ignorable.append(i)
    return cased, ignorable


def _ranges(xs: list[int]) -> tuple[tuple[int, int], ...]:
    out, start, prev = [], xs[0], xs[0]
    for x in xs[1:]:
        if x != prev + 1:
            out.append((start, prev))
            start = x
        prev = x
    out.append((start, prev))
    return tuple(out)


@pytest.mark.skipif(unicodedata.unidata_version != "14.0.0",
                    reason="the tables were derived from Unicode 14.0 (Python 3.11)")
def test_the_extra_classes_are_pythons_own():
    cased, ignorable = _derived()
    cat = unicodedata.category
    assert all(cat(chr(i)) not in ("Lu", "Ll", "Lt") or i in set(cased)
               for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    assert _ranges([i for i in cased if cat(chr(i)) not in ("Lu", "Ll", "Lt")]) \
        == casing.CASED_EXTRA
    assert _ranges([i for i in ignorable
                    if cat(chr(i)) not in ("Mn", "Me", "Cf", "Lm", "Sk")]) \
        == casing.IGNORABLE_EXTRA


def _assigned() -> list[str]:
    return [chr(i) for i in range(1, 0x110000)
            if unicodedata.category(chr(i)) not in ("Cn", "Cs", "Co")]


CONTEXTS = [
    lambda c: c,
    lambda c: "Α" + c + "Σ",        # ignorable: skipped back to a cased letter
    lambda c: "ΑΣ" + c,             # cased: the sigma is not final
    lambda c: "ΑΣ" + c + "Α",
    lambda c: c + "Σ",              # cased: a final sigma after it
    lambda c: "ΑΣ" + c + c + ".",
    lambda c: c + "Σ" + c + "Σ" + c,
]


def test_duckdb_lowers_every_assigned_character_as_python_in_every_context():
    con = duckdb.connect()
    lowered = dialect("duckdb").lower(exp.column("x")).sql("duckdb")
    chars = _assigned()
    for form in CONTEXTS:
        texts = [form(c) for c in chars]
        got = con.execute(f"SELECT {lowered} FROM (SELECT unnest(?) AS x)", [texts]).fetchall()
        wrong = [(t, g) for t, (g,) in zip(texts, got, strict=True) if g != t.lower()]
        assert not wrong, wrong[:5]


GREEK = st.sampled_from(list("ΑΣΟΔσςαİIi.'́ͅ ʰ") + ["Σ.", "ΣΣ", "İ"])


@settings(max_examples=300, deadline=None)
@given(st.lists(GREEK | st.characters(exclude_categories=("Cs", "Cn", "Co")),
                max_size=12).map("".join))
def test_duckdb_lowers_text_built_around_sigmas_as_python(text):
    con = duckdb.connect()
    lowered = dialect("duckdb").lower(exp.column("x")).sql("duckdb")
    assert con.execute(f"SELECT {lowered} FROM (SELECT ? AS x)", [text]).fetchone()[0] \
        == text.lower()


def test_a_text_literal_is_lowered_in_python_for_every_dialect():
    for name in ("duckdb", "spark", "snowflake", "bigquery", "postgres", "trino"):
        got = dialect(name).lower(exp.Literal.string("ΟΔΟΣ İ"))
        assert got == exp.Literal.string("οδος i̇")


POLICY = """\
policy casing "Ignoring case on Greek and Turkish text"
version "1"
id lead_id
team marketing "@acme/marketing"
funnel inquiry -> mql
stage inquiry owned by marketing {
  require email is present
}
stage mql owned by marketing {
  require city contains "ος" or lower(city) == "i̇stanbul" or city ends with "ς"
  require tags contains ["οδος", "i̇zmir"] or domain(email) == "ς.gr"
}
score hits owned by marketing {
  +1 if city contains "ος"
  +2 if city starts with "i̇s"
  +4 if lower(name) == "σοφος"
  +8 if tags contains "οδος"
  +16 if domain(email) ends with "ς"
  +32 if length(lower(city)) == 9
}
"""

LEADS = [
    {"lead_id": "1", "email": "a@ΟΔΟΣ", "city": "ΚΟΣΜΟΣ", "name": "ΣΟΦΟΣ",
     "tags": ["ΟΔΟΣ"]},
    {"lead_id": "2", "email": "b@x.gr", "city": "İSTANBUL", "name": "ΣΟΦΟΣ.",
     "tags": ["İZMIR"]},
    {"lead_id": "3", "email": "c@Σ", "city": "ΟΔΟΣ'", "name": "Σ", "tags": ["ΣΣ"]},
    {"lead_id": "4", "email": "d@ΑΣ", "city": "ΑΣΑ", "name": "ΑΣ\u0301",
     "tags": ["ο\u0301δος"]},
]


def test_both_engines_ignore_case_as_python_on_greek_and_turkish_text(tmp_path):
    import json

    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in LEADS),
                     encoding="utf-8")
    runner = CliRunner()
    base = ["eval", str(tmp_path), str(leads), "--as-of", "2026-12-01T00:00:00Z"]
    py = runner.invoke(main, base)
    duck = runner.invoke(main, [*base, "--engine", "duckdb"])
    assert py.exit_code == duck.exit_code == 0, (py.output, duck.output)
    assert duck.stdout == py.stdout
    scores = [json.loads(x)["scores"]["hits"] for x in py.stdout.splitlines()]
    # "ΟΔΟΣ" ends a word (ς); a lone "Σ" and the first of "ΣΣ" do not (σ); "İ" is two
    # characters lower-cased, so "İSTANBUL" has nine
    assert scores == [1 + 4 + 8 + 16, 2 + 32, 1, 16]
    parquet = [*base, "--format", "parquet"]
    runner.invoke(main, [*parquet, "-o", str(tmp_path / "py.parquet")])
    got = runner.invoke(main, [*parquet, "--engine", "duckdb", "-o", str(tmp_path / "d.parquet")])
    assert got.exit_code == 0, got.output
    con = duckdb.connect()
    assert con.execute(f"SELECT * FROM '{tmp_path / 'd.parquet'}'").fetchall() \
        == con.execute(f"SELECT * FROM '{tmp_path / 'py.parquet'}'").fetchall()


def test_the_sigma_rule_costs_nothing_on_text_without_a_sigma():
    # the expression only runs its regular expression on texts that hold a capital sigma
    sql = dialect("duckdb").lower(exp.column("x")).sql("duckdb")
    assert sql.startswith("LOWER(REPLACE(CASE WHEN STRPOS(x, 'Σ') > 0 THEN REGEXP_REPLACE(")
    assert Path(casing.__file__).exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.lists(st.none() | st.lists(GREEK | st.characters(
    exclude_categories=("Cs", "Cn", "Co")), max_size=8).map("".join), max_size=4),
    max_size=40))
def test_duckdb_lowers_lists_as_python_whether_or_not_they_hold_a_sigma(lists):
    # lists with a "Σ" are lower-cased with the final-sigma rule, the others without it
    # (its regular expression is compiled for every chunk inside a lambda); rows of both
    # kinds in one chunk, null lists and null items included
    con = duckdb.connect()
    lowered = dialect("duckdb").lower_array(exp.column("l")).sql("duckdb")
    got = con.execute(f"SELECT {lowered} FROM (SELECT unnest(?::VARCHAR[][]) AS l)",
                      [lists]).fetchall()
    assert [g for (g,) in got] == [None if lst is None else
                                   [None if x is None else x.lower() for x in lst]
                                   for lst in lists]
