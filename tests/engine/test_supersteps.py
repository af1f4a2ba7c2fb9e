"""Supersteps and control flow: what a step's tasks see, how their writes combine, Send and Command.

COMPAT.md section 2 (tier C) and rows 3.1, 3.2 and 3.4.
"""

from __future__ import annotations

import itertools
import operator
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typing_extensions import TypedDict

from engine import (
    END,
    START,
    Command,
    CompiledStateGraph,
    EmptyInputError,
    GraphRecursionError,
    InMemorySaver,
    InvalidUpdateError,
    Send,
    StateGraph,
)

WAIT = 5.0
"""Seconds a node waits for another before the test gives up (only reached when something is wrong)."""


class State(TypedDict):
    log: Annotated[list[Any], operator.add]
    count: int
    note: str


def appender(name: str, calls: Counter[str] | None = None) -> Callable[[State], dict[str, Any]]:
    """A node that appends its name to ``log`` (and counts its runs in ``calls``)."""

    def node(state: State) -> dict[str, Any]:
        if calls is not None:
            calls[name] += 1
        return {"log": [name]}

    return node


def chain(*names: str, calls: Counter[str] | None = None) -> StateGraph:
    graph = StateGraph(State)
    for name in names:
        graph.add_node(name, appender(name, calls))
    graph.add_edge(START, names[0])
    for source, target in itertools.pairwise(names):
        graph.add_edge(source, target)
    return graph


def thread(name: str = "t", **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}, **extra}


def head(app: CompiledStateGraph, thread_id: str = "t") -> int:
    """How many events the thread's log holds."""
    assert app.checkpointer is not None
    return app.checkpointer.store.head(thread_id)


class CompletionOrder:
    """Forces tasks running concurrently to finish in a given order, and records the order they did."""

    def __init__(self, order: Sequence[Any]) -> None:
        self.order = list(order)
        self.done = {key: threading.Event() for key in self.order}
        self.finished: list[Any] = []
        self._lock = threading.Lock()

    def finish(self, key: Any) -> None:
        """Call from the task ``key``: wait until the task before it in the order finished."""
        position = self.order.index(key)
        if position > 0:
            previous = self.order[position - 1]
            if not self.done[previous].wait(WAIT):
                raise TimeoutError(f"{key!r} waited for {previous!r}: the tasks did not run concurrently")
        with self._lock:
            self.finished.append(key)
        self.done[key].set()


def parallel(names: Sequence[str], completion: CompletionOrder) -> StateGraph:
    """START -> every name in one step; each node appends its name once ``completion`` lets it finish."""
    graph = StateGraph(State)
    for name in names:

        def node(state: State, name: str = name) -> dict[str, Any]:
            completion.finish(name)
            return {"log": [name]}

        graph.add_node(name, node)
        graph.add_edge(START, name)
    return graph


# -- 2.1: a step's tasks read the same state --------------------------------------------------------


def test_tasks_of_one_step_all_read_the_state_as_it_was_before_the_step() -> None:
    seen: dict[str, State] = {}

    def writer(state: State) -> dict[str, Any]:
        seen["writer"] = state
        return {"count": state["count"] + 1, "log": ["writer"]}

    def reader(state: State) -> dict[str, Any]:
        seen["reader"] = state
        return {"log": ["reader"]}

    graph = StateGraph(State)
    graph.add_node("writer", writer)
    graph.add_node("reader", reader)
    graph.add_edge(START, "writer")
    graph.add_edge(START, "reader")

    result = graph.compile().invoke({"count": 1, "log": ["input"]})

    assert seen["writer"] == seen["reader"] == {"count": 1, "log": ["input"]}
    assert result == {"count": 2, "log": ["input", "reader", "writer"]}


def test_the_next_step_sees_every_write_of_the_step_before() -> None:
    seen: list[State] = []
    graph = StateGraph(State)
    graph.add_node("a", lambda state: {"count": 7})
    graph.add_node("b", appender("b"))
    graph.add_node("after", lambda state: seen.append(state))
    graph.add_edge(START, "a")
    graph.add_edge(START, "b")
    graph.add_edge(["a", "b"], "after")

    graph.compile().invoke({})

    assert seen == [{"count": 7, "log": ["b"]}]


# -- 2.2: writes are applied in task-path order ----------------------------------------------------


