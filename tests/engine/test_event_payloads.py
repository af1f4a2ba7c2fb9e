"""The engine's events leave derivable facts out of their payloads, and read every form they were written in."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.events import (
    SCHEMA_VERSIONS,
    CheckpointCommitted,
    Routing,
    SendPacket,
    StateUpdated,
    TaskCompleted,
    TaskRef,
    Write,
    task_id,
)
from eventstore import CorruptLogError, EventRecord, decode_event, encode_event


def stored(type_name: str, payload: bytes, schema_version: int | None = None) -> EventRecord:
    """Event 1 of thread ``t``; written at ``encode_event``'s current version unless told."""
    return EventRecord(
        thread_id="t",
        seq=1,
        position=1,
        type=type_name,
        schema_version=schema_version if schema_version is not None else current_version(type_name),
        payload=payload,
        hash="0" * 64,
        recorded_at_us=0,
    )


def current_version(type_name: str) -> int:
    return SCHEMA_VERSIONS.get(type_name, 1)


def completed(path: tuple[str | int, ...] | None = None) -> TaskCompleted:
    return TaskCompleted(
        checkpoint_seq=3,
        node="grow",
        **({"path": path} if path is not None else {}),
        writes=(Write(key="items", value=["x"]),),
        routing=Routing(triggers=("grow",)),
        duration_ms=0.021,
    )


def test_a_completion_is_stored_by_node_with_short_keys_and_writes_as_pairs_and_no_task_id() -> None:
    assert orjson.loads(encode_event(completed()).payload) == {
        "from": 3,
        "node": "grow",
        "writes": [["items", ["x"]]],
        "routing": {"triggers": ["grow"]},
        "ms": 0.021,
    }
    assert encode_event(completed()).schema_version == 2


def test_a_completion_without_a_path_is_the_pull_task_of_its_node() -> None:
    assert completed().path == ("__pregel_pull", "grow") == completed(("__pregel_pull", "grow")).path


@pytest.mark.parametrize("path", [("__pregel_push", 0), ("__pregel_pull", "other"), ("__start__",)])
def test_any_other_path_is_kept(path: tuple[str | int, ...]) -> None:
    event = completed(path)
    payload = encode_event(event).payload
    assert orjson.loads(payload)["path"] == list(path)
    assert decode_event(stored("TaskCompleted", payload)) == event


def test_a_payload_that_spells_out_the_pull_path_decodes_to_the_same_event() -> None:
    event = completed()
    short = encode_event(event).payload
    spelled_out = orjson.dumps({**orjson.loads(short), "path": ["__pregel_pull", "grow"]})
    assert decode_event(stored("TaskCompleted", spelled_out)) == decode_event(stored("TaskCompleted", short)) == event


def test_the_id_a_completion_no_longer_stores_is_derived_from_its_checkpoint_id_and_path() -> None:
    checkpoint_id = "000000000003-43975ee0a40e"
    pull, push = completed(), completed(("__pregel_push", 1))
    assert task_id(checkpoint_id, pull.path) != task_id(checkpoint_id, push.path)
    assert task_id(checkpoint_id, pull.path) == task_id(checkpoint_id, ("__pregel_pull", "grow"))
    assert task_id(checkpoint_id, pull.path) != task_id("000000000003-000000000000", pull.path)


# -- version 1 payloads, as logs written before version 2 hold them ------------------------------------


def version_1_completion(path: tuple[str | int, ...] | None, writes: list[tuple[str, Any]]) -> dict[str, Any]:
    task: dict[str, Any] = {"id": "637bc4b8-15df-aac4-ee96-300e6e8f7714", "name": "grow"}
    if path is not None:
        task["path"] = list(path)
    return {
        "checkpoint_seq": 3,
        "task": task,
        "writes": [{"key": key, "value": value} for key, value in writes],
        "routing": {"triggers": ["grow"], "sends": [{"node": "grow", "arg": {"k": 1}}]},
        "duration_ms": 0.021,
    }


keys = st.text(max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)
paths = st.none() | st.sampled_from([("__pregel_push", 0), ("__pregel_push", 7), ("__pregel_pull", "other")])


