"""What the SQLite store promises beyond the contract: database-enforced immutability, tamper
detection through raw SQL, refusing files that are not ours, its pragmas, and its SQL tracer."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from eventstore import ConcurrencyError, CorruptLogError, NewEvent, SchemaError, SqliteEventStore, chain_hash, faults
from tests import rawsql
from tests.eventstore.contract import crash, event, events, seqs
from tests.rawsql import type_code


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "log.db"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteEventStore]:
    with SqliteEventStore(path) as store:
        yield store


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the file, as any other program could open (autocommit)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def pragma(store: SqliteEventStore, name: str) -> object:
    """A per-connection setting of the store's own connection."""
    return store._conn.execute(f"PRAGMA {name}").fetchone()[0]


def drop_triggers(path: Path) -> None:
    """What a tamperer with write access to the file would do first."""
    with raw(path) as conn:
        rawsql.drop_triggers(conn)


# -- immutability -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET payload = '{\"forged\": true}' WHERE seq = 1",
        "UPDATE events SET hash = 'x'",
        "DELETE FROM events WHERE seq = 2",
        "DELETE FROM events",
        "UPDATE event_threads SET parent_thread_id = 'other'",
        "DELETE FROM event_threads",
    ],
)
def test_triggers_reject_updates_and_deletes_even_from_a_raw_connection(
    store: SqliteEventStore, path: Path, statement: str
) -> None:
    store.append("t", events(3), expected_seq=0)
    before = list(store.read("t"))
    with raw(path) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(statement)
    assert list(store.read("t")) == before
    assert store.verify("t").ok


# -- tamper detection ---------------------------------------------------------------------------


def test_a_payload_changed_through_raw_sql_is_reported_by_verify(store: SqliteEventStore, path: Path) -> None:
    original = store.append("t", events(4), expected_seq=0)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute(
            "UPDATE events SET payload = '{\"n\":999}' "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 't') AND seq = 3"
        )
    report = store.verify("t")
    assert not report.ok
    assert report.broken is not None
    assert (report.broken.thread_id, report.broken.seq) == ("t", 3)
    assert report.broken.found == original[2].hash
    assert report.broken.expected == chain_hash(
        previous=original[1].hash,
        thread_id="t",
        seq=3,
        type=original[2].type,
        schema_version=1,
        recorded_at_us=original[2].recorded_at_us,
        payload=b'{"n":999}',
    )
    assert report.events_checked == 2


def test_a_forged_row_with_a_recomputed_hash_breaks_the_next_link(store: SqliteEventStore, path: Path) -> None:
    original = store.append("t", events(3), expected_seq=0)
    forged = chain_hash(
        previous=original[0].hash,
        thread_id="t",
        seq=2,
        type=original[1].type,
        schema_version=1,
        recorded_at_us=original[1].recorded_at_us,
        payload=b'{"n":-1}',
    )
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute("UPDATE events SET payload = '{\"n\":-1}', hash = ? WHERE seq = 2", (bytes.fromhex(forged),))
    report = store.verify("t")
    assert report.broken is not None
    assert report.broken.seq == 3


def test_a_deleted_row_is_reported_by_verify(store: SqliteEventStore, path: Path) -> None:
    store.append("t", events(5), expected_seq=0)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute(
            "DELETE FROM events WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 't') AND seq = 2"
        )
    report = store.verify("t")
    assert report.broken is not None
    assert (report.broken.thread_id, report.broken.seq) == ("t", 2)
    assert "missing" in report.broken.reason


def test_a_deleted_first_row_is_reported_by_verify(store: SqliteEventStore, path: Path) -> None:
    store.append("t", events(3), expected_seq=0)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute("DELETE FROM events WHERE seq = 1")
    report = store.verify("t")
    assert report.broken is not None
    assert report.broken.seq == 1


