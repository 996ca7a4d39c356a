"""The compiled engine kept on disk beside the cached policy, so a warm start does not compile.

Compiling a policy (:func:`policy.engine.compiler.compile_model`: write the Python source
of ``run`` and ``decide``, then ``compile()`` it) cost about 35 ms of a one-lead
``funnel eval`` whose policy came from the policy cache (:mod:`policy.model.cache`), and
importing the code generator another 12 ms. An entry here holds what compiling made:
the source (for :mod:`linecache`, so tracebacks still show the generated lines), the
code object (``marshal``, as a ``.pyc`` holds it) and the namespace of constants the
code runs in (``pickle``). A warm start unpickles the namespace and ``exec``-s the code
into it, which defines ``run`` and ``decide`` exactly as compiling did.

When an entry is valid. It is named by the *identity* of the policy cache entry it was
made from (:attr:`policy.model.cache.CachedLoad.identity`: that entry's key, which
holds this program's own files (size and mtime), the Python version and the versions
of the libraries, and the SHA-256 of every file loading read), the ``local_tz`` and
this module's format. Any change to the policy, its schema or ``lines`` files, the
package's code or Python gives another identity, so another entry: an entry is never
patched, only used whole or not at all. Anything unexpected (a missing, truncated or
foreign entry, a constant that no longer unpickles, a code object from another
Python) means compiling as usual; the result is never a traceback.

What cannot be pickled is stored by what it is, and rebuilt from the policy being
made: the :class:`~policy.engine.decision.PolicyInfo`, the validator's ``is_valid``
(the lead check), the ``local_tz`` zone, and each ``pattern`` check
(:func:`policy.engine.compile_schema.pattern_of`); time zones inside constants are
read from the pinned ``tzdata`` as the policy cache reads them. A constant of any other
kind that does not pickle means the engine is not stored.

``decide_json`` (the typed JSON line decider, :mod:`policy.engine.compile_struct`) is
not stored: its msgspec structs are classes made at compile time. A caller that asks
for it (``funnel eval`` with a large input) gets it from a fresh compile, which costs
nothing next to the input.

``tests/test_engine_cache.py`` checks that a warm engine's namespace equals a fresh
compile's, name by name, and that both decide every lead alike.
"""

from __future__ import annotations

import hashlib
import io
import marshal
import os
import pickle
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from policy.engine.compiled import CompiledEngine

__all__ = ["engine_entry", "entry_path", "load_engine", "store_engine"]

_FORMAT = 1  # bump when an entry's layout changes
_SUFFIX = ".engine"


def engine_entry(result: Any, local_tz: str | None) -> Path | None:
    """Where the compiled engine of a policy loaded through
    :func:`policy.model.cache.load_cached` is kept, or None (a load not from that cache,
    or the cache is off)."""
    from policy.model.cache import cache_dir

    identity = getattr(result, "identity", None)
    where = cache_dir()
    if identity is None or where is None:
        return None
    return entry_path(where, identity, local_tz)


def entry_path(where: Path, identity: str, local_tz: str | None) -> Path:
    """The file that holds the compiled engine of the cached policy ``identity``."""
    key = hashlib.sha256(repr((_FORMAT, identity, local_tz, sys.version)).encode())
    return where / f"{key.hexdigest()}{_SUFFIX}"


# --------------------------------------------------------------------------- reading


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, known: dict[tuple, Any]) -> None:
        super().__init__(io.BytesIO(data))
        self._known = known

    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is tuple and pid[:1] == ("PATTERN",) and len(pid) == 2:
            from policy.engine.compile_schema import _pattern_check

            return _pattern_check(pid[1])
        try:
            return self._known[pid]
        except (KeyError, TypeError):
            raise pickle.UnpicklingError(f"unknown reference {pid!r}") from None


def load_engine(entry: Path, program: Any, info: Any, *, check: Any, tz: Any,
                json_maker: Callable[[], Any] | None) -> CompiledEngine | None:
    """The engine stored at ``entry`` for this policy, or None (compile it then).

    ``check`` and ``tz`` are the lead check and zone of the policy being made (what the
    stored namespace refers to); ``json_maker`` makes ``decide_json`` when it is asked for.
    """
    try:
        with entry.open("rb") as f:
            # Only an entry this user wrote (mkstemp makes it 0600), as the policy cache.
            st = os.fstat(f.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return None
            data = f.read()
        version, source, filename, code_bytes, ns_bytes = pickle.loads(data)  # noqa: S301
        if version != _FORMAT or info.digest not in source.split("\n", 1)[0]:
            return None
        code = marshal.loads(code_bytes)
        if type(code) is not types.CodeType:
            return None
        known = {("INFO",): info, ("CHECK",): check, ("TZ",): tz,
                 ("MAPPINGPROXY",): types.MappingProxyType}
        namespace = _Unpickler(ns_bytes, known).load()
        if type(namespace) is not dict or "run" in namespace:
            return None
    except Exception:  # noqa: BLE001 - a missing, stale or broken entry: compile as usual
        return None
    from policy.engine.compile_prepare import _warm_up
    from policy.engine.linewriter import register_source

    _warm_up()  # what compiling does before the first decide runs (compile_prepare)
    name = register_source(source, filename)
    if name != filename:  # this process holds another source under that name
        code = compile(source, name, "exec")
    exec(code, namespace)  # noqa: S102 - the compiler's own source, as compile_model runs it
    return CompiledEngine(program, info, source, name, namespace["run"],
                          namespace.get("decide"), json_maker)


# --------------------------------------------------------------------------- writing


def store_engine(entry: Path, engine: CompiledEngine, *, check: Any, tz: Any) -> None:
    """Keep ``engine`` (fresh from :func:`~policy.engine.compiler.compile_model`) at
    ``entry``; silently nothing when it cannot be kept."""
    try:
        namespace = engine.run.__globals__
        kept = {name: value for name, value in namespace.items()
                if not _generated(value, namespace)}
        code = compile(engine.source, engine.filename, "exec")
        ns_bytes = _dumps(kept, engine.info, check, tz)
        data = pickle.dumps((_FORMAT, engine.source, engine.filename, marshal.dumps(code),
                             ns_bytes), protocol=pickle.HIGHEST_PROTOCOL)
        from policy.model.cache import write_entry

        write_entry(entry, data)
    except Exception:  # noqa: BLE001 - an engine that cannot be kept is compiled next time
        return


def _generated(value: Any, namespace: dict) -> bool:
    """A function the generated code defines (``run``, ``decide``): made again by ``exec``."""
    return type(value) is types.FunctionType and value.__globals__ is namespace


def _dumps(namespace: dict, info: Any, check: Any, tz: Any) -> bytes:
    from policy.engine.compile_schema import pattern_of
    from policy.model.cache import pickler

    def persistent_id(obj: Any) -> Any:
        if obj is info:
            return ("INFO",)
        if check is not None and obj is check:
            return ("CHECK",)
        if tz is not None and obj is tz:
            return ("TZ",)
        if obj is types.MappingProxyType:  # its name is not where pickle looks it up
            return ("MAPPINGPROXY",)
        if type(obj) is types.BuiltinMethodType:
            pattern = pattern_of(obj)
            if pattern is not None:
                return ("PATTERN", pattern)
        return None

    buffer = io.BytesIO()
    p = pickler(buffer)
    p.persistent_id = persistent_id  # type: ignore[method-assign]
    p.dump(namespace)
    return buffer.getvalue()
