"""Load: a path -> files -> parsed modules -> schema -> model -> checked.

This is the front half of the pipeline that every command shares:
:func:`load_model` finds the ``*.funnel`` files of a policy, parses each,
reads the ``lines`` files of its defines (:mod:`policy.model.lines`) and the schema
the policy names, builds the :class:`~policy.model.namespace.PolicyModel`
and runs the checker. It returns values (a model and diagnostics); only a path
that cannot be read at all raises :class:`InputError` (exit status 2 in the CLI).
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from policy.io.files import read_bounded
from policy.model.lines import fill_lines
from policy.model.namespace import PolicyModel, build_model
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error, split_errors

SUFFIX = ".funnel"


class InputError(Exception):
    """Input that cannot be read at all: a missing path, an unreadable file, no policy files."""


def display_path(path: Path) -> str:
    """A path as users typed it: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def is_policy_file(name: str) -> bool:
    """Whether a file name in a policy directory is one of its ``*.funnel`` files.

    ``*`` matches as a shell glob does: not a leading dot. Hidden files are no part of
    the policy, so an editor's lock file (Emacs' ``.#acme.funnel``, a dangling link) or
    macOS' ``._acme.funnel`` copy on a shared drive never joins it or stops it loading.
    """
    return name.endswith(SUFFIX) and not name.startswith(".")


def policy_files(path: str | os.PathLike) -> list[Path]:
    """The ``*.funnel`` files of a policy: a directory's own files (sorted, hidden ones
    left out), or one file."""
    p = Path(path)
    if not p.exists():
        if p.is_symlink():  # a link in a loop, or to nothing: what reading it would say
            try:
                p.stat()
            except OSError as exc:
                raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        raise InputError(f"{path}: no such file or directory")
    if p.is_dir():
        # Not `is_file()`: that is False for a symbolic-link loop or a dangling link,
        # which must be reported (exit 2), not silently left out of the policy.
        files = sorted(f for f in p.iterdir() if is_policy_file(f.name) and not f.is_dir())
        if not files:
            raise InputError(f"{path}: no *{SUFFIX} files in this directory")
        return files
    return [p]


def read_text(path: Path) -> str:
    """A file's text as UTF-8 (a BOM is dropped); :class:`InputError` when it cannot be read."""
    try:
        data = read_bounded(path)
    except OSError as exc:
        raise InputError(f"{display_path(path)}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1  # as a `lines` list says it
        raise InputError(f"{display_path(path)}: not UTF-8 text (byte {exc.start}, line {line});"
                         " is it a policy file?") from None
    return text[1:] if text.startswith("\ufeff") else text


@attrs.frozen
class LoadResult:
    """What loading found: the model (None when a file did not parse) and every diagnostic."""

    model: PolicyModel | None
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str]
    root: Path
    #: errors past the cap (:data:`policy.syntax.diagnostics.MAX_ERRORS`), left out
    omitted: int = 0
    #: those errors themselves: commands show the capped ``diagnostics``, the library's
    #: :class:`~policy.syntax.diagnostics.PolicyError` holds them all (spec section 8)
    omitted_errors: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.model is not None and not any(d.is_error for d in self.diagnostics)


def parse_files(files: list[Path]) -> tuple[list[n.Module], list[Diagnostic], dict[str, str]]:
    # Imported here, not at the top: Lark and the grammar cost a short command about 30 ms,
    # and a policy that comes from the cache (policy.model.cache) is never parsed.
    from policy.syntax.parser import parse

    modules: list[n.Module] = []
    diags: list[Diagnostic] = []
    sources: dict[str, str] = {}
    for f in files:
        shown = display_path(f)
        text = read_text(f)
        sources[shown] = text
        result = parse(text, shown)
        diags.extend(result.diagnostics)
        if result.module is not None:
            modules.append(result.module)
    return modules, diags, sources


def _load_schema(model_modules: list[n.Module], diags: list[Diagnostic]):
    from policy.model.schema import SchemaError, load_schema

    for m in sorted(model_modules, key=lambda m: m.path):
        for d in m.decls:
            if isinstance(d, n.SchemaRef):
                path = Path(m.path).parent / d.path
                try:
                    return load_schema(path)
                except SchemaError as exc:
                    diags.append(_schema_problem(d, path, str(exc)))
                    return None
    return None


def _schema_problem(decl: n.SchemaRef, path: Path, detail: str) -> Diagnostic:
    """E110 in the house voice: what is wrong with the schema, and where it was looked for."""
    for prefix in (f"{path}:", f"{display_path(path)}:"):
        if detail.startswith(prefix):
            detail = detail[len(prefix):].lstrip()
            break
    if detail and detail[0].isdigit() and ":" in detail:  # "1:19: not valid JSON: ..."
        where, _, rest = detail.partition(": ")
        detail = f"{rest} (at {where})"
    detail = detail.replace("JSON: Expecting", "JSON: expecting")
    shown = display_path(path)
    return error("E110", f'schema "{decl.path}" cannot be used: {detail}', decl.span,
                 help=f"the schema path is relative to the file that names it: {shown}")


def load_model(path: str | os.PathLike, *, check: bool = True) -> LoadResult:
    """Read, parse and check the policy at ``path``. Raises only :class:`InputError`."""
    from policy.check.checker import check_policy

    files = policy_files(path)
    modules, diags, sources = parse_files(files)
    root = Path(path) if Path(path).is_dir() else Path(path).parent
    if len(modules) != len(files):
        # a file did not parse: report its syntax error alone, not a storm of knock-ons
        kept, past = split_errors(diags)
        return LoadResult(None, tuple(kept), sources, root, len(past), tuple(past))
    # `lines` files are read before the model is built, so that every phase after this
    # one sees their entries as an ordinary list (E110 and W206 come from here)
    modules = [fill_lines(m, diags, sources) for m in modules]
    schema = _load_schema(modules, diags)
    model = build_model(modules, schema=schema)
    if check:
        diags.extend(check_policy(model, diags))
    kept, past = split_errors(diags)
    return LoadResult(model, tuple(kept), sources, root, len(past), tuple(past))
