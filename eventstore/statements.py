"""The SQL the SQLite store runs, in one place: fixed texts, so the statement cache compiles each once.

Rows store their thread's integer key, never its id (log schema 3): each
statement that names a thread by id looks its key up itself (``KEY_OF``, a
subquery SQLite evaluates once), and a read of one thread selects the id it
was given as the row's first column (``?1``), so no read needs a round trip or
a cache for keys. A page size is a parameter, never part of a text.
"""

from __future__ import annotations

KEY_OF = "(SELECT key FROM event_threads WHERE thread_id = ?)"
"""A thread's key, looked up by its id inside the statement that needs it."""
_KEY_OF_FIRST = "(SELECT key FROM event_threads WHERE thread_id = ?1)"
"""The same, for statements that also select the id they were given as ``?1``."""
EVENT_COLUMNS = "seq, position, type, schema_version, CAST(payload AS BLOB), hash, recorded_at"
"""The columns a read selects after the thread id. The payload comes as the bytes it is stored as."""
PAYLOAD_COLUMNS = "seq, type, schema_version, CAST(payload AS BLOB), recorded_at"
"""The columns a read of payloads selects after the thread id (``EventPayload``): no position, no hash."""

# -- writes -------------------------------------------------------------------------------------

INSERT_ROWS = 100  # rows per INSERT statement: a step's events usually go in one statement
_insert_texts: dict[tuple[int, bool], str] = {}


def insert_sql(count: int, *, by_key: bool = False) -> str:
    """One INSERT of ``count`` event rows (texts cached per shape, so SQLite's statement cache hits).

    Each row gives its thread's id (``rows.new_rows``), and the statement stores the
    thread's key; ``by_key`` rows give the key itself (a store that knows it saves
    SQLite a lookup of the id per row).
    """
    sql = _insert_texts.get((count, by_key))
    if sql is None:
        owner = "?" if by_key else KEY_OF
        values = ", ".join([f"({owner}, ?, ?, ?, ?, ?, ?)"] * count)
        sql = _insert_texts[(count, by_key)] = (
            f"INSERT INTO events (thread_key, seq, type, schema_version, payload, hash, recorded_at) VALUES {values}"
        )
    return sql


INSERT_SNAPSHOT = f"INSERT OR REPLACE INTO snapshots (thread_key, seq, payload, created_at) VALUES ({KEY_OF}, ?, ?, ?)"
NEW_THREAD = "INSERT INTO event_threads (thread_id, created_at) VALUES (?, ?)"
NEW_FORK = "INSERT INTO event_threads (thread_id, parent_thread_id, parent_seq, created_at) VALUES (?, ?, ?, ?)"
DELETE_SNAPSHOTS = "DELETE FROM snapshots"
DELETE_THREAD_SNAPSHOTS = f"DELETE FROM snapshots WHERE thread_key = {KEY_OF}"

# -- reads --------------------------------------------------------------------------------------

THREAD_RANGE = f"SELECT ?1, {EVENT_COLUMNS} FROM events WHERE thread_key = {_KEY_OF_FIRST} AND seq BETWEEN ? AND ?"
"""A thread's own events in a range of seqs; ends with ``FORWARD_ORDER`` or ``BACKWARD_ORDER`` (a type filter
may come between)."""
FORWARD_ORDER = " ORDER BY seq LIMIT ?"
BACKWARD_ORDER = " ORDER BY seq DESC LIMIT ?"
PAYLOAD_RANGE_BACKWARD = (
    f"SELECT ?1, {PAYLOAD_COLUMNS} FROM events WHERE thread_key = {_KEY_OF_FIRST} AND seq BETWEEN ? AND ? "
    "ORDER BY seq DESC LIMIT ?"
)
ALL_AFTER = (
    f"SELECT t.thread_id, {EVENT_COLUMNS} FROM events JOIN event_threads t ON t.key = events.thread_key "
    "WHERE position > ? ORDER BY position LIMIT ?"
)
HEAD_SEQ = f"SELECT max(seq) FROM events WHERE thread_key = {KEY_OF}"
LAST_EVENT = f"SELECT seq, hash FROM events WHERE thread_key = {KEY_OF} ORDER BY seq DESC LIMIT 1"
HASH_AT = f"SELECT hash FROM events WHERE thread_key = {KEY_OF} AND seq = ?"
THREAD_ROW = "SELECT parent_thread_id, parent_seq, created_at, key FROM event_threads WHERE thread_id = ?"
LIST_THREADS = (
    "SELECT t.thread_id, t.parent_thread_id, t.parent_seq, t.created_at, "
    "(SELECT max(seq) FROM events e WHERE e.thread_key = t.key) "
    "FROM event_threads t ORDER BY t.key"
)
LATEST_SNAPSHOT = (
    f"SELECT ?1, seq, payload, created_at FROM snapshots "
    f"WHERE thread_key = {_KEY_OF_FIRST} AND seq BETWEEN ? AND ? ORDER BY seq DESC LIMIT 1"
)
SNAPSHOT_SEQS = (
    f"SELECT seq FROM snapshots WHERE thread_key = {KEY_OF} AND seq BETWEEN ? AND ? ORDER BY seq DESC LIMIT ?"
)
PREPARED_READS = (
    (THREAD_RANGE + BACKWARD_ORDER, ("", 1, 0, 1)),
    (PAYLOAD_RANGE_BACKWARD, ("", 1, 0, 1)),
    (THREAD_RANGE + FORWARD_ORDER, ("", 1, 0, 1)),
    (LATEST_SNAPSHOT, ("", 1, 0)),
    (SNAPSHOT_SEQS, ("", 1, 0, 1)),
    (THREAD_ROW, ("",)),
    (HEAD_SEQ, ("",)),
)
"""The statements that start a read of a thread, each with parameters that match no row (the store
compiles them while it opens)."""
