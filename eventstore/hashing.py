"""The hash chain: each event's hash covers its content and the hash of the event before it."""

from __future__ import annotations

import hashlib

GENESIS = "0" * 64
"""The 'previous hash' of a thread's first event (a fork's first event chains to its parent instead)."""


def chain_hash(
    *,
    previous: str,
    thread_id: str,
    seq: int,
    type: str,
    schema_version: int,
    recorded_at_us: int,
    payload: bytes,
) -> str:
    """SHA-256 over length-prefixed fields, so no two different events share an encoding.

    The layout, for readers verifying an export offline: the hex ``previous`` hash,
    then ``len:thread_id``, ``len:seq``, ``len:type``, ``len:schema_version``,
    ``len:recorded_at_us`` and ``len:payload`` (lengths in bytes, decimal, UTF-8
    text; ``recorded_at_us`` is the timestamp in microseconds since the Unix
    epoch, in decimal: the integer the log stores, so the hash never depends on
    how a timestamp is formatted). The result is hex; the log stores its 32 bytes.
    """
    thread = thread_id.encode("utf-8", "surrogatepass")
    number = str(seq).encode("utf-8", "surrogatepass")
    kind = type.encode("utf-8", "surrogatepass")
    version = str(schema_version).encode("utf-8", "surrogatepass")
    when = str(recorded_at_us).encode("ascii")
    message = b"%b%d:%b%d:%b%d:%b%d:%b%d:%b%d:%b" % (
        previous.encode("ascii"),
        len(thread),
        thread,
        len(number),
        number,
        len(kind),
        kind,
        len(version),
        version,
        len(when),
        when,
        len(payload),
        payload,
    )
    return hashlib.sha256(message).hexdigest()
