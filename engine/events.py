"""The engine's event schema: what a thread's log says, one frozen record per fact.

This module is public: projections and audit tools read it. A superstep appends
the ``TaskCompleted`` / ``TaskFailed`` / ``InterruptRaised`` events of its tasks
and one ``CheckpointCommitted`` that closes the step, in one transaction. A
checkpoint names the write events it folded (``applied``) and its parent
checkpoint, so the state at any checkpoint is the fold of the events on its
path, and branches of one thread never mix.
"""

from __future__ import annotations

import hashlib
from typing import Any

import attrs

from eventstore import Value, register_array_record, register_event, register_upcaster, slot_init


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
    """One value written to one state key; stored as a ``[key, value]`` pair."""

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


def _node_pull_path(event: TaskCompleted) -> tuple[str | int, ...]:
    return ("__pregel_pull", event.node)


@slot_init
@attrs.frozen(kw_only=True)
class TaskCompleted:
    """A task of checkpoint ``checkpoint_seq`` finished: its writes and where control goes next.

    Every superstep writes one per task, so its payload is kept small: the task
    is named by its node and path (a pull task's path is its default, left out),
    not by its id, which is derived (``task_id(<id of checkpoint checkpoint_seq>,
    path)``); ``checkpoint_seq`` is stored as ``"from"``, ``duration_ms`` as
    ``"ms"`` and each write as a ``[key, value]`` pair (schema version 2; version
    1 payloads, which also held the id, are upgraded on read).
    """

    checkpoint_seq: int
    node: str
    path: tuple[str | int, ...] = attrs.field(default=attrs.Factory(_node_pull_path, takes_self=True))
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


def task_id(checkpoint_id: str, path: tuple[str | int, ...]) -> str:
    """The id of the task at ``path`` of a checkpoint's step: the same checkpoint and path always give the same id."""
    return digest_task_id(checkpoint_id + path_text(path))


def path_text(path: tuple[str | int, ...]) -> str:
    """The part of a task id's digest input that follows the checkpoint id."""
    return "".join(["\x1f" + str(part) for part in path])


def digest_task_id(digested: str) -> str:
    """A UUID's canonical text from a 16-byte BLAKE2b digest of ``digested`` (built without a ``uuid.UUID``)."""
    h = hashlib.blake2b(digested.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _writes_as_pairs(writes: list[dict[str, Any]]) -> list[list[Any]]:
    return [[write["key"], write["value"]] for write in writes]


def _completion_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 named the task by id, name and path, under the field names, with writes as objects."""
    task = data["task"]
    upgraded: dict[str, Any] = {"from": data["checkpoint_seq"], "node": task["name"]}
    if "path" in task:
        upgraded["path"] = task["path"]
    upgraded["writes"] = _writes_as_pairs(data["writes"])
    upgraded["routing"] = data["routing"]
    upgraded["ms"] = data["duration_ms"]
    return upgraded


def _update_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 wrote each write as an object."""
    return {**data, "writes": _writes_as_pairs(data["writes"])}


register_array_record(Write)  # before the events that hold writes: their hooks take its hook
SCHEMA_VERSIONS = {"TaskCompleted": 2, "StateUpdated": 2}
"""Each event type's current payload version where it is not 1 (older versions are upgraded on read)."""
PAYLOAD_KEYS = {"TaskCompleted": {"checkpoint_seq": "from", "duration_ms": "ms"}}
"""Payload keys that differ from their field's name, by event type."""
for _name, _cls in EVENT_TYPES.items():
    register_event(_cls, _name, SCHEMA_VERSIONS.get(_name, 1), keys=PAYLOAD_KEYS.get(_name))
register_upcaster("TaskCompleted", 1, _completion_from_v1)
register_upcaster("StateUpdated", 1, _update_from_v1)
