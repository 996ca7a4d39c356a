"""A lead's row of facts as CSV text, by code written for one report's columns (issue 11).

``funnel report`` with the python engine decides each line of a large JSON Lines file
with the policy's :attr:`~policy.Policy.line_facts` (the Decision's fields as a tuple,
no Decision built). :func:`row_function` writes, once per run, a function that takes that
tuple and the line's bytes and returns the line of CSV that
:class:`~policy.report.facts.FactWriter` writes for the same record through its general
path (:meth:`~policy.report.facts.FactWriter.values`, then
:meth:`~policy.report.facts.FactWriter.line_text`): the same bytes, checked by
``tests/test_report_rows.py``. It reads the few lead fields the facts need
(:func:`field_reader`) and fills the columns in place: a stage's index and each texts'
CSV field are looked up, not computed, an instant of the form nearly every lead holds is
parsed inline (as :func:`~policy.engine.timestamps.parse_timestamp` does), and a lead a
handoff applies to also gets its line in the file of handoffs
(:meth:`~policy.report.facts.FactWriter.add_handoffs`). About a third of the general
path's cost a lead (bench/README.md, tenth session).

The lead's fields are read from the line's bytes into a struct of just those fields
(:func:`field_reader`), with the values :func:`policy.engine.runtime.get` finds in the
lead's dict; a line that cannot be read so gets no row here (``None``), and its facts
come from the general path.

Must run after: making the :class:`~policy.report.facts.FactWriter` and binding its scores
(:meth:`~policy.report.facts.FactWriter.bind_scores`).
"""

from __future__ import annotations

import linecache
from datetime import datetime
from typing import Any

import msgspec

from policy.engine.timestamps import EPOCH, Z_FORM_LENGTH, Z_FORM_MARKS

__all__ = ["field_reader", "row_function"]

_LEAF = object()


