"""Lead files: one record per input record, in order, with its line, whatever the input."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.engine.validate import Problem
from policy.io.leads import LeadFileError, Record, detect_format, read_records, text_stream
from policy.model.schema import LeadSchema, parse_schema

SCHEMA = parse_schema(
    json.dumps(
        {
            "type": "object",
            "properties": {
                "lead_id": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "company": {
                    "type": ["object", "null"],
                    "properties": {
                        "employees": {"type": ["integer", "null"]},
                        "annual_revenue": {"type": "number"},
                        "annual revenue": {"type": "number"},
                    },
                },
                "demo_requested": {"type": ["boolean", "null"]},
                "flag_or_count": {"type": ["integer", "boolean"]},
                "score": {"type": ["number", "string"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object"},
                "nothing": {"type": "null"},
                "utm.source": {"type": "string"},
                "zip": {"type": "string"},
            },
        }
    ).encode()
)


def read(data: bytes | str, fmt: str, schema: LeadSchema | None = None) -> list[Record]:
    raw = data.encode() if isinstance(data, str) else data
    return list(read_records(text_stream(io.BytesIO(raw)), fmt=fmt, schema=schema))


def csv_text(*rows: list[str]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def summary(records: list[Record]) -> list[tuple[int, object]]:
    """(line, value) for leads, (line, error) for error records."""
    return [(r.line, r.value if r.ok else r.error) for r in records]


# -- formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("leads.jsonl", "jsonl"),
        ("LEADS.NDJSON", "jsonl"),
        ("leads.json", "json"),
        ("export.CSV", "csv"),
        ("dir.v2/leads.csv", "csv"),
        ("leads.txt", "jsonl"),
        ("leads", "jsonl"),
        ("-", "jsonl"),
        (None, "jsonl"),
    ],
)
def test_detect_format(name: str | None, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown lead format 'xml'"):
        read_records(io.StringIO(""), fmt="xml", schema=None)


# -- JSON Lines ------------------------------------------------------------------------


def test_jsonl_lines_and_errors() -> None:
    text = (
        '{"lead_id": "L1"}\n'
        "\n"
        '{"lead_id": "L2" "x": 1}\n'
        "[1, 2]\n"
        "   \t\n"
        '"text"\n'
        '{"lead_id": "L3", "n": NaN}\n'
        '{"lead_id": "L4"}\n'
        '{"lead_id": \n'
        '{"lead_id": "L5"}'
    )
    records = read(text, "jsonl")
    assert summary(records) == [
        (1, {"lead_id": "L1"}),
        (3, "not valid JSON: Expecting ',' delimiter at column 18"),
        (4, "expected a JSON object, found array"),
        (6, "expected a JSON object, found string"),
        (7, "not valid JSON: NaN is not a JSON number"),
        (8, {"lead_id": "L4"}),
        (9, "not valid JSON: Expecting value at column 13"),
        (10, {"lead_id": "L5"}),
    ]
    assert records[2].value == [1, 2]
    assert records[2].problems == (Problem("", "expected a JSON object, found array"),)
    assert records[1].value is None


def test_jsonl_bom_crlf_and_trailing_blank_lines() -> None:
    data = b'\xef\xbb\xbf{"a": 1}\r\n{"a": 2}\r\n\r\n\r\n'
    assert summary(read(data, "jsonl")) == [(1, {"a": 1}), (2, {"a": 2})]
    # also when the caller opened the file without `utf-8-sig`
    stream = io.StringIO('\ufeff{"a": 1}\n', newline="")
    assert [r.value for r in read_records(stream, fmt="jsonl")] == [{"a": 1}]


def test_jsonl_empty_input() -> None:
    assert read(b"", "jsonl") == []
    assert read(b"\n\n  \n", "jsonl") == []


def test_jsonl_invalid_utf8_is_an_error_record_and_the_rest_goes_on() -> None:
    data = b'{"a": 1}\n{"name": "Jos\xe9"}\n{"a": 3}\n{"name": "Jos\xc3\xa9"}\n'
    records = read(data, "jsonl")
    assert summary(records) == [
        (1, {"a": 1}),
        (2, "not valid UTF-8 (the file has bytes that are not UTF-8 text)"),
        (3, {"a": 3}),
        (4, {"name": "José"}),
    ]


def test_jsonl_long_line() -> None:
    lead = {"lead_id": "L1", "notes": "x" * 1_000_000}
    data = json.dumps({"a": 0}) + "\n" + json.dumps(lead) + "\n" + '{"a": 2}\n'
    assert summary(read(data, "jsonl")) == [(1, {"a": 0}), (2, lead), (3, {"a": 2})]
    broken = '{"notes": "' + "x" * 1_000_000 + '" oops}\n{"a": 2}\n'
    assert summary(read(broken, "jsonl")) == [
        (1, "not valid JSON: Expecting ',' delimiter at column 1000014"),
        (2, {"a": 2}),
    ]


def test_jsonl_deep_nesting_and_huge_numbers_are_error_records() -> None:
    data = "[" * 100_000 + "]" * 100_000 + "\n" + '{"n": ' + "9" * 5000 + "}\n" + '{"a": 1}\n'
    records = read(data, "jsonl")
    assert [r.line for r in records] == [1, 2, 3]
    assert records[0].error == "not valid JSON: nested too deeply"
    assert records[1].error.startswith("not valid JSON: ")
    assert records[2].value == {"a": 1}


def test_jsonl_streams() -> None:
    """Records come out before the input ends."""

    def lines():
        yield '{"n": 1}\n'
        yield '{"n": 2}\n'
        raise AssertionError("read past the record asked for")

    records = read_records(lines(), fmt="jsonl", schema=None)  # type: ignore[arg-type]
    assert next(records).value == {"n": 1}
    assert next(records).value == {"n": 2}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=30), st.just(""), st.just('{"a": 1}')), max_size=12))
def test_jsonl_one_record_per_non_blank_line(lines: list[str]) -> None:
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    text = "\n".join(lines)
    records = read(text, "jsonl")
    expected = [n for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    assert [r.line for r in records] == expected
    assert all((r.error is None) == isinstance(r.value, dict) for r in records)


# -- JSON arrays -----------------------------------------------------------------------


def test_json_array() -> None:
    text = '[\n  {"lead_id": "L1"},\n  {"lead_id": "L2"},\n  7,\n  {"n": Infinity},\n  {}\n]\n'
    assert summary(read(text, "json")) == [
        (1, {"lead_id": "L1"}),
        (2, {"lead_id": "L2"}),
        (3, "expected a JSON object, found integer"),
        (4, "not valid JSON: Infinity is not a JSON number"),
        (5, {}),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        (" \n ", []),
        ("[]", []),
        (" [ ] ", []),
        ('\ufeff[{"a": 1}]', [(1, {"a": 1})]),
        ('{"a": 1}', [(1, {"a": 1})]),  # one lead, as an example's `lead file` holds
        ('"leads"', [(1, "expected a JSON array of lead objects, found string")]),
        ("null", [(1, "expected a JSON array of lead objects, found null")]),
        ('{"a": }', [(1, "not valid JSON: Expecting value at line 1 column 7")]),
        ("nope", [(1, "not valid JSON: Expecting value at line 1 column 1")]),
        (
            '[{"a": 1}\n {"b": 2}]',
            [(1, {"a": 1}), (2, "not valid JSON: Expecting ',' delimiter at line 2 column 2")],
        ),
        (
            '[{"a": 1},]',
            [(1, {"a": 1}), (2, "not valid JSON: a ',' before ']' at line 1 column 11")],
        ),
        ('[{"a": 1}', [(1, {"a": 1}), (2, "not valid JSON: the array is not closed with ']'")]),
        ('[{"a": 1},', [(1, {"a": 1}), (2, "not valid JSON: the array is not closed with ']'")]),
        (
            '[{"a": 1}] []',
            [(1, {"a": 1}), (2, "not valid JSON: extra data after ']' at line 1 column 12")],
        ),
        (
            '[{"a": 1}, {"b": ]',
            [(1, {"a": 1}), (2, "not valid JSON: Expecting value at line 1 column 18")],
        ),
        (
            "[1.5, 12, true]",
            [
                (1, "expected a JSON object, found number"),
                (2, "expected a JSON object, found integer"),
                (3, "expected a JSON object, found boolean"),
            ],
        ),
    ],
)
def test_json_shapes(text: str, expected: list) -> None:
    assert summary(read(text, "json")) == expected


def test_json_array_streams_across_chunks() -> None:
    """Elements, numbers and line counts stay right where 64 KiB chunks split the text."""
    leads = [{"lead_id": f"L{i}", "pad": "é" * (i % 97), "n": 10**i % 99991} for i in range(3000)]
    text = "[\n" + ",\n".join(json.dumps(lead, ensure_ascii=False) for lead in leads) + "\n]"
    assert [r.value for r in read(text, "json")] == leads
    numbers = "[" + ", ".join(["123456789"] * 20_000) + "]"
    records = read(numbers, "json")
    assert len(records) == 20_000 and {r.value for r in records} == {123456789}
    broken = text[:-2] + ",\n oops\n]"
    records = read(broken, "json")
    assert len(records) == 3001 and records[-1].line == 3001
    assert records[-1].error == "not valid JSON: Expecting value at line 3002 column 2"


def test_json_array_large_element() -> None:
    lead = {"lead_id": "L1", "notes": "x" * 1_000_000}
    assert summary(read(json.dumps([lead, {"a": 2}]), "json")) == [(1, lead), (2, {"a": 2})]


def test_json_array_invalid_utf8_in_one_element() -> None:
    data = b'[{"a": 1}, {"name": "Jos\xe9"}, {"a": 3}]'
    assert summary(read(data, "json")) == [
        (1, {"a": 1}),
        (2, "not valid UTF-8 (the file has bytes that are not UTF-8 text)"),
        (3, {"a": 3}),
    ]


def test_json_array_streams() -> None:
    class Slow(io.StringIO):
        def read(self, size: int = -1) -> str:
            text = super().read(min(size, 8) if size > 0 else size)
            if '"stop"' in text:
                raise AssertionError("read past the record asked for")
            return text

    stream = Slow('[{"n": 1}, {"n": 2},' + " " * 100 + '{"stop": 1}]')
    records = read_records(stream, fmt="json", schema=None)
    assert next(records).value == {"n": 1}


# -- CSV -------------------------------------------------------------------------------


def test_csv_typed_by_schema() -> None:
    text = (
        "lead_id,created_at,company.employees,company.annual_revenue,demo_requested,zip\r\n"
        "L1,2026-11-02T15:00:00Z,5000,1.5e6,yes,02134\r\n"
        "L2,,12.0,7,FALSE,\r\n"
        "L3,, 40 ,-0.5,1,x\r\n"
    )
    assert summary(read(text, "csv", SCHEMA)) == [
        (
            2,
            {
                "lead_id": "L1",
                "created_at": "2026-11-02T15:00:00Z",
                "company": {"employees": 5000, "annual_revenue": 1.5e6},
                "demo_requested": True,
                "zip": "02134",
            },
        ),
        (
            3,
            {
                "lead_id": "L2",
                "company": {"employees": 12, "annual_revenue": 7},
                "demo_requested": False,
            },
        ),
        (
            4,
            {
                "lead_id": "L3",
                "company": {"employees": 40, "annual_revenue": -0.5},
                "demo_requested": True,
                "zip": "x",
            },
        ),
    ]


def test_csv_empty_cells_are_missing() -> None:
    text = "lead_id,company.employees,demo_requested\nL1,,\nL2, ,  \n"
    assert summary(read(text, "csv", SCHEMA)) == [(2, {"lead_id": "L1"}), (3, {"lead_id": "L2"})]


def test_csv_bad_cells_name_the_field() -> None:
    text = 'lead_id,company.employees,demo_requested\nL1,abc,maybe\nL2,1,no\nL3,"1,000",\n'
    records = read(text, "csv", SCHEMA)
    assert summary(records) == [
        (
            2,
            'company.employees: expected integer, found "abc";'
            ' demo_requested: expected boolean, found "maybe"',
        ),
        (3, {"lead_id": "L2", "company": {"employees": 1}, "demo_requested": False}),
        (4, 'company.employees: expected integer, found "1,000"'),
    ]
    assert records[0].problems == (
        Problem("company.employees", 'expected integer, found "abc"'),
        Problem("demo_requested", 'expected boolean, found "maybe"'),
    )
    # the row as read, so a caller can still name the lead
    assert records[0].value == {
        "lead_id": "L1",
        "company": {"employees": "abc"},
        "demo_requested": "maybe",
    }


@pytest.mark.parametrize(
    ("header", "cell", "expected"),
    [
        ("flag_or_count", "1", True),  # boolean is tried before integer
        ("flag_or_count", "2", 2),
        ("flag_or_count", "Yes", True),
        ("score", "2.5", 2.5),
        ("score", "12", 12),
        ("score", "high", "high"),  # number or string: the string when no number fits
        ("tags", '["a", "b"]', ["a", "b"]),
        ("extra", '{"k": 1}', {"k": 1}),
        ("nothing", "null", "null"),  # only an empty cell is missing; the schema refuses this
        ("utm.source", "google", "google"),  # the schema knows `utm.source` as one key
        ("company.`annual revenue`", "3", 3),
        ("not_in_schema", "12", "12"),
        ("company.employees", "-3", -3),
        # JSON number syntax, a whole value: the validator's integer, as in JSON Lines
        ("company.employees", "1e3", 1000),
        ("company.employees", "2.0", 2),
    ],
)
def test_csv_cell_types(header: str, cell: str, expected: object) -> None:
    [record] = read(csv_text([header], [cell]), "csv", SCHEMA)
    assert record.ok, record.error
    value: object = record.value
    for key in (
        ("company", "annual revenue")
        if "annual revenue" in header
        else (
            ("company", "employees")
            if header.startswith("company.")
            else ((header if header != "utm.source" else "utm.source",))
        )
    ):
        value = value[key]  # type: ignore[index]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("header", "cell", "message"),
    [
        ("tags", "a;b", 'tags: expected array, found "a;b"'),
        ("extra", "[1]", 'extra: expected object, found "[1]"'),
        ("company.employees", "+3", 'company.employees: expected integer, found "+3"'),
        ("company.employees", "1e-3", 'company.employees: expected integer, found "1e-3"'),
        ("company.employees", "1.5", 'company.employees: expected integer, found "1.5"'),
        (
            "company.annual_revenue",
            "1e999",
            'company.annual_revenue: expected number, found "1e999"',
        ),
        ("company.annual_revenue", "NaN", 'company.annual_revenue: expected number, found "NaN"'),
        ("company.annual_revenue", "١٢", 'company.annual_revenue: expected number, found "١٢"'),
        ("flag_or_count", "x", 'flag_or_count: expected boolean or integer, found "x"'),
    ],
)
def test_csv_cells_that_do_not_fit(header: str, cell: str, message: str) -> None:
    [record] = read(csv_text([header], [cell]), "csv", SCHEMA)
    assert record.error == message


def test_csv_without_schema_keeps_strings() -> None:
    text = "lead_id,company.employees,demo_requested,a.b.c\nL1,12,true,x\n"
    assert read(text, "csv")[0].value == {
        "lead_id": "L1",
        "company": {"employees": "12"},
        "demo_requested": "true",
        "a": {"b": {"c": "x"}},
    }


def test_csv_lines_multiline_cells_and_bad_rows() -> None:
    text = (
        "lead_id,notes\r\n"  # line 1
        'L1,"first\r\nsecond\r\nthird"\r\n'  # lines 2-4
        "\r\n"  # line 5: blank
        "L2,plain\r\n"  # line 6
        "L3\r\n"  # line 7: too few cells
        ",\r\n"  # line 8: all empty, skipped
        "L4,a,b\r\n"  # line 9: too many cells
        'L5,"quoted ""x"""\r\n'  # line 10
    )
    assert summary(read(text, "csv")) == [
        (2, {"lead_id": "L1", "notes": "first\r\nsecond\r\nthird"}),
        (6, {"lead_id": "L2", "notes": "plain"}),
        (7, "expected 2 cells, found 1"),
        (9, "expected 2 cells, found 3"),
        (10, {"lead_id": "L5", "notes": 'quoted "x"'}),
    ]


