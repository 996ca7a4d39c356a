"""A JSON array of leads with an element the reader cannot take (nested too deeply, a
number of thousands of digits): that element is one error record and every lead after
it is still read (spec section 9: every input record yields one output record). The
reader skips the element by scanning it, across its 64 KiB reads, strings and escapes
included; a top level that is not an array is one record, or one error."""

from __future__ import annotations

import pytest
from test_leads import read

DEEP = "[" * 100_000 + "]" * 100_000
TOO_DEEP = "not valid JSON: nested too deeply"
DIGITS = "not valid JSON: a number has more than 4300 digits"


def outcome(data: str) -> list[tuple[int, object]]:
    return [(r.line, r.value if r.ok else r.error) for r in read(data, "json")]


@pytest.mark.parametrize(("data", "expected"), [
    # a string with an escaped quote before the deep part, then a good lead
    ('[{"s": "a\\"b", "deep": ' + DEEP + '}, {"id": 2}]', [(1, TOO_DEEP), (2, {"id": 2})]),
    # the escape falls on the boundary of two reads: the quote is not taken as the end
    ('[{"s": "' + "x" * 65_530 + '\\"]' + "y" * 10 + '", "d": ' + DEEP + '}, {"id": 2}]',
     [(1, TOO_DEEP), (2, {"id": 2})]),
    # a scalar too long to read, ended by the `,` before the next element
    ("[" + "1" * 5000 + ', {"id": 2}]', [(1, DIGITS), (2, {"id": 2})]),
    # ... or by the array's own `]`
    ('[{"id": 1}, ' + "9" * 5000 + "]", [(1, {"id": 1}), (2, DIGITS)]),
    ("[" + DEEP + "]", [(1, TOO_DEEP)]),
])
def test_an_element_that_cannot_be_read_is_one_error_and_the_rest_are_read(data, expected):
    assert outcome(data) == expected


@pytest.mark.parametrize(("data", "expected"), [
    ('{"id": 1}', [(1, {"id": 1})]),
    ('{"a": NaN}', [(1, "not valid JSON: NaN is not a JSON number")]),
    ('"text"', [(1, "expected a JSON array of lead objects, found string")]),
    ('{"a": 1', [(1, "not valid JSON: Expecting ',' delimiter at line 1 column 8")]),
    ('[{"a": 1}] x', [(1, {"a": 1}),
                      (2, "not valid JSON: extra data after ']' at line 1 column 12")]),
])
def test_a_top_level_that_is_not_an_array(data, expected):
    assert outcome(data) == expected
