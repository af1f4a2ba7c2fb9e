"""Views of one thread read straight from its log: checkpoints, one checkpoint's state, raw events.

These need no projection: a thread's log (its lineage, for a fork) is read and
decoded. ``show`` gives state values when given the application's graph
(``engine`` replays the log with the graph's reducers); without it, it lists
the writes recorded on the path to the checkpoint.
"""

from __future__ import annotations

from typing import Any

import attrs

import engine.events as ev
from engine import CompiledStateGraph
from projections.errors import GraphReferenceError, UnknownCheckpoint
from projections.facts import LoggedEvent, display_json, logged_event, plain, run_metadata
from projections.ledger import Ledger


def thread_log(ledger: Ledger, thread_id: str) -> list[LoggedEvent]:
    """The thread's events in order (a fork's inherited prefix first), decoded."""
    ledger.thread(thread_id)
    return [logged_event(record) for record in ledger.store.read(thread_id)]


def checkpoint_history(ledger: Ledger, thread_id: str) -> list[dict[str, Any]]:
    """Every checkpoint of the thread, on every branch, newest first (like ``get_state_history``).

    ``on_head_path`` marks the checkpoints the thread's current state descends
    from; ``writers`` names what wrote the state the checkpoint holds.
    """
    log = thread_log(ledger, thread_id)
    by_seq = {fact.seq: fact for fact in log}
    checkpoints = [fact for fact in log if isinstance(fact.event, ev.CheckpointCommitted)]
    on_path: set[int] = set()
    seq: int | None = checkpoints[-1].seq if checkpoints else None
    while seq is not None:
        on_path.add(seq)
        seq = by_seq[seq].event.parent_seq
    rows = []
    for fact in reversed(checkpoints):
        event: ev.CheckpointCommitted = fact.event
        parent = by_seq.get(event.parent_seq) if event.parent_seq is not None else None
        rows.append(
            {
                "checkpoint_id": event.id,
                "seq": fact.seq,
                "step": event.step,
                "source": event.source,
                "parent_checkpoint_id": parent.event.id if parent is not None else None,
                "writers": _writers(event, by_seq),
                "next": list(event.next),
                "on_head_path": fact.seq in on_path,
                "actor": run_metadata(plain(event.metadata)),
                "created_at": fact.recorded_at,
            }
        )
    return rows


def _writers(event: ev.CheckpointCommitted, by_seq: dict[int, LoggedEvent]) -> list[str]:
    names: list[str] = []
    if event.source == "input":
        return ["input"]
    for seq in event.applied:
        write = by_seq[seq].event
        if isinstance(write, ev.TaskCompleted):
            names.append(write.node)
        elif isinstance(write, ev.StateUpdated):
            names.append(f"{write.kind}({write.as_node})" if write.as_node else write.kind)
    return names


def find_checkpoint(log: list[LoggedEvent], thread_id: str, checkpoint_id: str | None) -> LoggedEvent:
    """The checkpoint event with that id on the thread's log (its newest when ``checkpoint_id`` is None)."""
    checkpoints = [fact for fact in log if isinstance(fact.event, ev.CheckpointCommitted)]
    if checkpoint_id is None:
        if not checkpoints:
            raise UnknownCheckpoint(f"thread {thread_id!r} has no checkpoint yet")
        return checkpoints[-1]
    for fact in checkpoints:
        if fact.event.id == checkpoint_id:
            return fact
    raise UnknownCheckpoint(
        f"thread {thread_id!r} has no checkpoint {checkpoint_id!r} (see `ledgergraph history {thread_id}`)"
    )


def show_checkpoint(
    ledger: Ledger,
    thread_id: str,
    checkpoint_id: str | None = None,
    graph: CompiledStateGraph | None = None,
) -> dict[str, Any]:
    """One checkpoint (the head by default): its state values with ``graph``, else the writes that made it."""
    log = thread_log(ledger, thread_id)
    target = find_checkpoint(log, thread_id, checkpoint_id)
    event: ev.CheckpointCommitted = target.event
    shown: dict[str, Any] = {
        "thread_id": thread_id,
        "checkpoint_id": event.id,
        "step": event.step,
        "source": event.source,
        "created_at": target.recorded_at,
        "actor": run_metadata(plain(event.metadata)),
    }
    if graph is not None:
        config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
        if checkpoint_id is not None:
            config["configurable"]["checkpoint_id"] = checkpoint_id
        try:
            snapshot = graph.get_state(config)
        except Exception as exc:  # the user's graph (its schema, its reducers) does not fit this log
            raise GraphReferenceError(f"the graph cannot replay thread {thread_id!r}: {exc!r}") from exc
        shown["values"] = plain(snapshot.values)
        shown["next"] = list(snapshot.next)
        shown["interrupts"] = [{"id": i.id, "value": plain(i.value)} for i in snapshot.interrupts]
        shown["tasks"] = [
            {
                "name": task.name,
                "error": str(task.error) if task.error is not None else None,
                "result": plain(task.result),
            }
            for task in snapshot.tasks
        ]
        return shown
    shown["next"] = list(event.next)
    shown["writes"] = _path_writes(log, target)
    shown["after"] = [_describe(fact) for fact in _results_after(log, target)]
    return shown


