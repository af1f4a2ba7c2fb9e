"""The superstep algorithm as pure functions: ids, which tasks a checkpoint runs, and the barrier.

Nothing here reads or writes the log. Writes are applied in task-path order,
never completion order, so replaying the log always reproduces the live run.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from engine.channels import MISSING, Channel
from engine.constants import END, PULL, PUSH, START
from engine.errors import InvalidUpdateError
from engine.events import Routing, SendPacket, TaskCompleted, TaskRef, Write, digest_task_id, path_text, task_id
from eventstore import maker, slot_init

NO_JOINS: Mapping[str, frozenset[str]] = MappingProxyType({})
"""A frame's join progress when no join edge is under way (most frames): one shared, read-only value."""


@slot_init
@attrs.frozen(kw_only=True)
class Frame:
    """The folded state at a checkpoint: channel values and what the next step will run."""

    values: Mapping[str, Any]
    pull: tuple[str, ...] = ()
    push: tuple[SendPacket, ...] = ()
    joins: Mapping[str, frozenset[str]] = NO_JOINS
    has_input: bool = False
    start_input: Any = None
    step: int = -2


@slot_init
@attrs.frozen(kw_only=True)
class PlannedTask:
    """A task of a step: which node, its path and id, and its input (the state, or a Send's arg)."""

    ref: TaskRef
    send_arg: Any = MISSING
    is_start: bool = False


# Made every step: without calling the class (``eventstore.slot_init.maker``).
_new_frame = maker(Frame)
_new_task = maker(PlannedTask)
_new_ref = maker(TaskRef)


def _digest(*parts: str) -> bytes:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).digest()


_nonces = random.Random()
"""The random part of checkpoint ids: it must differ, not be secret, and an OS random draw per step was
3-4% of a superstep's wall time. Private, so a program's ``random.seed`` cannot repeat ids; reseeded
from the OS in a forked child, so two processes never draw the same sequence."""
os.register_at_fork(after_in_child=_nonces.seed)


def new_checkpoint_id(seq: int) -> str:
    """An opaque id that sorts in creation order within a thread; stored, so it never changes.

    The sequence number makes ids sort; the random part tells apart checkpoints at
    the same position of two threads forked from one parent.
    """
    return f"{seq:012d}-{_nonces.getrandbits(48):012x}"


def checkpoint_seq(value: object) -> int | None:
    """The sequence number a checkpoint id names, or None if it is not one of ours."""
    if not isinstance(value, str):
        return None
    seq_text, sep, nonce = value.partition("-")
    if not sep or len(seq_text) != 12 or not seq_text.isdigit() or len(nonce) != 12:
        return None
    return int(seq_text)


def interrupt_id(task: str, index: int) -> str:
    """32 hex chars: the task's first interrupt, or its ``index``-th (stable across reopenings)."""
    return _digest(task if index == 0 else f"{task}|{index}").hex()


def value_hash(encoded: bytes) -> str:
    """A short, stable fingerprint of an encoded value (what exactly an answer replied to)."""
    return hashlib.sha256(encoded).hexdigest()


def plan(frame: Frame, checkpoint: str) -> list[PlannedTask]:
    """The tasks a checkpoint's step runs, in task-path order: start, pulls by name, pushes by index."""
    slots = plan_slots(frame, checkpoint)
    if frame.has_input:
        return [PlannedTask(ref=TaskRef(id=slots[0][0], name=START, path=slots[0][2]), is_start=True)]
    if not frame.push:  # most steps: pull tasks only
        return [_new_task(ref=_new_ref(id=id_, name=name, path=path)) for id_, name, path in slots]
    pulls = len(slots) - len(frame.push)
    tasks = [PlannedTask(ref=TaskRef(id=id_, name=name, path=path)) for id_, name, path in slots[:pulls]]
    for (id_, name, path), packet in zip(slots[pulls:], frame.push, strict=True):
        tasks.append(PlannedTask(ref=TaskRef(id=id_, name=name, path=path), send_arg=packet.arg))
    return tasks


_PULL_PATHS: dict[str, tuple[tuple[str | int, ...], str]] = {}
"""A pull task's path by node name, with its digest text (a graph has few nodes; bounded below)."""


def plan_slots(frame: Frame, checkpoint: str) -> list[tuple[str, str, tuple[str | int, ...]]]:
    """``plan`` as (task id, node name, path) triples, for readers that need no task records."""
    if frame.has_input:
        path: tuple[str | int, ...] = (PULL, START)
        return [(task_id(checkpoint, path), START, path)]
    pull = frame.pull
    slots = []
    for name in pull if len(pull) < 2 else sorted(set(pull)):
        known = _PULL_PATHS.get(name)
        if known is None:
            path = (PULL, name)
            known = (path, path_text(path))
            if len(_PULL_PATHS) < 10_000:
                _PULL_PATHS[name] = known
        slots.append((digest_task_id(checkpoint + known[1]), name, known[0]))
    for index, packet in enumerate(frame.push):
        path = (PUSH, index)
        slots.append((task_id(checkpoint, path), packet.node, path))
    return slots


