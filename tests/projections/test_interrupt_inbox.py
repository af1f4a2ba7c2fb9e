"""``interrupt_inbox``: every pending ``interrupt()`` across threads, gone once answered or abandoned."""

from __future__ import annotations

import json
import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
import sqlite_utils

import engine.events as ev
from engine import END, START, Command, SqliteSaver, StateGraph, interrupt
from projections import ProjectionRunner
from projections.facts import LoggedEvent
from projections.inbox import InterruptInboxProjection
from tests.projections.workflow import compiled, config


@pytest.fixture
def saver(tmp_path: Path):
    saver = SqliteSaver(tmp_path / "log.db")
    yield saver
    saver.close()


@pytest.fixture
def inbox(saver: SqliteSaver):
    runner = ProjectionRunner(saver.store)

    def read() -> list[dict[str, Any]]:
        runner.catch_up()
        rows = runner.db.query("SELECT * FROM interrupt_inbox ORDER BY thread_id, node, interrupt_index")
        return [dict(row, value=json.loads(row["value"])) for row in rows]

    yield read
    runner.close()


@pytest.fixture
def graph(saver: SqliteSaver):
    return compiled(saver)


def ids(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(row["thread_id"], row["interrupt_id"]) for row in rows]


def test_an_interrupt_is_listed_with_its_thread_node_id_question_and_since(graph, inbox) -> None:
    graph.invoke({"amount": 500}, config("t"))
    (row,) = inbox()
    (pending,) = graph.get_state(config("t")).interrupts
    assert (row["thread_id"], row["node"], row["interrupt_id"]) == ("t", "decide", pending.id)
    assert row["value"] == {"question": "approve?", "amount": 500}
    assert row["since"].startswith("20")


def test_answering_an_interrupt_removes_it_and_leaves_the_others(graph, inbox) -> None:
    graph.invoke({"amount": 500}, config("a"))
    graph.invoke({"amount": 600}, config("b"))
    assert [row["thread_id"] for row in inbox()] == ["a", "b"]
    graph.invoke(Command(resume="yes"), config("a"))
    assert [row["thread_id"] for row in inbox()] == ["b"]


def test_abandoning_a_waiting_run_with_update_state_removes_its_interrupt(graph, inbox) -> None:
    graph.invoke({"amount": 500}, config("t"))
    graph.update_state(config("t"), None, as_node=END)
    assert inbox() == []


def test_replaying_from_an_earlier_checkpoint_supersedes_the_waiting_step(graph, inbox) -> None:
    graph.invoke({"amount": 500}, config("t"))
    old = ids(inbox())
    past = next(s for s in graph.get_state_history(config("t")) if s.next == ("intake",))
    graph.invoke(None, past.config)
    new = ids(inbox())
    assert len(new) == 1 and new != old
    assert new == [("t", i.id) for i in graph.get_state(config("t")).interrupts]


def test_a_fork_from_the_head_inherits_what_was_waiting_and_an_earlier_fork_does_not(graph, inbox) -> None:
    graph.invoke({"amount": 500}, config("t"))
    graph.fork(config("t"), "copy")
    past = next(s for s in graph.get_state_history(config("t")) if s.next == ("decide",))
    graph.fork(past.config, "before-asking")
    assert [row["thread_id"] for row in inbox()] == ["copy", "t"]
    graph.invoke(Command(resume="no"), config("copy"))
    assert [row["thread_id"] for row in inbox()] == ["t"]


class Two(TypedDict, total=False):
    answers: Annotated[list[str], operator.add]


def test_parallel_interrupts_are_listed_separately_and_answered_one_by_one(saver, inbox) -> None:
    def legal(state: Two) -> Two:
        return {"answers": [f"legal: {interrupt('legal ok?')}"]}

    def finance(state: Two) -> Two:
        first = interrupt("finance ok?")
        second = interrupt(f"really {first}?")
        return {"answers": [f"finance: {first}/{second}"]}

    builder = StateGraph(Two)
    builder.add_node("legal", legal)
    builder.add_node("finance", finance)
    builder.add_edge(START, "legal")
    builder.add_edge(START, "finance")
    builder.add_edge("legal", END)
    builder.add_edge("finance", END)
    graph = builder.compile(checkpointer=saver)
    graph.invoke({}, config("t"))
    rows = inbox()
    assert [(row["node"], row["value"]) for row in rows] == [("finance", "finance ok?"), ("legal", "legal ok?")]
    finance_id = rows[0]["interrupt_id"]
    graph.invoke(Command(resume={finance_id: "yes"}), config("t"))
    rows = inbox()
    assert [(row["node"], row["interrupt_index"], row["value"]) for row in rows] == [
        ("finance", 1, "really yes?"),
        ("legal", 0, "legal ok?"),
    ]
    graph.invoke(Command(resume={r["interrupt_id"]: "fine" for r in rows}), config("t"))
    assert inbox() == []


def test_a_completion_removes_the_interrupts_of_its_own_task_only_among_sends_to_one_node() -> None:
    """A completion names its task by path (it stores no id): the rows of the thread's step are matched by path."""

    def fact(seq: int, event: Any, thread_id: str = "t") -> LoggedEvent:
        return LoggedEvent(thread_id=thread_id, seq=seq, position=seq, type="", recorded_at="now", event=event)

    def asked(seq: int, index: int, thread_id: str = "t") -> LoggedEvent:
        ref = ev.TaskRef(id=f"task-{index}", name="work", path=("__pregel_push", index))
        raised = ev.InterruptRaised(
            checkpoint_seq=1, task=ref, interrupt_id=f"i{index}", index=0, value="ok?", value_hash="h", duration_ms=0
        )
        return fact(seq, raised, thread_id)

    projection, db = InterruptInboxProjection(), sqlite_utils.Database(memory=True)
    projection.create(db)
    for f in (asked(2, 0), asked(3, 1), asked(4, 2), asked(2, 1, thread_id="other")):
        projection.apply(db, f)
    done = ev.TaskCompleted(
        checkpoint_seq=1, node="work", path=("__pregel_push", 1), writes=(), routing=ev.Routing(), duration_ms=0
    )
    projection.apply(db, fact(5, done))
    left = db.execute("SELECT thread_id, interrupt_id FROM interrupt_inbox ORDER BY 1, 2").fetchall()
    assert left == [("other", "i1"), ("t", "i0"), ("t", "i2")]
