"""The storage interface every backend implements; the engine depends on nothing else."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from eventstore.records import EventPayload, EventRecord, NewEvent, SnapshotRecord, ThreadInfo, VerifyReport


@runtime_checkable
class EventStore(Protocol):
    """An append-only, hash-chained log of threads of events."""

    def append(
        self,
        thread_id: str,
        events: Sequence[NewEvent],
        *,
        expected_seq: int,
        snapshots: Sequence[tuple[int, bytes]] = (),
    ) -> Sequence[EventRecord]:
        """Append ``events`` after sequence number ``expected_seq`` (0 creates the thread), all or none.

        ``snapshots`` (seq, payload), each at one of the new events, are cached in the same transaction.
        Returns the stored records, in order (a store may make them only when they are first read).

        Raises ``ConcurrencyError`` if the thread's head is not ``expected_seq``, ``ThreadNotFound``
        if ``expected_seq`` is not 0 for an unknown thread, and ``SerializationError`` if a payload
        is not UTF-8 JSON; in each case nothing is written.
        """
        ...

    def read(
        self,
        thread_id: str,
        *,
        from_seq: int = 1,
        to_seq: int | None = None,
        types: Sequence[str] | None = None,
    ) -> Iterator[EventRecord]:
        """Yield a thread's events in sequence order, a forked thread's inherited prefix first."""
        ...

    def read_backward(
        self, thread_id: str, *, before_seq: int | None = None, types: Sequence[str] | None = None
    ) -> Iterator[EventRecord]:
        """Yield a thread's events newest first, without reading the rest of the thread."""
        ...

    def read_payloads_backward(self, thread_id: str, *, before_seq: int | None = None) -> Iterator[EventPayload]:
        """``read_backward`` as a fold reads it: each event's thread, seq, type, version, payload and time.

        The same events in the same order, without hashes or positions, so a reader
        that folds a long thread (its history, say) makes less per event.
        """
        ...

    def read_all(self, *, after: int = 0, limit: int | None = None) -> Iterator[EventRecord]:
        """Yield every thread's events with a global position after ``after``, in commit order."""
        ...

    def head(self, thread_id: str) -> int:
        """The sequence number of a thread's last event (0 for an unknown thread)."""
        ...

    def fork(self, source_thread_id: str, at_seq: int, new_thread_id: str) -> ThreadInfo:
        """Create ``new_thread_id`` whose first ``at_seq`` events are ``source_thread_id``'s; copies nothing."""
        ...

    def thread(self, thread_id: str) -> ThreadInfo:
        """One thread's record; raises ``ThreadNotFound``."""
        ...

    def list_threads(self) -> list[ThreadInfo]:
        """Every thread, oldest first."""
        ...

    def write_snapshot(self, thread_id: str, seq: int, payload: bytes) -> None:
        """Cache a fold of ``thread_id`` up to ``seq`` (opaque bytes; replaces any earlier one at that point)."""
        ...

    def latest_snapshot(self, thread_id: str, *, at_most: int | None = None) -> SnapshotRecord | None:
        """The newest snapshot at or before ``at_most`` on the thread's lineage, if any."""
        ...

    def snapshot_seqs(self, thread_id: str, *, at_most: int | None = None, limit: int | None = None) -> list[int]:
        """Where the thread's lineage has snapshots, newest first (so a reader can plan its folds).

        Only those at or below ``at_most``, and at most ``limit`` of them, if given:
        a reader walking down a long thread reads them a page at a time.
        """
        ...

    def delete_snapshots(self, thread_id: str | None = None) -> int:
        """Drop cached snapshots (all, or one thread's); results never change, only speed."""
        ...

    def verify(self, thread_id: str, *, from_seq: int = 1) -> VerifyReport:
        """Recompute a thread's hash chain and report the first broken link.

        From its first event by default; from ``from_seq`` (chaining to the stored
        hash of event ``from_seq - 1``) to check only what was appended since.
        """
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
