"""A JSON Lines line decided straight from its bytes: the lead read into a typed struct.

``funnel eval`` reads a lead (msgspec builds its ``dict``), then ``decide`` checks it
against the schema field by field in Python: about half of what a lead costs on
``rules/`` (bench/README.md, sixth 2026-12-05 session). For a schema made of the
everyday keywords, msgspec can do both at once in C: decoding a line into a
``msgspec.Struct`` whose fields have the schema's types reads and type-checks every
field (types, ``required``, string ``enum`` and ``const``, the shape of nested objects
and the type of array items) without building the dict. ``decide_json(data, as_of)``,
generated here, is that decoding followed by what msgspec does not check (bounds,
lengths, ``pattern``, in Python as :mod:`policy.engine.compile_schema` writes them),
the timestamps, and the same typed rules as ``decide``.

Like ``decide``, it is **sound, not complete**: it returns a decision only for a line
whose lead the reference path (read the line into a dict, then ``Policy.evaluate_at``)
decides the same way, and None for any other line, which then takes that path. What
makes it sound, against spec section 9 and the validator:

- unknown keys are refused (``forbid_unknown_fields``): msgspec skips an unknown
  field's value without looking at it, so a number past a double's range in it would
  not refuse the lead, and the rules may read fields the schema does not declare;
- a key repeated in one object: msgspec keeps the last value, as the dict does; a
  repeated value of the wrong type fails the decoding (the reference path decides);
- msgspec's types are exact: ``true`` is not an ``int``, ``1.0`` not an ``int`` (the
  validator calls it an integer: the reference path decides), an ``int`` stays an
  ``int`` in an ``int | float`` field; integers past 64 bits are read as the dict
  reader reads them; numbers past a double's range fail, as they do for the dict (a
  line with 309 digits in a row, which may hold an integer past it, is never handed to
  the decider: ``JsonlBlock.iter_leads``);
- a field whose value may be an object is read as a struct, not a dict: only where
  the rules merely test it for presence; an array may not hold objects.

A schema (or rules) outside this gives no ``decide_json`` and every line takes the
dict path.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Mapping
from typing import Any, Literal, Union

import msgspec

from policy.engine.compile_prepare import PrepareSpec, write_timestamps
from policy.engine.compile_schema import (
    _allows_null,
    _bound_tests,
    _length_test,
    _members,
    _pattern_check,
    _types,
    _Unsupported,
)
from policy.engine.decision import NextStep
from policy.engine.linewriter import LineWriter
from policy.engine.record_text import TextParts, string_text, value_text

__all__ = ["compile_json_decide", "lead_struct", "write_json_decide"]


def lead_struct(document: Any) -> type | None:
    """The ``msgspec.Struct`` type of a lead under the schema ``document`` (one already
    accepted by :func:`policy.engine.compile_schema.schema_checks`), or None when its
    keywords do not map onto msgspec types (see the module docstring)."""
    try:
        struct = _struct(document, "Lead")
        msgspec.json.Decoder(struct)  # msgspec refuses some unions only here
    except (_Unsupported, TypeError, ValueError):
        return None
    return struct


def _struct(schema: Mapping, name: str) -> type:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields: list[tuple] = []
    attrs: dict[str, str] = {}
    for i, (key, sub) in enumerate(properties.items()):
        attr = f"f{i}"
        attrs[key] = attr
        kind = _field_type(sub, f"{name}_{i}")
        if key in required:
            fields.append((attr, kind, msgspec.field(name=key)))
        else:
            fields.append((attr, kind, msgspec.field(default=None, name=key)))
    for j, key in enumerate(sorted(required - set(properties))):
        fields.append((f"r{j}", Any, msgspec.field(name=key)))  # present, any value
    struct = msgspec.defstruct(name, fields, kw_only=True, forbid_unknown_fields=True,
                               gc=False)
    struct.__lead_attrs__ = attrs  # type: ignore[attr-defined]
    return struct


def _field_type(schema: Any, name: str) -> Any:
    """The msgspec type of a property's value (None when it may be absent is the
    struct's default, not the type's: an absent key is None as a null one is)."""
    if schema is True:
        return Any
    types = _types(schema)
    members = _members(schema)
    null = _allows_null(schema)
    if members is not None:
        strings = [m for m in members if type(m) is str]
        if "string" not in types or not strings \
                or any(m is not None and type(m) is not str for m in members):
            raise _Unsupported  # numbers, booleans, arrays as members: the dict path
        kind: Any = Literal[tuple(strings)]  # type: ignore[valid-type]
        return Union[kind, None] if null else kind  # noqa: UP007 - built at run time
    kinds: list[Any] = []
    for t in types:
        if t == "null":
            kinds.append(type(None))
        elif t == "boolean":
            kinds.append(bool)
        elif t == "integer":
            if "number" not in types:
                kinds.append(int)
        elif t == "number":
            kinds += [int, float]
        elif t == "string":
            kinds.append(str)
        elif t == "array":
            items = schema.get("items", True)
            if items is not True and ("object" in _types(items) or _checked(items)):
                raise _Unsupported  # objects or checked values inside an array
            kinds.append(list[Any] if items is True else list[_field_type(items, name)])
        elif t == "object":
            kinds.append(_struct(schema, name))
    if not kinds:
        raise _Unsupported
    return kinds[0] if len(kinds) == 1 else Union[tuple(kinds)]  # noqa: UP007


_CHECKED = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                      "minLength", "maxLength", "pattern", "minItems", "maxItems"})


def _checked(schema: Any) -> bool:
    """Whether a value's schema has keywords checked in Python (not by its type)."""
    return isinstance(schema, Mapping) and bool(set(schema) & _CHECKED)


