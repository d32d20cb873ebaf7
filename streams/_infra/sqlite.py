"""The embedded stores' one way to use a SQLite file.

The subscription store, the delivery ledger, the API keys, the STAC catalogue and the
latency timeline are SQLite files shared between threads and processes (the API and the
stages open the same files). :class:`SqliteFile` gives each of them the same rules:

- one connection per operation, autocommit mode, a 30 s busy timeout (writers of other
  processes serialise on SQLite's lock);
- write-ahead logging, so readers never block the writer;
- writes in ``BEGIN IMMEDIATE`` transactions, serialised in-process by a lock, rolled
  back on any error (nothing half-written survives an exception);
- a private file (mode 0600, created so) when it may hold user data or secrets.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SqlFunction = tuple[str, int, Callable[..., Any]]
"""``(name, number of arguments, function)`` registered on every connection."""


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing, with mode 0700 for new directories."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def private_file(path: Path) -> None:
    """Make sure ``path`` exists and only its owner may read or write it (0600).

    Creates it empty with mode 0600 (never a window where it is world-readable); an
    existing file with group or other permission bits is narrowed to 0600.
    """
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o600)
    else:
        os.close(fd)


class SqliteFile:
    """One SQLite file, opened per operation.

    Parameters
    ----------
    path
        The file; its directory is created.
    private
        Create the file 0600 (and narrow an existing one): stores of user data.
    pragmas
        ``PRAGMA`` statements run on every connection (e.g. ``"synchronous=NORMAL"``).
    functions
        SQL functions registered on every connection.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        private: bool = False,
        pragmas: Sequence[str] = (),
        functions: Sequence[SqlFunction] = (),
    ) -> None:
        self.path = Path(path)
        if private:
            private_file(self.path)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pragmas = tuple(pragmas)
        self._functions = tuple(functions)
        self._lock = threading.Lock()
        with self.connect() as con:
            _use_wal(con)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A new connection in autocommit mode, closed on exit."""
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            for pragma in self._pragmas:
                con.execute(f"PRAGMA {pragma}")
            for name, n_args, function in self._functions:
                con.create_function(name, n_args, function, deterministic=True)
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self, before_commit: Sequence[str] = ()) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE``, the caller's statements, the
        ``before_commit`` statements, ``COMMIT``; ``ROLLBACK`` on any error."""
        with self._lock, self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                for statement in before_commit:
                    con.execute(statement)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise


def _use_wal(con: sqlite3.Connection, timeout_s: float = 30.0) -> None:
    """Switch the file to write-ahead logging (persistent: a no-op once done).

    Changing the journal mode does not wait on the busy handler: two processes that open
    a new file at once get ``database is locked`` at once (seen between the timeline
    service and the API opening its view). Retried until ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
