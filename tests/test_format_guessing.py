"""What the library guesses about files from their names and first bytes (spec section 9):
the format of a lead file, the hint after most records were refused, the format of a
decisions file and of a report. `funnel eval` and `funnel report` call these through
``policy``'s exports; here each rule is checked on its own."""

from __future__ import annotations

import pytest

import policy


@pytest.mark.parametrize(("name", "head", "expected"), [
    (None, b'a,b\n1,2\n', "jsonl"),          # standard input is JSON Lines whatever it holds
    ("-", b'a,b\n1,2\n', "jsonl"),
    ("leads.CSV", b'{"a": 1}\n', "csv"),       # a known extension wins over the bytes
    ("leads.ndjson", b"a,b\n", "jsonl"),
    ("leads.json", b"", "json"),
    ("export.txt", b"\xef\xbb\xbfname;email\nx;y\n", "csv"),  # no extension says: sniffed
    ("export.txt", b'[{"a": 1}]', "json"),
    ("export.dat", b"", "jsonl"),               # nothing to go on: JSON Lines
    ("export", b"just words\n", "jsonl"),
])
def test_input_format_of(name, head, expected):
    assert policy.input_format_of(name, head) == expected


def test_format_hint_only_when_most_records_were_refused():
    csv_head = b"lead_id,email\nL1,a@x\n"
    assert policy.format_hint("jsonl", csv_head, refused=3, total=4) == (
        "looks like CSV: use --input-format csv")
    assert policy.format_hint("jsonl", csv_head, refused=2, total=4) is None  # half: no hint
    assert policy.format_hint("jsonl", csv_head, refused=0, total=0) is None
    assert policy.format_hint("csv", csv_head, refused=4, total=4) is None   # already CSV
    assert policy.format_hint("csv", b'{"a": 1}\n', refused=1, total=1) == (
        "looks like JSON Lines: use --input-format jsonl")
    assert policy.format_hint("csv", b"[1, 2]", refused=1, total=1) == (
        "looks like a JSON array: use --input-format json")
    # one JSON object per line read as an array, or the reverse: JSON either way
    assert policy.format_hint("json", b'{"a": 1}\n', refused=1, total=1) is None
    assert policy.format_hint("csv", b"\n\n", refused=1, total=1) is None  # nothing to see


@pytest.mark.parametrize(("output", "expected"), [
    (None, "jsonl"), ("", "jsonl"), ("out.CSV", "csv"), ("d.txt", "table"),
    ("d.json", "json"), ("d.ndjson", "jsonl"), ("d.parquet", "parquet"), ("d.xlsx", "jsonl"),
])
def test_output_format_for(output, expected):
    assert policy.output_format_for(output) == expected


@pytest.mark.parametrize(("output", "expected"), [
    (None, "markdown"), ("r.HTML", "html"), ("r.htm", "html"), ("r.md", "markdown"),
    ("r.json", "json"), ("r.txt", "markdown"),
])
def test_report_format_for(output, expected):
    assert policy.report_format_for(output) == expected


def test_render_report_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        policy.render_report({}, "pdf")