# ---------------------------------------------------------------------- the function


def write_json_decide(compiler: Any, prepare: PrepareSpec, bound_names: tuple[str, ...],
                      text: bool | str = False) -> LineWriter | None:
    """``def decide_json(data, as_of, …)`` for the rules of ``compiler`` (the untyped
    compilation, whose namespace and constants it shares), or None when the schema or
    the rules are outside what it covers (see the module docstring). ``bound_names``:
    the namespace's names bound as locals when the function uses them. With ``text``,
    ``decide_text``: the same, returning the decision's JSON text, not the Decision;
    with ``text="facts"``, ``decide_facts``: the Decision's fields as a tuple
    (:func:`_facts_compiler`)."""
    if prepare.schema is None:
        return None
    document = prepare.schema.document
    struct = lead_struct(document)
    if struct is None:
        return None
    # the rules compiled again, knowing the types msgspec gives each field: the same
    # types the schema checks of ``decide`` let through (compile_schema.field_types)
    cls = (_facts_compiler(type(compiler)) if text == "facts" else
           _text_compiler(type(compiler)) if text else type(compiler))
    typed = cls(compiler.program, compiler.info, compiler.ns, prepare.schema.field_types())
    typed._consts = compiler._consts
    typed.used.add("lead_id")
    typed.lead_id_code = "lead_id"
    sections = typed.sections()
    body = LineWriter()
    writer = _StructWriter(body, typed)
    decode = typed.const(msgspec.json.Decoder(struct).decode, "DECODE")
    exc = typed.const(Exception, "EXC")
    with body.block("try:"):
        body.line(f"lead = {decode}(data)")
    with body.block(f"except {exc}:"):
        body.line("return None  # not such a lead: the dict path reads it")
    writer.object("lead", document, struct, ())
    id_field = typed.program.id_field
    if id_field is None:
        body.line("lead_id = None")
    elif tuple(id_field) in writer.names:
        body.line(f"lead_id = {writer.names[tuple(id_field)]}")
    elif _reaches(document, tuple(id_field)):
        return None  # below a value read as it is (an array, any value)
    else:
        body.line("lead_id = None  # a key the lead cannot have")
    for key in list(typed._items):
        if key[0] == "raw" and key not in writer.done:
            if _reaches(document, key[1]):
                return None  # below a value read as it is (an array, any value)
            body.line(f"{typed._locals[key]} = None  # a key the lead cannot have")
            writer.done.add(key)
    # of an object's value the rules may read its presence only (it is a struct here)
    for path, local in writer.objects:
        if ("raw", path) in typed._items and not _presence_only(typed, sections, local):
            return None
    done = write_timestamps(body, typed, prepare, writer.names,
                            typed._presence_only(sections))
    done |= writer.done
    typed.body(body, sections, done)
    source = body.text()
    if _reads_lead(source):
        return None  # the rules read the lead itself: the dict path
    bound = [name for name in bound_names if re.search(rf"\b{name}\b", source)]
    name = _NAMES[text]
    w = LineWriter()
    with w.block(f"def {name}(data, as_of, {', '.join(f'{n}={n}' for n in bound)}):"
                 if bound else f"def {name}(data, as_of):"):
        w.extend(body)
    return w


