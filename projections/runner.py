"""The projection runner: catch up incrementally, one transaction per batch; rebuild from zero.

Each projection's place in the log (the global position of the last event it
applied, and how many threads it has seen registered, for forks) lives in the
``projection_positions`` table of the projections database, which is the
log's own file by default. A batch reads the events after that position,
applies them, and stores the new position in the same transaction, taken with
``BEGIN IMMEDIATE`` so two runners never interleave. SQLite assigns global
positions under its write lock, so positions commit in order: reading
everything after the stored position never skips an event another process is
appending, and nothing is applied twice.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs
import sqlite_utils

from eventstore import EventStore, SqliteEventStore, ThreadInfo
from projections.errors import BadDatabase, UnknownProjection
from projections.facts import Fact, ThreadForked, logged_event
from projections.protocol import Projection

POSITIONS = "projection_positions"
DEFAULT_BATCH = 500


@attrs.frozen(kw_only=True)
class Position:
    """Where one projection stands: the last global position applied and threads seen."""

    name: str
    version: int
    position: int
    threads_seen: int


class ProjectionRunner:
    """Keeps projections up to date with a log.

    ``db`` is where the projections' tables live: by default the log's own file
    (opened on a second connection), or any other SQLite file. A log in memory
    gets its projections in memory too.
    """

    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection] | None = None,
        *,
        db: str | Path | None = None,
        batch_size: int = DEFAULT_BATCH,
        busy_timeout_ms: int = 10_000,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if projections is None:
            from projections.builtins import builtin_projections

            projections = builtin_projections()
        names = [p.name for p in projections]
        if len(set(names)) != len(names):
            raise ValueError(f"projection names must be unique: {names}")
        self.store = store
        self.projections: dict[str, Projection] = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.path = str(db) if db is not None else _default_path(store)
        self._lock = threading.RLock()
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode = WAL")
            self.db = sqlite_utils.Database(self.conn, execute_plugins=False)
            with self._transaction():
                if not self.db[POSITIONS].exists():
                    self.db[POSITIONS].create(  # type: ignore[union-attr]
                        {"name": str, "version": int, "position": int, "threads_seen": int},
                        pk="name",
                        not_null={"version", "position", "threads_seen"},
                    )
        except sqlite3.Error as exc:
            if hasattr(self, "conn"):
                self.conn.close()
            raise BadDatabase(f"cannot open the projections database {self.path!r}: {exc}") from None
        self._reader, self._owns_reader = _private_reader(store)

    # -- plumbing ---------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction on the projections database, holding its write lock throughout."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise BadDatabase(f"cannot write to {self.path!r}: {exc}") from None
            try:
                yield
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def _selected(self, names: Sequence[str] | str | None) -> list[Projection]:
        if names is None:
            return list(self.projections.values())
        if isinstance(names, str):
            names = [names]
        unknown = [n for n in names if n not in self.projections]
        if unknown:
            known = ", ".join(self.projections)
            raise UnknownProjection(f"no projection named {', '.join(map(repr, unknown))}; known: {known}")
        return [self.projections[n] for n in names]

    def _positions(self) -> dict[str, Position]:
        rows = self.conn.execute(f"SELECT name, version, position, threads_seen FROM {POSITIONS}").fetchall()
        return {r[0]: Position(name=r[0], version=r[1], position=r[2], threads_seen=r[3]) for r in rows}

    def _reset(self, projection: Projection) -> None:
        """Drop the projection's tables, create them afresh and put it back at position 0 (in a transaction)."""
        for table in projection.tables:
            self.conn.execute(f"DROP TABLE IF EXISTS [{table}]")
        projection.create(self.db)
        self.conn.execute(
            f"INSERT OR REPLACE INTO {POSITIONS} (name, version, position, threads_seen) VALUES (?, ?, 0, 0)",
            (projection.name, projection.version),
        )

    # -- public API -------------------------------------------------------------

    def positions(self) -> dict[str, Position]:
        """Every registered projection's stored position (projections never run yet are absent)."""
        with self._lock:
            stored = self._positions()
        return {name: stored[name] for name in self.projections if name in stored}

    def catch_up(self, names: Sequence[str] | str | None = None, *, limit: int | None = None) -> dict[str, int]:
        """Apply what the log gained since each projection's position; return the new positions.

        ``limit`` caps how many events each projection applies in this call (the
        rest waits for the next one). A projection whose version changed, or
        that never ran, is rebuilt from zero first.
        """
        selected = self._selected(names)
        with self._lock:
            self._prepare(selected)
            remaining = {p.name: limit for p in selected} if limit is None or limit > 0 else {}
            while remaining:
                budget = {
                    name: self.batch_size if left is None else min(self.batch_size, left)
                    for name, left in remaining.items()
                }
                for name, count in self._batch(budget).items():
                    left = remaining[name]
                    remaining[name] = None if left is None else left - count
                    if count < budget[name] or remaining[name] == 0:
                        del remaining[name]
            stored = self._positions()
        return {p.name: stored[p.name].position for p in selected}

    def rebuild(self, names: Sequence[str] | str | None = None) -> dict[str, int]:
        """Drop, reset and replay the named projections (all by default); return their positions."""
        selected = self._selected(names)
        with self._lock:
            with self._transaction():
                for projection in selected:
                    self._reset(projection)
            return self.catch_up([p.name for p in selected])

    def close(self) -> None:
        with self._lock:
            self.conn.close()
            if self._owns_reader:
                self._reader.close()

    def __enter__(self) -> ProjectionRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- catching up ------------------------------------------------------------

    def _prepare(self, selected: Sequence[Projection]) -> None:
        """Rebuild (reset) the projections that never ran or whose version changed."""
        stale = [p for p in selected if self._is_stale(p, self._positions())]
        if not stale:
            return
        with self._transaction():
            stored = self._positions()  # another runner may have reset them meanwhile
            for projection in stale:
                if self._is_stale(projection, stored):
                    self._reset(projection)

    def _is_stale(self, projection: Projection, stored: dict[str, Position]) -> bool:
        """Never run, of another version, or missing a table (dropped by hand): it must start from zero."""
        pos = stored.get(projection.name)
        if pos is None or pos.version != projection.version:
            return True
        return not all(self.db[table].exists() for table in projection.tables)

    def _batch(self, budget: dict[str, int]) -> dict[str, int]:
        """One transaction: the least advanced projections apply up to their budget of events.

        Projections at the same position share one read of the log; the others
        wait for a later batch (they catch up with the group, which then grows).
        """
        counts: dict[str, int] = {}
        with self._transaction():
            stored = self._positions()
            start = min(stored[name].position for name in budget)
            group = [self.projections[name] for name in budget if stored[name].position == start]
            events = [logged_event(r) for r in self._reader.read_all(after=start, limit=max(budget.values()))]
            threads = self._reader.list_threads()
            forks = self._forks(threads, min(stored[p.name].threads_seen for p in group))
            for projection in group:
                pos = stored[projection.name]
                mine = events[: budget[projection.name]]
                facts: list[Fact] = [fork for index, fork in forks if index >= pos.threads_seen]
                facts.extend(mine)
                for fact in facts:
                    projection.apply(self.db, fact)
                projection.flush(self.db)
                self.conn.execute(
                    f"UPDATE {POSITIONS} SET position = ?, threads_seen = ? WHERE name = ?",
                    (mine[-1].position if mine else start, len(threads), projection.name),
                )
                counts[projection.name] = len(mine)
        return counts

    def _forks(self, threads: list[ThreadInfo], seen: int) -> list[tuple[int, ThreadForked]]:
        """The forks registered after the first ``seen`` threads, with their inherited events."""
        forks: list[tuple[int, ThreadForked]] = []
        for index, info in enumerate(threads):
            if index < seen or info.parent_thread_id is None or info.parent_seq is None:
                continue
            inherited = tuple(
                logged_event(record, info.thread_id)
                for record in self._reader.read(info.thread_id, to_seq=info.parent_seq)
            )
            forks.append(
                (
                    index,
                    ThreadForked(
                        thread_id=info.thread_id,
                        parent_thread_id=info.parent_thread_id,
                        parent_seq=info.parent_seq,
                        created_at=info.created_at,
                        inherited=inherited,
                    ),
                )
            )
        return forks


def _default_path(store: EventStore) -> str:
    path = getattr(store, "path", None)
    if isinstance(path, str) and path not in ("", ":memory:"):
        return path
    return ":memory:"


def _private_reader(store: EventStore) -> tuple[EventStore, bool]:
    """A connection of the runner's own to a file-backed SQLite log.

    The caller's store may be appending from another thread while it holds its
    lock and waits for SQLite's; reading through it while the runner holds
    SQLite's write lock would make them wait on each other.
    """
    if isinstance(store, SqliteEventStore) and store.path not in ("", ":memory:"):
        return SqliteEventStore(store.path), True
    return store, False
