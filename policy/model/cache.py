"""A cache of loaded policies, so a command that decides one lead starts quickly.

Loading a policy (:func:`policy.model.loader.load_model`: parse every file, read its
schema and ``lines`` files, check) costs most of a short command's time, and gives the
same result for the same files. :func:`load_cached` keeps that result on disk, keyed by
what it depends on, and uses it again only when nothing it depends on has changed:

- the path as given and the working directory (diagnostics name files relative to it);
- this program: the size and modification time of every module and grammar file of the
  ``policy`` package, the Python version and the versions of the libraries loading uses;
- every file loading read (policy files, ``lines`` files, the schema, example lead files,
  time-zone data), by the SHA-256 of its bytes (a file that was missing must still be
  missing), and the list of ``*.funnel`` files in the policy's directory.

Files read are recorded with an audit hook on ``open`` while a load runs, so a new kind
of input file is covered without a change here. Anything unexpected (an unreadable
cache, a result that cannot be pickled, a disk that is full) means loading as usual.

Beside each entry, :mod:`policy.engine.engine_cache` keeps the policy's compiled engine,
in a file named by the entry's :attr:`CachedLoad.identity`
(:func:`policy.engine.engine_cache.engine_entry`).

The cache lives in ``$FUNNEL_CACHE_DIR``, else ``$XDG_CACHE_HOME/funnel-policy``, else
``~/.cache/funnel-policy``; ``FUNNEL_NO_CACHE=1`` turns it off. It holds pickles written
by this user for this user: an entry another user owns, or that others may write, is
never read.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import threading
from pathlib import Path
from typing import Any

import attrs

from policy.model.cachedir import cache_dir

__all__ = ["CachedLoad", "cache_dir", "load_cached", "pickler", "write_entry"]

_FORMAT = 2  # bump when the entry's layout changes
#: Entries kept; past that the least recently written go (each is a few hundred KiB).
KEEP = 64


@attrs.frozen
class CachedLoad:
    """A load result read back from the cache: the attributes of
    :class:`policy.model.loader.LoadResult` that commands use."""

    model: Any
    diagnostics: tuple
    sources: dict
    root: Path
    omitted: int = 0
    omitted_errors: tuple = ()
    #: What the entry was made from, as one string: its key (path, working directory,
    #: this program's files, Python and library versions) and the SHA-256 of every file
    #: loading read. The compiled engine's entry is named by it
    #: (:mod:`policy.engine.engine_cache`). None when the entry could not be written.
    identity: str | None = None
    #: False for a load just made (and written to the cache), True for one read back.
    hit: bool = True

    @property
    def ok(self) -> bool:
        return self.model is not None and not any(d.is_error for d in self.diagnostics)


def load_cached(path: str | os.PathLike) -> Any:
    """:func:`~policy.model.loader.load_model` of ``path``, from the cache when still valid.

    Raises what ``load_model`` raises (:class:`~policy.model.loader.InputError`).
    """
    where = cache_dir()
    if where is None:
        from policy.model.loader import load_model

        return load_model(path)
    key = _key(path)
    entry = where / f"{key}.pickle"
    found = _read(entry, path, key)
    if found is not None:
        return found
    result, inputs = _load_recording(path)
    identity = _write(entry, path, result, inputs, key)
    return CachedLoad(result.model, result.diagnostics, result.sources, result.root,
                      result.omitted, result.omitted_errors, identity, hit=False)


# --------------------------------------------------------------------------- key


def _code_fingerprint() -> list[Any]:
    # Every start that decides a lead runs this, so it stats files and imports nothing
    # (importlib.resources alone cost more than the walk): the package by os.scandir,
    # and the grammar's folder, which an editable install keeps outside the package.
    from importlib.util import find_spec

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files: list[Any] = []
    _stat_files(package, "", files)
    try:
        spec = find_spec("policy._grammar")
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            if not os.path.abspath(folder).startswith(package + os.sep):
                _stat_files(folder, "_grammar/", files, recurse=False)
    except (ImportError, OSError, ValueError):
        pass
    # The libraries loading uses, by where they are installed and when: without
    # importing them (importing jsonschema alone costs more than a cached load).
    versions = []
    for module in ("lark", "jsonschema", "jsonschema_rs", "tzdata", "attrs"):
        try:
            spec = find_spec(module)
            origin = spec.origin if spec is not None else None
            st = os.stat(origin) if origin else None
            versions.append((module, origin, st.st_mtime_ns if st else None))
        except (ImportError, OSError, ValueError):
            versions.append((module, None, None))
    return [sorted(files), versions, sys.version]


def _stat_files(folder: str, prefix: str, out: list[Any], *, recurse: bool = True) -> None:
    """(relative name, size, mtime) of every ``.py`` and ``.lark`` file under ``folder``."""
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                if recurse and name != "__pycache__":
                    _stat_files(entry.path, prefix + name + "/", out)
            elif name.endswith((".py", ".lark")):
                st = entry.stat()
                out.append((prefix + name, st.st_size, st.st_mtime_ns))


def _key(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    h.update(repr((_FORMAT, os.fspath(path), os.getcwd(), _code_fingerprint())).encode())
    return h.hexdigest()


def _policy_files(path: str | os.PathLike) -> list[str]:
    from policy.model.loader import is_policy_file

    p = Path(path)
    if p.is_dir():
        return sorted(str(f) for f in p.iterdir() if is_policy_file(f.name) and f.is_file())
    return [str(p)]


def _digest(file: str) -> str | None:
    try:
        with open(file, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


# --------------------------------------------------------------------------- read, write


def _identity(key: str, listing: list[str], digests: list[tuple[str, str | None]]) -> str:
    return key + ":" + hashlib.sha256(repr((listing, digests)).encode()).hexdigest()


def _read(entry: Path, path: str | os.PathLike, key: str) -> CachedLoad | None:
    try:
        with entry.open("rb") as f:
            # Only an entry this user wrote (mkstemp makes it 0600): a pickle someone
            # else could have put there is not read.
            st = os.fstat(f.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return None
            listing, inputs, fields = pickle.load(f)  # noqa: S301 - our own cache
        if listing != _policy_files(path):
            return None
        for file, digest in inputs:
            if _digest(file) != digest:
                return None
        return CachedLoad(*fields, _identity(key, listing, inputs))
    except Exception:  # noqa: BLE001 - a missing, stale or broken entry: load as usual
        return None


def _write(entry: Path, path: str | os.PathLike, result: Any, inputs: list[str],
           key: str) -> str | None:
    """Write the entry; its identity, or None when it could not be written."""
    try:
        listing = _policy_files(path)
        digests = [(file, _digest(file)) for file in sorted(set(inputs))]
        fields = (result.model, result.diagnostics, result.sources, result.root,
                  result.omitted, result.omitted_errors)
        write_entry(entry, _dumps((listing, digests, fields)))
        return _identity(key, listing, digests)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no cache
        return None


def write_entry(entry: Path, data: bytes) -> None:
    """Write a file of the cache whole (a temporary file, then a rename), readable by
    this user alone, and drop the oldest entries of its kind past :data:`KEEP`."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # only a write needs it (start-up)

    fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, entry)  # whole or not at all, whoever reads at the same time
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _prune(entry.parent, "*" + entry.suffix)


