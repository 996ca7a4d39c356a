"""The cache of loaded policies: a hit equals a fresh load; any change is a miss."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

from policy.model import cache
from policy.model.loader import InputError, load_model

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture
def rules(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    monkeypatch.setenv("FUNNEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FUNNEL_NO_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    return folder


def _same(a, b) -> None:
    assert a.model == b.model
    assert a.diagnostics == b.diagnostics
    assert a.sources == b.sources
    assert (a.root, a.omitted, a.ok) == (b.root, b.omitted, b.ok)


def test_a_hit_is_the_load_itself(rules, tmp_path):
    first = cache.load_cached("rules")
    assert list((tmp_path / "cache").glob("*.pickle"))
    second = cache.load_cached("rules")
    assert isinstance(second, cache.CachedLoad) and second.hit
    _same(second, first)
    _same(second, load_model("rules"))


@pytest.mark.parametrize("change", ["policy", "schema", "new file", "removed file", "lines"])
def test_any_change_to_what_loading_read_is_a_miss(rules, change):
    cache.load_cached("rules")
    if change == "policy":
        text = (rules / "scoring.funnel").read_text("utf-8")
        (rules / "scoring.funnel").write_text(text.replace("+", "+ ", 1), "utf-8")
    elif change == "schema":
        schema = (rules / "lead.schema.json").read_text("utf-8")
        (rules / "lead.schema.json").write_text(schema.replace('"minLength": 1', '"minLength": 2'),
                                                "utf-8")
    elif change == "new file":
        (rules / "extra.funnel").write_text("# nothing but a comment\n", "utf-8")
    elif change == "removed file":
        (rules / "examples.funnel").unlink()
    else:
        (rules / "lead.schema.json").unlink()  # a file that was there and is gone
    again = cache.load_cached("rules")
    assert not again.hit
    _same(again, load_model("rules"))


def test_off_broken_and_missing(rules, tmp_path, monkeypatch):
    cache.load_cached("rules")
    for entry in (tmp_path / "cache").glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    assert not cache.load_cached("rules").hit
    with pytest.raises(InputError):
        cache.load_cached("nowhere")
    monkeypatch.setenv("FUNNEL_NO_CACHE", "1")
    shutil.rmtree(tmp_path / "cache")
    cache.load_cached("rules")
    assert not (tmp_path / "cache").exists()


def test_the_cache_keeps_a_bounded_number_of_entries(rules, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "KEEP", 2)
    for name in ("a", "b", "c"):
        shutil.copytree(rules, tmp_path / name)
        cache.load_cached(name)
    assert len(list((tmp_path / "cache").glob("*.pickle"))) == 2


def test_eval_writes_the_same_bytes_from_a_cached_load(rules):
    args = ["eval", "rules", "rules/leads.jsonl", "--as-of", "2026-12-01T16:00:00Z",
            "--format", "csv", "--jobs", "1"]
    runs = [CliRunner().invoke(main, args) for _ in range(2)]
    assert runs[0].stdout_bytes == runs[1].stdout_bytes
    assert runs[0].exit_code == runs[1].exit_code == 1


def test_an_entry_others_may_write_is_not_read(rules, tmp_path):
    cache.load_cached("rules")
    (entry,) = (tmp_path / "cache").glob("*.pickle")
    assert cache.load_cached("rules").hit
    entry.chmod(0o666)
    assert not cache.load_cached("rules").hit


def test_a_hit_does_not_import_the_parser(rules):
    import subprocess
    import sys

    cache.load_cached("rules")
    code = ("import sys; from policy.model.cache import load_cached; r = load_cached('rules'); "
            "print(type(r).__name__, 'lark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["CachedLoad", "False"]
