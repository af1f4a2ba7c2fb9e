"""The hash chain: each event's hash covers its content and the hash of the event before it."""

from __future__ import annotations

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
    when = _field(str(recorded_at_us).encode("ascii"))
    before = previous.encode("ascii")
    digests: list[bytes] = []
    for seq, (kind, version, payload) in enumerate(events, start=first_seq):
        seq_text = str(seq).encode("ascii")
        kind_text = kind.encode("utf-8", "surrogatepass")
        version_text = str(version).encode("ascii")
        # One formatting operation per event: the layout of ``chain_hash``'s docstring.
        message = b"%b%b%d:%b%d:%b%d:%b%b%d:%b" % (
            before,
            thread,
            len(seq_text),
            seq_text,
            len(kind_text),
            kind_text,
            len(version_text),
            version_text,
            when,
            len(payload),
            payload,
        )
        digest = sha256(message).digest()
        digests.append(digest)
        before = digest.hex().encode("ascii")
    return digests


def _field(value: bytes) -> bytes:
    return b"%d:%b" % (len(value), value)