def _prune(folder: Path, pattern: str = "*.pickle") -> None:
    entries = list(folder.glob(pattern))
    if len(entries) <= KEEP:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for old in entries[: len(entries) - KEEP]:
        old.unlink(missing_ok=True)


# --------------------------------------------------------------------------- recording

_recording = threading.local()
_hooked = False


def _audit(event: str, args: tuple) -> None:
    if event != "open":
        return
    files = getattr(_recording, "files", None)
    if files is None:
        return
    name = args[0]
    if isinstance(name, (str, bytes, os.PathLike)) and not isinstance(name, int):
        name = os.fsdecode(name)
        if not name.endswith((".py", ".pyc", ".so")):
            files.append(os.path.abspath(name))


def _load_recording(path: str | os.PathLike) -> tuple[Any, list[str]]:
    global _hooked
    from policy.model.loader import load_model

    if not _hooked:
        sys.addaudithook(_audit)  # a hook cannot be removed; it is idle unless recording
        _hooked = True
    _recording.files = []
    try:
        result = load_model(path)
        return result, _recording.files
    finally:
        _recording.files = None


# --------------------------------------------------------------------------- pickling


def _mapping_proxy(items: dict) -> Any:
    """A read-only mapping again (what a schema's field table is)."""
    from types import MappingProxyType

    return MappingProxyType(items)


def _zone(key: str) -> Any:
    """A time zone again, from the same pinned tzdata the model took it from."""
    from policy.model.calendar import _tzdata_zone

    zone = _tzdata_zone(key)
    if zone is None:
        raise ValueError(f"time zone {key!r} is no longer in tzdata")
    return zone


def pickler(buffer: Any) -> pickle.Pickler:
    """A pickler that writes read-only mappings and time zones in forms :mod:`pickle`
    cannot by itself (a zone is read back from the pinned ``tzdata``)."""
    import copyreg
    import types
    import zoneinfo

    p = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # Only this pickler learns these forms; the process's own pickling is untouched.
    p.dispatch_table = copyreg.dispatch_table.copy()  # type: ignore[attr-defined]
    p.dispatch_table[types.MappingProxyType] = lambda m: (_mapping_proxy, (dict(m),))  # type: ignore[attr-defined]
    p.dispatch_table[zoneinfo.ZoneInfo] = lambda z: (_zone, (z.key,))  # type: ignore[attr-defined]
    return p


def _dumps(value: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    pickler(buffer).dump(value)
    return buffer.getvalue()
