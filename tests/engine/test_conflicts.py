"""Two writers on one thread: one proceeds, the other gets a clear conflict, or retries when asked."""

from __future__ import annotations

import operator
import threading
from pathlib import Path
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from engine import END, START, SqliteSaver, StateGraph
from engine.events import TaskCompleted
from eventstore import ConcurrencyError, decode_event


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


CONFIG = {"configurable": {"thread_id": "shared"}}


def racing_graph(path: Path, gate: threading.Barrier, on_conflict: Any) -> Any:
    """A graph paused before ``work``, whose node waits until both racers are inside it."""

    def work(state: Log) -> dict[str, Any]:
        gate.wait(timeout=10)
        return {"log": [threading.current_thread().name]}

    builder = StateGraph(Log)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    return builder.compile(checkpointer=SqliteSaver(path), interrupt_before=["work"], on_conflict=on_conflict)


def race(path: Path, on_conflict: Any) -> tuple[list[Any], list[BaseException], list[Any]]:
    """Pause a thread before ``work``, then let two graphs continue it at the same moment."""
    gate = threading.Barrier(2)
    graphs = [racing_graph(path, gate, on_conflict) for _ in range(2)]
    graphs[0].invoke({"log": ["start"]}, CONFIG)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(graph: Any) -> None:
        try:
            results.append(graph.invoke(None, CONFIG))
        except BaseException as exc:  # collected for the assertions below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(g,), name=f"racer-{i}") for i, g in enumerate(graphs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results, errors, graphs


def work_completions(path: Path) -> list[TaskCompleted]:
    store = SqliteSaver(path).store
    assert store.verify("shared").ok
    events = [decode_event(record) for record in store.read("shared")]
    return [e for e in events if isinstance(e, TaskCompleted) and e.node == "work"]


def test_a_writer_that_lost_the_race_gets_a_concurrency_error_and_nothing_of_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    results, errors, _ = race(path, "raise")

    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], ConcurrencyError)
    assert "another writer appended first" in str(errors[0])
    assert len(work_completions(path)) == 1


def test_with_on_conflict_retry_the_losing_writer_goes_on_from_the_new_head(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    results, errors, graphs = race(path, "retry")

    assert errors == []
    assert len(results) == 2
    assert len(work_completions(path)) == 1, "the loser saw the step done and did not write it again"
    final = graphs[1].get_state(CONFIG)
    assert final.next == () and len(final.values["log"]) == 2
    assert results[0] == results[1] == final.values


def test_on_conflict_must_be_raise_or_retry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="on_conflict"):
        racing_graph(tmp_path / "x.db", threading.Barrier(1), "ignore")
