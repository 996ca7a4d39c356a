"""The engine cache (policy/engine/engine_cache.py): an engine read back from it is the
engine a fresh compile makes, name for name in its namespace and decision for decision;
any change to what the engine was made from is another entry; a broken entry means a
fresh compile, never a traceback."""

from __future__ import annotations

import functools
import json
import math
import shutil
import subprocess
import sys
import types
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACME
from engine_strategies import leads, leads_for, load_text, policies
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.api import Policy
from policy.engine import engine_cache
from policy.engine.decision import LeadError, dumps
from policy.model import cache
from policy.model.loader import load_model

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
AS_OFS = [datetime.fromisoformat(t) for t in
          ("2026-11-02T15:00:00+00:00", "2026-12-01T16:00:00+00:00", "2027-03-01T09:30:00+00:00")]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    monkeypatch.setenv("FUNNEL_CACHE_DIR", str(where))
    monkeypatch.delenv("FUNNEL_NO_CACHE", raising=False)
    return where


def _engine(policy: Policy):
    return policy._decide_json  # the CompiledEngine (its decide_json made when asked for)


def _same_namespace(cold: dict, warm: dict) -> None:
    """Every name of a fresh compile's namespace, with an equal value of the same type
    (the same object for functions, classes and the shared runtime values)."""
    assert cold.keys() == warm.keys()
    for name, value in cold.items():
        other = warm[name]
        if type(value) is types.FunctionType and value.__globals__ is cold:
            assert type(other) is types.FunctionType and other.__globals__ is warm, name
            assert other.__code__.co_code == value.__code__.co_code, name
            assert other.__code__.co_consts == value.__code__.co_consts, name
            assert len(other.__defaults__ or ()) == len(value.__defaults__ or ()), name
            continue
        assert type(other) is type(value), name
        if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)) and \
                getattr(value, "__self__", None) is None:
            assert other is value, name
        elif type(value) is functools.partial:
            assert (other.func, other.args, other.keywords) == \
                (value.func, value.args, value.keywords), name
        elif isinstance(value, float) and math.isnan(value):
            assert math.isnan(other), name
        elif type(value) is types.BuiltinMethodType:
            assert type(other.__self__) is type(value.__self__), name  # noqa: E721
            assert other.__name__ == value.__name__, name
        else:
            assert other == value, name


def _decide_all(policy: Policy, batch: list) -> list[str]:
    out = []
    for as_of in AS_OFS:
        for lead in batch:
            try:
                out.append(dumps(policy.evaluate(lead, as_of=as_of)))
            except LeadError as exc:
                out.append(dumps(exc))
    return out


def _rules_leads() -> list:
    text = (RULES / "leads.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()[:300] if line.strip()]


def _cold_and_warm(path: Path, local_tz: str | None = None) -> tuple[Policy, Policy]:
    first = cache.load_cached(path)
    assert not first.hit and first.identity is not None
    cold = Policy.from_result(first, local_tz=local_tz)
    assert engine_cache.engine_entry(first, local_tz).exists()
    second = cache.load_cached(path)
    assert second.hit and second.identity == first.identity
    warm = Policy.from_result(second, local_tz=local_tz)
    return cold, warm


@pytest.mark.parametrize("local_tz", [None, "America/New_York"])
def test_a_warm_engine_is_a_fresh_compile(cache_dir, local_tz):
    cold, warm = _cold_and_warm(RULES, local_tz)
    assert _engine(warm).source == _engine(cold).source
    _same_namespace(_engine(cold).run.__globals__, _engine(warm).run.__globals__)
    batch = _rules_leads()
    assert _decide_all(warm, batch) == _decide_all(cold, batch)
    fresh = Policy.from_result(load_model(RULES), local_tz=local_tz)  # no cache at all
    assert _decide_all(fresh, batch) == _decide_all(warm, batch)


@pytest.mark.skipif(not ACME.is_dir(), reason="the shared conformance suite is not here")
def test_a_warm_engine_decides_the_acme_examples_alike(cache_dir):
    from bench.decisions_snapshot import _leads

    cold, warm = _cold_and_warm(ACME)
    _same_namespace(_engine(cold).run.__globals__, _engine(warm).run.__globals__)
    batch = _leads("acme", ACME, cold.model)
    assert batch
    assert _decide_all(warm, batch) == _decide_all(cold, batch)


def test_the_warm_line_decider_is_the_fresh_one(cache_dir):
    cold, warm = _cold_and_warm(RULES)
    cold_line, warm_line = cold.line_decider, warm.line_decider
    assert cold_line is not None and warm_line is not None
    at = 1_796_140_800_000_000
    for line in (RULES / "leads.jsonl").read_bytes().splitlines()[:200]:
        a, b = cold_line(line, at), warm_line(line, at)
        assert (a is None) == (b is None)
        if a is not None:
            assert dumps(a) == dumps(b)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=policies(), data=st.data())
