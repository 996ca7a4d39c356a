"""Passes ``declarations`` (the header, names declared twice, name style), ``names``
(unknown names, fields and functions; names that shadow fields) and ``owners``
(teams, stages and states that blocks point to).
"""

from __future__ import annotations

from collections.abc import Iterator

from policy.check.context import SNAKE, Context, did_you_mean, json_text, snake_case
from policy.model.namespace import FUNCTIONS
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error, warning

# --------------------------------------------------------------------------- declarations

_SINGLE = {
    n.Version: "version",
    n.SchemaRef: "schema",
    n.IdField: "id",
    n.Funnel: "funnel",
    n.Calendar: "calendar",
}


def _declared_name(decl: n.Decl) -> tuple[str, n.Ident] | None:
    if isinstance(decl, n.Team):
        return "team", decl.name
    if isinstance(decl, n.Define):
        return "define", decl.name
    if isinstance(decl, n.Score):
        return "score", decl.name
    if isinstance(decl, n.Stage):
        return "stage", decl.name
    if isinstance(decl, n.State):
        return "state", decl.name
    if isinstance(decl, n.Calendar) and decl.name is not None:
        return "calendar", decl.name
    return None


def check_declarations(ctx: Context) -> Iterator[Diagnostic]:
    """E108 the header; E103 names declared twice; E113 names that are not snake_case."""
    model = ctx.model
    headers = [loc.decl for loc in ctx.decls() if isinstance(loc.decl, n.PolicyHeader)]
    if not headers and model.modules:
        first = model.modules[0]
        end = min(1, len(first.source))
        yield error("E108", "no `policy` header in this policy",
                    n.Span(first.path, 1, 1, 1, 1 + end, 0, end),
                    help='add one line such as `policy acme_b2b "Acme B2B inbound funnel"` '
                    "to exactly one file")
    for extra in headers[1:]:
        yield error("E108", "expected one `policy` header, found a second",
                    ctx.keyword(extra, "policy"),
                    help=f"the first is at {ctx.where(headers[0].span)}; a policy has "
                    "exactly one header")
    for header in headers:
        yield from _name_style(header.name, "policy")

    firsts: dict[type, n.Stmt] = {}
    names: dict[str, tuple[str, n.Ident]] = {}
    examples: dict[str, n.Example] = {}
    for loc in ctx.decls():
        d = loc.decl
        word = _SINGLE.get(type(d))
        if isinstance(d, n.Calendar) and d.name is not None:
            word = None  # a named calendar is a name in the one namespace (v1.1)
        if word is not None:
            if type(d) in firsts:
                yield error("E103", f"expected one `{word}` line, found a second",
                            ctx.keyword(d, word),
                            help=f"the first is at {ctx.where(firsts[type(d)].span)}")
            else:
                firsts[type(d)] = d
            continue
        if isinstance(d, n.Example):
            if d.name in examples:
                yield error("E103", f"two examples are named {json_text(d.name)}",
                            ctx.find(d.span, json_text(d.name)),
                            help=f"the first is at {ctx.where(examples[d.name].span)}; "
                            "give each example its own name")
            else:
                examples[d.name] = d
            continue
        named = _declared_name(d)
        if named is None:
            continue
        kind, ident = named
        yield from _name_style(ident, kind)
        if ident.name in names:
            first_kind, first = names[ident.name]
            what = (f"`{ident.name}` is declared twice" if first_kind == kind
                    else f"`{ident.name}` is declared twice: as a {first_kind} and as a {kind}")
            yield error("E103", what, ident.span,
                        help=f"the first is at {ctx.where(first.span)}; teams, calendars, "
                        "defines, scores, stages and states share one namespace")
        else:
            names[ident.name] = (kind, ident)


def _name_style(ident: n.Ident, kind: str) -> Iterator[Diagnostic]:
    if not SNAKE(ident.name):
        yield error("E113", f"expected a lowercase snake_case {kind} name, found "
                    f"`{ident.name}`", ident.span, help=f"rename it `{snake_case(ident.name)}`")


# --------------------------------------------------------------------------- names


