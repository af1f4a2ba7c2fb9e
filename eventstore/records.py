"""The rows the store reads and writes, as frozen records. The store knows nothing of graphs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, overload

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


class EventPayload(NamedTuple):
    """A stored event as a fold reads it: what ``decode_event`` needs, and when it was recorded.

    ``EventStore.read_payloads_backward`` yields these. They carry no hash and no
    global position (read ``EventRecord``s for those), so a long read selects less
    and makes one tuple per event instead of a record: reading a thread's whole
    history does an eighth less work. ``thread_id`` is the thread that stored the
    event, as in ``EventRecord``.
    """

    thread_id: str
    seq: int
    type: str
    schema_version: int
    payload: bytes
    recorded_at_us: int

    @property
    def recorded_at(self) -> str:
        """When it was appended, as ISO-8601 UTC text (``EventRecord.recorded_at``)."""
        return iso_utc(self.recorded_at_us)


StoredEvent = EventRecord | EventPayload
"""An event read back from a store: a whole record, or a fold's payload (``decode_event`` takes either)."""


_EVENT_RECORD_SLOTS: tuple[Callable[[EventRecord, Any], None], ...] = tuple(
    EventRecord.__dict__[field.name].__set__ for field in attrs.fields(EventRecord)
)
(_thread_id, _seq, _position, _type, _schema_version, _payload, _hash, _recorded_at_us) = _EVENT_RECORD_SLOTS
_new_record = object.__new__


def stored_record(
    thread_id: str,
    seq: int,
    position: int,
    type: str,
    schema_version: int,
    payload: bytes,
    hash: str,
    recorded_at_us: int,
) -> EventRecord:
    """``EventRecord(...)`` for a row the store read or wrote, with its fields set through their slots.

    A store makes one record per event it reads, and a frozen attrs ``__init__``
    sets each field through ``object.__setattr__``: setting the slots directly
    makes a record in 60% of the time (5% of reading a thread's history). It is
    the same record: ``EventRecord`` has no defaults, validators or converters for
    ``__init__`` to apply (a test holds both to that).
    """
    record: EventRecord = _new_record(EventRecord)
    _thread_id(record, thread_id)
    _seq(record, seq)
    _position(record, position)
    _type(record, type)
    _schema_version(record, schema_version)
    _payload(record, payload)
    _hash(record, hash)
    _recorded_at_us(record, recorded_at_us)
    return record


_NEW_EVENT_SLOTS: tuple[Callable[[NewEvent, Any], None], ...] = tuple(
    NewEvent.__dict__[field.name].__set__ for field in attrs.fields(NewEvent)
)
(_event_type, _event_payload, _event_version, _event_encoded) = _NEW_EVENT_SLOTS


def encoded_event(type: str, payload: bytes, schema_version: int) -> NewEvent:
    """The ``NewEvent`` ``encode_event`` returns: marked ``encoded_by_codec``, its slots set directly.

    For the codec alone: the mark tells the store the payload is the JSON library's
    own output, which it then does not parse again. A step encodes each of its
    events, and the keyword ``__init__`` and the mark's ``object.__setattr__`` were
    a fifth of encoding one.
    """
    event: NewEvent = _new_record(NewEvent)
    _event_type(event, type)
    _event_payload(event, payload)
    _event_version(event, schema_version)
    _event_encoded(event, True)
    return event


class AppendedEvents(Sequence[EventRecord]):
    """The records an append stored, made the first time they are read.

    A graph run appends every step and never looks at what came back; making
    the records eagerly cost about a twentieth of a superstep. Read, it behaves
    as the list of records (equal to a list or tuple holding equal records).
    """

    __slots__ = ("_count", "_make", "_records")

    def __init__(self, count: int, make: Callable[[], list[EventRecord]]) -> None:
        self._count = count
        self._make: Callable[[], list[EventRecord]] | None = make
        self._records: list[EventRecord] | None = None

    def _made(self) -> list[EventRecord]:
        if self._records is None:
            assert self._make is not None
            self._records, self._make = self._make(), None
        return self._records

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> EventRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[EventRecord]: ...
    def __getitem__(self, index: int | slice) -> EventRecord | list[EventRecord]:
        return self._made()[index]

    def __iter__(self) -> Iterator[EventRecord]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (AppendedEvents, list, tuple)):
            return len(other) == self._count and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, so unhashable like one

    def __repr__(self) -> str:
        return f"AppendedEvents({self._made()!r})"


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
