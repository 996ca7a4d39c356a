"""funnel-policy: rules as code for the marketing-to-sales funnel.

The library (spec section 8)::

    import policy
    p = policy.load("rules/")                  # raises policy.PolicyError
    d = p.evaluate(lead, as_of=some_datetime)  # a Decision; raises policy.LeadError
    for r in p.evaluate_many(leads, as_of=...):
        ...                                    # a Decision or a LeadError each, in order
    print(p.explain(lead, as_of=...))

The names below are imported on first use, so ``import policy`` stays cheap for
commands (``funnel check``, ``funnel fmt``) that never evaluate a lead. Besides the
library API (``__all__``), the package exports each phase's entry point for the
command line (:data:`_TOOLING`), so the click commands import ``policy`` and nothing
deeper (docs/architecture.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from policy.api import Policy, load
    from policy.engine.decision import (
        Decision,
        HandoffResult,
        LeadError,
        NextStep,
        PolicyInfo,
        Problem,
        SlaResult,
        TraceEvent,
        Violation,
    )
    from policy.syntax.diagnostics import Diagnostic, PolicyError

#: public name -> the module (inside this package) that defines it, or (module, name there)
_EXPORTS: dict[str, str | tuple[str, str | None]] = {
    "load": "api",
    "Policy": "api",
    "PolicyError": "syntax.diagnostics",
    "Diagnostic": "syntax.diagnostics",
    "LeadError": "engine.decision",
    "Decision": "engine.decision",
    "Problem": "engine.decision",
    "PolicyInfo": "engine.decision",
    "Violation": "engine.decision",
    "SlaResult": "engine.decision",
    "HandoffResult": "engine.decision",
    "NextStep": "engine.decision",
    "TraceEvent": "engine.decision",
}

#: What the command line (``funnel_cli``) uses beyond the library API above: each phase's
#: entry point and the renderers of its results, so that a command imports ``policy``
#: only. Renamed where the module's own name says too little at the package level.
_TOOLING: dict[str, str | tuple[str, str | None]] = {
    # load: files -> checked model + diagnostics
    "load_model": "model.loader",
    "load_cached": "model.cache",
    "LoadResult": "model.loader",
    "InputError": "model.loader",
    "POLICY_SUFFIX": ("model.loader", "SUFFIX"),
    "is_policy_file": "model.loader",
    "display_path": "model.loader",
    "read_policy_text": ("model.loader", "read_text"),
    # diagnostics, in every output form
    "render_diagnostics": ("syntax.diagnostics", "render_all"),
    "diagnostics_summary": ("syntax.diagnostics", "summary_line"),
    "diagnostic_json": ("syntax.diagnostics", "to_json"),
    "github_annotation": ("syntax.diagnostics", "to_github"),
    "github_omitted": "syntax.diagnostics",
    "use_color": "syntax.diagnostics",
    # fmt
    "format_source": "syntax.formatter",
    "FormatResult": "syntax.formatter",
    # leads in
    "read_records": "io.leads",
    "detect_format": "io.leads",
    "input_format_of": "io.leads",
    "jsonl_record": ("io.leads", "jsonl_record_stdlib"),
    "csv_kinds": "io.csv_typing",
    "format_hint": "io.sniff",
    "text_stream": "io.leads",
    "LeadFileError": "io.leads",
    "parse_timestamp": "engine.timestamps",
    "local_zone": "engine.timestamps",
    # render
    "render_docs": ("render.docs", "render"),
    "render_explanation": ("render.explain", "render"),
    # review
    "open_policy": "review.revisions",
    "RevisionError": "review.revisions",
    "semantic_diff": "review.semdiff",
    "DiffReport": "review.diff_report",
    "load_failure_markdown": "review.diff_report",
    "measure_impact": ("review.impact", "measure"),
    "measure_impact_units": ("review.impact", "measure_units"),
    "testing": ("review.testing", None),  # funnel test: run, select, render_*
    # output: atomic files, escaping, bounded reads (docs/security.md)
    "atomic_open": "io.atomic",
    "atomic_write": "io.atomic",
    "discard_pending": "io.atomic",
    "MAX_FILE_BYTES": "io.files",
    "no_surrogates": "render.escape",
    "json_safe": "render.escape",
    "terminal_text": ("render.escape", "terminal"),
    # decisions out (funnel eval): in units, in order, in one process or several
    "lead_batches": ("io.batch", "policy_batches"),
    "lead_units": ("io.batch", "batches"),
    "decide_batches": ("io.batch", "run"),
    "ReadFailed": "io.batch",
    "default_jobs": "io.batch",
    "make_writer": "io.writers",
    "decision_writer": "io.writers",
    "output_format_for": "io.writers",
    "open_output_stream": "io.writers",
    "refusal_why": "io.writers",
    "refusal_summary": "io.writers",
    "tabular_layout": ("engine.tabular", "layout"),
    "tabular_row": ("engine.tabular", "row"),
    # funnel report (spec section 11)
    "report_for": "report.build",
    "report_for_parquet": "report.build",
    "render_report": "report.build",
    "report_format_for": "report.build",
    "report_field_option": ("report.build", "field_option"),
    "ReportUsageError": "report.build",
    "report_duckdb_available": ("report.build", "duckdb_engine_available"),
    # the warehouse path (funnel sql, eval --engine duckdb|spark)
    "to_sql": "sql",
    "sql_check_arguments": ("sql", "check_arguments"),
    "SqlUnsupported": "sql",
    "DuckEngine": "sql.duck",
    "ParquetWriter": "sql.duck",
    "parquet_batches": "sql.duck",
    "SparkEngine": "sql.spark",
    "spark_missing": "sql.spark",
    "run_engine": ("sql.run", "run"),
    "wants_engine": "sql.run",
    "EngineUsageError": "sql.run",
}

__all__ = [
    "Decision",
    "Diagnostic",
    "HandoffResult",
    "LeadError",
    "NextStep",
    "Policy",
    "PolicyError",
    "PolicyInfo",
    "Problem",
    "SlaResult",
    "TraceEvent",
    "Violation",
    "load",
]


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name) or _TOOLING.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = where if isinstance(where, tuple) else (where, name)
    loaded = importlib.import_module(f"{__name__}.{module}")
    value = loaded if attr is None else getattr(loaded, attr)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_TOOLING))
