"""Render: a traced decision as the text a sales manager reads (``funnel explain``).

Runs after the interpreter has decided a lead with ``trace=True``
(:meth:`policy.api.Policy.trace`): everything shown here comes from the
decision and its :class:`~policy.engine.decision.TraceEvent` values, plus the titles of
scores and stages from the model. The output is plain, deterministic text
(colour only when asked), lines of at most :data:`WIDTH` columns: the header, the
placement and why, each score rule by rule, each gate line until the first gate
that fails, each handoff (routes tried, SLA arithmetic, escalation, rejection),
the recycle rules tried, and what the lead still needs for the next stage.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Iterator, Sequence
from typing import Any

from policy.engine.decision import Decision, TraceEvent
from policy.model.namespace import PolicyModel
from policy.render.escape import terminal

__all__ = ["WIDTH", "render"]

#: The widest line ``render`` writes.
WIDTH = 100
#: Where the values of a rule line start, when the rule is short enough.
_VALUES_COLUMN = 52
_MAX_VALUE = 44

_GOOD, _BAD = "✓", "✗"
_GREEN, _RED, _BOLD, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[1m", "\x1b[0m"

_SCORE_KINDS = frozenset({"score", "decay", "total"})
_GATE_KINDS = frozenset({"gate", "exclude", "keep", "stage", "entered"})
_HANDOFF_KINDS = frozenset({"route", "sla", "escalate", "reject"})


def render(decision: Decision, model: PolicyModel | None = None, *, color: bool = False,
           local_tz: str | None = None) -> str:
    """The derivation of ``decision`` (which must carry a trace) as plain text.

    ``local_tz``: the zone the lead's timestamps without an offset were read in, said
    under the header (every timestamp the rules read is shown as the instant read)."""
    if decision.trace is None:
        raise ValueError("render needs a decision with a trace (Policy.trace)")
    out = _Out(color)
    events = list(decision.trace)
    _header(out, decision)
    if local_tz is not None:
        out.line(f"timestamps without an offset read as {terminal(local_tz)} local time")
    _placement(out, decision, events)
    _scores(out, decision, events, model)
    _gates(out, events, model)
    _handoffs(out, decision, events)
    _recycles(out, events)
    _next(out, decision)
    _violations(out, decision)
    return out.text()


# --------------------------------------------------------------------------- output


class _Out:
    def __init__(self, color: bool):
        self.color = color
        self.lines: list[str] = []

    def text(self) -> str:
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def title(self, text: str) -> None:
        self.blank()
        self.lines.append(self._paint(terminal(text), _BOLD))

    def line(self, text: str, indent: int = 0) -> None:
        """A paragraph, wrapped at WIDTH with its continuation indented two more."""
        self.lines.extend(_wrap(terminal(text), " " * indent, " " * (indent + 2)))

    def mark(self, ok: bool | None) -> str:
        if ok is None:
            return "·"
        return self._paint(_GOOD, _GREEN) if ok else self._paint(_BAD, _RED)

    def rule(self, indent: int, mark: str | None, rule: str, values: str, result: str) -> None:
        """One rule: its text, the values it read and its outcome, aligned when they fit."""
        pad = " " * indent
        # lead values and policy text may hold escape sequences: never print them raw
        rule, values, result = terminal(rule), terminal(values), terminal(result)
        head = f"{pad}{mark} {rule}" if mark is not None else f"{pad}{rule}"
        tail = "   ".join(x for x in (values, result) if x)
        visible = len(_strip(head))
        if tail and visible < _VALUES_COLUMN - 2:
            line = head + " " * (_VALUES_COLUMN - visible) + tail
            if len(_strip(line)) <= WIDTH:
                self.lines.append(line)
                return
        if tail and visible + 3 + len(tail) <= WIDTH:
            self.lines.append(f"{head}   {tail}")
            return
        self.lines.extend(_wrap(head, "", pad + "    "))
        if tail:
            self.lines.extend(_wrap(tail, pad + "      ", pad + "      "))

    def _paint(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text


def _strip(text: str) -> str:
    for code in (_GREEN, _RED, _BOLD, _RESET):
        text = text.replace(code, "")
    return text


def _wrap(text: str, first: str, rest: str) -> list[str]:
    if len(_strip(first + text)) <= WIDTH:
        return [first + text]
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False) or [first]


# --------------------------------------------------------------------------- values


def value_text(v: Any, depth: int = 0) -> str:
    """A value as ``explain`` shows it: JSON, ``missing`` for a missing value, short.

    A list nested past what the shown width can hold is ``[…]``, and an object too deep
    for JSON text ``{…}``: a lead handed to the library may nest without limit, or hold
    itself, which ended ``explain`` in a RecursionError."""
    if v is None:
        return "missing"
    if isinstance(v, float):
        text = _number(v)
    elif isinstance(v, (list, tuple)):
        return _short_list(v, depth + 1) if depth < _MAX_VALUE else "[…]"
    else:
        try:
            text = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
        except (TypeError, ValueError):
            try:
                text = str(v)
            except RecursionError:
                text = "{…}"
        except RecursionError:
            text = "{…}"
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _short_list(items: Sequence[Any], depth: int = 1) -> str:
    """A list cut after whole items: ``["gmail.com", "yahoo.com", … 2 more]``."""
    shown: list[str] = []
    size = 2
    for i, item in enumerate(items):
        rest = len(items) - i - 1
        if shown and size + 1 + (12 if rest else 0) > _MAX_VALUE:  # cut, whatever it holds
            return "[" + ", ".join(shown) + f", … {len(items) - i} more]"
        text = value_text(item, depth) if item is not None else "null"
        if size + len(text) + (12 if rest else 0) > _MAX_VALUE and shown:
            return "[" + ", ".join(shown) + f", … {len(items) - i} more]"
        shown.append(text)
        size += len(text) + 2
    return "[" + ", ".join(shown) + "]"


def _number(v: float) -> str:
    if isinstance(v, int) or not math.isfinite(v):
        return str(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}" if abs(v) < 1e-3 else f"{v:.4f}".rstrip("0").rstrip(".")


def _signed(points: float) -> str:
    text = _number(points)
    return text if text.startswith("-") or text == "0" else "+" + text


def _values(values: Sequence[tuple[str, Any]]) -> str:
    return ", ".join(f"{k} = {value_text(v)}" for k, v in values)


def _groups(events: list[TraceEvent], kinds: frozenset[str]) -> Iterator[list[TraceEvent]]:
    """Runs of consecutive events of ``kinds`` that share an owner, in trace order."""
    group: list[TraceEvent] = []
    for ev in events:
        if ev.kind not in kinds:
            continue
        if group and ev.owner != group[-1].owner:
            yield group
            group = []
        group.append(ev)
    if group:
        yield group


# --------------------------------------------------------------------------- sections


def _header(out: _Out, d: Decision) -> None:
    from policy.engine.timestamps import format_timestamp

    lead = ("(no id)" if d.lead is None else d.lead if isinstance(d.lead, str)
            else value_text(d.lead))
    name = d.policy.name or "(unnamed)"
    version = f" {d.policy.version}" if d.policy.version else ""
    out.line(f"Lead {lead} · policy {name}{version} · as of {format_timestamp(d.as_of_us)}")


def _placement(out: _Out, d: Decision, events: list[TraceEvent]) -> None:
    out.title(f"Placed: {d.stage or 'no stage'}")
    stages = [e for e in events if e.kind == "stage"]
    passed = [e.owner for e in stages if e.result]
    failed = next((e for e in stages if not e.result), None)
    if d.reached is None:
        why = f"the first gate, {failed.owner}, fails" if failed else "the funnel has no stages"
        out.line(f"reached no stage: {why}", 2)
    else:
        span = passed[0] if len(passed) == 1 else f"{passed[0]} to {passed[-1]}"
        tail = f"; the gate of {failed.owner} fails" if failed else "; it is the last stage"
        out.line(f"reached {d.reached}: every gate from {span} passes{tail}", 2)
    placement = next((e for e in events if e.kind == "placement"), None)
    if placement is None or d.stage == d.reached and d.reason is None:
        return  # placed where it reached: the line above says it all
    reason = "" if d.reason is None else f", reason {value_text(d.reason)}"
    out.line(f"{placement.rule}{reason} ({placement.at})", 2)


def _scores(out: _Out, d: Decision, events: list[TraceEvent], model: PolicyModel | None) -> None:
    if not d.scores:
        return
    out.title("Scores")
    groups = {g[0].owner: g for g in _groups(events, _SCORE_KINDS)}
    for name, value in d.scores.items():
        score = model.scores.get(name) if model is not None else None
        title = f"  ({score.description})" if score is not None and score.description else ""
        out.line(f"{name} = {value}{title}", 2)
        for ev in groups.get(name, ()):
            if ev.kind == "score":
                gained = ev.points or 0
                out.rule(4, None, ev.rule, _values(ev.values), f"→ {_signed(gained)}")
            elif ev.kind == "decay":
                factor = ev.result if isinstance(ev.result, (int, float)) else 1
                note = "no decay" if factor == 1 else f"× {_number(factor)}"
                out.rule(4, None, ev.rule, _values(ev.values), f"→ {note}")
            elif ev.kind == "total":
                steps = dict(ev.values)
                parts = [f"sum {_number(steps.get('sum', 0))}"]
                if "decayed" in steps:
                    parts.append(f"decayed {_number(steps['decayed'])}")
                parts.append(f"rounded {steps.get('rounded')}")
                if "range" in steps:
                    low, high = steps["range"]
                    parts.append(f"range {_number(low)} to {_number(high)} gives {ev.result}")
                out.line(" → ".join(parts), 4)


def _gates(out: _Out, events: list[TraceEvent], model: PolicyModel | None) -> None:
    groups = list(_groups(events, _GATE_KINDS))
    if not groups:
        return
    out.title("Gates")
    for group in groups:
        verdict = next((e for e in group if e.kind == "stage"), None)
        name = group[0].owner
        stage = model.stages.get(name) if model is not None and name else None
        title = f" ({stage.description})" if stage is not None and stage.description else ""
        if verdict is not None:
            why = dict(verdict.values).get("because", "")
            word = "passes" if verdict.result else "fails"
            out.line(f"{out.mark(bool(verdict.result))} {name}{title} {word}: {why}", 2)
        for ev in group:
            if ev.kind == "stage":
                continue
            if ev.kind == "entered":  # v1.1: record-keeping, no decision reads it
                when = f"→ entered {ev.result}" if ev.result else "→ no entry time recorded"
                out.rule(4, None, ev.rule, _values(ev.values), when)
                continue
            holds = ev.result is True
            good = not holds if ev.kind == "exclude" else holds
            result = {"gate": "holds" if holds else "fails",
                      "exclude": "excludes" if holds else "does not hold",
                      "keep": "keeps" if holds else "does not hold"}[ev.kind]
            out.rule(4, out.mark(good), ev.rule, _values(ev.values), f"→ {result}")


def _handoffs(out: _Out, d: Decision, events: list[TraceEvent]) -> None:
    groups = list(_groups(events, _HANDOFF_KINDS))
    results = {h.stage: h for h in d.handoffs}
    if not groups:
        return
    for group in groups:
        h = results.get(group[0].owner)
        team = f" to {h.team}" if h is not None else ""
        out.title(f"Handoff {group[0].owner}{team}")
        for ev in group:
            if ev.kind == "route":
                if ev.result is None:
                    out.line("no route holds: the lead has no route", 2)
                    continue
                chosen = "→ chosen" if ev.result else "→ does not hold"
                out.rule(2, out.mark(bool(ev.result)), ev.rule, _values(ev.values), chosen)
            elif ev.kind == "sla":
                out.rule(2, None, ev.rule, _values(ev.values), "")
                sla = ev.result if isinstance(ev.result, dict) else {}
                due = sla.get("due") or ("never (past the year 9999)"
                                         if sla.get("start") else "unknown")
                out.line(f"start {sla.get('start') or 'missing'} · due {due} · "
                         f"stop {sla.get('stop') or 'none yet'} → {sla.get('status')}", 4)
            elif ev.kind == "escalate":
                out.rule(2, None, ev.rule, _values(ev.values),
                         f"→ escalated to {value_text(ev.result)}" if ev.result
                         else "→ not escalated")
            elif ev.kind == "reject":
                outcome = ev.result if isinstance(ev.result, dict) else {}
                if not outcome.get("rejected"):
                    result = "→ not rejected"
                elif outcome.get("agreed_reason"):
                    result = "→ rejected, an agreed reason"
                else:
                    result = "→ rejected, NOT an agreed reason"
                out.rule(2, None, ev.rule, _values(ev.values), result)


def _recycles(out: _Out, events: list[TraceEvent]) -> None:
    tried = [e for e in events if e.kind == "recycle"]
    if not tried:
        return
    out.title("Recycling")
    for ev in tried:
        # a recycle rule is neither good nor bad for the lead: it applies or it does not
        out.rule(2, "↻" if ev.result else "·", ev.rule, _values(ev.values),
                 "→ applies" if ev.result else "→ does not hold")


def _next(out: _Out, d: Decision) -> None:
    if d.next is None:
        out.title("Next step: none, the lead is at the last stage")
        return
    out.title(f"Next step: {d.next.stage}")
    if not d.next.unmet:
        out.line("nothing is missing", 2)
    for item in d.next.unmet:
        out.line(f"needs: {item}", 2)


def _violations(out: _Out, d: Decision) -> None:
    if not d.violations:
        return
    out.title("Violations")
    for v in d.violations:
        out.line(f"{v.code}: {v.message}", 2)
