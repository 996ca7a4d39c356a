"""Small sqlglot builders the SQL compiler uses everywhere (CASE, NULL tests, VALUES)."""

from __future__ import annotations

from sqlglot import exp

from policy.sql.values import Val, dbl, present

_N = exp.Literal.number
_S = exp.Literal.string

def _col(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def _case(pairs, default=None) -> exp.Expression:
    if not pairs:
        return default if default is not None else exp.null()
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in pairs], default=default)


#: the SQL type of a tabular column's kind, for a column the statement writes as NULL
_NULL_TYPES = {"string": "VARCHAR", "json": "VARCHAR", "bool": "BOOLEAN", "int": "BIGINT"}


def typed(e: exp.Expression, kind: str) -> exp.Expression:
    """``e``, or a NULL of the column's type when ``e`` is a bare NULL: an untyped NULL
    column is of type NULL in DuckDB (a Parquet column of that type), INT64 in BigQuery."""
    return exp.cast(e, _NULL_TYPES[kind]) if isinstance(e, exp.Null) else e


def _isnull(e) -> exp.Expression:
    return exp.Is(this=e, expression=exp.null())


def _notnull(e) -> exp.Expression:
    return exp.Not(this=exp.Is(this=e, expression=exp.null()))




def _values(rows, columns) -> exp.Select:
    def lit(v):
        return exp.cast(exp.null(), "BIGINT") if v is None else _N(v)

    tuples = [exp.Tuple(expressions=[lit(v) for v in row]) for row in rows]
    values = exp.Values(expressions=tuples, alias=exp.TableAlias(
        this=exp.to_identifier("t"), columns=[exp.to_identifier(c) for c in columns]))
    return exp.select(*(exp.column(c) for c in columns)).from_(values, copy=False)


def _star_of(table: str) -> exp.Expression:
    return exp.Column(this=exp.Star(), table=exp.to_identifier(table))


def _ge01(t, c) -> exp.Expression:
    return _case([(exp.Coalesce(this=exp.GTE(this=t, expression=c),
                                expressions=[exp.false()]), _N(1))], _N(0))


def _min_present(items: list[exp.Expression]) -> exp.Expression:
    """The earliest non-NULL instant (BigQuery's LEAST is NULL when any argument is)."""
    if not items:
        return exp.null()
    out = items[0]
    for x in items[1:]:
        out = _case([(_isnull(out), x), (_isnull(x), out),
                     (exp.LTE(this=out, expression=x), out)], x)
    return out


def _presentv(v: Val) -> exp.Expression:
    return present(v)


def _or_all(parts) -> exp.Expression:
    if not parts:
        return exp.false()
    out = parts[0]
    for p in parts[1:]:
        out = exp.Or(this=out, expression=p)
    return exp.Paren(this=out)


def _and_all(parts) -> exp.Expression:
    if not parts:
        return exp.true()
    out = parts[0]
    for p in parts[1:]:
        out = exp.And(this=out, expression=p)
    return exp.Paren(this=out)


def handoff_values(h: dict, as_of: exp.Expression) -> dict:
    """The tabular columns of one handoff (before the `applies` test), and its violation
    tests as (code, condition)."""
    out = {"team": _S(h["team"]), "route": h["route"], "escalate_to": exp.null(),
           "rejected": exp.false(), "rejection_reason": exp.null(),
           "sla_status": exp.null(), "sla_start": exp.null(), "sla_due": exp.null(),
           "sla_stop": exp.null(), "violations": [], "rej_json": exp.null()}
    if h.get("sla") is not None:
        start, stop = h["start"], h["stop"]
        due, business = h["due"]
        # business instants the calendar tables may not reach: the due instant, and
        # the escalation's (an escalation past the tables' end would silently not fire)
        late = [due] if business else []
        if h.get("esc") is not None and h["esc"][1]:
            late.append(h["esc"][0])
        missing = [_isnull(t) for t in late]
        if len(missing) > 1:
            missing = [exp.Paren(this=exp.or_(*missing, copy=False))]
        oor = exp.And(this=_notnull(start), expression=missing[0]) if late else exp.false()
        status = _case([
            (_isnull(start), _S("unknown")),
            (oor, _S("unknown")),
            (_notnull(stop), _case([(exp.Or(this=_isnull(due), expression=exp.LTE(
                this=stop, expression=due)), _S("met"))], _S("breached"))),
        ], _case([(exp.And(this=_notnull(due), expression=exp.GT(
            this=as_of, expression=due)), _S("breached"))], _S("pending")))
        out.update(sla_status=status, sla_start=start, sla_due=due, sla_stop=stop)
        out["violations"].append(("missing_sla_start", _isnull(start)))
        if late:
            out["violations"].append(("calendar_out_of_range", oor))
        if h.get("esc") is not None:
            when, _ = h["esc"]
            fire = _and_all([_notnull(start), _isnull(stop), _notnull(when),
                             exp.GT(this=as_of, expression=when)])
            out["escalate_to"] = _case([(fire, _S(h["esc_target"]))])
    if "rej_p" in h:
        out["rejected"] = h["rej_p"]
        out["rejection_reason"] = _case([(h["rej_p"], h["rej_cell"])])
        out["rej_json"] = _case([(h["rej_p"], h["rej_json"])])
        out["violations"].append(("invalid_rejection_reason", exp.And(
            this=h["rej_p"], expression=exp.Not(this=exp.Paren(this=h["rej_valid"])))))
    return out


