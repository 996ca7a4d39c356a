"""Revisions: the policy as it stands in a directory, the working tree, or a git revision.

``funnel diff BASE [HEAD]`` compares two versions of one policy. Each side is
named by the user as one of:

* nothing (HEAD only): the working tree, read at the ``--policy`` path;
* a path that exists: that directory (or single ``.funnel`` file) *is* the policy;
* anything else: a git revision (``main``, ``HEAD~1``, a sha, a tag) of the
  repository that holds the current directory. The ``--policy`` path, relative to
  the current directory like every path a user types, is read from that revision.

A revision is read with ``git ls-tree`` and ``git cat-file`` into a temporary
directory that mirrors the repository's layout, so a schema or a ``lines`` list named
with a relative path (``schema "lead.schema.json"``, ``lines "../lists/free.txt"``) is
found where the policy expects it, as it stood at that revision. The user's work tree,
index and HEAD are never touched.

:func:`open_policy` is a context manager: the temporary copy lives until the
``with`` block ends. Nothing runs before this module; :mod:`policy.model.loader` reads
the files it yields. Every failure is a :class:`RevisionError` with one line
(exit status 2 in the CLI).
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from policy.io.atomic import drop_scratch, scratch_folder
from policy.model.loader import SUFFIX, is_policy_file
from policy.syntax import nodes as n
from policy.syntax.parser import parse

__all__ = ["RevisionError", "PolicySource", "open_policy", "WORKING_TREE"]

#: How the working tree is named in reports.
WORKING_TREE = "working tree"


class RevisionError(Exception):
    """A side of a diff that cannot be read: no such revision, not a repository, …

    ``message`` is one line, ready to print after ``funnel:``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen
class PolicySource:
    """One side of a diff, readable on disk at ``path``.

    ``label`` names it in reports (``main (3f2a9c1)``, ``working tree``, ``old_rules``).
    ``revision`` is the revision as the user wrote it and ``commit`` its full sha, both
    None for a directory or the working tree. ``checkout`` is the temporary directory a
    revision was copied into (None otherwise); :meth:`display` turns paths below it back
    into ``REV:path`` form for messages.
    """

    label: str
    path: Path
    revision: str | None = None
    commit: str | None = None
    checkout: Path | None = None

    def display(self, file: str) -> str:
        """A file name as users should read it: ``main:rules/policy.funnel`` for a revision."""
        if self.checkout is None:
            return file
        real = os.path.realpath(file)
        root = os.path.realpath(self.checkout)
        if real == root or real.startswith(root + os.sep):
            rel = os.path.relpath(real, root).replace(os.sep, "/")
            return f"{self.revision}:{rel}"
        return file

    def relabel(self, text: str) -> str:
        """A message with every path inside the temporary copy shown as ``REV:path``."""
        if self.checkout is None:
            return text
        for root in {str(self.checkout), os.path.realpath(self.checkout)}:
            text = text.replace(root + os.sep, f"{self.revision}:")
        return text

    def to_dict(self) -> dict:
        """``label``, ``revision`` and ``commit``, for JSON reports."""
        return {"label": self.label, "revision": self.revision, "commit": self.commit}


# --------------------------------------------------------------------------- git


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=False,
            # a pager or a prompt would hang a CI job; git's own messages stay English
            env={**os.environ, "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise RevisionError("git is not installed, so a revision cannot be read") from None


def _toplevel(cwd: Path, spec: str) -> Path:
    proc = _git(["rev-parse", "--show-toplevel"], cwd)
    if proc.returncode != 0:
        raise RevisionError(
            f"`{spec}` is neither a directory nor a revision: {cwd} is not in a git repository"
        )
    return Path(proc.stdout.decode("utf-8", "surrogateescape").strip())


def _commit(top: Path, spec: str) -> str:
    # a leading dash would be read as an option by git
    if not spec or spec.startswith("-"):
        raise RevisionError(f"`{spec}` is not a revision")
    proc = _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], top)
    if proc.returncode != 0:
        raise RevisionError(
            f"`{spec}` is neither a directory nor a revision of the git repository at {top}"
        )
    return proc.stdout.decode("ascii").strip()


def _ls_tree(top: Path, commit: str, path: str) -> list[tuple[str, str, str, str]]:
    """Entries ``(mode, type, oid, path)`` of ``git ls-tree`` at ``path`` (repo-relative)."""
    args = ["ls-tree", "-z", "--full-tree", commit]
    if path:
        args += ["--", path]
    proc = _git(args, top)
    if proc.returncode != 0:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["git failed"]
        raise RevisionError(f"cannot list `{path or '.'}` at {commit[:7]}: {why[-1]}")
    out = []
    for entry in proc.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, oid = meta.decode("ascii").split(" ")
        out.append((mode, kind, oid, name.decode("utf-8", "surrogateescape")))
    return out


