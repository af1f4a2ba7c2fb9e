"""Event timestamps: stored as integer microseconds since the Unix epoch, shown as ISO-8601 UTC text.

The log stores the integer (8 bytes a row, and the hash covers it exactly); the
text is made only when someone looks, from a per-second cache of the date and
time, so reading a long history formats nothing it does not show.
"""

from __future__ import annotations

import datetime as dt
import time

from eventstore.errors import CorruptLogError

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def now_us() -> int:
    """The current time in whole microseconds since the Unix epoch (UTC)."""
    return time.time_ns() // 1000


_TEMPLATES: dict[int, str] = {}
"""``YYYY-MM-DDTHH:MM:SS.%06d+00:00`` by second since 1970: history formats one timestamp per checkpoint."""
_TEMPLATES_KEPT = 4096


def _second(seconds: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a second since 1970, checked (an out-of-range second is a corrupt log)."""
    try:
        text = (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, ValueError):
        text = ""
    if not text or text[0] == "-" or len(text) != 19:
        raise CorruptLogError(f"the timestamp {seconds} seconds after 1970 is out of range")
    return text


def iso_utc(us: int) -> str:
    """``us`` as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``, the text ``datetime.isoformat`` gives in UTC."""
    template = _TEMPLATES.get(us // 1_000_000)
    if template is None:
        if len(_TEMPLATES) >= _TEMPLATES_KEPT:
            _TEMPLATES.clear()
        template = _TEMPLATES[us // 1_000_000] = _second(us // 1_000_000) + ".%06d+00:00"
    return template % (us % 1_000_000)
