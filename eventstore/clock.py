"""Event timestamps: stored as integer microseconds since the Unix epoch, shown as ISO-8601 UTC text.

The log stores the integer (8 bytes a row, and the hash covers it exactly); the
text is made only when someone looks, from a per-second cache, so reading a
long history formats nothing it does not show.
"""

from __future__ import annotations

import datetime as dt
import functools
import time

from eventstore.errors import CorruptLogError

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def now_us() -> int:
    """The current time in whole microseconds since the Unix epoch (UTC)."""
    return time.time_ns() // 1000


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    return (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")


def iso_utc(us: int) -> str:
    """``us`` as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``, the text ``datetime.isoformat`` gives in UTC."""
    seconds, micros = divmod(us, 1_000_000)
    try:
        prefix = _second(seconds)
    except (OverflowError, ValueError):
        raise CorruptLogError(f"the timestamp {us} (microseconds since 1970) is out of range") from None
    if prefix[0] == "-" or len(prefix) != 19:
        raise CorruptLogError(f"the timestamp {us} (microseconds since 1970) is out of range")
    return f"{prefix}.{micros:06d}+00:00"
