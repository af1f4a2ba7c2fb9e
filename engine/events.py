"""The engine's event schema: what a thread's log says, one frozen record per fact.

This module is public: projections and audit tools read it. A superstep appends
the ``TaskCompleted`` / ``TaskFailed`` / ``InterruptRaised`` events of its tasks
and one ``CheckpointCommitted`` that closes the step, in one transaction. A
checkpoint names the write events it folded (``applied``) and its parent
checkpoint, so the state at any checkpoint is the fold of the events on its
path, and branches of one thread never mix.
"""

from __future__ import annotations

from typing import Any

import attrs

from eventstore import Value, register_event, slot_init


def _pull_path(ref: TaskRef) -> tuple[str | int, ...]:
    return ("__pregel_pull", ref.name)


@slot_init
@attrs.frozen(kw_only=True)
class TaskRef:
    """Which task: its id (content-derived), node name and path (``("__pregel_pull", name)`` or push index).

    A pull task's path is its default, so the log leaves it out of the payload
    (a payload that spells it out decodes to the same record).
    """

    id: str
    name: str
    path: tuple[str | int, ...] = attrs.field(default=attrs.Factory(_pull_path, takes_self=True))


@slot_init
@attrs.frozen(kw_only=True)
class Write:
    """One value written to one state key."""

    key: str
    value: Value


@slot_init
@attrs.frozen(kw_only=True)
class SendPacket:
    """A ``Send(node, arg)`` scheduled for the next superstep."""

    node: str
    arg: Value


@slot_init
@attrs.frozen(kw_only=True)
class Routing:
    """Where control goes after a write: nodes triggered, Sends, and join-edge barrier marks."""

    triggers: tuple[str, ...] = ()
    sends: tuple[SendPacket, ...] = ()
    joins: tuple[str, ...] = ()
    """Keys of join edges (``"a+b->c"``) this writer counts towards."""


@slot_init
@attrs.frozen(kw_only=True)
class CheckpointCommitted:
    """The end of a superstep (or an input, update or branch): a checkpoint of the thread.

    ``applied`` lists the sequence numbers of the write events folded into this
    checkpoint on top of ``parent_seq``'s state, in the order they were applied.
    ``next`` is the plan for the following step, recorded for readers that have
    no graph (the engine recomputes it from the fold). ``id`` is the public
    checkpoint id (see ``engine.planning.new_checkpoint_id``). ``metadata`` is
    the run metadata of the call that made it (``source`` and ``step`` are fields).
    ``source`` defaults to ``"loop"``, the source of most checkpoints, so the log
    leaves it out of their payloads.
    """

    id: str
    step: int
    source: str = "loop"
    parent_seq: int | None
    applied: tuple[int, ...] = ()
    start_input: Value = None
    has_input: bool = False
    next: tuple[str, ...] = ()
    metadata: Value = attrs.Factory(dict)


@slot_init
@attrs.frozen(kw_only=True)
class TaskCompleted:
    """A task of checkpoint ``checkpoint_seq`` finished: its writes and where control goes next."""

    checkpoint_seq: int
    task: TaskRef
    writes: tuple[Write, ...]
    routing: Routing
    duration_ms: float


@slot_init
@attrs.frozen(kw_only=True)
class TaskFailed:
    """A task raised; the step stops, finished siblings keep their writes, this task re-runs later."""

    checkpoint_seq: int
    task: TaskRef
    error_type: str
    error_message: str
    duration_ms: float


@slot_init
@attrs.frozen(kw_only=True)
class InterruptRaised:
    """A task called ``interrupt(value)`` for the ``index``-th time with no answer recorded yet."""

    checkpoint_seq: int
    task: TaskRef
    interrupt_id: str
    index: int
    value: Value
    value_hash: str
    duration_ms: float


@slot_init
@attrs.frozen(kw_only=True)
class ResumeAnswer:
    """One answer: which interrupt (id, task, index), the value given, and a hash of the question."""

    interrupt_id: str
    task_id: str
    index: int
    value: Value
    question_hash: str


@slot_init
@attrs.frozen(kw_only=True)
class ResumeRecorded:
    """Someone answered pending interrupts of checkpoint ``checkpoint_seq`` (``actor`` is the run metadata)."""

    checkpoint_seq: int
    answers: tuple[ResumeAnswer, ...]
    actor: Value = attrs.Factory(dict)


@slot_init
@attrs.frozen(kw_only=True)
class StateUpdated:
    """An edit from outside a node: ``update_state`` (a new checkpoint follows) or a ``Command`` input.

    ``kind`` is ``"update_state"`` or ``"command"``; a command's writes apply to
    checkpoint ``checkpoint_seq`` before its tasks run.
    """

    checkpoint_seq: int | None
    kind: str
    as_node: str | None
    writes: tuple[Write, ...]
    routing: Routing
    clear_tasks: bool = False
    actor: Value = attrs.Factory(dict)


@slot_init
@attrs.frozen(kw_only=True)
class RunPaused:
    """A static breakpoint stopped the run before or after the named nodes."""

    checkpoint_seq: int
    when: str
    nodes: tuple[str, ...]


CHECKPOINT = "Checkpoint"
EVENT_TYPES: dict[str, type[Any]] = {
    CHECKPOINT: CheckpointCommitted,
    "TaskCompleted": TaskCompleted,
    "TaskFailed": TaskFailed,
    "InterruptRaised": InterruptRaised,
    "ResumeRecorded": ResumeRecorded,
    "StateUpdated": StateUpdated,
    "RunPaused": RunPaused,
}
WRITE_EVENTS = ("TaskCompleted", "StateUpdated")

for _name, _cls in EVENT_TYPES.items():
    register_event(_cls, _name)
