"""Rebuilding a thread's state from its log: walk a checkpoint's ancestry, then fold forward.

The fold only ever reads the events on the path from the nearest cached frame
(or the thread's start) to the checkpoint asked for, one step at a time, so a
long thread with many branches is never held in memory whole.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from engine.channels import Channel
from engine.checkpointer import FrameCache
from engine.errors import CheckpointNotFound, InvalidUpdateError
from engine.events import (
    CHECKPOINT,
    WRITE_EVENTS,
    CheckpointCommitted,
    Routing,
    StateUpdated,
    TaskCompleted,
    Write,
)
from engine.frames import decode_frame, fingerprint
from engine.planning import NO_JOINS, Frame, barrier, checkpoint_seq, in_path_order
from engine.views import CheckpointRecord, Pending, ThreadView
from eventstore import (
    CorruptLogError,
    EventRecord,
    EventStore,
    SnapshotRecord,
    StoredEvent,
    ThreadNotFound,
    decode_event,
)

SPAN_LIMIT = 512
"""The most events one range read spans from a snapshot to the checkpoint it folds to."""

RESULTS_WINDOW = 4
"""Events read past a checkpoint with its fold, for its results (more are read only if they continue)."""

PARENT_LOOKBACK = 4
"""Events read before a checkpoint whose fold starts at itself, to meet its parent on the way."""

FOLD_WINDOW = 256
"""The most checkpoints one fold holds (with their events) when no snapshot or cached frame is nearer."""

HISTORY_WAYPOINTS = 64
"""The most frames one history walk keeps as places to start its later folds when snapshots are few."""


class Replayer:
    """Folds a thread's events into frames with one graph's channels and join edges."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        joins: Mapping[str, tuple[frozenset[str], str]],
        initial_values: Mapping[str, Any],
    ) -> None:
        self.channels = channels
        self.joins = joins
        self.initial = Frame(values=dict(initial_values))
        self.fingerprint = fingerprint(channels, joins)

    # -- one step of the fold ------------------------------------------------

    def advance(self, frame: Frame, event: CheckpointCommitted, writes: Mapping[int, Any]) -> Frame:
        """The frame of checkpoint ``event`` given its parent's frame and its applied write events.

        Stored writes that this graph cannot apply (an unknown key, a reducer that
        rejects the value) mean the log does not fit the graph: ``CorruptLogError``.
        """
        try:
            return self.apply_checkpoint(frame, event, writes)
        except InvalidUpdateError as exc:
            raise CorruptLogError(
                f"checkpoint {event.id} cannot be rebuilt with this graph: {exc} (the log was altered, or it was "
                "written by a graph with other state keys or reducers)"
            ) from None

    def apply_checkpoint(self, frame: Frame, event: CheckpointCommitted, writes: Mapping[int, Any]) -> Frame:
        """``advance`` for a checkpoint being made now: a write that does not apply is ``InvalidUpdateError``."""
        if event.source == "input":
            return Frame(
                values=frame.values,
                joins=frame.joins,
                has_input=event.has_input,
                start_input=event.start_input,
                step=event.step,
            )
        if event.source == "fork":
            return attrs.evolve(frame, step=event.step)
        if len(event.applied) == 1:  # one task's writes (most steps): no commands, nothing to clear
            item = _write_event(writes, event.applied[0], event)
            if type(item) is TaskCompleted:
                update = (item.writes, item.routing, item.node)
                return barrier(frame, self.channels, self.joins, (update,), consume=True, step=event.step)
        updates: list[tuple[tuple[Write, ...], Routing, str]] = []
        commands: list[StateUpdated] = []
        clear = False
        for seq in event.applied:
            item = _write_event(writes, seq, event)
            if isinstance(item, TaskCompleted):
                updates.append((item.writes, item.routing, item.node))
                continue
            if item.kind == "command":
                commands.append(item)
            elif item.kind == "update_state":
                updates.append((item.writes, item.routing, item.as_node or ""))
            clear = clear or bool(item.clear_tasks)
        for command in commands:
            frame = self.apply_command(frame, command)
        if clear:
            frame = barrier(
                frame,
                self.channels,
                self.joins,
                [(w, Routing(), n) for w, _, n in updates],
                consume=True,
                step=event.step,
            )
            return attrs.evolve(frame, joins=NO_JOINS)
        return barrier(frame, self.channels, self.joins, updates, consume=True, step=event.step)

    def effective(self, view: ThreadView) -> Frame:
        """A checkpoint's frame with the ``Command`` updates recorded on it applied (what its tasks see)."""
        frame = view.frame
        for _, command in view.pending.commands:
            frame = self.apply_command(frame, command)
        return frame

    def apply_command(self, frame: Frame, command: StateUpdated) -> Frame:
        """A ``Command`` input's writes and routing, added to a checkpoint before its tasks run."""
        return barrier(
            frame,
            self.channels,
            self.joins,
            [(command.writes, command.routing, command.as_node or "")],
            consume=False,
            step=frame.step,
        )

    def apply_tasks(self, frame: Frame, completed: Collection[tuple[int, TaskCompleted]], step: int) -> Frame:
        """The barrier of a step: its finished tasks' writes applied in task-path order."""
        return barrier(
            frame,
            self.channels,
            self.joins,
            [(e.writes, e.routing, e.node) for _, e in in_path_order(completed)],
            consume=True,
            step=step,
        )

    # -- loading ---------------------------------------------------------------

    def load(self, store: EventStore, thread_id: str, *, cache: FrameCache | None = None) -> ThreadView:
        """The thread at its head with the head checkpoint's pending results (``load_checkpoint`` for the past)."""
        return self._load_head(store, thread_id, cache)

    def load_checkpoint(
        self, store: EventStore, thread_id: str, checkpoint_id: str, cache: FrameCache | None = None
    ) -> ThreadView:
        """The thread at the checkpoint an id names, read with its results and its fold in one range.

        The nearest snapshot (or a cached frame) comes first; then one read from it
        through the checkpoint's results gives every event the fold needs.
        """
        cache = cache if cache is not None else FrameCache()
        seq = checkpoint_seq(checkpoint_id)
        if seq is None:
            raise CheckpointNotFound(f"thread {thread_id!r} has no checkpoint {checkpoint_id!r}")
        base_seq, base = seq, cache.get((thread_id, seq))
        if base is None and cache.use_snapshots:
            snapshot = store.latest_snapshot(thread_id, at_most=seq)
            if snapshot is not None and seq - snapshot.seq <= SPAN_LIMIT:
                base = self.snapshot_frame(thread_id, snapshot, cache)
                if base is not None:
                    base_seq = snapshot.seq
        start = base_seq + 1 if base is not None and base_seq < seq else seq
        # A few events before the fold's start usually hold the checkpoint's parent (for its config).
        records = _range_then_rest(store, thread_id, max(1, min(start, seq - PARENT_LOOKBACK)), seq + RESULTS_WINDOW)
        span: list[CheckpointRecord] = []
        writes: dict[int, Any] = {}
        at: CheckpointRecord | None = None
        for record in records:
            if record.seq < seq:
                if record.type == CHECKPOINT:
                    span.append(CheckpointRecord.from_record(record))
                    cache.remember(thread_id, span[-1])
                elif record.type in WRITE_EVENTS:
                    writes[record.seq] = decode_event(record)
                continue
            if record.seq == seq and record.type == CHECKPOINT:
                at = CheckpointRecord.from_record(record)
            break
        if at is None or at.id != checkpoint_id:
            raise CheckpointNotFound(f"thread {thread_id!r} has no checkpoint {checkpoint_id!r}")
        pending = results_of(at, records)
        frame = base if base is not None and base_seq == seq else None
        if frame is None and base is not None:
            frame = self.fold_span(thread_id, (base_seq, base), [*span, at], writes, cache).get(seq)
        if frame is None:
            frame = self.frame_at(store, thread_id, at, cache, writes)
        return ThreadView(thread_id=thread_id, last_seq=0, checkpoint=at, frame=frame, pending=pending)

    def snapshot_frame(self, thread_id: str, snapshot: SnapshotRecord, cache: FrameCache) -> Frame | None:
        """A snapshot's frame (cached), or ``None`` if it was made by a graph with other channels."""
        frame = decode_frame(snapshot.payload, self.fingerprint)
        if frame is not None:
            cache[(thread_id, snapshot.seq)] = frame
        return frame

    def fold_span(
        self,
        thread_id: str,
        base: tuple[int, Frame],
        checkpoints: Iterable[CheckpointRecord],
        writes: Mapping[int, Any],
        cache: FrameCache,
        *,
        keep: bool = True,
    ) -> dict[int, Frame]:
        """Fold checkpoints (oldest first) whose parents are ``base`` or fold within the span.

        A checkpoint whose parent lies outside the span (a branch from further back)
        is left out; the caller folds it by its path. With ``keep`` the frames go
        into ``cache``.
        """
        frames = {base[0]: base[1]}
        folded: list[tuple[int, Frame]] = []
        for checkpoint in checkpoints:
            parent_seq = checkpoint.event.parent_seq
            parent = self.initial if parent_seq is None else frames.get(parent_seq)
            if parent is None:
                continue
            frame = self.advance(parent, checkpoint.event, writes)
            frames[checkpoint.seq] = frame
            folded.append((checkpoint.seq, frame))
        if keep:
            cache.put_all(thread_id, folded)
        return frames

    def empty_view(self, thread_id: str) -> ThreadView:
        """A thread with no events yet: no checkpoint, the graph's initial frame."""
        return ThreadView(thread_id=thread_id, last_seq=0, checkpoint=None, frame=self.initial, pending=Pending())

    def _load_head(self, store: EventStore, thread_id: str, cache: FrameCache | None) -> ThreadView:
        """The head in one newest-first scan: the last event, the results since the head, the head itself."""
        last_seq = 0
        since_head: list[EventRecord] = []
        head: CheckpointRecord | None = None
        cache = cache if cache is not None else FrameCache()
        try:
            records = store.read_backward(thread_id)
            for record in records:
                last_seq = last_seq or record.seq
                if record.type == CHECKPOINT:
                    head = CheckpointRecord.from_record(record)
                    break
                since_head.append(record)
            if head is not None and head.event.parent_seq is not None:
                self._remember_parent(records, head, head.event.parent_seq, thread_id, cache)
        except ThreadNotFound:
            pass
        if head is None:
            return ThreadView(
                thread_id=thread_id, last_seq=last_seq, checkpoint=None, frame=self.initial, pending=Pending()
            )
        pending = Pending()
        for record in reversed(since_head):
            event = decode_event(record)
            if getattr(event, "checkpoint_seq", None) == head.seq:
                pending.add(record.seq, event)
        frame = self.frame_at(store, thread_id, head, cache)
        return ThreadView(thread_id=thread_id, last_seq=last_seq, checkpoint=head, frame=frame, pending=pending)

    @staticmethod
    def _remember_parent(
        records: Iterator[EventRecord], head: CheckpointRecord, parent_seq: int, thread_id: str, cache: FrameCache
    ) -> None:
        """Look a few events further down the scan for the head's parent (usually two events away)."""
        for looked, record in enumerate(records):
            if record.seq < parent_seq or looked >= 8:
                return
            if record.seq == parent_seq and record.type == CHECKPOINT:
                cache.remember(thread_id, CheckpointRecord.from_record(record))
                return

    def frame_at(
        self,
        store: EventStore,
        thread_id: str,
        target: CheckpointRecord,
        cache: FrameCache | None = None,
        decoded: dict[int, Any] | None = None,
        waypoints: dict[int, Frame] | None = None,
    ) -> Frame:
        """Fold the path to ``target`` from its nearest cached or snapshotted ancestor (or the start).

        ``decoded`` (seq to event) lends events already decoded and receives the ones
        this fold decodes, so a caller walking the same stretch decodes each once.
        A path longer than ``FOLD_WINDOW`` checkpoints (a long thread whose snapshots
        were deleted) is folded a window at a time, oldest first, so no more than a
        window of checkpoints and their events is held at once. ``waypoints`` (seq
        to frame) are frames a caller keeps between folds: they are started from like
        cached ones, and each window's last frame is added (see ``_keep_waypoint``).
        """
        cache = cache if cache is not None else FrameCache()
        path, frame = self._path_to(store, thread_id, target, cache, FOLD_WINDOW, waypoints=waypoints)
        if frame is not None:
            return self._fold_path(store, thread_id, path, frame, cache, decoded if decoded is not None else {})
        ends = [target]
        while frame is None:
            ends.append(path[0])
            path, frame = self._path_to(store, thread_id, path[0], cache, FOLD_WINDOW, waypoints=waypoints)
        frame = self._fold_path(store, thread_id, path, frame, cache, {})
        for done, end in zip(ends[:0:-1], ends[-2::-1], strict=True):
            if waypoints is not None:
                _keep_waypoint(waypoints, done.seq, frame)
            path, _ = self._path_to(store, thread_id, end, cache, FOLD_WINDOW, base=(done.seq, frame))
            frame = self._fold_path(store, thread_id, path, frame, cache, {})
        return frame

    def _fold_path(
        self,
        store: EventStore,
        thread_id: str,
        path: list[CheckpointRecord],
        frame: Frame,
        cache: FrameCache,
        decoded: dict[int, Any],
    ) -> Frame:
        """Fold ``path`` (oldest first) onto ``frame``, reading the write events it applies in one range."""
        needed = {seq for checkpoint in path for seq in checkpoint.event.applied}
        missing = needed.difference(decoded)
        if missing:
            for record in store.read(thread_id, from_seq=min(missing), to_seq=max(missing), types=WRITE_EVENTS):
                if record.seq in missing:
                    decoded[record.seq] = decode_event(record)
        for checkpoint in path:
            frame = self.advance(frame, checkpoint.event, decoded)
            cache[(thread_id, checkpoint.seq)] = frame
        return frame

    def _path_to(
        self,
        store: EventStore,
        thread_id: str,
        target: CheckpointRecord,
        cache: FrameCache,
        limit: int,
        base: tuple[int, Frame] | None = None,
        waypoints: Mapping[int, Frame] | None = None,
    ) -> tuple[list[CheckpointRecord], Frame | None]:
        """The checkpoints after the nearest known frame up to ``target``, oldest first, and that frame.

        ``base`` (seq, frame) is a frame the caller already holds, ``waypoints`` more
        of them. After ``limit`` (at least 2) checkpoints without a known frame, the
        frame is ``None``: the path so far starts at a checkpoint whose own frame is
        still to be found.
        """
        limit = max(2, limit)
        path: list[CheckpointRecord] = []
        ancestors: Iterator[EventRecord] | None = None
        looked = not cache.use_snapshots
        snapshot: SnapshotRecord | None = None
        checkpoint = target
        while True:
            seq = checkpoint.seq
            if base is not None and base[0] == seq:
                return path[::-1], base[1]
            cached = cache.get((thread_id, seq))
            if cached is None and waypoints:
                cached = waypoints.get(seq)
            if cached is not None:
                return path[::-1], cached
            if not looked or (snapshot is not None and snapshot.seq > seq):
                looked = True
                snapshot = store.latest_snapshot(thread_id, at_most=seq)
            if snapshot is not None and snapshot.seq == seq:
                frame = self.snapshot_frame(thread_id, snapshot, cache)
                if frame is not None:
                    return path[::-1], frame
            path.append(checkpoint)
            cache.remember(thread_id, checkpoint)
            if len(path) >= limit:
                return path[::-1], None
            wanted = checkpoint.event.parent_seq
            if wanted is None:
                return path[::-1], self.initial
            if wanted >= seq:
                raise CorruptLogError(f"checkpoint {checkpoint.id} names a parent ({wanted}) that is not before it")
            if ancestors is None:
                ancestors = store.read_backward(thread_id, before_seq=wanted + 1, types=[CHECKPOINT])
            checkpoint = _next_at(ancestors, wanted, thread_id)


