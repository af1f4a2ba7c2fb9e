"""The one JSON implementation the log uses: orjson, compact and fast."""

from __future__ import annotations

from typing import Any

import orjson

from eventstore.errors import CorruptLogError, SerializationError


def dumps(data: Any) -> bytes:
    """Serialize already-encoded data (see ``eventstore.values``) to compact JSON bytes."""
    try:
        return orjson.dumps(data)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise SerializationError(f"cannot serialize payload to JSON: {exc}") from None


def loads(raw: bytes | str) -> Any:
    """Parse stored JSON; anything that is not valid JSON is a corrupt log."""
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise CorruptLogError(f"payload is not valid JSON: {exc}") from None