def test_generated_policies_decide_alike_cold_and_warm(tmp_path, text, data):
    model = load_text(text)
    entry = tmp_path / f"{abs(hash(text))}.engine"
    entry.unlink(missing_ok=True)
    cold = Policy(model, diagnostics=(), _engine_entry=entry)
    if cold.engine != "compiled":
        return
    assert entry.exists()
    warm = Policy(model, diagnostics=(), _engine_entry=entry)
    _same_namespace(_engine(cold).run.__globals__, _engine(warm).run.__globals__)
    batch = data.draw(st.lists(st.one_of(leads(), leads_for(model)), min_size=1, max_size=6))
    assert _decide_all(warm, batch) == _decide_all(cold, batch)


def test_a_changed_rule_is_another_engine(cache_dir, tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    monkeypatch.chdir(tmp_path)
    cold, warm = _cold_and_warm(Path("rules"))
    lead = _rules_leads()[0]
    before = dumps(warm.evaluate(lead, as_of=AS_OFS[0]))
    text = (folder / "scoring.funnel").read_text("utf-8")
    changed = text.replace("+5 if", "+50 if", 1)  # one rule's points: the scores move
    assert changed != text
    (folder / "scoring.funnel").write_text(changed, "utf-8")
    result = cache.load_cached(Path("rules"))
    assert not result.hit
    again = Policy.from_result(result)
    fresh = Policy.from_result(load_model(Path("rules")))
    assert _decide_all(again, [lead]) == _decide_all(fresh, [lead])
    assert dumps(again.evaluate(lead, as_of=AS_OFS[0])) != before or \
        again.info.digest != warm.info.digest
    assert len(list(cache_dir.glob("*.engine"))) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "others may write",
                                    "another format"])
def test_a_broken_entry_is_compiled_again(cache_dir, damage):
    cold, _ = _cold_and_warm(RULES)
    result = cache.load_cached(RULES)
    entry = engine_cache.engine_entry(result, None)
    data = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(b"not a pickle at all")
    elif damage == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "others may write":
        entry.chmod(0o666)
    else:
        import pickle

        fields = pickle.loads(data)  # noqa: S301 - the test's own entry
        entry.write_bytes(pickle.dumps((fields[0] + 1, *fields[1:])))
    assert engine_cache.load_engine(entry, None, cold.info, check=None, tz=None,
                                    json_maker=None) is None
    again = Policy.from_result(result)
    assert again.engine == "compiled"
    batch = _rules_leads()[:50]
    assert _decide_all(again, batch) == _decide_all(cold, batch)


def test_an_engine_cache_that_cannot_be_written_is_no_cache(cache_dir, tmp_path):
    result = cache.load_cached(RULES)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder would go")
    policy = Policy(result.model, diagnostics=result.diagnostics,
                    _engine_entry=blocked / "x.engine")
    assert policy.engine == "compiled"
    assert not (blocked / "x.engine").exists()


def test_eval_writes_the_same_bytes_cold_warm_and_uncached(cache_dir, monkeypatch):
    args = ["eval", "rules", "rules/leads.jsonl", "--as-of", "2026-12-01T16:00:00Z",
            "--jobs", "1"]
    monkeypatch.chdir(REPO)
    runs = [CliRunner().invoke(main, args) for _ in range(3)]
    monkeypatch.setenv("FUNNEL_NO_CACHE", "1")
    runs.append(CliRunner().invoke(main, args))
    assert len({r.stdout_bytes for r in runs}) == 1
    assert {r.exit_code for r in runs} == {runs[0].exit_code}
    assert list(cache_dir.glob("*.engine"))


def test_a_warm_start_imports_no_code_generator(cache_dir):
    cache.load_cached(RULES)
    Policy.from_result(cache.load_cached(RULES))  # the engine is stored
    code = ("import sys; from policy.model.cache import load_cached; "
            "from policy.api import Policy; p = Policy.from_result(load_cached(sys.argv[1])); "
            "print(p.engine, sorted(m for m in ('policy.engine.compiler', 'policy.engine.codegen', "
            "'policy.engine.compile_struct', 'msgspec', 'lark') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(RULES)], capture_output=True,
                         text=True, check=True).stdout.split(maxsplit=1)
    assert out == ["compiled", "[]\n"] or out == ["compiled", "[]"]
