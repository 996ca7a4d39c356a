"""Impact: what a policy change does to real leads.

``funnel diff --leads FILE`` evaluates BASE and HEAD (two loaded
:class:`policy.api.Policy` objects) on the same lead records at the same
``as_of`` and compares the two decisions of each lead: where it is placed (a
stage, a state, ``none``, or ``(refused)`` when a version refuses the lead), the
route, SLA status and escalation of every handoff (spec section 9: not only the deepest,
since a lead's SDR SLA can flip while it sits deeper in the funnel), and every score.

It streams: each record is decided by both versions as it is read, so memory holds a
few records whatever the file's size. JSON Lines are read as ``funnel eval`` reads
them (blocks of bytes; in a long file, each line decided from its bytes by both
policies' typed line deciders, a ``dict`` built only for a line either leaves to the
ordinary path), in ``--jobs`` worker processes. The per-lead work here is a handful of
comparisons; the engines do the rest.

Runs after :mod:`policy.model.loader` / :mod:`policy.api` have loaded both versions;
:class:`policy.review.diff_report.DiffReport` shows the result next to the semantic diff.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from policy.engine.decision import Decision
from policy.engine.tabular import cell_text
from policy.engine.timestamps import format_timestamp, from_datetime
from policy.render.markdown import md_code, md_escape
from policy.review.impact_decide import decided_lines, decided_pairs, instant

if TYPE_CHECKING:  # pragma: no cover
    from policy.api import Policy
    from policy.io.leads import Record
    from policy.model.namespace import PolicyModel

__all__ = ["NONE", "NOT_APPLIED", "REFUSED", "Transition", "ScoreShift", "Impact", "measure",
           "measure_units"]

#: Placement of a lead that reached no stage (the language's own word, ``expect stage none``).
NONE = "none"
#: Placement of a lead a version refuses (not valid for its schema, unreadable): in
#: parentheses, because no stage or state can be named that way.
REFUSED = "(refused)"
#: What a handoff shows for a lead it does not apply to (the lead has not reached its stage).
NOT_APPLIED = "(not applied)"


@attrs.frozen
class Transition:
    """``count`` leads went from ``old`` to ``new``; up to N of their ids in ``samples``.

    ``handoff`` names the handoff (by its stage) for route, SLA and escalation changes;
    None for placements.
    """

    old: str
    new: str
    count: int
    samples: tuple[str, ...] = ()
    handoff: str | None = None

    def to_dict(self) -> dict:
        head = {} if self.handoff is None else {"handoff": self.handoff}
        return {**head, "from": self.old, "to": self.new, "count": self.count,
                "samples": list(self.samples)}


@attrs.frozen
class ScoreShift:
    """How one score moved over the leads both versions decided.

    ``changed``: leads whose score differs; ``mean``: the mean of HEAD − BASE over
    those leads (0.0 when none); ``up``/``down``: the largest rise and fall with the
    lead that shows it (None when no lead rose, or fell).
    """

    score: str
    changed: int
    mean: float
    up: int | None
    up_lead: str | None
    down: int | None
    down_lead: str | None
    samples: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "changed": self.changed,
            "mean_shift": round(self.mean, 4),
            "largest_up": None if self.up is None else {"shift": self.up, "lead": self.up_lead},
            "largest_down": (None if self.down is None
                             else {"shift": self.down, "lead": self.down_lead}),
            "samples": list(self.samples),
        }


@attrs.frozen
class Impact:
    """The effect of a change on a set of leads at one instant (µs since the epoch).

    ``placements`` holds every (from, to) pair seen, unchanged ones included (the
    matrix's diagonal, without samples); ``routes``, ``sla`` and ``escalations`` only pairs
    that differ, per handoff (``Transition.handoff``), for every handoff of either version.
    ``changed`` counts the leads whose decision differs in placement or in any handoff's
    route, SLA status or escalation. ``order`` lists the placements in reading order (funnel
    stages, then states, then ``none`` and ``(refused)``). ``unreadable`` records count as
    refused on both sides.
    """

    as_of: int
    leads: int
    moved: int
    placements: tuple[Transition, ...]
    routes: tuple[Transition, ...]
    sla: tuple[Transition, ...]
    scores: tuple[ScoreShift, ...]
    order: tuple[str, ...]
    unreadable: int = 0
    scores_added: tuple[str, ...] = ()
    scores_removed: tuple[str, ...] = ()
    escalations: tuple[Transition, ...] = ()
    changed: int = 0

    @property
    def moves(self) -> tuple[Transition, ...]:
        """The placement pairs where leads moved."""
        return tuple(t for t in self.placements if t.old != t.new)

    def moved_sentence(self) -> str:
        """``37 of 1,000 leads move (3.7%)``, and how many more change at a handoff."""
        share = f" ({self.moved / self.leads:.1%})" if self.leads else ""
        verb = "moves" if self.moved == 1 else "move"
        noun = "lead" if self.leads == 1 else "leads"
        text = f"{self.moved:,} of {self.leads:,} {noun} {verb}{share}"
        others = self.changed - self.moved
        if others > 0:
            text += (f"; {others:,} more {'changes' if others == 1 else 'change'} route, "
                     "SLA status or escalation")
        return text

    def to_dict(self) -> dict:
        return {
            "as_of": format_timestamp(self.as_of),
            "leads": self.leads,
            "moved": self.moved,
            "changed": self.changed,
            "unreadable": self.unreadable,
            "placements": [t.to_dict() for t in self.placements],
            "routes": [t.to_dict() for t in self.routes],
            "sla": [t.to_dict() for t in self.sla],
            "escalations": [t.to_dict() for t in self.escalations],
            "scores": [s.to_dict() for s in self.scores],
            "scores_added": list(self.scores_added),
            "scores_removed": list(self.scores_removed),
        }

    # ------------------------------------------------------------------ rendering
    def _labels(self) -> list[str]:
        seen = {t.old for t in self.placements} | {t.new for t in self.placements}
        return [x for x in self.order if x in seen]

    def _matrix(self) -> dict[tuple[str, str], int]:
        return {(t.old, t.new): t.count for t in self.placements}

    def text_lines(self) -> list[str]:
        """The impact for a terminal: a matrix and tables in fixed-width columns."""
        out = [f"impact at {format_timestamp(self.as_of)}: {self.moved_sentence()}"]
        if self.unreadable:
            out.append(f"  ({self.unreadable:,} unreadable records counted as refused)")
        labels, cells = self._labels(), self._matrix()
        if labels:
            out += ["", "placements (rows: base, columns: head):"]
            rows = [["", *labels]]
            for a in labels:
                rows.append([a, *(f"{cells.get((a, b), 0):,}" if cells.get((a, b)) else "."
                                  for b in labels)])
            out += _columns(rows)
        handoff_rows = list(self._handoff_rows())
        if handoff_rows:
            out += ["", "handoff changes:"]
            out += _columns([["handoff", "what", "from", "to", "leads"],
                             *([h, what, t.old, t.new, f"{t.count:,}"]
                               for h, what, t in handoff_rows)], left=4)
        shifted = [s for s in self.scores if s.changed]
        if shifted:
            out += ["", "score shifts:"]
            out += _columns([["score", "changed", "mean shift", "largest up", "largest down"],
                             *([s.score, f"{s.changed:,}", f"{s.mean:+.2f}",
                                _extreme(s.up, s.up_lead), _extreme(s.down, s.down_lead)]
                               for s in shifted)])
        for note, names in (("scores only in head", self.scores_added),
                            ("scores only in base", self.scores_removed)):
            if names:
                out.append(f"{note}: {', '.join(names)}")
        samples = list(self._sample_lines("->"))
        if samples:
            out += ["", "sample leads:"]
            out += [f"  {what}: {', '.join(ids)}" for what, ids in samples]
        return out

    def _handoff_rows(self) -> Iterator[tuple[str, str, Transition]]:
        """(handoff, kind of change, transition) in handoff order, then route/SLA/escalation."""
        rank = {x: i for i, x in enumerate(self.order)}
        rows = [(t.handoff or "", i, what, t)
                for i, (what, ts) in enumerate((("route", self.routes), ("SLA", self.sla),
                                                ("escalation", self.escalations)))
                for t in ts]
        rows.sort(key=lambda r: (rank.get(r[0], len(rank)), r[0], r[1]))
        for h, _, what, t in rows:
            yield h, what, t

    def _sample_lines(self, arrow: str = "→") -> Iterator[tuple[str, tuple[str, ...]]]:
        for t in self.moves:
            if t.samples:
                yield f"placement {t.old} {arrow} {t.new}", t.samples
        for h, what, t in self._handoff_rows():
            if t.samples:
                yield f"handoff {h}: {what} {t.old} {arrow} {t.new}", t.samples
        for s in self.scores:
            if s.samples:
                yield f"score {s.score}", s.samples

    def markdown_lines(self) -> list[str]:
        """The impact as Markdown: a from→to table, change tables, collapsed samples."""
        out = [f"#### Impact on {self.leads:,} leads at {md_code(format_timestamp(self.as_of))}",
               "", f"**{self.moved_sentence()}.**"]
        if self.unreadable:
            out += ["", f"{self.unreadable:,} unreadable records are counted as refused "
                        "by both versions."]
        labels, cells = self._labels(), self._matrix()
        if labels:
            out += ["", "Placements: rows are the base version, columns the head version; "
                        "off the diagonal, leads that move.", "",
                    "| base ↓ / head → | " + " | ".join(_cell(x) for x in labels) + " |",
                    "|---|" + "---:|" * len(labels)]
            for a in labels:
                row = []
                for b in labels:
                    k = cells.get((a, b), 0)
                    row.append("" if not k else f"**{k:,}**" if a != b else f"{k:,}")
                out.append(f"| {_cell(a)} | " + " | ".join(row) + " |")
        handoff_rows = list(self._handoff_rows())
        if handoff_rows:
            out += ["", "Handoff changes (route, SLA status and escalation, every handoff):", "",
                    "| handoff | change | from | to | leads |", "|---|---|---|---|---:|"]
            out += [f"| {_cell(h)} | {what} | {_cell(t.old)} | {_cell(t.new)} | {t.count:,} |"
                    for h, what, t in handoff_rows]
        shifted = [s for s in self.scores if s.changed]
        if shifted:
            out += ["", "Score shifts:", "",
                    "| score | leads changed | mean shift | largest up | largest down |",
                    "|---|---:|---:|---|---|"]
            for s in shifted:
                out.append(f"| {_cell(s.score)} | {s.changed:,} | {s.mean:+.2f} | "
                           f"{md_escape(_extreme(s.up, s.up_lead))} | "
                           f"{md_escape(_extreme(s.down, s.down_lead))} |")
        for note, names in (("Scores only in head", self.scores_added),
                            ("Scores only in base", self.scores_removed)):
            if names:
                out += ["", f"{note}: " + ", ".join(md_code(x) for x in names) + "."]
        samples = list(self._sample_lines())
        if samples:
            out += ["", "<details><summary>Sample leads (up to "
                        f"{max(len(ids) for _, ids in samples)} per change)</summary>", ""]
            out += [f"- {md_escape(what)}: " + ", ".join(md_code(x) for x in ids)
                    for what, ids in samples]
            out += ["", "</details>"]
        return out


def _cell(text: str) -> str:
    return md_code(text, in_table=True)


def _extreme(shift: int | None, lead: str | None) -> str:
    return "—" if shift is None else f"{shift:+,} ({lead})"


def _columns(rows: list[list[str]], left: int = 1) -> list[str]:
    """Fixed-width columns: the first ``left`` columns flush left, numbers flush right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.ljust(w) if i < left else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append(("  " + "  ".join(cells)).rstrip())
    return out


# --------------------------------------------------------------------------- measuring


def _order(base: PolicyModel, head: PolicyModel) -> tuple[str, ...]:
    out: list[str] = []
    for names in (head.funnel, base.funnel, head.states, base.states):
        out.extend(x for x in names if x not in out)
    return (*out, NONE, REFUSED)


class _Tally:
    """Counts and samples for one kind of change, keyed by (from, to)."""

    __slots__ = ("counts", "samples", "limit")

    def __init__(self, limit: int) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self.samples: dict[tuple[str, str], list[str]] = {}
        self.limit = limit

    def add(self, key: tuple[str, str], lead_id) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        if key[0] != key[1]:
            got = self.samples.setdefault(key, [])
            if len(got) < self.limit:
                got.append(lead_id())

    def merge(self, later: _Tally) -> None:
        """Add the counts and samples of records that come after all of these."""
        counts = self.counts
        for key, n in later.counts.items():
            counts[key] = counts.get(key, 0) + n
        for key, ids in later.samples.items():
            got = self.samples.setdefault(key, [])
            got.extend(ids[:self.limit - len(got)])

    def transitions(self, order: tuple[str, ...], *, changed_only: bool,
                    handoff: str | None = None) -> tuple[Transition, ...]:
        rank = {x: i for i, x in enumerate(order)}
        keys = sorted(self.counts, key=lambda k: (rank.get(k[0], len(rank)), k[0],
                                                  rank.get(k[1], len(rank)), k[1]))
        return tuple(Transition(a, b, self.counts[(a, b)], tuple(self.samples.get((a, b), ())),
                                handoff)
                     for a, b in keys if not (changed_only and a == b))


class _Shifts:
    __slots__ = ("changed", "total", "up", "up_lead", "down", "down_lead", "samples")

    def __init__(self) -> None:
        self.changed = self.total = 0
        self.up: int | None = None
        self.down: int | None = None
        self.up_lead = self.down_lead = None
        self.samples: list[str] = []

    def merge(self, later: _Shifts, limit: int) -> None:
        """Add the shifts of leads that come after all of these (as :func:`_shift` would
        have: a later lead takes the largest rise or fall only by exceeding it)."""
        self.changed += later.changed
        self.total += later.total
        if later.up is not None and (self.up is None or later.up > self.up):
            self.up, self.up_lead = later.up, later.up_lead
        if later.down is not None and (self.down is None or later.down < self.down):
            self.down, self.down_lead = later.down, later.down_lead
        self.samples.extend(later.samples[:limit - len(self.samples)])


def _handoff_views(d: Decision) -> dict[str, tuple[str, str, str]]:
    """Stage of each handoff that applies -> (route, SLA status, escalation target)."""
    return {
        h.stage: (NONE if h.route is None else h.route,
                  NONE if h.sla is None else h.sla.status,
                  NONE if h.escalate_to is None else h.escalate_to)
        for h in d.handoffs
    }


_ABSENT = (NOT_APPLIED, NOT_APPLIED, NOT_APPLIED)


def measure(
    base: Policy,
    head: Policy,
    records: Iterable[Record],
    *,
    as_of: int | datetime,
    samples: int = 5,
) -> Impact:
    """Evaluate both versions on the same records at the same instant and compare.

    ``records`` come from :func:`policy.io.leads.read_records`; a record that could not be
    read is refused by both versions. ``as_of`` is µs since the epoch or an aware
    datetime. ``samples`` bounds the lead ids kept per kind of change. A lead is named
    by its ``id`` field, else ``line N``.
    """
    tally = _Measured(samples)
    tally.add(base, head, records, as_of)
    return tally.impact(base, head, as_of)


def measure_units(base: Policy, head: Policy, units: Iterable[Any], *, as_of: int | datetime,
                  samples: int = 5, jobs: int = 1) -> Impact:
    """:func:`measure` of the records of ``units`` (:func:`policy.io.batch.batches`: blocks
    of JSON Lines, batches of JSON or CSV records), in ``jobs`` forked worker processes
    when there is more than one unit and the platform allows (Linux). Each worker
    measures whole units; their tallies are merged in input order, so the report is the
    one :func:`measure` gives, byte for byte (scores are integers: their sums are exact)."""
    from policy.io import workers

    units = iter(units)
    first = next(units, None)
    second = next(units, None) if first is not None and jobs > 1 else None
    ahead = [u for u in (first, second) if u is not None]
    tally = _Measured(samples)
    import gc

    # Both policies live as long as the run: the collector need not walk them again
    # (and in forked workers its passes would copy every page they share; see
    # policy.io.batch.run).
    gc.freeze()
    try:
        if second is None or not workers.available():
            for unit in itertools.chain(ahead, units):
                tally.add_unit(base, head, unit, as_of)
            return tally.impact(base, head, as_of)

        def work(unit: Any) -> tuple[Any, int, int, Any]:
            part = _Measured(samples)
            part.add_unit(base, head, unit, as_of)
            return part, 0, 0, None  # the tally travels pickled

        with workers.ForkedWorkers(jobs, work) as pool:
            for _size, part, _count, _refused, _extra in pool.ordered(
                    itertools.chain(ahead, units)):
                tally.merge(part)
    finally:
        gc.unfreeze()
    return tally.impact(base, head, as_of)


class _Measured:
    """The running tallies of :func:`measure`: records are added in input order, and
    the tallies of a later stretch of records can be merged into those of an earlier one
    (``--jobs``: each worker measures whole units)."""

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self.unreadable = self.total = self.moved = self.changed = 0
        self.place = _Tally(samples)
        # per kind (0 route, 1 SLA status, 2 escalation) and handoff stage
        self.per_handoff: dict[tuple[int, str], _Tally] = {}
        self.shifts: dict[str, _Shifts] = {}

    def add(self, base: Policy, head: Policy, records: Iterable[Record],
            as_of: int | datetime) -> None:
        """Measure ``records`` (:func:`policy.io.leads.read_records`)."""
        self._add(base, head, decided_pairs(base, head, records, instant(as_of), self))

    def add_unit(self, base: Policy, head: Policy, unit: Any, as_of: int | datetime) -> None:
        """Measure a unit of :func:`policy.io.batch.batches`: a JSON Lines block read as
        ``funnel eval`` reads one, one lead at a time (a block's thousand leads read at
        once, then decided twice, fell out of the processor's caches: bench/README.md,
        fifth session), or a batch of records."""
        at = instant(as_of)
        if hasattr(unit, "iter_leads"):
            self._add(base, head, decided_lines(base, head, unit, at, self))
        else:
            self._add(base, head, decided_pairs(base, head, unit.records(), at, self))

    def _add(self, base: Policy, head: Policy, decided: Iterable[tuple[int, Any, Any]]
             ) -> None:
        limit = self.samples

        place, per_handoff = self.place, self.per_handoff
        common = tuple(s for s in base.model.scores if s in head.model.scores)
        shifts = self.shifts
        for name in common:
            shifts.setdefault(name, _Shifts())
        total = moved = changed = 0
        for line, a, b in decided:
            total += 1

            def lead_id(line=line, a=a, b=b) -> str:
                for d in (a, b):
                    lead = getattr(d, "lead", None)
                    if lead is not None:  # as CSV and the table view write it
                        return cell_text("json", lead)
                return f"line {line}"

            a_ok, b_ok = type(a) is Decision, type(b) is Decision
            pa = (a.stage or NONE) if a_ok else REFUSED
            pb = (b.stage or NONE) if b_ok else REFUSED
            if pa != pb:
                moved += 1
            place.add((pa, pb), lead_id)
            if not (a_ok and b_ok):
                changed += pa != pb
                continue
            differs = pa != pb
            if a.handoffs or b.handoffs:
                va, vb = _handoff_views(a), _handoff_views(b)
                for stage in va.keys() | vb.keys():
                    old, new = va.get(stage, _ABSENT), vb.get(stage, _ABSENT)
                    # a handoff that applies on one side only is one change (shown as a
                    # route change to or from "(not applied)"), not three
                    kinds = range(3) if stage in va and stage in vb else (0,)
                    for kind in kinds:
                        if old[kind] != new[kind]:
                            differs = True
                            tally = per_handoff.get((kind, stage))
                            if tally is None:
                                tally = per_handoff[(kind, stage)] = _Tally(limit)
                            tally.add((old[kind], new[kind]), lead_id)
            changed += differs
            sca, scb = a.scores, b.scores
            if sca != scb:
                for name in common:
                    x, y = sca.get(name), scb.get(name)
                    if x == y or x is None or y is None:
                        continue
                    _shift(shifts[name], y - x, lead_id, limit)
        self.total += total
        self.moved += moved
        self.changed += changed

    def merge(self, later: _Measured) -> None:
        """Add the tallies of records that come after all of these."""
        self.unreadable += later.unreadable
        self.total += later.total
        self.moved += later.moved
        self.changed += later.changed
        self.place.merge(later.place)
        for key, tally in later.per_handoff.items():
            mine = self.per_handoff.get(key)
            if mine is None:
                self.per_handoff[key] = tally
            else:
                mine.merge(tally)
        for name, acc in later.shifts.items():
            mine_shift = self.shifts.get(name)
            if mine_shift is None:
                self.shifts[name] = acc
            else:
                mine_shift.merge(acc, self.samples)

    def impact(self, base: Policy, head: Policy, as_of: int | datetime) -> Impact:
        as_of_us = as_of if isinstance(as_of, int) else from_datetime(as_of)
        place, unreadable = self.place, self.unreadable
        if unreadable:
            place.counts[(REFUSED, REFUSED)] = place.counts.get((REFUSED, REFUSED), 0) \
                + unreadable
        order = _order(base.model, head.model)
        rank = {x: i for i, x in enumerate(order)}
        per_handoff = self.per_handoff
        common = tuple(s for s in base.model.scores if s in head.model.scores)

        def handoff_changes(kind: int) -> tuple[Transition, ...]:
            stages = sorted((st for k, st in per_handoff if k == kind),
                            key=lambda st: (rank.get(st, len(rank)), st))
            return tuple(t for st in stages for t in per_handoff[(kind, st)].transitions(
                order, changed_only=True, handoff=st))

        return Impact(
            as_of=as_of_us,
            leads=self.total + unreadable,
            moved=self.moved,
            placements=place.transitions(order, changed_only=False),
            routes=handoff_changes(0),
            sla=handoff_changes(1),
            scores=tuple(_score_shift(name, self.shifts.get(name) or _Shifts())
                         for name in common),
            order=order,
            unreadable=unreadable,
            scores_added=tuple(s for s in head.model.scores if s not in base.model.scores),
            scores_removed=tuple(s for s in base.model.scores if s not in head.model.scores),
            escalations=handoff_changes(2),
            changed=self.changed,
        )


def _shift(acc: _Shifts, delta: Any, lead_id, limit: int) -> None:
    acc.changed += 1
    acc.total += delta
    if delta > 0 and (acc.up is None or delta > acc.up):
        acc.up, acc.up_lead = delta, lead_id()
    elif delta < 0 and (acc.down is None or delta < acc.down):
        acc.down, acc.down_lead = delta, lead_id()
    if len(acc.samples) < limit:
        acc.samples.append(lead_id())


def _score_shift(name: str, acc: _Shifts) -> ScoreShift:
    mean = acc.total / acc.changed if acc.changed else 0.0
    return ScoreShift(name, acc.changed, mean, acc.up, acc.up_lead, acc.down, acc.down_lead,
                      tuple(acc.samples))