def test_csv_bom_lf_and_trailing_blank_lines() -> None:
    data = b"\xef\xbb\xbflead_id,n\nL1,1\n\n\n"
    assert summary(read(data, "csv")) == [(2, {"lead_id": "L1", "n": "1"})]
    stream = io.StringIO("\ufeff lead_id ,n\nL1,1\n", newline="")
    assert [r.value for r in read_records(stream, fmt="csv", schema=None)] == [
        {"lead_id": "L1", "n": "1"}
    ]


def test_csv_empty_file_and_header_only() -> None:
    assert read(b"", "csv") == []
    assert read(b"lead_id,n\r\n", "csv") == []


def test_csv_columns_with_an_empty_header_are_ignored() -> None:
    assert read("lead_id,,n,\nL1,x,1,\n", "csv")[0].value == {"lead_id": "L1", "n": "1"}


def test_csv_invalid_utf8_is_an_error_record() -> None:
    data = b"lead_id,name\nL1,Jos\xe9\nL2,Jos\xc3\xa9\n"
    assert summary(read(data, "csv")) == [
        (2, "not valid UTF-8 (the file has bytes that are not UTF-8 text)"),
        (3, {"lead_id": "L2", "name": "José"}),
    ]


def test_csv_long_cell() -> None:
    text = "lead_id,notes\nL1," + "x" * 1_000_000 + "\nL2,y\n"
    records = read(text, "csv")
    assert [r.line for r in records] == [2, 3] and len(records[0].value["notes"]) == 1_000_000


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("lead_id,email,lead_id", "CSV header: column 'lead_id' appears twice"),
        (
            "company,company.employees",
            "CSV header: column 'company' is a field,"
            " but column 'company.employees' makes it an object",
        ),
        (
            "company.employees,company",
            "CSV header: column 'company' is a field,"
            " but column 'company.employees' makes it an object",
        ),
        ("a..b", "CSV header 'a..b': a field path has an empty part"),
        ("a.", "CSV header 'a.': a field path has an empty part"),
        ("`a`b", "CSV header '`a`b': a backtick must close before a dot"),
    ],
)
def test_csv_unusable_header(header: str, message: str) -> None:
    with pytest.raises(LeadFileError) as caught:
        read(header + "\n1,2,3\n", "csv")
    assert caught.value.message == message


