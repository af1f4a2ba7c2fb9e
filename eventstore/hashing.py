"""The hash chain: each event's hash covers its content and the hash of the event before it."""

from __future__ import annotations

from binascii import hexlify
from collections.abc import Iterable
from hashlib import sha256

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
    (digest,) = chain_hashes(
        previous=previous,
        thread_id=thread_id,
        first_seq=seq,
        recorded_at_us=recorded_at_us,
        events=[(type, schema_version, payload)],
    )
    return digest.hex()


def chain_hashes(
    *,
    previous: str,
    thread_id: str,
    first_seq: int,
    recorded_at_us: int,
    events: Iterable[tuple[str, int, bytes]],
) -> list[bytes]:
    """The 32-byte hashes of consecutive events (type, schema version, payload) appended at one time.

    Each is ``chain_hash`` of its event, chained to the one before; the fields the
    events share (thread and timestamp) are encoded once.
    """
    thread = _field(thread_id.encode("utf-8", "surrogatepass"))
    when = _field(b"%d" % recorded_at_us)
    before = previous.encode("ascii")
    digests: list[bytes] = []
    seq = first_seq
    for kind, version, payload in events:
        seq_text = b"%d" % seq
        # One formatting operation per event: the layout of ``chain_hash``'s docstring.
        message = b"%b%b%d:%b%b%b%d:%b" % (
            before,
            thread,
            len(seq_text),
            seq_text,
            _TYPE_FIELDS.get((kind, version)) or _type_fields(kind, version),
            when,
            len(payload),
            payload,
        )
        digest = sha256(message).digest()
        digests.append(digest)
        before = hexlify(digest)  # the hex text the next event's hash covers, made as bytes at once
        seq += 1
    return digests


_TYPE_FIELDS: dict[tuple[str, int], bytes] = {}
"""The encoded ``type`` and ``schema_version`` fields by (type, version): a log has few (bounded below)."""


def _type_fields(kind: str, version: int) -> bytes:
    fields = _field(kind.encode("utf-8", "surrogatepass")) + _field(str(version).encode("ascii"))
    if len(_TYPE_FIELDS) < 10_000:
        _TYPE_FIELDS[(kind, version)] = fields
    return fields


def _field(value: bytes) -> bytes:
    return b"%d:%b" % (len(value), value)
