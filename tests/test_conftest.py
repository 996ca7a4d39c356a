"""The shared set-up in conftest.py: the profile CI runs with, and the conformance folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ACME, NO_ACME, _profile
from hypothesis import settings


@pytest.mark.parametrize("env, profile", [
    ({}, "dev"),
    ({"CI": "true"}, "ci"),
    ({"CI": "false"}, "dev"),
    ({"CI": "true", "HYPOTHESIS_PROFILE": "dev"}, "dev"),
    ({"HYPOTHESIS_PROFILE": "ci"}, "ci"),
])
def test_the_environment_picks_the_profile(monkeypatch, env, profile):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _profile() == profile


def test_the_ci_profile_is_reproducible_and_draws_more():
    ci, dev = settings.get_profile("ci"), settings.get_profile("dev")
    assert ci.derandomize and ci.database is None and ci.deadline is None
    assert ci.max_examples > dev.max_examples
    assert not dev.derandomize


def test_the_skip_message_names_the_folder():
    assert str(ACME) in NO_ACME and "FUNNEL_CONFORMANCE" in NO_ACME


def test_the_slow_modules_run_first_and_exist():
    # a module renamed or split must leave SLOW_FIRST too, or it silently runs last again
    from conftest import ROOT, SLOW_FIRST

    assert len(set(SLOW_FIRST)) == len(SLOW_FIRST)
    assert all((ROOT / "tests" / name).is_file() for name in SLOW_FIRST)


def test_the_slow_modules_are_collected_first_each_kept_whole(pytestconfig):
    from pathlib import Path
    from types import SimpleNamespace

    from conftest import SLOW_FIRST, pytest_collection_modifyitems

    if pytestconfig.pluginmanager.hasplugin("xdist"):  # xdist must not sort them again
        assert pytestconfig.option.loadscopereorder is False
    names = ["test_a.py"] * 2 + [SLOW_FIRST[1]] * 3 + ["test_b.py"] * 4 + [SLOW_FIRST[0]]
    items = [SimpleNamespace(path=Path(name), n=i) for i, name in enumerate(names)]
    pytest_collection_modifyitems(items)
    assert [(x.path.name, x.n) for x in items] == [
        (SLOW_FIRST[0], 9), (SLOW_FIRST[1], 2), (SLOW_FIRST[1], 3), (SLOW_FIRST[1], 4),
        ("test_b.py", 5), ("test_b.py", 6), ("test_b.py", 7), ("test_b.py", 8),
        ("test_a.py", 0), ("test_a.py", 1)]


def test_subprocesses_keep_their_bytecode_outside_the_checkout(tmp_path):
    # PYTHONDONTWRITEBYTECODE (set on the shared machine) made every `funnel` a test
    # starts compile the package again; the suite gives them a bytecode folder of its
    # own instead, never one inside the checkout
    import os
    import subprocess
    import sys

    from conftest import ROOT

    out = subprocess.run(
        [sys.executable, "-c", "import sys, policy.sql.calendars as m; "
         "print(sys.flags.dont_write_bytecode, sys.pycache_prefix or '', m.__cached__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    dont_write, cached = out[0], out[-1]
    assert dont_write == "0" and not os.environ.get("PYTHONDONTWRITEBYTECODE")
    prefix = os.environ.get("PYTHONPYCACHEPREFIX")
    if prefix:  # the suite's own folder (or the one the caller chose), outside the tree
        assert len(out) == 3 and out[1] == prefix
        assert Path(cached).is_relative_to(prefix) and Path(cached).is_file()
        assert not Path(prefix).resolve().is_relative_to(ROOT.resolve())
    else:  # the caller's own choice: bytecode beside the sources, Python's default
        assert len(out) == 2 and Path(cached).parent.name == "__pycache__"
