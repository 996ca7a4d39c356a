"""The compile phase: readable generated source, safe with hostile policies, right answers.

What is checked here: the line writer; that the generated source compiles, is
registered in :mod:`linecache` under its pseudo-filename and marks every rule
with a ``# file:line`` comment; that a traceback points at the generated line;
that the generated function sees only the allowed names and that policy text
reaches the source only inside string literals and comments, however hostile it
is; that each inlined operation means exactly what :mod:`policy.engine.runtime` says;
and that every conformance example gets its expected decision.
(``test_equivalence.py`` checks the engine against the interpreter.)
"""

from __future__ import annotations

import ast
import io
import linecache
import math
import re
import tokenize
import traceback

import pytest
from conftest import ACME, NO_ACME
from engine_strategies import AS_OF, load_text, prepare_ts

from policy.api import Policy
from policy.engine import runtime as rt
from policy.engine.compiler import CompileError, LineWriter, compile_model
from policy.engine.decision import LeadError, NextStep, PolicyInfo, Violation, dumps
from policy.engine.interpreter import Interpreter
from policy.engine.timestamps import parse_timestamp
from policy.model.calendar import WorkCalendar
from policy.model.loader import load_model
from policy.model.namespace import build_model
from policy.syntax import nodes as n
from policy.syntax.canonical import expr_text
from policy.syntax.parser import parse

INFO = PolicyInfo("t", "1", "sha256:3f2a9c1d" + "0" * 56)

HEADER = """policy t "T"
team m "@m"
team s "@s"
funnel a -> b
"""


def compile_text(text: str):
    model = load_text(text)
    return model, compile_model(model, INFO)


# --------------------------------------------------------------------------- the writer


def test_line_writer_indents_blocks_and_fills_empty_ones():
    w = LineWriter()
    w.line("x = 1")
    with w.block("if x:"):
        w.line("y = 2")
        with w.block("while True:"):
            pass
    w.line()
    assert w.text() == "x = 1\nif x:\n    y = 2\n    while True:\n        pass\n\n"
    assert len(w) == 6


def test_line_writer_extend_reindents_another_writer():
    inner = LineWriter()
    with inner.block("if a:"):
        inner.line("b = 1")
    outer = LineWriter()
    with outer.block("def f():"):
        outer.extend(inner)
    assert outer.text() == "def f():\n    if a:\n        b = 1\n"


@pytest.mark.parametrize("text", ["a\nb", "a\rb", "a\u2028b", "a\x85b", "a\x0cb", "a\x1eb",
                                  "a\u2029b", "a\x0bb", "a\ufeffb"])
def test_line_writer_comments_never_end_their_line(text):
    w = LineWriter()
    w.comment(text)
    source = w.text()
    assert source == "# a" + text[1:-1].encode("unicode_escape").decode("ascii") + "b\n"
    assert len(source.splitlines()) == 1


def test_line_writer_comments_keep_printable_text_of_any_script():
    w = LineWriter()
    w.comment("naïve café ☕ 𝔘 \\ \"")
    assert w.text() == "# naïve café ☕ 𝔘 \\ \"\n"


def test_line_writer_refuses_a_line_break_in_code():
    with pytest.raises(ValueError, match="one line at a time"):
        LineWriter().line("a = 1\nimport os")


# --------------------------------------------------------------------------- acme


@pytest.fixture(scope="module")
def acme():
    if not ACME.is_dir():
        pytest.skip(NO_ACME)
    result = load_model(ACME)
    assert result.ok, [str(d) for d in result.diagnostics if d.is_error]
    policy = Policy(result.model, diagnostics=result.diagnostics, engine="interpreter")
    return policy, compile_model(policy.model, policy.info)


