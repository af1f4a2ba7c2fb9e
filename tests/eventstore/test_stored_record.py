"""``stored_record`` and ``encoded_event`` make the very records their classes' constructors make."""

from __future__ import annotations

import inspect

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.record_hooks import fills_slots
from eventstore.records import EventRecord, NewEvent, encoded_event, stored_record

FIELDS = [field.name for field in attrs.fields(EventRecord)]


def test_it_takes_every_field_of_the_record_in_field_order() -> None:
    assert list(inspect.signature(stored_record).parameters) == FIELDS


def test_the_record_has_nothing_its_constructor_would_apply() -> None:
    assert fills_slots(EventRecord)  # slots only: no validators, converters or hooks around __init__
    assert all(field.default is attrs.NOTHING for field in attrs.fields(EventRecord))  # every field is passed


@given(
    thread_id=st.text(min_size=1),
    seq=st.integers(min_value=1),
    position=st.integers(min_value=1),
    type=st.text(min_size=1),
    schema_version=st.integers(min_value=1),
    payload=st.binary(),
    digest=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    recorded_at_us=st.integers(min_value=0),
)
def test_it_equals_the_record_the_constructor_makes(
    thread_id: str,
    seq: int,
    position: int,
    type: str,
    schema_version: int,
    payload: bytes,
    digest: str,
    recorded_at_us: int,
) -> None:
    values = (thread_id, seq, position, type, schema_version, payload, digest, recorded_at_us)
    made = stored_record(*values)
    expected = EventRecord(**dict(zip(FIELDS, values, strict=True)))
    assert made == expected
    assert hash(made) == hash(expected)
    assert repr(made) == repr(expected)
    assert attrs.astuple(made) == values


def test_the_record_it_makes_is_frozen_like_any_other() -> None:
    record = stored_record("t", 1, 1, "A", 1, b"{}", "0" * 64, 0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.seq = 2  # type: ignore[misc]


def test_the_codecs_new_events_take_every_field_but_the_mark_in_field_order() -> None:
    fields = [field.name for field in attrs.fields(NewEvent)]
    assert list(inspect.signature(encoded_event).parameters) == [name for name in fields if name != "encoded_by_codec"]
    assert fields[-1] == "encoded_by_codec"  # the slot ``encoded_event`` sets last
    assert all(field.validator is None and field.converter is None for field in attrs.fields(NewEvent))


@given(type=st.text(min_size=1), payload=st.binary(), schema_version=st.integers(min_value=1))
def test_a_codec_event_equals_the_constructed_one_and_carries_the_mark(
    type: str, payload: bytes, schema_version: int
) -> None:
    made = encoded_event(type, payload, schema_version)
    expected = NewEvent(type=type, payload=payload, schema_version=schema_version)
    assert made == expected
    assert hash(made) == hash(expected)
    assert repr(made) == repr(expected)
    assert made.encoded_by_codec and not expected.encoded_by_codec
    assert not attrs.evolve(made, payload=payload).encoded_by_codec  # any other way of making one drops the mark
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.encoded_by_codec = False  # type: ignore[misc]
