"""A schema's ``pattern`` is ECMA-262 (JSON Schema's reading, and ``jsonschema_rs``'s,
which decides whether a lead is valid): the problem list explains exactly that verdict.

Found in session 13 (generated schemas, python vs DuckDB): `"pattern": "^a.b$"` refused
`"a\\rb"` (ECMA's ``.`` stops at a carriage return), but the problem list came from the
reference ``jsonschema`` validator, whose Python ``re`` matched it, so the refused lead's
problems left out `profile.links.site` while DuckDB named it.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from test_validate import check, schema_of

from policy.engine.reference import pattern_matches
from policy.engine.validate import LeadValidator, Problem

#: (pattern, text, ECMA's verdict): each one Python's ``re`` reads the other way
DIFFERENT = [
    ("^a.b$", "a\rb", False),        # . stops at every line terminator
    ("^a.b$", "a\u2028b", False),
    ("^a$", "a\n", False),           # $ is the end, not the end or before a final \n
    (r"^\d$", "\u0663", False),      # \d is [0-9]
    (r"^\w+$", "café", False),       # \w is [A-Za-z0-9_]
    (r"^\D$", "\u0663", True),
    (r"^\W$", "é", True),
    (r"^a\sb$", "a\ufeffb", True),   # \s holds U+FEFF
]


@pytest.mark.parametrize(("pattern", "text", "ecma"), DIFFERENT)
def test_the_problem_list_reads_a_pattern_as_ecma(pattern, text, ecma):
    assert (re.search(pattern, text) is not None) != ecma  # Python's re differs here
    assert pattern_matches(pattern, text) == ecma
    validator = LeadValidator(schema_of({
        "type": "object", "properties": {"code": {"type": "string", "pattern": pattern},
                                         "n": {"type": "integer"}}}))
    # alone, and beside a problem of another keyword (the list then comes from the
    # reference validator, not the compiled one)
    wrong_n = Problem("n", 'expected integer, found string "x"')
    for lead, other in (({"code": text}, []), ({"code": text, "n": "x"}, [wrong_n])):
        problems = check(validator, lead)
        paths = [p.path for p in problems]
        assert ("code" not in paths) == ecma, problems
        assert [p for p in problems if p.path != "code"] == other



@pytest.mark.parametrize("pattern", ["^a[[]b$", "^a[a&&b]b$", "[a-z[]"])
def test_a_pattern_python_would_warn_about_loads_without_a_warning(tmp_path, pattern):
    # ECMA reads `[` and `&&` in a class as characters; Python's re (which checks the
    # schema's `regex` format) warns of a future set syntax: that FutureWarning reached
    # the terminal of every command (and, as the test run's warnings are errors, it
    # stopped the load here)
    (tmp_path / "s.json").write_text(json.dumps({"type": "object", "properties": {
        "code": {"type": "string", "pattern": pattern}}}), encoding="utf-8")
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nschema "s.json"\nid code\nteam m "@m"\nfunnel lead\n'
        'stage lead "L" owned by m {\n  require code is present\n}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(tmp_path), "-", "--as-of",
                                       "2026-12-01T00:00:00Z"], input='{"code": "a[b"}\n')
    assert result.exit_code in (0, 1), result.output
    assert "Warning" not in result.stderr and result.stdout.count("\n") == 1
