"""The library: load a policy once, then evaluate leads with it (spec section 8).

:func:`load` runs the front half of the pipeline (:func:`policy.model.loader.load_model`:
parse, schema, check) and turns its errors into one :class:`PolicyError`. The
:class:`Policy` it returns prepares each lead — it must be a JSON object, it is
validated against the schema, its timestamp fields are parsed into instants —
and hands it to an engine: the compiled one (:mod:`policy.engine.compiler`) when it is
available, else the reference :class:`~policy.engine.interpreter.Interpreter`. ``trace``
and ``explain`` always use the interpreter, which is the one that records.

A ``Policy`` is immutable and holds nothing per lead, so one instance serves any
number of threads. Evaluation does no I/O.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, NoReturn

from policy.engine import runtime as rt
from policy.engine.decision import Decision, LeadError, PolicyInfo, Problem
from policy.engine.interpreter import Interpreter
from policy.engine.ir import Program
from policy.engine.resolve import resolve
from policy.engine.timestamps import (
    _EPOCH,
    _fromisoformat,
    from_datetime,
    local_zone,
    parse_timestamp,
)
from policy.engine.validate import LeadValidator
from policy.model.loader import InputError, LoadResult, load_model
from policy.model.namespace import PolicyModel
from policy.model.schema import format_path, json_type_name
from policy.syntax.diagnostics import Diagnostic, PolicyError, error

__all__ = ["ENGINES", "Policy", "as_of_instant", "load"]

#: The engines a :class:`Policy` can run: ``auto`` picks ``compiled`` when it works.
ENGINES = ("auto", "compiled", "interpreter")

_KIND_WORDS = {"date-time": "date-time", "date": "date", "any": "timestamp"}


def load(path: Any, *, engine: str = "auto", local_tz: str | None = None) -> Policy:
    """Load, check and prepare the policy at ``path`` (a directory or one ``.funnel`` file).

    Raises :class:`PolicyError` with every diagnostic when the policy has errors, or
    with one E110 diagnostic when the path cannot be read at all. Warnings do not
    stop loading; they are kept in :attr:`Policy.diagnostics`.

    ``local_tz`` (an IANA name, ``"America/New_York"``) reads lead timestamps without
    an offset, and dates, in that zone instead of UTC (spec v1.1 section 9); an
    unknown name raises ``ValueError``.
    """
    if local_tz is not None:
        local_zone(local_tz)  # a bad name is refused before the policy is read
    try:
        result = load_model(path)
    except InputError as exc:
        raise PolicyError([error("E110", str(exc))]) from None
    return Policy.from_result(result, engine=engine, local_tz=local_tz)


def as_of_instant(as_of: datetime | None) -> int:
    """``as_of`` as µs since the epoch: an aware datetime, or None for the current time.

    A naive datetime raises ``ValueError("as_of must carry a time zone")``: the engine
    never guesses a time zone.
    """
    global _last_as_of
    if as_of is None:
        return time.time_ns() // 1000
    last = _last_as_of
    if as_of is last[0]:  # a caller deciding lead after lead at one instant
        return last[1]
    if not isinstance(as_of, datetime):
        raise TypeError(f"as_of must be a datetime, not {type(as_of).__name__}")
    us = from_datetime(as_of)
    # datetimes are immutable, so the same object is the same instant; one tuple,
    # replaced whole, so threads never see a half-written pair
    _last_as_of = (as_of, us)
    return us


#: The last ``as_of`` converted and its µs; never None (the current time is never kept).
_last_as_of: tuple[object, int] = (object(), 0)


def _no_decide(lead: Any, as_of_us: int) -> None:
    """The ``decide`` of a policy without a compiled one: every lead to the reference path."""
    return None


class Policy:
    """A loaded, checked policy, ready to evaluate leads; immutable and thread-safe.

    ``engine``: ``"auto"`` (the compiled engine when :mod:`policy.engine.compiler` is
    importable and compiles this policy, else the interpreter), ``"compiled"`` (and
    fail if it cannot) or ``"interpreter"``.
    """

    __slots__ = ("_model", "_info", "_diagnostics", "_interpreter", "_engine", "_engine_name",
                 "_validator", "_plan", "_id_field", "_id_key", "_check", "_local_tz", "_tz",
                 "_decide", "_decide_json")

    def __init__(
        self,
        model: PolicyModel,
        *,
        diagnostics: Iterable[Diagnostic] | None = None,
        engine: str = "auto",
        local_tz: str | None = None,
        _engine_entry: Any = None,
    ) -> None:
        """A policy from a model and the checker's diagnostics of it.

        A model with errors is refused with :class:`PolicyError`: no engine ever runs
        one. Without ``diagnostics`` (a model that was built, not loaded) the checker
        runs here to find out. ``local_tz``: see :func:`load`. ``_engine_entry``: where
        the engine cache keeps this policy's compiled engine (:meth:`from_result` of a
        load from the policy cache; :mod:`policy.engine.engine_cache`).
        """
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        tz = None if local_tz is None else local_zone(local_tz)
        if diagnostics is None:
            from policy.check.checker import check_policy

            diagnostics = check_policy(model)
        diagnostics = tuple(diagnostics)
        if any(d.is_error for d in diagnostics):
            raise PolicyError(diagnostics, {m.path: m.source for m in model.modules})
        # The digest's canonical text, not the formatter (which imports the parser).
        from policy.syntax.canonical import policy_digest

        info = PolicyInfo(
            name=model.header.name.name if model.header is not None else None,
            version=model.version,
            digest=policy_digest(model),
        )
        program = resolve(model)
        interpreter = Interpreter(program, info, tz=tz)
        validator = LeadValidator(model.schema, tz=tz) if model.schema is not None else None
        check = validator.lead_check() if validator is not None else None
        plan = _timestamp_plan(program)
        run, name, decide, decide_json = interpreter.run, "interpreter", None, None
        if engine != "interpreter":
            compiled = _cached_compile(_engine_entry, program, info,
                                       required=engine == "compiled",
                                       prepare=(plan, check, tz, validator))
            if compiled is not None:
                run, name, decide = compiled.run, "compiled", compiled.decide
                decide_json = compiled  # its decide_json, compiled when first asked for
        setattr_ = object.__setattr__
        setattr_(self, "_model", model)
        setattr_(self, "_info", info)
        setattr_(self, "_diagnostics", tuple(d for d in diagnostics if not d.is_error))
        setattr_(self, "_interpreter", interpreter)
        setattr_(self, "_engine", run)
        setattr_(self, "_engine_name", name)
        setattr_(self, "_validator", validator)
        setattr_(self, "_check", check)
        setattr_(self, "_plan", plan)
        # no compiled decide: every lead takes the reference path (evaluate tests no None)
        setattr_(self, "_decide", _no_decide if decide is None else decide)
        setattr_(self, "_decide_json", decide_json)
        setattr_(self, "_local_tz", local_tz)
        setattr_(self, "_tz", tz)
        id_field = model.id_field
        setattr_(self, "_id_field", id_field)
        setattr_(self, "_id_key", id_field[0] if id_field and len(id_field) == 1 else None)

    @classmethod
    def from_result(cls, result: LoadResult, *, engine: str = "auto",
                    local_tz: str | None = None) -> Policy:
        """The policy a :func:`~policy.model.loader.load_model` result holds; raises
        :class:`PolicyError` when that result has errors."""
        if not result.ok:
            raise PolicyError((*result.diagnostics, *result.omitted_errors), result.sources)
        entry = None
        if engine != "interpreter" and getattr(result, "identity", None) is not None:
            from policy.engine.engine_cache import engine_entry

            entry = engine_entry(result, local_tz)
        return cls(result.model, diagnostics=result.diagnostics, engine=engine,
                   local_tz=local_tz, _engine_entry=entry)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Policy is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a Policy is immutable")

    def __repr__(self) -> str:
        info = self._info
        return f"<Policy {info.name} {info.version} {info.digest[:15]}… engine={self._engine_name}>"

    # ------------------------------------------------------------------ properties
    @property
    def model(self) -> PolicyModel:
        """The checked model (declarations, funnel, schema, calendar)."""
        return self._model

    @property
    def program(self) -> Program:
        """The resolved intermediate form every engine runs (:mod:`policy.engine.ir`)."""
        return self._interpreter.program

    @property
    def info(self) -> PolicyInfo:
        """Name, version and digest, as every decision carries them."""
        return self._info

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """The warnings found while loading (errors stop loading)."""
        return self._diagnostics

    @property
    def local_tz(self) -> str | None:
        """The IANA zone lead timestamps without an offset are read in; None: UTC."""
        return self._local_tz

    @property
    def tz(self):
        """:attr:`local_tz` as a ``tzinfo`` (None: UTC), for code that parses lead
        timestamps itself (:func:`~policy.engine.timestamps.parse_timestamp`)."""
        return self._tz

    @property
    def engine(self) -> str:
        """Which engine ``evaluate`` uses: ``"compiled"`` or ``"interpreter"``."""
        return self._engine_name

    # ------------------------------------------------------------------ evaluating
    def evaluate(self, lead: Any, *, as_of: datetime | None = None) -> Decision:
        """Decide one lead at ``as_of`` (an aware datetime; None: now).

        Raises :class:`LeadError` for a lead that is refused (not an object, not
        valid against the schema, a timestamp that does not parse).
        """
        # evaluate_at, written out: a caller deciding lead after lead pays one call (and
        # each bytecode here is some 2% of a compiled decision: _decide is never None)
        last, at = _last_as_of
        if as_of is not last:
            at = as_of_instant(as_of)
        decide = self._decide
        try:
            d = decide(lead, at)
            if d is not None:
                return d
            if type(lead) is not dict and isinstance(lead, dict):
                return self.evaluate_at(_plain(lead), at)
            return self._engine(lead, self.prepare(lead), at)
        except OverflowError:
            return self._in_doubles(lead, None, at)
        except _UNDECIDABLE as exc:
            raise self._undecidable(lead, exc) from None

    def evaluate_at(self, lead: Any, as_of_us: int) -> Decision:
        """:meth:`evaluate` at an instant in µs since the epoch (what a caller deciding a
        batch at one instant holds): the compiled engine's ``decide``, which prepares
        and decides in one call, and :meth:`prepare` then the engine for any lead it
        leaves to them (every lead it cannot vouch for, so every refused one)."""
        decide = self._decide
        try:
            d = decide(lead, as_of_us)
            if d is not None:
                return d
            if type(lead) is not dict and isinstance(lead, dict):
                return self.evaluate_at(_plain(lead), as_of_us)
            return self._engine(lead, self.prepare(lead), as_of_us)
        except OverflowError:
            return self._in_doubles(lead, None, as_of_us)
        except _UNDECIDABLE as exc:
            raise self._undecidable(lead, exc) from None

    @property
    def line_decider(self) -> Callable[[bytes, int], Decision | None] | None:
        """``decide(line, as_of_us)``: the decision of one JSON Lines line (UTF-8 bytes,
        no line end) read straight into a typed struct, or None for a line it leaves to
        the ordinary path (read the line, then :meth:`evaluate_at`), which then decides
        the same lead the same way; it may raise ArithmeticError, which that path
        turns into a refusal. None when the policy has no such decider (no schema, or
        one it does not cover: :mod:`policy.engine.compile_struct`). Compiled when
        first asked for (a third of a short command's start-up)."""
        compiled = self._decide_json
        return compiled.decide_json if compiled is not None else None

    @property
    def line_encoder(self) -> Callable[[bytes, int], str | None] | None:
        """:attr:`line_decider` whose result is the decision's JSON record text (the
        bytes :class:`~policy.engine.record_text.RecordEncoder` writes for it, without
        building the Decision): what ``funnel eval`` writes for a JSON line."""
        compiled = self._decide_json
        return compiled.line_function(True) if compiled is not None else None

    @property
    def line_facts(self) -> Callable[[bytes, int], tuple | None] | None:
        """:attr:`line_decider` whose result is the Decision's fields a report reads,
        ``(stage, reached, reason, scores, handoffs, violations)``, without building the
        Decision; ``scores`` in the order of the function's ``score_names``. What
        ``funnel report`` decides a JSON line with (policy/report/units.py)."""
        compiled = self._decide_json
        return compiled.line_function("facts") if compiled is not None else None

    def evaluate_many(
        self, leads: Iterable[Any], *, as_of: datetime | None = None
    ) -> Iterator[Decision | LeadError]:
        """Decide each lead, lazily, in input order: one Decision or LeadError per lead.

        A LeadError's ``line`` is the lead's 1-based position. ``as_of`` is read once,
        when this is called, so every lead is decided at the same instant.
        """
        at = as_of_instant(as_of)
        return self._many(leads, at)

    def _many(self, leads: Iterable[Any], at: int) -> Iterator[Decision | LeadError]:
        evaluate = self.evaluate_at
        for line, lead in enumerate(leads, 1):
            try:
                yield evaluate(lead, at)
            except LeadError as exc:
                yield exc.with_line(line)  # a refusal, or numbers no arithmetic holds

    def trace(self, lead: Any, *, as_of: datetime | None = None) -> Decision:
        """Decide one lead with the interpreter and keep every step in ``decision.trace``."""
        at = as_of_instant(as_of)
        if type(lead) is not dict and isinstance(lead, dict):
            lead = _plain(lead)
        return self.run_prepared(lead, self.prepare(lead), at, trace=True)

    def explain(self, lead: Any, *, as_of: datetime | None = None, color: bool = False) -> str:
        """The derivation of one lead's decision, as plain text for a person."""
        from policy.render.explain import render

        return render(self.trace(lead, as_of=as_of), self._model, color=color,
                      local_tz=self._local_tz)


    def sql(self, *, dialect: str = "duckdb", table: str = "leads", view: str | None = None,
            flat: str | None = None, as_of: datetime | None = None,
            years: tuple[int, int] | None = None) -> str:
        """(v1.1) The policy as one SQL statement for ``dialect`` that decides every row of
        ``table`` in the tabular form (spec section 10; :func:`policy.sql.to_sql`).
        ``as_of`` (an aware datetime) fixes the instant; without it the query uses the
        time it runs. Raises :class:`policy.sql.SqlUnsupported` (a ``ValueError``)."""
        from policy.sql import to_sql

        # as evaluate() checks it: a string gave an AttributeError traceback
        at = None if as_of is None else as_of_instant(as_of)
        return to_sql(self, dialect=dialect, table=table, view=view, flat=flat, as_of=at,
                      years=years)

    def run_prepared(self, lead: dict, ts: tuple, as_of_us: int, *, trace: bool = False
                     ) -> Decision:
        """Decide a lead that :meth:`prepare` accepted (``as_of_us``: µs since the epoch)."""
        try:
            if trace:
                return self._interpreter.run(lead, ts, as_of_us, trace=True)
            return self._engine(lead, ts, as_of_us)
        except OverflowError:
            return self._in_doubles(lead, ts, as_of_us)
        except _UNDECIDABLE as exc:
            raise self._undecidable(lead, exc) from None

    def _in_doubles(self, lead: Any, ts: tuple | None, as_of_us: int) -> Decision:
        """A lead the compiled engine's inlined arithmetic could not compute with: an
        integer past a double's range, where Python's ``float()`` raises and SQL reads
        infinity (spec section 10: arithmetic is IEEE double). The interpreter, whose
        runtime reads it as infinite (``runtime.add`` & co.), decides it."""
        try:
            return self._interpreter.run(lead, self.prepare(lead) if ts is None else ts,
                                         as_of_us)
        except _UNDECIDABLE as exc:
            raise self._undecidable(lead, exc) from None

    def _undecidable(self, lead: Any, exc: Exception) -> LeadError:
        """A lead whose numbers no arithmetic can hold (NaN, infinities, numbers past the
        range of a float): only a caller's own dict can carry them, JSON cannot. Both
        engines fail on the same values; the caller gets a refusal, not a traceback."""
        what = f"a number in the lead cannot be computed with ({exc})"
        return LeadError("the lead cannot be decided", [Problem("", what)],
                         lead=self.lead_id(lead))

    # ------------------------------------------------------------------ preparing
    def lead_id(self, lead: Any) -> Any:
        """The value that names a lead in error records: its ``id`` field as the lead
        gives it, as a decision's ``lead`` is (an object or a list too), except a NaN or
        infinity (no JSON text holds one, and `1e999` reads as one): None."""
        if type(lead) is not dict or self._id_field is None:
            return None
        key = self._id_key
        v = lead.get(key) if key is not None else rt.get(lead, self._id_field)
        if type(v) is float and not math.isfinite(v):
            return None
        return v

    def prepare(self, lead: Any) -> tuple[int | None, ...]:
        """Check a lead and read its timestamps: the ``ts`` tuple the engines take.

        Raises :class:`LeadError` with every problem found: not a JSON object, not
        valid against the schema, or a timestamp field that is not a timestamp.
        """
        if type(lead) is not dict:
            what = f"expected a JSON object, found {json_type_name(lead)}"
            raise LeadError(what, [Problem("", what)])
        check = self._check
        if check is not None:
            # The compiled validator's own `is_valid` (LeadValidator.lead_check): the
            # structure only when every date-time field is one this loop parses below.
            try:
                ok = check(lead)
            except Exception:  # noqa: BLE001 - a value no JSON document holds
                ok = False
            if not ok:
                self._refuse(lead)
        plan = self._plan
        if not plan:
            return ()
        validator = self._validator
        ts: list[int | None] = []
        problems = None
        tz = self._tz
        for path, key, kind in plan:
            v = lead.get(key) if key is not None else rt.get(lead, path)
            if v is None:
                ts.append(None)
                continue
            if type(v) is str:
                if len(v) == 20 and v[4::3] == "--T::Z" and kind != "date" and v.isascii():
                    # parse_timestamp's common form (`2026-11-02T15:00:00Z`), inlined: a
                    # lead has several, and the call costs more than the parse
                    try:
                        delta = _fromisoformat(v) - _EPOCH
                    except ValueError:
                        pass
                    else:
                        ts.append((delta.days * 86_400 + delta.seconds) * 1_000_000)
                        continue
                us = parse_timestamp(v, kind=kind, tz=tz)
                if us is not None:
                    ts.append(us)
                    continue
            ts.append(None)
            problems = problems or []
            problems.append(Problem(format_path(path), f"not a valid {_KIND_WORDS[kind]}: "
                                    f"{_shown(v)}"))
        if problems:
            if validator is not None and validator.formats_on_fields:
                schema_paths = {format_path(p) for p, _, kind in self._plan if kind != "any"}
                # the schema's own date-time format failed: a string that does not parse
                # (a value of another kind passes a format: it is a timestamp field that
                # does not parse, named below, not a lead the schema refuses)
                if any(p.path in schema_paths for p in problems) \
                        and not validator.is_valid(lead):
                    self._refuse(lead)
            raise LeadError("a timestamp field does not parse", problems,
                            lead=self.lead_id(lead))
        return tuple(ts)

    def _refuse(self, lead: dict) -> NoReturn:
        """Refuse a lead that fails the schema, with the full list of its problems."""
        problems = self._validator.problems(lead) or [Problem("", "does not match the schema")]
        raise LeadError("the lead does not match the schema", problems, lead=self.lead_id(lead))


# --------------------------------------------------------------------------- helpers


#: What the engines raise on numbers no arithmetic can hold (float('nan'), 10**400): the
#: lead's own doing. Anything else an engine raises (an
#: :class:`~policy.engine.runtime.EngineFault`, a ValueError) is a fault of the engine or
#: the policy and propagates as it is: it is never reported as the lead's fault.
_UNDECIDABLE = (ArithmeticError,)


def _timestamp_plan(program: Program) -> tuple[tuple[tuple[str, ...], str | None, str], ...]:
    """For each timestamp path in ``timestamp_order``: (path, top-level key or None, kind).

    The kind is the intermediate form's (:attr:`Program.timestamp_kinds`, from the
    schema): a ``date`` field takes only dates, a ``date-time`` field needs a time, any
    other timestamp (one only ``days_since`` or an ``sla`` reads) takes either.
    """
    return tuple((path, path[0] if len(path) == 1 else None, program.timestamp_kind(i))
                 for i, path in enumerate(program.timestamp_order))


def _shown(v: object) -> str:
    try:
        text = json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= 60 else text[:59] + "…"


def _cached_compile(entry, program, info: PolicyInfo, *, required: bool, prepare: tuple):
    """:func:`_compile`, through the engine cache when ``entry`` names its file: the
    stored engine when there is a valid one, else a fresh compile, which is then stored.
    The engine cache's ``decide_json`` comes from a fresh compile when it is asked for."""
    if entry is None:
        return _compile(program, info, required=required, prepare=prepare)
    from policy.engine import engine_cache

    _plan, check, tz, _validator = prepare

    def json_maker(text: bool = False):  # the line functions are not stored: compiled
        fresh = _compile(program, info, required=False, prepare=prepare)  # when asked for
        return fresh.line_function(text) if fresh is not None else None

    found = engine_cache.load_engine(entry, program, info, check=check, tz=tz,
                                     json_maker=json_maker)
    if found is not None:
        return found
    compiled = _compile(program, info, required=required, prepare=prepare)
    if compiled is not None:
        engine_cache.store_engine(entry, compiled, check=check, tz=tz)
    return compiled


def _compile(program, info: PolicyInfo, *, required: bool, prepare: tuple):
    """The compiled engine for a resolved policy, or None when it is not available.

    With ``required`` (``engine="compiled"``) a failure raises instead. An engine that
    is present but fails on this policy is a bug worth hearing about: ``auto`` falls
    back to the interpreter with a RuntimeWarning rather than silently.
    """
    try:
        from policy.engine.compiler import compile_model
    except ModuleNotFoundError as exc:
        if required or exc.name != f"{__package__}.compiler":
            raise
        return None  # not part of this installation: the interpreter decides alone
    try:
        from policy.engine.compile_prepare import PrepareSpec
        from policy.engine.compile_schema import schema_checks

        plan, check, tz, validator = prepare
        checks = None
        if validator is not None and validator.compiled:
            checks = schema_checks(validator.schema.document,
                                   formats_ignored=validator.formats_on_fields)
        return compile_model(program, info,
                             prepare=PrepareSpec(plan, check, tz=tz, schema=checks))
    except Exception as exc:  # noqa: BLE001 - any failure here means: use the interpreter
        if required:
            raise
        warnings.warn(f"the compiled engine cannot run this policy ({exc}); "
                      "using the interpreter", RuntimeWarning, stacklevel=3)
        return None


def _plain(value: Any) -> Any:
    """A lead given as a ``dict`` subclass (``json.loads(..., object_pairs_hook=
    OrderedDict)``, a ``defaultdict``) as the plain values reading JSON gives: the
    engines test types exactly (``type(v) is dict``), so a subclass read as what it is
    not, and a nested ``OrderedDict`` counted as missing. Subclasses of ``list``,
    ``str``, ``int`` and ``float`` (an ``IntEnum``, a ``StrEnum``) become their base
    type too; anything else is left as it is."""
    t = type(value)
    if t is str or t is int or t is float or t is bool or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    for base in (bool, str, int, float):
        if isinstance(value, base):
            return base(value)
    return value
