"""Tampering: a changed, deleted, reordered or inserted event of an engine thread is reported by ``verify``.

The thread is a real run of the review workflow; a fork of it shares its
prefix. The tamperer drops the append-only triggers and edits rows with raw SQL.
``verify`` names the first position (thread and sequence number) where the chain
no longer holds. What a hash chain alone cannot see, and these tests do not
claim: events cut off the end of a thread, or new events appended with hashes
the tamperer computed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import SqliteSaver
from eventstore import GENESIS, CorruptLogError, SqliteEventStore, VerifyReport, chain_hash, decode_event
from tests.rawsql import rewritten_copy, type_code, type_name
from tests.reliability import _workflow

FORK_AT = 12
"""The fork shares events 1..FORK_AT of ``done`` (the checkpoint before ``review``)."""
SHIFT = 1_000_000


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tamper") / "base.db"
    with SqliteSaver(path) as saver:
        graph = _workflow.build(saver)
        _workflow.drive(graph, "done")
        (before_review,) = [s for s in graph.get_state_history(_workflow.config_of("done")) if s.next == ("review",)]
        graph.fork(before_review.config, "fork")
        _workflow.drive(graph, "fork")
    with SqliteEventStore(path) as store:
        assert store.thread("fork").parent_seq == FORK_AT
        assert store.verify("done").ok and store.verify("fork").ok
    return path


@contextmanager
def tampered(base: Path, tamper: Callable[[sqlite3.Connection], None]) -> Iterator[SqliteEventStore]:
    with rewritten_copy(base, tamper) as path, SqliteEventStore(path) as store:
        yield store


def head(base: Path, thread_id: str = "done") -> int:
    with SqliteEventStore(base) as store:
        return store.head(thread_id)


def broken_at(report: VerifyReport) -> tuple[str, int]:
    assert report.broken is not None, f"verify missed the tampering ({report.events_checked} events checked)"
    return report.broken.thread_id, report.broken.seq


# -- the tampering operations ---------------------------------------------------------------------


def change_payload(seq: int, thread_id: str = "done") -> Callable[[sqlite3.Connection], None]:
    """Rewrite one event's payload as valid JSON with one value changed (the hash left alone)."""

    def tamper(conn: sqlite3.Connection) -> None:
        (payload,) = conn.execute(
            "SELECT payload FROM events "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (thread_id, seq),
        ).fetchone()
        data = orjson.loads(payload)
        data["tampered"] = True
        conn.execute(
            "UPDATE events SET payload = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (orjson.dumps(data).decode(), thread_id, seq),
        )

    return tamper


def change_column(seq: int, column: str, value: object) -> Callable[[sqlite3.Connection], None]:
    """Set one column of event ``seq``; a type given as a name is stored as its code, as the log stores types."""

    def tamper(conn: sqlite3.Connection) -> None:
        stored = type_code(conn, value) if column == "type" and isinstance(value, str) else value
        conn.execute(
            f"UPDATE events SET {column} = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = ?",
            (stored, seq),
        )

    return tamper


def delete(seq: int) -> Callable[[sqlite3.Connection], None]:
    def tamper(conn: sqlite3.Connection) -> None:
        conn.execute(
            "DELETE FROM events "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = ?",
            (seq,),
        )

    return tamper


def swap(a: int, b: int) -> Callable[[sqlite3.Connection], None]:
    """Exchange the places of two events (each keeps its content and hash)."""

    def tamper(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE events SET seq = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = ?",
            (SHIFT, a),
        )
        conn.execute(
            "UPDATE events SET seq = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = ?",
            (a, b),
        )
        conn.execute(
            "UPDATE events SET seq = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = ?",
            (b, SHIFT),
        )

    return tamper


def insert(seq: int, *, forge_hash: bool) -> Callable[[sqlite3.Connection], None]:
    """Insert a new event at ``seq`` (event ``seq`` with a value changed), moving the rest up.

    Its hash is the copied one, or with ``forge_hash`` one correctly chained to the event before it.
    """

    def tamper(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE events SET seq = seq + ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq >= ?",
            (SHIFT, seq),
        )
        conn.execute(
            "UPDATE events SET seq = seq - ? + 1 "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq >= ?",
            (SHIFT, SHIFT),
        )
        type_, version, payload, recorded_at_us, digest = conn.execute(
            "SELECT type, schema_version, payload, recorded_at, hash FROM events "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = ?",
            (seq + 1,),
        ).fetchone()
        payload = orjson.dumps({**orjson.loads(payload), "inserted": True}).decode()
        if forge_hash:
            previous = conn.execute(
                "SELECT hash FROM events "
                "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = ?",
                (seq - 1,),
            ).fetchone()
            forged = chain_hash(
                previous=previous[0].hex() if previous else GENESIS,
                thread_id="done",
                seq=seq,
                type=type_name(conn, type_),
                schema_version=version,
                recorded_at_us=recorded_at_us,
                payload=payload.encode(),
            )
            digest = bytes.fromhex(forged)
        conn.execute(
            "INSERT INTO events (thread_key, seq, type, schema_version, payload, hash, recorded_at) "
            "VALUES ((SELECT key FROM event_threads WHERE thread_id = 'done'), ?, ?, ?, ?, ?, ?)",
            (seq, type_, version, payload, digest, recorded_at_us),
        )

    return tamper