@given(path=paths, writes=st.lists(st.tuples(keys, json_values), max_size=3))
def test_a_version_1_completion_reads_as_the_completion_version_2_would_store(
    path: tuple[str | int, ...] | None, writes: list[tuple[str, Any]]
) -> None:
    old = decode_event(stored("TaskCompleted", orjson.dumps(version_1_completion(path, writes)), schema_version=1))
    assert old == TaskCompleted(
        checkpoint_seq=3,
        node="grow",
        **({"path": path} if path is not None else {}),
        writes=tuple(Write(key=key, value=value) for key, value in writes),
        routing=Routing(triggers=("grow",), sends=(SendPacket(node="grow", arg={"k": 1}),)),
        duration_ms=0.021,
    )
    assert decode_event(stored("TaskCompleted", encode_event(old).payload)) == old


@given(writes=st.lists(st.tuples(keys, json_values), max_size=3))
def test_a_version_1_state_update_reads_as_version_2_would_store_it(writes: list[tuple[str, Any]]) -> None:
    new = StateUpdated(
        checkpoint_seq=4,
        kind="update_state",
        as_node="review",
        writes=tuple(Write(key=key, value=value) for key, value in writes),
        routing=Routing(),
    )
    data = orjson.loads(encode_event(new).payload)
    assert data["writes"] == [[key, value] for key, value in writes]
    data["writes"] = [{"key": key, "value": value} for key, value in writes]
    assert decode_event(stored("StateUpdated", orjson.dumps(data), schema_version=1)) == new


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda data: data.pop("task"), "KeyError"),
        (lambda data: data.update(task="grow"), "TypeError"),
        (lambda data: data.update(writes=[["items", 1]]), "TypeError"),
    ],
    ids=["no task", "a task that is no object", "a write that is already a pair"],
)
def test_a_version_1_completion_the_upgrade_cannot_read_is_a_corrupt_event_that_says_where(
    change: Any, says: str
) -> None:
    data = version_1_completion(None, [("items", 1)])
    change(data)
    with pytest.raises(
        CorruptLogError, match=rf"t#1 \(TaskCompleted\) cannot be upgraded from schema version 1.*{says}"
    ):
        decode_event(stored("TaskCompleted", orjson.dumps(data), schema_version=1))


@pytest.mark.parametrize(
    "writes",
    [[{"key": "items", "value": 1}], [["items"]], [["items", 1, 2]], ["items"]],
    ids=["an object", "one item", "three items", "no array"],
)
def test_a_version_2_write_that_is_not_a_key_value_pair_is_a_corrupt_event(writes: list[Any]) -> None:
    data = {**orjson.loads(encode_event(completed()).payload), "writes": writes}
    with pytest.raises(CorruptLogError, match=r"t#1.*Write must be a JSON array of 2 items"):
        decode_event(stored("TaskCompleted", orjson.dumps(data)))


def test_a_task_ref_without_a_path_is_the_pull_task_of_its_node() -> None:
    assert TaskRef(id="i", name="grow") == TaskRef(id="i", name="grow", path=("__pregel_pull", "grow"))


def test_a_loop_checkpoints_source_is_left_out_and_read_back_as_loop() -> None:
    event = CheckpointCommitted(id="000000000005-43975ee0a40e", step=1, source="loop", parent_seq=3, applied=(4,))
    short = encode_event(event).payload
    assert "source" not in orjson.loads(short)
    spelled_out = orjson.dumps({**orjson.loads(short), "source": "loop"})
    assert decode_event(stored("Checkpoint", spelled_out)) == decode_event(stored("Checkpoint", short)) == event


@pytest.mark.parametrize("source", ["input", "update", "fork"])
def test_other_checkpoint_sources_are_kept(source: str) -> None:
    event = CheckpointCommitted(id="000000000001-43975ee0a40e", step=-1, source=source, parent_seq=None)
    payload = encode_event(event).payload
    assert orjson.loads(payload)["source"] == source
    assert decode_event(stored("Checkpoint", payload)) == event
