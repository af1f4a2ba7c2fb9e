"""A log written before ``TaskCompleted`` version 2 reads, continues and projects as if written today.

``fixtures/version1.db`` was written by the engine of commit 94c4ef2 (see
``version1_log``): its completions store their task ids, and writes are objects.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine import Command, InMemorySaver, SqliteSaver
from engine.events import CheckpointCommitted, TaskCompleted, task_id
from eventstore import SqliteEventStore, decode_event
from projections import queries
from projections.ledger import Ledger
from tests.engine import version1_log as v1


@pytest.fixture
def old_log(tmp_path: Path) -> Path:
    copy = tmp_path / "version1.db"
    shutil.copyfile(v1.FIXTURE, copy)
    return copy


@pytest.fixture
def graph(old_log: Path) -> Iterator[Any]:
    with SqliteSaver(old_log) as saver:
        yield v1.build(saver)


def shape(snapshot: Any) -> tuple[Any, ...]:
    """What a snapshot says, without the ids that differ from run to run."""
    return (
        snapshot.values,
        snapshot.next,
        [(task.name, task.path, task.error is not None, task.result) for task in snapshot.tasks],
        [interrupt.value for interrupt in snapshot.interrupts],
        snapshot.metadata["source"],
        snapshot.metadata["step"],
    )


def test_the_fixture_holds_version_1_completions_and_updates() -> None:
    with SqliteEventStore(v1.FIXTURE) as store:
        versions = {(r.type, r.schema_version) for r in store.read_all()}
    assert {("TaskCompleted", 1), ("StateUpdated", 1)} <= versions
    assert not {("TaskCompleted", 2), ("StateUpdated", 2)} & versions


def test_every_task_id_a_version_1_completion_stored_is_the_one_derived_from_its_checkpoint_and_path() -> None:
    checked = 0
    with SqliteEventStore(v1.FIXTURE) as store:
        for info in store.list_threads():
            records = list(store.read(info.thread_id))
            ids = {r.seq: decode_event(r).id for r in records if r.type == "Checkpoint"}
            for record in records:
                if record.type != "TaskCompleted":
                    continue
                event = decode_event(record)
                assert isinstance(event, TaskCompleted)
                stored_id = orjson.loads(record.payload)["task"]["id"]
                assert task_id(ids[event.checkpoint_seq], event.path) == stored_id
                checked += 1
    assert checked >= 14  # pulls, Sends and START tasks of three threads


@pytest.mark.parametrize("thread_id", ["done", "waiting", "failing"])
def test_every_checkpoint_of_an_old_thread_reads_as_the_same_calls_give_today(graph: Any, thread_id: str) -> None:
    fresh = v1.build(InMemorySaver())
    if thread_id == "done":
        v1.run_done(fresh, thread_id)
    else:
        v1.FLAKY_IS_DOWN["now"] = thread_id == "failing"
        try:
            fresh.invoke({"log": []}, v1.config(thread_id))
        except RuntimeError:
            pass
        finally:
            v1.FLAKY_IS_DOWN["now"] = False
    old_history = [shape(s) for s in graph.get_state_history(v1.config(thread_id))]
    new_history = [shape(s) for s in fresh.get_state_history(v1.config(thread_id))]
    assert old_history == new_history
    assert shape(graph.get_state(v1.config(thread_id))) == shape(fresh.get_state(v1.config(thread_id)))


def test_an_old_interrupt_is_answered_and_its_thread_finishes_with_new_events_on_the_old_chain(
    graph: Any, old_log: Path
) -> None:
    waiting = graph.get_state(v1.config("waiting"))
    (asked,) = waiting.interrupts
    assert asked.value == {"question": "approve?", "entries": 5}
    result = graph.invoke(Command(resume="approved"), v1.config("waiting"))
    assert result == {"log": ["flaky", "plan", "did job0", "did job1", "did job2"], "verdict": "approved"}
    with SqliteEventStore(old_log) as store:
        assert store.verify("waiting").ok
        versions = [(r.type, r.schema_version) for r in store.read("waiting")]
    assert ("TaskCompleted", 1) in versions and versions[-2:] == [("TaskCompleted", 2), ("Checkpoint", 1)]


def test_an_old_failed_step_reruns_only_the_failed_task(graph: Any, old_log: Path) -> None:
    failed = graph.get_state(v1.config("failing"))
    assert [(t.name, t.error is not None, t.result is not None) for t in failed.tasks] == [
        ("flaky", True, False),
        ("plan", False, True),
    ]
    graph.invoke(None, v1.config("failing"))  # stops at review's interrupt, past the failed step
    with SqliteEventStore(old_log) as store:
        rerun = [decode_event(r) for r in store.read("failing", from_seq=6)]
    assert [e.node for e in rerun if isinstance(e, TaskCompleted)][:1] == ["flaky"]  # plan did not run again
    # the step's checkpoint folds the new completion and the old one, in path order (flaky, then plan)
    assert isinstance(rerun[1], CheckpointCommitted) and rerun[1].applied == (6, 5)


def test_projections_built_from_an_old_log_match_its_threads(graph: Any, old_log: Path) -> None:
    with Ledger(old_log) as ledger:
        threads = {row["thread_id"]: row for row in queries.list_threads(ledger)}
        inbox = queries.pending_interrupts(ledger)
    assert threads["failing"]["status"] == "failed" and len(threads["failing"]["failed_tasks"]) == 1
    assert [(row["thread_id"], row["node"], row["task_path"]) for row in inbox] == [
        ("waiting", "review", ["__pregel_pull", "review"])
    ]
    graph.invoke(None, v1.config("failing"))
    graph.invoke(Command(resume="approved"), v1.config("waiting"))
    with Ledger(old_log) as ledger:
        threads = {row["thread_id"]: row for row in queries.list_threads(ledger)}
        inbox = queries.pending_interrupts(ledger)
    assert threads["waiting"]["status"] == "done"
    assert threads["failing"]["failed_tasks"] == [] and threads["failing"]["error"] is None
    assert [(row["thread_id"], row["node"]) for row in inbox] == [("failing", "review")]


def test_an_old_log_with_its_snapshots_deleted_reads_the_same(graph: Any, old_log: Path) -> None:
    before = {t: shape(graph.get_state(v1.config(t))) for t in ("done", "waiting", "failing")}
    assert graph.verify_snapshots().ok
    with SqliteEventStore(old_log) as store:
        store.delete_snapshots()
    with SqliteSaver(old_log) as saver:
        reread = v1.build(saver)
        assert {t: shape(reread.get_state(v1.config(t))) for t in before} == before
