"""Streaming: the ``updates``, ``values`` and ``custom`` modes, several modes at once, and interrupts in streams.

COMPAT.md section 8, rows 8.1-8.4 (tier C), with 4.5 and 5.1 for what
interrupts and breakpoints look like in a stream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from engine import START, Command, InMemorySaver, Interrupt, Send, StateGraph, get_stream_writer, interrupt
from tests.engine.chains import State, appender, chain

WAIT = 5.0


def thread(name: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


def reporting(name: str, *chunks: Any) -> Callable[[State], dict[str, Any]]:
    """A node that sends ``chunks`` to the custom stream, then appends its name."""

    def node(state: State) -> dict[str, Any]:
        write = get_stream_writer()
        for chunk in chunks:
            write(chunk)
        return {"log": [name]}

    return node


# -- 8.1: updates ----------------------------------------------------------------------------------------


def test_updates_is_the_default_mode_one_chunk_per_node_with_what_it_returned() -> None:
    chunks = list(chain("a", "b").compile().stream({"log": ["input"]}))

    assert chunks == [{"a": {"log": ["a"]}}, {"b": {"log": ["b"]}}]


def test_a_node_returning_none_streams_none_as_its_update() -> None:
    graph = chain("a")
    graph.add_node("quiet", lambda state: None)
    graph.add_edge("a", "quiet")

    assert list(graph.compile().stream({})) == [{"a": {"log": ["a"]}}, {"quiet": None}]


def test_a_node_returning_a_command_streams_the_commands_update() -> None:
    graph = StateGraph(State)
    graph.add_node("a", lambda state: Command(update={"log": ["a"]}, goto="b"))
    graph.add_node("b", appender("b"))
    graph.add_edge(START, "a")

    assert list(graph.compile().stream({}, stream_mode="updates")) == [
        {"a": {"log": ["a"]}},
        {"b": {"log": ["b"]}},
    ]


def test_every_task_of_a_parallel_step_streams_its_own_update() -> None:
    graph = StateGraph(State)
    for name in ("a", "b", "c"):
        graph.add_node(name, appender(name))
        graph.add_edge(START, name)

    chunks = list(graph.compile().stream({}))

    assert len(chunks) == 3
    assert sorted(chunks, key=lambda chunk: next(iter(chunk))) == [
        {"a": {"log": ["a"]}},
        {"b": {"log": ["b"]}},
        {"c": {"log": ["c"]}},
    ]


def test_each_send_task_streams_its_own_update() -> None:
    graph = chain("split")
    graph.add_node("worker", lambda arg: {"log": [arg]})
    graph.add_conditional_edges("split", lambda state: [Send("worker", 1), Send("worker", 2)])

    assert list(graph.compile().stream({})) == [
        {"split": {"log": ["split"]}},
        {"worker": {"log": [1]}},
        {"worker": {"log": [2]}},
    ]


# -- 8.2: values -------------------------------------------------------------------------------------------


def test_values_streams_the_state_after_the_input_and_after_every_step() -> None:
    chunks = list(chain("a", "b").compile().stream({"log": ["input"]}, stream_mode="values"))

    assert chunks == [
        {"log": ["input"]},
        {"log": ["input", "a"]},
        {"log": ["input", "a", "b"]},
    ]


def test_values_streams_one_state_per_step_not_per_task() -> None:
    graph = chain("split")
    graph.add_node("worker", lambda arg: {"log": [arg]})
    graph.add_conditional_edges("split", lambda state: [Send("worker", 1), Send("worker", 2)])

    assert list(graph.compile().stream({"log": [0]}, stream_mode="values")) == [
        {"log": [0]},
        {"log": [0, "split"]},
        {"log": [0, "split", 1, 2]},
    ]


def test_invoke_returns_the_last_state_the_values_stream_shows() -> None:
    app = chain("a", "b").compile()

    *_, last = app.stream({"log": ["input"]}, stream_mode="values")

    assert app.invoke({"log": ["input"]}) == last == {"log": ["input", "a", "b"]}


def _asks(state: State) -> dict[str, Any]:
    return {"log": [interrupt("ok?")]}


def _asking_chain() -> StateGraph:
    graph = StateGraph(State)
    graph.add_node("a", appender("a"))
    graph.add_node("ask", _asks)
    graph.add_node("b", appender("b"))
    graph.add_edge(START, "a")
    graph.add_edge("a", "ask")
    graph.add_edge("ask", "b")
    return graph


# Each way a run can end, as (compile options, the calls made before the one compared, the compared call's input).
_ENDINGS: dict[str, tuple[dict[str, Any], list[Any], Any]] = {
    "interrupt() in a node": ({}, [], {"log": ["in"]}),
    "resumed to the end": ({}, [{"log": ["in"]}], Command(resume="yes")),
    "breakpoint before a node": ({"interrupt_before": ["b"]}, [{"log": ["in"]}], Command(resume="yes")),
    "breakpoint after a node": ({"interrupt_after": ["a"]}, [], {"log": ["in"]}),
    "continued past a breakpoint": ({"interrupt_after": ["a"]}, [{"log": ["in"]}], None),
    "continued when nothing is left": ({}, [{"log": ["in"]}, Command(resume="yes")], None),
}


@pytest.mark.parametrize("ending", list(_ENDINGS))
def test_invoke_returns_the_last_values_chunk_however_the_run_ends(ending: str) -> None:
    # invoke does not make a values chunk per step: it makes the one where the run ends
    options, before, compared = _ENDINGS[ending]
    app = _asking_chain().compile(checkpointer=InMemorySaver(), **options)
    for name in ("streamed", "invoked"):
        for earlier in before:
            app.invoke(earlier, thread(name))

    *_, last = app.stream(compared, thread("streamed"), stream_mode="values")

    assert _without_ids(app.invoke(compared, thread("invoked"))) == _without_ids(last)


def _without_ids(values: dict[str, Any]) -> dict[str, Any]:
    """Values with each interrupt as its value: the ids differ by thread (they derive from its checkpoints)."""
    return {key: [i.value for i in item] if key == "__interrupt__" else item for key, item in values.items()}


# -- 8.3: custom ---------------------------------------------------------------------------------------------


def test_custom_streams_what_nodes_pass_to_the_stream_writer() -> None:
    graph = StateGraph(State)
    graph.add_node("a", reporting("a", {"progress": 0.5}, "half way"))
    graph.add_node("b", reporting("b", ["done"]))
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")

    assert list(graph.compile().stream({}, stream_mode="custom")) == [{"progress": 0.5}, "half way", ["done"]]


def test_the_stream_writer_is_a_no_op_when_custom_is_not_streamed() -> None:
    graph = StateGraph(State)
    graph.add_node("a", reporting("a", "ignored"))
    graph.add_edge(START, "a")
    app = graph.compile()

    assert app.invoke({}) == {"log": ["a"]}
    assert list(app.stream({})) == [{"a": {"log": ["a"]}}]
    assert list(app.stream({"log": ["input"]}, stream_mode="values")) == [{"log": ["input"]}, {"log": ["input", "a"]}]


def test_custom_chunks_of_parallel_tasks_all_arrive() -> None:
    graph = StateGraph(State)
    for name in ("a", "b", "c"):
        graph.add_node(name, reporting(name, f"{name}1", f"{name}2"))
        graph.add_edge(START, name)

    chunks = list(graph.compile().stream({}, stream_mode="custom"))

    assert sorted(chunks) == ["a1", "a2", "b1", "b2", "c1", "c2"]
    for name in ("a", "b", "c"):
        assert chunks.index(f"{name}1") < chunks.index(f"{name}2")


def test_custom_chunks_arrive_while_the_node_is_still_running() -> None:
    received = threading.Event()

    def slow(state: State) -> dict[str, Any]:
        get_stream_writer()("started")
        if not received.wait(WAIT):
            raise TimeoutError("the caller never saw the first chunk while the node ran")
        return {"log": ["slow"]}

    graph = StateGraph(State)
    graph.add_node("slow", slow)
    graph.add_edge(START, "slow")

    chunks = []
    for chunk in graph.compile().stream({}, stream_mode="custom"):
        chunks.append(chunk)
        received.set()

    assert chunks == ["started"]


# -- 8.4: several modes ------------------------------------------------------------------------------------


def test_a_list_of_modes_yields_mode_and_chunk_pairs_in_order() -> None:
    graph = StateGraph(State)
    graph.add_node("a", reporting("a", "working"))
    graph.add_node("b", appender("b"))
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")

    chunks = list(graph.compile().stream({"log": ["input"]}, stream_mode=["updates", "values", "custom"]))

    assert chunks == [
        ("values", {"log": ["input"]}),
        ("custom", "working"),
        ("updates", {"a": {"log": ["a"]}}),
        ("values", {"log": ["input", "a"]}),
        ("updates", {"b": {"log": ["b"]}}),
        ("values", {"log": ["input", "a", "b"]}),
    ]


def test_a_list_of_one_mode_still_yields_pairs() -> None:
    chunks = list(chain("a").compile().stream({}, stream_mode=["updates"]))

    assert chunks == [("updates", {"a": {"log": ["a"]}})]


def test_only_the_modes_asked_for_are_streamed() -> None:
    graph = StateGraph(State)
    graph.add_node("a", reporting("a", "working"))
    graph.add_edge(START, "a")

    chunks = list(graph.compile().stream({}, stream_mode=["custom", "updates"]))

    assert chunks == [("custom", "working"), ("updates", {"a": {"log": ["a"]}})]


# -- interrupts and breakpoints in streams (4.5, 5.1) ----------------------------------------------------


def ask(state: State) -> dict[str, Any]:
    return {"answer": interrupt("what is your name?")}


def asking_beside_a_sibling() -> StateGraph:
    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_node("sibling", appender("sibling"))
    graph.add_edge(START, "ask")
    graph.add_edge(START, "sibling")
    return graph


def test_an_interrupt_streams_as_an_interrupt_chunk_holding_a_tuple() -> None:
    app = asking_beside_a_sibling().compile(checkpointer=InMemorySaver())

    chunks = list(app.stream({}, thread()))

    assert len(chunks) == 2
    assert {"sibling": {"log": ["sibling"]}} in chunks
    (interrupt_chunk,) = (chunk for chunk in chunks if "__interrupt__" in chunk)
    assert list(interrupt_chunk) == ["__interrupt__"]
    assert isinstance(interrupt_chunk["__interrupt__"], tuple)
    (raised,) = interrupt_chunk["__interrupt__"]
    assert isinstance(raised, Interrupt)
    assert raised.value == "what is your name?"
    assert app.get_state(thread()).interrupts == (raised,)


def test_the_values_stream_ends_with_the_state_and_the_interrupts() -> None:
    app = asking_beside_a_sibling().compile(checkpointer=InMemorySaver())

    chunks = list(app.stream({"log": ["input"]}, thread(), stream_mode="values"))

    assert chunks[0] == {"log": ["input"]}
    (raised,) = app.get_state(thread()).interrupts
    assert chunks[-1] == {"log": ["input", "sibling"], "__interrupt__": (raised,)}


def test_a_resumed_stream_shows_the_resumed_nodes_update() -> None:
    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    app = graph.compile(checkpointer=InMemorySaver())
    list(app.stream({}, thread()))

    chunks = list(app.stream(Command(resume="Ada"), thread()))

    assert chunks == [{"ask": {"answer": "Ada"}}]


@pytest.mark.parametrize("breakpoint", ["interrupt_before", "interrupt_after"])
def test_a_static_breakpoint_streams_an_empty_interrupt_chunk(breakpoint: str) -> None:
    app = chain("a", "b").compile(checkpointer=InMemorySaver(), **{breakpoint: ["b"]})

    chunks = list(app.stream({}, thread()))

    if breakpoint == "interrupt_before":
        assert chunks == [{"a": {"log": ["a"]}}, {"__interrupt__": ()}]
    else:
        assert chunks == [{"a": {"log": ["a"]}}, {"b": {"log": ["b"]}}, {"__interrupt__": ()}]


def test_a_static_breakpoint_leaves_invoke_returning_the_plain_state() -> None:
    app = chain("a", "b").compile(checkpointer=InMemorySaver(), interrupt_before=["b"])

    assert app.invoke({}, thread()) == {"log": ["a"]}


def test_continuing_from_a_breakpoint_streams_the_current_state_first_in_values_mode() -> None:
    app = chain("a", "b").compile(checkpointer=InMemorySaver(), interrupt_before=["b"])
    app.invoke({}, thread())

    assert list(app.stream(None, thread(), stream_mode="values")) == [{"log": ["a"]}, {"log": ["a", "b"]}]