def check_names(ctx: Context) -> Iterator[Diagnostic]:
    """E101 unknown fields (with a schema), names and functions; W205 shadowed fields."""
    model = ctx.model
    schema = model.schema
    fields = schema.fields if schema is not None else {}
    parents = {p[:-1] for p in fields if len(p) > 1}
    # an object the schema does not describe key by key: any key below it may exist
    open_objects = {
        p for p, info in fields.items()
        if p not in parents and (not info.types or "object" in info.types)
    }

    def known(path: tuple[str, ...]) -> bool:
        return path in fields or any(path[:i] in open_objects for i in range(1, len(path)))

    suggestions: dict[str, str | None] = {}
    for e in ctx.expressions():
        if isinstance(e, n.Call) and e.func not in FUNCTIONS:
            yield error("E101", f"unknown function `{e.func}`",
                        n.Span(e.span.file, e.span.line, e.span.column, e.span.line,
                               e.span.column + len(e.func), e.span.start,
                               e.span.start + len(e.func)),
                        help=did_you_mean(e.func, FUNCTIONS)
                        or "the functions are " + ", ".join(f"`{f}`" for f in FUNCTIONS))
        elif (isinstance(e, n.Ref) and schema is not None and e.path
              and ctx.model.resolve(e)[0] == "field" and not known(e.path)):
            dotted = e.dotted
            if dotted not in suggestions:
                suggestions[dotted] = _field_help(ctx, e, fields)
            what = "name" if len(e.path) == 1 else "field"
            yield error("E101", f"unknown {what} `{dotted}`", e.span,
                        help=suggestions[dotted])

    if schema is not None:
        for table, kind in ((model.defines, "define"), (model.scores, "score")):
            for name, decl in table.items():
                if (name,) in fields:
                    yield warning("W205", f"the {kind} `{name}` shadows the lead field "
                                  f"`{name}`", decl.name.span,
                                  help=f"in this policy `{name}` means the {kind}, never the "
                                  f"field; rename the {kind}")


def _field_help(ctx: Context, ref: n.Ref, fields) -> str:
    model = ctx.model
    name = ref.dotted
    kind = ctx.kinds.get(name)
    if kind in ("team", "stage", "state"):
        return f"`{name}` is a {kind}; conditions use defines, scores and lead fields"
    if len(ref.path) == 1:
        pool = [*model.defines, *model.scores, *(p[0] for p in fields if len(p) == 1)]
        hint = did_you_mean(name, pool)
    else:
        # a path of the same depth first: `company.employes` is not `company`
        hint = did_you_mean(name, (".".join(p) for p in fields if len(p) == len(ref.path)))
        hint = hint or did_you_mean(name, (".".join(p) for p in fields))
    if hint:
        return hint
    source = model.schema_ref.decl.path if model.schema_ref is not None else "the schema"
    if len(ref.path) == 1:
        return (f"not a define, a score or a field of {json_text(source)}; declare it, "
                "or add the field to the schema")
    return f"{json_text(source)} describes no such field; add it to the schema, or fix the path"


# --------------------------------------------------------------------------- owners


def check_owners(ctx: Context) -> Iterator[Diagnostic]:
    """E104 an unknown team, stage or state in `owned by`, `handoff`, `recycle`, `reject`."""
    found: list[Diagnostic | None] = []
    for loc in ctx.decls():
        d = loc.decl
        if isinstance(d, n.Score | n.Stage | n.State):
            for owner in d.owners:
                found.append(ctx.expect_name(owner, "team", "E104", "after `owned by`"))
        elif isinstance(d, n.Handoff):
            found.append(ctx.expect_name(d.stage, "stage", "E104", "after `handoff`"))
            found.append(ctx.expect_name(d.team, "team", "E104", "after `to`"))
            for item in d.items:
                if isinstance(item, n.Reject):
                    found.append(ctx.expect_name(item.state, "state", "E104",
                                                 "after `reject to`"))
        elif isinstance(d, n.Recycle):
            for stage in d.stages:
                found.append(ctx.expect_name(stage, "stage", "E104", "after `recycle`"))
            found.append(ctx.expect_name(d.state, "state", "E104", "after `to`"))
    yield from (f for f in found if f is not None)
