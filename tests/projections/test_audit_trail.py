"""``audit_trail``: one row per state change, resume and manual edit: when, who, which keys, which answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import Command
from projections import Ledger, queries
from tests.projections.workflow import config, open_graph


@pytest.fixture
def setup(tmp_path: Path):
    path = tmp_path / "log.db"
    saver, graph = open_graph(path)

    def trail(thread_id: str | None = None) -> list[dict[str, Any]]:
        with Ledger(path) as ledger:
            return queries.audit_trail(ledger, thread_id)

    yield graph, trail
    saver.close()


def checkpoint_of(graph, thread_id: str, wanted_next: tuple[str, ...]) -> str:
    snapshot = next(s for s in graph.get_state_history(config(thread_id)) if s.next == wanted_next)
    return str(snapshot.config["configurable"]["checkpoint_id"])


def test_every_state_change_has_a_row_with_its_node_keys_and_checkpoints(setup) -> None:
    graph, trail = setup
    graph.invoke({"amount": 10}, config("t", "ann"))
    rows = trail()
    assert [(r["kind"], r["node"], r["keys"]) for r in rows] == [
        ("input", "__start__", ["amount"]),
        ("node", "intake", ["log"]),
        ("node", "lookup", ["notes"]),
        ("node", "score", ["log"]),
        ("node", "decide", ["decision", "log"]),
        ("node", "archive", ["log"]),
    ]
    decide = rows[4]
    assert decide["checkpoint_id"] == checkpoint_of(graph, "t", ("decide",))
    assert decide["applied_in"] == checkpoint_of(graph, "t", ("archive",))
    assert all(r["user"] == "ann" and r["actor"] == {"user": "ann"} for r in rows)
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)


def test_a_resume_row_says_who_answered_which_interrupt_the_question_and_the_answer(setup) -> None:
    graph, trail = setup
    graph.invoke({"amount": 500}, config("t", "ann"))
    (pending,) = graph.get_state(config("t")).interrupts
    graph.invoke(Command(resume="yes"), config("t", "bo"))
    resume, decided = [r for r in trail() if r["node"] == "decide"]
    assert resume["kind"] == "resume"
    assert (resume["user"], resume["actor"]) == ("bo", {"user": "bo"})
    assert resume["interrupt_id"] == pending.id
    assert resume["question"] == {"question": "approve?", "amount": 500}
    assert resume["answer"] == "yes"
    assert resume["checkpoint_id"] == checkpoint_of(graph, "t", ("decide",))
    assert (decided["kind"], decided["keys"], decided["user"]) == ("node", ["decision", "log"], "bo")


def test_a_manual_edit_records_its_actor_and_the_node_it_was_made_as(setup) -> None:
    graph, trail = setup
    graph.invoke({"amount": 10}, config("t", "ann"))
    edited = graph.update_state(config("t", "auditor"), {"notes": ["checked"]}, as_node="archive")
    (row,) = [r for r in trail() if r["kind"] == "update_state"]
    assert (row["node"], row["keys"], row["user"]) == ("archive", ["notes"], "auditor")
    assert row["applied_in"] == edited["configurable"]["checkpoint_id"]


def test_a_command_update_is_recorded_as_a_command(setup) -> None:
    graph, trail = setup
    graph.invoke({"amount": 500}, config("t", "ann"))
    graph.invoke(Command(update={"notes": ["escalated"]}, resume="no"), config("t", "bo"))
    kinds = [(r["kind"], r["user"]) for r in trail() if r["kind"] in ("command", "resume")]
    assert kinds == [("command", "bo"), ("resume", "bo")]
    (command,) = [r for r in trail() if r["kind"] == "command"]
    assert command["keys"] == ["notes"]


def test_the_trail_of_a_fork_is_its_parents_up_to_the_fork_point_then_its_own(setup) -> None:
    graph, trail = setup
    graph.invoke({"amount": 500}, config("t", "ann"))
    graph.fork(config("t"), "appeal")
    graph.invoke(Command(resume="yes"), config("appeal", "grace"))
    graph.invoke(Command(resume="no"), config("t", "dana"))
    rows = trail("appeal")
    assert [(r["thread_id"], r["kind"], r["user"]) for r in rows] == [
        ("t", "input", "ann"),
        ("t", "node", "ann"),
        ("t", "node", "ann"),
        ("t", "node", "ann"),
        ("appeal", "resume", "grace"),
        ("appeal", "node", "grace"),
        ("appeal", "node", "grace"),
    ]
    assert [r["answer"] for r in trail("t") if r["kind"] == "resume"] == ["no"]
    assert json.dumps(rows)  # rows are plain JSON data