def test_source_is_registered_in_linecache_under_a_pseudo_filename(acme):
    policy, engine = acme
    digest = policy.info.digest.split(":")[1][:8]
    assert engine.filename == f"<funnel-policy acme_b2b {digest}>"
    assert linecache.getlines(engine.filename) == engine.source.splitlines(True)
    code = engine.run.__code__
    assert code.co_filename == engine.filename
    first = linecache.getline(engine.filename, code.co_firstlineno)
    assert first == "def run(lead, ts, as_of):\n"


def test_compiling_twice_reuses_the_name_and_a_different_source_gets_its_own(acme):
    policy, engine = acme
    again = compile_model(policy.model, policy.info)
    assert again.filename == engine.filename and again.source == engine.source
    text = HEADER.replace('policy t "T"', 'policy acme_b2b "Other"') + (
        "stage a owned by m {\n  require x\n}\nstage b owned by m {\n}\n")
    other = compile_model(load_text(text), policy.info)
    assert other.filename == engine.filename[:-1] + "-2>"
    assert linecache.getlines(other.filename) == other.source.splitlines(True)
    assert linecache.getlines(engine.filename) == engine.source.splitlines(True)


def test_every_rule_has_a_file_line_comment_above_its_code(acme):
    policy, engine = acme
    comments = [ln.strip() for ln in engine.source.splitlines() if ln.strip().startswith("#")]
    rules = []
    model = policy.model
    for decl in (*model.scores.values(), *model.stages.values(), *model.handoffs,
                 *model.recycles):
        rules.append(decl)
        rules.extend(getattr(decl, "items", ()))
    for rule in rules:
        mark = f"# {rule.span.file}:{rule.span.line}  "
        assert any(c.startswith(mark) for c in comments), mark
    assert "# " + model.scores["fit"].items[0].span.file in engine.source


def test_generated_code_inlines_what_static_kinds_allow(acme):
    _, engine = acme
    source = engine.source
    assert "(s_fit >= 40)" in source  # a score is an int: a plain comparison
    assert "type(f_job_level) is str and f_job_level in S" in source  # a constant frozenset
    assert "t_last_activity_at is not None and ((as_of - t_last_activity_at) / " in source
    # no generic runtime comparison is left in acme's hot path
    for fn in ("eq(", "ge(", "member(", "truthy("):
        assert not re.search(r"(?<![\w.])" + re.escape(fn), source), fn


def test_the_namespace_holds_only_allowed_names(acme):
    _, engine = acme
    namespace = engine.run.__globals__
    assert namespace["__builtins__"] == {}
    allowed = set(rt.EXPORTS) | {
        "__builtins__", "run", "type", "str", "dict", "ValueError", "Decision", "HandoffResult",
        "NextStep", "SlaResult", "Violation", "invalid_reason_message", "MappingProxy", "INFO",
        "LAST_INSTANT", "NUMBER_TYPES", "NEW", "len", "decide", "int", "float", "bool",
        "list", "KeyError", "OverflowError",
    }
    extra = set(namespace) - allowed
    assert all(re.fullmatch(r"[A-Z][A-Z_]*[0-9]+", name) for name in extra), extra
    for name in extra:  # our own constants: sets, lists, tuples, decision values, calendars
        assert isinstance(namespace[name],
                          (frozenset, list, tuple, NextStep, Violation, WorkCalendar)), name


def _expectations(example: n.Example) -> list[n.Expect]:
    return [item for item in example.items if isinstance(item, n.Expect)]


def _examples() -> list:
    if not ACME.is_dir():
        return []
    text = (ACME / "acme_test.funnel").read_text("utf-8")
    module = parse(text, "acme_test.funnel").module
    return [d for d in module.decls if isinstance(d, n.Example)]


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e.name[:40])
def test_each_conformance_example_gets_its_expected_decision(acme, example):
    policy, engine = acme
    items = {type(i): i for i in example.items if not isinstance(i, n.Expect)}
    lead, at = items[n.LeadLiteral].data, items[n.At].timestamp
    expects = _expectations(example)
    if any(e.kind is n.ExpectKind.ERROR for e in expects):
        with pytest.raises(LeadError):
            policy.prepare(lead)
        return
    decision = engine.run(lead, policy.prepare(lead), parse_timestamp(at))
    for e in expects:
        actual = _actual(decision, e)
        assert actual == e.value, f"expect {e.kind.value}: {e.value!r}, got {actual!r}"


