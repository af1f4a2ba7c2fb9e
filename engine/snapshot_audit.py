"""Checking the snapshot cache against the log: every snapshot must equal a fold from the first event."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from engine.checkpointer import FrameCache
from engine.events import CHECKPOINT
from engine.frames import decode_frame
from engine.replay import Replayer
from engine.views import CheckpointRecord
from eventstore import EventStore, SnapshotRecord


@attrs.frozen(kw_only=True)
class SnapshotMismatch:
    """A snapshot whose frame differs from the fold of the events it summarizes."""

    thread_id: str
    seq: int
    reason: str


@attrs.frozen(kw_only=True)
class SnapshotReport:
    """What ``verify_snapshots`` found: snapshots checked, skipped (another graph's), and mismatches."""

    checked: int
    skipped: int
    mismatches: tuple[SnapshotMismatch, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def verify_snapshots(replayer: Replayer, store: EventStore, thread_ids: Iterable[str]) -> SnapshotReport:
    """Replay each thread from zero (no snapshots) and compare every snapshot it owns with the fold."""
    checked = skipped = 0
    mismatches: list[SnapshotMismatch] = []
    for thread_id in thread_ids:
        folds = FrameCache(capacity=64, use_snapshots=False)
        for snapshot in reversed(_own_snapshots(store, thread_id)):
            cached = decode_frame(snapshot.payload, replayer.fingerprint)
            if cached is None:
                skipped += 1
                continue
            checked += 1
            target = next(iter(store.read(thread_id, from_seq=snapshot.seq, to_seq=snapshot.seq)), None)
            if target is None or target.type != CHECKPOINT:
                mismatches.append(SnapshotMismatch(thread_id=thread_id, seq=snapshot.seq, reason="no checkpoint there"))
                continue
            replayed = replayer.frame_at(store, thread_id, CheckpointRecord.from_record(target), folds)
            if replayed != cached:
                mismatches.append(
                    SnapshotMismatch(thread_id=thread_id, seq=snapshot.seq, reason="differs from the fold of the log")
                )
    return SnapshotReport(checked=checked, skipped=skipped, mismatches=tuple(mismatches))


def _own_snapshots(store: EventStore, thread_id: str) -> list[SnapshotRecord]:
    """The thread's own snapshots, newest first (a fork's inherited ones are its parent's to check)."""
    found = []
    snapshot = store.latest_snapshot(thread_id)
    while snapshot is not None:
        if snapshot.thread_id == thread_id:
            found.append(snapshot)
        snapshot = store.latest_snapshot(thread_id, at_most=snapshot.seq - 1) if snapshot.seq > 1 else None
    return found