def test_tasks_of_one_step_really_run_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=WAIT)

    def meet(name: str) -> Callable[[State], dict[str, Any]]:
        def node(state: State) -> dict[str, Any]:
            barrier.wait()  # breaks (and the run fails) unless the other task runs at the same time
            return {"log": [name]}

        return node

    graph = StateGraph(State)
    graph.add_node("left", meet("left"))
    graph.add_node("right", meet("right"))
    graph.add_edge(START, "left")
    graph.add_edge(START, "right")

    assert graph.compile().invoke({}) == {"log": ["left", "right"]}


def test_writes_are_applied_in_node_name_order_even_when_tasks_finish_in_reverse() -> None:
    completion = CompletionOrder(["d", "c", "b", "a"])
    app = parallel(["a", "b", "c", "d"], completion).compile()

    result = app.invoke({})

    assert completion.finished == ["d", "c", "b", "a"]
    assert result["log"] == ["a", "b", "c", "d"]


@given(st.permutations(["alpha", "beta", "delta", "gamma"]))
def test_writes_are_applied_in_node_name_order_whatever_the_completion_order(order: list[str]) -> None:
    completion = CompletionOrder(order)
    app = parallel(["gamma", "alpha", "delta", "beta"], completion).compile(checkpointer=InMemorySaver())

    result = app.invoke({}, thread())

    assert completion.finished == order
    assert result["log"] == ["alpha", "beta", "delta", "gamma"]
    assert app.get_state(thread()).values["log"] == ["alpha", "beta", "delta", "gamma"]


def test_two_writes_to_a_plain_key_in_one_step_are_an_error() -> None:
    graph = StateGraph(State)
    graph.add_node("a", lambda state: {"note": "from a"})
    graph.add_node("b", lambda state: {"note": "from b"})
    graph.add_edge(START, "a")
    graph.add_edge(START, "b")

    with pytest.raises(InvalidUpdateError, match="At key 'note': Can receive only one value per step"):
        graph.compile().invoke({})


def test_two_equal_writes_to_a_plain_key_in_one_step_are_still_an_error() -> None:
    graph = StateGraph(State)
    graph.add_node("a", lambda state: {"note": "same"})
    graph.add_node("b", lambda state: {"note": "same"})
    graph.add_edge(START, "a")
    graph.add_edge(START, "b")

    with pytest.raises(InvalidUpdateError, match="'note'"):
        graph.compile().invoke({})


# -- 2.4: task ids are stable for a checkpoint and step ----------------------------------------------


def test_the_task_ids_of_a_step_are_the_same_before_and_after_it_runs() -> None:
    app = chain("a", "b").compile(checkpointer=InMemorySaver(), interrupt_before=["b"])
    app.invoke({}, thread())
    paused = app.get_state(thread())

    app.invoke(None, thread())
    recorded = app.get_state(paused.config)

    assert [t.name for t in paused.tasks] == ["b"]
    assert [t.id for t in recorded.tasks] == [t.id for t in paused.tasks]
    assert app.get_state(thread()).config != paused.config


# -- 2.5: the recursion limit ------------------------------------------------------------------------


def test_a_chain_of_n_nodes_needs_a_recursion_limit_of_n_plus_one() -> None:
    app = chain("a", "b", "c").compile()

    assert app.invoke({}, {"recursion_limit": 4}) == {"log": ["a", "b", "c"]}
    with pytest.raises(GraphRecursionError):
        app.invoke({}, {"recursion_limit": 3})


def test_graph_recursion_error_is_a_recursion_error() -> None:
    app = chain("a", "b").compile()

    with pytest.raises(RecursionError, match="recursion_limit"):
        app.invoke({}, {"recursion_limit": 1})


def test_after_hitting_the_recursion_limit_a_thread_continues_with_a_bigger_limit() -> None:
    calls: Counter[str] = Counter()
    app = chain("a", "b", "c", "d", calls=calls).compile(checkpointer=InMemorySaver())

    with pytest.raises(GraphRecursionError):
        app.invoke({}, thread(recursion_limit=3))
    result = app.invoke(None, thread(recursion_limit=10))

    assert result == {"log": ["a", "b", "c", "d"]}
    assert calls == {"a": 1, "b": 1, "c": 1, "d": 1}


def test_the_default_recursion_limit_is_far_above_langchains_25() -> None:
    graph = StateGraph(State)
    graph.add_node("tick", lambda state: {"count": state["count"] + 1})
    graph.add_edge(START, "tick")
    graph.add_conditional_edges("tick", lambda state: "tick" if state["count"] < 100 else END)

    assert graph.compile().invoke({"count": 0}) == {"log": [], "count": 100}


