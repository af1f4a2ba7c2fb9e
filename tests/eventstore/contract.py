"""The behaviour every ``EventStore`` backend must have, as one abstract test class.

A backend's test module subclasses ``EventStoreContract`` and implements
``make_store()``; it then runs every test here. The class is not named ``Test*``
so pytest collects it only through its subclasses.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import orjson
import pytest

from eventstore import (
    GENESIS,
    ConcurrencyError,
    EventPayload,
    EventRecord,
    EventStore,
    NewEvent,
    SerializationError,
    ThreadNotFound,
    chain_hash,
    decode_event,
    encode_event,
    faults,
)
from eventstore.example import Deposited


def event(type: str = "Happened", **payload: Any) -> NewEvent:
    """A small event with a JSON payload."""
    return NewEvent(type=type, payload=orjson.dumps(payload))


def crash() -> None:
    """A fault action: the write path dies here."""
    raise RuntimeError("power cut")


def events(n: int, type: str = "Happened", start: int = 1) -> list[NewEvent]:
    return [event(type, n=i) for i in range(start, start + n)]


def seqs(records: Iterator[EventRecord] | list[EventRecord]) -> list[int]:
    return [r.seq for r in records]


def as_payload(record: EventRecord) -> EventPayload:
    """What ``read_payloads_backward`` gives for a record ``read_backward`` gives."""
    return EventPayload(
        record.thread_id, record.seq, record.type, record.schema_version, record.payload, record.recorded_at_us
    )


def payload_numbers(records: Iterator[EventRecord] | list[EventRecord]) -> list[int]:
    return [orjson.loads(r.payload)["n"] for r in records]


class EventStoreContract(abc.ABC):
    """Tests every backend inherits. Each test gets a fresh, empty store from ``make_store()``."""

    @abc.abstractmethod
    def make_store(self) -> EventStore:
        """Return a new, empty store (called once per test)."""

    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    # -- append and read ------------------------------------------------------------------

    def test_the_store_implements_the_protocol(self, store: EventStore) -> None:
        assert isinstance(store, EventStore)

    def test_a_new_thread_numbers_its_events_from_one(self, store: EventStore) -> None:
        records = store.append("t", events(3), expected_seq=0)
        assert seqs(records) == [1, 2, 3]
        assert all(r.thread_id == "t" for r in records)
        assert store.head("t") == 3

    def test_read_returns_exactly_what_append_returned(self, store: EventStore) -> None:
        batch = [event("A", x=1), NewEvent(type="B", payload=b"[]", schema_version=4)]
        appended = store.append("t", batch, expected_seq=0)
        assert list(store.read("t")) == appended

    def test_what_an_append_returned_still_describes_it_after_later_appends(self, store: EventStore) -> None:
        first = store.append("t", events(2), expected_seq=0)
        store.append("t", events(3, start=3), expected_seq=2)
        assert len(first) == 2
        assert list(first) == list(store.read("t", to_seq=2))
        assert first[-1] == list(store.read("t", to_seq=2))[-1]

    def test_type_payload_and_schema_version_are_stored_as_given(self, store: EventStore) -> None:
        payload = '{"text":"héllo \\u0000 ✓","n":[1,2.5,null]}'.encode()
        store.append("t", [NewEvent(type="Typed.Name", payload=payload, schema_version=7)], expected_seq=0)
        (record,) = store.read("t")
        assert (record.type, record.payload, record.schema_version) == ("Typed.Name", payload, 7)

    def test_appends_continue_from_the_expected_head(self, store: EventStore) -> None:
        store.append("t", events(2), expected_seq=0)
        records = store.append("t", events(2, start=3), expected_seq=2)
        assert seqs(records) == [3, 4]
        assert payload_numbers(store.read("t")) == [1, 2, 3, 4]

    def test_each_event_hash_chains_to_the_one_before(self, store: EventStore) -> None:
        store.append("t", events(2), expected_seq=0)
        store.append("t", events(1, start=3), expected_seq=2)
        previous = GENESIS
        for r in store.read("t"):
            assert r.hash == chain_hash(
                previous=previous,
                thread_id=r.thread_id,
                seq=r.seq,
                type=r.type,
                schema_version=r.schema_version,
                recorded_at_us=r.recorded_at_us,
                payload=r.payload,
            )
            previous = r.hash

    def test_appending_no_events_writes_nothing_and_creates_no_thread(self, store: EventStore) -> None:
        assert store.append("t", [], expected_seq=0) == []
        assert store.head("t") == 0
        assert store.list_threads() == []

    def test_threads_are_independent(self, store: EventStore) -> None:
        store.append("a", events(2), expected_seq=0)
        store.append("b", events(1, start=10), expected_seq=0)
        assert payload_numbers(store.read("a")) == [1, 2]
        assert payload_numbers(store.read("b")) == [10]

    # -- expected head: conflicts and atomicity ---------------------------------------------

    def test_a_stale_expected_head_raises_concurrency_error_and_writes_nothing(self, store: EventStore) -> None:
        store.append("t", events(2), expected_seq=0)
        with pytest.raises(ConcurrencyError) as info:
            store.append("t", events(3, start=3), expected_seq=1)
        assert (info.value.thread_id, info.value.expected, info.value.actual) == ("t", 1, 2)
        assert seqs(store.read("t")) == [1, 2]
        assert list(store.read_all()) == list(store.read("t"))

    def test_an_expected_head_beyond_the_thread_raises_concurrency_error(self, store: EventStore) -> None:
        store.append("t", events(1), expected_seq=0)
        with pytest.raises(ConcurrencyError):
            store.append("t", events(1), expected_seq=5)
        assert store.head("t") == 1

    def test_creating_a_thread_that_exists_raises_concurrency_error(self, store: EventStore) -> None:
        store.append("t", events(1), expected_seq=0)
        with pytest.raises(ConcurrencyError):
            store.append("t", events(1), expected_seq=0)

    def test_a_nonzero_head_on_an_unknown_thread_raises_thread_not_found_and_creates_nothing(
        self, store: EventStore
    ) -> None:
        with pytest.raises(ThreadNotFound):
            store.append("ghost", events(1), expected_seq=3)
        assert store.list_threads() == []

    @pytest.mark.parametrize("bad_payload", [b"\xff\xfe not utf-8", b"{not json", b"", b'{"a": 1} trailing'], ids=repr)
    def test_a_batch_with_a_payload_that_is_not_utf8_json_writes_nothing(
        self, store: EventStore, bad_payload: bytes
    ) -> None:
        store.append("t", events(1), expected_seq=0)
        batch = [event(n=2), NewEvent(type="Bad", payload=bad_payload), event(n=4)]
        with pytest.raises(SerializationError):
            store.append("t", batch, expected_seq=1)
        with pytest.raises(SerializationError):
            store.append("new", batch, expected_seq=0)
        assert seqs(store.read("t")) == [1]
        assert [t.thread_id for t in store.list_threads()] == ["t"]

    def test_a_codec_payload_changed_by_evolve_is_checked_again(self, store: EventStore) -> None:
        encoded = encode_event(Deposited(amount=1, memo="m"))
        assert encoded.encoded_by_codec
        tampered = attrs.evolve(encoded, payload=b"{not json")
        assert not tampered.encoded_by_codec and tampered != encoded
        with pytest.raises(SerializationError):
            store.append("t", [tampered], expected_seq=0)
        store.append("t", [encoded], expected_seq=0)
        assert [decode_event(r) for r in store.read("t")] == [Deposited(amount=1, memo="m")]

    def test_an_append_that_fails_before_commit_writes_nothing(self, store: EventStore) -> None:
        store.append("t", events(1), expected_seq=0)
        with faults.armed("store.before_commit", crash), pytest.raises(RuntimeError, match="power cut"):
            store.append("t", events(5, start=2), expected_seq=1)
        with faults.armed("store.before_commit", crash), pytest.raises(RuntimeError):
            store.append("new", events(2), expected_seq=0)
        assert seqs(store.read("t")) == [1]
        assert [t.thread_id for t in store.list_threads()] == ["t"]
        assert len(list(store.read_all())) == 1

    def test_after_a_failed_append_the_thread_accepts_the_same_head_again(self, store: EventStore) -> None:
        store.append("t", events(1), expected_seq=0)
        with pytest.raises(ConcurrencyError):
            store.append("t", events(1), expected_seq=0)
        with pytest.raises(SerializationError):
            store.append("t", [NewEvent(type="Bad", payload=b"{")], expected_seq=1)
        assert seqs(store.append("t", events(1, start=2), expected_seq=1)) == [2]
        assert store.verify("t").ok

    def test_a_new_thread_whose_first_append_failed_can_be_created_afterwards(self, store: EventStore) -> None:
        with faults.armed("store.before_commit", crash), pytest.raises(RuntimeError):
            store.append("t", events(1), expected_seq=0)
        assert store.head("t") == 0
        assert seqs(store.append("t", events(2), expected_seq=0)) == [1, 2]
        assert store.thread("t").head_seq == 2

    def test_a_thread_name_left_free_by_a_failed_append_can_become_a_fork(self, store: EventStore) -> None:
        store.append("p", events(3), expected_seq=0)
        with faults.armed("store.before_commit", crash), pytest.raises(RuntimeError):
            store.append("x", events(1, start=50), expected_seq=0)
        with pytest.raises(ThreadNotFound):
            list(store.read("x"))
        store.fork("p", 2, "x")
        assert [(r.thread_id, r.seq) for r in store.read("x")] == [("p", 1), ("p", 2)]
        assert store.head("x") == 2

    def test_concurrent_writers_each_land_or_conflict(self, store: EventStore) -> None:
        store.append("t", events(1), expected_seq=0)
        outcomes: list[str] = []
        lock = threading.Lock()

        def writer(name: str) -> None:
            for i in range(30):
                try:
                    store.append("t", [event(name, n=i)], expected_seq=store.head("t"))
                    result = "landed"
                except ConcurrencyError:
                    result = "conflict"
                with lock:
                    outcomes.append(result)

        workers = [threading.Thread(target=writer, args=(f"W{k}",)) for k in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert len(outcomes) == 90
        assert store.head("t") == 1 + outcomes.count("landed")
        assert seqs(store.read("t")) == list(range(1, store.head("t") + 1))
        assert store.verify("t").ok

    # -- unknown threads --------------------------------------------------------------------

    def test_reading_an_unknown_thread_raises_thread_not_found(self, store: EventStore) -> None:
        with pytest.raises(ThreadNotFound):
            list(store.read("ghost"))
        with pytest.raises(ThreadNotFound):
            list(store.read_backward("ghost"))

    def test_asking_about_an_unknown_thread_raises_thread_not_found(self, store: EventStore) -> None:
        with pytest.raises(ThreadNotFound) as info:
            store.thread("ghost")
        assert info.value.thread_id == "ghost"
        with pytest.raises(ThreadNotFound):
            store.verify("ghost")
        with pytest.raises(ThreadNotFound):
            store.fork("ghost", 1, "child")
        with pytest.raises(ThreadNotFound):
            store.write_snapshot("ghost", 1, b"{}")
        with pytest.raises(ThreadNotFound):
            store.latest_snapshot("ghost")

    def test_an_unknown_thread_has_head_zero(self, store: EventStore) -> None:
        assert store.head("ghost") == 0

    # -- ranges and filters -----------------------------------------------------------------

    def test_read_bounds_are_inclusive(self, store: EventStore) -> None:
        store.append("t", events(10), expected_seq=0)
        assert seqs(store.read("t", from_seq=3, to_seq=6)) == [3, 4, 5, 6]
        assert seqs(store.read("t", from_seq=8)) == [8, 9, 10]
        assert seqs(store.read("t", to_seq=2)) == [1, 2]
        assert seqs(store.read("t", from_seq=4, to_seq=4)) == [4]

    def test_read_ranges_outside_the_thread_are_empty(self, store: EventStore) -> None:
        store.append("t", events(3), expected_seq=0)
        assert seqs(store.read("t", from_seq=4)) == []
        assert seqs(store.read("t", from_seq=3, to_seq=2)) == []
        assert seqs(store.read("t", to_seq=0)) == []

    def test_read_filters_by_type(self, store: EventStore) -> None:
        store.append("t", [event("A"), event("B"), event("C"), event("A"), event("B")], expected_seq=0)
        assert seqs(store.read("t", types=["A"])) == [1, 4]
        assert seqs(store.read("t", types=["A", "C"])) == [1, 3, 4]
        assert seqs(store.read("t", types=["A", "B"], from_seq=2, to_seq=4)) == [2, 4]
        assert seqs(store.read("t", types=["Z"])) == []
        assert seqs(store.read("t", types=[])) == []

    def test_read_backward_yields_newest_first_before_a_seq(self, store: EventStore) -> None:
        store.append("t", [event("A"), event("B"), event("A"), event("B"), event("A")], expected_seq=0)
        assert seqs(store.read_backward("t")) == [5, 4, 3, 2, 1]
        assert seqs(store.read_backward("t", before_seq=4)) == [3, 2, 1]
        assert seqs(store.read_backward("t", before_seq=1)) == []
        assert seqs(store.read_backward("t", types=["B"])) == [4, 2]
        assert seqs(store.read_backward("t", before_seq=5, types=["A"])) == [3, 1]

    def test_read_backward_returns_the_same_records_as_read(self, store: EventStore) -> None:
        store.append("t", events(4), expected_seq=0)
        assert list(store.read_backward("t")) == list(reversed(list(store.read("t"))))

    def test_payloads_backward_are_read_backwards_records_without_hash_or_position(self, store: EventStore) -> None:
        store.append("t", [event("A"), event("B"), event("A"), event("B"), event("A")], expected_seq=0)
        for before in (None, 6, 4, 2, 1):
            records = list(store.read_backward("t", before_seq=before))
            assert list(store.read_payloads_backward("t", before_seq=before)) == [as_payload(r) for r in records]

    def test_a_payload_reads_like_its_record(self, store: EventStore) -> None:
        store.append("t", [encode_event(Deposited(amount=3, memo="m"))], expected_seq=0)
        (record,) = store.read_backward("t")
        (payload,) = store.read_payloads_backward("t")
        assert payload.recorded_at == record.recorded_at
        assert decode_event(payload) == decode_event(record) == Deposited(amount=3, memo="m")

    def test_payloads_backward_cross_pages_and_an_unknown_thread_is_not_found(self, store: EventStore) -> None:
        store.append("t", events(2100), expected_seq=0)
        assert [p.seq for p in store.read_payloads_backward("t")] == list(range(2100, 0, -1))
        with pytest.raises(ThreadNotFound):
            list(store.read_payloads_backward("ghost"))

    def test_reads_cross_page_boundaries(self, store: EventStore) -> None:
        store.append("t", events(2100), expected_seq=0)
        store.append("t", [event("Rare")], expected_seq=2100)
        assert seqs(store.read("t")) == list(range(1, 2102))
        assert seqs(store.read_backward("t")) == list(range(2101, 0, -1))
        assert seqs(store.read("t", types=["Rare"])) == [2101]
        assert len(list(store.read_all(limit=1500))) == 1500
        assert len(list(store.read_all(after=100))) == 2001

    # -- the global order -------------------------------------------------------------------

    def test_read_all_yields_every_thread_in_commit_order(self, store: EventStore) -> None:
        a1 = store.append("a", events(2), expected_seq=0)
        b1 = store.append("b", events(1), expected_seq=0)
        a2 = store.append("a", events(1), expected_seq=2)
        assert list(store.read_all()) == [*a1, *b1, *a2]

    def test_positions_strictly_increase_and_are_never_reused(self, store: EventStore) -> None:
        seen = [r.position for r in store.append("a", events(3), expected_seq=0)]
        with pytest.raises(ConcurrencyError):
            store.append("a", events(2), expected_seq=0)
        with pytest.raises(SerializationError):
            store.append("b", [NewEvent(type="Bad", payload=b"{")], expected_seq=0)
        seen += [r.position for r in store.append("b", events(2), expected_seq=0)]
        seen += [r.position for r in store.append("a", events(1), expected_seq=3)]
        assert seen == sorted(set(seen))
        assert [r.position for r in store.read_all()] == seen

    def test_read_all_after_a_position_with_a_limit(self, store: EventStore) -> None:
        store.append("a", events(3), expected_seq=0)
        store.append("b", events(3), expected_seq=0)
        everything = list(store.read_all())
        p = everything[1].position
        assert list(store.read_all(after=p)) == everything[2:]
        assert list(store.read_all(after=p, limit=2)) == everything[2:4]
        assert list(store.read_all(limit=0)) == []
        assert list(store.read_all(after=everything[-1].position)) == []

    def test_catching_up_page_by_page_sees_every_event_once(self, store: EventStore) -> None:
        for i in range(5):
            store.append(f"t{i % 2}", events(3), expected_seq=store.head(f"t{i % 2}"))
        seen: list[EventRecord] = []
        position = 0
        while page := list(store.read_all(after=position, limit=4)):
            seen += page
            position = page[-1].position
        assert seen == list(store.read_all())

    def test_read_all_includes_fork_events_once(self, store: EventStore) -> None:
        store.append("p", events(3), expected_seq=0)
        store.fork("p", 2, "f")
        store.append("f", events(1), expected_seq=2)
        assert [(r.thread_id, r.seq) for r in store.read_all()] == [("p", 1), ("p", 2), ("p", 3), ("f", 3)]

    # -- forks ------------------------------------------------------------------------------

    def test_a_fork_reads_its_parents_prefix_then_its_own_events(self, store: EventStore) -> None:
        store.append("p", events(5), expected_seq=0)
        info = store.fork("p", 3, "f")
        assert (info.thread_id, info.parent_thread_id, info.parent_seq, info.head_seq) == ("f", "p", 3, 3)
        own = store.append("f", events(2, start=100), expected_seq=3)
        assert seqs(own) == [4, 5]
        records = list(store.read("f"))
        assert [(r.thread_id, r.seq) for r in records] == [("p", 1), ("p", 2), ("p", 3), ("f", 4), ("f", 5)]
        assert payload_numbers(records) == [1, 2, 3, 100, 101]
        assert records[:3] == list(store.read("p", to_seq=3))

    def test_a_fork_copies_nothing(self, store: EventStore) -> None:
        store.append("p", events(3), expected_seq=0)
        store.fork("p", 3, "f")
        assert len(list(store.read_all())) == 3
        assert store.head("f") == 3

    def test_a_forks_first_own_event_chains_to_the_parents_event_at_the_fork_point(self, store: EventStore) -> None:
        parent = store.append("p", events(4), expected_seq=0)
        store.fork("p", 2, "f")
        (first,) = store.append("f", [event(n=9)], expected_seq=2)
        assert first.hash == chain_hash(
            previous=parent[1].hash,
            thread_id="f",
            seq=3,
            type=first.type,
            schema_version=first.schema_version,
            recorded_at_us=first.recorded_at_us,
            payload=first.payload,
        )

    def test_a_fork_of_a_fork_reads_both_ancestors(self, store: EventStore) -> None:
        store.append("a", events(4), expected_seq=0)
        store.fork("a", 3, "b")
        store.append("b", events(2, start=20), expected_seq=3)
        store.fork("b", 4, "c")
        store.append("c", events(1, start=30), expected_seq=4)
        records = list(store.read("c"))
        assert [(r.thread_id, r.seq) for r in records] == [("a", 1), ("a", 2), ("a", 3), ("b", 4), ("c", 5)]
        assert payload_numbers(records) == [1, 2, 3, 20, 30]
        assert seqs(store.read_backward("c", before_seq=5)) == [4, 3, 2, 1]
        assert seqs(store.read("c", from_seq=2, to_seq=4)) == [2, 3, 4]
        assert list(store.read_payloads_backward("c")) == [as_payload(r) for r in reversed(records)]
        assert store.verify("c").ok
        assert store.verify("c").events_checked == 5

    def test_a_fork_at_its_parents_head_continues_it(self, store: EventStore) -> None:
        store.append("p", events(2), expected_seq=0)
        store.fork("p", 2, "f")
        assert seqs(store.append("f", events(1), expected_seq=2)) == [3]

    def test_forking_leaves_the_parent_untouched(self, store: EventStore) -> None:
        before = store.append("p", events(4), expected_seq=0)
        store.fork("p", 2, "f")
        store.append("f", events(3), expected_seq=2)
        assert list(store.read("p")) == before
        assert store.head("p") == 4
        assert store.verify("p").ok

    def test_later_parent_events_do_not_reach_the_fork(self, store: EventStore) -> None:
        store.append("p", events(2), expected_seq=0)
        store.fork("p", 2, "f")
        store.append("p", events(2, start=3), expected_seq=2)
        assert seqs(store.read("f")) == [1, 2]
        assert store.head("f") == 2

    def test_a_fork_filters_and_ranges_across_its_lineage(self, store: EventStore) -> None:
        store.append("p", [event("A"), event("B"), event("A")], expected_seq=0)
        store.fork("p", 2, "f")
        store.append("f", [event("A"), event("B")], expected_seq=2)
        assert [(r.thread_id, r.seq) for r in store.read("f", types=["A"])] == [("p", 1), ("f", 3)]
        assert [(r.thread_id, r.seq) for r in store.read_backward("f", types=["B"])] == [("f", 4), ("p", 2)]
        assert list(store.read_payloads_backward("f")) == [as_payload(r) for r in store.read_backward("f")]
        assert [(p.thread_id, p.seq) for p in store.read_payloads_backward("f", before_seq=4)] == [
            ("f", 3),
            ("p", 2),
            ("p", 1),
        ]

    def test_a_fork_expects_its_fork_point_as_its_first_head(self, store: EventStore) -> None:
        store.append("p", events(3), expected_seq=0)
        store.fork("p", 2, "f")
        with pytest.raises(ConcurrencyError):
            store.append("f", events(1), expected_seq=0)
        with pytest.raises(ConcurrencyError):
            store.append("f", events(1), expected_seq=3)

    @pytest.mark.parametrize("at_seq", [0, -1, 4, 100])
    def test_forking_at_a_seq_the_parent_does_not_have_is_an_error(self, store: EventStore, at_seq: int) -> None:
        store.append("p", events(3), expected_seq=0)
        with pytest.raises(ValueError, match="cannot fork"):
            store.fork("p", at_seq, "f")
        assert store.head("f") == 0
        assert [t.thread_id for t in store.list_threads()] == ["p"]

    def test_forking_into_an_existing_thread_is_an_error(self, store: EventStore) -> None:
        store.append("p", events(3), expected_seq=0)
        store.append("other", events(1), expected_seq=0)
        with pytest.raises(ConcurrencyError, match="already exists"):
            store.fork("p", 2, "other")
        with pytest.raises(ConcurrencyError):
            store.fork("p", 2, "p")
        assert seqs(store.read("other")) == [1]

    # -- threads ----------------------------------------------------------------------------

    def test_list_threads_shows_every_thread_oldest_first_with_heads_and_parents(self, store: EventStore) -> None:
        store.append("first", events(2), expected_seq=0)
        store.append("second", events(1), expected_seq=0)
        store.fork("first", 1, "child")
        store.append("first", events(1), expected_seq=2)
        listed = [(t.thread_id, t.parent_thread_id, t.parent_seq, t.head_seq) for t in store.list_threads()]
        assert listed == [("first", None, None, 3), ("second", None, None, 1), ("child", "first", 1, 1)]

    def test_thread_describes_one_thread(self, store: EventStore) -> None:
        store.append("p", events(3), expected_seq=0)
        store.fork("p", 2, "f")
        store.append("f", events(2), expected_seq=2)
        info = store.thread("f")
        assert (info.thread_id, info.parent_thread_id, info.parent_seq, info.head_seq) == ("f", "p", 2, 4)
        assert info.created_at
        assert store.thread("p").parent_thread_id is None
        assert store.thread("p").head_seq == 3
        assert info in store.list_threads()

    # -- snapshots --------------------------------------------------------------------------

    def test_a_thread_has_no_snapshot_until_one_is_written(self, store: EventStore) -> None:
        store.append("t", events(3), expected_seq=0)
        assert store.latest_snapshot("t") is None

    def test_the_latest_snapshot_at_most_a_seq(self, store: EventStore) -> None:
        store.append("t", events(6), expected_seq=0)
        store.write_snapshot("t", 2, b'{"at": 2}')
        store.write_snapshot("t", 5, b'{"at": 5}')
        latest = store.latest_snapshot("t")
        assert latest is not None
        assert (latest.thread_id, latest.seq, latest.payload) == ("t", 5, b'{"at": 5}')
        assert _snap(store, "t", at_most=4) == (2, b'{"at": 2}')
        assert _snap(store, "t", at_most=5) == (5, b'{"at": 5}')
        assert store.latest_snapshot("t", at_most=1) is None

    def test_a_snapshot_written_again_at_the_same_seq_replaces_the_old_one(self, store: EventStore) -> None:
        store.append("t", events(2), expected_seq=0)
        store.write_snapshot("t", 2, b'{"v": 1}')
        store.write_snapshot("t", 2, b'{"v": 2}')
        assert _snap(store, "t") == (2, b'{"v": 2}')

    @pytest.mark.parametrize("seq", [0, 4])
    def test_a_snapshot_of_an_event_the_thread_does_not_have_is_an_error(self, store: EventStore, seq: int) -> None:
        store.append("t", events(3), expected_seq=0)
        with pytest.raises(ValueError, match="no event"):
            store.write_snapshot("t", seq, b"{}")
        assert store.latest_snapshot("t") is None

    def test_a_fork_sees_its_parents_snapshots_up_to_the_fork_point_only(self, store: EventStore) -> None:
        store.append("p", events(5), expected_seq=0)
        store.write_snapshot("p", 2, b'{"p": 2}')
        store.write_snapshot("p", 4, b'{"p": 4}')
        store.fork("p", 3, "f")
        store.append("f", events(3), expected_seq=3)
        assert _snap(store, "f") == (2, b'{"p": 2}')
        store.write_snapshot("f", 5, b'{"f": 5}')
        assert _snap(store, "f") == (5, b'{"f": 5}')
        assert _snap(store, "f", at_most=4) == (2, b'{"p": 2}')
        assert _snap(store, "p") == (4, b'{"p": 4}')

    def test_a_snapshot_of_a_forks_inherited_prefix_is_the_parents_too(self, store: EventStore) -> None:
        store.append("p", events(4), expected_seq=0)
        store.fork("p", 3, "f")
        store.write_snapshot("f", 2, b'{"shared": 2}')
        assert _snap(store, "p") == (2, b'{"shared": 2}')
        assert _snap(store, "f") == (2, b'{"shared": 2}')

    def test_a_fork_of_a_fork_finds_snapshots_across_its_lineage(self, store: EventStore) -> None:
        store.append("a", events(3), expected_seq=0)
        store.write_snapshot("a", 1, b'{"a": 1}')
        store.fork("a", 2, "b")
        store.append("b", events(2), expected_seq=2)
        store.write_snapshot("b", 3, b'{"b": 3}')
        store.fork("b", 4, "c")
        store.append("c", events(1), expected_seq=4)
        assert _snap(store, "c") == (3, b'{"b": 3}')
        assert _snap(store, "c", at_most=2) == (1, b'{"a": 1}')

    def test_snapshot_seqs_list_a_lineages_snapshots_newest_first(self, store: EventStore) -> None:
        store.append("a", events(4), expected_seq=0)
        for seq in (1, 3, 4):
            store.write_snapshot("a", seq, b"{}")
        store.fork("a", 3, "b")
        store.append("b", events(3), expected_seq=3)
        store.write_snapshot("b", 5, b"{}")
        assert store.snapshot_seqs("a") == [4, 3, 1]
        assert store.snapshot_seqs("b") == [5, 3, 1]
        store.delete_snapshots("a")
        assert store.snapshot_seqs("b") == [5]

    def test_snapshot_seqs_below_a_seq_come_a_page_at_a_time_across_a_lineage(self, store: EventStore) -> None:
        store.append("a", events(6), expected_seq=0)
        for seq in (1, 2, 4, 5):
            store.write_snapshot("a", seq, b"{}")
        store.fork("a", 4, "b")
        store.append("b", events(4), expected_seq=4)
        for seq in (6, 8):
            store.write_snapshot("b", seq, b"{}")
        assert store.snapshot_seqs("b") == [8, 6, 4, 2, 1]
        assert store.snapshot_seqs("b", limit=3) == [8, 6, 4]
        assert store.snapshot_seqs("b", at_most=7) == [6, 4, 2, 1]
        assert store.snapshot_seqs("b", at_most=5, limit=2) == [4, 2]  # a's 5 is past b's fork point
        assert store.snapshot_seqs("b", at_most=7, limit=1) == [6]
        assert store.snapshot_seqs("b", at_most=0) == []
        assert store.snapshot_seqs("b", limit=0) == []

    def test_snapshot_seqs_of_an_unknown_thread_is_thread_not_found(self, store: EventStore) -> None:
        with pytest.raises(ThreadNotFound):
            store.snapshot_seqs("ghost")

    def test_a_read_of_a_forks_range_spanning_its_fork_point_is_in_order(self, store: EventStore) -> None:
        store.append("p", events(5), expected_seq=0)
        store.fork("p", 3, "f")
        store.append("f", events(2), expected_seq=3)
        fresh = type(store)(store.path) if getattr(store, "path", ":memory:") not in (":memory:", "") else store
        assert [(r.thread_id, r.seq) for r in fresh.read("f", from_seq=2, to_seq=5)] == [
            ("p", 2),
            ("p", 3),
            ("f", 4),
            ("f", 5),
        ]
        assert [(r.thread_id, r.seq) for r in fresh.read("f", from_seq=4)] == [("f", 4), ("f", 5)]

    def test_deleting_one_threads_snapshots(self, store: EventStore) -> None:
        store.append("a", events(3), expected_seq=0)
        store.append("b", events(3), expected_seq=0)
        for seq in (1, 2):
            store.write_snapshot("a", seq, b"{}")
        store.write_snapshot("b", 3, b"{}")
        assert store.delete_snapshots("a") == 2
        assert store.latest_snapshot("a") is None
        assert store.latest_snapshot("b") is not None

    def test_deleting_all_snapshots_changes_no_event(self, store: EventStore) -> None:
        store.append("a", events(3), expected_seq=0)
        store.append("b", events(2), expected_seq=0)
        store.write_snapshot("a", 3, b"{}")
        store.write_snapshot("b", 1, b"{}")
        before = list(store.read_all())
        assert store.delete_snapshots() == 2
        assert store.latest_snapshot("a") is None
        assert store.latest_snapshot("b") is None
        assert list(store.read_all()) == before
        assert store.verify("a").ok

    def test_a_snapshot_appended_with_events_is_stored_in_the_same_transaction(self, store: EventStore) -> None:
        store.append("t", events(2), expected_seq=0)
        store.append("t", events(3, start=3), expected_seq=2, snapshots=[(4, b'{"at": 4}')])
        assert _snap(store, "t") == (4, b'{"at": 4}')

    def test_several_snapshots_can_be_appended_with_the_events_they_are_at(self, store: EventStore) -> None:
        store.append("t", events(4), expected_seq=0, snapshots=[(2, b'{"at": 2}'), (4, b'{"at": 4}')])
        assert store.snapshot_seqs("t") == [4, 2]
        assert _snap(store, "t", at_most=3) == (2, b'{"at": 2}')

    def test_a_stale_append_writes_neither_its_events_nor_its_snapshot(self, store: EventStore) -> None:
        store.append("t", events(2), expected_seq=0)
        with pytest.raises(ConcurrencyError):
            store.append("t", events(2, start=3), expected_seq=1, snapshots=[(3, b"{}")])
        assert store.head("t") == 2
        assert store.latest_snapshot("t") is None

    @pytest.mark.parametrize("seq", [2, 5])
    def test_a_snapshot_appended_with_events_must_be_at_one_of_them(self, store: EventStore, seq: int) -> None:
        store.append("t", events(2), expected_seq=0)
        with pytest.raises(ValueError, match="must be at one of them"):
            store.append("t", events(2, start=3), expected_seq=2, snapshots=[(seq, b"{}")])
        assert store.head("t") == 2

    # -- verification -----------------------------------------------------------------------

    def test_verifying_from_a_later_event_checks_only_the_tail(self, store: EventStore) -> None:
        store.append("t", events(5), expected_seq=0)
        report = store.verify("t", from_seq=4)
        assert report.ok and report.events_checked == 2

    def test_an_untouched_thread_verifies(self, store: EventStore) -> None:
        store.append("t", events(3), expected_seq=0)
        store.append("t", events(2), expected_seq=3)
        report = store.verify("t")
        assert report.ok
        assert report.broken is None
        assert (report.thread_id, report.events_checked) == ("t", 5)

    def test_a_fork_verifies_through_its_parents_prefix(self, store: EventStore) -> None:
        store.append("p", events(3), expected_seq=0)
        store.fork("p", 2, "f")
        assert store.verify("f").events_checked == 2
        store.append("f", events(2), expected_seq=2)
        report = store.verify("f")
        assert report.ok
        assert report.events_checked == 4


def _snap(store: EventStore, thread_id: str, at_most: int | None = None) -> tuple[int, bytes] | None:
    snapshot = store.latest_snapshot(thread_id, at_most=at_most)
    return None if snapshot is None else (snapshot.seq, snapshot.payload)
