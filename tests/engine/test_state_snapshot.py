"""Checkpoints and the ``StateSnapshot`` of a thread's live head.

COMPAT.md section 6, tier-C rows (6.1-6.3, 6.5, 6.6, 6.9), and deliberate
difference 3: values read back from the log come back as the schema's types.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import operator
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import attrs
import pytest
from typing_extensions import TypedDict

from engine import (
    START,
    Command,
    CompiledStateGraph,
    InMemorySaver,
    Interrupt,
    PregelTask,
    Send,
    SqliteSaver,
    StateGraph,
    StateSnapshot,
    interrupt,
)
from engine.events import task_id
from tests.engine.chains import State, appender, chain

CHECKPOINT_ID = re.compile(r"[0-9]{12}-[0-9a-f]{12}")


def thread(name: str = "t", **configurable: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": name, **configurable}}


def history(app: CompiledStateGraph, config: dict[str, Any]) -> list[StateSnapshot]:
    """The thread's checkpoints, oldest first."""
    return list(reversed(list(app.get_state_history(config))))


def steps(app: CompiledStateGraph, config: dict[str, Any]) -> list[tuple[str, int]]:
    return [(s.metadata["source"], s.metadata["step"]) for s in history(app, config) if s.metadata is not None]


# -- 6.1: when checkpoints are written --------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 3, 5])
def test_a_linear_run_of_n_nodes_writes_n_plus_two_checkpoints(length: int) -> None:
    app = chain(*(f"n{i}" for i in range(length))).compile(checkpointer=InMemorySaver())

    app.invoke({}, thread())

    assert steps(app, thread()) == [("input", -1)] + [("loop", step) for step in range(length + 1)]


def test_steps_keep_counting_across_invocations_of_a_thread() -> None:
    app = chain("a", "b", "c").compile(checkpointer=InMemorySaver())

    app.invoke({}, thread())
    app.invoke({}, thread())

    assert steps(app, thread()) == [
        ("input", -1),
        *[("loop", step) for step in range(4)],
        ("input", 4),
        *[("loop", step) for step in range(5, 9)],
    ]


def test_each_checkpoint_records_the_nodes_its_step_will_run() -> None:
    app = chain("a", "b").compile(checkpointer=InMemorySaver())

    app.invoke({}, thread())

    assert [s.next for s in history(app, thread())] == [("__start__",), ("a",), ("b",), ()]


# -- 6.2: checkpoint ids ----------------------------------------------------------------------------


def test_checkpoint_ids_sort_in_creation_order() -> None:
    app = chain("a", "b", "c").compile(checkpointer=InMemorySaver())
    app.invoke({}, thread())
    app.invoke({}, thread())

    ids = [s.config["configurable"]["checkpoint_id"] for s in history(app, thread())]

    assert all(CHECKPOINT_ID.fullmatch(i) for i in ids), ids
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_checkpoints_survive_reopening_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "threads.db"
    with SqliteSaver(path) as saver:
        app = chain("a", "b").compile(checkpointer=saver)
        app.invoke({"log": ["input"]}, thread())
        before = [(s.config, s.values, s.next, s.metadata) for s in app.get_state_history(thread())]

    with SqliteSaver(path) as saver:
        app = chain("a", "b").compile(checkpointer=saver)
        after = [(s.config, s.values, s.next, s.metadata) for s in app.get_state_history(thread())]
        head = app.get_state(thread())

    assert after == before
    assert head.config == before[0][0]
    assert head.values == {"log": ["input", "a", "b"]}


def test_a_reopened_thread_continues_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "threads.db"
    with SqliteSaver(path) as saver:
        chain("a", "b").compile(checkpointer=saver, interrupt_before=["b"]).invoke({}, thread())

    with SqliteSaver(path) as saver:
        app = chain("a", "b").compile(checkpointer=saver)
        assert app.get_state(thread()).next == ("b",)
        assert app.invoke(None, thread()) == {"log": ["a", "b"]}


# -- 6.3: StateSnapshot fields at the head -------------------------------------------------------------


def test_the_head_snapshot_of_a_finished_run() -> None:
    app = chain("a", "b").compile(checkpointer=InMemorySaver())
    app.invoke({"log": ["input"]}, thread())
    *_, previous, newest = history(app, thread())

    state = app.get_state(thread())

    assert state.values == {"log": ["input", "a", "b"]}
    assert state.next == ()
    assert state.config == {
        "configurable": {
            "thread_id": "t",
            "checkpoint_ns": "",
            "checkpoint_id": newest.config["configurable"]["checkpoint_id"],
        }
    }
    assert state.metadata == {"source": "loop", "step": 2, "parents": {}}
    assert state.parent_config == previous.config
    assert state.tasks == ()
    assert state.interrupts == ()


def test_the_first_checkpoint_has_no_parent_and_each_other_names_the_one_before() -> None:
    app = chain("a", "b").compile(checkpointer=InMemorySaver())
    app.invoke({}, thread())

    snapshots = history(app, thread())

    assert snapshots[0].parent_config is None
    for parent, child in itertools.pairwise(snapshots):
        assert child.parent_config == parent.config


