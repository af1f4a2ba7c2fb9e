"""The ``interrupt_inbox`` projection: every ``interrupt()`` waiting for a human, across all threads.

A row appears when a task raises an interrupt and goes when it is answered
(``ResumeRecorded``), when its task completes, or when a newer checkpoint on
the thread supersedes the interrupted step (``update_state``, new input, a
replay from an earlier checkpoint). A fork inherits what was waiting at its
fork point.
"""

from __future__ import annotations

import orjson
import sqlite_utils

import engine.events as ev
from projections.facts import Fact, LoggedEvent, ThreadForked, display_json

TABLE = "interrupt_inbox"


class InterruptInboxProjection:
    """Pending interrupts: thread, node, interrupt id, the question asked, and since when."""

    name = "interrupt_inbox"
    version = 2
    """2: rows keep their task's path, which a completion names its task by."""
    tables = (TABLE,)

    def create(self, db: sqlite_utils.Database) -> None:
        db[TABLE].create(  # type: ignore[union-attr]
            {
                "thread_id": str,
                "interrupt_id": str,
                "node": str,
                "task_id": str,
                "task_path": str,
                "interrupt_index": int,
                "value": str,
                "question_hash": str,
                "since": str,
            },
            pk=("thread_id", "interrupt_id"),
            not_null={"node", "task_id", "task_path", "interrupt_index", "value", "question_hash", "since"},
        )
        db[TABLE].create_index(["since"])  # type: ignore[union-attr]

    def apply(self, db: sqlite_utils.Database, fact: Fact) -> None:
        if isinstance(fact, ThreadForked):
            for inherited in fact.inherited:
                _fold(db, inherited)
        else:
            _fold(db, fact)

    def flush(self, db: sqlite_utils.Database) -> None:
        return None


def _fold(db: sqlite_utils.Database, fact: LoggedEvent) -> None:
    event = fact.event
    thread = fact.thread_id
    if isinstance(event, ev.InterruptRaised):
        db.execute(
            f"INSERT OR IGNORE INTO {TABLE} (thread_id, interrupt_id, node, task_id, task_path, interrupt_index, "
            "value, question_hash, since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                thread,
                event.interrupt_id,
                event.task.name,
                event.task.id,
                _path_json(event.task.path),
                event.index,
                display_json(event.value),
                event.value_hash,
                fact.recorded_at,
            ],
        )
    elif isinstance(event, ev.ResumeRecorded):
        for answer in event.answers:
            db.execute(f"DELETE FROM {TABLE} WHERE thread_id = ? AND interrupt_id = ?", [thread, answer.interrupt_id])
    elif isinstance(event, ev.TaskCompleted):
        # the thread's rows are all of its head's step (a checkpoint clears them), as is the completed task
        db.execute(f"DELETE FROM {TABLE} WHERE thread_id = ? AND task_path = ?", [thread, _path_json(event.path)])
    elif isinstance(event, ev.CheckpointCommitted):
        db.execute(f"DELETE FROM {TABLE} WHERE thread_id = ?", [thread])


def _path_json(path: tuple[str | int, ...]) -> str:
    return orjson.dumps(path).decode()
