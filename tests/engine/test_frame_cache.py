"""The frame cache's batch operations keep exactly what the same single operations would keep."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.checkpointer import FrameCache
from engine.events import CheckpointCommitted
from engine.planning import Frame
from engine.views import CheckpointRecord

_ops = st.lists(
    st.tuples(st.sampled_from(["t", "u"]), st.lists(st.integers(min_value=1, max_value=12), max_size=8)), max_size=8
)


def _frame(seq: int) -> Frame:
    return Frame(values={"seq": seq}, step=seq)


def _record(seq: int) -> CheckpointRecord:
    event = CheckpointCommitted(id=f"{seq:012d}-000000000000", step=seq, parent_seq=None)
    return CheckpointRecord(seq=seq, id=event.id, event=event, recorded_at="")


@given(ops=_ops, capacity=st.integers(min_value=1, max_value=6), reads=st.lists(st.integers(1, 12), max_size=4))
def test_put_all_is_the_same_as_setting_each_frame(
    ops: list[tuple[str, list[int]]], capacity: int, reads: list[int]
) -> None:
    batched, single = FrameCache(capacity), FrameCache(capacity)
    for thread_id, seqs in ops:
        batched.put_all(thread_id, [(seq, _frame(seq)) for seq in seqs])
        for seq in seqs:
            single[(thread_id, seq)] = _frame(seq)
        for seq in reads:  # reads move entries to the end too
            assert batched.get((thread_id, seq)) == single.get((thread_id, seq))
    for thread_id in ("t", "u"):
        for seq in range(1, 13):
            assert batched.get((thread_id, seq)) == single.get((thread_id, seq))


@given(ops=_ops, capacity=st.integers(min_value=1, max_value=6))
def test_remember_all_is_the_same_as_remembering_each_record(ops: list[tuple[str, list[int]]], capacity: int) -> None:
    batched, single = FrameCache(capacity), FrameCache(capacity)
    for thread_id, seqs in ops:
        batched.remember_all(thread_id, [_record(seq) for seq in seqs])
        for seq in seqs:
            single.remember(thread_id, _record(seq))
    for thread_id in ("t", "u"):
        for seq in range(1, 13):
            assert batched.record(thread_id, seq) == single.record(thread_id, seq)