def test_created_at_is_an_iso_8601_utc_timestamp_in_creation_order() -> None:
    app = chain("a", "b").compile(checkpointer=InMemorySaver())
    started = dt.datetime.now(dt.UTC)
    app.invoke({}, thread())

    stamps = [dt.datetime.fromisoformat(s.created_at) for s in history(app, thread()) if s.created_at]

    assert len(stamps) == 4
    assert all(stamp.utcoffset() == dt.timedelta(0) for stamp in stamps)
    assert stamps == sorted(stamps)
    assert started - dt.timedelta(seconds=5) <= stamps[0] <= dt.datetime.now(dt.UTC)


def test_run_metadata_and_scalar_configurable_keys_go_into_every_checkpoint() -> None:
    app = chain("a").compile(checkpointer=InMemorySaver())
    config = {
        "configurable": {
            "thread_id": "t",
            "user": "ann",
            "attempt": 3,
            "dry_run": False,
            "options": {"not": "scalar"},
            "__private": "hidden",
        },
        "metadata": {"run": "r1", "tags": ["not", "scalar"]},
    }

    app.invoke({}, config)

    for snapshot in history(app, thread()):
        assert snapshot.metadata is not None
        run_keys = {k: v for k, v in snapshot.metadata.items() if k not in ("source", "step", "parents")}
        assert run_keys == {"user": "ann", "attempt": 3, "dry_run": False, "run": "r1"}


def ask(state: State) -> dict[str, Any]:
    return {"answer": interrupt("what is your name?")}


def asking_beside_a_sibling() -> CompiledStateGraph:
    """START -> ask (interrupts) and sibling (finishes) in one step."""
    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_node("sibling", appender("sibling"))
    graph.add_edge(START, "ask")
    graph.add_edge(START, "sibling")
    return graph.compile(checkpointer=InMemorySaver())


def test_the_head_snapshot_of_an_interrupted_step() -> None:
    app = asking_beside_a_sibling()
    (raised,) = app.invoke({}, thread())["__interrupt__"]

    state = app.get_state(thread())
    tasks = {task.name: task for task in state.tasks}

    assert state.values == {"log": ["sibling"]}
    assert state.next == ("ask",)
    assert state.interrupts == (raised,)
    assert tasks.keys() == {"ask", "sibling"}
    assert tasks["ask"].interrupts == (Interrupt(value="what is your name?", id=raised.id),)
    assert tasks["ask"].result is None
    assert tasks["ask"].error is None
    assert tasks["sibling"].interrupts == ()
    assert tasks["sibling"].result == {"log": ["sibling"]}


def test_snapshot_tasks_are_pregel_tasks_with_their_path() -> None:
    app = asking_beside_a_sibling()
    app.invoke({}, thread())

    tasks = {task.name: task for task in app.get_state(thread()).tasks}

    assert all(isinstance(task, PregelTask) for task in tasks.values())
    assert tasks["ask"].path == ("__pregel_pull", "ask")
    assert tasks["ask"].state is None
    assert str(uuid.UUID(tasks["ask"].id)) == tasks["ask"].id  # canonical UUID text


def test_the_head_snapshot_after_a_resume_has_no_interrupts_left() -> None:
    app = asking_beside_a_sibling()
    app.invoke({}, thread())

    app.invoke(Command(resume="Ada"), thread())
    state = app.get_state(thread())

    assert state.values == {"log": ["sibling"], "answer": "Ada"}
    assert state.next == ()
    assert state.interrupts == ()


def test_an_unknown_thread_has_an_empty_snapshot() -> None:
    app = chain("a").compile(checkpointer=InMemorySaver())
    config = thread("never used")

    assert app.get_state(config) == StateSnapshot(
        values={},
        next=(),
        config=config,
        metadata=None,
        created_at=None,
        parent_config=None,
        tasks=(),
        interrupts=(),
    )


# -- 6.6: thread ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [{}, {"configurable": {}}, {"configurable": {"user": "ann"}}], ids=repr)
def test_a_thread_id_is_required_with_a_checkpointer(config: dict[str, Any]) -> None:
    app = chain("a").compile(checkpointer=InMemorySaver())

    with pytest.raises(ValueError, match="thread_id"):
        app.invoke({}, config)
    with pytest.raises(ValueError, match="thread_id"):
        list(app.stream({}, config))
    with pytest.raises(ValueError, match="thread_id"):
        app.get_state(config)


def test_no_thread_id_is_needed_without_a_checkpointer() -> None:
    assert chain("a").compile().invoke({}) == {"log": ["a"]}