def next_names(frame: Frame) -> tuple[str, ...]:
    """The node names of ``plan(frame)``, without computing task ids."""
    if frame.has_input:
        return (START,)
    pull = frame.pull
    names = tuple(pull) if len(pull) < 2 else tuple(sorted(set(pull)))  # as plan_slots orders them
    return (*names, *(packet.node for packet in frame.push)) if frame.push else names


def path_sort_key(path: tuple[str | int, ...]) -> tuple[str, str, int]:
    """Task-path order: pulls by node name, then pushes by Send index."""
    kind, which = path[0], path[1]
    return (str(kind), which if isinstance(which, str) else "", which if isinstance(which, int) else -1)


def in_path_order(completed: Collection[tuple[int, TaskCompleted]]) -> list[tuple[int, TaskCompleted]]:
    """(seq, event) pairs of finished tasks, in the order their writes apply."""
    if len(completed) < 2:  # a lone task's step (most steps): nothing to order
        return list(completed)
    return sorted(completed, key=lambda item: path_sort_key(item[1].path))


def apply_writes(channels: Mapping[str, Channel], values: Mapping[str, Any], writes: Iterable[Write]) -> dict[str, Any]:
    """Fold writes (already in task-path order) into values; a conflict raises ``InvalidUpdateError``."""
    grouped: dict[str, list[Any]] = {}
    for write in writes:
        grouped.setdefault(write.key, []).append(write.value)
    result = dict(values)
    for key, items in grouped.items():
        channel = channels.get(key)
        if channel is None:
            raise InvalidUpdateError(f"write to unknown state key {key!r}")
        result[key] = channel.update(result.get(key, MISSING), items)
    return result


def barrier(
    frame: Frame,
    channels: Mapping[str, Channel],
    joins: Mapping[str, tuple[frozenset[str], str]],
    updates: Sequence[tuple[Sequence[Write], Routing, str]],
    *,
    consume: bool,
    step: int,
) -> Frame:
    """Apply one step's updates (``(writes, routing, writer)`` in task-path order) to a frame.

    With ``consume`` the step's tasks are done: the old triggers and Sends are
    used up and only this step's routing schedules the next one. Without it (a
    ``Command`` applied before the tasks run) the new routing adds to the old.
    """
    if consume and len(updates) == 1 and not frame.joins:
        writes, routing, _ = updates[0]
        if not routing.sends and not routing.joins:  # the usual step: one task, no Send, no join edge
            triggers = routing.triggers
            return _new_frame(
                values=apply_writes(channels, frame.values, writes),
                pull=tuple(triggers) if len(triggers) < 2 else tuple(sorted(set(triggers))),
                joins=NO_JOINS,
                step=step,
            )
    return full_barrier(frame, channels, joins, updates, consume=consume, step=step)


def full_barrier(
    frame: Frame,
    channels: Mapping[str, Channel],
    joins: Mapping[str, tuple[frozenset[str], str]],
    updates: Sequence[tuple[Sequence[Write], Routing, str]],
    *,
    consume: bool,
    step: int,
) -> Frame:
    """``barrier`` without its shortcut for a lone task's step (what the shortcut must agree with)."""
    values = apply_writes(channels, frame.values, [w for writes, _, _ in updates for w in writes])
    pull: set[str] = set() if consume else set(frame.pull)
    push: list[SendPacket] = [] if consume else list(frame.push)
    marks = [(routing.joins, writer) for _, routing, writer in updates if routing.joins]
    for _, routing, _ in updates:
        pull.update(routing.triggers)
        push.extend(routing.sends)
    progress: Mapping[str, frozenset[str]] = NO_JOINS
    if marks or frame.joins:  # most steps have no join edge under way: nothing to count
        counted = {key: set(seen) for key, seen in frame.joins.items()}
        for keys, writer in marks:
            for key in keys:
                counted.setdefault(key, set()).add(writer)
        for key, (sources, target) in joins.items():
            seen = counted.get(key)
            if seen is not None and sources <= seen:
                if target != END:
                    pull.add(target)
                del counted[key]
        progress = {key: frozenset(seen) for key, seen in counted.items() if seen}
    return Frame(
        values=values,
        pull=tuple(sorted(pull)),
        push=tuple(push),
        joins=progress,
        has_input=False if consume else frame.has_input,
        start_input=None if consume else frame.start_input,
        step=step,
    )
