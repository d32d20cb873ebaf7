"""A throw-away PostgreSQL server with PostGIS for the catalogue tests.

``initdb`` a cluster in a temporary directory, start it on a free loopback port (Unix
socket in the same directory), yield its URL, stop it and delete the directory. As root
(the CI machine) the server runs as the ``postgres`` user, since PostgreSQL refuses root.
:func:`postgis_missing` says why the tests cannot run (binaries, PostGIS or psycopg
missing) so they are skipped with that reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streams._infra.ports import find_free_port

PG_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin",
               "/usr/lib/postgresql/15/bin")  # fmt: skip


def _bin(name: str) -> str | None:
    for d in PG_BIN_DIRS:
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return shutil.which(name)


def postgis_missing() -> str | None:
    """Why a PostGIS test server cannot run here, or ``None``."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    for name in ("initdb", "pg_ctl", "postgres"):
        if _bin(name) is None:
            return f"PostgreSQL server binary {name} not found (apt-get install postgresql)"
    share = subprocess.run([_bin("pg_config") or "pg_config", "--sharedir"], check=False,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    candidates = [Path(share)] if share else []
    candidates += sorted(Path("/usr/share/postgresql").glob("*"))
    if not any((c / "extension" / "postgis.control").exists() for c in candidates):
        return "PostGIS extension not installed (apt-get install postgresql-15-postgis-3)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server"
    return None


def _run(args: list[str], user: str | None) -> None:
    cmd = ["runuser", "-u", user, "--", *args] if user else args
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip()[-400:]}")


@contextmanager
def temporary_postgis() -> Iterator[str]:
    """Start a private server; yields ``postgresql://eoport@127.0.0.1:PORT/postgres``."""
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="eoport-pg-"))
    data = root / "data"
    if user:
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    port = find_free_port()
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    assert initdb and pg_ctl
    try:
        _run([initdb, "-D", str(data), "-U", "eoport", "-A", "trust", "--no-sync",
              "-E", "UTF8", "--locale=C.UTF-8"], user)  # fmt: skip
        opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")  # fmt: skip
        _run([pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "-t", "30",
              "start"], user)  # fmt: skip
        try:
            yield f"postgresql://eoport@127.0.0.1:{port}/postgres"
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], user)
    finally:
        shutil.rmtree(root, ignore_errors=True)
