"""A thread's history, newest first: every checkpoint with its frame, from one backward scan of its log.

What ``get_state_history`` walks. It reads each event once and folds with the
graph's ``Replayer``; ``walk_history`` says how the scan is cut and folded.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterator
from typing import Any

from engine.checkpointer import FrameCache
from engine.events import CHECKPOINT, WRITE_EVENTS
from engine.planning import Frame
from engine.replay import Replayer, results_of
from engine.views import CheckpointRecord, Pending
from eventstore import EventStore, StoredEvent, decode_event

HISTORY_CHUNK = 64
"""History folds at most this many checkpoints at once when no snapshot or cached frame bounds them."""

Carried = tuple[CheckpointRecord, Frame, list[StoredEvent]]
"""A checkpoint whose frame is known, waiting to be emitted with the chunk holding its parent."""

PastCheckpoint = tuple[CheckpointRecord, Frame, Pending, CheckpointRecord | None]
"""What history gives for each checkpoint: the checkpoint, its frame, its step's results and its parent."""


def walk_history(
    replayer: Replayer, store: EventStore, thread_id: str, *, before_seq: int | None, cache: FrameCache
) -> Iterator[PastCheckpoint]:
    """Every checkpoint (before ``before_seq``) newest first, with its frame, its step's results and its parent.

    One newest-first scan of the thread, cut into chunks that end at a checkpoint
    whose frame is known without reading further (a snapshot, a cached frame, the
    thread's first checkpoint; or, after ``HISTORY_CHUNK`` checkpoints without one,
    a fold by path). The first chunk ends at the first snapshot, so the newest
    checkpoints come quickly; later ones pass a few snapshots by, since reading
    and decoding one costs more than folding a handful of steps. Each chunk is
    folded forward from that frame over the events the scan already holds, so
    every event is read and decoded once. A chunk's oldest checkpoint is emitted
    with the next chunk, where its parent is met. A parent the scan never met
    (``None``) is left to the caller to read.

    Chunks are cached until the walk has passed as many checkpoints as the cache
    holds: caching more of a long walk would only push out what it cached before,
    at a cost on every checkpoint.
    """
    snapshots: set[int] = set()  # which checkpoints have snapshots, known at and above ``known_down_to``
    known_down_to = None if cache.use_snapshots else 0
    page = 8
    chunk: list[StoredEvent | CheckpointRecord] = []  # newest first, since the carried checkpoint
    carried: Carried | None = None
    # Where snapshots are few, each chunk's fold by path would start from the thread's first
    # event: frames kept along the first such fold let later ones start nearby instead.
    waypoints: dict[int, Frame] = {}
    emitted = 0  # checkpoints of the chunks emitted so far
    waiting = 0
    least = 0  # checkpoints a chunk holds before a snapshot may end it: none for the first (quick to start)
    for record in store.read_payloads_backward(thread_id, before_seq=before_seq):
        if record.type != CHECKPOINT:
            chunk.append(record)
            continue
        checkpoint = CheckpointRecord.from_record(record)
        if known_down_to is None or checkpoint.seq < known_down_to:
            snapshots, known_down_to = _snapshot_page(store, thread_id, checkpoint.seq, page)
            page = min(4 * page, 4096)
        frame = _known_frame(replayer, store, thread_id, checkpoint, snapshots if waiting >= least else (), cache)
        if frame is None and waiting < HISTORY_CHUNK:
            chunk.append(checkpoint)
            waiting += 1
            continue
        if frame is None:
            frame = replayer.frame_at(store, thread_id, checkpoint, cache, waypoints=waypoints)
        for passed in [seq for seq in waypoints if seq >= checkpoint.seq]:
            del waypoints[passed]  # the walk goes on below this checkpoint: frames above it serve no fold
        boundary = (checkpoint, frame)
        carried = yield from _emit_chunk(
            replayer, store, thread_id, chunk, carried, boundary, cache, keep=emitted < cache.capacity
        )
        emitted += waiting
        chunk, waiting, least = [], 0, min(HISTORY_CHUNK // 2, max(8, 2 * least))
    yield from _emit_chunk(replayer, store, thread_id, chunk, carried, None, cache, keep=emitted < cache.capacity)


def _known_frame(
    replayer: Replayer,
    store: EventStore,
    thread_id: str,
    checkpoint: CheckpointRecord,
    snapshots: Collection[int],
    cache: FrameCache,
) -> Frame | None:
    """A checkpoint's frame if it needs no more events: cached, snapshotted, or the thread's first."""
    frame = cache.get((thread_id, checkpoint.seq))
    if frame is None and checkpoint.seq in snapshots:
        snapshot = store.latest_snapshot(thread_id, at_most=checkpoint.seq)
        if snapshot is not None and snapshot.seq == checkpoint.seq:
            frame = replayer.snapshot_frame(thread_id, snapshot, cache)
    if frame is None and checkpoint.event.parent_seq is None:
        frame = replayer.advance(replayer.initial, checkpoint.event, {})
        cache[(thread_id, checkpoint.seq)] = frame
    return frame


def _emit_chunk(
    replayer: Replayer,
    store: EventStore,
    thread_id: str,
    chunk: list[StoredEvent | CheckpointRecord],
    carried: Carried | None,
    boundary: tuple[CheckpointRecord, Frame] | None,
    cache: FrameCache,
    *,
    keep: bool,
) -> Generator[PastCheckpoint, None, Carried | None]:
    """Emit the carried checkpoint and the chunk's checkpoints newest first; carry ``boundary`` on.

    ``chunk`` holds the events scanned after ``carried`` (newest first) and newer
    than ``boundary``, whose frame the chunk folds forward from. Returns the
    boundary with its results, to be emitted with the next chunk. With ``keep``
    the chunk's checkpoints and frames go into ``cache``.
    """
    writes: dict[int, Any] = {}
    checkpoints: list[tuple[CheckpointRecord, list[StoredEvent]]] = []  # newest first, with results
    results: list[StoredEvent] = []  # newest first: the results of the next checkpoint the scan meets
    for record in chunk:
        if isinstance(record, CheckpointRecord):
            checkpoints.append((record, results))
            results = []
            continue
        results.append(record)
        if record.type in WRITE_EVENTS:
            writes[record.seq] = decode_event(record)
    by_seq: dict[int | None, CheckpointRecord] = {c.seq: c for c, _ in checkpoints}  # a None parent is no key
    if boundary is not None:
        by_seq[boundary[0].seq] = boundary[0]
    if keep:
        cache.remember_all(thread_id, by_seq.values())  # newest first, as the scan met them
    frames: dict[int, Frame] = {}
    if boundary is not None:
        ascending = [checkpoint for checkpoint, _ in reversed(checkpoints)]
        frames = replayer.fold_span(thread_id, (boundary[0].seq, boundary[1]), ascending, writes, cache, keep=keep)
    if carried is not None:
        checkpoint, frame, after = carried
        yield (
            checkpoint,
            frame,
            results_of(checkpoint, reversed(after), writes),
            by_seq.get(checkpoint.event.parent_seq),
        )
    for checkpoint, after in checkpoints:
        frame = frames.get(checkpoint.seq) or replayer.frame_at(store, thread_id, checkpoint, cache, writes)
        yield (
            checkpoint,
            frame,
            results_of(checkpoint, reversed(after), writes),
            by_seq.get(checkpoint.event.parent_seq),
        )
    if boundary is None:
        return None
    return (boundary[0], boundary[1], results)


def _snapshot_page(store: EventStore, thread_id: str, at_most: int, page: int) -> tuple[set[int], int]:
    """Up to ``page`` of the thread's snapshot seqs at or below ``at_most``, and down to which seq they are all.

    History walks down a thread and reads which checkpoints have snapshots a page
    at a time just below where it is: listing the newest ten checkpoints of a long
    thread reads one short page, not the seq of every snapshot the thread has.
    """
    seqs = store.snapshot_seqs(thread_id, at_most=at_most, limit=page)
    return set(seqs), seqs[-1] if len(seqs) == page else 0
