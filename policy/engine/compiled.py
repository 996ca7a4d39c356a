"""The compiled engine of one policy, as :mod:`policy.engine.compiler` makes it and the
engine cache (:mod:`policy.engine.engine_cache`) rebuilds it.

Its own module, apart from the compiler, so a start that takes the engine from the cache
imports none of the code generator (the compiler, codegen, the struct decoders and
msgspec).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from policy.engine import ir
    from policy.engine.decision import PolicyInfo

__all__ = ["CompiledEngine"]


class CompiledEngine:
    """A policy compiled to Python: ``run(lead, ts, as_of) -> Decision``.

    ``run`` is the generated function itself (no method call in between); it takes
    a prepared lead (a dict that passed validation), ``ts`` (one instant or None per
    path of ``program.timestamp_order``) and ``as_of`` (µs since the epoch, UTC), and
    returns the same :class:`~policy.engine.decision.Decision` as the interpreter.
    ``source`` is the generated text and ``filename`` its pseudo-filename in
    :mod:`linecache`. Immutable and safe to share between threads. ``decide(lead,
    as_of)`` (given how leads are prepared) is ``run`` with the lead's preparation in
    front (:mod:`policy.engine.compile_prepare`): the decision, or None for the reference
    path (``Policy.prepare``, then ``run``); ``decide_json(data, as_of)``, compiled when
    first asked for, does the same from a JSON line's bytes (``compile_struct``)."""

    __slots__ = ("program", "info", "source", "filename", "run", "decide", "_json")

    def __init__(self, program: ir.Program, info: PolicyInfo, source: str, filename: str,
                 run, decide=None, json_maker=None) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "program", program)
        setattr_(self, "info", info)
        setattr_(self, "source", source)
        setattr_(self, "filename", filename)
        setattr_(self, "run", run)
        setattr_(self, "decide", decide)
        setattr_(self, "_json", [json_maker, {}, threading.Lock()])  # maker, functions

    decide_json = property(lambda self: self.line_function(False))

    def line_function(self, text: bool | str):
        """``decide_json``, or with ``text`` ``decide_text`` (its record's JSON text,
        ``compile_struct``), or with ``text="facts"`` ``decide_facts`` (the Decision's
        fields as a tuple): each compiled when first asked for; None without one."""
        maker, made, lock = self._json
        with lock:
            if text not in made:
                made[text] = None if maker is None else maker(text=text)
        return made[text]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a CompiledEngine is immutable")

    def __repr__(self) -> str:
        return f"<CompiledEngine {self.filename}>"