def _reads_lead(text: str) -> bool:
    """Whether generated code uses the name ``lead`` other than to set it and to read a
    struct's field (``lead.f3``); comments and strings are not code."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                                tokenize.INDENT, tokenize.DEDENT)]
    for i, t in enumerate(tokens):
        if t.type == tokenize.NAME and t.string == "lead":
            after = [x.string for x in tokens[i + 1:i + 3]]
            if after[:1] == ["="] or (after[:1] == ["."] and len(after) == 2
                                      and re.fullmatch(r"f\d+", after[1])):
                continue
            return True
    return False


def _presence_only(typed: Any, sections: list, local: str) -> bool:
    """Whether the rules (sections and the items they need, not the field reads the
    prologue writes) use ``local`` only in ``is None``/``is not None`` tests."""
    texts = [section.writer.text() for section in sections]
    texts += [line for key, item in typed._items.items() if key[0] not in ("ts", "raw")
              for line in item.lines]
    rules = "\n".join(texts)
    uses = len(re.findall(rf"\b{re.escape(local)}\b", rules))
    tests = len(re.findall(rf"\b{re.escape(local)} is (?:not )?None\b", rules))
    return uses == tests


def _reaches(schema: Any, path: tuple[str, ...]) -> bool:
    """Whether a lead valid under ``schema`` may hold a value at ``path`` (False: the
    first key not declared by an object schema on the way, which the struct forbids)."""
    for key in path:
        if not isinstance(schema, Mapping):
            return True
        properties = schema.get("properties", {})
        if key not in properties:
            return key in schema.get("required", [])
        schema = properties[key]
    return True


class _StructWriter:
    """The field reads of a struct-decoded lead, and the checks msgspec does not make."""

    def __init__(self, w: LineWriter, ex: Any) -> None:
        self.w = w
        self.ex = ex
        self.done: set[tuple] = set()
        #: the local of every field path read
        self.names: dict[tuple[str, ...], str] = {}
        #: (path, local) of every field whose value may be a struct
        self.objects: list[tuple[tuple[str, ...], str]] = []

    def local(self, path: tuple[str, ...]) -> str:
        """The local of the field at ``path``: the rules' own, or a fresh one (the same
        in every branch)."""
        if path in self.names:
            return self.names[path]
        key = ("raw", path)
        name = self.ex._locals.get(key)
        if name is not None and key in self.ex._items:
            self.done.add(key)
        else:
            name = self.ex.new_name("v")
        self.names[path] = name
        return name

    def object(self, obj: str, schema: Mapping, struct: type, path: tuple[str, ...]) -> None:
        """Read every property of the struct ``obj`` (never None here) into its local."""
        attrs = struct.__lead_attrs__  # type: ignore[attr-defined]
        hints = {f: t for f, t in zip(struct.__struct_fields__,
                                       _field_types(struct), strict=True)}
        for key, sub in schema.get("properties", {}).items():
            sub_path = (*path, key)
            v = self.local(sub_path)
            self.w.line(f"{v} = {obj}.{attrs[key]}")
            self.value(v, sub, hints[attrs[key]], sub_path)

    def value(self, v: str, schema: Any, kind: Any, path: tuple[str, ...]) -> None:
        """The checks msgspec does not make of the value ``v`` of a field (None when the
        field is absent), and the fields of a struct it holds."""
        if schema is True:
            return
        w = self.w
        types = _types(schema)
        struct = _struct_in(kind)
        checks = self.checks(v, schema, types)
        if struct is not None:
            self.objects.append((path, v))
            others = [t for t in types if t not in ("object", "null")]
            test = f"type({v}) is {self.ex.const(struct, 'STRUCT')}" if others \
                else f"{v} is not None"
            with w.block(f"if {test}:"):
                self.object(v, schema, struct, path)
            with w.block("else:"):
                # null, absent or another type: what the rules read below it is missing
                self.none_below(schema, path)
                self.write_checks(checks)
            return
        self.write_checks(checks)

    def write_checks(self, checks: list[str]) -> None:
        for test in checks:
            with self.w.block(f"if {test}:"):
                self.w.line("return None")

    def none_below(self, schema: Mapping, path: tuple[str, ...]) -> None:
        for key, sub in schema.get("properties", {}).items():
            sub_path = (*path, key)
            self.w.line(f"{self.local(sub_path)} = None")
            if isinstance(sub, Mapping) and "object" in _types(sub):
                self.none_below(sub, sub_path)

    def checks(self, v: str, schema: Mapping, types: tuple[str, ...]) -> list[str]:
        """The tests that refuse ``v`` (None, or of one of ``types``), one a line."""
        found: list[str] = []

        def refuse_unless(t: str, test: str) -> None:
            # the test is of values of type t; others (and None) are not its business
            others = [x for x in types if x not in (t, "null")
                      and not (t == "number" and x == "integer")]
            if not others:
                kind = f"{v} is not None"
            elif t == "number":
                kind = f"(type({v}) is int or type({v}) is float)"
            else:
                kind = f"type({v}) is {_PY[t]}"
            found.append(f"{kind} and not ({test})")

        if "integer" in types or "number" in types:
            tests = _bound_tests(v, schema)
            if tests:
                refuse_unless("number" if "number" in types else "integer",
                              " and ".join(tests))
        if "string" in types:
            test = _length_test(v, schema)
            if test is not None:
                refuse_unless("string", test)
            if "pattern" in schema:
                check = self.ex.const(_pattern_check(schema["pattern"]), "PATTERN")
                refuse_unless("string", f"{v}.isascii() and {check}({v})")
        if "array" in types:
            low, high = schema.get("minItems"), schema.get("maxItems")
            tests = ([f"len({v}) >= {low!r}"] if low is not None else []) \
                + ([f"len({v}) <= {high!r}"] if high is not None else [])
            if tests:
                refuse_unless("array", " and ".join(tests))
        return found


_PY = {"integer": "int", "string": "str", "array": "list"}


def _field_types(struct: type) -> list[Any]:
    """The declared type of each field of a struct, in field order."""
    info = msgspec.inspect.type_info(struct)
    return [f.type for f in info.fields]  # type: ignore[attr-defined]


def _struct_in(kind: Any) -> type | None:
    """The struct type a field's msgspec type info may hold, if any."""
    inspect = msgspec.inspect
    if isinstance(kind, inspect.StructType):
        return kind.cls
    if isinstance(kind, inspect.UnionType):
        for t in kind.types:
            if isinstance(t, inspect.StructType):
                return t.cls
    return None