def _path_writes(log: list[LoggedEvent], target: LoggedEvent) -> list[dict[str, Any]]:
    """The writes folded into ``target``'s state, oldest first: one entry per (checkpoint, writer, key)."""
    by_seq = {fact.seq: fact for fact in log}
    path: list[LoggedEvent] = []
    seq: int | None = target.seq
    while seq is not None:
        path.append(by_seq[seq])
        seq = by_seq[seq].event.parent_seq
    writes: list[dict[str, Any]] = []
    for checkpoint in reversed(path):
        for applied in checkpoint.event.applied:
            write = by_seq[applied].event
            writer = write.node if isinstance(write, ev.TaskCompleted) else write.as_node or write.kind
            for item in write.writes:
                writes.append(
                    {
                        "checkpoint_id": checkpoint.event.id,
                        "writer": writer,
                        "key": item.key,
                        "value": plain(item.value),
                    }
                )
    return writes


def _results_after(log: list[LoggedEvent], target: LoggedEvent) -> list[LoggedEvent]:
    """What was recorded at the checkpoint after it was committed (task results, interrupts, resumes)."""
    results = []
    for fact in log:
        if fact.seq <= target.seq:
            continue
        if isinstance(fact.event, ev.CheckpointCommitted):
            break
        if getattr(fact.event, "checkpoint_seq", None) == target.seq:
            results.append(fact)
    return results


def thread_events(ledger: Ledger, thread_id: str) -> list[dict[str, Any]]:
    """The thread's raw events: where each is stored, its hash, a one-line summary and the decoded payload."""
    ledger.thread(thread_id)
    rows = []
    for record in ledger.store.read(thread_id):
        fact = logged_event(record)
        rows.append(
            {
                "seq": record.seq,
                "position": record.position,
                "thread_id": record.thread_id,
                "type": record.type,
                "recorded_at": record.recorded_at,
                "hash": record.hash,
                "summary": _describe(fact)["summary"],
                "payload": _payload(fact),
            }
        )
    return rows


def _payload(fact: LoggedEvent) -> Any:
    if fact.event is None:
        return None
    return plain(attrs.asdict(fact.event, recurse=True))


def _describe(fact: LoggedEvent) -> dict[str, Any]:
    """A one-line, human summary of an event."""
    e = fact.event
    if isinstance(e, ev.CheckpointCommitted):
        nxt = ", ".join(e.next) or "nothing (done)"
        text = f"checkpoint {e.id} (step {e.step}, {e.source}); next: {nxt}"
    elif isinstance(e, ev.TaskCompleted):
        keys = ", ".join(dict.fromkeys(w.key for w in e.writes)) or "nothing"
        text = f"{e.node} finished in {e.duration_ms:.2f} ms, wrote {keys}"
    elif isinstance(e, ev.TaskFailed):
        text = f"{e.task.name} failed: {e.error_type}: {e.error_message}"
    elif isinstance(e, ev.InterruptRaised):
        text = f"{e.task.name} asks {display_json(e.value)} (interrupt {e.interrupt_id})"
    elif isinstance(e, ev.ResumeRecorded):
        who = display_json(run_metadata(plain(e.actor))) if e.actor else "someone"
        answers = "; ".join(f"{a.interrupt_id} = {display_json(a.value)}" for a in e.answers)
        text = f"{who} answered {answers}"
    elif isinstance(e, ev.StateUpdated):
        keys = ", ".join(dict.fromkeys(w.key for w in e.writes)) or "nothing"
        who = f" as {e.as_node}" if e.as_node else ""
        text = f"{e.kind}{who} wrote {keys}"
    elif isinstance(e, ev.RunPaused):
        text = f"paused {e.when} {', '.join(e.nodes)} (breakpoint)"
    else:
        text = f"{fact.type} (not an engine event)"
    return {"seq": fact.seq, "type": fact.type, "summary": text}
