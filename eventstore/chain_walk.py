"""Checking a thread's hash chain as its events are read: the walk behind a store's ``verify``.

It knows no storage. A store hands it the thread's events from ``from_seq`` on,
oldest first, with the hash of the event before them; the walk stops at the
first broken link: a row the store cannot read as an event (reading it raised
``CorruptLogError``), a gap in the sequence, or a hash that does not match the
event's content and its predecessor's hash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from eventstore.errors import CorruptLogError
from eventstore.hashing import chain_hash
from eventstore.records import BrokenLink, EventRecord, VerifyReport


def walk_chain(
    thread_id: str,
    records: Iterator[EventRecord],
    *,
    previous: str,
    from_seq: int,
    stored_in: Callable[[int], str],
) -> VerifyReport:
    """The report on ``records`` (events ``from_seq``.. of ``thread_id``) chained after the hash ``previous``.

    ``stored_in(seq)`` names the thread that stores event ``seq`` (a fork's prefix
    lives in its ancestors), for a row that could not be read and so names nothing.
    """
    expected_seq = from_seq
    checked = 0
    while True:
        try:
            record = next(records, None)
        except CorruptLogError as exc:
            unreadable = BrokenLink(
                thread_id=stored_in(expected_seq),
                seq=expected_seq,
                expected="a well-formed row",
                found=str(exc),
                reason="the stored row cannot be read as an event",
            )
            return VerifyReport(thread_id=thread_id, events_checked=checked, broken=unreadable)
        if record is None:
            return VerifyReport(thread_id=thread_id, events_checked=checked)
        if record.seq != expected_seq:
            gap = BrokenLink(
                thread_id=record.thread_id,
                seq=expected_seq,
                expected=f"event {expected_seq}",
                found=f"event {record.seq}",
                reason="an event is missing from the sequence",
            )
            return VerifyReport(thread_id=thread_id, events_checked=checked, broken=gap)
        digest = chain_hash(
            previous=previous,
            thread_id=record.thread_id,
            seq=record.seq,
            type=record.type,
            schema_version=record.schema_version,
            recorded_at_us=record.recorded_at_us,
            payload=record.payload,
        )
        if digest != record.hash:
            mismatch = BrokenLink(
                thread_id=record.thread_id,
                seq=record.seq,
                expected=digest,
                found=record.hash,
                reason="the stored hash does not match the event's content and its predecessor",
            )
            return VerifyReport(thread_id=thread_id, events_checked=checked, broken=mismatch)
        previous = record.hash
        expected_seq += 1
        checked += 1
