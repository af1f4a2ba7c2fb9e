"""The log's SQLite schema: created with sqlite-utils, versioned, and checked before any write.

Opening a file that is not ours, or one written by another schema version, fails
with ``SchemaError`` before anything touches the file (not even the WAL switch).

Version 3 names an event's thread by an integer key into ``event_threads``
(version 2 repeated the thread id's text in every event row and index entry:
with 36-character ids, a sixth of a small step's bytes). Version 2 stores each
event's hash as its 32 bytes, its timestamp as integer microseconds since the
Unix epoch and its type as a code from ``event_types`` (version 1 stored all
three as text). No release ever wrote an older version, so there is no
migration: such a file is refused. The ``event_log`` view shows the log with
thread ids, type names and hex hashes, for readers with ``sqlite3`` alone.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

from eventstore.errors import SchemaError

SCHEMA_VERSION = 3
APPLICATION = "ledgergraph"
META_TABLE = "ledgergraph_meta"

_IMMUTABLE = ("events", "event_threads", "event_types")


def check_or_create(conn: sqlite3.Connection, where: str) -> None:
    """Create the schema in an empty database, or check an existing one is ours and not newer."""
    try:
        tables = _table_names(conn)
    except sqlite3.DatabaseError as exc:
        raise SchemaError(f"{where} is not a SQLite database ({exc})") from None
    if not tables:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not _table_names(conn):  # another process may have created it meanwhile
                _create(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        tables = _table_names(conn)
    _check(conn, tables, where)


def _table_names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def _check(conn: sqlite3.Connection, tables: set[str], where: str) -> None:
    if META_TABLE not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise SchemaError(f"{where} is not a ledgergraph database (it has tables: {shown}); it was not modified")
    meta = dict(conn.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())
    if meta.get("application") != APPLICATION:
        raise SchemaError(f"{where} is not a ledgergraph database (application {meta.get('application')!r})")
    try:
        version = int(meta.get("schema_version", ""))
    except ValueError:
        raise SchemaError(f"{where} has an unreadable schema version {meta.get('schema_version')!r}") from None
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{where} was written with log schema version {version}, newer than this ledgergraph's "
            f"{SCHEMA_VERSION}; upgrade ledgergraph to open it (the file was not modified)"
        )
    if version < SCHEMA_VERSION:
        raise SchemaError(
            f"{where} was written with log schema version {version}, older than this ledgergraph's "
            f"{SCHEMA_VERSION} (which keys events by an integer thread key and stores hashes as 32-byte blobs, "
            "timestamps as integer microseconds and types as codes); there has been no release, so there is no "
            "migration: open it with the development build that wrote it, or start a new log file (the file was "
            "not modified)"
        )


def _create(conn: sqlite3.Connection) -> None:
    db = sqlite_utils.Database(conn, execute_plugins=False)
    db[META_TABLE].create({"key": str, "value": str}, pk="key", not_null={"value"})  # type: ignore[union-attr]
    db[META_TABLE].insert_all(  # type: ignore[union-attr]
        [{"key": "application", "value": APPLICATION}, {"key": "schema_version", "value": str(SCHEMA_VERSION)}]
    )
    db["event_threads"].create(  # type: ignore[union-attr]
        {"key": int, "thread_id": str, "parent_thread_id": str, "parent_seq": int, "created_at": str},
        pk="key",
        not_null={"thread_id", "created_at"},
        foreign_keys=[("parent_thread_id", "event_threads", "thread_id")],
    )
    db["event_threads"].create_index(["thread_id"], index_name="event_threads_by_id", unique=True)  # type: ignore[union-attr]
    db["event_types"].create(  # type: ignore[union-attr]
        {"code": int, "name": str}, pk="code", not_null={"name"}
    )
    db["event_types"].create_index(["name"], index_name="event_types_by_name", unique=True)  # type: ignore[union-attr]
    # Positions are rowids: max + 1 for each insert, so never reused while the
    # DELETE trigger below keeps the newest row in place (no AUTOINCREMENT counter
    # to write on every append).
    db["events"].create(  # type: ignore[union-attr]
        {
            "position": int,
            "thread_key": int,
            "seq": int,
            "type": int,
            "schema_version": int,
            "payload": str,
            "hash": bytes,
            "recorded_at": int,
        },
        pk="position",
        not_null={"thread_key", "seq", "type", "schema_version", "payload", "hash", "recorded_at"},
        foreign_keys=[("thread_key", "event_threads", "key"), ("type", "event_types", "code")],
    )
    db["events"].create_index(  # type: ignore[union-attr]
        ["thread_key", "seq"], index_name="events_by_thread", unique=True
    )
    db["snapshots"].create(  # type: ignore[union-attr]
        {"thread_key": int, "seq": int, "payload": bytes, "created_at": str},
        pk=("thread_key", "seq"),
        not_null={"thread_key", "payload", "created_at"},
    )
    db.execute(
        "CREATE VIEW event_log AS SELECT e.position, t.thread_id, e.seq, y.name AS type, e.schema_version, "
        "e.payload, lower(hex(e.hash)) AS hash, e.recorded_at FROM events e "
        "JOIN event_threads t ON t.key = e.thread_key JOIN event_types y ON y.code = e.type"
    )
    for table in _IMMUTABLE:
        for action in ("UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} is not allowed'); END"
            )
