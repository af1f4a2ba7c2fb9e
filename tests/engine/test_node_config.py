"""What a node, a conditional edge and ``get_config()`` are given as config.

A step's config is made only when a task asks for it (a node or an edge that
takes a second argument, or ``get_config()``); these tests pin down what the
ones that ask get.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import END, START, InMemorySaver, Send, StateGraph, get_config
from tests.engine.chains import State

CONFIG = {"configurable": {"thread_id": "t", "user": "ada"}, "metadata": {"ticket": 7}, "recursion_limit": 50}


def test_a_node_that_takes_config_gets_the_run_config_and_its_step_checkpoint() -> None:
    seen: list[dict[str, Any]] = []

    def node(state: State, config: dict[str, Any]) -> dict[str, Any]:
        seen.append(config)
        return {"log": ["a"]}

    graph = StateGraph(State)
    graph.add_node("a", node)
    graph.add_edge(START, "a")
    app = graph.compile(checkpointer=InMemorySaver())

    app.invoke({"log": []}, CONFIG)

    (config,) = seen
    history = list(app.get_state_history(CONFIG))
    ran_from = next(s for s in history if s.next == ("a",))  # the checkpoint node a's step ran from
    assert config["configurable"] == {
        "thread_id": "t",
        "user": "ada",
        "checkpoint_ns": "",
        "checkpoint_id": ran_from.config["configurable"]["checkpoint_id"],
    }
    assert config["metadata"] == {"ticket": 7}
    assert config["recursion_limit"] == 50


def test_get_config_is_the_config_the_node_was_given_and_an_edge_gets_an_equal_one() -> None:
    given: dict[str, Any] = {}

    def node(state: State, config: dict[str, Any]) -> dict[str, Any]:
        given["node"], given["asked"] = config, get_config()
        return {"log": ["a"]}

    def edge(state: State, config: dict[str, Any]) -> str:
        given["edge"] = config
        return END

    graph = StateGraph(State)
    graph.add_node("a", node)
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", edge, [END])

    graph.compile(checkpointer=InMemorySaver()).invoke({"log": []}, CONFIG)

    assert given["asked"] is given["node"]
    assert given["edge"] == given["node"]


def test_a_node_that_changes_its_config_changes_no_later_steps_config() -> None:
    seen: list[dict[str, Any]] = []

    def node(name: str) -> Any:
        def run(state: State, config: dict[str, Any]) -> dict[str, Any]:
            seen.append({**config["configurable"]})
            config["configurable"]["user"] = "mallory"
            config["metadata"]["ticket"] = 0
            return {"log": [name]}

        return run

    graph = StateGraph(State)
    graph.add_node("a", node("a"))
    graph.add_node("b", node("b"))
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")

    graph.compile(checkpointer=InMemorySaver()).invoke({"log": []}, CONFIG)

    assert [c["user"] for c in seen] == ["ada", "ada"]
    assert CONFIG["configurable"]["user"] == "ada" and CONFIG["metadata"] == {"ticket": 7}


def test_tasks_of_one_step_each_get_a_config_of_their_own() -> None:
    configs: list[dict[str, Any]] = []

    def work(arg: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        configs.append(config)
        return {"log": [arg["k"]]}

    graph = StateGraph(State)
    graph.add_node("work", work)
    graph.add_conditional_edges(START, lambda state: [Send("work", {"k": k}) for k in range(3)], ["work"])

    graph.compile(checkpointer=InMemorySaver()).invoke({"log": []}, CONFIG)

    assert len(configs) == 3 and len({id(c) for c in configs}) == 3
    assert configs[0] == configs[1] == configs[2]


def test_get_config_outside_a_node_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="inside a graph node"):
        get_config()
