"""The rows the store reads and writes, as frozen records. The store knows nothing of graphs."""

from __future__ import annotations

import attrs

from eventstore.clock import iso_utc


@attrs.frozen(kw_only=True)
class NewEvent:
    """An event ready to append: its type name, schema version and encoded JSON payload."""

    type: str
    payload: bytes
    schema_version: int = 1
    encoded_by_codec: bool = attrs.field(default=False, init=False, eq=False, repr=False)
    """Set only by ``encode_event``: the payload is JSON by construction, so an append need not parse it again.

    Not a constructor argument, and ``attrs.evolve`` resets it: a payload made any
    other way is parsed before it is stored.
    """


@attrs.frozen(kw_only=True)
class EventRecord:
    """One stored event.

    ``thread_id`` is the thread that stored it: a forked thread's inherited prefix
    comes back with the parent's thread id, so every record's hash can be checked
    against the row it came from. ``hash`` is the SHA-256 in hex (the log stores
    its 32 bytes); ``recorded_at_us`` is when it was appended, in microseconds
    since the Unix epoch (what the log stores and the hash covers).
    """

    thread_id: str
    seq: int
    position: int
    type: str
    schema_version: int
    payload: bytes
    hash: str
    recorded_at_us: int

    @property
    def recorded_at(self) -> str:
        """When it was appended, as ISO-8601 UTC text (made on each access: read the integer in bulk)."""
        return iso_utc(self.recorded_at_us)


@attrs.frozen(kw_only=True)
class ThreadInfo:
    """A thread: where it was forked from (if anywhere) and how far it goes."""

    thread_id: str
    parent_thread_id: str | None
    parent_seq: int | None
    created_at: str
    head_seq: int


@attrs.frozen(kw_only=True)
class SnapshotRecord:
    """A cached fold of a thread up to ``seq``; derived data, never the source of truth."""

    thread_id: str
    seq: int
    payload: bytes
    created_at: str


@attrs.frozen(kw_only=True)
class BrokenLink:
    """The first place a thread's hash chain does not hold."""

    thread_id: str
    seq: int
    expected: str
    found: str
    reason: str


@attrs.frozen(kw_only=True)
class VerifyReport:
    """The result of checking a thread's hash chain from its first event."""

    thread_id: str
    events_checked: int
    broken: BrokenLink | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None