def _actual(decision, e: n.Expect):
    """What the decision says about one expectation (spec section 7)."""
    kind = e.kind
    handoff = decision.handoff(e.at.name if e.at else None)
    if kind is n.ExpectKind.STAGE:
        return decision.stage
    if kind is n.ExpectKind.REACHED:
        return decision.reached
    if kind is n.ExpectKind.SCORE:
        return decision.scores[e.subject.name]
    if kind is n.ExpectKind.REASON:
        return decision.reason
    if kind is n.ExpectKind.VIOLATION:
        return e.value if e.value in [v.code for v in decision.violations] else None
    if handoff is None:
        return None
    if kind is n.ExpectKind.ROUTE:
        return handoff.route
    if kind is n.ExpectKind.SLA:
        return handoff.sla.status if handoff.sla else None
    assert kind is n.ExpectKind.ESCALATE, kind
    return handoff.escalate_to


# --------------------------------------------------------------------------- tracebacks


def test_a_traceback_points_at_the_generated_line():
    # Business time with no calendar: the checker refuses it (E107), so build the
    # model unchecked; both engines raise only for a lead that reaches the SLA.
    text = HEADER + """stage a owned by m {
  require go
}
stage b owned by s {
}
handoff a to s {
  sla 4 business hours from at_ until done_at
}
"""
    model = build_model([parse(text, "nocal.funnel").module])
    engine = compile_model(model, INFO)
    ts = prepare_ts(model, {"at_": "2026-12-01T10:00:00Z"})
    assert engine.run({"go": False}, ts, AS_OF).reached is None
    with pytest.raises(rt.EngineFault, match="calendar") as caught:
        engine.run({"go": True}, ts, AS_OF)
    with pytest.raises(rt.EngineFault, match="calendar"):
        Interpreter(model, INFO).run({"go": True}, ts, AS_OF)
    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert last.filename == engine.filename
    assert last.line.startswith("raise EngineFault(")
    above = engine.source.splitlines()[: last.lineno - 1]
    nearest = next(ln.strip() for ln in reversed(above) if "# nocal.funnel:" in ln)
    assert nearest.startswith("# nocal.funnel:11  sla 4 business hours from at_")


# --------------------------------------------------------------------------- hostile text