@pytest.mark.parametrize("thread_id", [7, uuid.UUID("12345678-1234-5678-1234-567812345678")], ids=repr)
def test_a_non_string_thread_id_is_stringified(thread_id: Any) -> None:
    app = chain("a").compile(checkpointer=InMemorySaver())

    app.invoke({}, {"configurable": {"thread_id": thread_id}})

    by_value = app.get_state({"configurable": {"thread_id": thread_id}})
    by_string = app.get_state({"configurable": {"thread_id": str(thread_id)}})
    assert by_value.config["configurable"]["thread_id"] == str(thread_id)
    assert by_string.values == by_value.values == {"log": ["a"]}


# -- deliberate difference 3: typed state comes back typed ------------------------------------------------


@attrs.frozen
class Point:
    x: int
    y: int


@dataclasses.dataclass(frozen=True)
class Label:
    text: str


class Typed(TypedDict):
    pair: tuple[int, str]
    point: Point
    label: Label
    big: int
    nested: dict[str, tuple[int, ...]]
    points: Annotated[list[Point], operator.add]


TYPED_VALUES: dict[str, Any] = {
    "pair": (1, "one"),
    "point": Point(2, 3),
    "label": Label("hello"),
    "big": 2**100 + 1,
    "nested": {"k": (1, 2, 3)},
    "points": [Point(0, 0)],
}


def typed_graph(seen: list[Typed]) -> StateGraph:
    """START -> write (every typed value) -> look (records what it received)."""
    graph = StateGraph(Typed)
    graph.add_node("write", lambda state: dict(TYPED_VALUES))
    graph.add_node("look", lambda state: seen.append(state))
    graph.add_edge(START, "write")
    graph.add_edge("write", "look")
    return graph


def assert_exactly_typed(values: Any) -> None:
    assert values == TYPED_VALUES
    assert type(values["pair"]) is tuple
    assert type(values["point"]) is Point
    assert type(values["label"]) is Label
    assert type(values["nested"]["k"]) is tuple
    assert [type(p) for p in values["points"]] == [Point]


def test_typed_values_come_back_typed_after_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "typed.db"
    with SqliteSaver(path) as saver:
        typed_graph([]).compile(checkpointer=saver).invoke({}, thread())

    with SqliteSaver(path) as saver:
        app = typed_graph([]).compile(checkpointer=saver)
        head = app.get_state(thread())
        newest = next(iter(app.get_state_history(thread())))

    assert_exactly_typed(head.values)
    assert_exactly_typed(newest.values)


def test_a_node_continuing_a_reopened_thread_receives_typed_values(tmp_path: Path) -> None:
    path = tmp_path / "typed.db"
    with SqliteSaver(path) as saver:
        typed_graph([]).compile(checkpointer=saver, interrupt_before=["look"]).invoke({}, thread())

    seen: list[Typed] = []
    with SqliteSaver(path) as saver:
        typed_graph(seen).compile(checkpointer=saver).invoke(None, thread())

    (received,) = seen
    assert_exactly_typed(received)


# -- task ids -----------------------------------------------------------------------------------------


def _fan_out(state: State) -> list[Send]:
    return [Send("worker", {"log": [f"job{k}"]}) for k in range(3)]


def test_every_task_id_a_snapshot_shows_is_derived_from_its_checkpoint_id_and_path() -> None:
    """Finished or not, a task shows the id derived from its checkpoint id and path (a completion stores none)."""
    builder = StateGraph(State)
    builder.add_node("a", appender("a"))
    builder.add_node("b", appender("b"))
    builder.add_node("worker", appender("worker"))
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    builder.add_conditional_edges("a", _fan_out)
    app = builder.compile(checkpointer=InMemorySaver())
    app.invoke({"log": []}, thread())

    shown = [(s.config, task) for s in [*app.get_state_history(thread()), app.get_state(thread())] for task in s.tasks]

    assert {task.name for _, task in shown} == {START, "a", "b", "worker"}
    assert sum(task.result is not None for _, task in shown) >= 6  # start, a, b and three workers finished
    for config, task in shown:
        assert task.id == task_id(config["configurable"]["checkpoint_id"], task.path)


class ThreeKeys(TypedDict, total=False):
    a: int
    b: int
    c: int


def test_values_come_out_in_schema_order_whatever_order_keys_were_first_written(tmp_path: Path) -> None:
    builder = StateGraph(ThreeKeys)
    builder.add_node("write_a", lambda state: {"a": 1})
    builder.add_node("write_b", lambda state: {"b": 2})
    builder.add_edge(START, "write_a")
    builder.add_edge("write_a", "write_b")
    saver = SqliteSaver(tmp_path / "order.db")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    chunks = list(graph.stream({"c": 3}, config, stream_mode="values"))
    assert [list(chunk) for chunk in chunks] == [["c"], ["a", "c"], ["a", "b", "c"]]
    assert list(graph.get_state(config).values) == ["a", "b", "c"]
    history = [list(snapshot.values) for snapshot in graph.get_state_history(config)]
    assert history == [["a", "b", "c"], ["a", "c"], ["c"], []]
    reopened = builder.compile(checkpointer=SqliteSaver(tmp_path / "order.db"))  # from the log, not the cache
    assert [list(snapshot.values) for snapshot in reopened.get_state_history(config)] == history