def test_swapped_rows_are_reported_by_verify(store: SqliteEventStore, path: Path) -> None:
    store.append("t", [event("A", n=1), event("B", n=2), event("C", n=3), event("D", n=4)], expected_seq=0)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute("BEGIN")
        conn.execute("UPDATE events SET seq = 1000 WHERE seq = 2")
        conn.execute("UPDATE events SET seq = 2 WHERE seq = 3")
        conn.execute("UPDATE events SET seq = 3 WHERE seq = 1000")
        conn.execute("COMMIT")
    assert [r.type for r in store.read("t")] == ["A", "C", "B", "D"]
    report = store.verify("t")
    assert report.broken is not None
    assert (report.broken.thread_id, report.broken.seq) == ("t", 2)


def test_tampering_with_a_parent_is_reported_when_verifying_its_fork(store: SqliteEventStore, path: Path) -> None:
    store.append("p", events(3), expected_seq=0)
    store.fork("p", 3, "f")
    store.append("f", events(2), expected_seq=3)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute(
            "UPDATE events SET type = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'p') AND seq = 2",
            (type_code(conn, "Forged"),),
        )
    report = store.verify("f")
    assert report.broken is not None
    assert (report.broken.thread_id, report.broken.seq) == ("p", 2)
    assert report.thread_id == "f"


@pytest.mark.parametrize("value", ["Forged", 99, 1.5, b"\x00"], ids=["text", "a code naming no type", "real", "blob"])
def test_a_type_column_that_is_not_a_known_code_is_reported_where_it_is_stored(
    store: SqliteEventStore, path: Path, value: object
) -> None:
    store.append("p", events(3), expected_seq=0)
    store.fork("p", 3, "f")
    store.append("f", events(2), expected_seq=3)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute(
            "UPDATE events SET type = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'p') AND seq = 2",
            (value,),
        )
    report = store.verify("f")
    assert report.broken is not None
    assert (report.broken.thread_id, report.broken.seq) == ("p", 2)
    assert "cannot be read" in report.broken.reason
    assert "'type'" in report.broken.found or "type code 99" in report.broken.found


def test_tampering_after_the_fork_point_does_not_break_the_fork(store: SqliteEventStore, path: Path) -> None:
    store.append("p", events(3), expected_seq=0)
    store.fork("p", 2, "f")
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute(
            "UPDATE events SET payload = '{}' "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'p') AND seq = 3"
        )
    assert store.verify("f").ok
    assert not store.verify("p").ok


# -- files that are not ours --------------------------------------------------------------------


def file_state(path: Path) -> tuple[bytes, int, list[str]]:
    """Bytes, modification time and sibling files: what 'left untouched' means."""
    return path.read_bytes(), os.stat(path).st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


