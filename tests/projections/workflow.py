"""A small approval workflow for the projections' tests, and an interpreter of random user actions.

``intake`` fans out to ``score`` and ``lookup`` (joined at ``decide``); ``lookup``
fails while the run's ``configurable.outage`` is set; ``decide`` asks a human
with ``interrupt()`` above ``LIMIT``; ``archive`` ends the run. ``perform``
applies one ``RunOp`` (tests/strategies.py) the way a user of the graph would.
"""

from __future__ import annotations

import contextlib
import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import sqlite_utils

from engine import END, START, Command, CompiledStateGraph, InvalidUpdateError, ResumeError, SqliteSaver, StateGraph
from engine import interrupt as ask
from projections import ProjectionRunner
from tests.strategies import RunOp

LIMIT = 100


class Request(TypedDict, total=False):
    amount: int
    decision: str
    log: Annotated[list[str], operator.add]
    notes: Annotated[list[str], operator.add]


class Outage(RuntimeError):
    """The lookup service is down for this run."""


def intake(state: Request) -> Request:
    return {"log": [f"intake {state['amount']}"]}


def score(state: Request) -> Request:
    return {"log": [f"score {state['amount'] % 10}"]}


def lookup(state: Request, config: dict[str, Any]) -> Request:
    if (config.get("configurable") or {}).get("outage"):
        raise Outage("lookup service unavailable")
    return {"notes": ["looked up"]}


def decide(state: Request) -> Request:
    if state["amount"] > LIMIT:
        answer = ask({"question": "approve?", "amount": state["amount"]})
        return {"decision": "approved" if answer == "yes" else "rejected", "log": [f"human said {answer}"]}
    return {"decision": "approved", "log": ["auto"]}


def archive(state: Request) -> Request:
    return {"log": ["archived"]}


def build() -> StateGraph:
    graph = StateGraph(Request)
    for name, fn in (("intake", intake), ("score", score), ("lookup", lookup), ("decide", decide)):
        graph.add_node(name, fn)
    graph.add_node("archive", archive)
    graph.add_edge(START, "intake")
    graph.add_edge("intake", "score")
    graph.add_edge("intake", "lookup")
    graph.add_edge(["score", "lookup"], "decide")
    graph.add_edge("decide", "archive")
    graph.add_edge("archive", END)
    return graph


graph = build()
"""The workflow's builder, for ``--graph tests.projections.workflow:graph`` (it does not fit the demo's log)."""


def compiled(saver: SqliteSaver) -> CompiledStateGraph:
    return build().compile(checkpointer=saver)


def config(thread_id: str, user: str | None = None, **configurable: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"configurable": {"thread_id": thread_id, **configurable}}
    if user is not None:
        cfg["metadata"] = {"user": user}
    return cfg


class Session:
    """The threads a sequence of ``RunOp``s has created, and the graph they run on."""

    def __init__(self, graph: CompiledStateGraph) -> None:
        self.graph = graph
        self.threads: list[str] = []

    def perform(self, op: RunOp) -> None:
        """Apply one action; actions that make no sense in the thread's state are refused by the engine."""
        if op.kind == "start" or not self.threads:
            thread_id = f"t{len(self.threads)}"
            self.threads.append(thread_id)
            cfg = config(thread_id, op.user, outage=op.amount % 5 == 3)
            before = ["archive"] if op.amount % 2 == 1 else None
            self._run({"amount": op.amount}, cfg, interrupt_before=before)
            return
        candidates = self.threads
        if op.kind == "resume":  # answer a thread that waits, when there is one
            candidates = [t for t in self.threads if self.graph.get_state(config(t)).interrupts] or self.threads
        thread_id = candidates[op.thread % len(candidates)]
        cfg = config(thread_id, op.user)
        if op.kind == "resume":
            self._run(Command(resume="yes" if op.amount % 2 == 0 else "no"), cfg)
        elif op.kind == "continue":
            self._run(None, cfg)
        elif op.kind == "update":
            self._edit(cfg, {"notes": [f"edit {op.amount}"]}, "score" if op.amount % 2 else "decide")
        elif op.kind == "abandon":
            self._edit(cfg, None, END)
        elif op.kind == "replay":
            self._run(None, self._past(cfg, op.amount))
        elif op.kind == "fork":
            new_id = f"t{len(self.threads)}"
            self.graph.fork(self._past(cfg, op.amount), new_id)
            self.threads.append(new_id)

    def _past(self, cfg: dict[str, Any], pick: int) -> dict[str, Any]:
        history = list(self.graph.get_state_history(cfg))
        chosen = history[pick % len(history)].config
        return {**cfg, "configurable": {**cfg["configurable"], **chosen["configurable"]}}

    def _run(self, value: Any, cfg: dict[str, Any], **kwargs: Any) -> None:
        with contextlib.suppress(Outage, ResumeError):
            self.graph.invoke(value, cfg, **kwargs)

    def _edit(self, cfg: dict[str, Any], values: Any, as_node: str) -> None:
        with contextlib.suppress(InvalidUpdateError):
            self.graph.update_state(cfg, values, as_node=as_node)


def all_tables(runner: ProjectionRunner) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the runner's projections own, in primary-key order."""
    return {table: rows(runner.db, table) for p in runner.projections.values() for table in p.tables}


def rows(db: sqlite_utils.Database, table: str) -> list[dict[str, Any]]:
    order = ", ".join(f"[{column}]" for column in db[table].pks)
    return [dict(row) for row in db.query(f"SELECT * FROM [{table}] ORDER BY {order}")]


def open_graph(path: Path) -> tuple[SqliteSaver, CompiledStateGraph]:
    saver = SqliteSaver(path)
    return saver, compiled(saver)
