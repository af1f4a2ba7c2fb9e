"""Building graphs: state schemas and their channels, nodes, edges, conditional edges, and compile checks.

COMPAT.md section 1, rows 1.1-1.7 (tier C).
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
from collections.abc import Callable
from typing import Annotated, Any

import attrs
import pytest
from typing_extensions import TypedDict

from engine import END, START, InMemorySaver, InvalidUpdateError, Send, StateGraph


class Tally(TypedDict):
    log: Annotated[list[str], operator.add]
    count: int
    note: Annotated[str, "a description, not a reducer"]


def bracketed(left: list[str], right: list[str]) -> list[str]:
    """A reducer whose effect is visible: every item it folds in gets brackets."""
    return left + [f"<{item}>" for item in right]


class Marked(TypedDict):
    marks: Annotated[list[str], bracketed]


@dataclasses.dataclass
class DataState:
    name: str = "anonymous"
    log: Annotated[list[str], operator.add] = dataclasses.field(default_factory=list)
    count: int = 0


@attrs.define
class AttrsState:
    name: str = "anonymous"
    log: Annotated[list[str], operator.add] = attrs.Factory(list)
    count: int = 0


def appender(name: str) -> Callable[[Any], dict[str, Any]]:
    """A node that appends its own name to ``log``."""

    def node(state: Any) -> dict[str, Any]:
        return {"log": [name]}

    node.__name__ = name
    return node


def chain(*names: str, schema: Any = Tally) -> StateGraph:
    """START -> names[0] -> ... -> names[-1], each node appending its name."""
    graph = StateGraph(schema)
    for name in names:
        graph.add_node(name, appender(name))
    graph.add_edge(START, names[0])
    for source, target in itertools.pairwise(names):
        graph.add_edge(source, target)
    return graph


def order_of_updates(graph: StateGraph, input: Any) -> list[str]:
    """The nodes in the order their updates were streamed."""
    return [name for chunk in graph.compile().stream(input) for name in chunk]


# -- 1.1 / 1.2 / 1.3: schemas and channels -------------------------------------------------------


def test_a_reducer_key_starts_empty_and_is_always_in_the_state() -> None:
    graph = StateGraph(Tally)
    graph.add_node("count", lambda state: {"count": 1})
    graph.add_edge(START, "count")

    assert graph.compile().invoke({}) == {"log": [], "count": 1}


def test_a_last_value_key_appears_only_once_written() -> None:
    graph = StateGraph(Tally)
    graph.add_node("idle", lambda state: None)
    graph.add_edge(START, "idle")

    assert graph.compile().invoke({"log": ["input"]}) == {"log": ["input"]}


def test_an_annotated_reducer_key_folds_every_write_of_a_step() -> None:
    graph = StateGraph(Tally)
    for name in ("a", "b", "c"):
        graph.add_node(name, appender(name))
        graph.add_edge(START, name)

    assert graph.compile().invoke({"log": ["input"]})["log"] == ["input", "a", "b", "c"]


def test_annotated_metadata_that_is_not_a_reducer_leaves_a_last_value_key() -> None:
    graph = StateGraph(Tally)
    graph.add_node("a", lambda state: {"note": "same"})
    graph.add_node("b", lambda state: {"note": "same"})
    graph.add_edge(START, "a")
    graph.add_edge(START, "b")

    with pytest.raises(InvalidUpdateError, match="'note'"):
        graph.compile().invoke({})


def test_the_input_goes_through_the_reducers() -> None:
    graph = StateGraph(Marked)
    graph.add_node("mark", lambda state: {"marks": ["node"]})
    graph.add_edge(START, "mark")

    assert graph.compile().invoke({"marks": ["input"]}) == {"marks": ["<input>", "<node>"]}


def test_a_last_value_key_takes_the_input_as_is() -> None:
    graph = StateGraph(Tally)
    seen: list[dict[str, Any]] = []
    graph.add_node("look", lambda state: seen.append(dict(state)))
    graph.add_edge(START, "look")

    assert graph.compile().invoke({"count": 41, "note": "hi"}) == {"log": [], "count": 41, "note": "hi"}
    assert seen == [{"log": [], "count": 41, "note": "hi"}]


@pytest.mark.parametrize("schema", [DataState, AttrsState], ids=["dataclass", "attrs"])
def test_a_class_schema_gives_nodes_an_instance_and_callers_a_dict(schema: type[Any]) -> None:
    seen: list[Any] = []

    def count(state: Any) -> dict[str, Any]:
        seen.append(state)
        return {"log": ["count"], "count": state.count + 1}

    graph = StateGraph(schema)
    graph.add_node("count", count)
    graph.add_edge(START, "count")

    result = graph.compile().invoke({"name": "ada", "count": 1})

    assert result == {"name": "ada", "log": ["count"], "count": 2}
    assert seen == [schema(name="ada", log=[], count=1)]


@pytest.mark.parametrize("schema", [DataState, AttrsState], ids=["dataclass", "attrs"])
def test_a_class_schema_node_sees_field_defaults_for_keys_never_written(schema: type[Any]) -> None:
    seen: list[Any] = []
    graph = StateGraph(schema)
    graph.add_node("look", lambda state: seen.append(state))
    graph.add_edge(START, "look")

    result = graph.compile().invoke({"log": ["input"]})

    assert seen == [schema(name="anonymous", log=["input"], count=0)]
    assert result == {"log": ["input"]}


@pytest.mark.parametrize("schema", [DataState, AttrsState], ids=["dataclass", "attrs"])
def test_a_class_schema_accepts_an_instance_as_input(schema: type[Any]) -> None:
    graph = chain("a", schema=schema)

    assert graph.compile().invoke(schema(name="bo", log=["x"], count=5)) == {
        "name": "bo",
        "log": ["x", "a"],
        "count": 5,
    }


# -- 1.4: add_node ----------------------------------------------------------------------------------


def test_add_node_takes_a_name_and_a_function() -> None:
    graph = StateGraph(Tally)
    graph.add_node("first step", appender("a"))
    graph.add_edge(START, "first step")

    assert list(graph.compile().stream({})) == [{"first step": {"log": ["a"]}}]


def test_add_node_with_only_a_function_names_the_node_after_it() -> None:
    def greet(state: Tally) -> dict[str, Any]:
        return {"log": ["hello"]}

    graph = StateGraph(Tally)
    graph.add_node(greet)
    graph.add_edge(START, "greet")

    assert list(graph.compile().stream({})) == [{"greet": {"log": ["hello"]}}]


@pytest.mark.parametrize("name", [START, END])
def test_start_and_end_are_reserved_node_names(name: str) -> None:
    graph = StateGraph(Tally)

    with pytest.raises(ValueError, match="reserved"):
        graph.add_node(name, appender("x"))


@pytest.mark.parametrize("name", ["a|b", "a:b"])
def test_node_names_must_not_contain_pipe_or_colon(name: str) -> None:
    graph = StateGraph(Tally)

    with pytest.raises(ValueError, match=f"'{name[1]}'"):
        graph.add_node(name, appender("x"))


def test_a_node_name_can_be_added_only_once() -> None:
    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))

    with pytest.raises(ValueError, match="already present"):
        graph.add_node("a", appender("b"))


def test_a_node_added_by_function_clashes_with_a_node_of_the_same_name() -> None:
    def a(state: Tally) -> None:
        return None

    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))

    with pytest.raises(ValueError, match="already present"):
        graph.add_node(a)


def test_a_node_writing_a_key_the_state_does_not_have_is_an_invalid_update_naming_it() -> None:
    # LangGraph drops unknown keys silently; ledgergraph rejects them (a typo should not vanish).
    graph = StateGraph(Tally)
    graph.add_node("typo", lambda state: {"log": ["typo"], "cuont": 1})
    graph.add_edge(START, "typo")

    with pytest.raises(InvalidUpdateError, match="cuont"):
        graph.compile().invoke({})


def test_an_input_that_is_not_a_dict_is_refused_before_anything_is_recorded() -> None:
    app = chain("a").compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}

    with pytest.raises(InvalidUpdateError, match="input"):
        app.invoke("hello", config)

    assert app.get_state(config).values == {}
    assert list(app.get_state_history(config)) == []


# -- 1.5: add_edge ---------------------------------------------------------------------------------


def test_a_chain_of_edges_runs_its_nodes_in_order() -> None:
    assert chain("a", "b", "c").compile().invoke({}) == {"log": ["a", "b", "c"]}


def test_set_entry_point_and_set_finish_point_are_edges_from_start_and_to_end() -> None:
    graph = StateGraph(Tally)
    graph.add_node("only", appender("only"))
    graph.set_entry_point("only")
    graph.set_finish_point("only")

    assert graph.compile().invoke({}) == {"log": ["only"]}


def test_edges_from_one_node_to_several_run_them_in_one_step_on_the_same_state() -> None:
    seen: dict[str, list[str]] = {}

    def watcher(name: str) -> Callable[[Tally], dict[str, Any]]:
        def node(state: Tally) -> dict[str, Any]:
            seen[name] = list(state["log"])
            return {"log": [name]}

        return node

    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))
    graph.add_node("b", watcher("b"))
    graph.add_node("c", watcher("c"))
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("a", "c")

    assert graph.compile().invoke({})["log"] == ["a", "b", "c"]
    assert seen == {"b": ["a"], "c": ["a"]}


def test_a_join_edge_runs_its_target_once_after_all_sources_finished_in_one_step() -> None:
    graph = StateGraph(Tally)
    for name in ("a", "b", "joined"):
        graph.add_node(name, appender(name))
    graph.add_edge(START, "a")
    graph.add_edge(START, "b")
    graph.add_edge(["a", "b"], "joined")

    assert order_of_updates(graph, {}) == ["a", "b", "joined"]


def test_a_join_edge_waits_for_sources_that_finish_in_different_steps() -> None:
    graph = StateGraph(Tally)
    for name in ("short", "long1", "long2", "joined"):
        graph.add_node(name, appender(name))
    graph.add_edge(START, "short")
    graph.add_edge(START, "long1")
    graph.add_edge("long1", "long2")
    graph.add_edge(["short", "long2"], "joined")

    updates = order_of_updates(graph, {})

    assert updates.count("joined") == 1
    assert updates.index("joined") > updates.index("long2")


def test_a_single_source_edge_triggers_its_target_on_each_finish_unlike_a_join() -> None:
    graph = StateGraph(Tally)
    for name in ("short", "long1", "long2", "after_each"):
        graph.add_node(name, appender(name))
    graph.add_edge(START, "short")
    graph.add_edge(START, "long1")
    graph.add_edge("long1", "long2")
    graph.add_edge("short", "after_each")
    graph.add_edge("long2", "after_each")

    assert order_of_updates(graph, {}).count("after_each") == 2


def test_a_join_edge_fires_again_each_time_all_its_sources_finish_again() -> None:
    graph = StateGraph(Tally)
    graph.add_node("fork", lambda state: None)
    graph.add_node("a", appender("a"))
    graph.add_node("b", appender("b"))
    graph.add_node("joined", lambda state: {"log": ["joined"], "count": state["count"] + 1})
    graph.add_edge(START, "fork")
    graph.add_edge("fork", "a")
    graph.add_edge("fork", "b")
    graph.add_edge(["a", "b"], "joined")
    graph.add_conditional_edges("joined", lambda state: "fork" if state["count"] < 2 else END)

    assert graph.compile().invoke({"count": 0}) == {"log": ["a", "b", "joined", "a", "b", "joined"], "count": 2}


def test_an_edge_to_an_unknown_node_is_rejected_by_compile_naming_the_node() -> None:
    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))
    graph.add_edge(START, "a")
    graph.add_edge("a", "nowhere")  # accepted here ...

    with pytest.raises(ValueError, match="nowhere"):
        graph.compile()  # ... rejected here


def test_an_edge_from_an_unknown_node_is_rejected_naming_the_node() -> None:
    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))
    graph.add_edge(START, "a")
    graph.add_edge("ghost", "a")

    with pytest.raises(ValueError, match="ghost"):
        graph.compile()


def test_a_join_edge_with_an_unknown_source_is_rejected_naming_it() -> None:
    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))
    graph.add_edge(START, "a")

    with pytest.raises(ValueError, match="ghost"):
        graph.add_edge(["a", "ghost"], "a")
        graph.compile()


# -- 1.6: add_conditional_edges -----------------------------------------------------------------


def branching(route: Callable[..., Any], path_map: Any = None, *, targets: tuple[str, ...] = ("b", "c")) -> StateGraph:
    """START -> a, then ``route`` decides among ``targets`` (each appends its name)."""
    graph = StateGraph(Tally)
    for name in ("a", *targets):
        graph.add_node(name, appender(name))
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", route, path_map)
    return graph


def test_a_conditional_edge_returning_a_node_name_goes_there() -> None:
    assert branching(lambda state: "c").compile().invoke({}) == {"log": ["a", "c"]}


def test_a_conditional_edge_returning_end_stops_that_path() -> None:
    assert branching(lambda state: END).compile().invoke({}) == {"log": ["a"]}


def test_a_conditional_edge_returning_a_list_fans_out_in_one_step() -> None:
    graph = branching(lambda state: ["c", "b"])

    assert graph.compile().invoke({}) == {"log": ["a", "b", "c"]}


def test_a_conditional_edge_sees_the_state_including_its_source_nodes_own_writes() -> None:
    graph = StateGraph(Tally)
    graph.add_node("a", lambda state: {"count": 5})
    graph.add_node("five", appender("five"))
    graph.add_node("other", appender("other"))
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", lambda state: "five" if state["count"] == 5 else "other")

    assert graph.compile().invoke({"count": 0}) == {"log": ["five"], "count": 5}


def test_a_conditional_edge_does_not_see_the_writes_of_its_source_nodes_siblings() -> None:
    seen: list[dict[str, Any]] = []

    def route(state: Tally) -> str:
        seen.append(dict(state))
        return END

    graph = StateGraph(Tally)
    graph.add_node("a", lambda state: {"count": 1})
    graph.add_node("sibling", lambda state: {"note": "from the sibling"})
    graph.add_edge(START, "a")
    graph.add_edge(START, "sibling")
    graph.add_conditional_edges("a", route)

    graph.compile().invoke({"log": ["input"]})

    assert seen == [{"log": ["input"], "count": 1}]


def test_a_path_map_dict_maps_what_the_path_returns_to_node_names() -> None:
    graph = branching(lambda state: len(state["log"]) > 3, {True: "b", False: "c"})

    assert graph.compile().invoke({}) == {"log": ["a", "c"]}
    assert graph.compile().invoke({"log": ["1", "2", "3"]}) == {"log": ["1", "2", "3", "a", "b"]}


def test_a_path_map_dict_can_map_to_end() -> None:
    graph = branching(lambda state: "stop", {"stop": END, "go": "b"})

    assert graph.compile().invoke({}) == {"log": ["a"]}


def test_a_path_map_list_names_the_nodes_the_path_may_return() -> None:
    graph = branching(lambda state: "b", ["b", "c"])

    assert graph.compile().invoke({}) == {"log": ["a", "b"]}


def test_a_path_map_naming_an_unknown_node_is_rejected_by_compile() -> None:
    graph = branching(lambda state: "b", {"b": "b", "x": "nowhere"})

    with pytest.raises(ValueError, match="nowhere"):
        graph.compile()


def test_a_conditional_edge_from_an_unknown_node_is_rejected_by_compile() -> None:
    graph = chain("a")
    graph.add_conditional_edges("ghost", lambda state: "a")

    with pytest.raises(ValueError, match="ghost"):
        graph.compile()


def test_a_conditional_edge_returning_sends_runs_one_task_per_send_with_its_arg_as_input() -> None:
    received: list[Any] = []

    def worker(arg: Any) -> dict[str, Any]:
        received.append(arg)
        return {"log": [f"item {arg['item']}"]}

    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))
    graph.add_node("worker", worker)
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", lambda state: [Send("worker", {"item": i}) for i in (3, 1, 2)])

    assert graph.compile().invoke({}) == {"log": ["a", "item 3", "item 1", "item 2"]}
    assert sorted(received, key=lambda arg: arg["item"]) == [{"item": 1}, {"item": 2}, {"item": 3}]


def test_a_conditional_edge_may_return_a_single_send() -> None:
    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))
    graph.add_node("worker", lambda arg: {"log": [arg]})
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", lambda state: Send("worker", "payload"))

    assert graph.compile().invoke({}) == {"log": ["a", "payload"]}


def test_a_conditional_entry_point_routes_from_start() -> None:
    graph = StateGraph(Tally)
    for name in ("a", "b"):
        graph.add_node(name, appender(name))
    graph.set_conditional_entry_point(lambda state: "b", ["a", "b"])

    assert graph.compile().invoke({}) == {"log": ["b"]}


# -- 1.7: compile checks ---------------------------------------------------------------------------


def test_compile_requires_an_entry_point() -> None:
    graph = StateGraph(Tally)
    graph.add_node("a", appender("a"))

    with pytest.raises(ValueError, match="entrypoint"):
        graph.compile()


@pytest.mark.parametrize("where", ["interrupt_before", "interrupt_after"])
def test_compile_rejects_breakpoints_on_unknown_nodes_naming_them(where: str) -> None:
    graph = chain("a")

    with pytest.raises(ValueError, match="nowhere"):
        graph.compile(**{where: ["nowhere"]})


@pytest.mark.parametrize("where", ["interrupt_before", "interrupt_after"])
def test_compile_accepts_breakpoints_on_known_nodes_and_star(where: str) -> None:
    graph = chain("a", "b")

    graph.compile(**{where: ["b"]})
    graph.compile(**{where: "*"})
