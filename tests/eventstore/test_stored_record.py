"""``stored_record`` makes the very record ``EventRecord(...)`` makes, for any field values."""

from __future__ import annotations

import inspect

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore.record_hooks import fills_slots
from eventstore.records import EventRecord, stored_record

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