def _keep_waypoint(waypoints: dict[int, Frame], seq: int, frame: Frame) -> None:
    """Keep ``frame`` as a waypoint; past ``HISTORY_WAYPOINTS`` of them, every other one goes.

    Thinning keeps them spread over the thread, so a fold started from the nearest
    one stays short while memory holds a bounded number of frames.
    """
    waypoints[seq] = frame
    if len(waypoints) > HISTORY_WAYPOINTS:
        for dropped in sorted(waypoints)[::2]:
            del waypoints[dropped]


def _next_at(records: Iterator[EventRecord], seq: int, thread_id: str) -> CheckpointRecord:
    """The checkpoint at ``seq`` from a newest-first stream of checkpoint records."""
    for record in records:
        if record.seq > seq:
            continue
        if record.seq == seq:
            return CheckpointRecord.from_record(record)
        break
    raise CorruptLogError(f"thread {thread_id!r}: the checkpoint at event {seq}, a parent of a later one, is missing")


def _write_event(writes: Mapping[int, Any], seq: int, checkpoint: CheckpointCommitted) -> TaskCompleted | StateUpdated:
    """An event a checkpoint says it applied; anything else means the log was altered."""
    event = writes.get(seq)
    if not isinstance(event, (TaskCompleted, StateUpdated)):
        raise CorruptLogError(
            f"checkpoint {checkpoint.id} applies event {seq}, which is not a write event of this thread"
        )
    return event


