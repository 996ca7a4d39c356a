"""A schema's ``pattern`` means in DuckDB what it means to the python engine (ECMA-262,
the validator's reading): ``\\s`` holds Unicode's spaces, ``.`` stops at every line
terminator, ``\\uXXXX`` is a code point (:mod:`policy.sql.regex`); a pattern DuckDB's
regular expressions cannot run (a lookaround, a backreference) is refused by name.

Found by hand (session 12): `"pattern": "^a\\\\sb$"` refused `"a\\u00a0b"` in
``--engine duckdb`` and took it in python; `"^a.b$"` took `"a\\rb"`; `"\\\\u2028"` stopped
the run with DuckDB's "invalid escape sequence" (a traceback).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import jsonschema_rs
import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.sql.regex import re2_pattern

#: pieces of ECMA patterns: the ones RE2 reads otherwise, and ones it reads alike
PIECES = (r"\s", r"\S", ".", r"[\s]", r"[^\s]", r"[\s\d]", r"[.]", r"\.", r"\u2028",
          r"\u00e9", "a", r"\d", r"\w", "[a-z]", "[^a]", "(a|.)", "x*", r"[\S\s]", r"\s+",
          ".*", "a?")
#: texts made of characters on both sides of those pieces' edges
CHARS = ("a", "b", " ", "\t", "\n", "\v", "\f", "\r", "\u0085", "\u00a0", "\u1680",
         "\u2000", "\u200a", "\u200b", "\u2028", "\u2029", "\u202f", "\u3000", "\ufeff",
         "1", "é", ".", "😀", "x")

_CON = duckdb.connect()


def _python(pattern: str, text: str) -> bool:
    return jsonschema_rs.Draft202012Validator({"pattern": pattern}).is_valid(text)


def _duckdb(pattern: str, text: str) -> bool:
    return _CON.execute("SELECT regexp_matches(?, ?)", [text, re2_pattern(pattern)]
                        ).fetchone()[0]


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=4),
       anchored=st.booleans(),
       texts=st.lists(st.text(alphabet=st.sampled_from(CHARS), max_size=4), min_size=1,
                      max_size=6))
def test_a_pattern_matches_in_duckdb_what_it_matches_in_python(pieces, anchored, texts):
    body = "".join(pieces)
    pattern = f"^{body}$" if anchored else body
    for text in texts:
        assert _duckdb(pattern, text) == _python(pattern, text), (pattern, text)


@pytest.mark.parametrize(("pattern", "why"), [
    ("^(?=a)a$", "(?="), ("a(?!b)", "(?!"), ("(?<=a)b", "(?<="), ("(?<!a)b", "(?<!"),
    (r"^(a)\1$", r"\1"), (r"^(a)(b)\2$", r"\2")])
def test_a_pattern_duckdb_cannot_run_is_refused_by_name(tmp_path, pattern, why):
    _policy(tmp_path, pattern)
    (tmp_path / "l.jsonl").write_text('{"lead_id": "a", "code": "a"}\n', encoding="utf-8")
    out = CliRunner().invoke(main, ["eval", str(tmp_path), str(tmp_path / "l.jsonl"),
                                    "--engine", "duckdb"])
    assert out.exit_code == 2, out.output
    assert "the `pattern` at `code` uses" in out.stderr and why in out.stderr
    assert "Traceback" not in out.output
    printed = CliRunner().invoke(main, ["sql", str(tmp_path)])
    assert printed.exit_code == 1 and "regular expressions do not have" in printed.stderr



@pytest.mark.parametrize("pattern", [r"a\Z", "(?#c)a", "(?P<n>a)(?P=n)", "a++", "(?>a)"])
def test_a_pattern_python_takes_and_re2_cannot_compile_is_refused_by_name(tmp_path, pattern):
    # session 13: each stopped `--engine duckdb` with DuckDB's "Invalid Input Error"
    # traceback (Python's re, which checks the schema's `regex` format, takes them)
    _policy(tmp_path, pattern)
    (tmp_path / "l.jsonl").write_text('{"lead_id": "a", "code": "a"}\n', encoding="utf-8")
    args = ["eval", str(tmp_path), str(tmp_path / "l.jsonl"), "--as-of", "2026-12-01T00:00:00Z"]
    assert CliRunner().invoke(main, args).exit_code in (0, 1)
    out = CliRunner().invoke(main, [*args, "--engine", "duckdb"])
    assert out.exit_code == 2, out.output
    assert "the `pattern` at `code` cannot run in DuckDB's regular expressions (" in out.stderr
    assert "Traceback" not in out.output and out.stdout == ""
    printed = CliRunner().invoke(main, ["sql", str(tmp_path)])
    assert printed.exit_code == 1 and "cannot run in DuckDB's" in printed.stderr

def _policy(folder: Path, pattern: str) -> None:
    (folder / "p.funnel").write_text(
        'policy p "P"\nschema "s.json"\nid lead_id\nteam m "@m"\nfunnel lead\n'
        'stage lead "L" owned by m {\n  require code is present\n}\n', encoding="utf-8")
    (folder / "s.json").write_text(json.dumps({
        "type": "object", "properties": {"lead_id": {"type": "string"},
                                         "code": {"type": "string", "pattern": pattern}}}),
        encoding="utf-8")


@pytest.mark.parametrize("pattern", [r"^a\sb$", r"^a\Sb$", r"^a.b$", r"^a\u2028b$",
                                     r"^a[^\s]b$"])
def test_funnel_eval_engine_duckdb_gives_the_python_bytes_on_patterns(tmp_path, pattern):
    _policy(tmp_path, pattern)
    leads = tmp_path / "l.jsonl"
    leads.write_text("".join(json.dumps({"lead_id": f"k{i}", "code": f"a{c}b"}) + "\n"
                             for i, c in enumerate(CHARS)), encoding="utf-8")
    runner = CliRunner()
    outs = {e: runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", e,
                                    "--as-of", "2026-12-01T00:00:00Z", "--format", "csv"])
            for e in ("python", "duckdb")}
    assert outs["python"].exit_code == outs["duckdb"].exit_code == 1
    assert outs["duckdb"].output == outs["python"].output
    assert ",lead," in outs["python"].output  # some leads pass, some are refused
