"""``threads``: one row per thread with its status, head checkpoint, steps, times and lineage."""

from __future__ import annotations

import json
import operator
from pathlib import Path
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from engine import END, START, Command, SqliteSaver, StateGraph
from projections import ProjectionRunner
from tests.projections.workflow import Outage, config, open_graph


class Parts(TypedDict):
    parts: Annotated[list[str], operator.add]


@pytest.fixture
def workflow(tmp_path: Path):
    saver, graph = open_graph(tmp_path / "log.db")
    runner = ProjectionRunner(saver.store)

    def thread(thread_id: str) -> dict[str, Any]:
        runner.catch_up()
        (row,) = runner.db.query("SELECT * FROM threads WHERE thread_id = ?", [thread_id])
        return dict(row)

    yield graph, thread
    runner.close()
    saver.close()


def test_a_finished_run_is_done_at_its_last_checkpoint_with_its_steps(workflow) -> None:
    graph, thread = workflow
    graph.invoke({"amount": 10}, config("t"))
    row = thread("t")
    snapshot = graph.get_state(config("t"))
    assert row["status"] == "done"
    assert row["head_checkpoint"] == snapshot.config["configurable"]["checkpoint_id"]
    assert row["step"] == snapshot.metadata["step"]
    assert row["steps"] == 5  # __start__, intake, score+lookup, decide, archive
    assert json.loads(row["next"]) == []
    assert row["parent_thread_id"] is None


def test_a_run_waiting_in_interrupt_is_interrupted_until_it_is_answered(workflow) -> None:
    graph, thread = workflow
    graph.invoke({"amount": 500}, config("t"))
    row = thread("t")
    assert row["status"] == "interrupted"
    assert json.loads(row["next"]) == ["decide"]
    assert json.loads(row["pending_interrupts"]) == [i.id for i in graph.get_state(config("t")).interrupts]
    graph.invoke(Command(resume="yes"), config("t"))
    assert thread("t")["status"] == "done"


def test_a_failed_task_makes_the_thread_failed_until_a_retry_completes_it(workflow) -> None:
    graph, thread = workflow
    with pytest.raises(Outage):
        graph.invoke({"amount": 10}, config("t", outage=True))
    row = thread("t")
    assert row["status"] == "failed"
    assert row["error"] == "lookup: Outage: lookup service unavailable"
    graph.invoke(None, config("t"))
    row = thread("t")
    assert (row["status"], row["error"], json.loads(row["failed_tasks"])) == ("done", None, [])


def test_a_static_breakpoint_makes_the_thread_interrupted(workflow) -> None:
    graph, thread = workflow
    graph.invoke({"amount": 10}, config("t"), interrupt_before=["archive"])
    row = thread("t")
    assert (row["status"], row["paused"], json.loads(row["next"])) == ("interrupted", 1, ["archive"])
    graph.invoke(None, config("t"))
    assert thread("t")["status"] == "done"


def test_abandoning_a_waiting_run_with_update_state_to_end_makes_it_done(workflow) -> None:
    graph, thread = workflow
    graph.invoke({"amount": 500}, config("t"))
    graph.update_state(config("t"), None, as_node=END)
    row = thread("t")
    assert (row["status"], json.loads(row["pending_interrupts"])) == ("done", [])


def test_a_thread_stopped_between_steps_is_running(workflow) -> None:
    graph, thread = workflow
    graph.invoke({"amount": 10}, config("t"))
    past = next(s for s in graph.get_state_history(config("t")) if s.next == ("decide",))
    graph.update_state(past.config, {"notes": ["edited"]}, as_node="intake")
    row = thread("t")
    assert (row["status"], json.loads(row["next"])) == ("running", ["lookup", "score"])


def test_a_fork_records_its_parent_and_fork_point_and_starts_from_the_parents_state(workflow) -> None:
    graph, thread = workflow
    graph.invoke({"amount": 500}, config("t"))
    graph.fork(config("t"), "whole")
    past = next(s for s in graph.get_state_history(config("t")) if s.next == ("intake",))
    graph.fork(past.config, "early")
    parent = thread("t")
    whole, early = thread("whole"), thread("early")
    assert (whole["parent_thread_id"], whole["fork_seq"]) == ("t", parent["last_seq"])
    assert whole["fork_checkpoint"] == parent["head_checkpoint"]
    assert (whole["status"], whole["steps"]) == ("interrupted", parent["steps"])
    assert early["fork_checkpoint"] == past.config["configurable"]["checkpoint_id"]
    assert (early["status"], json.loads(early["next"])) == ("running", ["intake"])
    graph.invoke(Command(resume="no"), config("whole"))
    assert (thread("whole")["status"], thread("t")["status"]) == ("done", "interrupted")


def test_created_and_updated_times_come_from_the_log(workflow) -> None:
    graph, thread = workflow
    graph.invoke({"amount": 500}, config("t"))
    first = thread("t")
    graph.invoke(Command(resume="yes"), config("t"))
    later = thread("t")
    assert later["created_at"] == first["created_at"] < later["updated_at"]


def test_a_retry_that_completes_one_failed_task_of_two_leaves_only_the_other_failed(tmp_path: Path) -> None:
    """The completion names its task by path; the row's failed tasks are ids, derived from the head and path."""
    down = {"a", "b"}

    def node(name: str) -> Any:
        def run(state: Parts) -> Parts:
            if name in down:
                raise RuntimeError(f"{name} is down")
            return {"parts": [name]}

        return run

    builder = StateGraph(Parts)
    for name in ("a", "b"):
        builder.add_node(name, node(name))
        builder.add_edge(START, name)
        builder.add_edge(name, END)
    with SqliteSaver(tmp_path / "log.db") as saver:
        graph = builder.compile(checkpointer=saver)
        runner = ProjectionRunner(saver.store)

        def failed_tasks() -> tuple[list[str], list[str]]:
            runner.catch_up()
            (row,) = runner.db.query("SELECT failed_tasks FROM threads WHERE thread_id = 't'")
            shown = [task.id for task in graph.get_state(config("t")).tasks if task.error is not None]
            return json.loads(row["failed_tasks"]), shown

        with pytest.raises(RuntimeError):
            graph.invoke({"parts": []}, config("t"))
        stored, shown = failed_tasks()
        assert len(stored) == 2 and sorted(stored) == sorted(shown)
        down.discard("a")
        with pytest.raises(RuntimeError, match="b is down"):
            graph.invoke(None, config("t"))
        stored, shown = failed_tasks()
        assert len(stored) == 1 and stored == shown
        down.clear()
        graph.invoke(None, config("t"))
        assert failed_tasks() == ([], [])
        runner.close()