@pytest.mark.parametrize("limit", [0, -1])
def test_a_recursion_limit_below_one_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="recursion_limit"):
        chain("a").compile().invoke({}, {"recursion_limit": limit})


# -- 2.6: a failing task ------------------------------------------------------------------------------


class Flaky:
    """A node that fails (once its sibling "steady" has succeeded) until told otherwise."""

    def __init__(self, calls: Counter[str], steady_done: threading.Event) -> None:
        self.calls = calls
        self.steady_done = steady_done
        self.failing = True

    def __call__(self, state: State) -> dict[str, Any]:
        self.calls["flaky"] += 1
        if self.failing:
            self.steady_done.wait(WAIT)
            raise ConnectionError("the service is down")
        return {"log": ["flaky"]}


def failing_step(calls: Counter[str]) -> tuple[CompiledStateGraph, Flaky]:
    """START -> steady and flaky in one step, then both -> after."""
    steady_done = threading.Event()

    def steady(state: State) -> dict[str, Any]:
        calls["steady"] += 1
        steady_done.set()
        return {"log": ["steady"]}

    flaky = Flaky(calls, steady_done)
    graph = StateGraph(State)
    graph.add_node("steady", steady)
    graph.add_node("flaky", flaky)
    graph.add_node("after", appender("after", calls))
    graph.add_edge(START, "steady")
    graph.add_edge(START, "flaky")
    graph.add_edge(["steady", "flaky"], "after")
    return graph.compile(checkpointer=InMemorySaver()), flaky


def test_a_task_exception_comes_out_of_invoke_and_keeps_the_sibling_writes() -> None:
    calls: Counter[str] = Counter()
    app, _ = failing_step(calls)

    with pytest.raises(ConnectionError, match="the service is down"):
        app.invoke({}, thread())
    state = app.get_state(thread())

    assert state.values == {"log": ["steady"]}
    assert state.next == ("flaky",)
    errors = {task.name: task.error for task in state.tasks}
    assert errors["steady"] is None
    assert "the service is down" in str(errors["flaky"])


def test_continuing_after_a_failure_reruns_only_the_failed_task() -> None:
    calls: Counter[str] = Counter()
    app, flaky = failing_step(calls)
    with pytest.raises(ConnectionError):
        app.invoke({}, thread())

    flaky.failing = False
    result = app.invoke(None, thread())

    assert result == {"log": ["flaky", "steady", "after"]}  # task-path (name) order, not run order
    assert calls == {"steady": 1, "flaky": 2, "after": 1}


def test_a_task_that_keeps_failing_fails_again_and_its_sibling_still_does_not_rerun() -> None:
    calls: Counter[str] = Counter()
    app, _ = failing_step(calls)
    with pytest.raises(ConnectionError):
        app.invoke({}, thread())

    with pytest.raises(ConnectionError):
        app.invoke(None, thread())

    assert calls == {"steady": 1, "flaky": 2}
    assert app.get_state(thread()).values == {"log": ["steady"]}


# -- 1.4 (node return values) -----------------------------------------------------------------------


@pytest.mark.parametrize("returned", [42, "a string", ("a", "tuple"), ["not", "updates"]], ids=repr)
def test_a_node_returning_something_other_than_an_update_is_an_invalid_update(returned: Any) -> None:
    graph = StateGraph(State)
    graph.add_node("bad", lambda state: returned)
    graph.add_edge(START, "bad")

    with pytest.raises(InvalidUpdateError, match="'bad'"):
        graph.compile().invoke({})


def test_a_rejected_node_return_appends_nothing_to_the_log() -> None:
    graph = chain("a")
    graph.add_node("bad", lambda state: 42)
    graph.add_edge("a", "bad")
    app = graph.compile(checkpointer=InMemorySaver(), interrupt_before=["bad"])
    app.invoke({}, thread())
    events_before = head(app)

    with pytest.raises(InvalidUpdateError):
        app.invoke(None, thread())

    assert head(app) == events_before
    state = app.get_state(thread())
    assert state.values == {"log": ["a"]}
    assert state.next == ("bad",)


# -- 3.1: Send -----------------------------------------------------------------------------------------


def test_send_results_are_applied_in_send_order_whatever_the_completion_order() -> None:
    completion = CompletionOrder([3, 2, 1, 0])

    def worker(arg: int) -> dict[str, Any]:
        completion.finish(arg)
        return {"log": [arg]}

    graph = StateGraph(State)
    graph.add_node("split", appender("split"))
    graph.add_node("worker", worker)
    graph.add_edge(START, "split")
    graph.add_conditional_edges("split", lambda state: [Send("worker", i) for i in range(4)])

    result = graph.compile().invoke({})

    assert completion.finished == [3, 2, 1, 0]
    assert result == {"log": ["split", 0, 1, 2, 3]}