def _another_apps_database(path: Path) -> None:
    with raw(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada'), ('Grace')")
    # A file that was open in WAL mode elsewhere: the riskiest kind to touch.
    with raw(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    assert not Path(f"{path}-wal").exists()


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _text_file(path: Path) -> None:
    path.write_text("name,amount\nAda,10\n")


def _newer_schema(path: Path) -> None:
    SqliteEventStore(path).close()
    with raw(path) as conn:
        conn.execute("UPDATE ledgergraph_meta SET value = '999' WHERE key = 'schema_version'")


def _schema_version_1(path: Path) -> None:
    """A log as the development builds before schema 2 wrote it: hashes and timestamps as text."""
    with raw(path) as conn:
        conn.executescript(
            """
            CREATE TABLE ledgergraph_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO ledgergraph_meta VALUES ('application', 'ledgergraph'), ('schema_version', '1');
            CREATE TABLE event_threads (thread_id TEXT PRIMARY KEY, parent_thread_id TEXT,
                parent_seq INTEGER, created_at TEXT NOT NULL);
            CREATE TABLE events (position INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, seq INTEGER NOT NULL,
                type TEXT NOT NULL, schema_version INTEGER NOT NULL, payload TEXT NOT NULL, hash TEXT NOT NULL,
                recorded_at TEXT NOT NULL);
            INSERT INTO event_threads VALUES ('t', NULL, NULL, '2026-01-01T00:00:00.000000+00:00');
            INSERT INTO events VALUES (1, 't', 1, 'A', 1, '{}', printf('%064d', 0), '2026-01-01T00:00:00.000000+00:00');
            """
        )
        conn.execute("PRAGMA journal_mode = WAL")


def _schema_version_2(path: Path) -> None:
    """A log as the development builds before schema 3 wrote it: each event row holding its thread id."""
    with raw(path) as conn:
        conn.executescript(
            """
            CREATE TABLE ledgergraph_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO ledgergraph_meta VALUES ('application', 'ledgergraph'), ('schema_version', '2');
            CREATE TABLE event_threads (thread_id TEXT PRIMARY KEY, parent_thread_id TEXT,
                parent_seq INTEGER, created_at TEXT NOT NULL);
            CREATE TABLE event_types (code INTEGER PRIMARY KEY, name TEXT NOT NULL);
            CREATE TABLE events (position INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, seq INTEGER NOT NULL,
                type INTEGER NOT NULL, schema_version INTEGER NOT NULL, payload TEXT NOT NULL, hash BLOB NOT NULL,
                recorded_at INTEGER NOT NULL);
            CREATE UNIQUE INDEX events_by_thread ON events (thread_id, seq);
            INSERT INTO event_threads VALUES ('t', NULL, NULL, '2026-01-01T00:00:00.000000+00:00');
            INSERT INTO event_types VALUES (0, 'A');
            INSERT INTO events VALUES (1, 't', 1, 0, 1, '{}', zeroblob(32), 1767225600000000);
            """
        )
        conn.execute("PRAGMA journal_mode = WAL")


def _another_application_name(path: Path) -> None:
    SqliteEventStore(path).close()
    with raw(path) as conn:
        conn.execute("UPDATE ledgergraph_meta SET value = 'someone-else' WHERE key = 'application'")


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (_another_apps_database, "not a ledgergraph database"),
        (_random_bytes, "not a SQLite database"),
        (_text_file, "not a SQLite database"),
        (_newer_schema, "schema version 999, newer"),
        (_schema_version_1, "schema version 1, older"),
        (_schema_version_2, "schema version 2, older"),
        (_another_application_name, "not a ledgergraph database"),
    ],
    ids=[
        "another app's SQLite database",
        "random bytes",
        "a text file",
        "a newer schema",
        "schema version 1",
        "schema version 2",
        "another application",
    ],
)
def test_opening_a_file_that_is_not_ours_raises_schema_error_and_leaves_it_byte_identical(
    path: Path, make_file: Callable[[Path], None], message: str
) -> None:
    make_file(path)
    before = file_state(path)
    with pytest.raises(SchemaError, match=message):
        SqliteEventStore(path)
    assert file_state(path) == before


@pytest.mark.parametrize(("make_file", "version"), [(_schema_version_1, 1), (_schema_version_2, 2)])
def test_an_older_schema_version_is_refused_with_what_to_do_and_no_migration(
    path: Path, make_file: Callable[[Path], None], version: int
) -> None:
    make_file(path)
    before = file_state(path)
    with pytest.raises(SchemaError) as raised:
        SqliteEventStore(path)
    message = str(raised.value)
    assert f"schema version {version}" in message
    assert "no release" in message
    assert "no migration" in message
    assert "start a new log file" in message
    assert "not modified" in message
    assert file_state(path) == before


def test_opening_an_empty_file_creates_the_log(path: Path) -> None:
    path.touch()
    with SqliteEventStore(path) as store:
        store.append("t", events(1), expected_seq=0)
        assert store.verify("t").ok


# -- pragmas and settings -----------------------------------------------------------------------


def test_a_file_store_runs_in_wal_mode(store: SqliteEventStore, path: Path) -> None:
    assert pragma(store, "journal_mode") == "wal"
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_synchronous_is_normal_by_default(store: SqliteEventStore) -> None:
    assert pragma(store, "synchronous") == 1  # NORMAL


def test_synchronous_full_can_be_chosen(path: Path) -> None:
    with SqliteEventStore(path, synchronous="FULL") as store:
        assert pragma(store, "synchronous") == 2  # FULL


