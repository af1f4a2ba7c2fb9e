"""A broken chain is not built on, and a full disk or read-only file loses nothing.

Resuming, updating or forking a thread whose hash chain does not verify raises
``CorruptLogError`` and writes nothing, unless the saver was opened with
``integrity="off"``. A write that the disk (``max_page_count``) or a read-only
connection refuses is a clear ``StorageError``; the log is as it was, and the
thread resumes once space is back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine import Command, SqliteSaver
from eventstore import CorruptLogError, SqliteEventStore, StorageError
from tests.reliability import _workflow

THREAD = "t"


def interrupted_thread(path: Path) -> Any:
    """A thread of the review workflow stopped at its first questions; the graph that ran it."""
    graph = _workflow.build(SqliteSaver(path))
    graph.invoke(_workflow.INPUT, _workflow.config_of(THREAD))
    assert graph.get_state(_workflow.config_of(THREAD)).interrupts
    return graph


def rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM events ORDER BY position").fetchall()


def tamper(path: Path, seq: int) -> None:
    """Rewrite one event's payload behind ledgergraph's back (the trigger dropped, then restored)."""
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER events_no_update")
        payload = conn.execute(
            "SELECT payload FROM events "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (THREAD, seq),
        ).fetchone()
        conn.execute(
            "UPDATE events SET payload = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (payload[0] + " ", THREAD, seq),
        )
        conn.execute(
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
            "BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE is not allowed'); END"
        )


def answers_for(graph: Any) -> Command[Any]:
    pending = graph.get_state(_workflow.config_of(THREAD)).interrupts
    return Command(resume={i.id: _workflow.answer(i.value) for i in pending})


@pytest.mark.parametrize("integrity", ["tail", "full"])
def test_resuming_a_thread_whose_chain_is_broken_is_refused_and_writes_nothing(tmp_path: Path, integrity: Any) -> None:
    path = tmp_path / "log.db"
    graph = interrupted_thread(path)
    answer = answers_for(graph)
    tamper(path, 2)
    before = rows(path)
    fresh = _workflow.build(SqliteSaver(path, integrity=integrity))

    with pytest.raises(CorruptLogError, match=r"does not verify at event 2"):
        fresh.invoke(answer, _workflow.config_of(THREAD))
    with pytest.raises(CorruptLogError):
        fresh.update_state(_workflow.config_of(THREAD), {"last": "edited"})
    with pytest.raises(CorruptLogError):
        fresh.fork(_workflow.config_of(THREAD), "copy")
    assert rows(path) == before


def test_the_caller_may_explicitly_opt_out_of_the_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    graph = interrupted_thread(path)
    answer = answers_for(graph)
    tamper(path, 2)

    trusting = _workflow.build(SqliteSaver(path, integrity="off"))
    trusting.invoke(answer, _workflow.config_of(THREAD))
    assert len(rows(path)) > 0
    assert not SqliteEventStore(path).verify(THREAD).ok, "verify still reports the broken link"


def test_a_thread_corrupted_after_this_process_checked_it_is_refused_on_its_next_write(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    graph = interrupted_thread(path)
    answer = answers_for(graph)
    head = len(rows(path))
    with sqlite3.connect(path) as conn:  # another writer appends a forged event at the end
        conn.execute(
            "INSERT INTO events (thread_key, seq, type, schema_version, payload, hash, recorded_at) "
            "VALUES ((SELECT key FROM event_threads WHERE thread_id = ?), ?, 'RunPaused', 1, '{}', ?, "
            "1767225600000000)",
            (THREAD, head + 1, bytes(32)),
        )
    with pytest.raises(CorruptLogError, match=f"event {head + 1}"):
        graph.invoke(answer, _workflow.config_of(THREAD))


def test_a_full_disk_is_a_clear_error_the_log_is_unchanged_and_the_thread_resumes_once_space_is_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.db"
    graph = interrupted_thread(path)
    pending = graph.get_state(_workflow.config_of(THREAD)).interrupts
    # Answers longer than a page: storing them needs new pages, whatever room the last ones have left.
    answer = Command(resume={i.id: _workflow.answer(i.value) + "." * 8192 for i in pending})
    before = rows(path)
    conn = sqlite3.connect(path, check_same_thread=False)
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    full = _workflow.build(SqliteSaver(conn))

    with pytest.raises(StorageError, match="full"):
        full.invoke(answer, _workflow.config_of(THREAD))
    assert rows(path) == before
    assert SqliteEventStore(path).verify(THREAD).ok

    conn.execute(f"PRAGMA max_page_count = {pages * 1000}")
    values = _workflow.drive(full, THREAD)
    reference = _workflow.drive(_workflow.build(SqliteSaver(tmp_path / "reference.db")), THREAD)
    assert values == reference
    assert SqliteEventStore(path).verify(THREAD).ok


def test_a_read_only_database_is_a_clear_error_and_the_log_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    graph = interrupted_thread(path)
    answer = answers_for(graph)
    before = rows(path)
    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    reader = _workflow.build(SqliteSaver(read_only))

    assert reader.get_state(_workflow.config_of(THREAD)).interrupts, "reading still works"
    with pytest.raises(StorageError, match="read-only"):
        reader.invoke(answer, _workflow.config_of(THREAD))
    assert rows(path) == before
    graph.invoke(answer, _workflow.config_of(THREAD))
    assert len(rows(path)) > len(before)