def unscorable(names: list[str], prev: str, d, hidden: bool) -> exp.Select:
    """A lead whose score is outside a 64-bit integer's range (its ``sc_`` column NULL)
    cannot be decided (:func:`policy.engine.runtime.round_half_away`): the refused row
    the python engine writes, ``the lead cannot be decided`` with one problem at the
    lead itself, unless the schema refused it first. Columns ``_e``, ``_p``, ``_m``
    stand for ``_err``, ``_paths``, ``_msgs`` from here on."""
    from policy.engine.runtime import SCORE_RANGE

    bad = _or_all([_isnull(_col(f"sc_{n}")) for n in names])
    unscored = exp.And(this=_isnull(_col("_err")), expression=bad)
    what = f"a number in the lead cannot be computed with ({SCORE_RANGE})"
    cols: list[exp.Expression] = [
        exp.Star(),
        _case([(unscored, exp.Literal.string("the lead cannot be decided"))],
              _col("_err")).as_("_e"),
        _case([(unscored, d.array([exp.Literal.string("")]))], _col("_paths")).as_("_p")]
    if hidden:
        cols.append(_case([(unscored, d.array([exp.Literal.string(what)]))],
                          _col("_msgs")).as_("_m"))
    return exp.select(*cols).from_(prev, copy=False)


def half_away(x: exp.Expression) -> exp.Expression:
    """A score's sum ``x`` (a double) rounded to the nearest integer, halves away from
    zero (spec section 4 step 2, :func:`policy.engine.runtime.round_half_away`), as a
    BIGINT; NULL when the sum is outside a 64-bit integer's range: the python engine
    refuses the lead there, before `range` clamps (rounding keeps a sum that large as it
    is, so testing the sum is exact). NaN orders above every number in DuckDB and Spark,
    so it fails the test; and no FLOOR meets a value that BIGINT cannot hold (Spark's
    FLOOR is one). Not ``FLOOR(x + 0.5)``: that sum is itself rounded, so 0.49999999999999994
    gave 1 and an odd integer between 2^52 and 2^53 the next one; ``x - FLOOR(x)`` and
    ``CEIL(x) - x`` are exact."""
    fits = exp.And(this=exp.GTE(this=x, expression=dbl(-2.0 ** 63)),
                   expression=exp.LT(this=x, expression=dbl(2.0 ** 63)))
    low, high = exp.Floor(this=x.copy()), exp.Ceil(this=x.copy())
    one, zero = exp.Literal.number(1), exp.Literal.number(0)
    up = _case([(exp.GTE(this=exp.Sub(this=x.copy(), expression=low.copy()),
                         expression=dbl(0.5)), one)], zero)
    down = _case([(exp.GTE(this=exp.Sub(this=high.copy(), expression=x.copy()),
                           expression=dbl(0.5)), one.copy())], zero.copy())
    half = _case([(exp.GTE(this=x.copy(), expression=dbl(0)),
                   exp.Add(this=low, expression=up))],
                 exp.Sub(this=high, expression=down))
    return exp.cast(_case([(fits, half)]), "BIGINT")


#: 0.5 ** e is 0 in IEEE doubles from e = 1075 on (2^-1075 rounds to even, to 0)
_NO_HALF_LEFT = 1075.0


def decay_factor(elapsed: exp.Expression, half_life_us: int) -> exp.Expression:
    """A decay's factor, ``0.5 ^ (elapsed / half-life)``, as a double
    (:func:`policy.engine.runtime.decay_factor`); 0 outright once the exponent reaches
    1075, where the power is 0 in the python engine, DuckDB and Spark but Postgres stops
    the whole statement with "value out of range: underflow" (a lead idle for 1,075
    half-lives: 45 days at one hour)."""
    power = exp.Div(this=elapsed, expression=dbl(half_life_us))
    return _case([(exp.GTE(this=power, expression=dbl(_NO_HALF_LEFT)), dbl(0))],
                 exp.Pow(this=dbl(0.5), expression=power.copy()))