#: the name of the function each kind of ``text`` compiles to
_NAMES = {False: "decide_json", True: "decide_text", "facts": "decide_facts"}


def compile_json_decide(comp: Any, prepare: PrepareSpec, bound: tuple, namespace: dict,
                        base: str, text: bool | str = False) -> Any:
    """``decide_json`` (``decide_text`` with ``text``) compiled into the namespace of the
    engine ``comp`` made (after its source, which holds ``decide``), or None when
    :func:`write_json_decide` gives none. The engine compiles each when first asked for:
    it costs a third of a short command's start-up, and pays back only after some
    thousands of leads."""
    from policy.engine.linewriter import register_source

    written = write_json_decide(comp, prepare, bound, text)
    if written is None:
        return None
    source = written.text()
    name = " text>" if text else " json>"
    exec(compile(source, register_source(source, base[:-1] + name), "exec"), namespace)  # noqa: S102
    made = namespace[_NAMES[text]]
    if text == "facts":
        made.score_names = tuple(comp.program.score_names)
    return made



# ------------------------------------------------------------------- decide_text


def _text_compiler(base: type) -> type:
    """The compiler ``decide_text`` is written by: ``base`` (compiler._Compiler) whose
    next steps are their JSON text and whose decision is returned as its JSON text."""

    class TextCompiler(base):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.parts = TextParts()

        def next_const(self, step: Any) -> str:
            return self.const(self.parts.next_step(step))  # a str: its repr

        def next_step(self, w: LineWriter, *args: Any) -> None:
            super().next_step(w, *args)
            _next_text_by_unmet(self, w)

        def decision_return(self, w: LineWriter, lead_id: str, placed: str, why: str
                            ) -> bool:
            _write_text_return(self, w, lead_id, placed, why)
            return True

    return TextCompiler


