"""Static breakpoints: ``interrupt_before`` / ``interrupt_after``, at compile time or per call.

COMPAT.md section 5 (5.1-5.4). At a static breakpoint nothing waits in
``interrupt()``, so new input behaves as in LangGraph (deliberate difference 1
only concerns threads waiting in ``interrupt()``).
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from engine import END, START, Command, CompiledStateGraph, InMemorySaver, StateGraph


class State(TypedDict):
    log: Annotated[list[str], operator.add]
    count: int
    note: str


def appender(name: str, calls: Counter[str]) -> Callable[[State], dict[str, Any]]:
    def node(state: State) -> dict[str, Any]:
        calls[name] += 1
        return {"log": [name]}

    return node


def chain(*names: str, calls: Counter[str]) -> StateGraph:
    graph = StateGraph(State)
    for name in names:
        graph.add_node(name, appender(name, calls))
    graph.add_edge(START, names[0])
    for source, target in itertools.pairwise(names):
        graph.add_edge(source, target)
    return graph


def thread(name: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


@pytest.fixture
def calls() -> Counter[str]:
    """How many times each node ran."""
    return Counter()


def abc(calls: Counter[str], **breakpoints: Any) -> CompiledStateGraph:
    return chain("a", "b", "c", calls=calls).compile(checkpointer=InMemorySaver(), **breakpoints)


# -- 5.1: interrupt_before --------------------------------------------------------------------------


def test_interrupt_before_stops_before_the_node_runs(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before=["b"])

    result = app.invoke({"log": ["input"]}, thread())

    assert result == {"log": ["input", "a"]}
    assert calls == {"a": 1}


def test_invoke_returns_the_plain_state_at_a_static_breakpoint(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before=["b"])

    assert "__interrupt__" not in app.invoke({}, thread())


def test_at_a_before_breakpoint_the_snapshot_lists_the_step_with_no_interrupts(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before=["b"])
    app.invoke({}, thread())

    state = app.get_state(thread())

    assert state.next == ("b",)
    assert [(task.name, task.interrupts) for task in state.tasks] == [("b", ())]
    assert state.interrupts == ()


def test_interrupt_before_a_node_of_a_parallel_step_stops_the_whole_step(calls: Counter[str]) -> None:
    graph = StateGraph(State)
    for name in ("a", "b", "c"):
        graph.add_node(name, appender(name, calls))
    graph.add_edge(START, "a")
    graph.add_edge(START, "b")
    graph.add_edge("a", "c")
    app = graph.compile(checkpointer=InMemorySaver(), interrupt_before=["b"])

    assert app.invoke({"log": ["input"]}, thread()) == {"log": ["input"]}
    assert sorted(app.get_state(thread()).next) == ["a", "b"]
    assert calls == {}


def test_interrupt_before_star_stops_before_every_step(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before="*")

    pauses = []
    app.invoke({}, thread())
    while app.get_state(thread()).next:
        pauses.append(app.get_state(thread()).next)
        app.invoke(None, thread())

    assert pauses == [("a",), ("b",), ("c",)]
    assert app.get_state(thread()).values == {"log": ["a", "b", "c"]}


# -- 5.2: interrupt_after ---------------------------------------------------------------------------


def test_interrupt_after_stops_once_the_nodes_step_is_saved(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_after=["a"])

    result = app.invoke({}, thread())
    state = app.get_state(thread())

    assert result == {"log": ["a"]}
    assert "__interrupt__" not in result
    assert state.values == {"log": ["a"]}
    assert state.next == ("b",)
    assert state.metadata is not None
    assert state.metadata["source"] == "loop"
    assert calls == {"a": 1}


def test_interrupt_after_the_last_node_leaves_nothing_to_run(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_after=["c"])

    assert app.invoke({}, thread()) == {"log": ["a", "b", "c"]}
    assert app.get_state(thread()).next == ()
    assert app.invoke(None, thread()) == {"log": ["a", "b", "c"]}
    assert calls == {"a": 1, "b": 1, "c": 1}


# -- 5.3: compile time vs call time ----------------------------------------------------------------


def test_call_time_breakpoints_replace_the_compiled_ones_for_that_call_only(calls: Counter[str]) -> None:
    app = chain("a", "b", "c", "d", calls=calls).compile(checkpointer=InMemorySaver(), interrupt_before=["c"])

    app.invoke({}, thread(), interrupt_before=["b"])
    first_pause = app.get_state(thread()).next
    app.invoke(None, thread())
    second_pause = app.get_state(thread()).next

    assert first_pause == ("b",)
    assert second_pause == ("c",)


def test_call_time_interrupt_after_replaces_the_compiled_one(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_after=["b"])

    app.invoke({}, thread(), interrupt_after=["a"])

    assert app.get_state(thread()).next == ("b",)
    assert calls == {"a": 1}


def test_stream_takes_call_time_breakpoints_too(calls: Counter[str]) -> None:
    app = abc(calls)

    chunks = list(app.stream({}, thread(), interrupt_before=["c"]))

    assert chunks == [{"a": {"log": ["a"]}}, {"b": {"log": ["b"]}}, {"__interrupt__": ()}]
    assert app.get_state(thread()).next == ("c",)


# -- 5.4: continuing -------------------------------------------------------------------------------------


def test_invoke_none_runs_the_paused_step_and_does_not_stop_at_the_same_breakpoint(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before=["b"])
    app.invoke({}, thread())

    result = app.invoke(None, thread())

    assert result == {"log": ["a", "b", "c"]}
    assert calls == {"a": 1, "b": 1, "c": 1}


def test_continuing_after_an_after_breakpoint_runs_the_rest(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_after=["a"])
    app.invoke({}, thread())

    assert app.invoke(None, thread()) == {"log": ["a", "b", "c"]}
    assert calls == {"a": 1, "b": 1, "c": 1}


def test_a_command_continues_past_a_breakpoint_too(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before=["b"])
    app.invoke({}, thread())

    result = app.invoke(Command(update={"note": "approved"}), thread())

    assert result == {"log": ["a", "b", "c"], "note": "approved"}
    assert calls == {"a": 1, "b": 1, "c": 1}


def test_a_breakpoint_on_a_looping_node_fires_on_each_visit() -> None:
    graph = StateGraph(State)
    graph.add_node("tick", lambda state: {"count": state["count"] + 1})
    graph.add_edge(START, "tick")
    graph.add_conditional_edges("tick", lambda state: "tick" if state["count"] < 3 else END)
    app = graph.compile(checkpointer=InMemorySaver(), interrupt_before=["tick"])

    seen = [app.invoke({"count": 0}, thread())["count"]]
    while app.get_state(thread()).next:
        seen.append(app.invoke(None, thread())["count"])

    assert seen == [0, 1, 2, 3]


def test_an_after_breakpoint_on_a_looping_node_fires_on_each_visit() -> None:
    graph = StateGraph(State)
    graph.add_node("tick", lambda state: {"count": state["count"] + 1})
    graph.add_edge(START, "tick")
    graph.add_conditional_edges("tick", lambda state: "tick" if state["count"] < 3 else END)
    app = graph.compile(checkpointer=InMemorySaver(), interrupt_after=["tick"])

    seen = [app.invoke({"count": 0}, thread())["count"]]
    while app.get_state(thread()).next:
        seen.append(app.invoke(None, thread())["count"])

    assert seen == [1, 2, 3]


def test_back_to_back_after_and_before_breakpoints_pause_once(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_after=["a"], interrupt_before=["b"])

    assert app.invoke({}, thread()) == {"log": ["a"]}
    assert app.get_state(thread()).next == ("b",)
    assert app.invoke(None, thread()) == {"log": ["a", "b", "c"]}


def test_continuing_a_finished_thread_runs_nothing(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before=["b"])
    app.invoke({}, thread())
    app.invoke(None, thread())

    assert app.invoke(None, thread()) == {"log": ["a", "b", "c"]}
    assert calls == {"a": 1, "b": 1, "c": 1}


# -- new input at a breakpoint (as in LangGraph) --------------------------------------------------------


def test_new_input_at_a_breakpoint_drops_the_paused_step_and_starts_again_on_the_current_state(
    calls: Counter[str],
) -> None:
    app = abc(calls, interrupt_before=["b"])
    app.invoke({"log": ["first"]}, thread())

    result = app.invoke({"log": ["second"]}, thread())

    assert result == {"log": ["first", "a", "second", "a"]}
    assert app.get_state(thread()).next == ("b",)
    assert calls == {"a": 2}


def test_new_input_at_a_breakpoint_records_a_new_input_checkpoint(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before=["b"])
    app.invoke({"log": ["first"]}, thread())
    app.invoke({"log": ["second"]}, thread())

    history = [(s.metadata["source"], s.metadata["step"], s.next) for s in app.get_state_history(thread())]

    assert history == [
        ("loop", 4, ("b",)),
        ("loop", 3, ("a",)),
        ("input", 2, ("__start__",)),
        ("loop", 1, ("b",)),
        ("loop", 0, ("a",)),
        ("input", -1, ("__start__",)),
    ]


def test_after_new_input_at_a_breakpoint_continuing_runs_the_rest_once(calls: Counter[str]) -> None:
    app = abc(calls, interrupt_before=["b"])
    app.invoke({"log": ["first"]}, thread())
    app.invoke({"log": ["second"]}, thread())

    assert app.invoke(None, thread()) == {"log": ["first", "a", "second", "a", "b", "c"]}
    assert calls == {"a": 2, "b": 1, "c": 1}
