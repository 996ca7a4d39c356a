"""Read-only mappings for a loaded policy.

A loaded :class:`~policy.model.namespace.PolicyModel` is shared by the interpreter, the
compiled engine, ``explain`` and every thread that evaluates with it; if a caller could
change ``p.model.stages["mql"]`` or clear ``p.model.defines``, one engine would decide
by the new rules and another by the old (the compiled engine is generated once). So
every mapping of a model is a `FrozenDict`: it reads like a ``dict`` (and is one, so
``isinstance`` checks, JSON and pickling keep working) but every way of changing it
raises ``TypeError``. The values inside are frozen attrs nodes and tuples, so the model
is immutable all the way down. Nothing must run before this module.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["FrozenDict", "freeze"]


class FrozenDict(dict):
    """A ``dict`` that cannot be changed after it is built."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a loaded policy is read-only: build a new one to change it")

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[type, tuple[dict]]:
        # pickling and copy.deepcopy rebuild it from a plain dict, not item by item
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict) -> FrozenDict:
        import copy

        return type(self)({copy.deepcopy(k, memo): copy.deepcopy(v, memo)
                           for k, v in self.items()})

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


def freeze(mapping: Any) -> Any:
    """``mapping`` as a `FrozenDict` (itself when it already is one)."""
    if isinstance(mapping, FrozenDict):
        return mapping
    return FrozenDict(mapping)
