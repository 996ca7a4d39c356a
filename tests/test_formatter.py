"""The formatter: golden files, precedence tables, the safety check, properties, digest.

Golden pairs live in tests/golden/fmt/: ``NAME.funnel`` is the input, ``NAME.expected``
what ``fmt`` must make of it (and ``NAME.expected`` must format to itself).
``UPDATE_GOLDEN=1 pytest tests/test_formatter.py`` rewrites the expected files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import attrs
import pytest
from conftest import ACME, NO_ACME
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import chains, declarations, exprs, modules

from policy.model.loader import load_model
from policy.model.namespace import build_model
from policy.syntax import formatter as fmt_mod
from policy.syntax import nodes as n
from policy.syntax.canonical import expr_text, number_text
from policy.syntax.formatter import (
    WIDTH,
    all_comments,
    canonical_policy_text,
    format_line,
    format_module,
    format_source,
    policy_digest,
    quote,
)
from policy.syntax.parser import parse

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "fmt"
PROPS = settings(max_examples=200, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])
#: whole modules cost more per example; fewer keep the file under ~10 s of CPU
MODULE_PROPS = settings(PROPS, max_examples=100)


def module_of(text: str, file: str = "t.funnel") -> n.Module:
    result = parse(text, file)
    assert result.diagnostics == (), result.diagnostics
    assert result.module is not None
    return result.module


def value_of(expr_text: str) -> n.Expr:
    decl = module_of(f"define x = {expr_text}").decls[0]
    assert isinstance(decl, n.Define)
    return decl.value


# --------------------------------------------------------------------------- golden files

GOLDEN_INPUTS = sorted(GOLDEN.glob("*.funnel"))


def test_there_are_enough_golden_pairs():
    assert len(GOLDEN_INPUTS) >= 10
    for path in GOLDEN_INPUTS:
        assert path.with_suffix(".expected").exists() or os.environ.get("UPDATE_GOLDEN")


@pytest.mark.parametrize("path", GOLDEN_INPUTS, ids=lambda p: p.stem)
def test_golden(path: Path):
    source = path.read_text("utf-8")
    result = format_source(source, path.name)
    assert result.diagnostics == ()
    assert result.text is not None
    expected_path = path.with_suffix(".expected")
    if os.environ.get("UPDATE_GOLDEN"):
        expected_path.write_text(result.text, "utf-8")
    expected = expected_path.read_text("utf-8")
    assert result.text == expected
    assert result.changed == (expected != source)
    # the expected output is canonical: it formats to itself
    again = format_source(expected, path.name)
    assert again.text == expected
    assert again.changed is False
    assert module_of(expected) == module_of(source)
    assert all_comments(module_of(expected)) == all_comments(module_of(source))


# --------------------------------------------------------------------------- expressions

@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("a-(b-c)", "a - (b - c)"),
        ("(a-b)-c", "a - b - c"),
        ("a/(b*c)", "a / (b * c)"),
        ("(a+b)*c", "(a + b) * c"),
        ("a+b*c", "a + b * c"),
        ("-(a*b)", "-(a * b)"),
        ("(-a)*b", "-a * b"),
        ("- - 5", "--5"),
        ("not(a==b)", "not a == b"),
        ("(not a)==b", "(not a) == b"),
        ("not (a or b)", "not (a or b)"),
        ("not not a", "not not a"),
        ("(a and b) or c", "a and b or c"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b or c)", "a or (b or c)"),
        ("a and (b and c)", "a and (b and c)"),
        ("(a == b) == c", "(a == b) == c"),
        ("a == (b == c)", "a == (b == c)"),
        ("(a+1) is present", "a + 1 is present"),
        ("(a and b) is missing", "(a and b) is missing"),
        ("(x) not in [1,2 ,3,]", "x not in [1, 2, 3]"),
        ("name starts with(\"x\")", 'name starts with "x"'),
        ("days_since( (t) )>30", "days_since(t) > 30"),
        ("f()", "f()"),
        ("[]", "[]"),
        ("50_000_000", "50_000_000"),
        ("0.50", "0.50"),
        ("true != null", "true != null"),
        ("`annual revenue` >= 1", "`annual revenue` >= 1"),
        ("x.`true`.`y`", "x.`true`.y"),
    ],
)
def test_format_expr_table(source: str, canonical: str):
    expr = value_of(source)
    assert expr_text(expr) == canonical
    assert value_of(canonical) == expr


def test_format_expr_on_built_trees_keeps_needed_parentheses():
    a, b, c = (n.Ref((x,)) for x in "abc")
    sub = n.BinOp.SUB
    assert expr_text(n.Binary(sub, a, n.Binary(sub, b, c))) == "a - (b - c)"
    assert expr_text(n.Binary(sub, n.Binary(sub, a, b), c)) == "a - b - c"
    assert expr_text(n.Not(n.Binary(n.BinOp.LT, a, b))) == "not a < b"
    assert expr_text(n.Binary(n.BinOp.LT, n.Not(a), b)) == "(not a) < b"
    assert expr_text(n.Neg(n.Neg(n.Number(5)))) == "--5"
    assert expr_text(n.Presence(n.Neg(a), False)) == "-a is missing"


def test_numbers_keep_their_spelling_only_when_it_matches():
    assert expr_text(n.Number(50_000_000, text="50_000_000")) == "50_000_000"
    assert expr_text(n.Number(7, text="5")) == "7"  # a stale spelling is ignored
    assert expr_text(n.Number(1.5, text="1_5")) == "1.5"  # wrong type of number
    assert number_text(1e16) == "10000000000000000.0"
    assert number_text(5e-07) == "0.0000005"
    assert number_text(2.0) == "2.0"
    assert number_text(12) == "12"
    assert value_of(number_text(1e16)) == n.Number(1e16)
    # An infinity prints as digits, but no policy text holds one: a number past a
    # double's range is E100 (tests/test_attack.py), so the round trip stops there.
    text = f"define x = {number_text(float('inf'))}\n"
    assert [d.code for d in parse(text, "t.funnel").diagnostics] == ["E100"]


def test_strings_keep_unicode_and_escape_lone_surrogates():
    assert quote("café — ok") == '"café — ok"'
    assert quote('a"b\\c\n') == '"a\\"b\\\\c\\n"'
    assert quote("\ud800") == '"\\ud800"'
    assert value_of(quote("\ud800")) == n.String("\ud800")


def test_durations_use_the_singular_for_exactly_one():
    text = format_module(module_of(
        "score s owned by m {\n  decay half-life 1 days since t\n}\n"
        "score u owned by m {\n  decay half-life 1.0 day since t\n}\n"))
    assert "decay half-life 1 day since t" in text
    assert "decay half-life 1.0 days since t" in text


def test_format_line_gives_every_statement_on_one_line():
    text = (GOLDEN / "declarations.expected").read_text("utf-8")
    lines = {line.strip() for line in text.splitlines()}
    stmts = []
    for d in module_of(text).decls:
        stmts += d.items if isinstance(d, n.BLOCKS) else [d]
    assert len(stmts) > 25
    for stmt in stmts:
        assert format_line(stmt) in lines
    long = module_of((GOLDEN / "conditions.expected").read_text("utf-8")).decls[0].items[0]
    assert format_line(long) == (
        "require fit >= 40 and engagement >= 30 and (demo_requested or pricing_page_visits >= 2)"
        ' and not unsubscribed "all the signals we agreed on with sales"')
    with pytest.raises(TypeError):
        format_line(module_of("calendar {\n}\n").decls[0])


# --------------------------------------------------------------------------- layout rules

def test_a_long_define_breaks_after_equals_then_after_and_or():
    text = format_source(
        "define enterprise = company.employees >= 1000 or company.annual_revenue >= "
        "50_000_000 or named_account\n").text
    assert text == (
        "define enterprise =\n"
        "  company.employees >= 1000 or company.annual_revenue >= 50_000_000 or named_account\n")
    longer = format_source(
        "define enterprise = company.employees >= 1000 or company.annual_revenue >= "
        "50_000_000 or named_account_list_membership_flag or strategic_partner_flag\n").text
    assert longer == (
        "define enterprise =\n"
        "  company.employees >= 1000 or\n"
        "  company.annual_revenue >= 50_000_000 or\n"
        "  named_account_list_membership_flag or\n"
        "  strategic_partner_flag\n")


def test_trailing_comment_of_a_broken_statement_goes_on_its_last_line():
    src = ("stage s owned by m {\n  require aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa and "
           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb and cccccccccccccccccccccccccccc  # why\n}\n")
    text = format_source(src).text
    assert text.splitlines()[3] == "    cccccccccccccccccccccccccccc  # why"
    stmt = module_of(text).decls[0].items[0]
    assert stmt.comments.trailing == "# why"


def test_a_parenthesised_chain_breaks_inside_its_parentheses():
    long = " or ".join(f"condition_number_{i}_is_quite_long" for i in range(4))
    src = f"stage s owned by m {{\n  require other and ({long})\n}}\n"
    text = format_source(src).text
    assert text == (
        "stage s owned by m {\n"
        "  require other and\n"
        "    (condition_number_0_is_quite_long or\n"
        "      condition_number_1_is_quite_long or\n"
        "      condition_number_2_is_quite_long or\n"
        "      condition_number_3_is_quite_long)\n"
        "}\n")
    assert module_of(text) == module_of(src)


def test_blank_lines_between_declarations():
    text = format_module(module_of(
        'policy p "t"\nversion "1"\nteam a "@a"\nteam b "@b"\ndefine x = 1\n\n\n\ndefine y = 2\n'
        "state s owned by a\n"))
    assert text == ('policy p "t"\nversion "1"\n\nteam a "@a"\nteam b "@b"\n\n'
                    "define x = 1\n\ndefine y = 2\n\nstate s owned by a\n")


def test_empty_module_formats_to_nothing():
    assert format_source("\n\n   \n").text == ""
    assert format_source("").changed is False


# --------------------------------------------------------------------------- the safety check

def test_syntax_error_comes_back_as_e100():
    result = format_source('define x = (a\nteam t "h"\n', "bad.funnel")
    assert result.text is None
    assert result.changed is False
    (d,) = result.diagnostics
    assert d.code == "E100"
    assert d.span.file == "bad.funnel"
    assert d.span.line == 1


def _with_printer(monkeypatch, mangle):
    real = fmt_mod.format_module
    monkeypatch.setattr(fmt_mod, "format_module", lambda m: mangle(real(m)))


def test_refuses_output_that_does_not_parse(monkeypatch):
    _with_printer(monkeypatch, lambda text: text.replace("=", "=="))
    result = format_source("define x = 1\n", "f.funnel")
    assert result.text is None
    (d,) = result.diagnostics
    assert d.code == "E111"
    assert "does not parse" in d.message
    assert d.help and "bug" in d.help


def test_refuses_output_that_changes_meaning(monkeypatch):
    _with_printer(monkeypatch, lambda text: text.replace("2", "3"))
    result = format_source("define x = 1\ndefine y = 2\n", "f.funnel")
    assert result.text is None
    (d,) = result.diagnostics
    assert d.code == "E111"
    assert "change the meaning" in d.message
    assert (d.span.file, d.span.line) == ("f.funnel", 2)  # points at `define y`


def test_refuses_output_that_loses_a_comment(monkeypatch):
    _with_printer(monkeypatch, lambda text: text.replace("  # keep me", ""))
    result = format_source("define x = 1\ndefine y = 2  # keep me\n", "f.funnel")
    assert result.text is None
    (d,) = result.diagnostics
    assert d.code == "E111"
    assert "comment" in d.message
    assert d.span.line == 2


def test_e111_is_a_registered_code():
    from policy.syntax.diagnostics import CODES

    assert "E111" in CODES


# --------------------------------------------------------------------------- the spec's policy

@pytest.mark.skipif(not ACME.exists(), reason=NO_ACME)
def test_acme_formats_to_itself_but_for_the_aligned_comment():
    source = (ACME / "acme.funnel").read_text("utf-8")
    result = format_source(source, "acme.funnel")
    assert result.text is not None
    before, after = source.splitlines(), result.text.splitlines()
    assert len(before) == len(after)
    changed = [i + 1 for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [4]
    assert after[3] == "id lead_id  # the field that names a lead in every output"


@pytest.mark.skipif(not ACME.exists(), reason=NO_ACME)
def test_acme_examples_format_and_are_stable():
    source = (ACME / "acme_test.funnel").read_text("utf-8")
    result = format_source(source, "acme_test.funnel")
    assert result.text is not None and result.changed
    # leads wrap; only an example's long name can leave a line over the width
    long_lines = [line for line in result.text.split("\n") if len(line) > WIDTH]
    assert all(line.startswith("example ") for line in long_lines)
    assert format_source(result.text, "acme_test.funnel").changed is False


# --------------------------------------------------------------------------- properties

def _stmt_comments(m: n.Module) -> list:
    """Each statement's comments, with the statement's position in the tree."""
    out = []
    for i, d in enumerate(m.decls):
        out.append((i, None, d.comments))
        for j, item in enumerate(getattr(d, "items", ()) if isinstance(d, n.BLOCKS) else ()):
            out.append((i, j, item.comments))
    out.append(("end", None, m.trailing))
    return out


@MODULE_PROPS
@given(modules())
def test_round_trip(m: n.Module):
    text = format_module(m)
    assert parse(text, m.path).module == m


@MODULE_PROPS
@given(modules(with_comments=True))
def test_comments_survive_where_they_stood(m: n.Module):
    text = format_module(m)
    back = parse(text, m.path).module
    assert back == m
    assert _stmt_comments(back) == _stmt_comments(m)
    assert all_comments(back) == all_comments(m)


@MODULE_PROPS
@given(modules(with_comments=True))
def test_idempotent(m: n.Module):
    once = format_module(m)
    result = format_source(once, m.path)
    assert result.text == once
    assert result.changed is False


@MODULE_PROPS
@given(modules(with_comments=True), st.data())
def test_blank_lines_anywhere_change_nothing_but_layout(m: n.Module, data):
    """Blank lines added between any two lines: same tree, same comments, a stable
    layout with no two blank lines in a row and none at the start of a block."""
    # split on "\n" only: str.splitlines() also breaks at \x1e or \u2028 inside a comment
    lines = format_module(m).split("\n")[:-1]
    if not lines:
        return
    spots = data.draw(st.sets(st.integers(0, len(lines)), max_size=6))
    noisy = []
    for i, line in enumerate(lines):
        if i in spots:
            noisy += ["", ""]
        noisy.append(line)
    text = "\n".join(noisy) + "\n"
    result = format_source(text, m.path)
    assert result.text is not None, result.diagnostics
    back = parse(result.text, m.path).module
    assert back == m
    assert all_comments(back) == all_comments(m)
    assert format_source(result.text, m.path).changed is False
    assert "\n\n\n" not in result.text
    assert not result.text.startswith("\n")
    # no blank line at the start of a block: the parser sees none above a first item
    for d in back.decls:
        if isinstance(d, n.BLOCKS) and d.items:
            assert d.items[0].blank_before is False


@PROPS
@given(exprs)
def test_format_expr_round_trip(e: n.Expr):
    text = expr_text(e)
    assert "\n" not in text
    assert value_of(text) == e


@PROPS
@given(chains)
def test_long_conditions_fit_the_width(cond: n.Expr):
    m = n.Module(path="w.funnel", decls=(
        n.Define(name=n.Ident("x"), description=None, value=cond),
        n.Stage(name=n.Ident("s"), description=None, owners=(n.Ident("m"),),
                items=(n.Require(condition=cond, reason="a reason"),)),
    ))
    text = format_module(m)
    assert parse(text, m.path).module == m
    assert max(len(line) for line in text.split("\n")) <= WIDTH


# --------------------------------------------------------------------------- digest

POLICY = """\
policy demo "Digest"
version "1"
schema "lead.schema.json"
team marketing "@m"
funnel lead -> mql
define big = company.employees >= 1_000
stage lead owned by marketing {
  require email is present
}
stage mql owned by marketing {
  require big
}
"""
SCORES = """\
score fit owned by marketing {
  +30 if big
}
"""
SCHEMA = b'{"type": "object"}\n'


def _policy(tmp_path: Path, name: str, files: dict[str, str], schema: bytes = SCHEMA):
    root = tmp_path / name
    root.mkdir()
    for file, text in files.items():
        (root / file).write_text(text, "utf-8")
    (root / "lead.schema.json").write_bytes(schema)
    result = load_model(root, check=False)
    assert result.model is not None, result.diagnostics
    return result.model


def test_digest_ignores_layout_comments_examples_and_spelling(tmp_path: Path):
    base = _policy(tmp_path, "base", {"a.funnel": POLICY, "b.funnel": SCORES})
    messy = POLICY.replace("1_000", "1000").replace("team marketing", "# who\n\nteam  marketing")
    messy = messy.replace("require big", "require big  # the enterprise rule")
    examples = 'example "e" {\n  lead {"email": "a@b.c"}\n  expect stage lead\n}\n'
    other = _policy(tmp_path, "other", {"a.funnel": messy, "b.funnel": SCORES + "\n\n" + examples})
    assert policy_digest(base) == policy_digest(other)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", policy_digest(base))


def test_digest_changes_with_meaning_and_schema(tmp_path: Path):
    base = _policy(tmp_path, "base", {"a.funnel": POLICY, "b.funnel": SCORES})
    threshold = _policy(tmp_path, "threshold",
                        {"a.funnel": POLICY.replace("1_000", "1_001"), "b.funnel": SCORES})
    points = _policy(tmp_path, "points",
                     {"a.funnel": POLICY, "b.funnel": SCORES.replace("+30", "+31")})
    schema = _policy(tmp_path, "schema", {"a.funnel": POLICY, "b.funnel": SCORES},
                     schema=SCHEMA.replace(b"\n", b" \n"))
    digests = {policy_digest(m) for m in (base, threshold, points, schema)}
    assert len(digests) == 4


def test_canonical_text_is_in_path_order_without_comments_or_examples(tmp_path: Path):
    model = _policy(tmp_path, "p", {
        "b.funnel": SCORES + 'example "e" {\n  expect error\n}\n',
        "a.funnel": "# a comment\n" + POLICY,
    })
    text = canonical_policy_text(model)
    assert "#" not in text and "example" not in text
    assert text.index("policy demo") < text.index("score fit")
    assert "company.employees >= 1000" in text  # numbers in canonical spelling
    assert text.endswith("  +30 if big\n}\n")


@MODULE_PROPS
@given(modules(with_comments=True))
def test_digest_text_is_blind_to_comments_and_blank_lines(m: n.Module):
    bare = attrs.evolve(m, trailing=(), decls=tuple(
        attrs.evolve(d, comments=n.NO_COMMENTS, blank_before=False) for d in m.decls))
    reparsed = parse(format_module(m), m.path).module
    texts = {canonical_policy_text(build_model([x])) for x in (m, bare, reparsed)}
    assert len(texts) == 1


@PROPS
@given(declarations())
def test_every_declaration_alone_round_trips(d: n.Stmt):
    m = n.Module(path="d.funnel", decls=(d,))
    assert parse(format_module(m), m.path).module == m
