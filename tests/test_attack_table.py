"""The table view of `funnel eval` with text that is wider or narrower than its length:
East Asian wide characters and emoji take two terminal columns, combining marks and
zero-width characters none. Columns were padded and cut by length, so every row
holding such text pushed the rest of its line out of line."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from click.testing import CliRunner
from funnel_cli.main import main

POLICY = '''policy tv "T"
id lead_id
team t "@t"
funnel a
stage a owned by t {
  require email is present
}
handoff a to t {
  route "東京の営業チーム・エンタープライズ" if email == "jp"
  route "plain" otherwise
}
'''


def _columns(text: str) -> int:
    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def test_the_table_aligns_wide_and_zero_width_text(tmp_path: Path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "policy.funnel").write_text(POLICY, encoding="utf-8")
    leads = [{"lead_id": "東京都渋谷区の顧客ｶﾀｶﾅ", "email": "jp"},
             {"lead_id": "a\u0301b\u200bc", "email": "x"},
             {"lead_id": "😀" * 12, "email": "jp"},
             {"lead_id": "x", "email": "x"}]
    path = tmp_path / "l.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in leads),
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "p"), str(path), "--format",
                                       "table", "--as-of", "2026-12-01T16:00:00Z"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    head = lines[0]
    # the display column where each heading starts is where every row's cell starts
    starts = [_columns(head[: head.index(h)]) for h in ("stage", "a route", "a sla")]
    for line, lead in zip(lines[2:], leads, strict=True):
        assert lead["lead_id"] in line  # never cut
        cells = [i for i in range(1, len(line)) if line[i - 1] == " " and line[i] != " "
                 and line[i - 2:i] == "  "]
        got = [_columns(line[:i]) for i in cells]
        assert got[2:4] == starts[:2], (line, got, starts)
    # a cut route keeps to its column's width and ends with the ellipsis
    route = next(x for x in lines[2:] if "…" in x)
    assert "東京の営業" in route


def test_terminal_width_cut_and_pad():
    from policy.render.escape import term_cut, term_pad, term_width

    assert term_width("abc") == 3 and term_width("東京") == 4 and term_width("e\u0301") == 1
    assert term_width("😀\u200b") == 2
    assert term_cut("東京都渋谷区", 7) == "東京都…" and term_width(term_cut("東京都渋谷区", 7)) == 7
    assert term_cut("abcdef", 4) == "abc…" and term_cut("abc", 3) == "abc"
    assert term_pad("東京", 6) == "東京  " and term_pad("ab", 4, right=True) == "  ab"
