"""Continuing a thread in the same process starts from the head the last run left, not from the log.

A run leaves its thread's head (checkpoint, frame and pending results) in the
saver's cache; the next run on that thread uses it only while the thread's
last event is still the one it was left at, so another writer's append is
always seen.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine import Command, SqliteSaver
from engine.checkpointer import FrameCache
from engine.compiled import DURABILITY, CompiledStateGraph
from tests.engine import chains
from tests.strategies import GraphSpec, build_engine_graph, engine_answer, engine_inputs, graph_specs

CONFIG = {"configurable": {"thread_id": "t"}}


def _assert_live_head_is_the_logged_head(graph: CompiledStateGraph, saver: SqliteSaver) -> None:
    live = saver.frames(graph).live_head("t", saver.store.head("t"))
    assert live is not None, "a run that returned left no head"
    logged = graph.replayer.load(saver.store, "t", cache=FrameCache())
    assert live.checkpoint is not None and logged.checkpoint is not None
    assert (live.last_seq, live.checkpoint.seq, live.checkpoint.id) == (
        logged.last_seq,
        logged.checkpoint.seq,
        logged.checkpoint.id,
    )
    assert live.checkpoint.event == logged.checkpoint.event
    assert live.frame == logged.frame
    assert live.pending == logged.pending


@given(
    spec=graph_specs(asking=True),
    calls=st.lists(st.one_of(engine_inputs, st.integers(-5, 5)), min_size=1, max_size=4),
    durability=st.sampled_from(DURABILITY),
)
def test_the_head_a_run_leaves_is_the_head_the_log_gives(spec: GraphSpec, calls: list[Any], durability: str) -> None:
    """Inputs, resumes (one interrupt at a time or all at once) and edits, in any order."""
    with tempfile.TemporaryDirectory() as directory, SqliteSaver(Path(directory) / "t.db") as saver:
        graph = build_engine_graph(spec).compile(checkpointer=saver)
        for call in calls:
            if isinstance(call, int):  # an edit between runs: the next run must not start from the old head
                if graph.get_state(CONFIG).values:
                    graph.update_state(CONFIG, {"total": call}, as_node=spec.nodes[0].name)
                continue
            graph.invoke(call, CONFIG, durability=durability)
            _assert_live_head_is_the_logged_head(graph, saver)
            while pending := graph.get_state(CONFIG).interrupts:
                first = pending[0]
                answer = {first.id: engine_answer(first.value)} if len(pending) > 1 else engine_answer(first.value)
                graph.invoke(Command(resume=answer), CONFIG, durability=durability)
                _assert_live_head_is_the_logged_head(graph, saver)


def test_a_run_after_another_writers_append_starts_from_the_new_head(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with SqliteSaver(path) as mine, SqliteSaver(path) as theirs:
        here = chains.chain("a", "b").compile(checkpointer=mine)
        there = chains.chain("a", "b").compile(checkpointer=theirs)
        here.invoke({"log": ["mine"]}, CONFIG)
        there.invoke({"log": ["theirs"]}, CONFIG)
        out = here.invoke({"log": ["mine again"]}, CONFIG)
        assert out["log"] == ["mine", "a", "b", "theirs", "a", "b", "mine again", "a", "b"]
        assert there.get_state(CONFIG).values == out


def test_continuing_a_thread_in_the_same_process_reads_no_events(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None, check_same_thread=False)
    statements: list[str] = []
    with SqliteSaver(conn) as saver:
        graph = chains.chain("a", "b").compile(checkpointer=saver)
        graph.invoke({"log": ["first"]}, CONFIG)
        conn.set_trace_callback(statements.append)
        out = graph.invoke({"log": ["second"]}, CONFIG)
        conn.set_trace_callback(None)
    assert out["log"] == ["first", "a", "b", "second", "a", "b"]
    reads = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT") and "FROM events" in sql]
    assert reads and all("max(seq)" in sql for sql in reads), reads  # only the check that nobody else appended