HOSTILE = [
    "__import__('os').system('echo pwned')",
    'a "quoted" \\ backslash',
    "line\nbreak and\r\nmore",
    "para\u2028graph\x85next\x0cfeed",
    "'''\"\"\" ; raise SystemExit # }",
    "naïve ☕ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]


def _q(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def _hostile_policy() -> str:
    h = HOSTILE
    return f"""policy evil {_q(h[0])}
version {_q(h[1])}
id `lead id`
team m {_q(h[2])}
team s {_q(h[3])}
funnel a -> b
define words = [{", ".join(_q(x) for x in h)}]
define pwned = `__import__('os')` == {_q(h[0])} or `a.b"c` in words
score fit {_q(h[4])} owned by m {{
  +10 if `x'y`.`z\\w` == {_q(h[5])}
}}
stage a {_q(h[1])} owned by m {{
  require pwned {_q(h[2])}
  exclude `eval` contains {_q(h[3])}
}}
stage b owned by s {{
  require fit > 5 {_q(h[0])}
}}
state gone {_q(h[5])} owned by m
handoff a to s {{
  route {_q(h[0])} if `__import__('os')` starts with "__"
  route {_q(h[4])} otherwise
  reject to gone with reason `why?` in words
}}
recycle b to gone if `exec` is present {_q(h[3])}
"""


def test_hostile_policy_text_stays_data():
    model, engine = compile_text(_hostile_policy())
    source = engine.source
    tree = ast.parse(source)
    (run,) = tree.body
    params = {a.arg for a in run.args.args}
    assigned = {node.id for node in ast.walk(run)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    assigned |= {node.target.id for node in ast.walk(run) if isinstance(node, ast.NamedExpr)}
    namespace = engine.run.__globals__
    for node in ast.walk(run):
        if isinstance(node, ast.Name):
            assert node.id in params | assigned | set(namespace), node.id
        elif isinstance(node, ast.Attribute):
            assert node.attr in ("get", "add_business"), node.attr
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Lambda, ast.Global)):
            raise AssertionError(ast.dump(node))
    # outside string literals and comments, no trace of the policy's text
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            continue
        for marker in ("__import__", "os", "system", "pwned", "eval", "exec"):
            assert marker != tok.string and marker + "(" not in tok.string, tok
    assert all(tok.type in (tokenize.STRING, tokenize.COMMENT) or tok.string.isascii()
               for tok in tokenize.generate_tokens(io.StringIO(source).readline))
    # the generated file has exactly the lines that linecache shows
    assert len(source.splitlines()) == len(linecache.getlines(engine.filename))


def test_hostile_strings_come_back_unchanged_in_decisions():
    model, engine = compile_text(_hostile_policy())
    interpreter = Interpreter(model, INFO)
    h = HOSTILE
    lead = {"lead id": h[1], 'a.b"c': h[0], "__import__('os')": "__x", "why?": h[2],
            "exec": True}
    decision = engine.run(lead, (), AS_OF)
    assert decision == interpreter.run(lead, (), AS_OF)
    assert dumps(decision) == dumps(interpreter.run(lead, (), AS_OF))
    assert decision.lead == h[1]
    assert decision.reached == "a" and decision.scores["fit"] == 0
    assert decision.next.unmet == (h[0],)
    (handoff,) = decision.handoffs
    assert handoff.route == h[0]
    assert handoff.rejected and handoff.rejection_reason == h[2]
    assert (decision.stage, decision.reason) == ("gone", h[2])
    assert decision.violations == ()

    deeper = engine.run({**lead, "x'y": {"z\\w": h[5]}}, (), AS_OF)
    assert deeper.scores["fit"] == 10 and deeper.reached == "b" and deeper.next is None

    blocked = engine.run({"eval": "X" + h[3].upper()}, (), AS_OF)
    exclude = model.stages["a"].items[1]
    assert blocked.reached is None
    assert blocked.next.unmet == (h[2], f"not ({expr_text(exclude.condition)})")


def test_unusual_field_keys_become_numbered_locals():
    _, engine = compile_text(HEADER + """stage a owned by m {
  require `annual revenue` > 5 and company.`x y` == "z" and `class` and `None`
}
stage b owned by m {
}
""")
    names = {node.id for node in ast.walk(ast.parse(engine.source)) if isinstance(node, ast.Name)}
    assert {"f_class", "f_None", "f_company"} <= names
    assert "class" not in names and "None" not in names
    assert any(re.fullmatch(r"f_\d+|f", name) for name in names)
    assert engine.run({"annual revenue": 6, "company": {"x y": "z"}, "class": True,
                       "None": True}, (), AS_OF).reached == "b"


# --------------------------------------------------------------------------- inlined semantics

VALUES = [True, False, 0, 1, 1.0, -0.0, 40, 39.5, 2.5, math.nan, math.inf, "vp", "VP", "m", "1",
          "", None, [], ["vp"], [1], {"a": 1}]

#: (condition on field `x`, what policy.engine.runtime says it means, a generic call that must
#: not appear in the code because the operation is inlined)
SEMANTICS = [
    ('x == "vp"', lambda v: rt.eq(v, "vp"), "eq("),
    ('x != "vp"', lambda v: rt.ne(v, "vp"), "ne("),
    ('x < "m"', lambda v: rt.lt(v, "m"), "lt("),
    ("x >= 40", lambda v: rt.ge(v, 40), "ge("),
    ("x < 2.5", lambda v: rt.lt(v, 2.5), "lt("),
    ("x == 1", lambda v: rt.eq(v, 1), "eq("),
    ("x != 1", lambda v: rt.ne(v, 1), "ne("),
    ("x == true", lambda v: rt.eq(v, True), "eq("),
    ("x != false", lambda v: rt.ne(v, False), "ne("),
    ('x in ["vp", "c-level"]', lambda v: rt.member(v, ["vp", "c-level"]), "member("),
    ('x not in ["vp"]', lambda v: rt.not_member(v, ["vp"]), "member("),
    ("x in [1, 2.5]", lambda v: rt.member(v, [1, 2.5]), "member("),
    ("x not in [1, 2.5]", lambda v: rt.not_member(v, [1, 2.5]), "member("),
    ("x in []", lambda v: rt.member(v, []), "member("),
    ("x not in []", lambda v: rt.not_member(v, []), "member("),
    ("x", rt.truthy, "truthy("),
    ("not x", lambda v: not rt.truthy(v), "truthy("),
    ("x is present", lambda v: v is not None, "get("),
    ("x is missing", lambda v: v is None, "get("),
    ('lower(x) == "vp"', lambda v: rt.eq(rt.lower(v), "vp"), "eq("),
    ('domain(x) in ["vp"]', lambda v: rt.member(rt.domain(v), ["vp"]), "member("),
    ("length(x) >= 1", lambda v: rt.ge(rt.length(v), 1), None),
    ("-x < 0", lambda v: rt.lt(rt.neg(v), 0), None),
    ("x * 2 > 3", lambda v: rt.gt(rt.mul(v, 2), 3), None),
    ('x contains "V"', lambda v: rt.contains(v, "V"), None),
]


@pytest.mark.parametrize(("condition", "meaning", "inlined"), SEMANTICS,
                         ids=[s[0] for s in SEMANTICS])
def test_each_inlined_operation_means_what_the_runtime_says(condition, meaning, inlined):
    model, engine = compile_text(HEADER + f"""stage a owned by m {{
  require {condition}
}}
stage b owned by m {{
}}
""")
    if inlined is not None:
        assert not re.search(r"(?<![\w.])" + re.escape(inlined), engine.source), engine.source
    interpreter = Interpreter(model, INFO)
    for value in VALUES:
        lead = {"x": value}
        holds = meaning(value) is True
        decision = engine.run(lead, (), AS_OF)
        assert (decision.reached is not None) == holds, (condition, value)
        assert decision == interpreter.run(lead, (), AS_OF), (condition, value)
    assert (engine.run({}, (), AS_OF).reached is not None) == (meaning(None) is True)


def test_score_arithmetic_per_caps_decay_and_range_match_the_interpreter():
    model, engine = compile_text(HEADER + """score fit "F" owned by m {
  +2.5 per visits up to 10
  -3 per visits
  +7 if visits >= 1
  decay half-life 1.5 days since seen_at
  range -5 to 8
}
score heat "H" owned by m {
  +1 per fit
  +4 if fit + 2 >= 3 and fit * 2 / 4 < 100
}
stage a owned by m {
  require heat >= 3
}
stage b owned by m {
}
""")
    interpreter = Interpreter(model, INFO)
    for visits in (None, -1, 0, 1, 2, 3, 4.5, 10, "3", True, 10**20):
        for seen in (None, "2026-12-01T15:30:00Z", "2026-11-30T00:00:00Z", "2027-01-01"):
            lead = {"visits": visits, "seen_at": seen}
            ts = prepare_ts(model, lead)
            if visits == 10**20:  # -3 × 1e20 is past a 64-bit score: both refuse the lead
                for run in (engine.run, interpreter.run):
                    with pytest.raises(ArithmeticError, match="64-bit integer"):
                        run(lead, ts, AS_OF)
                continue
            mine = engine.run(lead, ts, AS_OF)
            assert mine == interpreter.run(lead, ts, AS_OF), lead
            assert all(type(v) is int for v in mine.scores.values())
            assert -5 <= mine.scores["fit"] <= 8


def test_a_define_cycle_is_a_compile_error():
    text = HEADER + """define p = q and x
define q = not p
stage a owned by m {
  require p
}
stage b owned by m {
}
"""
    model = build_model([parse(text, "cycle.funnel").module])
    with pytest.raises(CompileError, match="cycle among defines"):
        compile_model(model, INFO)


def test_arithmetic_is_evaluated_only_where_the_interpreter_reaches_it():
    # 10**400 * 2.5 overflows: a define that does it must not run ahead of need
    model, engine = compile_text(HEADER + """define weighted = employees * 2.5
stage a owned by m {
  require demo and weighted > 3
  keep when gone
}
stage b owned by m {
}
""")
    interpreter = Interpreter(model, INFO)
    calm = {"employees": 10**400, "demo": False}
    assert engine.run(calm, (), AS_OF) == interpreter.run(calm, (), AS_OF)
    # where it is reached, an int past a double's range is infinite (spec section 10,
    # as SQL reads it), in both engines
    keen = {"employees": 10**400, "demo": True}
    assert engine.run(keen, (), AS_OF) == interpreter.run(keen, (), AS_OF)
    assert interpreter.run(keen, (), AS_OF).stage == "b"


def _unchecked(text: str):
    """Model and both engines for a policy the checker refuses (built without it)."""
    model = build_model([parse(text, "unchecked.funnel").module])
    return model, compile_model(model, INFO), Interpreter(model, INFO)


@pytest.mark.parametrize(("condition", "x", "raises"), [
    ("shout(x) is missing", 1, None),  # an unknown function gives a missing value
    ("lower(x, x) is missing", "A", None),  # so does a wrong number of arguments
    ("shout(x * 2.5) is missing", 10**400, None),  # its argument infinite, not an error
])
def test_unknown_functions_compile_to_what_the_interpreter_does(condition, x, raises):
    model, engine, interpreter = _unchecked(HEADER + f"""stage a owned by m {{
  require {condition}
}}
stage b owned by m {{
}}
""")
    if raises is None:
        decision = engine.run({"x": x}, (), AS_OF)
        assert decision.reached == "b"
        assert decision == interpreter.run({"x": x}, (), AS_OF)
        return
    for run in (engine.run, interpreter.run):
        with pytest.raises(raises):
            run({"x": x}, (), AS_OF)


def test_a_business_half_life_raises_like_the_interpreter():
    model, engine, interpreter = _unchecked(HEADER + """calendar {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
score s owned by m {
  +1 if x
  decay half-life 2 business days since t
}
stage a owned by m {
}
stage b owned by m {
}
""")
    for run in (engine.run, interpreter.run):
        with pytest.raises(rt.EngineFault, match="half-life is a fixed duration"):
            run({"x": True}, (None,), AS_OF)


def test_a_function_of_a_field_is_computed_once_per_run():
    model, engine = compile_text(HEADER + """stage a owned by m {
  require domain(x) in ["a.com", "b.com"]
  exclude domain(x) == "b.com"
  require lower(y) == "vp" or length(y) > 5
}
stage b owned by m {
  require lower(y) != "ic"
}
""")
    source = engine.source
    assert source.count("domain(f_x)") == 1 and source.count("lower(f_y)") == 1, source
    interpreter = Interpreter(model, INFO)
    for x in ("u@a.com", "u@B.com", "no at", None, 3, ["u@a.com"]):
        for y in ("VP", "Director", "ic", "", None, 7):
            lead = {"x": x, "y": y}
            assert engine.run(lead, (), AS_OF) == interpreter.run(lead, (), AS_OF), lead
