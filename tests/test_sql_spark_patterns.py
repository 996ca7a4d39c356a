"""A schema's ``pattern`` means in Spark what it means to the python engine (ECMA-262):
Spark's ``RLIKE`` is ``java.util.regex``, whose ``\\s`` is ASCII, whose ``.`` matches a
carriage return and stops at U+0085, whose ``$`` matches before a final line feed and
which reads ``[`` and ``&&`` in a class as set operations, so the statement printed for
Spark writes those pieces out (:func:`policy.sql.regex.java_pattern`).

Found in session 13: `--engine spark` took `"a\\u00a0b"` for `"^a\\\\sb$"` (python
refuses it) and `"ab\\n"` for `"^ab$"`; docs/warehouse.md said so and left it.
"""

from __future__ import annotations

import json

import jsonschema_rs
import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.sql.regex import java_pattern
from policy.sql.spark import spark_missing

pytestmark = pytest.mark.skipif(spark_missing() is not None,
                                reason=f"Spark tier: {spark_missing()}")

PATTERNS = (r"^a\sb$", r"^a\Sb$", r"^a.b$", r"^a\u2028b$", r"^a[^\s]b$", r"^a\vb$",
            r"^a[[]b$", r"^a[&]b$", r"^a[a&&b]b$", r"^a.b", r"\s", r"^a(.)b\1?$",
            r"^a(?!\s)")
CHARS = ("a", " ", "\t", "\n", "\v", "\f", "\r", "\u0085", "\u00a0", "\u1680", "\u2000",
         "\u2028", "\u2029", "\u202f", "\u3000", "\ufeff", "1", "é", ".", "😀", "&", "[")


def test_funnel_eval_engine_spark_gives_the_python_bytes_on_patterns(tmp_path):
    props = {f"p{i}": {"type": "string", "pattern": p} for i, p in enumerate(PATTERNS)}
    (tmp_path / "s.json").write_text(json.dumps({
        "type": "object", "properties": {"lead_id": {"type": "string"}, **props}}),
        encoding="utf-8")
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nschema "s.json"\nid lead_id\nteam m "@m"\nfunnel lead\n'
        'stage lead "L" owned by m {\n  require p0 is present\n}\n', encoding="utf-8")
    texts = [f"a{c}b{end}" for c in CHARS for end in ("", "\n", "\r")]
    leads = tmp_path / "l.jsonl"
    leads.write_text("".join(json.dumps({"lead_id": f"k{i}", **{k: t for k in props}}) + "\n"
                             for i, t in enumerate(texts)), encoding="utf-8")
    runner = CliRunner()
    outs = {e: runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", e,
                                    "--spark-master", "local[2]",
                                    "--as-of", "2026-12-01T00:00:00Z"])
            for e in ("python", "spark")}
    assert outs["python"].exit_code == 1, outs["python"].output
    assert (outs["spark"].exit_code, outs["spark"].stdout) == (1, outs["python"].stdout)
    # every pattern refuses some texts and takes others
    problems = [json.loads(x).get("error", {}).get("problems", [])
                for x in outs["python"].stdout.splitlines()]
    for key in props:
        refused = sum(any(p["path"] == key for p in ps) for ps in problems)
        assert 0 < refused < len(texts), key


PIECES = (r"\s", r"\S", ".", r"[\s]", r"[^\s]", r"[\s\d]", r"[.]", r"\u2028", "a", r"\d",
          r"\w", "[a-z]", "[^a]", "(a|.)", "x*", r"[\S\s]", ".*", "$", r"\v", "[[]",
          "[a&&b]", "[]a]", r"\b", r"(a)\1", r"\W", "[&]", r"[\]]", r"\n", r"\r")


@settings(max_examples=1, deadline=None)
@given(cases=st.lists(st.tuples(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=4), st.booleans(),
    st.text(alphabet=st.sampled_from(CHARS), max_size=4)), min_size=400, max_size=400))
def test_java_patterns_match_in_spark_what_they_match_in_python(cases):
    """Many patterns in one Spark query (``RLIKE`` with the pattern in a column)."""
    from policy.sql.spark import _settings, _started

    rows = []
    for pieces, anchored, text in cases:
        body = "".join(pieces)
        pattern = f"^{body}$" if anchored else body
        want = jsonschema_rs.Draft202012Validator({"pattern": pattern}).is_valid(text)
        rows.append((pattern, java_pattern(pattern), text, want))
    spark = _started(_settings("local[2]"))
    frame = spark.createDataFrame([r[1:3] for r in rows], "p string, t string")
    got = [r[0] for r in frame.selectExpr("t RLIKE p").collect()]
    wrong = [(r[0], r[2]) for r, g in zip(rows, got, strict=True) if g != r[3]]
    assert wrong == []
