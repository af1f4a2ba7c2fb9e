"""The graph behind ``fixtures/version1.db``: a log written before ``TaskCompleted`` version 2.

Version 1 of ``TaskCompleted`` stored each finished task's id, with its writes
as ``{"key": ..., "value": ...}`` objects (``StateUpdated`` too). The fixture was
written by the engine of commit 94c4ef2, the last to write version 1, with this
module's ``write_log``::

    git worktree add /tmp/v1 94c4ef2
    PYTHONPATH=/tmp/v1 python tests/engine/version1_log.py tests/engine/fixtures/version1.db

It holds three threads: ``done`` (a fan-out, an interrupt answered, and an
``update_state`` on the finished thread), ``waiting`` (stopped at the
interrupt) and ``failing`` (a task failed beside a sibling that finished).
"""

from __future__ import annotations

import operator
import sys
from pathlib import Path
from typing import Annotated, Any

from typing_extensions import TypedDict

from engine import END, START, Command, Send, SqliteSaver, StateGraph, interrupt

FIXTURE = Path(__file__).parent / "fixtures" / "version1.db"
FLAKY_IS_DOWN = {"now": False}
"""While true, the ``flaky`` node raises."""


class Review(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    verdict: str


def plan(state: Review) -> dict[str, Any]:
    return {"log": ["plan"]}


def fan_out(state: Review) -> list[Send]:
    return [Send("work", {"log": [f"job{k}"]}) for k in range(3)]


def work(state: Review) -> dict[str, Any]:
    return {"log": [f"did {state['log'][-1]}"]}


def review(state: Review) -> dict[str, Any]:
    return {"verdict": interrupt({"question": "approve?", "entries": len(state["log"])})}


def flaky(state: Review) -> dict[str, Any]:
    if FLAKY_IS_DOWN["now"]:
        raise RuntimeError("flaky is down")
    return {"log": ["flaky"]}


def build(saver: Any) -> Any:
    """plan and flaky run from START; plan sends three jobs to work; review asks a human."""
    builder = StateGraph(Review)
    for node in (plan, work, review, flaky):
        builder.add_node(node.__name__, node)
    builder.add_edge(START, "plan")
    builder.add_edge(START, "flaky")
    builder.add_conditional_edges("plan", fan_out, ["work"])
    builder.add_edge("work", "review")
    builder.add_edge("review", END)
    builder.add_edge("flaky", END)
    return builder.compile(checkpointer=saver)


def config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def run_done(graph: Any, thread_id: str) -> None:
    """The ``done`` thread's calls: to the interrupt, the answer, then an edit of the finished state."""
    graph.invoke({"log": []}, config(thread_id))
    graph.invoke(Command(resume="approved"), config(thread_id))
    graph.update_state(config(thread_id), {"verdict": "revised"}, as_node="review")


def write_log(path: Path) -> None:
    with SqliteSaver(path) as saver:
        graph = build(saver)
        run_done(graph, "done")
        graph.invoke({"log": []}, config("waiting"))
        FLAKY_IS_DOWN["now"] = True
        try:
            graph.invoke({"log": []}, config("failing"))
        except RuntimeError:
            pass
        finally:
            FLAKY_IS_DOWN["now"] = False


if __name__ == "__main__":
    target = Path(sys.argv[1])
    if target.exists():
        raise SystemExit(f"{target} exists: not overwriting a fixture")
    write_log(target)