def test_sends_and_static_edges_of_one_step_run_together_pulls_first() -> None:
    graph = StateGraph(State)
    graph.add_node("split", appender("split"))
    graph.add_node("static", appender("static"))
    graph.add_node("worker", lambda arg: {"log": [arg]})
    graph.add_edge(START, "split")
    graph.add_edge("split", "static")
    graph.add_conditional_edges("split", lambda state: [Send("worker", "w0"), Send("worker", "w1")])

    assert graph.compile().invoke({}) == {"log": ["split", "static", "w0", "w1"]}


# -- 3.2: Command returned by a node ------------------------------------------------------------------


def commanding(command: Command[Any]) -> StateGraph:
    """START -> a (returns ``command``); a -> b statically; c and a Send-able "worker" exist."""
    graph = StateGraph(State)
    graph.add_node("a", lambda state: command)
    graph.add_node("b", appender("b"))
    graph.add_node("c", appender("c"))
    graph.add_node("worker", lambda arg: {"log": [arg]})
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    return graph


def test_a_command_update_is_applied_like_a_returned_dict() -> None:
    app = commanding(Command(update={"log": ["a"], "note": "set by a"})).compile()

    assert app.invoke({}) == {"log": ["a", "b"], "note": "set by a"}


def test_a_command_goto_adds_to_the_static_edges() -> None:
    app = commanding(Command(update={"log": ["a"]}, goto="c")).compile()

    assert app.invoke({}) == {"log": ["a", "b", "c"]}


def test_a_command_goto_can_name_several_nodes() -> None:
    app = commanding(Command(goto=["c", "b"])).compile()

    assert app.invoke({}) == {"log": ["b", "c"]}


def test_a_command_goto_end_changes_nothing() -> None:
    app = commanding(Command(update={"log": ["a"]}, goto=END)).compile()

    assert app.invoke({}) == {"log": ["a", "b"]}


def test_a_command_goto_can_send_in_send_order() -> None:
    app = commanding(Command(goto=[Send("worker", "first"), Send("worker", "second")])).compile()

    assert app.invoke({}) == {"log": ["b", "first", "second"]}


def test_a_command_goto_to_an_unknown_node_is_an_error_naming_it() -> None:
    app = commanding(Command(update={"log": ["a"]}, goto="nowhere")).compile()

    with pytest.raises(InvalidUpdateError, match="nowhere"):
        app.invoke({})


# -- 3.4: Command as the graph's input --------------------------------------------------------------


def test_a_command_input_updates_an_existing_thread_and_goes_to_a_node() -> None:
    seen: list[State] = []
    graph = chain("a")
    graph.add_node("b", lambda state: seen.append(state))
    app = graph.compile(checkpointer=InMemorySaver())
    app.invoke({}, thread())

    result = app.invoke(Command(update={"note": "patched"}, goto="b"), thread())

    assert seen == [{"log": ["a"], "note": "patched"}]
    assert result == {"log": ["a"], "note": "patched"}


def test_a_command_input_creates_no_new_input_checkpoint() -> None:
    graph = chain("a")
    graph.add_node("b", appender("b"))
    app = graph.compile(checkpointer=InMemorySaver())
    app.invoke({}, thread())

    app.invoke(Command(goto="b"), thread())

    sources = [s.metadata["source"] for s in app.get_state_history(thread())]
    assert sources.count("input") == 1
    assert app.get_state(thread()).values == {"log": ["a", "b"]}


def test_a_command_input_with_only_an_update_runs_nothing_and_updates_the_state() -> None:
    calls: Counter[str] = Counter()
    app = chain("a", calls=calls).compile(checkpointer=InMemorySaver())
    app.invoke({}, thread())

    result = app.invoke(Command(update={"count": 3}), thread())

    assert result == {"log": ["a"], "count": 3}
    assert app.get_state(thread()).values == {"log": ["a"], "count": 3}
    assert calls == {"a": 1}


def test_an_empty_command_input_is_an_empty_input_error() -> None:
    app = chain("a").compile(checkpointer=InMemorySaver())
    app.invoke({}, thread())
    events_before = head(app)

    with pytest.raises(EmptyInputError):
        app.invoke(Command(), thread())

    assert head(app) == events_before


def test_a_resume_command_without_a_checkpointer_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        chain("a").compile().invoke(Command(resume="yes"))
