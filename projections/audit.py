"""The ``audit_trail`` projection: who changed what, when, through which node or resume.

One row per state change, resume answer and manual edit:

- ``input``: the run's input, written by the hidden ``__start__`` task;
- ``node``: a node's writes (``keys`` lists the state keys it changed);
- ``update_state``: a manual edit (``node`` is the ``as_node`` it was made as);
- ``command``: the ``update``/``goto`` of a ``Command`` sent as input;
- ``resume``: one answer to one ``interrupt()``: which interrupt, the question, the answer.

``checkpoint_id`` is the checkpoint the change was made on (the step a node
ran in, the checkpoint a resume answered or an edit was based on);
``applied_in`` is the first checkpoint whose state includes the change.
``actor`` is the run metadata (``config["metadata"]`` and scalar
``configurable`` keys, e.g. ``{"user": "dana"}``); for node writes it is the
metadata of the run that committed the step. ``user`` repeats ``actor.user``
for easy filtering.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

import engine.events as ev
from projections.facts import Fact, LoggedEvent, ThreadForked, actor_json, display_json, user_of, written_keys

TABLE = "audit_trail"
CHECKPOINTS = "audit_checkpoints"
QUESTIONS = "audit_questions"
_START = "__start__"
_COLUMNS = (
    "position",
    "part",
    "thread_id",
    "seq",
    "at",
    "kind",
    "node",
    "actor",
    "user",
    "checkpoint_id",
    "applied_in",
    "keys",
    "interrupt_id",
    "question",
    "answer",
)


class AuditTrailProjection:
    """Every state change, resume and manual edit, attributable and in log order."""

    name = "audit_trail"
    version = 1
    tables = (TABLE, CHECKPOINTS, QUESTIONS)

    def create(self, db: sqlite_utils.Database) -> None:
        db[TABLE].create(  # type: ignore[union-attr]
            {
                "position": int,
                "part": int,
                "thread_id": str,
                "seq": int,
                "at": str,
                "kind": str,
                "node": str,
                "actor": str,
                "user": str,
                "checkpoint_id": str,
                "applied_in": str,
                "keys": str,
                "interrupt_id": str,
                "question": str,
                "answer": str,
            },
            pk=("position", "part"),
            not_null={"thread_id", "seq", "at", "kind", "keys"},
        )
        db[TABLE].create_index(["thread_id", "seq"])  # type: ignore[union-attr]
        db[TABLE].create_index(["user"])  # type: ignore[union-attr]
        db[CHECKPOINTS].create(  # type: ignore[union-attr]
            {"thread_id": str, "seq": int, "checkpoint_id": str}, pk=("thread_id", "seq"), not_null={"checkpoint_id"}
        )
        db[QUESTIONS].create(  # type: ignore[union-attr]
            {"interrupt_id": str, "value_hash": str, "node": str, "value": str},
            pk=("interrupt_id", "value_hash"),
            not_null={"node", "value"},
        )

    def apply(self, db: sqlite_utils.Database, fact: Fact) -> None:
        if isinstance(fact, ThreadForked):
            # The fork's rows are its parent's up to the fork point; it only needs their checkpoint ids.
            for inherited in fact.inherited:
                if isinstance(inherited.event, ev.CheckpointCommitted):
                    _remember_checkpoint(db, inherited.thread_id, inherited.seq, inherited.event.id)
            return
        _fold(db, fact)

    def flush(self, db: sqlite_utils.Database) -> None:
        return None


def _fold(db: sqlite_utils.Database, fact: LoggedEvent) -> None:
    event = fact.event
    if isinstance(event, ev.CheckpointCommitted):
        _remember_checkpoint(db, fact.thread_id, fact.seq, event.id)
        if event.applied:
            _mark_applied(db, fact.thread_id, event)
    elif isinstance(event, ev.TaskCompleted) and event.writes:
        kind = "input" if event.node == _START else "node"
        _insert(db, fact, 0, kind=kind, node=event.node, keys=written_keys(event.writes), at=event.checkpoint_seq)
    elif isinstance(event, ev.StateUpdated):
        _insert(
            db,
            fact,
            0,
            kind=event.kind,
            node=event.as_node,
            keys=written_keys(event.writes),
            at=event.checkpoint_seq,
            actor=event.actor,
        )
    elif isinstance(event, ev.InterruptRaised):
        db.execute(
            f"INSERT OR IGNORE INTO {QUESTIONS} (interrupt_id, value_hash, node, value) VALUES (?, ?, ?, ?)",
            [event.interrupt_id, event.value_hash, event.task.name, display_json(event.value)],
        )
    elif isinstance(event, ev.ResumeRecorded):
        for part, answer in enumerate(event.answers):
            asked = db.execute(
                f"SELECT node, value FROM {QUESTIONS} WHERE interrupt_id = ? AND value_hash = ?",
                [answer.interrupt_id, answer.question_hash],
            ).fetchone()
            _insert(
                db,
                fact,
                part,
                kind="resume",
                node=asked[0] if asked else None,
                keys=[],
                at=event.checkpoint_seq,
                actor=event.actor,
                interrupt_id=answer.interrupt_id,
                question=asked[1] if asked else None,
                answer=display_json(answer.value),
            )


def _remember_checkpoint(db: sqlite_utils.Database, thread_id: str, seq: int, checkpoint_id: str) -> None:
    db.execute(
        f"INSERT OR REPLACE INTO {CHECKPOINTS} (thread_id, seq, checkpoint_id) VALUES (?, ?, ?)",
        [thread_id, seq, checkpoint_id],
    )


def _mark_applied(db: sqlite_utils.Database, thread_id: str, event: ev.CheckpointCommitted) -> None:
    """The checkpoint includes these writes: record it, and give node writes the committing run's metadata."""
    seqs = f"thread_id = ? AND seq IN ({', '.join('?' for _ in event.applied)})"
    db.execute(
        f"UPDATE {TABLE} SET applied_in = ? WHERE {seqs} AND applied_in IS NULL", [event.id, thread_id, *event.applied]
    )
    actor = actor_json(event.metadata)
    if actor is not None:
        db.execute(
            f"UPDATE {TABLE} SET actor = ?, user = ? WHERE {seqs} AND actor IS NULL AND kind IN ('node', 'input')",
            [actor, user_of(event.metadata), thread_id, *event.applied],
        )


def _insert(
    db: sqlite_utils.Database,
    fact: LoggedEvent,
    part: int,
    *,
    kind: str,
    node: str | None,
    keys: list[str],
    at: int | None,
    actor: Any = None,
    interrupt_id: str | None = None,
    question: str | None = None,
    answer: str | None = None,
) -> None:
    checkpoint = None
    if at is not None:
        found = db.execute(
            f"SELECT checkpoint_id FROM {CHECKPOINTS} WHERE thread_id = ? AND seq = ?", [fact.thread_id, at]
        ).fetchone()
        checkpoint = found[0] if found else None
    row = (
        fact.position,
        part,
        fact.thread_id,
        fact.seq,
        fact.recorded_at,
        kind,
        node,
        actor_json(actor),
        user_of(actor),
        checkpoint,
        None,
        display_json(keys),
        interrupt_id,
        question,
        answer,
    )
    db.execute(f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})", row)
