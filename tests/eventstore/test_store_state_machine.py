"""A Hypothesis state machine drives the SQLite store through appends (right and stale heads), crashed
appends, forks, snapshots, reopening the file and reads, checking everything against a plain-Python model."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from eventstore import ConcurrencyError, EventRecord, NewEvent, SqliteEventStore, faults
from tests.eventstore.contract import crash
from tests.strategies import event_batches, event_types, json_objects, thread_ids

names = st.sampled_from(["a", "b", "fork/1", "é t"]) | thread_ids
"""Thread ids, often one already in use (so conflicts and name reuse get exercised)."""

EventId = tuple[str, int]
"""Where an event is stored: (the thread that appended it, its seq)."""


@attrs.define
class ModelThread:
    parent: str | None
    parent_seq: int | None
    events: list[EventId]
    """The event at each seq of this thread (index = seq - 1), inherited prefix included."""


@attrs.define
class Model:
    """The log as plain Python: what the store should hold."""

    threads: dict[str, ModelThread] = attrs.Factory(dict)
    stored: dict[EventId, NewEvent] = attrs.Factory(dict)
    commit_order: list[EventId] = attrs.Factory(list)
    snapshots: dict[EventId, bytes] = attrs.Factory(dict)

    def head(self, thread_id: str) -> int:
        return len(self.threads[thread_id].events) if thread_id in self.threads else 0

    def append(self, thread_id: str, batch: list[NewEvent]) -> list[EventId]:
        thread = self.threads.setdefault(thread_id, ModelThread(parent=None, parent_seq=None, events=[]))
        ids = [(thread_id, len(thread.events) + i) for i in range(1, len(batch) + 1)]
        for event_id, event in zip(ids, batch, strict=True):
            self.stored[event_id] = event
        thread.events += ids
        self.commit_order += ids
        return ids

    def fork(self, source: str, at_seq: int, new_thread: str) -> None:
        self.threads[new_thread] = ModelThread(source, at_seq, self.threads[source].events[:at_seq])

    def expected_records(self, ids: list[EventId]) -> list[tuple[Any, ...]]:
        return [(owner, seq, self.stored[(owner, seq)]) for owner, seq in ids]

    def latest_snapshot(self, thread_id: str, at_most: int) -> tuple[int, bytes] | None:
        events = self.threads[thread_id].events
        for seq in range(min(at_most, len(events)), 0, -1):
            if events[seq - 1] in self.snapshots:
                return seq, self.snapshots[events[seq - 1]]
        return None


def as_model(records: list[EventRecord]) -> list[tuple[Any, ...]]:
    return [
        (r.thread_id, r.seq, NewEvent(type=r.type, payload=r.payload, schema_version=r.schema_version)) for r in records
    ]


class EventStoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="ledgergraph-machine-"))
        self.path = self.directory / "log.db"
        self.store = SqliteEventStore(self.path)
        self.model = Model()

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _pick_thread(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(list(self.model.threads)), label="thread")

    # -- writes -------------------------------------------------------------------------------

    @rule(thread_id=names, batch=event_batches)
    def append_to_a_new_thread(self, thread_id: str, batch: list[NewEvent]) -> None:
        if thread_id in self.model.threads:
            with pytest.raises(ConcurrencyError):
                self.store.append(thread_id, batch, expected_seq=0)
            return
        records = self.store.append(thread_id, batch, expected_seq=0)
        assert [(r.thread_id, r.seq) for r in records] == self.model.append(thread_id, batch)

    @precondition(lambda self: self.model.threads)
    @rule(data=st.data(), batch=event_batches)
    def append_at_the_right_head(self, data: st.DataObject, batch: list[NewEvent]) -> None:
        thread_id = self._pick_thread(data)
        records = self.store.append(thread_id, batch, expected_seq=self.model.head(thread_id))
        assert [(r.thread_id, r.seq) for r in records] == self.model.append(thread_id, batch)

    @precondition(lambda self: self.model.threads)
    @rule(data=st.data(), batch=event_batches, offset=st.sampled_from([-3, -2, -1, 1, 2, 3]))
    def append_at_a_stale_head_changes_nothing(self, data: st.DataObject, batch: list[NewEvent], offset: int) -> None:
        thread_id = self._pick_thread(data)
        expected = max(0, self.model.head(thread_id) + offset)
        if expected == self.model.head(thread_id):
            expected += 1
        with pytest.raises(ConcurrencyError):
            self.store.append(thread_id, batch, expected_seq=expected)

    @rule(data=st.data(), batch=event_batches)
    def an_append_that_crashes_before_commit_changes_nothing(self, data: st.DataObject, batch: list[NewEvent]) -> None:
        thread_id = data.draw(names, label="thread")
        with faults.armed("store.before_commit", crash), pytest.raises(RuntimeError):
            self.store.append(thread_id, batch, expected_seq=self.model.head(thread_id))

    @precondition(lambda self: any(self.model.head(t) for t in self.model.threads))
    @rule(data=st.data(), new_thread=names)
    def fork(self, data: st.DataObject, new_thread: str) -> None:
        source = data.draw(st.sampled_from([t for t in self.model.threads if self.model.head(t)]), label="source")
        at_seq = data.draw(st.integers(1, self.model.head(source)), label="at_seq")
        if new_thread in self.model.threads:
            with pytest.raises(ConcurrencyError):
                self.store.fork(source, at_seq, new_thread)
            return
        info = self.store.fork(source, at_seq, new_thread)
        assert (info.parent_thread_id, info.parent_seq, info.head_seq) == (source, at_seq, at_seq)
        self.model.fork(source, at_seq, new_thread)

    @precondition(lambda self: self.model.threads)
    @rule(data=st.data(), payload=json_objects)
    def write_a_snapshot(self, data: st.DataObject, payload: dict[str, Any]) -> None:
        thread_id = self._pick_thread(data)
        seq = data.draw(st.integers(1, self.model.head(thread_id)), label="seq")
        raw = repr(payload).encode()
        self.store.write_snapshot(thread_id, seq, raw)
        self.model.snapshots[self.model.threads[thread_id].events[seq - 1]] = raw

    @precondition(lambda self: self.model.threads)
    @rule(data=st.data())
    def delete_snapshots(self, data: st.DataObject) -> None:
        thread_id = data.draw(st.none() | st.sampled_from(list(self.model.threads)), label="thread")
        doomed = [k for k in self.model.snapshots if thread_id is None or k[0] == thread_id]
        assert self.store.delete_snapshots(thread_id) == len(doomed)
        for key in doomed:
            del self.model.snapshots[key]

    @rule()
    def reopen_the_file(self) -> None:
        self.store.close()
        self.store = SqliteEventStore(self.path)

    # -- reads --------------------------------------------------------------------------------

    @precondition(lambda self: self.model.threads)
    @rule(
        data=st.data(),
        from_seq=st.integers(1, 12),
        length=st.none() | st.integers(0, 12),
        types=st.none() | st.lists(event_types, max_size=2),
    )
    def read_a_range(self, data: st.DataObject, from_seq: int, length: int | None, types: list[str] | None) -> None:
        thread_id = self._pick_thread(data)
        to_seq = None if length is None else from_seq + length - 1
        ids = self.model.threads[thread_id].events[from_seq - 1 : to_seq]
        expected = [r for r in self.model.expected_records(ids) if types is None or r[2].type in types]
        assert as_model(list(self.store.read(thread_id, from_seq=from_seq, to_seq=to_seq, types=types))) == expected

    @precondition(lambda self: self.model.threads)
    @rule(data=st.data(), before=st.none() | st.integers(1, 15), types=st.none() | st.lists(event_types, max_size=2))
    def read_backward(self, data: st.DataObject, before: int | None, types: list[str] | None) -> None:
        thread_id = self._pick_thread(data)
        events = self.model.threads[thread_id].events
        ids = events if before is None else events[: before - 1]
        expected = [r for r in self.model.expected_records(ids) if types is None or r[2].type in types]
        assert as_model(list(self.store.read_backward(thread_id, before_seq=before, types=types))) == expected[::-1]

    @precondition(lambda self: self.model.threads)
    @rule(data=st.data(), before=st.none() | st.integers(1, 15))
    def read_payloads_backward(self, data: st.DataObject, before: int | None) -> None:
        thread_id = self._pick_thread(data)
        payloads = list(self.store.read_payloads_backward(thread_id, before_seq=before))
        records = list(self.store.read_backward(thread_id, before_seq=before))
        assert [(p.thread_id, p.seq, p.type, p.schema_version, p.payload, p.recorded_at_us) for p in payloads] == [
            (r.thread_id, r.seq, r.type, r.schema_version, r.payload, r.recorded_at_us) for r in records
        ]

    @precondition(lambda self: self.model.threads)
    @rule(data=st.data(), at_most=st.none() | st.integers(0, 15))
    def latest_snapshot(self, data: st.DataObject, at_most: int | None) -> None:
        thread_id = self._pick_thread(data)
        snapshot = self.store.latest_snapshot(thread_id, at_most=at_most)
        found = None if snapshot is None else (snapshot.seq, snapshot.payload)
        assert found == self.model.latest_snapshot(thread_id, 10**9 if at_most is None else at_most)

    @rule(after=st.integers(0, 40), limit=st.none() | st.integers(0, 10))
    def read_all_from_a_position(self, after: int, limit: int | None) -> None:
        everything = list(self.store.read_all())
        expected = [r for r in everything if r.position > after][:limit]
        assert list(self.store.read_all(after=after, limit=limit)) == expected

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def threads_match_the_model(self) -> None:
        listed = [(t.thread_id, t.parent_thread_id, t.parent_seq, t.head_seq) for t in self.store.list_threads()]
        assert listed == [(tid, t.parent, t.parent_seq, len(t.events)) for tid, t in self.model.threads.items()]

    @invariant()
    def read_all_is_the_commit_order_with_increasing_positions(self) -> None:
        records = list(self.store.read_all())
        assert [(r.thread_id, r.seq) for r in records] == self.model.commit_order
        positions = [r.position for r in records]
        assert positions == sorted(set(positions))

    @invariant()
    def every_thread_verifies(self) -> None:
        for thread_id in self.model.threads:
            report = self.store.verify(thread_id)
            assert report.ok, report.broken
            assert report.events_checked == self.model.head(thread_id)


EventStoreMachine.TestCase.settings = settings(EventStoreMachine.TestCase.settings, stateful_step_count=30)
TestEventStoreMachine = EventStoreMachine.TestCase
