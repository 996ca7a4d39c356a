"""A throwaway PostgreSQL server for the Postgres tier (``tests/test_sql_postgres.py``).

The cluster lives in a temporary directory, listens only on a Unix socket there (no TCP
port, nothing shared with other runs), trusts local connections, and is stopped and
removed when the tests end. It needs the server binaries (`initdb`, `pg_ctl`: Debian's
``postgresql`` package, which ``.ci/run`` installs when missing) and ``psycopg`` (the
``[test]`` extra). Postgres refuses to run as root: under root the server runs as the
``postgres`` user the Debian package creates.

Import from a test module as ``from pg_server import pg_missing, PgServer``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def _bindir() -> Path | None:
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found and Path(found).resolve().parent.joinpath("postgres").exists():
            return Path(found).resolve().parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4])
                  if p.split("/")[4].isdigit() else 0)
    return Path(dirs[-1]) if dirs else None


def _runas() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def pg_missing() -> str | None:
    """Why the Postgres tier cannot run here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (the [test] extra)"
    if _bindir() is None:
        return "no PostgreSQL server binaries (Debian's postgresql package)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root without `runuser`"
    return None


class PgServer:
    """``with PgServer() as conninfo:`` a running server; ``conninfo`` for psycopg."""

    def __enter__(self) -> str:
        bindir = _bindir()
        assert bindir is not None
        self.dir = Path(tempfile.mkdtemp(prefix="funnel-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.data = self.dir / "data"
        self.ctl = [*_runas(), str(bindir / "pg_ctl"), "-D", str(self.data)]
        subprocess.run([*_runas(), str(bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                        "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, capture_output=True)
        options = (f"-k {self.dir} -p 5432 -c listen_addresses='' -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off -c jit=off")
        subprocess.run([*self.ctl, "-o", options, "-l", str(self.dir / "log"), "-w", "start"],
                       check=True, capture_output=True)
        return f"host={self.dir} port=5432 user=postgres dbname=postgres"

    def __exit__(self, *exc) -> None:
        subprocess.run([*self.ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
