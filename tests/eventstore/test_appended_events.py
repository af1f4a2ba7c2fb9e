"""``AppendedEvents``: what an append returns behaves as the list of stored records, made once when first read."""

from __future__ import annotations

import pytest

from eventstore.records import AppendedEvents, EventRecord


def record(seq: int) -> EventRecord:
    return EventRecord(
        thread_id="t",
        seq=seq,
        position=seq,
        type="A",
        schema_version=1,
        payload=b"{}",
        hash=f"{seq:064x}",
        recorded_at_us=1_000_000 * seq,
    )


def appended(count: int, calls: list[int] | None = None) -> AppendedEvents:
    def make() -> list[EventRecord]:
        if calls is not None:
            calls.append(1)
        return [record(seq) for seq in range(1, count + 1)]

    return AppendedEvents(count, make)


def test_its_length_is_known_without_making_the_records() -> None:
    calls: list[int] = []
    events = appended(3, calls)
    assert len(events) == 3
    assert calls == []


def test_the_records_are_made_once_and_the_same_objects_are_returned_after() -> None:
    calls: list[int] = []
    events = appended(2, calls)
    first = events[0]
    assert next(iter(events)) is first
    assert events[0] is first
    assert calls == [1]


def test_it_equals_a_list_or_tuple_of_equal_records_in_either_order_of_comparison() -> None:
    records = [record(1), record(2)]
    assert appended(2) == records
    assert records == appended(2)
    assert appended(2) == tuple(records)
    assert appended(2) == appended(2)


def test_it_differs_from_a_shorter_a_longer_or_a_different_sequence() -> None:
    assert appended(2) != [record(1)]
    assert appended(2) != [record(1), record(2), record(3)]
    assert appended(2) != [record(1), record(3)]
    assert appended(2) != "ab"
    assert appended(0) == []


def test_it_supports_negative_indexes_and_slices_like_a_list() -> None:
    events = appended(3)
    assert events[-1] == record(3)
    assert events[1:] == [record(2), record(3)]
    with pytest.raises(IndexError):
        events[3]


def test_it_is_unhashable_like_the_list_it_stands_for() -> None:
    with pytest.raises(TypeError):
        hash(appended(1))


def test_its_repr_shows_the_records() -> None:
    assert repr(appended(1)) == f"AppendedEvents([{record(1)!r}])"
