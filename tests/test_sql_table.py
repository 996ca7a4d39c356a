"""The printed DuckDB SQL (`funnel sql`, ``Policy.sql``) over a typed *table* decides as
the python engine, on generated policies and generated schemas (spec section 10).

The other differential tests feed the engines JSON text (``--engine duckdb``); here
the leads are rows of a DuckDB table as a warehouse holds them: one typed column per
field (``DOUBLE``, ``BIGINT``, ``BOOLEAN``, ``VARCHAR``, ``VARCHAR[]``…), a STRUCT for
a nested object (or, with ``--flat SEP``, one column per path), NULL for a missing
field (a NULL element of a list is a null item), ``line`` null. The column types are
the ones the statement reads (:func:`policy.sql.table.field_kinds`: the schema's, else
the intermediate form's);
a drawn value that a column of that type cannot hold is NULL there, and the python
engine decides the lead the table holds (its NULL columns left out). Drawn too: native
``TIMESTAMP``/``TIMESTAMPTZ``/``DATE`` columns for the timestamp fields, ``--local-tz``,
and no ``--as-of`` (the statement's own clock, compared at the ``as_of`` it reports).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from conftest import examples
from engine_strategies import (
    AS_OFS,
    _field_paths,
    leads,
    leads_for,
    load_text,
    policies,
    schema_leads,
    schemas,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sql_schemas import load_with_schema

import policy
from policy.api import Policy
from policy.engine import tabular
from policy.engine.decision import LeadError
from policy.sql import to_sql
from policy.sql.table import field_kinds

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
ZONES = (None, None, "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata")
NATIVE = (None, None, "TIMESTAMP", "TIMESTAMPTZ", "DATE", "TIMESTAMP_NS")


# --------------------------------------------------------------------------- tables


def column_type(kinds: set[str]) -> str | None:
    """The column type a table holds a field of these JSON kinds in; None when no one
    type holds them (a field the schema lets be a number or a text)."""
    plain = set(kinds) - {"null"}
    if plain == {"integer"}:
        return "BIGINT"
    if plain and plain <= {"number", "integer"}:
        return "DOUBLE"
    if plain == {"array"}:  # a list of text: the SQL path takes no `items` keyword
        return "VARCHAR[]"
    return {frozenset({"boolean"}): "BOOLEAN", frozenset({"string"}): "VARCHAR",
            frozenset({"object"}): "VARCHAR"}.get(frozenset(plain))


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def fits(kind: str, v: object) -> bool:
    """Whether a column of type ``kind`` holds the JSON value ``v`` as it is."""
    if kind == "BIGINT":
        return isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2 ** 63
    if kind == "DOUBLE":
        return _number(v) and abs(v) < 1e308
    if kind == "BOOLEAN":
        return isinstance(v, bool)
    if kind.endswith("[]"):
        test = {"VARCHAR[]": lambda x: isinstance(x, str), "DOUBLE[]": _number,
                "BOOLEAN[]": lambda x: isinstance(x, bool)}[kind]
        return isinstance(v, list) and all(x is None or test(x) for x in v)
    return isinstance(v, str)


def _get(lead: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(lead, dict) or key not in lead:
            return None
        lead = lead[key]
    return lead


def _tree(types: dict[tuple[str, ...], str]) -> dict | None:
    """Nested column types (a dict is a STRUCT); None when a path is both a value and
    an object."""
    tree: dict = {}
    for path, kind in sorted(types.items()):
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                return None
        if path[-1] in node:
            return None
        node[path[-1]] = kind
    return tree


def _sql_type(node: object) -> str:
    if isinstance(node, str):
        return node
    return "STRUCT(" + ", ".join('"' + k.replace('"', '""') + '" ' + _sql_type(v)
                                 for k, v in node.items()) + ")"


def _row(tree: dict, lead: object, prefix: tuple[str, ...] = ()) -> dict:
    out: dict = {}
    for key, node in tree.items():
        v = _get(lead, (*prefix, key))
        if isinstance(node, dict):
            out[key] = _row(node, lead, (*prefix, key)) if isinstance(v, dict) else None
        else:
            out[key] = v if fits(node, v) else None
    return out


def _lead(types: dict, row: dict, flat: str | None) -> dict:
    """The lead a row holds: its NULL columns left out; a STRUCT that is not NULL is an
    object (``{}`` when all its fields are NULL); flat columns nest as the python CSV
    reader nests ``a.b`` headers (an object only where a value below it is)."""
    if not flat:
        return _present(row)
    lead: dict = {}
    for path in types:
        v = row.get(flat.join(path))
        if v is None:
            continue
        node = lead
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = v
    return lead


def _present(row: dict) -> dict:
    return {k: _present(v) if isinstance(v, dict) else v for k, v in row.items()
            if v is not None}


def decide_table(pol: policy.Policy, types: dict, batch: list[dict], as_of: int | None, *,
                 flat: str | None = None, native: str | None = None,
                 years: tuple[int, int] = (2020, 2030)) -> None:
    """Put ``batch`` in a table of columns ``types`` (path -> type) and check the
    printed statement's rows against the python engine, field by field. ``years``: the
    calendar tables printed inline (each year is about 400,000 characters of SQL that
    DuckDB parses, for a policy with a calendar)."""
    tree = {flat.join(p): t for p, t in types.items()} if flat else _tree(types)
    assert tree is not None
    rows = []
    for i, lead in enumerate(batch):
        lead = {**lead, "lead_id": f"k{i}"}
        rows.append({flat.join(p): _get(lead, p) if fits(t, _get(lead, p)) else None
                     for p, t in types.items()} if flat else _row(tree, lead))
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leads.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        cols = ", ".join('"' + k.replace('"', '""') + "\": '" + _sql_type(v) + "'"
                         for k, v in tree.items())
        con.execute("CREATE TABLE leads AS SELECT * FROM read_json(?, format="
                    f"'newline_delimited', columns={{{cols}}})", [str(path)])
    for p in pol.program.timestamp_order if native else ():
        name = flat.join(p) if flat else p[0] if len(p) == 1 else None
        if name is None or types.get(p) != "VARCHAR":
            continue
        con.execute(f'ALTER TABLE leads ALTER "{name}" TYPE {native} '
                    f'USING TRY_CAST("{name}" AS {native})')
        # the python engine reads the instant's text, as DuckDB writes it
        for key, text in con.execute(f'SELECT lead_id, CAST("{name}" AS VARCHAR) '
                                     "FROM leads").fetchall():
            rows[int(key[1:])][name] = text
    if native == "TIMESTAMPTZ":
        con.execute("SET TimeZone = 'America/Los_Angeles'")  # never the statement's zone
    lay = tabular.layout(pol)
    text = to_sql(pol, dialect="duckdb", as_of=as_of, flat=flat, years=years)
    got_rows = {r[1]: dict(zip(lay.names, r, strict=True)) for r in con.execute(text).fetchall()}
    assert len(got_rows) == len(rows)
    kinds = {c.name: c.kind for c in lay.columns}
    for row in rows:
        got = got_rows[row["lead_id"]]
        at = as_of if as_of is not None else (
            (got["as_of"].replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1))
        lead = _lead(types, row, flat)
        try:
            want = pol.evaluate_at(lead, at)
        except LeadError as exc:
            want = exc
        for key, value in tabular.row_dict(want, lay, info=pol.info, as_of=at).items():
            g = got[key]
            if kinds[key] == "timestamp" and g is not None:
                g = (g.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
            if kinds[key] == "list" and g is not None:
                g = tuple(g)
            if kinds[key] == "json" and value is not None:
                value = tabular.cell_text("json", value)
            if key == "error":  # over a table the messages may be shorter (spec 10)
                g, value = g is None, value is None
            assert g == value, (key, json.dumps(lead, ensure_ascii=False), value, g)


def _types(pol: policy.Policy, paths) -> dict | None:
    kinds = field_kinds(pol.program, pol.model.schema)
    types = {}
    for p in {*paths, ("lead_id",)}:
        types[p] = column_type(kinds.get(p, {"string"}))
        if types[p] is None:
            return None
    return types if types[("lead_id",)] == "VARCHAR" and _tree(types) is not None else None


# --------------------------------------------------------------------------- generated


@settings(max_examples=examples(8, 15), deadline=None, suppress_health_check=SLOW)
@given(text=policies(), data=st.data())
def test_printed_sql_over_a_table_decides_generated_policies_as_python(text, data):
    model = load_text(text)
    pol = Policy(model, local_tz=data.draw(st.sampled_from(ZONES)))
    types = _types(pol, _field_paths(model))
    assert types is not None  # the generated vocabulary: each field of one kind
    batch = data.draw(st.lists(st.one_of(leads(), leads_for(model)), min_size=1,
                               max_size=30))
    as_of = data.draw(st.sampled_from((*AS_OFS, None)))
    # (session 20) leads() and leads_for() write their instants in 2026 and the SLAs
    # last weeks at most: at the fixed instants 2025-2027 holds all business time (the
    # span test_sql_engine's differential of the same generators uses); the clock's
    # instant (None) keeps the wide span
    decide_table(pol, types, batch, as_of, flat=data.draw(st.sampled_from((None, "__", "."))),
                 native=data.draw(st.sampled_from(NATIVE)),
                 years=(2025, 2027) if as_of is not None else (2020, 2030))


def _leaves(node: dict, keys: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, sub in node.get("properties", {}).items():
        out += _leaves(sub, (*keys, key)) if "properties" in sub else [(*keys, key)]
    return out


@settings(max_examples=examples(6, 12), deadline=None, suppress_health_check=SLOW)
@given(text=policies(typed=True), document=schemas(), data=st.data())
def test_printed_sql_over_a_table_validates_generated_schemas_as_python(text, document,
                                                                      data):
    pol = load_with_schema(text, document)
    types = _types(pol, [*_field_paths(pol.model), *_leaves(document)])
    if types is None:  # a field of several kinds: no one column type holds it
        return
    batch = data.draw(st.lists(st.one_of(schema_leads(document), leads()), min_size=1,
                               max_size=30))
    decide_table(pol, types, batch, data.draw(st.sampled_from(AS_OFS)),
                 flat=data.draw(st.sampled_from((None, "__"))))


# --------------------------------------------------------------------------- found here


def test_required_below_an_object_the_schema_does_not_type_is_checked(tmp_path):
    """`"bant": {"properties": …, "required": ["need"]}` without `"type": "object"`: the
    table's `bant` column was typed as text, so the statement never saw an object
    there and never checked `required` below it (python refuses a lead without
    `bant.need`; the SQL decided it)."""
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nschema "s.json"\nid lead_id\nteam m "@m"\nfunnel lead\n'
        'stage lead "L" owned by m {\n  require bant.budget\n}\n', encoding="utf-8")
    (tmp_path / "s.json").write_text(json.dumps({
        "type": "object", "properties": {
            "lead_id": {"type": "string"},
            "bant": {"properties": {"budget": {"type": ["boolean", "null"]},
                                    "need": {"type": ["boolean", "null"]}},
                     "required": ["need"]}}}), encoding="utf-8")
    pol = policy.load(tmp_path)
    types = {("lead_id",): "VARCHAR", ("bant", "budget"): "BOOLEAN",
             ("bant", "need"): "BOOLEAN"}
    batch = [{"bant": {"budget": True}}, {"bant": {"budget": True, "need": False}}, {}]
    decide_table(pol, types, batch, AS_OFS[0])
    text = to_sql(pol, dialect="duckdb", as_of=AS_OFS[0], years=(2026, 2026))
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, bant STRUCT(budget BOOLEAN, "
                "need BOOLEAN))")
    con.execute("INSERT INTO leads VALUES ('a', {'budget': true, 'need': NULL})")
    names = tabular.layout(pol).names
    row = dict(zip(names, con.execute(text).fetchone(), strict=True))
    assert row["error_paths"] == ["bant.need"] and row["stage"] is None


def test_flat_columns_make_an_object_where_a_field_below_it_is(tmp_path):
    """With ``--flat`` no column holds an object: the statement read a column named
    after it (`"company"`, `"bant"`) for `company is present` and for the schema's
    checks of an object (`required` below it), and did not run (Binder Error). An
    object is now there when one of the flat columns below it is not NULL, as the
    python CSV reader nests `a.b` headers (an object only where a cell below it is)."""
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nschema "s.json"\nid lead_id\nteam m "@m"\nfunnel lead\n'
        'score fit owned by m {\n  +1 if bant is present\n  +2 if bant.budget\n}\n'
        'stage lead "L" owned by m {\n  require fit >= 2\n}\n', encoding="utf-8")
    (tmp_path / "s.json").write_text(json.dumps({
        "type": "object", "properties": {
            "lead_id": {"type": "string"},
            "bant": {"type": ["object", "null"],
                     "properties": {"budget": {"type": ["boolean", "null"]},
                                    "need": {"type": ["boolean", "null"]}},
                     "required": ["need"]}}}), encoding="utf-8")
    pol = policy.load(tmp_path)
    types = {("lead_id",): "VARCHAR", ("bant", "budget"): "BOOLEAN",
             ("bant", "need"): "BOOLEAN"}
    batch = [{"bant": {"budget": True}}, {"bant": {"budget": True, "need": False}}, {},
             {"bant": {"need": True}}]
    for flat in ("__", ".", None):
        decide_table(pol, types, batch, AS_OFS[0], flat=flat)
    text = to_sql(pol, dialect="duckdb", flat="__", as_of=AS_OFS[0], years=(2026, 2026))
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, bant__budget BOOLEAN, "
                "bant__need BOOLEAN)")
    con.execute("INSERT INTO leads VALUES ('a', true, NULL), ('b', NULL, NULL), "
                "('c', true, false)")
    names = tabular.layout(pol).names
    rows = {r[1]: dict(zip(names, r, strict=True)) for r in con.execute(text).fetchall()}
    assert rows["a"]["error_paths"] == ["bant.need"]
    assert rows["b"]["error"] is None and rows["b"]["score_fit"] == 0
    assert rows["c"]["stage"] == "lead" and rows["c"]["score_fit"] == 3


def test_a_whole_number_schema_field_in_a_double_column_is_refused_when_not_whole(tmp_path):
    """A warehouse often holds an integer field in a DOUBLE (FLOAT) column: a value
    there that is not whole (-2.5, 0.1) is a number, not an integer, so the lead is
    refused at that field as the python engine refuses it; 3.0 is an integer (JSON
    Schema: a number whose value is whole). The statement took the column's type for
    the value's and decided such a lead."""
    (tmp_path / "s.json").write_text(json.dumps({
        "type": "object", "required": ["lead_id"],
        "properties": {"lead_id": {"type": "string"},
                       "visits": {"type": ["integer", "null"], "minimum": -5},
                       "seats": {"type": "integer"}}}), encoding="utf-8")
    (tmp_path / "p.funnel").write_text("""policy ints "Ints"
id lead_id
schema "s.json"
team marketing "@acme/marketing"
funnel lead
score fit "Fit" owned by marketing {
  +5 per visits
  +1 if seats > 2
}
stage lead "Lead" owned by marketing {
  require fit >= 0
}
""", encoding="utf-8")
    pol = policy.load(tmp_path)
    types = {("lead_id",): "VARCHAR", ("visits",): "DOUBLE", ("seats",): "DOUBLE"}
    batch = [{"visits": v, "seats": s} for v, s in [
        (-2.5, 3), (3, 3.0), (2.0, 1), (None, 4), (0.1, 2.5), (-6.0, 3), (1e300, 3),
        (-0.0, 7)]]
    decide_table(pol, types, batch, AS_OFS[0])
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, visits DOUBLE, seats DOUBLE)")
    con.execute("INSERT INTO leads VALUES ('a', -2.5, 3), ('b', 3, 3)")
    rows = con.execute(to_sql(pol, dialect="duckdb", as_of=AS_OFS[0], years=(2025, 2027))
                       ).fetchall()
    assert [(r[1], list(r[-1])) for r in rows] == [("a", ["visits"]), ("b", [])]
