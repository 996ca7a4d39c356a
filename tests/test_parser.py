"""Unit tests of the parse phase: line structure, the AST shape, spans and comments."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ACME, NO_ACME
from lark import Lark

from policy.syntax import nodes as n
from policy.syntax.parser import LineJoiner, grammar_text, parse

HEADER = 'policy p "P"\nteam m "@m"\nfunnel a -> b\n'


def parse_ok(text: str) -> n.Module:
    result = parse(text, "t.funnel")
    assert result.diagnostics == (), result.diagnostics
    assert result.module is not None
    return result.module


def only(module: n.Module, kind: type) -> n.Stmt:
    found = [d for d in module.decls if isinstance(d, kind)]
    assert len(found) == 1, found
    return found[0]


def expr_of(text: str) -> n.Expr:
    return only(parse_ok(f"define x = {text}\n"), n.Define).value


def test_grammar_is_conflict_free_in_lark_strict_mode():
    Lark(grammar_text(), parser="lalr", lexer="contextual", postlex=LineJoiner(),
         keep_all_tokens=True, strict=True)


@pytest.mark.skipif(not ACME.exists(), reason=NO_ACME)
def test_conformance_policy_and_examples_parse():
    policy = parse_ok((ACME / "acme.funnel").read_text())
    kinds = [type(d).__name__ for d in policy.decls]
    assert kinds.count("Stage") == 4 and kinds.count("Score") == 2
    assert kinds.count("Recycle") == 2 and kinds.count("Handoff") == 1
    examples = parse_ok((ACME / "acme_test.funnel").read_text())
    assert len(examples.decls) == 14
    assert all(isinstance(d, n.Example) for d in examples.decls)


def test_two_score_rules_on_two_lines_are_never_one_sum():
    m = parse_ok(HEADER + 'score s owned by m {\n  +10 if x in ["a", "b"]\n  +5 if y\n}\n')
    score = only(m, n.Score)
    assert [type(i) for i in score.items] == [n.PointsIf, n.PointsIf]
    assert [i.points for i in score.items] == [10, 5]


@pytest.mark.parametrize(
    "text",
    [
        "define x =\n  a or\n  b\n",
        "define x = a or\n  b\n",
        "define x = (a\n  or b)\n",
        'define x = y in [\n  "a",\n  "b"]\n',
        "define x = a >=\n  5 and b\n",
        "define x = not\n  a\n",
    ],
)
def test_a_rule_continues_after_operators_and_inside_brackets(text):
    m = parse_ok(text)
    assert len(m.decls) == 1 and isinstance(m.decls[0], n.Define)


def test_a_newline_ends_a_rule_outside_brackets():
    result = parse("define x = a\n  or b\n", "t.funnel")
    assert result.module is None
    assert result.diagnostics[0].code == "E100"
    assert result.diagnostics[0].span.line == 2


def test_lead_json_may_span_lines_and_keeps_key_order():
    m = parse_ok(
        'example "e" {\n  at "2026-01-01T00:00:00Z"\n'
        '  lead {"b": 1,\n    "a": {"x": [1, 2.5, -3e2]},\n'
        '    "c": null, "d": true, "e": "\\u00e9"}\n  expect error\n}\n'
    )
    lead = only(m, n.Example).items[1]
    assert isinstance(lead, n.LeadLiteral)
    assert list(lead.data) == ["b", "a", "c", "d", "e"]
    assert lead.data["a"] == {"x": [1, 2.5, -300.0]}
    assert lead.data["c"] is None and lead.data["d"] is True and lead.data["e"] == "é"


def test_precedence_loosest_first():
    e = expr_of("a or b and not c == 1 + 2 * 3")
    assert isinstance(e, n.Binary) and e.op is n.BinOp.OR
    right = e.right
    assert right.op is n.BinOp.AND
    assert isinstance(right.right, n.Not)
    cmp = right.right.operand
    assert cmp.op is n.BinOp.EQ
    assert cmp.right == n.Binary(n.BinOp.ADD, n.Number(1),
                                 n.Binary(n.BinOp.MUL, n.Number(2), n.Number(3)))


def test_arithmetic_is_left_associative_and_unary_minus_binds_tight():
    assert expr_of("a - b - c") == n.Binary(
        n.BinOp.SUB, n.Binary(n.BinOp.SUB, n.Ref(("a",)), n.Ref(("b",))), n.Ref(("c",)))
    assert expr_of("-a * b") == n.Binary(n.BinOp.MUL, n.Neg(n.Ref(("a",))), n.Ref(("b",)))


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("a in [1]", n.BinOp.IN),
        ("a not in [1]", n.BinOp.NOT_IN),
        ('a contains "x"', n.BinOp.CONTAINS),
        ('a starts with "x"', n.BinOp.STARTS_WITH),
        ('a ends with "x"', n.BinOp.ENDS_WITH),
        ("a != 1", n.BinOp.NE),
        ("a <= 1", n.BinOp.LE),
    ],
)
def test_tests_and_comparisons(text, op):
    assert expr_of(text).op is op


def test_presence_calls_paths_and_numbers():
    assert expr_of("a.b is missing") == n.Presence(n.Ref(("a", "b")), False)
    assert expr_of("domain(email)") == n.Call("domain", (n.Ref(("email",)),))
    assert expr_of("x.`annual revenue`.Lead_Source__c") == n.Ref(
        ("x", "annual revenue", "Lead_Source__c"))
    num = expr_of("50_000_000")
    assert num == n.Number(50_000_000) and num.text == "50_000_000"
    assert expr_of("0.5") == n.Number(0.5)


def test_durations_scores_and_handoffs():
    m = parse_ok(
        HEADER
        + 'score s owned by m {\n  -5 per x up to 20\n  +1 per y\n  range -10 to 10\n'
        '  decay half-life 1 week since t\n}\n'
        'handoff a to m {\n  route "r" if x\n  route "o" otherwise\n'
        '  sla 2 business days from t until u, v\n  escalate to "boss" after 30 minutes\n'
        '  reject to s with reason why in ["a"]\n}\n'
    )
    score = only(m, n.Score)
    per, per2, rng, decay = score.items
    assert (per.points, per.cap, per2.cap) == (-5, 20, None)
    assert (rng.low, rng.high) == (-10, 10)
    assert decay.half_life == n.Duration(1, n.Unit.WEEKS)
    h = only(m, n.Handoff)
    route, otherwise, sla, esc, rej = h.items
    assert otherwise.condition is None
    assert sla.duration == n.Duration(2, n.Unit.BUSINESS_DAYS)
    assert [s.path for s in sla.stops] == [("u",), ("v",)]
    assert esc.after == n.Duration(30, n.Unit.MINUTES)
    assert rej.field == n.Ref(("why",)) and rej.reasons == n.ListExpr((n.String("a"),))


def test_expectations():
    m = parse_ok(
        'example "e" {\n  at "2026-01-01T00:00:00Z"\n  lead file "l.json"\n'
        "  expect stage none\n  expect reached mql\n  expect score fit -3\n"
        '  expect route "r" at mql\n  expect route none\n  expect sla met at mql\n'
        '  expect escalate "x"\n  expect reason none\n  expect violation missing_sla_start\n'
        "  expect error\n}\n"
    )
    items = only(m, n.Example).items
    assert items[1] == n.LeadFile(path="l.json")
    e = items[2:]
    assert e[0] == n.Expect(kind=n.ExpectKind.STAGE, value=None)
    assert e[1] == n.Expect(kind=n.ExpectKind.REACHED, value="mql")
    assert e[2] == n.Expect(kind=n.ExpectKind.SCORE, subject=n.Ident("fit"), value=-3)
    assert e[3] == n.Expect(kind=n.ExpectKind.ROUTE, value="r", at=n.Ident("mql"))
    assert e[4] == n.Expect(kind=n.ExpectKind.ROUTE, value=None)
    assert e[5] == n.Expect(kind=n.ExpectKind.SLA, value="met", at=n.Ident("mql"))
    assert e[8].value == "missing_sla_start" and e[9].kind is n.ExpectKind.ERROR


def test_spans_point_at_the_words():
    m = parse_ok('policy p "P"\nteam  marketing "@m"\n')
    team = only(m, n.Team)
    s = team.name.span
    assert (s.file, s.line, s.column, s.end_line, s.end_column) == ("t.funnel", 2, 7, 2, 16)
    assert (team.span.line, team.span.column) == (2, 1)


def test_keywords_can_name_stages_but_reserved_words_cannot():
    m = parse_ok("funnel lead -> hours -> range\n")
    assert [s.name for s in only(m, n.Funnel).stages] == ["lead", "hours", "range"]
    bad = parse('state none "x" owned by m\n', "t.funnel")
    assert bad.module is None and bad.diagnostics[0].code == "E100"
    assert "reserved" in bad.diagnostics[0].message


def test_comments_are_kept_and_attached():
    m = parse_ok(
        "# top of file\n"
        'policy p "P"  # trailing\n'
        "\n"
        "# about the stage\n"
        "stage a owned by m {  # header\n"
        "  # before require\n"
        "  require x  # why x\n"
        "  # at the end of the block\n"
        "}\n"
        "define y =  # inside a statement\n"
        "  1\n"
        "# end of file\n"
    )
    header, stage, define = m.decls
    assert header.comments == n.Comments(("# top of file",), "# trailing")
    assert stage.comments == n.Comments(("# about the stage",), "# header",
                                        ("# at the end of the block",))
    assert stage.blank_before is True and header.blank_before is False
    req = stage.items[0]
    assert req.comments == n.Comments(("# before require",), "# why x")
    assert define.comments.leading == ("# inside a statement",)
    assert m.trailing == ("# end of file",)


def test_comments_do_not_change_the_tree():
    plain = parse_ok('policy p "P"\ndefine x = a or b\n')
    commented = parse_ok('# c\npolicy p "P"  # c\n\n\ndefine x = a or  # c\n  b  # c\n')
    assert plain.decls == commented.decls


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('example "e" {\n  lead {"a": 1 # no\n  }\n}\n', "comment cannot stand inside"),
        ('policy p "raw\ttab"\n', "a tab inside a string"),
        ("policy p \x00", "NUL byte"),
    ],
)
def test_mistakes_the_grammar_cannot_see(text, fragment):
    result = parse(text, "t.funnel")
    assert result.module is None
    (diag,) = result.diagnostics
    assert diag.code == "E100" and fragment in diag.message
    assert diag.span.file == "t.funnel" and diag.span.line >= 1


def test_empty_file_and_bom_and_crlf():
    assert parse_ok("").decls == ()
    assert parse_ok("# only a comment\n").trailing == ("# only a comment",)
    m = parse_ok('\ufeffpolicy p "P"\r\nversion "1"\r\n')
    assert [type(d) for d in m.decls] == [n.PolicyHeader, n.Version]


@pytest.mark.parametrize(
    ("line", "keyword", "word"),
    [("keepwhen x", "keep", "keepwhen"), ("requirefit >= 40", "require", "requirefit")],
)
def test_a_keyword_glued_to_the_next_word_is_refused(line, keyword, word):
    result = parse(f"stage a owned by m {{\n  {line}\n}}\n", "t.funnel")
    assert result.module is None
    (diag,) = result.diagnostics
    assert (diag.code, diag.message) == ("E100", f"expected `{keyword}`, found `{word}`")
    assert (diag.span.line, diag.span.column, diag.span.end_column) == (2, 3, 3 + len(word))


def test_the_grammar_ships_inside_the_package_and_matches_the_checkout():
    """An installed wheel finds the grammar as package data (policy._grammar/funnel.lark),
    a source checkout in grammar/; both must be the same text."""
    import tomllib
    from importlib import resources

    root = Path(__file__).resolve().parents[1]
    packaged = resources.files("policy._grammar").joinpath("funnel.lark")
    assert packaged.is_file()
    assert packaged.read_text("utf-8") == (root / "grammar" / "funnel.lark").read_text("utf-8")
    assert grammar_text() == packaged.read_text("utf-8")
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["policy._grammar"] == "grammar"
    assert "*.lark" in config["package-data"]["policy._grammar"]
    assert "cli" not in config["packages"] and config["package-dir"]["funnel_cli"] == "cli"


def test_a_reserved_word_inside_a_dotted_field_path_needs_backticks():
    text = ('policy p "t"\nteam m "@m"\nfunnel a\nstage a owned by m {\n'
            "  require company.not > 1\n}\n")
    (d,) = parse(text, "p.funnel").diagnostics
    assert (d.code, d.message, d.span.line, d.span.column) == (
        "E100", "`not` is a reserved word", 5, 19)
    assert d.help == "write a field of that name in backticks: `not`"
    fixed = parse(text.replace("company.not", "company.`not`"), "p.funnel")
    assert fixed.diagnostics == ()


def test_comments_in_source_order_and_names_as_text():
    c = n.Comments(("# a", "# b"), "# trailing", ("# left",))
    assert c.all() == ("# a", "# b", "# trailing", "# left")
    assert n.Comments(("# a",)).all() == ("# a",)
    assert str(n.Ident("sales")) == "sales"
