"""The engine's events leave derivable defaults out of their payloads, and read either form alike."""

from __future__ import annotations

import orjson
import pytest

from engine.events import CheckpointCommitted, Routing, TaskCompleted, TaskRef, Write
from eventstore import EventRecord, decode_event, encode_event


def stored(type_name: str, payload: bytes) -> EventRecord:
    return EventRecord(
        thread_id="t",
        seq=1,
        position=1,
        type=type_name,
        schema_version=1,
        payload=payload,
        hash="0" * 64,
        recorded_at_us=0,
    )


def completed(path: tuple[str | int, ...]) -> TaskCompleted:
    return TaskCompleted(
        checkpoint_seq=3,
        task=TaskRef(id="637bc4b8-15df-aac4-ee96-300e6e8f7714", name="grow", path=path),
        writes=(Write(key="items", value=["x"]),),
        routing=Routing(triggers=("grow",)),
        duration_ms=0.021,
    )


def test_a_pull_tasks_path_is_left_out_of_the_payload() -> None:
    payload = orjson.loads(encode_event(completed(("__pregel_pull", "grow"))).payload)
    assert payload["task"] == {"id": "637bc4b8-15df-aac4-ee96-300e6e8f7714", "name": "grow"}


def test_a_task_ref_without_a_path_is_the_pull_task_of_its_node() -> None:
    assert TaskRef(id="i", name="grow") == TaskRef(id="i", name="grow", path=("__pregel_pull", "grow"))


@pytest.mark.parametrize("path", [("__pregel_push", 0), ("__pregel_pull", "other"), ("__start__",)])
def test_any_other_path_is_kept(path: tuple[str | int, ...]) -> None:
    event = completed(path)
    payload = orjson.loads(encode_event(event).payload)
    assert "path" in payload["task"]
    assert decode_event(stored("TaskCompleted", encode_event(event).payload)) == event


def test_a_payload_that_spells_out_the_pull_path_decodes_to_the_same_event() -> None:
    event = completed(("__pregel_pull", "grow"))
    short = encode_event(event).payload
    data = orjson.loads(short)
    data["task"]["path"] = ["__pregel_pull", "grow"]
    spelled_out = orjson.dumps(data)
    assert decode_event(stored("TaskCompleted", spelled_out)) == decode_event(stored("TaskCompleted", short)) == event


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