def test_csv_streams() -> None:
    def lines():
        yield "lead_id\n"
        yield "L1\n"
        raise AssertionError("read past the record asked for")

    records = read_records(lines(), fmt="csv", schema=None)  # type: ignore[arg-type]
    assert next(records).value == {"lead_id": "L1"}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.text(alphabet='ab,"\n\r é', max_size=6), min_size=2, max_size=2),
        min_size=1,
        max_size=8,
    )
)
def test_csv_round_trip_and_start_lines(rows: list[list[str]]) -> None:
    """Rows the csv module writes come back in order, each at the line where it starts
    (a lone carriage return inside a quoted cell counts as a line break, as editors do).
    """
    text = csv_text(["a", "b"])
    starts = []
    for row in rows:
        starts.append(len(re.findall("\r\n|\r|\n", text)) + 1)
        text += csv_text(row)
    records = read(text, "csv")
    kept = [
        (start, row)
        for start, row in zip(starts, rows, strict=True)
        if not all(not c or c.isspace() for c in row)
    ]
    assert [r.line for r in records] == [start for start, _ in kept]
    for record, (_, row) in zip(records, kept, strict=True):
        expected = {k: v for k, v in zip("ab", row, strict=True) if v and not v.isspace()}
        assert record.value == expected


# a number beyond a double's range refuses the lead (spec section 9), at its path, in
# every JSON reader (JSON Lines, its blocks, a JSON array); the lead keeps its id;
# underflow and integers within a double's range are read
_EDGE = 2**1024 - 2**970  # the least integer float() rounds to infinity (309 digits)
assert float(_EDGE - 1) == 1.7976931348623157e308
_BEYOND = [
    ('{"lead_id": "a", "n": 1e400}', ["n"]),
    ('{"lead_id": "a", "n": -1E+309, "m": 2}', ["n"]),
    ('{"lead_id": "a", "x": [1, {"y": 1.8e308}], "odd key": 1e999}', ["x[1].y", "`odd key`"]),
    ('{"lead_id": "a", "n": 1' + "0" * 400 + '.5}', ["n"]),
    ('{"lead_id": "a", "n": 1' + "0" * 210 + "e99}", ["n"]),
    ('{"lead_id": "a", "n": 1e-400, "m": 1.7e308}', None),
    # an integer written without fraction or exponent: refused past the range, exactly
    ('{"lead_id": "a", "n": 1' + "0" * 400 + "}", ["n"]),
    (f'{{"lead_id": "a", "n": {_EDGE}}}', ["n"]),
    (f'{{"lead_id": "a", "n": -{_EDGE}, "m": 1}}', ["n"]),
    (f'{{"lead_id": "a", "n": {_EDGE - 1}, "m": -{_EDGE - 1}}}', None),
    ('{"lead_id": "a", "n": 1' + "0" * 308 + "}", None),  # 10^308: within
    ('{"lead_id": "a", "n": 2' + "0" * 308 + "}", ["n"]),  # 2 x 10^308: beyond
    ('{"lead_id": "a", "s": "' + "9" * 400 + '", "t": ["' + "1" * 900 + '"]}', None),  # text
    ('{"lead_id": "a", "x": [1, [2, {"y": -' + "9" * 400 + '}]], "z": 1e400, "s": "'
     + "9" * 400 + '", "w": ' + "7" * 500 + "}", ["x[1][1].y", "z", "w"]),
    ('{"lead_id": "a", "pad": "' + "x" * 1234 + '", "n": ' + "5" * 309 + "}", ["n"]),
]