def test_other_synchronous_levels_are_refused(path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteEventStore(path, synchronous="OFF")  # type: ignore[arg-type]
    assert not path.exists()


def test_a_busy_timeout_is_set(store: SqliteEventStore, path: Path) -> None:
    assert pragma(store, "busy_timeout") == 10_000
    with SqliteEventStore(path, busy_timeout_ms=1234) as other:
        assert pragma(other, "busy_timeout") == 1234


def test_foreign_keys_are_enforced(store: SqliteEventStore) -> None:
    assert pragma(store, "foreign_keys") == 1


def test_the_tracer_sees_each_sql_statement(path: Path) -> None:
    statements: list[str] = []
    with SqliteEventStore(path, tracer=statements.append) as store:
        statements.clear()
        store.append("t", events(2), expected_seq=0)
        list(store.read("t"))
    assert any(s.startswith("BEGIN IMMEDIATE") for s in statements)
    assert any("INSERT INTO events" in s for s in statements)
    assert any(s.startswith("SELECT") and "FROM events" in s for s in statements)
    assert statements.count("COMMIT") == 1


# -- one file, several connections ----------------------------------------------------------------


def test_events_survive_closing_and_reopening_the_file(path: Path) -> None:
    with SqliteEventStore(path) as store:
        written = store.append("t", events(3), expected_seq=0)
        store.fork("t", 2, "f")
        store.write_snapshot("t", 3, b'{"s": 3}')
    with SqliteEventStore(path) as store:
        assert list(store.read("t")) == written
        assert store.thread("f").parent_seq == 2
        snapshot = store.latest_snapshot("t")
        assert snapshot is not None
        assert snapshot.payload == b'{"s": 3}'
        assert store.verify("t").ok


def test_two_stores_on_one_file_see_each_others_appends_and_conflicts(path: Path) -> None:
    with SqliteEventStore(path) as first, SqliteEventStore(path) as second:
        first.append("t", events(2), expected_seq=0)
        assert second.head("t") == 2
        second.append("t", events(1), expected_seq=2)
        with pytest.raises(ConcurrencyError) as stale:
            first.append("t", events(2), expected_seq=2)  # expects the head it wrote itself
        assert (stale.value.expected, stale.value.actual) == (2, 3)
        assert seqs(first.read("t")) == [1, 2, 3]
        first.append("t", events(1), expected_seq=3)
        with pytest.raises(ConcurrencyError):
            second.append("t", events(1), expected_seq=3)
        assert seqs(second.read("t")) == [1, 2, 3, 4]
        assert first.verify("t").ok


def test_an_append_after_this_stores_own_append_is_one_insert_statement(path: Path) -> None:
    statements: list[str] = []
    with SqliteEventStore(path, tracer=statements.append) as store:
        store.append("t", events(2), expected_seq=0)
        statements.clear()
        store.append("t", events(2), expected_seq=2)
        assert [s.split(" (")[0] for s in statements] == ["INSERT INTO events"]
        assert store.verify("t").ok


def test_an_append_with_a_snapshot_or_a_new_event_type_is_one_transaction(path: Path) -> None:
    statements: list[str] = []
    with SqliteEventStore(path, tracer=statements.append) as store:
        store.append("t", events(2), expected_seq=0)
        statements.clear()
        store.append("t", events(1), expected_seq=2, snapshots=[(3, b"state")])
        assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
        inside = [s.split(" (")[0] for s in statements[1:-1]]
        assert inside == ["INSERT INTO events", "INSERT OR REPLACE INTO snapshots"]
        statements.clear()
        store.append("t", [NewEvent(type="Unseen", payload=b"{}")], expected_seq=3)
        assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
        assert store.verify("t").ok and [e.type for e in store.read("t")][-1] == "Unseen"


def test_an_append_after_reading_the_head_newest_first_writes_without_reading_it_again(path: Path) -> None:
    with SqliteEventStore(path) as store:
        store.append("t", events(3), expected_seq=0)
    statements: list[str] = []
    with SqliteEventStore(path, tracer=statements.append) as store:
        assert next(store.read_backward("t")).seq == 3
        statements.clear()
        store.append("t", events(1), expected_seq=3)
        assert [s.split(" (")[0] for s in statements] == ["INSERT INTO events"]
        assert seqs(store.read("t")) == [1, 2, 3, 4]
        assert store.verify("t").ok


def test_a_fork_made_through_one_connection_is_readable_through_another(path: Path) -> None:
    with SqliteEventStore(path) as first, SqliteEventStore(path) as second:
        first.append("p", events(3), expected_seq=0)
        assert second.head("f") == 0
        first.fork("p", 2, "f")
        assert second.head("f") == 2
        second.append("f", events(1), expected_seq=2)
        assert [(r.thread_id, r.seq) for r in first.read("f")] == [("p", 1), ("p", 2), ("f", 3)]


def test_starting_a_thread_another_connection_started_first_conflicts_and_writes_nothing(path: Path) -> None:
    with SqliteEventStore(path) as first, SqliteEventStore(path) as second:
        second.append("t", events(2), expected_seq=0)
        first.append("p", events(3), expected_seq=0)
        second.fork("p", 2, "f")
        # ``first`` never looked at "t" or "f": it makes their rows without reading them first
        with pytest.raises(ConcurrencyError) as started:
            first.append("t", [event("Late", n=9)], expected_seq=0)
        assert (started.value.expected, started.value.actual) == (0, 2)
        with pytest.raises(ConcurrencyError) as forked:
            first.append("f", [event("Late", n=9)], expected_seq=0)
        assert (forked.value.expected, forked.value.actual) == (0, 2)
        assert [r.seq for r in second.read("t")] == [1, 2] and second.head("f") == 2
        assert [t.thread_id for t in second.list_threads()] == ["t", "p", "f"]
        assert first.verify("t").ok and first.verify("f").ok
        assert seqs(first.append("t", events(1, start=3), expected_seq=2)) == [3]


def test_the_key_a_rolled_back_thread_was_given_is_never_used_for_it_again(path: Path) -> None:
    # The store names a thread's rows by the key its row got: a start that rolled back gave that
    # key back, and the next thread made takes it.
    with SqliteEventStore(path) as store:
        with faults.armed("store.before_commit", crash), pytest.raises(RuntimeError):
            store.append("x", events(1), expected_seq=0)
        store.append("y", events(2), expected_seq=0)
        store.append("x", events(1), expected_seq=0)
        store.append("x", events(1, start=2), expected_seq=1)
        store.append("y", events(1, start=3), expected_seq=2)
        assert seqs(store.read("x")) == [1, 2] and seqs(store.read("y")) == [1, 2, 3]
        assert store.verify("x").ok and store.verify("y").ok
    with raw(path) as conn:
        rows = conn.execute(
            "SELECT t.thread_id, count(*) FROM events e JOIN event_threads t ON t.key = e.thread_key GROUP BY 1"
        ).fetchall()
    assert sorted(rows) == [("x", 2), ("y", 3)]


# -- what a row stores --------------------------------------------------------------------------


def test_a_row_stores_the_hash_as_32_bytes_the_time_as_integer_microseconds_and_the_type_as_a_code(
    store: SqliteEventStore, path: Path
) -> None:
    (record,) = store.append("t", [event("Opened", n=1)], expected_seq=0)
    with raw(path) as conn:
        stored_hash, stored_time, stored_type = conn.execute(
            "SELECT hash, recorded_at, type FROM events "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 't') AND seq = 1"
        ).fetchone()
        names = dict(conn.execute("SELECT code, name FROM event_types").fetchall())
    assert stored_hash == bytes.fromhex(record.hash) and len(stored_hash) == 32
    assert stored_time == record.recorded_at_us and type(stored_time) is int
    assert names[stored_type] == "Opened"


