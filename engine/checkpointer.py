"""Checkpointers: an event store plus a cache of folded frames. ``InMemorySaver`` is the same on ``:memory:``."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from engine.planning import Frame
from eventstore import EventStore, SqliteEventStore


class FrameCache:
    """A bounded map of (thread, checkpoint seq) to folded frames.

    A checkpoint's frame is a fact of the immutable log, so an entry never goes
    stale; the bound only limits memory.
    """

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int], Frame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> Frame | None:
        with self._lock:
            frame = self._items.get(key)
            if frame is not None:
                self._items.move_to_end(key)
            return frame

    def __setitem__(self, key: tuple[str, int], frame: Frame) -> None:
        with self._lock:
            self._items[key] = frame
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class SqliteSaver:
    """Persists graph runs as events in a SQLite log; state is rebuilt by folding those events.

    Give it a path, an open ``sqlite3.Connection`` (put in autocommit mode; open it
    with ``check_same_thread=False`` to share it across threads), or any ``EventStore``.
    Every ``snapshot_every`` steps a thread's folded state is cached beside the log,
    so rebuilding any checkpoint folds at most that many steps.
    """

    def __init__(
        self,
        conn: str | Path | sqlite3.Connection | EventStore,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        cache_size: int = 256,
        snapshot_every: int = 100,
    ) -> None:
        if snapshot_every < 1:
            raise ValueError(f"snapshot_every must be at least 1, not {snapshot_every}")
        self.snapshot_every = snapshot_every
        if isinstance(conn, (str, Path, sqlite3.Connection)):
            self.store: EventStore = SqliteEventStore(conn, synchronous=synchronous)
        else:
            self.store = conn
        self._caches: weakref.WeakKeyDictionary[object, FrameCache] = weakref.WeakKeyDictionary()
        self._cache_size = cache_size

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

    def frames(self, owner: object) -> FrameCache:
        """The frame cache of one graph (frames depend on its reducers)."""
        cache = self._caches.get(owner)
        if cache is None:
            cache = self._caches[owner] = FrameCache(self._cache_size)
        return cache

    def close(self) -> None:
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
