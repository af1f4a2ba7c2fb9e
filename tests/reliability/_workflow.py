"""The deterministic workflow the crash, concurrency and tampering tests drive, and how they drive it.

``prepare`` starts a chain, fans out three ``work`` tasks with ``Send`` (two of
them ask a question at once), ``review`` asks two questions in turn, then
``tally`` and ``finish`` end it. Reducer keys (``log``, ``total``) and
last-value keys (``last``, ``verdict``) are both written. Every answer is
derived from its question, so any process can finish any thread and reach the
same state as an uninterrupted run.
"""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from engine import END, START, Command, CompiledStateGraph, Send, StateGraph, get_config, interrupt

PARTS = 3
DELAY = float(os.environ.get("LEDGERGRAPH_TEST_NODE_DELAY", "0"))
"""Seconds each node sleeps: gives the random-moment kills something to interrupt."""


class ReviewState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]
    last: str
    verdict: str


def answer(question: Any) -> str:
    """The deterministic answer to a question."""
    return f"ok[{question}]"


Completed = Callable[[str, str], None]
"""Called by a node as it returns: (checkpoint id it ran at, the log entry it writes)."""


def _ignore(checkpoint_id: str, entry: str) -> None:
    return None


def build(checkpointer: Any, on_complete: Completed = _ignore) -> CompiledStateGraph:
    """The review workflow, compiled with ``checkpointer``; ``on_complete`` sees every node that finishes."""

    def done(entry: str) -> None:
        if DELAY:
            time.sleep(DELAY)
        on_complete(str(get_config()["configurable"]["checkpoint_id"]), entry)

    def prepare(state: ReviewState) -> ReviewState:
        entry = f"prepare:{len(state.get('log', []))}"
        done(entry)
        return {"log": [entry], "total": 1, "last": "prepare"}

    def fan_out(state: ReviewState) -> list[Send]:
        return [Send("work", {"part": i, "seen": state["total"]}) for i in range(PARTS)]

    def work(packet: dict[str, int]) -> ReviewState:
        part = packet["part"]
        said = interrupt(f"check part {part} of {packet['seen']}") if part > 0 else "auto"
        entry = f"work{part}:{said}"
        done(entry)
        return {"log": [entry], "total": 10 * (part + 1)}

    def review(state: ReviewState) -> ReviewState:
        first = interrupt(f"approve total {state['total']}?")
        second = interrupt(f"sure about {first}?")
        entry = f"review:{first}/{second}"
        done(entry)
        return {"log": [entry], "verdict": second, "last": "review"}

    def tally(state: ReviewState) -> ReviewState:
        entry = f"tally:{len(state['log'])}"
        done(entry)
        return {"log": [entry], "total": 100}

    def finish(state: ReviewState) -> ReviewState:
        entry = f"finish:{state['total']}"
        done(entry)
        return {"log": [entry], "last": entry}

    graph = StateGraph(ReviewState)
    graph.add_node("prepare", prepare)
    graph.add_node("work", work)
    graph.add_node("review", review)
    graph.add_node("tally", tally)
    graph.add_node("finish", finish)
    graph.add_edge(START, "prepare")
    graph.add_conditional_edges("prepare", fan_out)
    graph.add_edge("work", "review")
    graph.add_edge("review", "tally")
    graph.add_edge("tally", "finish")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)


INPUT: ReviewState = {"log": ["input"], "total": 0}


def config_of(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def drive(graph: CompiledStateGraph, thread_id: str, input: Any = INPUT, durability: str = "sync") -> dict[str, Any]:
    """Take a thread to its end from wherever it is; running it again changes nothing.

    A thread with no checkpoint gets the input; then pending interrupts are
    answered (by id), a thread with tasks left continues, and a finished one stops.
    """
    config = config_of(thread_id)
    if graph.get_state(config).created_at is None:
        graph.invoke(input, config, durability=durability)
    while True:
        state = graph.get_state(config)
        if state.interrupts:
            answers = {i.id: answer(i.value) for i in state.interrupts}
            graph.invoke(Command(resume=answers), config, durability=durability)
        elif state.next:
            graph.invoke(None, config, durability=durability)
        else:
            return dict(state.values)
