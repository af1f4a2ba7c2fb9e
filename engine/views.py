"""What a read of a thread gives: its checkpoints with their place in the log, their steps' results, a view.

``engine.replay`` makes these from the log; snapshots, runs and the graph's
read methods consume them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from engine.events import (
    CheckpointCommitted,
    InterruptRaised,
    ResumeAnswer,
    ResumeRecorded,
    RunPaused,
    StateUpdated,
    TaskCompleted,
    TaskFailed,
)
from engine.planning import Frame
from eventstore import StoredEvent, decode_event, maker, slot_init


@slot_init
@attrs.frozen(kw_only=True)
class CheckpointRecord:
    """A checkpoint event with its place in the log."""

    seq: int
    id: str
    event: CheckpointCommitted
    recorded_at: str

    @classmethod
    def from_record(cls, record: StoredEvent, event: CheckpointCommitted | None = None) -> CheckpointRecord:
        decoded = event if event is not None else decode_event(record)
        return _new_checkpoint_record(seq=record.seq, id=decoded.id, event=decoded, recorded_at=record.recorded_at)


_new_checkpoint_record = maker(CheckpointRecord)  # history makes one per checkpoint (``slot_init.maker``)


_NONE: Mapping[Any, Any] = MappingProxyType({})
"""The shared empty mapping a ``Pending`` starts with where results are rare (copied on first write)."""


@attrs.define
class Pending:
    """What happened at a checkpoint after it was committed: its step's results so far.

    Every checkpoint read gets one, and most hold one finished task and nothing
    else: failures, interrupts, answers and commands start as shared empty values
    and are copied when one is added, so the common case allocates one dict.
    """

    completed: dict[tuple[str | int, ...], tuple[int, TaskCompleted]] = attrs.Factory(dict)
    """By task path: a completion names its task by path (all of a ``Pending``'s tasks share its checkpoint)."""
    commands: tuple[tuple[int, StateUpdated], ...] = ()
    failed: Mapping[str, TaskFailed] = _NONE
    interrupts: Mapping[str, Mapping[int, InterruptRaised]] = _NONE
    answers: Mapping[str, Mapping[int, ResumeAnswer]] = _NONE
    paused: RunPaused | None = None

    def add(self, seq: int, event: Any) -> None:
        if isinstance(event, TaskCompleted):
            self.completed[event.path] = (seq, event)
            if self.failed:
                self.failed = {key: failed for key, failed in self.failed.items() if failed.task.path != event.path}
        elif isinstance(event, TaskFailed):
            self.failed = {**self.failed, event.task.id: event}
        elif isinstance(event, InterruptRaised):
            raised = {**self.interrupts.get(event.task.id, _NONE), event.index: event}
            self.interrupts = {**self.interrupts, event.task.id: raised}
        elif isinstance(event, ResumeRecorded):
            answers = dict(self.answers)
            for answer in event.answers:
                answers[answer.task_id] = {**answers.get(answer.task_id, _NONE), answer.index: answer}
            self.answers = answers
        elif isinstance(event, StateUpdated) and event.kind == "command":
            self.commands = (*self.commands, (seq, event))
        elif isinstance(event, RunPaused):
            self.paused = event

    def copy(self) -> Pending:
        """An equal ``Pending`` that ``add`` on either leaves the other as it was.

        Only ``completed`` is changed in place; ``add`` replaces the other mappings.
        """
        return Pending(
            completed=dict(self.completed),
            commands=self.commands,
            failed=self.failed,
            interrupts=self.interrupts,
            answers=self.answers,
            paused=self.paused,
        )

    def resume_values(self, task_id: str) -> list[Any]:
        """The answers recorded for a task, in interrupt order (stopping at the first gap)."""
        answers = self.answers.get(task_id, _NONE)
        values: list[Any] = []
        while len(values) in answers:
            values.append(answers[len(values)].value)
        return values

    def open_interrupt(self, task_id: str, path: tuple[str | int, ...]) -> InterruptRaised | None:
        """The interrupt of the task (``task_id`` at ``path``) that is waiting for an answer, if any."""
        if path in self.completed:
            return None
        return self.interrupts.get(task_id, _NONE).get(len(self.resume_values(task_id)))

    def latest_interrupt(self, task_id: str) -> InterruptRaised | None:
        raised = self.interrupts.get(task_id)
        return raised[max(raised)] if raised else None


@slot_init
@attrs.frozen(kw_only=True)
class ThreadView:
    """A thread at one checkpoint: its folded frame and the results recorded since."""

    thread_id: str
    last_seq: int
    """The thread's last event when loaded at its head; 0 for a view of a past checkpoint."""
    checkpoint: CheckpointRecord | None
    frame: Frame
    pending: Pending

    def with_own_pending(self) -> ThreadView:
        """The same view with a copy of its pending results, so ``add`` on one leaves the other as it was."""
        return ThreadView(
            thread_id=self.thread_id,
            last_seq=self.last_seq,
            checkpoint=self.checkpoint,
            frame=self.frame,
            pending=self.pending.copy(),
        )
