"""Reading decision and error records in the spec audits (tests/test_spec_audit17.py and
tests/test_spec_audit19.py): a value by its dotted path, and the probes whose records
differ from the values computed by hand."""

from __future__ import annotations

from collections.abc import Callable

#: what :func:`at_path` gives where the path leads nowhere (never a JSON value)
ABSENT = "<absent>"


def at_path(record: object, path: str):
    """The value at a dotted path of a record (list items by index), or ``ABSENT``."""
    value = record
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return ABSENT
    return value


def mismatches(cases: list, records: list[dict],
               pick: Callable[[dict, str], object] = at_path) -> list[str]:
    """One line per expected value a record does not hold (the same value of the same
    type: ``1`` is not ``1.0`` and ``True`` is not ``1``)."""
    assert len(records) == len(cases)
    bad = []
    for (lead, want), record in zip(cases, records, strict=True):
        for path, value in want.items():
            got = pick(record, path)
            if got != value or type(got) is not type(value):
                bad.append(f"{str(lead)[:120]}: {path} should be {value!r}, is {got!r}")
    return bad
