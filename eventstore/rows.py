"""How an event is laid out in a row of the ``events`` table, and read back as a record.

The store's SQL (``statements``) says where rows go; this module says what a
row holds: the values of a new row in the INSERT's column order, the checks
that a row read back has only the types ledgergraph writes, and the payload
check before a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from eventstore import jsonio
from eventstore.errors import CorruptLogError, SerializationError
from eventstore.hashing import chain_hashes
from eventstore.records import EventPayload, EventRecord, NewEvent, stored_record


def new_rows(
    thread_id: str,
    owner: str | int,
    head: int,
    previous: str,
    events: Sequence[NewEvent],
    texts: list[str],
    codes: dict[str, int],
    now: int,
) -> list[tuple[Any, ...]]:
    """The rows of ``events`` appended after ``head`` (whose hash is ``previous``), in ``insert_sql``'s order.

    ``texts`` are the payloads as stored and ``codes`` the type codes; a row's hash is its sixth column.
    Its first is ``owner``: the thread's integer key (``insert_sql(by_key=True)``) or its id, which
    ``insert_sql`` looks the key up by.
    """
    hashes = chain_hashes(
        previous=previous,
        thread_id=thread_id,
        first_seq=head + 1,
        recorded_at_us=now,
        events=[(event.type, event.schema_version, event.payload) for event in events],
    )
    return [
        (owner, head + i, codes[event.type], event.schema_version, text, digest, now)
        for i, (event, text, digest) in enumerate(zip(events, texts, hashes, strict=True), start=1)
    ]


_COLUMN_TYPES: tuple[type, ...] = (str, int, int, int, int, bytes, bytes, int)
"""What a row read with ``EVENT_COLUMNS`` may hold (its payload, text or blob, comes as bytes)."""
_COLUMN_NAMES = ("thread_id", "seq", "position", "type", "schema_version", "payload", "hash", "recorded_at")
_PAYLOAD_COLUMN_TYPES: tuple[type, ...] = (str, int, int, int, bytes, int)
_PAYLOAD_COLUMN_NAMES = ("thread_id", "seq", "type", "schema_version", "payload", "recorded_at")
_new_payload = tuple.__new__  # an EventPayload from all its fields, without the named tuple's Python __new__


def record_of(row: tuple[Any, ...], type_names: dict[int, str]) -> EventRecord:
    """One row as a record; a row of the types ledgergraph writes passes a few identity checks.

    ``type_names`` must know the row's type code (see ``SqliteEventStore._records``).
    """
    thread_id, seq, position, code, version, payload, digest, at = row
    if (
        type(payload) is not bytes
        or type(digest) is not bytes
        or type(seq) is not int
        or type(at) is not int
        or type(thread_id) is not str
        or type(position) is not int
        or type(code) is not int
        or type(version) is not int
    ):
        _check_row(row)
    return stored_record(thread_id, seq, position, type_names[code], version, payload, digest.hex(), at)


def payloads_of(
    rows: list[tuple[Any, ...]], type_names: dict[int, str], names_with: Callable[[object, str], dict[int, str]]
) -> Iterator[EventPayload]:
    """Rows read with ``PAYLOAD_COLUMNS`` as ``EventPayload``s, each checked as ``record_of`` checks a row.

    ``names_with(code, where)`` gives the type names again when a row's code is not
    in ``type_names`` (another writer added a type), or raises if none names it.
    One generator for a page, not a call per row: history reads every event.
    """
    for row in rows:
        thread_id, seq, code, version, payload, at = row
        if code not in type_names:
            type_names = names_with(code, f"event row {thread_id!r}#{seq!r}")
        if (  # ``record_of``'s checks for these columns: identity tests beat comparing a tuple of types
            type(payload) is not bytes
            or type(seq) is not int
            or type(at) is not int
            or type(thread_id) is not str
            or type(code) is not int
            or type(version) is not int
        ):
            _check_columns(row, _PAYLOAD_COLUMN_TYPES, _PAYLOAD_COLUMN_NAMES, f"event row {thread_id!r}#{seq!r}")
        yield _new_payload(EventPayload, (thread_id, seq, type_names[code], version, payload, at))


def _check_row(row: tuple[Any, ...]) -> None:
    """The slow path of ``record_of``: name the first column that holds a type ledgergraph never writes."""
    _check_columns(row, _COLUMN_TYPES, _COLUMN_NAMES, f"event row at position {row[2]!r}")


def _check_columns(row: tuple[Any, ...], types: tuple[type, ...], names: tuple[str, ...], where: str) -> None:
    for value, expected, name in zip(row, types, names, strict=True):
        if not isinstance(value, expected) or type(value) is bool:
            raise CorruptLogError(
                f"{where} has a {type(value).__name__} in column {name!r}: the row was altered outside ledgergraph"
            )


def stored_hash(value: object, where: str) -> str:
    """A hash column read back as hex; anything but a blob there was written outside ledgergraph."""
    if type(value) is not bytes:
        raise CorruptLogError(f"the hash of {where} is a {type(value).__name__}, not bytes: it was altered")
    return value.hex()


def payload_text(event: NewEvent) -> str:
    """The payload as the text column stores it; one that is not UTF-8 JSON is refused before any write."""
    if not isinstance(event, NewEvent):
        raise TypeError(f"append takes NewEvent records, not {type(event).__qualname__}")
    if event.encoded_by_codec:
        return event.payload.decode("utf-8")
    try:
        jsonio.loads(event.payload)
        return event.payload.decode("utf-8")
    except (CorruptLogError, UnicodeDecodeError) as exc:
        raise SerializationError(f"the payload of a {event.type!r} event is not UTF-8 JSON: {exc}") from None