def _range_then_rest(store: EventStore, thread_id: str, start: int, stop: int) -> Iterator[EventRecord]:
    """Events ``start..stop`` in one read, then the rest of the thread for a caller that wants more."""
    last = start - 1
    for record in store.read(thread_id, from_seq=start, to_seq=stop):
        last = record.seq
        yield record
    if last == stop:
        yield from store.read(thread_id, from_seq=stop + 1)


_NO_EVENTS: Mapping[int, Any] = MappingProxyType({})


def results_of(
    checkpoint: CheckpointRecord, after: Iterable[StoredEvent], decoded: Mapping[int, Any] = _NO_EVENTS
) -> Pending:
    """What a checkpoint's step recorded: the events after it, up to the next checkpoint, that name it.

    ``decoded`` (seq to event) lends events a caller decoded already.
    """
    pending = Pending()
    for record in after:
        if record.type == CHECKPOINT:
            break
        event = decoded.get(record.seq) or decode_event(record)
        if getattr(event, "checkpoint_seq", None) == checkpoint.seq:
            pending.add(record.seq, event)
    return pending


def resolve_checkpoint(store: EventStore, thread_id: str, checkpoint: str) -> CheckpointRecord:
    """The checkpoint a config's ``checkpoint_id`` names on ``thread_id``; a clear error otherwise."""
    seq = checkpoint_seq(checkpoint)
    if seq is not None:
        for record in store.read(thread_id, from_seq=seq, to_seq=seq):
            if record.type == CHECKPOINT:
                found = CheckpointRecord.from_record(record)
                if found.id == checkpoint:
                    return found
    raise CheckpointNotFound(f"thread {thread_id!r} has no checkpoint {checkpoint!r}")
