"""Engine behaviour the projections' tests and the demo rely on, stated where it was found wanting.

Each test is checked against LangGraph 1.2.22's observable behaviour.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from engine import END, START, InMemorySaver, StateGraph


class Votes(TypedDict, total=False):
    votes: Annotated[list[str], operator.add]


def test_a_join_edge_may_end_the_graph() -> None:
    """LangGraph accepts ``add_edge(["a", "b"], END)``: the run ends once both have finished."""
    builder = StateGraph(Votes)
    builder.add_node("a", lambda state: {"votes": ["a"]})
    builder.add_node("b", lambda state: {"votes": ["b"]})
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    builder.add_edge(["a", "b"], END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    assert graph.invoke({}, config) == {"votes": ["a", "b"]}
    assert graph.get_state(config).next == ()