def file_bytes(path: Path) -> int:
    """The database's size with everything in its WAL copied back into it."""
    with raw(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return path.stat().st_size


def test_a_row_names_its_thread_by_a_key_so_a_long_thread_id_costs_its_bytes_once(tmp_path: Path) -> None:
    sizes = {}
    for thread_id in ("t", "thread-" + "x" * 393):
        path = tmp_path / f"{len(thread_id)}.db"
        with SqliteEventStore(path) as store:
            for start in range(0, 300, 10):
                store.append(thread_id, events(10), expected_seq=start)
            assert [r.thread_id for r in store.read(thread_id)] == [thread_id] * 300
        with raw(path) as conn:
            assert conn.execute("SELECT DISTINCT typeof(thread_key) FROM events").fetchall() == [("integer",)]
        sizes[thread_id] = file_bytes(path)
    # Stored in each row and index entry, the longer id would add 300 * 2 * 399 bytes (234 KiB).
    assert abs(sizes["thread-" + "x" * 393] - sizes["t"]) <= 2 * 4096


def test_the_event_log_view_shows_each_row_as_the_store_reads_it(store: SqliteEventStore, path: Path) -> None:
    store.append("a", events(3), expected_seq=0)
    store.append("b", [event("Opened", n=1)], expected_seq=0)
    store.fork("a", 2, "a-fork")
    store.append("a-fork", events(2), expected_seq=2)
    store.append("a", events(1), expected_seq=3)
    with raw(path) as conn:
        shown = conn.execute(
            "SELECT position, thread_id, seq, type, schema_version, payload, hash, recorded_at FROM event_log "
            "ORDER BY position"
        ).fetchall()
    assert shown == [
        (r.position, r.thread_id, r.seq, r.type, r.schema_version, r.payload.decode(), r.hash, r.recorded_at_us)
        for r in store.read_all()
    ]
    assert [thread for _, thread, *_ in shown] == ["a", "a", "a", "b", "a-fork", "a-fork", "a"]


def test_an_event_moved_into_another_thread_by_its_key_is_reported_by_verify(
    store: SqliteEventStore, path: Path
) -> None:
    store.append("a", events(3), expected_seq=0)
    store.append("b", events(3), expected_seq=0)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute(
            "UPDATE events SET thread_key = (SELECT key FROM event_threads WHERE thread_id = 'b'), seq = 4 "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'a') AND seq = 3"
        )
    with SqliteEventStore(path) as reopened:
        report = reopened.verify("b")
        assert [r.thread_id for r in reopened.read("b")] == ["b"] * 4
    assert report.broken is not None
    assert (report.broken.thread_id, report.broken.seq) == ("b", 4)


