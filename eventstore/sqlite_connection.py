"""The SQLite store's connection: how it is opened, how a write transaction runs, what failures mean.

Opening sets the pragmas the log relies on (WAL, ``synchronous``, foreign keys,
``busy_timeout``) and checks or creates the schema. Every append, fork and
snapshot write passes through ``WriteTransaction``: SQLite's write lock is taken
by the first statement (``BEGIN IMMEDIATE``), the work is committed whole or
rolled back whole, and any backend error leaves as a ``StorageError`` that says
what was being done, on which file, and, for the failures an operator can act
on, that nothing was written.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from eventstore import faults
from eventstore.errors import EventStoreError, StorageError
from eventstore.schema import check_or_create

Synchronous = Literal["NORMAL", "FULL"]

_EXPLANATIONS = (
    ("database or disk is full", "the disk (or the database's max_page_count) is full; nothing was written"),
    ("readonly", "the database file is read-only; nothing was written"),
    ("database is locked", "another connection held the write lock for longer than busy_timeout; nothing was written"),
    ("disk i/o error", "the operating system reported an I/O error; nothing was written"),
)


def open_connection(
    path: str | Path | sqlite3.Connection,
    *,
    synchronous: Synchronous,
    busy_timeout_ms: int,
    tracer: Callable[[str], None] | None,
    prepare: Callable[[sqlite3.Connection], None],
) -> tuple[sqlite3.Connection, str]:
    """A connection in autocommit mode on a checked schema, and the path it names; closed again if anything fails.

    ``path`` may be a caller's open connection: the store manages transactions
    itself, so it is put in autocommit mode. ``prepare`` runs last, on the opened
    connection (the store reads its type codes and compiles its first reads there).
    """
    if isinstance(path, sqlite3.Connection):
        conn = path
        conn.isolation_level = None
        label = _connection_path(conn)
    else:
        label = str(path)
        try:
            # Room for the prepared reads beside an INSERT text per batch size (up to INSERT_ROWS).
            conn = sqlite3.connect(label, isolation_level=None, check_same_thread=False, cached_statements=256)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {label!r}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if tracer is not None:
            conn.set_trace_callback(tracer)
        check_or_create(conn, repr(label))
        if label not in (":memory:", ""):
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        prepare(conn)
    except EventStoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(f"cannot open {label!r}: {exc}") from None
    return conn, label


def _connection_path(conn: sqlite3.Connection) -> str:
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file) or ":memory:"
    return ":memory:"


def storage_error(what: str, path: str, exc: sqlite3.Error) -> StorageError:
    """``what`` failed on the database at ``path``: SQLite's message, explained where it is a known fault."""
    message = str(exc)
    lowered = message.lower()
    for needle, meaning in _EXPLANATIONS:
        if needle in lowered:
            message = f"{message} ({meaning})"
            break
    return StorageError(f"{what} failed on {path!r}: {message}")


class WriteTransaction:
    """``with WriteTransaction(conn, lock, what, path) as conn``: ``BEGIN IMMEDIATE`` .. ``COMMIT``.

    Rolled back on any error; ``lock`` (the store's) is held throughout. A class
    rather than a generator-based context manager: every append passes here.
    """

    __slots__ = ("conn", "lock", "path", "what")

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, what: str, path: str) -> None:
        self.conn = conn
        self.lock = lock
        self.what = what
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self.lock.release()
            if isinstance(exc, sqlite3.Error):
                raise storage_error(self.what, self.path, exc) from exc
            raise
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        conn = self.conn
        try:
            if error is None:
                try:
                    faults.hit("store.before_commit")
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise storage_error(self.what, self.path, exc) from exc
        finally:
            self.lock.release()
        if error is None:
            faults.hit("store.after_commit")
        elif isinstance(error, sqlite3.Error):
            raise storage_error(self.what, self.path, error) from error
