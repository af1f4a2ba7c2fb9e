"""The SQLite event store: one file, WAL, one transaction per append, triggers for immutability."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventstore import faults, statements
from eventstore.chain_walk import walk_chain
from eventstore.clock import iso_utc, now_us
from eventstore.errors import (
    ConcurrencyError,
    CorruptLogError,
    StorageError,
    ThreadNotFound,
)
from eventstore.hashing import GENESIS
from eventstore.records import (
    AppendedEvents,
    EventPayload,
    EventRecord,
    NewEvent,
    SnapshotRecord,
    ThreadInfo,
    VerifyReport,
    stored_record,
)
from eventstore.rows import (
    new_rows,
    payload_text,
    payloads_of,
    record_of,
    stored_hash,
)
from eventstore.sqlite_connection import Synchronous, WriteTransaction, open_connection, storage_error
from eventstore.type_codes import TypeCodes

PAGE = 1000
FIRST_PAGE = 16  # reads grow 16, 64, 256, 1000 rows a page: a caller that stops early reads little
FIRST_PAGE_BACKWARD = 4  # a head read wants its last event or two (a checkpoint and its parent's result)


def _now() -> str:
    return iso_utc(now_us())


# One segment of a thread's lineage: events ``lo..hi`` (inclusive) stored under ``thread_id``.
Segment = tuple[str, int, int]
_NO_END = 2**62


class SqliteEventStore:
    """An ``EventStore`` in one SQLite file (or ``":memory:"``).

    Safe to share between threads of one process (one connection, guarded by a
    lock) and between processes on one file (WAL, ``busy_timeout``, writers take
    the write lock with ``BEGIN IMMEDIATE`` before reading the head they check;
    an append after the head this store knows is one INSERT that the unique
    ``(thread_key, seq)`` index refuses if another writer got there first).
    """

    def __init__(
        self,
        path: str | Path | sqlite3.Connection = ":memory:",
        *,
        synchronous: Synchronous = "NORMAL",
        busy_timeout_ms: int = 10_000,
        tracer: Callable[[str], None] | None = None,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        self._lock = threading.RLock()
        self._lineage: dict[str, tuple[Segment, ...]] = {}
        # The last event (seq, hash) this store appended or read at a thread's head. An append that
        # expects it skips reading the head: if another writer got there first, the unique
        # (thread_key, seq) index refuses the first row and the append is a ConcurrencyError.
        self._heads: dict[str, tuple[int, str]] = {}
        # Threads' integer keys, as this store made or read them: a key never changes (event_threads
        # only grows), so an append names its thread by key and SQLite need not look the id up.
        self._keys: dict[str, int] = {}
        self._types = TypeCodes()
        self._conn, self.path = open_connection(
            path, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms, tracer=tracer, prepare=self._prepare
        )

    # -- plumbing ---------------------------------------------------------------

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Read the type codes and compile the statements every thread read starts with, while the store opens.

        Compiling (parsing and planning) a statement is most of what a read's first query
        costs, and Python's ``sqlite3`` compiles only on first use: running each over an
        empty range puts it in the connection's statement cache, so the first
        ``get_state`` after opening costs what later ones do.
        """
        self._types.reload(conn)
        for sql, params in statements.PREPARED_READS:
            conn.execute(sql, params).fetchall()

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turn backend exceptions into the store's own, in one place."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self._storage_error(what, exc) from exc

    def _storage_error(self, what: str, exc: sqlite3.Error) -> StorageError:
        return storage_error(what, self.path, exc)

    def _write(self, what: str) -> WriteTransaction:
        """One write transaction holding SQLite's write lock from its first statement."""
        return WriteTransaction(self._conn, self._lock, what, self.path)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:  # every read passes here: translated inline, without a context manager's cost
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._storage_error("read", exc) from exc

    def _records(self, rows: list[tuple[Any, ...]]) -> Iterator[EventRecord]:
        """Rows as records (the thread id, then ``statements.EVENT_COLUMNS``), each checked as it is reached."""
        names = self._types.names
        for row in rows:
            if row[3] not in names:
                names = self._names_with(row[3], f"event row at position {row[2]!r}")
            yield record_of(row, names)

    def _names_with(self, code: object, where: str) -> dict[int, str]:
        """The type names once more, read again: a code this store has not seen was added by another writer.

        A code that still names no type means the row was altered (a column of the
        wrong type is left to the row's own checks, which name the column).
        """
        with self._lock, self._translated("read"):
            self._types.reload(self._conn)
        names = self._types.names
        if type(code) is int and code not in names:
            raise CorruptLogError(
                f"{where} has the type code {code}, which names no event type: the row was altered outside ledgergraph"
            )
        return names

    def _thread_row(self, thread_id: str) -> tuple[str | None, int | None, str, int] | None:
        rows = self._conn.execute(statements.THREAD_ROW, (thread_id,)).fetchall()
        if not rows:
            return None
        row: tuple[str | None, int | None, str, int] = rows[0]
        self._keys[thread_id] = row[3]
        return row

    def _segments(self, thread_id: str) -> tuple[Segment, ...]:
        """Where a thread's events live: its ancestors' prefixes, then its own (cached: never changes)."""
        cached = self._lineage.get(thread_id)
        if cached is not None:
            return cached
        with self._lock, self._translated("read"):
            row = self._thread_row(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        parent, parent_seq, _, _ = row
        own_start = 1
        segments: list[Segment] = []
        if parent is not None and parent_seq is not None:
            for seg_thread, lo, hi in self._segments(parent):
                if lo <= parent_seq:
                    segments.append((seg_thread, lo, min(hi, parent_seq)))
            own_start = parent_seq + 1
        segments.append((thread_id, own_start, _NO_END))
        result = tuple(segments)
        self._lineage[thread_id] = result
        return result

    def _stored_in(self, thread_id: str) -> Callable[[int], str]:
        """Which thread stores a given event of ``thread_id`` (itself, for an event past its head)."""
        return lambda seq: _stored_under(self._segments(thread_id), seq) or thread_id

    def _head_in(self, conn: sqlite3.Connection, thread_id: str, segments: tuple[Segment, ...]) -> int:
        (own,) = conn.execute(statements.HEAD_SEQ, (thread_id,)).fetchone()
        if own is not None:
            return int(own)
        return segments[-1][1] - 1

    def _hash_at(self, conn: sqlite3.Connection, segments: tuple[Segment, ...], seq: int) -> str:
        if seq == 0:
            return GENESIS
        for seg_thread, lo, hi in segments:
            if lo <= seq <= hi:
                row = conn.execute(statements.HASH_AT, (seg_thread, seq)).fetchone()
                if row is None:
                    break
                return stored_hash(row[0], f"event {seq} of {seg_thread!r}")
        raise StorageError(f"event {seq} of the lineage {segments[-1][0]!r} is missing")

    def _type_filter(self, types: Sequence[str] | None) -> tuple[str, tuple[int, ...]]:
        if types is None:
            return "", ()
        with self._lock, self._translated("read"):
            codes = tuple(self._types.lookup(self._conn, types))
        if not codes:
            return " AND 0", ()
        return f" AND type IN ({', '.join('?' * len(codes))})", codes

    # -- writing ----------------------------------------------------------------

    def append(
        self,
        thread_id: str,
        events: Sequence[NewEvent],
        *,
        expected_seq: int,
        snapshots: Sequence[tuple[int, bytes]] = (),
    ) -> Sequence[EventRecord]:
        if not isinstance(thread_id, str) or not thread_id:
            raise ValueError(f"thread_id must be a non-empty string, not {thread_id!r}")
        if not events:
            return []
        for seq, _ in snapshots:
            if not expected_seq < seq <= expected_seq + len(events):
                raise ValueError(
                    f"a snapshot appended with events {expected_seq + 1}..{expected_seq + len(events)} "
                    f"must be at one of them, not at {seq}"
                )
        texts = [payload_text(event) for event in events]
        faults.hit("store.before_append")
        try:
            return self._append(thread_id, events, texts, expected_seq, snapshots)
        except BaseException:
            self._lineage.pop(thread_id, None)  # the thread row may have been rolled back
            self._heads.pop(thread_id, None)
            self._keys.pop(thread_id, None)  # and its key given to the next thread made
            raise

    def _append(
        self,
        thread_id: str,
        events: Sequence[NewEvent],
        texts: list[str],
        expected_seq: int,
        snapshots: Sequence[tuple[int, bytes]],
    ) -> AppendedEvents:
        known = self._heads.get(thread_id)
        if known is not None and known[0] == expected_seq and not snapshots and len(events) <= statements.INSERT_ROWS:
            codes = self._types.known([event.type for event in events])
            if codes is not None:
                return self._append_in_one_statement(thread_id, events, texts, known, codes)
        with self._write("append") as conn:
            if known is not None and known[0] == expected_seq:
                head, previous = known
            else:
                head, previous = self._checked_head(conn, thread_id, expected_seq)
            now = now_us()
            codes = self._types.assign(conn, [event.type for event in events])
            key = self._keys.get(thread_id)
            rows = new_rows(thread_id, thread_id if key is None else key, head, previous, events, texts, codes, now)
            try:
                for start in range(0, len(rows), statements.INSERT_ROWS):
                    chunk = rows[start : start + statements.INSERT_ROWS]
                    last_position = conn.execute(
                        statements.insert_sql(len(chunk), by_key=key is not None), [v for row in chunk for v in row]
                    ).lastrowid
            except sqlite3.IntegrityError:
                self._checked_head(conn, thread_id, expected_seq)  # another writer appended: ConcurrencyError
                raise
            for seq, payload in snapshots:
                conn.execute(statements.INSERT_SNAPSHOT, (thread_id, seq, bytes(payload), _now()))
        self._types.remember(codes)
        return self._appended(thread_id, events, rows, int(last_position or 0))

    def _append_in_one_statement(
        self,
        thread_id: str,
        events: Sequence[NewEvent],
        texts: list[str],
        head: tuple[int, str],
        codes: dict[str, int],
    ) -> AppendedEvents:
        """Events after the head this store last wrote or read, all of known types: one INSERT, its own transaction.

        SQLite commits a lone statement atomically. The unique ``(thread_key, seq)``
        index refuses it if another writer appended first; the head is read only then.
        """
        key = self._keys.get(thread_id)
        rows = new_rows(thread_id, thread_id if key is None else key, head[0], head[1], events, texts, codes, now_us())
        with self._lock:
            faults.hit("store.before_commit")
            try:
                last_position = self._conn.execute(
                    statements.insert_sql(len(rows), by_key=key is not None), [v for row in rows for v in row]
                ).lastrowid
            except sqlite3.IntegrityError as exc:
                with self._write("append") as conn:
                    self._checked_head(conn, thread_id, head[0])  # another writer appended: ConcurrencyError
                raise self._storage_error("append", exc) from exc
            except sqlite3.Error as exc:
                raise self._storage_error("append", exc) from exc
        faults.hit("store.after_commit")
        return self._appended(thread_id, events, rows, int(last_position or 0))

    def _appended(
        self, thread_id: str, events: Sequence[NewEvent], rows: list[tuple[Any, ...]], last_position: int
    ) -> AppendedEvents:
        """Remember the new head; the stored rows as records, made when first read."""
        last = rows[-1]
        self._heads[thread_id] = (last[1], last[5].hex())
        first_position = last_position - len(rows) + 1

        def records() -> list[EventRecord]:
            return [
                stored_record(thread_id, seq, first_position + i, event.type, version, event.payload, digest.hex(), at)
                for i, (event, (_, seq, _, version, _, digest, at)) in enumerate(zip(events, rows, strict=True))
            ]

        return AppendedEvents(len(rows), records)

    def _checked_head(self, conn: sqlite3.Connection, thread_id: str, expected_seq: int) -> tuple[int, str]:
        """The thread's head (seq, hash), read in the write transaction; creates an unknown thread at 0.

        Raises ``ConcurrencyError`` if the head is not ``expected_seq``.
        """
        if thread_id not in self._lineage and expected_seq == 0:
            # A thread this store has not seen, expected to be empty: its row is made without looking
            # first. If it exists (another writer made it, or it is a fork), the unique id refuses the
            # row and its head is checked below like any other thread's.
            try:
                made = conn.execute(statements.NEW_THREAD, (thread_id, _now()))
            except sqlite3.IntegrityError:
                pass
            else:
                self._keys[thread_id] = int(made.lastrowid or 0)  # dropped again if the append rolls back
                self._lineage[thread_id] = ((thread_id, 1, _NO_END),)  # dropped again if the append rolls back
                return 0, GENESIS
        segments = self._segments(thread_id)  # ThreadNotFound for a thread with no row
        last = conn.execute(statements.LAST_EVENT, (thread_id,)).fetchone()
        head = int(last[0]) if last is not None else segments[-1][1] - 1
        if head != expected_seq:
            raise ConcurrencyError(
                f"thread {thread_id!r} is at event {head}, not {expected_seq}: another writer "
                "appended first; nothing was written",
                thread_id=thread_id,
                expected=expected_seq,
                actual=head,
            )
        if last is not None:
            return head, stored_hash(last[1], f"event {head} of {thread_id!r}")
        return head, self._hash_at(conn, segments, head)

    def fork(self, source_thread_id: str, at_seq: int, new_thread_id: str) -> ThreadInfo:
        if not isinstance(new_thread_id, str) or not new_thread_id:
            raise ValueError(f"new_thread_id must be a non-empty string, not {new_thread_id!r}")
        with self._write("fork") as conn:
            segments = self._segments(source_thread_id)
            head = self._head_in(conn, source_thread_id, segments)
            if not 1 <= at_seq <= head:
                raise ValueError(f"cannot fork thread {source_thread_id!r} at event {at_seq}: it has events 1..{head}")
            if self._thread_row(new_thread_id) is not None:
                raise ConcurrencyError(f"thread {new_thread_id!r} already exists", thread_id=new_thread_id)
            created = _now()
            conn.execute(
                statements.NEW_FORK,
                (new_thread_id, source_thread_id, at_seq, created),
            )
        return ThreadInfo(
            thread_id=new_thread_id,
            parent_thread_id=source_thread_id,
            parent_seq=at_seq,
            created_at=created,
            head_seq=at_seq,
        )

    # -- reading ----------------------------------------------------------------

    def head(self, thread_id: str) -> int:
        try:
            segments = self._segments(thread_id)
        except ThreadNotFound:
            return 0
        with self._lock:  # every run starts here: translated inline, without a context manager's cost
            try:
                return self._head_in(self._conn, thread_id, segments)
            except sqlite3.Error as exc:
                raise self._storage_error("read", exc) from exc

    def thread(self, thread_id: str) -> ThreadInfo:
        with self._lock, self._translated("read"):
            row = self._thread_row(thread_id)
        if row is None:
            raise ThreadNotFound(thread_id)
        return ThreadInfo(
            thread_id=thread_id,
            parent_thread_id=row[0],
            parent_seq=row[1],
            created_at=row[2],
            head_seq=self.head(thread_id),
        )

    def list_threads(self) -> list[ThreadInfo]:
        rows = self._query(statements.LIST_THREADS)
        return [
            ThreadInfo(
                thread_id=r[0],
                parent_thread_id=r[1],
                parent_seq=r[2],
                created_at=r[3],
                head_seq=r[4] if r[4] is not None else (r[2] or 0),
            )
            for r in rows
        ]

    def read(
        self,
        thread_id: str,
        *,
        from_seq: int = 1,
        to_seq: int | None = None,
        types: Sequence[str] | None = None,
    ) -> Iterator[EventRecord]:
        upper = _NO_END if to_seq is None else to_seq
        type_sql, type_params = self._type_filter(types)
        # A bounded range comes back in one query; an open-ended read starts small and grows.
        page = FIRST_PAGE if to_seq is None else max(1, min(PAGE, to_seq - from_seq + 1))
        segments = self._lineage.get(thread_id)
        if segments is None and types is None and from_seq <= upper:
            # A thread's own events all follow its fork point: when its own rows start where the
            # read does, they are the whole answer and the lineage need not be looked up.
            rows = self._page(thread_id, from_seq, upper, "", (), page)
            if rows and rows[0][1] == from_seq:
                yield from self._records(rows)
                if len(rows) == page:
                    yield from self._forward(thread_id, rows[-1][1] + 1, upper, "", (), min(PAGE, page * 4))
                return
        for seg_thread, lo, hi in segments or self._segments(thread_id):
            start, stop = max(lo, from_seq), min(hi, upper)
            if start <= stop:
                yield from self._forward(seg_thread, start, stop, type_sql, type_params, page)

    def _page(
        self, thread_id: str, start: int, stop: int, type_sql: str, type_params: tuple[int, ...], page: int
    ) -> list[tuple[Any, ...]]:
        return self._query(
            statements.THREAD_RANGE + type_sql + statements.FORWARD_ORDER, (thread_id, start, stop, *type_params, page)
        )

    def _forward(
        self, thread_id: str, start: int, stop: int, type_sql: str, type_params: tuple[int, ...], page: int
    ) -> Iterator[EventRecord]:
        """The events stored under ``thread_id`` in ``start..stop``, oldest first, a page at a time."""
        while start <= stop:
            rows = self._page(thread_id, start, stop, type_sql, type_params, page)
            yield from self._records(rows)
            if len(rows) < page:
                return
            start = rows[-1][1] + 1
            page = min(PAGE, page * 4)

    def read_backward(
        self, thread_id: str, *, before_seq: int | None = None, types: Sequence[str] | None = None
    ) -> Iterator[EventRecord]:
        type_sql, type_params = self._type_filter(types)
        sql = statements.THREAD_RANGE + type_sql + statements.BACKWARD_ORDER
        for seg_thread, stop, rows in self._pages_backward(thread_id, before_seq, sql, type_params):
            if rows and stop == _NO_END and not type_sql and seg_thread == thread_id:
                head = rows[0]  # the thread's own newest event: its head as of this read
                if type(head[1]) is int and type(head[6]) is bytes:
                    self._heads[thread_id] = (head[1], head[6].hex())
            yield from self._records(rows)

    def read_payloads_backward(self, thread_id: str, *, before_seq: int | None = None) -> Iterator[EventPayload]:
        for _, _, rows in self._pages_backward(thread_id, before_seq, statements.PAYLOAD_RANGE_BACKWARD, ()):
            yield from payloads_of(rows, self._types.names, self._names_with)

    def _pages_backward(
        self, thread_id: str, before_seq: int | None, sql: str, params: tuple[int, ...]
    ) -> Iterator[tuple[str, int, list[tuple[Any, ...]]]]:
        """Pages of a thread's rows newest first: (the thread that stored them, the page's upper bound, rows).

        ``sql`` selects ``seq`` second and takes (thread, lowest seq, highest seq,
        ``params``, page size). Pages grow from a few rows, so a reader that stops
        early reads little.
        """
        upper = _NO_END if before_seq is None else before_seq - 1
        # A thread's own events all come after its fork point, so the newest ones can be read
        # before its lineage is looked up; the lineage is needed only once they run out.
        segments = self._lineage.get(thread_id) or ((thread_id, 1, _NO_END),)
        page = FIRST_PAGE_BACKWARD
        looked_up = thread_id in self._lineage
        index = len(segments) - 1
        while index >= 0:
            seg_thread, lo, hi = segments[index]
            stop = min(hi, upper)
            while stop >= lo:
                rows = self._query(sql, (seg_thread, lo, stop, *params, page))
                yield seg_thread, stop, rows
                if len(rows) < page:
                    break
                stop = rows[-1][1] - 1
                page = min(PAGE, page * 4)
            if not looked_up:
                looked_up = True
                segments = self._segments(thread_id)  # raises ThreadNotFound for an unknown thread
                upper = min(upper, segments[-1][1] - 1)
                index = len(segments) - 1
            index -= 1

    def read_all(self, *, after: int = 0, limit: int | None = None) -> Iterator[EventRecord]:
        remaining = limit
        position = after
        while remaining is None or remaining > 0:
            page = PAGE if remaining is None else min(PAGE, remaining)
            rows = self._query(statements.ALL_AFTER, (position, page))
            yield from self._records(rows)
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < page:
                return
            position = rows[-1][2]

    # -- snapshots --------------------------------------------------------------

    def write_snapshot(self, thread_id: str, seq: int, payload: bytes) -> None:
        segments = self._segments(thread_id)
        owner = _stored_under(segments, seq)
        if owner is None:
            raise ValueError(f"thread {thread_id!r} has no event {seq} to snapshot")
        with self._write("snapshot") as conn:
            if seq > self._head_in(conn, thread_id, segments):
                raise ValueError(f"thread {thread_id!r} has no event {seq} to snapshot")
            conn.execute(
                statements.INSERT_SNAPSHOT,
                (owner, seq, bytes(payload), _now()),
            )

    def latest_snapshot(self, thread_id: str, *, at_most: int | None = None) -> SnapshotRecord | None:
        upper = _NO_END if at_most is None else at_most
        # Snapshots stored under a thread are of its own events: look there before its lineage.
        own = self._snapshot_in(thread_id, 1, upper)
        if own is not None:
            return own
        for seg_thread, lo, hi in reversed(self._segments(thread_id)[:-1]):
            if lo <= upper:
                found = self._snapshot_in(seg_thread, lo, min(hi, upper))
                if found is not None:
                    return found
        return None

    def snapshot_seqs(self, thread_id: str, *, at_most: int | None = None, limit: int | None = None) -> list[int]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be at least 0, not {limit}")
        found: list[int] = []
        for seg_thread, lo, hi in reversed(self._segments(thread_id)):
            hi = hi if at_most is None else min(hi, at_most)
            remaining = -1 if limit is None else limit - len(found)  # SQLite reads a negative LIMIT as none
            if hi >= lo and remaining != 0:
                found.extend(seq for (seq,) in self._query(statements.SNAPSHOT_SEQS, (seg_thread, lo, hi, remaining)))
        return found

    def _snapshot_in(self, thread_id: str, lo: int, hi: int) -> SnapshotRecord | None:
        rows = self._query(statements.LATEST_SNAPSHOT, (thread_id, lo, hi))
        if not rows:
            return None
        t, seq, payload, created = rows[0]
        raw = payload.encode("utf-8") if type(payload) is str else bytes(payload)
        return SnapshotRecord(thread_id=t, seq=seq, payload=raw, created_at=created)

    def delete_snapshots(self, thread_id: str | None = None) -> int:
        with self._write("delete snapshots") as conn:
            if thread_id is None:
                cursor = conn.execute(statements.DELETE_SNAPSHOTS)
            else:
                cursor = conn.execute(statements.DELETE_THREAD_SNAPSHOTS, (thread_id,))
            return int(cursor.rowcount)

    # -- verification -----------------------------------------------------------

    def verify(self, thread_id: str, *, from_seq: int = 1) -> VerifyReport:
        if from_seq < 1:
            raise ValueError(f"from_seq must be at least 1, not {from_seq}")
        previous = GENESIS
        if from_seq > 1:
            segments = self._segments(thread_id)
            with self._lock, self._translated("verify"):
                previous = self._hash_at(self._conn, segments, from_seq - 1)
        records = self.read(thread_id, from_seq=from_seq)
        return walk_chain(
            thread_id, records, previous=previous, from_seq=from_seq, stored_in=self._stored_in(thread_id)
        )

    # -- lifecycle --------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteEventStore({self.path!r})"


def _stored_under(segments: tuple[Segment, ...], seq: int) -> str | None:
    return next((seg_thread for seg_thread, lo, hi in segments if lo <= seq <= hi), None)
