"""The canonical printer: the digest text, ``next.unmet`` and trace texts, apart from
``fmt``'s layout (spec sections 4 and 5)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import declarations, exprs, modules

from policy.model.loader import load_model
from policy.syntax import canonical
from policy.syntax import formatter as fmt
from policy.syntax import nodes as n
from policy.syntax.parser import parse

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

POLICY = """policy demo "Demo"
team m "@m"
funnel a -> b
define big "large accounts" = company.employees >= 50_000 or revenue >= 1_000_000.5
score fit owned by m {
  +30 if big
  -2.5 per tickets up to 10
  range 0 to 100
}
stage a owned by m {
  require email is present
  exclude competitor or partner
  exclude do_not_contact
  exclude domain(email) in ["x.com"]
  keep when a_at is present
}
stage b owned by m {
  require fit >= 40 "needs a fit of 40"
}
"""


def _model(tmp_path: Path, name: str, text: str):
    root = tmp_path / name
    root.mkdir()
    (root / "p.funnel").write_text(text, "utf-8")
    result = load_model(root, check=False)
    assert result.model is not None, result.diagnostics
    return result.model


def test_numbers_are_hashed_by_value(tmp_path):
    spelled = _model(tmp_path, "spelled", POLICY)
    plain = _model(tmp_path, "plain", POLICY.replace("50_000", "50000")
                   .replace("1_000_000.5", "1000000.5"))
    assert canonical.policy_digest(spelled) == canonical.policy_digest(plain)
    assert "company.employees >= 50000 or revenue >= 1000000.5" in \
        canonical.digest_text(spelled.modules)
    other = _model(tmp_path, "other", POLICY.replace("50_000", "50_001"))
    assert canonical.policy_digest(other) != canonical.policy_digest(spelled)


def test_the_digest_does_not_follow_fmts_layout(tmp_path, monkeypatch):
    # fmt breaks long lines at its width; the digest text never breaks a line
    model = _model(tmp_path, "p", POLICY)
    before = canonical.policy_digest(model)
    monkeypatch.setattr(fmt, "WIDTH", 20)
    assert canonical.policy_digest(model) == before
    assert fmt.policy_digest(model) == before  # the formatter's name is the same function
    assert all(len(line) > 0 for line in canonical.digest_text(model.modules).splitlines())


def test_the_digest_text_is_one_line_per_statement(tmp_path):
    model = _model(tmp_path, "p", POLICY)
    text = canonical.digest_text(model.modules)
    assert text.splitlines()[:4] == [
        'policy demo "Demo"', 'team m "@m"', "funnel a -> b",
        'define big "large accounts" = company.employees >= 50000 or revenue >= 1000000.5']
    assert "  -2.5 per tickets up to 10\n  range 0 to 100\n}\n" in text


@pytest.mark.parametrize(("line", "unmet"), [
    ("require email is present", "email is present"),
    ('require fit >= 40 "needs a fit of 40"', "needs a fit of 40"),
    ("exclude do_not_contact", "not do_not_contact"),
    ("exclude company.flags.competitor", "not company.flags.competitor"),
    ("exclude lower(tier)", "not lower(tier)"),
    ("exclude competitor or partner", "not (competitor or partner)"),
    ('exclude domain(email) in ["x.com"]', 'not (domain(email) in ["x.com"])'),
    ("exclude not verified", "not (not verified)"),
    ("exclude size >= 50_000", "not (size >= 50_000)"),  # as the author spelled it
])
def test_unmet_texts(line, unmet):
    module = parse(f"stage a owned by m {{\n  {line}\n}}\n", "u.funnel").module
    assert canonical.unmet_text(module.decls[0].items[0]) == unmet


@PROPS
@given(exprs)
def test_expression_text_parses_back_to_the_same_tree(e: n.Expr):
    text = canonical.expr_text(e)
    module = parse(f"define x = {text}\n", "e.funnel").module
    assert module is not None, text
    assert module.decls[0].value == e
    # fmt's own one-line form of the define says the expression the same way
    assert fmt.format_line(module.decls[0]) == f"define x = {text}"


@PROPS
@given(declarations())
def test_rule_text_is_fmts_one_line_form(d: n.Stmt):
    for stmt in (d, *getattr(d, "items", ())):
        if isinstance(stmt, n.BLOCKS) or isinstance(stmt, (n.Example, n.LeadLiteral, n.Expect,
                                                           n.At, n.LeadFile)):
            continue
        assert canonical.stmt_text(stmt) == fmt.format_line(stmt)


@PROPS
@given(modules(max_decls=6))
def test_the_digest_text_parses_back_to_the_same_declarations(m: n.Module):
    text = canonical.digest_text([m])
    back = parse(text, m.path).module
    assert back is not None, text
    wanted = tuple(d for d in m.decls if not isinstance(d, n.Example))
    assert back.decls == wanted
    # and comments or the author's blank lines change nothing
    bare = attrs.evolve(m, decls=tuple(attrs.evolve(d, comments=n.NO_COMMENTS)
                                       for d in m.decls))
    assert canonical.digest_text([bare]) == text