_BUILT_NEXT = re.compile(r"( *)nxt = NEW\(NextStep, \(('[a-zA-Z0-9_ -]*'), unmet\)\)")


def _next_text_by_unmet(ex: Any, w: LineWriter) -> None:
    """A next step built from the lines a gate leaves unmet (``NEW(NextStep, (stage,
    unmet))``, the last line written) becomes its text, looked up by the ``unmet``
    tuple: no NextStep built, no call to encode it (two thirds of `rules/` leads)."""
    lines = w._lines
    found = _BUILT_NEXT.fullmatch(lines[-1]) if lines else None
    if found is None:
        return  # a constant, or None: the text's tail turns it into text
    pad, stage = found.group(1), ast.literal_eval(found.group(2))
    parts: TextParts = ex.parts
    known: dict[tuple, str] = {}

    def make(unmet: tuple) -> str:
        if len(known) >= 4096:
            known.clear()
        text = known[unmet] = parts.next_step(NextStep(stage, unmet))
        return text

    cache = _bind(ex, known, "NEXT_BY_UNMET")
    lines[-1] = f"{pad}nxt = {cache}.get(unmet)"
    lines.append(f"{pad}if nxt is None:")
    lines.append(f"{pad}{w.INDENT}nxt = {_bind(ex, make, 'NEXT_OF_UNMET')}(unmet)")


def _bind(ex: Any, value: Any, hint: str) -> str:
    """A namespace name of its own for ``value``."""
    name = ex.new_name(hint)
    while name in ex.ns:
        name = ex.new_name(hint)
    ex.ns[name] = value
    return name