def _blob(top: Path, oid: str) -> bytes:
    proc = _git(["cat-file", "blob", oid], top)
    if proc.returncode != 0:
        raise RevisionError(f"cannot read object {oid[:7]} from the repository at {top}")
    return proc.stdout


def _write(checkout: Path, rel: str, data: bytes) -> None:
    target = checkout.joinpath(*rel.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _named_paths(checkout: Path, files: list[str]) -> list[str]:
    """Repo-relative paths of the files the policy files name (those inside the repo): the
    schema and every ``lines`` list, so each is read as it stood at the revision."""
    out: list[str] = []
    for rel in files:
        text = checkout.joinpath(*rel.split("/")).read_bytes().decode("utf-8", "replace")
        module = parse(text.removeprefix("\ufeff"), rel).module
        if module is None:
            continue  # the loader reports the syntax error from the copy
        for decl in module.decls:
            if isinstance(decl, n.SchemaRef):
                named = decl.path
            elif isinstance(decl, n.Define) and decl.lines is not None:
                named = decl.lines.path
            else:
                continue
            if not posixpath.isabs(named):
                path = posixpath.normpath(posixpath.join(posixpath.dirname(rel), named))
                if not path.startswith("../") and path != "..":
                    out.append(path)
    return out


def _extract(top: Path, commit: str, spec: str, rel: str, checkout: Path) -> None:
    """Copy the policy at ``rel`` (and the schema and lists it names) from ``commit`` into
    ``checkout``."""
    entries = _ls_tree(top, commit, rel) if rel else [("040000", "tree", "", "")]
    if not entries:
        raise RevisionError(f"`{rel}` does not exist at `{spec}`")
    mode, kind, oid, _ = entries[0]
    if kind == "tree":
        listing = _ls_tree(top, commit, rel + "/" if rel else "")
        files = [(o, p) for m, k, o, p in listing
                 if k == "blob" and m != "120000" and is_policy_file(posixpath.basename(p))]
        if not files:
            raise RevisionError(f"`{rel or '.'}` at `{spec}` holds no *{SUFFIX} files")
    elif mode == "120000":
        raise RevisionError(f"`{rel}` at `{spec}` is a symbolic link; name the policy it points to")
    else:
        files = [(oid, rel)]
    for blob_oid, path in files:
        _write(checkout, path, _blob(top, blob_oid))
    for named in _named_paths(checkout, [p for _, p in files]):
        if checkout.joinpath(*named.split("/")).exists():
            continue
        found = [e for e in _ls_tree(top, commit, named) if e[1] == "blob" and e[0] != "120000"]
        if found:  # a file missing at that revision is the loader's E110 to report
            _write(checkout, named, _blob(top, found[0][2]))


# --------------------------------------------------------------------------- entry point


@contextmanager
def open_policy(
    spec: str | None, *, policy: str | os.PathLike = "rules", cwd: str | os.PathLike | None = None
) -> Iterator[PolicySource]:
    """Yield a :class:`PolicySource` for one side of a diff; clean up afterwards.

    ``spec`` is None for the working tree (the ``policy`` path itself), a path that
    exists (that policy), or a git revision of the repository holding ``cwd`` (the
    current directory by default), from which the ``policy`` path is read. A path that
    exists wins over a revision of the same name; write ``NAME^{commit}`` to mean the
    revision. Raises :class:`RevisionError`.
    """
    here = Path(cwd) if cwd is not None else Path.cwd()
    if spec is None:
        yield PolicySource(WORKING_TREE, here / policy)
        return
    if (here / spec).exists():
        yield PolicySource(spec, here / spec)
        return
    top = _toplevel(here, spec)
    commit = _commit(top, spec)
    # both sides resolved: a symlinked checkout (macOS /var, a CI cache) must still match
    rel = os.path.relpath(os.path.realpath(here / policy), os.path.realpath(top))
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        raise RevisionError(f"the policy path `{policy}` is outside the git repository at {top}")
    rel = rel.replace(os.sep, "/")
    rel = "" if rel == "." else rel
    checkout = Path(scratch_folder("funnel-rev-"))
    try:
        _extract(top, commit, spec, rel, checkout)
        path = checkout.joinpath(*rel.split("/")) if rel else checkout
        yield PolicySource(f"{spec} ({commit[:7]})", path, spec, commit, checkout)
    finally:
        drop_scratch(str(checkout))
