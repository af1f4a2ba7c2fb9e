"""The hash chain's layout: a batch hashed at once equals each event hashed in turn, and no two encodings collide."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from eventstore.hashing import GENESIS, chain_hash, chain_hashes

event_fields = st.tuples(
    st.text(min_size=1, max_size=12),
    st.integers(min_value=1, max_value=3),
    st.binary(max_size=40),
)


@given(
    thread_id=st.text(min_size=1, max_size=12),
    first_seq=st.integers(min_value=1, max_value=10**6),
    recorded_at_us=st.integers(min_value=0, max_value=2**62),
    events=st.lists(event_fields, min_size=1, max_size=6),
)
def test_hashing_a_batch_equals_chaining_each_event_in_turn(
    thread_id: str, first_seq: int, recorded_at_us: int, events: list[tuple[str, int, bytes]]
) -> None:
    expected = []
    previous = GENESIS
    for seq, (kind, version, payload) in enumerate(events, start=first_seq):
        previous = chain_hash(
            previous=previous,
            thread_id=thread_id,
            seq=seq,
            type=kind,
            schema_version=version,
            recorded_at_us=recorded_at_us,
            payload=payload,
        )
        expected.append(previous)
    batch = chain_hashes(
        previous=GENESIS, thread_id=thread_id, first_seq=first_seq, recorded_at_us=recorded_at_us, events=events
    )
    assert [digest.hex() for digest in batch] == expected


def test_moving_bytes_between_fields_changes_the_hash() -> None:
    common = {"previous": GENESIS, "seq": 1, "schema_version": 1, "recorded_at_us": 5}
    assert chain_hash(thread_id="ab", type="c", payload=b"{}", **common) != chain_hash(
        thread_id="a", type="bc", payload=b"{}", **common
    )


def test_the_hash_is_sha256_of_the_documented_layout() -> None:
    """The layout an offline verifier of an export rebuilds, spelled out byte by byte."""
    previous = "ab" * 32
    message = (
        previous.encode("ascii")
        + b"6:thread"
        + b"3:123"
        + b"13:TaskCompleted"
        + b"1:2"
        + b"16:1700000000000000"
        + b'10:{"k":"\xc3\xa9"}'
    )
    for _ in range(2):  # the second time, the type's encoded fields come from the hasher's cache
        assert (
            chain_hash(
                previous=previous,
                thread_id="thread",
                seq=123,
                type="TaskCompleted",
                schema_version=2,
                recorded_at_us=1_700_000_000_000_000,
                payload='{"k":"é"}'.encode(),
            )
            == hashlib.sha256(message).hexdigest()
        )