def field_reader(paths: tuple[tuple[str, ...], ...]
                 ) -> tuple[Any, list[str]] | None:
    """``(decode, expressions)``: ``decode(line)`` reads the JSON object of ``line``
    (UTF-8 bytes) into a struct of the fields at ``paths``, and ``expressions[k]`` is
    the Python expression of the value at ``paths[k]`` in that struct ``s``, as
    :func:`policy.engine.runtime.get` finds it in the object's dict (None for an absent
    or null value, or one below a null). ``decode`` raises for a line it cannot read so
    (not an object, a number out of range, an object on the way that is a value of
    another kind). None when one path runs through another (``company`` and
    ``company.industry``): those leads are read into dicts."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if child is _LEAF:
                return None
            node = child
        if node.get(path[-1], _LEAF) is not _LEAF:
            return None
        node[path[-1]] = _LEAF
    if not paths:
        return None
    top, names = _struct(tree, [0])
    # the attribute names are ours (f0, f1…): no text of the lead's becomes code
    exprs = [_read_code([names[path[:k]] for k in range(1, len(path) + 1)]) for path in paths]
    return msgspec.json.Decoder(top).decode, exprs


def _read_code(names: list[str]) -> str:
    """The expression of the value at a path of attribute ``names`` of ``s``: None
    below a null object."""
    code = "s." + names[0]
    for name in names[1:]:
        code = f"(None if {code} is None else {code}.{name})"
    return code


def _struct(tree: dict[str, Any], made: list[int], at: tuple[str, ...] = ()
            ) -> tuple[type, dict[tuple[str, ...], str]]:
    """The struct type of ``tree`` (key -> subtree or leaf), and the attribute name of
    each path below it (its fields are ``f0``, ``f1``…, renamed to the keys)."""
    fields, rename, names = [], {}, {}
    for i, (key, child) in enumerate(tree.items()):
        name = f"f{i}"
        rename[name] = key
        names[(*at, key)] = name
        if child is _LEAF:
            kind: Any = Any
        else:
            sub, below = _struct(child, made, (*at, key))
            names.update(below)
            kind = sub | None
        fields.append((name, kind, None))
    made[0] += 1
    return msgspec.defstruct(f"LeadFields{made[0]}", fields, rename=rename), names


def compile_function(source: str, name: str, namespace: dict[str, Any], tag: str) -> Any:
    """``name`` from ``source``, compiled under a file name of its own that
    ``linecache`` knows, so that a traceback or a profiler shows its lines."""
    filename = f"<funnel-report {tag}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own code
    return namespace[name]


def row_function(writer: Any) -> Any:
    """``row(number, facts, line)``: the CSV line (with its ``\\n``) of the facts of the
    decision ``facts`` (a tuple of :attr:`policy.Policy.line_facts`) of the lead on line
    ``number``, whose JSON text is ``line``, its line of handoffs (if a handoff applies)
    added to ``writer``; None when ``line`` cannot be read by :func:`field_reader` (then
    the caller reads the lead into a dict). The same text as ``writer.line_text`` and
    ``writer.handoff_line`` of ``writer.values(...)``
    (:class:`~policy.report.facts.FactWriter`, after its ``bind_scores``). None when
    ``writer``'s lead fields cannot be read from a struct."""
    paths = writer.paths
    reader = field_reader(paths) if paths else (None, [])
    if reader is None:
        return None
    decode, exprs = reader
    shape = writer.shape
    lines = ["def row(number, facts, piece):"]
    emit = lines.append
    if decode is not None:
        emit("    try:")
        emit("        s = decode(piece)")
        emit("    except Exception:  # read as the dict path reads it")
        emit("        return None")
    emit("    stage, reached, reason, scores, handoffs, violations = facts")
    # each CSV field in the order of the writer's columns: a variable, or literal text
    fields = ["{number}", "False", ""]  # line, refused, path
    if writer.by is not None:
        emit(f"    k = {exprs[0]}")
        emit("    by = keys.get(k) if type(k) is str else None")
        emit("    if by is None:")
        emit("        by = key_field(k)")
        fields.append("{by}")
    else:
        fields.append("")
    # every instant the row reads: one variable per field and kind, each field read once
    wanted: list[tuple[str, str]] = []
    if writer.cohort is not None:
        wanted.append((exprs[writer._cohort_at], "any"))
    entered = {i: (exprs[k], kind) for i, k, kind in writer._entered}
    wanted += [entered[i] for i in sorted(entered)]
    names = _instants(emit, wanted)
    fields.append("{" + names[wanted[0]] + "}" if writer.cohort is not None else "")
    emit("    reached = reached_of.get(reached, '-1')")
    # placed, state and reason as one piece: a stage's index and two empty fields, or an
    # empty field and the off-funnel state's texts
    emit("    placed = placed_of.get(stage)")
    emit("    if placed is None:")
    emit("        placed = ',,' if stage is None else "
         "',' + text(stage) + ',' + key_field(reason)")
    fields += ["{reached}", "{placed}"]
    for i, k in writer._score_at:
        emit(f"    a{i} = scores[{k}]")
        emit(f"    a{i} = '' if a{i} is None else str(a{i})")
        fields.append(f"{{a{i}}}")
    fields += ["{" + names[entered[i]] + "}" for i in sorted(entered)]
    # the placed piece holds three columns
    if len(fields) + 2 != writer._first_handoff:  # pragma: no cover - a broken invariant
        raise AssertionError("the row's fields are not the writer's columns")
    if shape.handoffs:
        emit("    if handoffs:")
        emit(f"        add_handoffs({'by' if writer.by is not None else repr('')}, handoffs, "
             "violations)")
    emit(f'    return f"{",".join(fields)}\\n"')
    stages = {st.name: i for i, st in enumerate(shape.stages)}
    namespace = {
        "decode": decode, "keys": writer._key_fields, "key_field": writer.key_field,
        "text": writer.text_field, "placed_of": {name: f"{i},," for name, i in stages.items()},
        "reached_of": {name: str(i) for name, i in stages.items()},
        "add_handoffs": writer.add_handoffs,
        "fromiso": _fromisoformat, "EPOCH": EPOCH, "MARKS": Z_FORM_MARKS,
        "instant": writer.instant_field,
    }
    return compile_function("\n".join(lines) + "\n", "row", namespace, "facts row")


def _instants(emit: Any, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Emit the code that reads each field of ``wanted`` (expression, kind) as an
    instant's CSV field, each into a variable of its own; returns their names. A field
    is read once for all its kinds: inline in the form nearly every lead holds, which
    :func:`~policy.engine.timestamps.parse_timestamp` reads alike for ``date-time`` and
    ``any`` (by these same steps), else by the writer's ``instant_field`` per kind."""
    names: dict[tuple[str, str], str] = {}
    kinds: dict[str, list[str]] = {}
    for expr, kind in wanted:
        if (expr, kind) not in names:
            names[expr, kind] = f"t{len(names)}"
            kinds.setdefault(expr, []).append(kind)
    for expr, found in kinds.items():
        emit(f"    v = {expr}")
        every = [names[expr, kind] for kind in found]
        emit("    if v is None:")
        emit(f"        {' = '.join(every)} = ''")
        fast = [names[expr, kind] for kind in found if kind != "date"]
        dates = [names[expr, kind] for kind in found if kind == "date"]
        if fast:
            emit(f"    elif type(v) is str and len(v) == {Z_FORM_LENGTH} and v[4::3] == MARKS "
                 "and v.isascii():")
            emit("        try:")
            emit("            d = fromiso(v) - EPOCH")
            emit(f"            {fast[0]} = str((d.days * 86400 + d.seconds) * 1000000)")
            emit("        except ValueError:")
            emit(f"            {fast[0]} = ''")
            for name in fast[1:]:
                emit(f"        {name} = {fast[0]}")
            for name in dates:
                emit(f"        {name} = instant(v, 'date')")
        emit("    else:")
        for kind in found:
            emit(f"        {names[expr, kind]} = instant(v, {kind!r})")
    return names


_fromisoformat = datetime.fromisoformat
