"""The lead's preparation, compiled: the first lines of the engine's ``decide`` function.

:meth:`policy.Policy.prepare` checks a lead (a JSON object, valid against the schema)
and parses its timestamp fields, then the compiled ``run(lead, ts, as_of)`` decides it.
For a lead that passes, that is two calls, a tuple and a loop over the timestamp plan
before any rule runs. ``decide(lead, as_of)`` does the same work inline, in front of the
same rule code: it returns the decision, or **None** when it cannot vouch for the lead
(a schema or timestamp failure, or a value its shortcuts do not cover). ``Policy`` then
takes the reference path, ``prepare`` and ``run``, which decides the lead or refuses it
with every problem. So ``decide`` never refuses a lead and never says more than the
reference path: it only has to be right when it returns a decision, and
``tests/test_decide.py`` checks that it then equals ``run(lead, prepare(lead), as_of)``.

What the prologue does, in order:

1. ``type(lead) is dict`` (exactly: a subclass goes the reference way);
2. the schema: the schema checks compiled to Python by :mod:`policy.engine.compile_schema`
   when it covers every keyword of the schema, else the compiled jsonschema-rs
   validator's own ``is_valid`` (the one ``prepare`` calls);
3. each timestamp of the plan, into the local the rules read it from: the form nearly
   every lead holds (``2026-11-02T15:00:00Z``) parsed inline, exactly as
   :func:`~policy.engine.timestamps.parse_timestamp` parses it, any other string by
   ``parse_timestamp`` itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
import jsonschema_rs

from policy.engine.linewriter import LineWriter
from policy.engine.timestamps import EPOCH, Z_FORM_LENGTH, Z_FORM_MARKS, parse_timestamp

__all__ = ["PrepareSpec", "write_prologue", "write_timestamps"]


@attrs.frozen
class PrepareSpec:
    """What ``Policy.prepare`` does to a lead, as the compiler needs it.

    ``plan``: one ``(path, top-level key or None, kind)`` per path of
    ``timestamp_order``, as :func:`policy.api._timestamp_plan` makes it. ``check``: the
    validator's fastest ``is_valid`` (may raise for values no JSON holds), or None
    without a schema. ``schema``: the code of the compiled schema checks
    (:func:`policy.engine.compile_schema.schema_checks`), or None to call ``check``.
    ``tz``: the zone a timestamp without an offset is read in (None: UTC).
    """

    plan: tuple[tuple[tuple[str, ...], str | None, str], ...]
    check: Callable[[Any], bool] | None
    tz: Any = None
    schema: Any = None


@functools.lru_cache(maxsize=1)
def _warm_up() -> None:
    """Let jsonschema-rs meet every JSON type once, from a frame with the usual builtins.

    Its Python bindings learn the Python types on first use, and learn them wrong for
    good when that first use comes from the compiled engine's ``decide``, whose
    namespace has no builtins ("Unsupported type: 'int'" for every lead after). Done
    once per process, when the first ``decide`` is compiled.
    """
    every_type = {"type": ["object", "array", "string", "number", "integer", "boolean",
                           "null"]}
    warm = jsonschema_rs.Draft202012Validator(
        {"type": "object", "additionalProperties": every_type, "items": every_type})
    warm.is_valid({"i": 1, "f": 1.5, "b": True, "s": "s", "n": None, "l": [1, (2,)],
                   "d": {"k": "v"}, "t": (1,)})


def write_prologue(w: LineWriter, ex: Any, spec: PrepareSpec,
                   presence_only: Callable[[str], bool] = lambda local: False) -> set[tuple]:
    """Write the prologue of ``decide`` (see the module docstring) at ``w``'s level.

    ``ex`` is the :class:`~policy.engine.codegen.ExprCompiler` of the rules: the
    prologue sets the locals the rules read timestamps from (and, with compiled schema
    checks, fields from). ``presence_only(local)``: the rules only test that local for
    None (or never read it), so a timestamp in the inline form is parsed (a bad one
    refused) but its µs are not computed. Returns the keys of the items it has set,
    which the caller must not emit again.
    """
    _warm_up()
    done: set[tuple] = set()
    read: dict[str, str] = {}  # top-level fields the schema checks have read, by name
    with w.block("if type(lead) is not dict:"):
        w.line("return None")
    if spec.schema is not None:
        done, read = spec.schema.write(w, ex)
    elif spec.check is not None:
        check, exc = ex.const(spec.check, "CHECK"), ex.const(Exception, "EXC")
        with w.block("try:"):
            with w.block(f"if not {check}(lead):"):
                w.line("return None")
        with w.block(f"except {exc}:"):
            w.line("return None  # a value no JSON holds: the reference path refuses it")
    names = {(key,): local for key, local in read.items()}
    return done | write_timestamps(w, ex, spec, names, presence_only, lead_read=True)


def write_timestamps(w: LineWriter, ex: Any, spec: PrepareSpec,
                     names: dict[tuple[str, ...], str], presence_only: Callable[[str], bool],
                     *, lead_read: bool = False) -> set[tuple]:
    """Each timestamp of the plan, into the local the rules read it from: from the
    local in ``names`` that holds the field's value (by path), else (``lead_read``)
    read from the dict ``lead``; else the field cannot be there (None). Returns the keys
    of the items set."""
    done: set[tuple] = set()
    for path, key, kind in spec.plan:
        local = ex._locals.get(("ts", path)) or ex.new_name("t", "unread")
        done.add(("ts", path))
        path = tuple(path)
        if path in names:
            value = names[path]
        elif not lead_read:
            w.line(f"{local} = None")
            continue
        elif key is not None:
            value = ex.new_name("v")
            w.line(f"{value} = lead.get({key!r})")
        else:
            value = ex.new_name("v")
            w.line(f"{value} = get(lead, {ex.const(path, 'PATH')})")
        with w.block(f"if {value} is None:"):
            w.line(f"{local} = None")
        if kind != "date":
            # a field the schema checks have typed a string (or null, tested above)
            text = path in names and ex.types.get(path, _UNKNOWN) <= _STRN
            _z_form(w, ex, value, local, text, presence_only(local))
        parse = ex.const(functools.partial(parse_timestamp, kind=kind, tz=spec.tz), "PARSE")
        with w.block("else:"):
            w.line(f"{local} = {parse}({value})")
            with w.block(f"if {local} is None:"):
                w.line("return None")
    return done


_STRN = frozenset({str, type(None)})
_UNKNOWN = frozenset({object})


def _z_form(w: LineWriter, ex: Any, value: str, local: str, text: bool,
            presence: bool) -> None:
    """``YYYY-MM-DDTHH:MM:SSZ`` inline: parse_timestamp's own fast path, step for step
    (its offset is explicit, so the local zone does not apply; every such instant lies
    within the years 1 to 9999). ``text``: the value is known to be a ``str``.
    ``presence``: the rules only test the local for None: parsed, not converted to µs
    (the subtraction and the arithmetic are two thirds of the cost)."""
    moment = ex.new_name("m")
    # the slice `4::3` as one constant: written in the text, it is built at every use
    marks = ex._consts.get(("slice", 4, None, 3))  # (a slice is not hashable: no const())
    if marks is None:
        marks = ex._consts[("slice", 4, None, 3)] = ex.new_name("MARKS_AT")
        ex.ns[marks] = slice(4, None, 3)
    test = (f"len({value}) == {Z_FORM_LENGTH} "
            f"and {value}[{marks}] == {Z_FORM_MARKS!r} and {value}.isascii()")
    if not text:
        test = f"type({value}) is str and {test}"
    parse = ex.const(datetime.fromisoformat, "FROMISO")
    with w.block(f"elif {test}:"):
        with w.block("try:"):
            if presence:
                w.line(f"{parse}({value})")
            else:
                w.line(f"{moment} = {parse}({value}) - {ex.const(EPOCH, 'EPOCH')}")
        with w.block("except ValueError:"):
            w.line("return None")
        if presence:
            w.line(f"{local} = True  # a timestamp: only its presence is read")
        else:
            w.line(f"{local} = ({moment}.days * 86400 + {moment}.seconds) * 1000000")
