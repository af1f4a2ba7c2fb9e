"""Reading a long thread whose snapshots were deleted: memory stays flat and work grows linearly.

Without snapshots every read folds from the thread's first event, the worst case
for a read. The fold goes a window of checkpoints at a time and history a chunk
at a time, so the Python memory a read needs at its peak does not grow with the
thread (measured with ``tracemalloc``; SQLite's own page cache is not Python
memory). History keeps a few folded frames as waypoints, so each chunk's fold
starts nearby rather than from the first event: the rows it reads grow with the
thread, not with its square.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import TypedDict

from engine import END, START, CompiledStateGraph, SqliteSaver, StateGraph
from eventstore import SqliteEventStore
from tests.engine.test_forks import rows_read_at_most

NOTE = "n" * 200
"""Each step writes this much, so a read that kept every event would show it in its peak."""


class Notes(TypedDict):
    n: int
    note: str


def note_loop(saver: SqliteSaver, rounds: int) -> CompiledStateGraph:
    """``a`` counts and ``b`` writes a 200-byte note, in a loop of ``rounds`` rounds (2 steps a round)."""
    builder = StateGraph(Notes)
    builder.add_node("a", lambda state: {"n": state["n"] + 1})
    builder.add_node("b", lambda state: {"note": f"{state['n']:06d}{NOTE}"})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda state: "a" if state["n"] < rounds else END)
    return builder.compile(checkpointer=saver)


CONFIG = {"configurable": {"thread_id": "long"}}
SHORT, LONG = 750, 3000


@pytest.fixture(scope="module")
def threads(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Threads of 1,500 and 6,000 steps on their own files, with every snapshot deleted."""
    made = {}
    for rounds in (SHORT, LONG):
        path = tmp_path_factory.mktemp("memory") / "log.sqlite"
        saver = SqliteSaver(path)
        note_loop(saver, rounds).invoke({"n": 0, "note": ""}, {**CONFIG, "recursion_limit": 4 * rounds + 10})
        saver.store.delete_snapshots()
        saver.close()
        made[rounds] = path
    return made


def peak_bytes(path: Path, rounds: int, read: Callable[[CompiledStateGraph], object]) -> int:
    """The most Python memory ``read`` held at once, on a freshly opened database."""
    saver = SqliteSaver(path)
    graph = note_loop(saver, rounds)
    tracemalloc.start()
    try:
        read(graph)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        saver.close()


def walk_history(graph: CompiledStateGraph) -> int:
    """Every checkpoint, newest first, each dropped before the next (as a caller streaming them would)."""
    return sum(1 for _ in graph.get_state_history(CONFIG))


def middle(graph: CompiledStateGraph) -> Any:
    """``get_state`` at the checkpoint halfway through the thread."""
    steps = next(iter(graph.get_state_history(CONFIG, limit=1))).metadata["step"]
    target = next(s for s in graph.get_state_history(CONFIG) if s.metadata["step"] == steps // 2)
    tracemalloc.reset_peak()  # finding it is not the read being measured
    return graph.get_state(target.config)


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda g: g.get_state(CONFIG), id="get-state-at-head"),
        pytest.param(middle, id="get-state-in-the-middle"),
        pytest.param(walk_history, id="full-history-streamed"),
    ],
)
def test_a_read_of_a_thread_four_times_longer_needs_no_more_memory_at_its_peak(
    threads: dict[int, Path], read: Callable[[CompiledStateGraph], object]
) -> None:
    short = peak_bytes(threads[SHORT], SHORT, read)
    long = peak_bytes(threads[LONG], LONG, read)

    # Holding every event would take about four times the shorter thread's peak.
    assert long < 1.5 * short, f"peak {long:,} B on 6,000 steps against {short:,} B on 1,500"


def rows_read(path: Path, rounds: int, read: Callable[[CompiledStateGraph], object]) -> int:
    """How many event rows ``read`` fetched, on a freshly opened database."""
    statements: list[str] = []
    graph = note_loop(SqliteSaver(SqliteEventStore(path, tracer=statements.append)), rounds)
    statements.clear()
    read(graph)
    return rows_read_at_most(statements, whole_thread=10**9)


def test_streaming_the_history_of_a_thread_four_times_longer_reads_about_four_times_the_rows(
    threads: dict[int, Path],
) -> None:
    short = rows_read(threads[SHORT], SHORT, walk_history)
    long = rows_read(threads[LONG], LONG, walk_history)

    # Folding each chunk from the first event read about sixteen times the rows.
    assert long < 5 * short, f"{long:,} rows read on 6,000 steps against {short:,} on 1,500"


def test_the_long_thread_is_read_whole_and_right(threads: dict[int, Path]) -> None:
    saver = SqliteSaver(threads[LONG])
    graph = note_loop(saver, LONG)

    assert graph.get_state(CONFIG).values == {"n": LONG, "note": f"{LONG:06d}{NOTE}"}
    assert walk_history(graph) == 2 * LONG + 2  # the input, the start, then one checkpoint a step
