"""The hash chain: each event's hash covers its content and the hash of the event before it."""

from __future__ import annotations

import hashlib

GENESIS = "0" * 64
"""The 'previous hash' of a thread's first event (a fork's first event chains to its parent instead)."""


def _field(value: str) -> bytes:
    raw = value.encode("utf-8", "surrogatepass")
    return b"%d:" % len(raw) + raw


def chain_hash(
    *,
    previous: str,
    thread_id: str,
    seq: int,
    type: str,
    schema_version: int,
    recorded_at: str,
    payload: bytes,
) -> str:
    """SHA-256 over length-prefixed fields, so no two different events share an encoding.

    The layout, for readers verifying an export offline: the hex ``previous`` hash,
    then ``len:thread_id``, ``len:seq``, ``len:type``, ``len:schema_version``,
    ``len:recorded_at`` and ``len:payload`` (lengths in bytes, decimal, UTF-8 text).
    """
    h = hashlib.sha256(previous.encode("ascii"))
    h.update(_field(thread_id))
    h.update(_field(str(seq)))
    h.update(_field(type))
    h.update(_field(str(schema_version)))
    h.update(_field(recorded_at))
    h.update(b"%d:" % len(payload))
    h.update(payload)
    return h.hexdigest()