def _block_records(text: str) -> list[Record]:
    """The records of the block reader (``--jobs``, ``funnel report``, ``diff --leads``)."""
    from policy.io.jsonl_blocks import JsonlBlock

    return JsonlBlock(text.encode(), 1).records()


@pytest.mark.parametrize(("text", "paths"), _BEYOND)
def test_a_number_beyond_a_double_refuses_the_lead(text: str, paths: list[str] | None) -> None:
    for fmt, data in (("jsonl", text + "\n"), ("json", "[" + text + ", {}]"),
                      ("block", text + "\n{}\n"), ("one object", text)):
        records = (_block_records(data) if fmt == "block"
                   else read(data, "json" if fmt == "one object" else fmt))
        assert len(records) == 1 + (fmt in ("json", "block"))
        first = records[0]
        if paths is None:
            assert first.ok and first.value["lead_id"] == "a"
            continue
        assert first.error == "a number is beyond a double's range"
        assert [p.path for p in first.problems] == paths
        assert first.value["lead_id"] == "a"  # the error record names the lead
        if fmt in ("json", "block"):
            assert records[1].ok  # the next element is read as usual


def _overflows(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return True
    return False


_INTS = st.one_of(
    st.integers(), st.integers(min_value=10**300, max_value=10**320),
    st.sampled_from([_EDGE - 1, _EDGE, 10**308, 2 * 10**308, 10**400, 10**1000]),
).flatmap(lambda v: st.sampled_from([v, -v]))
_JSON = st.recursive(
    st.one_of(_INTS, st.text(alphabet="0123456789x", max_size=700), st.booleans(),
              st.floats(allow_nan=False, allow_infinity=False), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(alphabet="abc", max_size=3), inner,
                                            max_size=4)),
    max_leaves=12)


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(st.text(alphabet="abc.", max_size=3), _JSON, max_size=5))
def test_a_lead_is_refused_exactly_when_an_int_in_it_overflows_a_double(lead: dict) -> None:
    """Spec section 9: refused iff float() of some integer in it overflows, at each
    such integer's path, by every JSON reader."""
    from policy.io.records import nodes as _nodes
    from policy.model.schema import format_path

    beyond = [format_path(where) for where, item in _nodes(lead)
              if type(item) is int and _overflows(item)]
    text = json.dumps(lead)
    for records in (read(text + "\n", "jsonl"), read("[" + text + "]", "json"),
                    _block_records(text + "\n")):
        (record,) = records
        assert record.value == lead
        if beyond:
            assert record.error == "a number is beyond a double's range"
            assert [p.path for p in record.problems] == beyond
        else:
            assert record.ok, record


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 600), st.lists(st.tuples(
    st.one_of(st.integers(0, 700), st.integers(305, 315)),  # runs near 309 digits
    st.sampled_from(["a", '"', "\u0663", "-"])), max_size=6),
    st.integers(0, 3000), st.integers(0, 3000))
