"""The report of ``funnel diff``: both sides, the semantic diff
(:mod:`policy.review.semdiff`) and the impact on leads (:mod:`policy.review.impact`),
as text, Markdown (the pull-request comment) and JSON.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import attrs

from policy.model.namespace import PolicyModel
from policy.render.markdown import md_code, md_escape
from policy.syntax.formatter import policy_digest

if TYPE_CHECKING:  # pragma: no cover
    from policy.review.impact import Impact
    from policy.review.revisions import PolicySource
from policy.review.semdiff import Change, SemanticDiff

# --------------------------------------------------------------------------- report


@attrs.frozen
class DiffReport:
    """Everything ``funnel diff`` shows: both sides, the semantic diff, the impact (or None)."""

    base: PolicySource
    head: PolicySource
    base_model: PolicyModel
    head_model: PolicyModel
    diff: SemanticDiff
    impact: Impact | None = None

    # ------------------------------------------------------------------ JSON
    def _side(self, source: PolicySource, model: PolicyModel) -> dict:
        return {
            **source.to_dict(),
            "policy": {
                "name": model.header.name.name if model.header else None,
                "version": model.version,
                "digest": policy_digest(model),
            },
        }

    def to_dict(self) -> dict:
        """The report as JSON-ready data; key order is part of the format."""
        return {
            "base": self._side(self.base, self.base_model),
            "head": self._side(self.head, self.head_model),
            "changed": self.diff.changed,
            "changes": [c.to_dict() for c in self.diff.changes],
            "approvals": [a.to_dict() for a in self.diff.approvals],
            "examples": [c.to_dict() for c in self.diff.examples],
            "records": [c.to_dict() for c in self.diff.records],
            "impact": None if self.impact is None else self.impact.to_dict(),
            "notes": [x for x in (self.version_note(),) if x],
        }

    def version_note(self) -> str | None:
        """A nudge when the meaning (the digest) changed but ``version`` did not: every
        decision carries the version, so two rule sets under one label cannot be told
        apart in a CRM or a warehouse."""
        if policy_digest(self.base_model) == policy_digest(self.head_model):
            return None
        if self.base_model.version != self.head_model.version:
            return None
        shown = "is still " + json.dumps(self.head_model.version, ensure_ascii=False) \
            if self.head_model.version is not None else "is not declared"
        return (f"{self._digest_changed()} but its `version` "
                f"{shown}: bump `version` so every decision says which rules made it")

    def _digest_changed(self) -> str:
        """What changed the digest: the meaning, or only what is kept with it (an
        `entered at` line, the schema), which `diff` does not count as a change of
        meaning (spec section 2)."""
        if self.diff.changed:
            return "the policy's meaning changed (its digest differs)"
        return "the policy's digest changed"

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """One line: how many changes, whose approval, how many leads move."""
        d = self.diff
        if not d.changed:
            text = "no semantic change; no approval needed"
            if d.examples:
                text += f" ({_count(len(d.examples), 'example')} changed)"
        else:
            teams = ", ".join(a.team for a in d.approvals)
            text = f"{_count(len(d.changes), 'semantic change')}; approval needed from {teams}"
        if self.impact is not None:
            text += f"; {self.impact.moved_sentence()}"
        return text

    def to_text(self) -> str:
        """A plain-text report for a terminal or a CI log."""
        out = [f"funnel diff: {self.base.label} -> {self.head.label}", self.summary()]
        if self.diff.changes:
            out.append("")
            out.append("changes:")
            for c in self.diff.changes:
                out.extend(_text_change(c))
        if self.diff.approvals:
            out.append("")
            out.append("approvals needed:")
            for a in self.diff.approvals:
                handle = f" ({a.handle})" if a.handle else ""
                out.append(f"  {a.team}{handle}: {', '.join(a.because)}")
        if self.diff.examples:
            out.append("")
            out.append("examples changed (tests only, no approval needed):")
            for c in self.diff.examples:
                out.append(f"  {c.kind} {c.declaration}")
        if self.diff.records:
            out.append("")
            out.append("record-keeping changed (`entered at`: no decision changes):")
            for c in self.diff.records:
                out.extend(_text_change(c))
        note = self.version_note()
        if note:
            out += ["", f"note: {note}"]
        if self.impact is not None:
            out.append("")
            out.extend(self.impact.text_lines())
        return "\n".join(out) + "\n"

    # ------------------------------------------------------------------ markdown
    def to_markdown(self) -> str:
        """A ready pull-request comment (GitHub-flavoured Markdown)."""
        d = self.diff
        out = [
            f"### Policy change: {md_code(self.base.label)} → {md_code(self.head.label)}",
            "",
            f"**{_capital(self.summary())}.**",
            "",
            _md_versions(self),
        ]
        if self.version_note():
            v = self.head_model.version
            shown = f"is still {md_code(v)}" if v is not None else "is not declared"
            out += ["", "> [!WARNING]",
                    f"> {_capital(self._digest_changed())} but its `version` "
                    f"{shown}: bump `version` so every decision says which rules made it."]
        if d.changes:
            out += ["", "#### Changes", "",
                    "| | declaration | what changed | owners |", "|---|---|---|---|"]
            for c in d.changes:
                out.append(f"| {c.kind} | {_cell_code(c.declaration)} | {_md_what(c)} | "
                           f"{md_escape(', '.join(c.owners))} |")
            out += ["", "#### Approvals needed", "", "| team | handle | for |", "|---|---|---|"]
            for a in d.approvals:
                # the handle as code: pasted into review rules as it is, and a comment
                # that lists it notifies no one (the policy's text says who the team is)
                handle = _cell_code(a.handle) if a.handle else "—"
                out.append(f"| {md_escape(a.team)} | {handle} | "
                           f"{', '.join(_cell_code(x) for x in a.because)} |")
            full = [c for c in d.changes if c.kind != "changed" and (c.old or c.new)]
            if full:
                out += ["", "<details><summary>Added and removed declarations</summary>", ""]
                for c in full:
                    body = (c.new if c.kind == "added" else c.old) or ""
                    fence = _fence(body)
                    out += [f"{c.kind} {md_code(c.declaration)}:", "", fence, body, fence, ""]
                out.append("</details>")
        if d.examples:
            out += ["", "<details><summary>Examples changed (tests only, no approval needed)"
                    "</summary>", ""]
            out += [f"- {c.kind} {md_code(c.declaration)}" for c in d.examples]
            out += ["", "</details>"]
        if d.records:
            out += ["", "<details><summary>Record-keeping changed (`entered at`: no decision "
                    "changes)</summary>", "",
                    "| | declaration | what changed | owners |", "|---|---|---|---|"]
            for c in d.records:
                out.append(f"| {c.kind} | {_cell_code(c.declaration)} | {_md_what(c)} | "
                           f"{md_escape(', '.join(c.owners))} |")
            out += ["", "</details>"]
        if self.impact is not None:
            out += ["", *self.impact.markdown_lines()]
        return "\n".join(out) + "\n"


def _fence(body: str) -> str:
    """A code fence longer than any run of backticks in ``body`` (a string may hold some)."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _count(k: int, noun: str) -> str:
    return f"{k:,} {noun}{'' if k == 1 else 's'}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _md_versions(report: DiffReport) -> str:
    def one(model: PolicyModel) -> str:
        name = model.header.name.name if model.header else "(no header)"
        version = f" {model.version}" if model.version else ""
        return f"{md_code(name + version)} ({md_code(policy_digest(model)[:19])})"

    return f"Policy {one(report.base_model)} → {one(report.head_model)}"


