"""The chain walk behind ``verify``, on records made in memory: what any store's verify reports.

The store-level tests alter rows in a real SQLite file; these hold the walk
itself to its promise for every chain: an intact chain verifies whole, and the
first altered, missing or unreadable event is the one reported.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
from hypothesis import given
from hypothesis import strategies as st

from eventstore import CorruptLogError, EventRecord
from eventstore.chain_walk import walk_chain
from eventstore.hashing import GENESIS, chain_hash

payloads = st.lists(st.binary(max_size=24), min_size=1, max_size=8)


def chain(payloads: list[bytes], *, first_seq: int = 1, previous: str = GENESIS) -> list[EventRecord]:
    records = []
    for seq, payload in enumerate(payloads, start=first_seq):
        digest = chain_hash(
            previous=previous,
            thread_id="t",
            seq=seq,
            type="Happened",
            schema_version=1,
            recorded_at_us=1_000 + seq,
            payload=payload,
        )
        records.append(
            EventRecord(
                thread_id="t",
                seq=seq,
                position=seq,
                type="Happened",
                schema_version=1,
                payload=payload,
                hash=digest,
                recorded_at_us=1_000 + seq,
            )
        )
        previous = digest
    return records


@given(payloads, st.integers(min_value=0, max_value=7))
def test_an_intact_chain_verifies_whole_from_any_event(payloads: list[bytes], start: int) -> None:
    records = chain(payloads)
    start = min(start, len(records) - 1)
    previous = records[start - 1].hash if start else GENESIS
    report = walk_chain("t", iter(records[start:]), previous=previous, from_seq=start + 1, stored_in=lambda seq: "t")
    assert report.ok
    assert report.events_checked == len(records) - start


@given(payloads, st.data())
def test_the_first_altered_event_is_the_one_reported(payloads: list[bytes], data: st.DataObject) -> None:
    records = chain(payloads)
    at = data.draw(st.integers(min_value=0, max_value=len(records) - 1))
    field = data.draw(st.sampled_from(["payload", "type", "schema_version", "recorded_at_us", "hash"]))
    original = records[at]
    altered = {
        "payload": original.payload + b"!",
        "type": original.type + "!",
        "schema_version": original.schema_version + 1,
        "recorded_at_us": original.recorded_at_us + 1,
        "hash": "f" * 64 if original.hash != "f" * 64 else "e" * 64,
    }[field]
    records[at] = attrs.evolve(original, **{field: altered})
    report = walk_chain("t", iter(records), previous=GENESIS, from_seq=1, stored_in=lambda seq: "t")
    assert report.broken is not None
    assert report.broken.seq == at + 1
    assert report.events_checked == at
    assert report.broken.reason == "the stored hash does not match the event's content and its predecessor"


@given(payloads.filter(lambda p: len(p) >= 2), st.data())
def test_a_missing_event_is_reported_as_a_gap_at_its_number(payloads: list[bytes], data: st.DataObject) -> None:
    records = chain(payloads)
    at = data.draw(st.integers(min_value=0, max_value=len(records) - 2))
    del records[at]
    report = walk_chain("t", iter(records), previous=GENESIS, from_seq=1, stored_in=lambda seq: "t")
    assert report.broken is not None
    assert (report.broken.seq, report.broken.expected, report.broken.found) == (
        at + 1,
        f"event {at + 1}",
        f"event {at + 2}",
    )
    assert report.broken.reason == "an event is missing from the sequence"


def test_a_chain_started_from_the_wrong_predecessor_breaks_at_its_first_event() -> None:
    records = chain([b"a", b"b"], first_seq=3, previous="1" * 64)
    report = walk_chain("t", iter(records), previous="2" * 64, from_seq=3, stored_in=lambda seq: "t")
    assert report.broken is not None
    assert report.broken.seq == 3
    assert report.events_checked == 0


def test_an_unreadable_row_is_reported_where_it_is_stored() -> None:
    good = chain([b"a", b"b"])

    def reading() -> Iterator[EventRecord]:
        yield from good
        raise CorruptLogError("event row at position 3 has a payload of type int")

    seen: list[int] = []

    def stored_in(seq: int) -> str:
        seen.append(seq)
        return "parent"

    report = walk_chain("t", reading(), previous=GENESIS, from_seq=1, stored_in=stored_in)
    assert report.broken is not None
    assert (report.broken.thread_id, report.broken.seq) == ("parent", 3)
    assert report.broken.found == "event row at position 3 has a payload of type int"
    assert report.broken.reason == "the stored row cannot be read as an event"
    assert report.events_checked == 2
    assert seen == [3]