# -- tests --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seq", [1, 2, FORK_AT, 17, "last"])
def test_a_changed_payload_is_reported_at_its_position(base_db: Path, seq: int | str) -> None:
    at = head(base_db) if seq == "last" else int(seq)
    with tampered(base_db, change_payload(at)) as store:
        report = store.verify("done")
        assert broken_at(report) == ("done", at)
        assert report.events_checked == at - 1
        assert "hash does not match" in report.broken.reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("type", "TaskFailed"),
        ("type", "NeverRegistered"),
        ("type", b"TaskFailed"),  # a type ledgergraph never writes there
        ("schema_version", 2),
        ("recorded_at", 946_684_800_000_000),  # 2000-01-01T00:00:00+00:00
        ("recorded_at", "2000-01-01T00:00:00+00:00"),  # a type ledgergraph never writes there
        ("hash", bytes(32)),
        ("hash", "0" * 64),
    ],
)
def test_a_changed_column_is_reported_at_its_position(base_db: Path, column: str, value: object) -> None:
    with tampered(base_db, change_column(7, column, value)) as store:
        assert broken_at(store.verify("done")) == ("done", 7)


def test_a_payload_of_text_that_is_not_utf8_is_reported_at_its_position_and_reads_as_corrupt(base_db: Path) -> None:
    """SQLite lets a tamperer store any bytes as text; reading such a row is a corrupt event, never a crash."""

    def not_utf8(conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE events SET payload = CAST(x'7b22ff227d' AS TEXT) "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = 7"
        )

    with tampered(base_db, not_utf8) as store:
        assert broken_at(store.verify("done")) == ("done", 7)
        with pytest.raises(CorruptLogError, match="event done#7"):
            [decode_event(record) for record in store.read("done")]


@pytest.mark.parametrize("seq", [1, 5, FORK_AT + 1])
def test_a_deleted_event_is_reported_where_it_is_missing(base_db: Path, seq: int) -> None:
    with tampered(base_db, delete(seq)) as store:
        report = store.verify("done")
        assert broken_at(report) == ("done", seq)
        assert "missing" in report.broken.reason  # type: ignore[union-attr]


@pytest.mark.parametrize(("a", "b"), [(1, 2), (4, 9), (13, 20)])
def test_two_reordered_events_are_reported_at_the_first_of_them(base_db: Path, a: int, b: int) -> None:
    with tampered(base_db, swap(a, b)) as store:
        assert broken_at(store.verify("done")) == ("done", a)


@pytest.mark.parametrize("seq", [1, 6, 18])
def test_an_inserted_event_is_reported_at_its_position(base_db: Path, seq: int) -> None:
    with tampered(base_db, insert(seq, forge_hash=False)) as store:
        assert broken_at(store.verify("done")) == ("done", seq)


@pytest.mark.parametrize("seq", [1, 6, 18])
def test_an_inserted_event_with_a_forged_hash_is_reported_at_the_event_after_it(base_db: Path, seq: int) -> None:
    with tampered(base_db, insert(seq, forge_hash=True)) as store:
        assert broken_at(store.verify("done")) == ("done", seq + 1)


def test_the_first_of_several_tampered_events_is_the_one_reported(base_db: Path) -> None:
    def several(conn: sqlite3.Connection) -> None:
        change_payload(15)(conn)
        delete(9)(conn)
        change_payload(4)(conn)

    with tampered(base_db, several) as store:
        assert broken_at(store.verify("done")) == ("done", 4)


def test_tampering_with_a_fork_s_shared_prefix_is_reported_by_the_fork_with_the_parent_s_position(
    base_db: Path,
) -> None:
    with tampered(base_db, change_payload(FORK_AT - 2)) as store:
        assert broken_at(store.verify("fork")) == ("done", FORK_AT - 2)
        assert broken_at(store.verify("done")) == ("done", FORK_AT - 2)


def test_tampering_with_the_parent_after_the_fork_point_leaves_the_fork_verified(base_db: Path) -> None:
    with tampered(base_db, change_payload(FORK_AT + 3)) as store:
        assert store.verify("fork").ok
        assert broken_at(store.verify("done")) == ("done", FORK_AT + 3)


def test_tampering_with_a_fork_s_own_event_is_reported_by_the_fork_only(base_db: Path) -> None:
    with tampered(base_db, change_payload(FORK_AT + 2, thread_id="fork")) as store:
        assert broken_at(store.verify("fork")) == ("fork", FORK_AT + 2)
        assert store.verify("done").ok


TAMPERINGS = st.sampled_from(["payload", "type", "hash", "delete", "swap", "insert"])


@given(kind=TAMPERINGS, where=st.integers(min_value=0, max_value=10_000), other=st.integers(1, 5))
def test_any_single_tampering_is_reported_at_the_first_position_it_touched(
    base_db: Path, kind: str, where: int, other: int
) -> None:
    last = head(base_db)
    seq = 1 + where % (last - 1)  # never the last event: cutting off or forging the tail is invisible to a chain
    operations = {
        "payload": change_payload(seq),
        "type": change_column(seq, "type", "StateUpdated"),
        "hash": change_column(seq, "hash", "f" * 64),
        "delete": delete(seq),
        "swap": swap(seq, min(last, seq + other)),
        "insert": insert(seq, forge_hash=False),
    }
    if kind == "swap" and seq == min(last, seq + other):
        return
    with tampered(base_db, operations[kind]) as store:
        assert broken_at(store.verify("done")) == ("done", seq)
        assert store.verify("done").events_checked == seq - 1
