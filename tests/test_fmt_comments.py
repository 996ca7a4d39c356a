"""Comments between tokens: ``fmt`` keeps every one and changes nothing else.

The AST generators of ``tests/strategies.py`` attach comments to statements only (that is
all the tree holds), so the formatter's other properties never saw a comment where people
put them: at the end of a line that continues (after ``=``, an operator, ``and``, ``or``,
``not``, ``in``, ``->``, a comma, an open ``(`` or ``[``), inside a list, or on a file's
last line with no newline after it. Here the formatted text of a drawn module is broken
after such tokens, a comment at each break, and ``fmt`` must give a text that parses to
the same tree, holds every comment, and formats to itself.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import modules

from policy.syntax import nodes as n
from policy.syntax.formatter import all_comments, format_module, format_source
from policy.syntax.parser import parse

PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Tokens after which a rule continues on the next line (spec section 1).
CONTINUES = {"=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "and", "or", "not",
             "in", "->", ",", "(", "["}
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|#.*|half-life|->|[=!<>]='
                    r'|[^\W\d][\w.]*|\S')  # names and keys of any script


def _breaks(text: str) -> list[tuple[int, int]]:
    """(line index, column just after the token) of every token a line may end on and
    continue after: not the first token of a line (a score rule's sign), not inside a
    lead's JSON (which holds no comments), not in a comment."""
    spots = []
    json_depth = 0
    for number, line in enumerate(text.split("\n")):
        previous = None
        first = True
        for m in _TOKEN.finditer(line):
            tok = m.group()
            if tok.startswith("#"):
                break
            if json_depth:
                json_depth += {"{": 1, "}": -1}.get(tok, 0)
            elif tok == "{" and previous == "lead":
                json_depth = 1
            elif tok in CONTINUES and not first:
                spots.append((number, m.end()))
            previous, first = tok, False
    return spots


def _with_comments(text: str, chosen: list[tuple[int, int]]) -> tuple[str, list[str]]:
    lines = text.split("\n")
    added = []
    for number, col in sorted(chosen, reverse=True):  # right to left keeps columns valid
        line = lines[number]
        label = f"# c{len(added)}"
        added.append(label)
        lines[number] = f"{line[:col]}  {label}\n    {line[col:].lstrip()}"
    return "\n".join(lines), added


@PROPS
@given(modules(with_comments=True), st.data())
def test_a_comment_after_any_continuing_token_is_kept_and_changes_nothing(m: n.Module, data):
    text = format_module(m)
    spots = _breaks(text)
    chosen = data.draw(st.lists(st.sampled_from(spots), unique=True, max_size=8)) if spots \
        else []
    noisy, added = _with_comments(text, chosen)
    if data.draw(st.booleans()):  # the last line's comment with no newline after it
        noisy = noisy.rstrip("\n") + "\n# the end"
        added.append("# the end")
    parsed = parse(noisy, m.path)
    assert parsed.module is not None, (noisy, parsed.diagnostics)
    assert parsed.module == m  # comments are not part of a node's equality
    result = format_source(noisy, m.path)
    assert result.text is not None, (noisy, result.diagnostics)
    back = parse(result.text, m.path).module
    assert back == m
    kept = all_comments(back)
    for label in added:
        assert label in kept, (label, noisy, result.text)
    assert sorted(kept) == sorted([*all_comments(m), *added])
    assert format_source(result.text, m.path).changed is False


def test_the_breaks_cover_every_continuing_token_kind():
    text = ('policy p "P"\nteam m "@m"\nteam s "@s"\nfunnel a -> b\n'
            'define l = ["x", "y"]\n'
            'define d = (x + 1) * 2 / 3 - 4 >= 5 and y != 1 or not z in l\n'
            'define e = days_since(t) < 2 or u <= 3 or v > 4 or w == 5 or q not in ["a"]\n'
            'stage a owned by m, s {\n  require d\n}\n'
            'example "e" {\n  lead {"a": [1, 2], "b": {"c": 3}}\n}\n')
    lines = text.split("\n")
    found = {[m.group() for m in _TOKEN.finditer(lines[line][:col])][-1]
             for line, col in _breaks(text)}
    assert found == CONTINUES
    # nothing inside the lead's JSON
    assert not [s for s in _breaks(text) if lines[s[0]].lstrip().startswith("lead")]