def test_the_digit_run_scan_is_exact(pad: int, runs: list, a: int, b: int) -> None:
    """`long_digit_run` (every 300th character, then the run around a digit) says what
    a regular expression over the text says, for any part of it, as text and bytes."""
    from policy.io.records import long_digit_run

    text = "x" * pad + "".join("7" * n + sep for n, sep in runs)
    a, b = sorted((min(a, len(text)), min(b, len(text))))
    want = re.search("[0-9]{309}", text[a:b]) is not None
    assert long_digit_run(text, a, b) == want
    assert long_digit_run(text[a:b]) == want
    raw = text.encode()
    assert long_digit_run(raw) == (re.search(b"[0-9]{309}", raw) is not None)


def test_the_digit_run_scan_finds_a_run_of_309_wherever_it_stands() -> None:
    """Every offset of a run just under, at and over 309 digits against the 300-char
    sampling, as text and bytes, alone and between other runs."""
    from policy.io.records import long_digit_run

    for length in (154, 308, 309, 310, 318, 319, 320, 609):
        for pad in range(0, 620):
            text = "x" * pad + "7" * length + "a" + "7" * 308
            want = length >= 309
            assert long_digit_run(text) == want, (length, pad)
            assert long_digit_run(text.encode()) == want, (length, pad)
            assert long_digit_run(text, pad, pad + length) == want, (length, pad)


def test_an_array_item_is_written_with_brackets_in_a_problem_path() -> None:
    (record,) = read('{"tags": ["ok", "\\ud800"]}\n', "jsonl")
    assert [p.path for p in record.problems] == ["tags[1]"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
@pytest.mark.parametrize("data", [b"\xef", b"\xef\xbb"])
def test_a_file_that_is_only_the_start_of_a_byte_order_mark_is_one_error_record(data, fmt):
    # Python's utf-8-sig decoder dropped these bytes at the end of the input: no record
    import io as _io

    from policy.io.leads import read_records, text_stream

    got = list(read_records(text_stream(_io.BytesIO(data)), fmt=fmt))
    assert len(got) == 1 and got[0].line == 1 and "not valid UTF-8" in got[0].error
