"""The ``threads`` projection: one row per thread with its status, head checkpoint and lineage.

Status, as of the thread's newest checkpoint and what happened after it:

- ``failed``: a task of the step raised and has not since completed;
- ``interrupted``: a task waits in ``interrupt()`` or a static breakpoint paused the run;
- ``done``: the head checkpoint has nothing left to run;
- ``running``: anything else (a run in progress, or one stopped between steps).
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import sqlite_utils

import engine.events as ev
from projections.facts import Fact, LoggedEvent, ThreadForked

TABLE = "threads"


@attrs.define(kw_only=True)
class ThreadRow:
    """A thread as the projection tracks it (the row, plus what its status is derived from)."""

    thread_id: str
    status: str = "running"
    head_checkpoint: str | None = None
    head_seq: int | None = None
    step: int | None = None
    steps: int = 0
    next: list[str] = attrs.Factory(list)
    last_seq: int = 0
    pending_interrupts: list[str] = attrs.Factory(list)
    failed_tasks: list[str] = attrs.Factory(list)
    paused: bool = False
    error: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    parent_thread_id: str | None = None
    fork_seq: int | None = None
    fork_checkpoint: str | None = None

    def to_row(self) -> dict[str, Any]:
        row = attrs.asdict(self)
        for key in ("next", "pending_interrupts", "failed_tasks"):
            row[key] = json.dumps(row[key])
        row["paused"] = int(self.paused)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ThreadRow:
        data = dict(row)
        for key in ("next", "pending_interrupts", "failed_tasks"):
            data[key] = json.loads(data[key])
        data["paused"] = bool(data["paused"])
        return cls(**data)

    def settle(self) -> None:
        """Derive the status from the head checkpoint and the results recorded after it."""
        if self.failed_tasks:
            self.status = "failed"
        elif self.pending_interrupts or self.paused:
            self.status = "interrupted"
        elif self.head_checkpoint is not None and not self.next:
            self.status = "done"
        else:
            self.status = "running"


class ThreadsProjection:
    """Every thread: status, head checkpoint, steps, times, parent thread and fork point."""

    name = "threads"
    version = 1
    tables = (TABLE,)

    def create(self, db: sqlite_utils.Database) -> None:
        db[TABLE].create(  # type: ignore[union-attr]
            {
                "thread_id": str,
                "status": str,
                "head_checkpoint": str,
                "head_seq": int,
                "step": int,
                "steps": int,
                "next": str,
                "last_seq": int,
                "pending_interrupts": str,
                "failed_tasks": str,
                "paused": int,
                "error": str,
                "created_at": str,
                "updated_at": str,
                "parent_thread_id": str,
                "fork_seq": int,
                "fork_checkpoint": str,
            },
            pk="thread_id",
            not_null={"status", "steps", "last_seq", "next", "pending_interrupts", "failed_tasks", "paused"},
        )
        db[TABLE].create_index(["status"])  # type: ignore[union-attr]

    def apply(self, db: sqlite_utils.Database, fact: Fact) -> None:
        if isinstance(fact, ThreadForked):
            row = ThreadRow(thread_id=fact.thread_id)
            for inherited in fact.inherited:
                fold(row, inherited)
            row.parent_thread_id = fact.parent_thread_id
            row.fork_seq = fact.parent_seq
            row.fork_checkpoint = row.head_checkpoint
            row.created_at = row.updated_at = fact.created_at
            _save(db, row)
            return
        if fact.event is None:
            return
        row = _load(db, fact.thread_id) or ThreadRow(thread_id=fact.thread_id, created_at=fact.recorded_at)
        fold(row, fact)
        _save(db, row)

    def flush(self, db: sqlite_utils.Database) -> None:
        return None


def fold(row: ThreadRow, fact: LoggedEvent) -> None:
    """Fold one event of the thread into its row."""
    event = fact.event
    row.last_seq = fact.seq
    row.updated_at = fact.recorded_at
    if isinstance(event, ev.CheckpointCommitted):
        row.head_checkpoint = event.id
        row.head_seq = fact.seq
        row.step = event.step
        row.next = list(event.next)
        if event.source == "loop":
            row.steps += 1
        row.pending_interrupts, row.failed_tasks, row.paused, row.error = [], [], False, None
    elif isinstance(event, ev.TaskCompleted):
        if row.failed_tasks and row.head_checkpoint is not None:  # a task of the head's step, named by path
            done = ev.task_id(row.head_checkpoint, event.path)
            if done in row.failed_tasks:
                row.failed_tasks.remove(done)
    elif isinstance(event, ev.TaskFailed):
        if event.task.id not in row.failed_tasks:
            row.failed_tasks.append(event.task.id)
        row.error = f"{event.task.name}: {event.error_type}: {event.error_message}"
    elif isinstance(event, ev.InterruptRaised):
        if event.interrupt_id not in row.pending_interrupts:
            row.pending_interrupts.append(event.interrupt_id)
    elif isinstance(event, ev.ResumeRecorded):
        answered = {answer.interrupt_id for answer in event.answers}
        row.pending_interrupts = [i for i in row.pending_interrupts if i not in answered]
    elif isinstance(event, ev.RunPaused):
        row.paused = True
    row.settle()


def _load(db: sqlite_utils.Database, thread_id: str) -> ThreadRow | None:
    rows = list(db.query(f"SELECT * FROM {TABLE} WHERE thread_id = ?", [thread_id]))
    return ThreadRow.from_row(rows[0]) if rows else None


def _save(db: sqlite_utils.Database, row: ThreadRow) -> None:
    data = row.to_row()
    columns = ", ".join(data)
    marks = ", ".join("?" for _ in data)
    db.execute(f"INSERT OR REPLACE INTO {TABLE} ({columns}) VALUES ({marks})", list(data.values()))
