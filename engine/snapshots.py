"""Building ``StateSnapshot``s from a folded thread: the live view and the historical one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.detach import detached
from engine.errors import InvalidUpdateError, TaskError
from engine.events import InterruptRaised, TaskCompleted
from engine.planning import Frame, plan_slots
from engine.types import Interrupt, PregelTask, StateSnapshot
from engine.views import CheckpointRecord, Pending, ThreadView

if TYPE_CHECKING:
    from engine.compiled import CompiledStateGraph


_make = tuple.__new__
"""A named tuple from all its fields, in order: its own ``__new__`` is a Python function, and history makes two
of these per checkpoint (half the cost of calling the class)."""


def _result(completed: TaskCompleted) -> dict[str, Any]:
    """A finished task's writes as ``PregelTask.result`` shows them (the caller's copy: ``engine.detach``)."""
    writes = completed.writes
    if len(writes) == 1:  # most tasks write one key: no comprehension to call
        return {writes[0].key: detached(writes[0].value)}
    return {write.key: detached(write.value) for write in writes}


def checkpoint_config(thread_id: str, checkpoint_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}


def checkpoint_metadata(checkpoint: CheckpointRecord) -> dict[str, Any]:
    """A checkpoint's metadata as LangGraph shows it: the run metadata plus source, step and parents."""
    recorded = checkpoint.event.metadata if isinstance(checkpoint.event.metadata, dict) else {}
    return {**recorded, "source": checkpoint.event.source, "step": checkpoint.event.step, "parents": {}}


def empty_snapshot(config: dict[str, Any]) -> StateSnapshot:
    return StateSnapshot(
        values={}, next=(), config=config, metadata=None, created_at=None, parent_config=None, tasks=(), interrupts=()
    )


def live_values(graph: CompiledStateGraph, frame: Frame, pending: Pending) -> dict[str, Any]:
    """A checkpoint's values with the writes of its step's finished tasks applied, in task-path order."""
    if not pending.completed:
        return dict(frame.values)
    try:
        return dict(graph.replayer.apply_tasks(frame, pending.completed.values(), frame.step).values)
    except InvalidUpdateError:
        return dict(frame.values)


def build_snapshot(
    graph: CompiledStateGraph,
    view: ThreadView,
    *,
    live: bool,
    parent: CheckpointRecord | None,
) -> StateSnapshot:
    """The snapshot of ``view.checkpoint``: live (pending results applied) or as recorded."""
    checkpoint = view.checkpoint
    assert checkpoint is not None
    frame = graph.replayer.effective(view) if live else view.frame
    return snapshot_at(graph, view.thread_id, checkpoint, frame, view.pending, live=live, parent=parent)


def snapshot_at(
    graph: CompiledStateGraph,
    thread_id: str,
    checkpoint: CheckpointRecord,
    frame: Frame,
    pending: Pending,
    *,
    live: bool,
    parent: CheckpointRecord | None,
    metadata: dict[str, Any] | None = None,
) -> StateSnapshot:
    """``build_snapshot`` from its parts (history has no view to make for each checkpoint).

    ``frame`` is what the checkpoint's tasks see (``Replayer.effective`` when live);
    ``metadata`` is ``checkpoint_metadata(checkpoint)`` if the caller made it already.
    """
    tasks: list[PregelTask] = []
    next_names: list[str] = []
    interrupts: list[Interrupt] = []
    completed_tasks, failed_tasks = pending.completed, pending.failed
    raised: InterruptRaised | None = None
    for id_, name, path in plan_slots(frame, checkpoint.id):
        completed = completed_tasks.get(path)
        failed = failed_tasks.get(id_) if failed_tasks else None
        if pending.interrupts:
            raised = pending.open_interrupt(id_, path) if live else pending.latest_interrupt(id_)
        task_interrupts: tuple[Interrupt, ...] = ()
        if raised is not None:
            task_interrupts = (Interrupt(value=detached(raised.value), id=raised.interrupt_id),)
            interrupts.extend(task_interrupts)
        if completed is None or not live:
            next_names.append(name)
        tasks.append(
            _make(
                PregelTask,
                (
                    id_,
                    name,
                    path,
                    TaskError(failed.error_type, failed.error_message) if failed is not None else None,
                    task_interrupts,
                    None,
                    _result(completed[1]) if completed is not None else None,
                ),
            )
        )
    values = live_values(graph, frame, pending) if live else frame.values
    return _make(
        StateSnapshot,
        (
            detached(graph.output(values)),  # the caller's copy (``engine.detach``)
            tuple(next_names),
            checkpoint_config(thread_id, checkpoint.id),
            metadata if metadata is not None else checkpoint_metadata(checkpoint),
            checkpoint.recorded_at,
            checkpoint_config(thread_id, parent.id) if parent is not None else None,
            tuple(tasks),
            tuple(interrupts),
        ),
    )