def test_a_records_timestamp_reads_as_iso_8601_utc_text(store: SqliteEventStore) -> None:
    (record,) = store.append("t", events(1), expected_seq=0)
    shown = dt.datetime.fromisoformat(record.recorded_at)
    assert record.recorded_at == shown.isoformat(timespec="microseconds")
    assert shown.tzinfo == dt.UTC
    assert shown == dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=record.recorded_at_us)
    assert abs(shown - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


# -- reading payloads -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [("recorded_at", "'yesterday'"), ("recorded_at", "X'00'"), ("schema_version", "1.5"), ("type", "'A'")],
)  # (SQLite's column affinities turn numbers into text in ``payload`` and numeric text into integers in ``seq``)
def test_a_payload_read_names_the_event_and_a_column_holding_a_type_ledgergraph_never_writes(
    store: SqliteEventStore, path: Path, column: str, value: str
) -> None:
    store.append("t", events(3), expected_seq=0)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute(
            f"UPDATE events SET {column} = {value} "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 't') AND seq = 2"
        )
    payloads = store.read_payloads_backward("t")
    assert next(payloads).seq == 3  # the rows before the altered one read as they are
    with pytest.raises(CorruptLogError, match=f"event row 't'#.* has a .* in column '{column}'"):
        next(payloads)


def test_a_payload_read_reports_a_type_code_that_names_no_type(store: SqliteEventStore, path: Path) -> None:
    store.append("t", events(2), expected_seq=0)
    drop_triggers(path)
    with raw(path) as conn:
        conn.execute(
            "UPDATE events SET type = 99 "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 't') AND seq = 1"
        )
    with pytest.raises(CorruptLogError, match="event row 't'#1 has the type code 99, which names no event type"):
        list(store.read_payloads_backward("t"))


def test_a_payload_read_knows_an_event_type_another_writer_added(store: SqliteEventStore, path: Path) -> None:
    store.append("t", events(1), expected_seq=0)
    assert [p.type for p in store.read_payloads_backward("t")] == ["Happened"]
    with SqliteEventStore(path) as other:
        other.append("t", [event("Brand new")], expected_seq=1)
    assert [p.type for p in store.read_payloads_backward("t")] == ["Brand new", "Happened"]