def _cell_code(text: str | None) -> str:
    return md_code(text, in_table=True)


def _md_what(c: Change) -> str:
    """The "what changed" cell: old → new canonical text, one line each."""
    if c.declaration == "schema file":
        return "the lead schema's contents"
    if c.kind == "added":
        return "added: " + _cell_code(_first_line(c.new))
    if c.kind == "removed":
        return "removed: " + _cell_code(_first_line(c.old))
    parts = []
    for x in c.lines:
        if x.kind == "changed":
            parts.append(f"{_cell_code(x.old)} → {_cell_code(x.new)}")
        elif x.kind == "added":
            parts.append(f"added {_cell_code(x.new)}")
        else:
            parts.append(f"removed {_cell_code(x.old)}")
    return "<br>".join(parts)


def _first_line(text: str | None) -> str:
    first = (text or "").split("\n", 1)[0].rstrip()
    return first[:-1].rstrip() if first.endswith("{") else first


def _text_change(c: Change) -> list[str]:
    where = f"  ({c.where})" if c.where else ""
    out = [f"  {c.kind} {c.declaration}  [owners: {', '.join(c.owners) or '-'}]{where}"]

    def block(prefix: str, text: str | None) -> None:
        for line in (text or "").split("\n"):
            out.append(f"      {prefix} {line}")

    if c.kind == "added":
        block("+", c.new)
    elif c.kind == "removed":
        block("-", c.old)
    for x in c.lines:
        if x.old is not None:
            block("-", x.old)
        if x.new is not None:
            block("+", x.new)
    return out


def load_failure_markdown(label: str, rendered: str, summary: str) -> str:
    """A pull-request comment for a side that does not load: the diagnostics as ``funnel
    check`` prints them, in a code block, so the comment is never empty (spec section 9)."""
    fence = _fence(rendered)
    return "\n".join([
        f"### Policy change: {md_code(label)} does not load",
        "",
        f"**{md_escape(_capital(summary))}: no semantic diff or impact until they are fixed.**",
        "",
        f"{fence}text",
        rendered,
        fence,
        "",
        "Run `funnel check` on the policy to see them locally.",
    ]) + "\n"
