"""`bench/results.json` keeps every part of the warehouse benchmark's last measurement.

`bench_warehouse.py --skip-jsonl --skip-10x --huge` measures only the 100M run; before,
saving it replaced the whole `warehouse` section, so the 1M and 10M figures the README
quotes were lost from the file. A run now keeps the parts it skipped and names them.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_warehouse_t",
                                                  ROOT / "bench" / "bench_warehouse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_run_that_skips_parts_keeps_their_earlier_figures(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    earlier = {"machine": {"nproc": 2}, "jsonl_to_jsonl": {"duckdb_speedup": 0.35},
               "parquet_10x": {"leads_per_s": 293600}, "parquet_100x": {"wall_s": 300.0}}
    target.write_text(json.dumps({"other": 1, "warehouse": earlier}))
    out = {"machine": {"nproc": 4}, "parquet_100x": {"wall_s": 282.86}}
    _bench()._keep_skipped(out, target, "warehouse")
    assert out == {"machine": {"nproc": 4}, "parquet_100x": {"wall_s": 282.86},
                   "jsonl_to_jsonl": {"duckdb_speedup": 0.35},
                   "parquet_10x": {"leads_per_s": 293600},
                   "kept_from_earlier_run": ["jsonl_to_jsonl", "parquet_10x"]}


def test_a_full_run_keeps_nothing_and_a_missing_file_is_no_error(tmp_path: Path) -> None:
    bench = _bench()
    out = {"jsonl_to_jsonl": {"a": 1}, "parquet_10x": {"b": 2}, "parquet_100x": {"c": 3}}
    target = tmp_path / "results.json"
    target.write_text(json.dumps({"warehouse": {"parquet_10x": {"b": 0}}}))
    bench._keep_skipped(out, target, "warehouse")
    assert "kept_from_earlier_run" not in out and out["parquet_10x"] == {"b": 2}
    fresh = {"parquet_10x": {"b": 2}}
    bench._keep_skipped(fresh, tmp_path / "absent.json", "warehouse")
    assert fresh == {"parquet_10x": {"b": 2}}
