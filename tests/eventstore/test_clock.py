"""Event timestamps: integer microseconds since 1970 shown as the ISO-8601 text ``datetime`` gives in UTC."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore import CorruptLogError, clock
from eventstore.clock import iso_utc

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LAST = (dt.datetime.max.replace(tzinfo=dt.UTC) - EPOCH) // dt.timedelta(microseconds=1)


@given(st.integers(min_value=0, max_value=LAST))
def test_a_timestamp_reads_as_datetimes_own_iso_text_in_utc(us: int) -> None:
    assert iso_utc(us) == (EPOCH + dt.timedelta(microseconds=us)).isoformat(timespec="microseconds")


@pytest.mark.parametrize("us", [LAST + 1, -(10**18), 2**63 - 1])
def test_a_timestamp_outside_what_a_date_can_show_is_a_corrupt_log(us: int) -> None:
    with pytest.raises(CorruptLogError, match="out of range"):
        iso_utc(us)


def test_the_per_second_cache_stays_bounded_and_right_across_many_seconds() -> None:
    start = 1_796_534_675 * 1_000_000
    for second in range(clock._TEMPLATES_KEPT + 10):
        us = start + second * 1_000_000 + second % 1_000_000
        assert iso_utc(us) == (EPOCH + dt.timedelta(microseconds=us)).isoformat(timespec="microseconds")
        assert len(clock._TEMPLATES) <= clock._TEMPLATES_KEPT


def test_an_out_of_range_timestamp_is_refused_every_time_not_cached() -> None:
    for _ in range(2):
        with pytest.raises(CorruptLogError, match="out of range"):
            iso_utc(LAST + 1)
    assert (LAST + 1) // 1_000_000 not in clock._TEMPLATES