def _write_text_return(ex: Any, w: LineWriter, lead_id: str, placed: str, why: str) -> None:
    """``return`` the decision's JSON text, built from the locals the rules leave: the
    bytes :class:`policy.engine.record_text.RecordEncoder` writes for the Decision
    ``decide`` returns (the same :class:`~policy.engine.record_text.TextParts` pieces;
    ``tests/test_decide_json.py``), without building the Decision."""
    parts: TextParts = ex.parts

    def bind(value: Any, hint: str) -> str:
        return _bind(ex, value, hint)

    value = bind(value_text, "VALUE")
    texts = bind(parts.names, "TEXTS")
    heads: dict[int, str] = {}
    info = ex.info

    def head(as_of: int) -> str:
        if len(heads) >= 64:
            heads.clear()
        text = heads[as_of] = parts.head(info, as_of)
        return text

    pieces: list[tuple[bool, str]] = []  # (is code, text)
    lit = lambda t: pieces.append((False, t))  # noqa: E731
    code = lambda c: pieces.append((True, c))  # noqa: E731
    if lead_id == "None":
        lit('{"lead": null')
    else:
        lt = ex.new_name("r_lead")
        w.line(f"{lt} = {lead_id}")
        with w.block(f"if type({lt}) is str and {lt}.isprintable() and '\"' not in {lt} "
                     f"and '\\\\' not in {lt}:"):
            w.line(f"{lt} = f'\"{{{lt}}}\"'")
        with w.block("else:"):
            w.line(f"{lt} = {value}({lt})")
        lit('{"lead": ')
        code(lt)
    hd = ex.new_name("r_head")
    w.line(f"{hd} = {bind(heads, 'HEADS')}.get(as_of)")
    with w.block(f"if {hd} is None:"):
        w.line(f"{hd} = {bind(head, 'HEAD')}(as_of)")
    code(hd)
    code(f"{texts}[{placed}]")
    lit(', "reached": ')
    code(f"{texts}[reached]")
    lit(', "reason": ')
    if why == "None":
        lit("null")
    else:
        r = ex.new_name("r_why")
        w.line(f"{r} = 'null' if {why} is None else {texts}[{why}] if type({why}) is str "
               f"else {value}({why})")
        code(r)
    lit(', "scores": {')
    for i, n in enumerate(ex.program.score_names):
        s = ex._score_locals[n]
        lit((", " if i else "") + f"{string_text(n)}: ")
        if n in ex.int_scores:
            code(s)  # surely an int: formatted as int.__repr__ would
        else:
            r = ex.new_name("r_score")
            w.line(f"{r} = {s} if type({s}) is int else {value}({s})")
            code(r)
    lit('}, "next": ')
    r = ex.new_name("r_next")
    w.line(f"{r} = nxt if type(nxt) is str else {bind(parts.next_step, 'NEXT_TEXT')}(nxt)")
    code(r)
    lit(', "handoffs": ')
    r = ex.new_name("r_handoffs")
    w.line(f"{r} = {bind(parts.handoffs, 'HANDOFFS')}(hs) if hs else '[]'")
    code(r)
    lit(', "violations": ')
    r = ex.new_name("r_violations")
    w.line(f"{r} = {bind(parts.violations, 'VIOLATIONS')}(vs) if vs else '[]'")
    code(r)
    lit("}")
    # one f-string (adjacent literals joined): a literal part is the repr of its text
    # with braces doubled, a code part a plain expression of locals and names
    merged: list[tuple[bool, str]] = []
    for is_code, t in pieces:
        if merged and not is_code and not merged[-1][0]:
            merged[-1] = (False, merged[-1][1] + t)
        else:
            merged.append((is_code, t))
    out = [f"f'{{{t}}}'" if is_code else "f" + repr(t).replace("{", "{{").replace("}", "}}")
           for is_code, t in merged]
    w.line("return (" + out[0])
    for part in out[1:-1]:
        w.line("        " + part)
    w.line("        " + out[-1] + ")")



def _facts_compiler(base: type) -> type:
    """The compiler ``decide_facts`` is written by (``text="facts"``): ``base`` whose
    decision is returned as the tuple of the Decision's fields a report reads, ``(stage,
    reached, reason, scores, handoffs, violations)``, the scores in the order of the
    function's ``score_names`` (``funnel report``, policy/report/units.py)."""

    class FactsCompiler(base):  # type: ignore[valid-type, misc]
        def decision_return(self, w: LineWriter, lead_id: str, placed: str, why: str
                            ) -> bool:
            scores = "".join(f"{self._score_locals[n]}, " for n in self.program.score_names)
            w.line(f"return ({placed}, reached, {why}, ({scores}), hs, vs)")
            return True

    return FactsCompiler
