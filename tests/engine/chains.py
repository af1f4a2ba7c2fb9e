"""Small graphs several engine test modules build: a chain of nodes that each append their name."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from typing import Annotated, Any

from typing_extensions import TypedDict

from engine import START, StateGraph


class State(TypedDict):
    log: Annotated[list[Any], operator.add]
    answer: str


def appender(name: str) -> Callable[[State], dict[str, Any]]:
    """A node that appends its own name to ``log``."""

    def node(state: State) -> dict[str, Any]:
        return {"log": [name]}

    return node


def chain(*names: str, node: Callable[[str], Callable[[State], dict[str, Any]]] = appender) -> StateGraph:
    """START -> names[0] -> names[1] -> ..., each node made by ``node(name)`` (an ``appender``)."""
    graph = StateGraph(State)
    for name in names:
        graph.add_node(name, node(name))
    graph.add_edge(START, names[0])
    for source, target in itertools.pairwise(names):
        graph.add_edge(source, target)
    return graph
