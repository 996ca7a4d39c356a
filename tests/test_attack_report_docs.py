"""`funnel docs` on policies the other docs tests do not write (spec section 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

POLICY = '''policy p "P"
team m "@m"
funnel lead
stage lead owned by m {
  require email is present
}
'''


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_a_policy_without_a_version_is_named_alike_in_the_header_and_the_sign_off(
        tmp_path: Path, fmt):
    # Before: the header said "version (none)" and the sign-off "version (no version)".
    (tmp_path / "p.funnel").write_text(POLICY)
    result = CliRunner().invoke(main, ["docs", str(tmp_path), "--format", fmt],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "(none)" not in result.stdout
    assert result.stdout.count("(no version)") == 2
