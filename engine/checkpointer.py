"""Checkpointers: an event store plus a cache of folded frames. ``InMemorySaver`` is the same on ``:memory:``."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from engine.planning import Frame

if TYPE_CHECKING:
    from engine.views import CheckpointRecord, ThreadView
from eventstore import CorruptLogError, EventStore, EventStoreError, SqliteEventStore

SNAPSHOT_WEIGHT = 4.0
"""By default a snapshot is written only if it is at most this many times the event bytes it lets a fold skip."""


class FrameCache:
    """A bounded map of (thread, checkpoint seq) to folded frames, and of threads to their live heads.

    A checkpoint's frame is a fact of the immutable log, so an entry never goes
    stale; the bound only limits memory. A live head is the view a run left a
    thread in (its head checkpoint, frame and pending results): the next run on
    that thread starts from it without reading the log, but only while the
    thread's last event is still the one the head was left at.
    """

    def __init__(self, capacity: int = 256, *, use_snapshots: bool = True) -> None:
        self.capacity = capacity
        self.use_snapshots = use_snapshots
        """False for a cache that must be filled by folding events only (to check snapshots against)."""
        self._items: OrderedDict[tuple[str, int], Frame] = OrderedDict()
        self._records: OrderedDict[tuple[str, int], CheckpointRecord] = OrderedDict()
        self._heads: OrderedDict[str, ThreadView] = OrderedDict()
        self._lock = threading.Lock()

    def keep_head(self, view: ThreadView) -> None:
        """Keep the view a run left its thread in, with ``view.last_seq`` its last event (stored).

        Its frame is kept as its checkpoint's too, for reads (a run keeps no other frame
        of the steps it ran: a read of an earlier one folds from a snapshot).
        """
        assert view.checkpoint is not None
        with self._lock:
            self._heads[view.thread_id] = view.with_own_pending()
            self._heads.move_to_end(view.thread_id)
            while len(self._heads) > self.capacity:
                self._heads.popitem(last=False)
            self._put((view.thread_id, view.checkpoint.seq), view.frame)

    def live_head(self, thread_id: str, last_seq: int) -> ThreadView | None:
        """The kept head of ``thread_id`` if its last event is still ``last_seq`` (another writer appended if not).

        Its checkpoint record has no ``recorded_at`` (a run's own records never
        have one): it is for runs, which do not show times.
        """
        with self._lock:
            view = self._heads.get(thread_id)
            if view is None or view.last_seq != last_seq:
                return None
            self._heads.move_to_end(thread_id)
        return view.with_own_pending()

    def remember(self, thread_id: str, checkpoint: CheckpointRecord) -> None:
        """Keep a checkpoint record seen while folding (parents are looked up here before the log)."""
        with self._lock:
            self._records[(thread_id, checkpoint.seq)] = checkpoint
            while len(self._records) > self.capacity:
                self._records.popitem(last=False)

    def remember_all(self, thread_id: str, checkpoints: Iterable[CheckpointRecord]) -> None:
        """``remember`` each of ``checkpoints`` in turn, under one lock."""
        with self._lock:
            records = self._records
            for checkpoint in checkpoints:
                records[(thread_id, checkpoint.seq)] = checkpoint
                if len(records) > self.capacity:  # one entry at a time: a re-remembered one keeps its place
                    records.popitem(last=False)

    def record(self, thread_id: str, seq: int) -> CheckpointRecord | None:
        with self._lock:
            return self._records.get((thread_id, seq))

    def get(self, key: tuple[str, int]) -> Frame | None:
        if key not in self._items:  # a miss takes no lock (a dict lookup is atomic); most reads of a long history miss
            return None
        with self._lock:
            frame = self._items.get(key)
            if frame is not None:
                self._items.move_to_end(key)
            return frame

    def __setitem__(self, key: tuple[str, int], frame: Frame) -> None:
        with self._lock:
            self._put(key, frame)

    def _put(self, key: tuple[str, int], frame: Frame) -> None:
        """Set one frame as the most recent (the caller holds the lock)."""
        self._items[key] = frame
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def put_all(self, thread_id: str, frames: Iterable[tuple[int, Frame]]) -> None:
        """Set each (seq, frame) of ``frames`` in turn, under one lock (the last set is the most recent)."""
        with self._lock:
            items = self._items
            for seq, frame in frames:
                key = (thread_id, seq)
                if key in items:
                    items.move_to_end(key)
                items[key] = frame
            for _ in range(len(items) - self.capacity):  # the batch is the most recent: trim once after it
                items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._records.clear()
            self._heads.clear()


class SqliteSaver:
    """Persists graph runs as events in a SQLite log; state is rebuilt by folding those events.

    Give it a path, an open ``sqlite3.Connection`` (put in autocommit mode; open it
    with ``check_same_thread=False`` to share it across threads), or any ``EventStore``.
    Every ``snapshot_every`` steps a thread's folded state is cached beside the log,
    so rebuilding any checkpoint folds at most that many steps; a state so large
    that its snapshot would outweigh the events it replaces is snapshotted less
    often (when the events written since the last snapshot reach
    1/``snapshot_weight`` of its size, a quarter by default), so stored bytes grow
    with the changes, not with the state. A smaller ``snapshot_weight`` stores
    fewer snapshot bytes and folds longer stretches of events when reading such a
    state; ``math.inf`` snapshots every ``snapshot_every`` steps whatever the size.

    Before a thread is written to (run, resumed, updated or forked) its hash chain
    is checked, and a broken chain raises ``CorruptLogError``. ``integrity="tail"``
    (the default) checks, once per process, the events since the thread's latest
    snapshot, then each event appended by others since; ``"full"`` checks from the
    first event; ``"off"`` is the explicit opt-out (``verify`` still reports).
    """

    def __init__(
        self,
        conn: str | Path | sqlite3.Connection | EventStore,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        cache_size: int = 256,
        snapshot_every: int = 10,
        snapshot_weight: float = SNAPSHOT_WEIGHT,
        integrity: Literal["tail", "full", "off"] = "tail",
    ) -> None:
        if not isinstance(snapshot_every, int) or isinstance(snapshot_every, bool) or snapshot_every < 1:
            raise ValueError(f"snapshot_every must be an integer of at least 1, not {snapshot_every!r}")
        if (
            not isinstance(snapshot_weight, (int, float))
            or isinstance(snapshot_weight, bool)
            or not snapshot_weight > 0
        ):
            raise ValueError(f"snapshot_weight must be a number above 0 (math.inf allowed), not {snapshot_weight!r}")
        if not isinstance(cache_size, int) or isinstance(cache_size, bool) or cache_size < 1:
            raise ValueError(f"cache_size must be an integer of at least 1, not {cache_size!r}")
        if integrity not in ("tail", "full", "off"):
            raise ValueError(f"integrity must be 'tail', 'full' or 'off', not {integrity!r}")
        self.snapshot_every = snapshot_every
        self.snapshot_weight = float(snapshot_weight)
        self.integrity = integrity
        self._unsnapshotted: dict[str, int] = {}
        self._outweighed: dict[str, int] = {}
        """Per thread, the plain size of the last frame encoded for a snapshot and not kept (it weighed too much)."""
        self._verified: dict[str, int] = {}
        self._verified_lock = threading.Lock()
        if isinstance(conn, (str, Path, sqlite3.Connection)):
            self.store: EventStore = SqliteEventStore(conn, synchronous=synchronous)
        elif isinstance(conn, EventStore):
            self.store = conn
        else:
            raise TypeError(
                "SqliteSaver takes a database path, an open sqlite3.Connection or an EventStore, "
                f"not {type(conn).__qualname__}"
            )
        self._caches: weakref.WeakKeyDictionary[object, FrameCache] = weakref.WeakKeyDictionary()
        self._cache_size = cache_size
        self._writer: ThreadPoolExecutor | None = None
        self._writer_lock = threading.Lock()

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Iterator[SqliteSaver]:
        """Open a saver on a path (or ``":memory:"``) for the length of a ``with`` block."""
        saver = cls(conn_string, **kwargs)
        try:
            yield saver
        finally:
            saver.close()

    def setup(self) -> None:
        """Kept for LangGraph compatibility: the schema is created when the store opens."""

    def check_integrity(self, thread_id: str) -> int | None:
        """Refuse to build on a thread whose chain does not verify (see the class docstring).

        Returns the head it checked up to (0: the thread has no events yet), or
        None with ``integrity="off"``, which reads nothing.
        """
        if self.integrity == "off":
            return None
        head = self.store.head(thread_id)
        with self._verified_lock:
            verified = self._verified.get(thread_id, 0)
        if head == 0 or verified >= head:
            return head
        start = verified + 1
        if verified == 0 and self.integrity == "tail":
            snapshot = self.store.latest_snapshot(thread_id, at_most=head)
            start = snapshot.seq + 1 if snapshot is not None else 1
        if start <= head:
            report = self.store.verify(thread_id, from_seq=start)
            if report.broken is not None:
                link = report.broken
                raise CorruptLogError(
                    f"thread {thread_id!r} does not verify at event {link.seq} (stored in {link.thread_id!r}): "
                    f"{link.reason}; expected {link.expected}, found {link.found}. Nothing was written; "
                    "inspect it with `ledgergraph verify`, or open the saver with integrity='off' to override"
                )
        self.mark_verified(thread_id, head)
        return head

    def mark_verified(self, thread_id: str, seq: int) -> None:
        """Record that ``thread_id`` is known good up to ``seq`` (after checking, or after our own append)."""
        with self._verified_lock:
            if seq > self._verified.get(thread_id, 0):
                self._verified[thread_id] = seq

    def record_appended(self, thread_id: str, payload_bytes: int, *, snapshotted: bool) -> None:
        """Count event bytes written to a thread since its last snapshot."""
        with self._verified_lock:
            before = 0 if snapshotted else self._unsnapshotted.get(thread_id, 0)
            self._unsnapshotted[thread_id] = before + payload_bytes * (not snapshotted)
            if snapshotted:
                self._outweighed.pop(thread_id, None)

    def snapshot_for(
        self, thread_id: str, step: int, encode: Callable[[], tuple[bytes, int]], *, head: bool, pending_bytes: int
    ) -> bytes | None:
        """The snapshot to append with a step's events, if one is due and worth its bytes.

        Due every ``snapshot_every`` steps, and at the checkpoint a call ends on (the
        head the next call starts from). Worth it when it weighs at most
        ``snapshot_weight`` times the event bytes written since the last one.

        Encoding a large state costs as much as the state, so a frame that was
        encoded and found too heavy is not encoded again until the event bytes
        since the last snapshot could outweigh it: a growing state is encoded about
        once per snapshot kept, not at every due step (which made the write path of
        a long thread with a large state quadratic). A state that shrank meanwhile
        gets its snapshot a little later: only speed, never a result, depends on it.
        """
        if step <= 0 or not (head or step % self.snapshot_every == 0):
            return None
        with self._verified_lock:
            since = self._unsnapshotted.get(thread_id, 0) + pending_bytes
            if self._outweighed.get(thread_id, 0) > self.snapshot_weight * since:
                return None
        try:
            payload, size = encode()
        except EventStoreError:
            return None  # a reducer produced a value the log cannot hold: fold instead
        # Judged by the state's plain size, so compression saves bytes without making snapshots more frequent.
        if size <= self.snapshot_weight * since:
            return payload
        with self._verified_lock:
            self._outweighed[thread_id] = size
        return None

    def frames(self, owner: object) -> FrameCache:
        """The frame cache of one graph (frames depend on its reducers)."""
        cache = self._caches.get(owner)
        if cache is None:
            cache = self._caches[owner] = FrameCache(self._cache_size)
        return cache

    def writer(self) -> ThreadPoolExecutor:
        """The one thread that appends for runs with durability ``"async"`` (started on first use)."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledgergraph-writer")
            return self._writer

    def close(self) -> None:
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)
        self.store.close()

    def __enter__(self) -> SqliteSaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InMemorySaver(SqliteSaver):
    """The same event-log checkpointer on an in-memory SQLite database (gone when the process ends)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(":memory:", **kwargs)


MemorySaver = InMemorySaver
