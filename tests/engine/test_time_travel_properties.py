"""Properties of time travel on random small graphs that ask random questions.

(a) every checkpoint in history, read back, is the state seen live when it was made;
(b) a fork at any checkpoint, continued with the same inputs, ends where the original did;
(c) forks, updates and replays never change an event already in the log, nor the parent thread.

Nodes are deterministic and every question's answer is derived from the question,
so any run can be reproduced. Each example runs on its own SQLite file.
"""

from __future__ import annotations

import copy
import operator
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated, Any

from hypothesis import given
from hypothesis import strategies as st
from typing_extensions import TypedDict

from engine import END, START, Command, CompiledStateGraph, GraphInterrupt, SqliteSaver, StateGraph, interrupt
from tests.strategies import TravelGraphSpec, travel_graph_specs, travel_inputs, travel_ops


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


class Recorder:
    """What the nodes saw and did, keyed by the checkpoint they ran at."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, Any]] = {}
        self.results: dict[tuple[str, str], dict[str, Any]] = {}
        self.asked: dict[tuple[str, str], str] = {}

    def node(self, name: str, asks: int) -> Callable[[Log, dict[str, Any]], dict[str, Any]]:
        def run(state: Log, config: dict[str, Any]) -> dict[str, Any]:
            at = config["configurable"]["checkpoint_id"]
            self.seen.setdefault(at, copy.deepcopy(dict(state)))
            answers = []
            for index in range(asks):
                question = f"{name}#{index}"
                try:
                    answers.append(interrupt(question))
                except GraphInterrupt:
                    self.asked[(at, name)] = question
                    raise
            update = {"log": [name + "".join(f"[{a}]" for a in answers)]}
            self.results[(at, name)] = copy.deepcopy(update)
            return update

        return run


def answer(question: Any) -> str:
    return f"re:{question}"


def build(spec: TravelGraphSpec, saver: SqliteSaver, recorder: Recorder) -> CompiledStateGraph:
    builder = StateGraph(Log)
    for name, asks in zip(spec.nodes, spec.asks, strict=True):
        builder.add_node(name, recorder.node(name, asks))
    for name in spec.entry:
        builder.add_edge(START, name)
    for source, target in spec.edges:
        builder.add_edge(source, target)
    for name in spec.nodes:
        if not any(source == name for source, _ in spec.edges):
            builder.add_edge(name, END)
    return builder.compile(checkpointer=saver, interrupt_before=list(spec.interrupt_before))


def thread(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def checkpoint_id(config: dict[str, Any]) -> str:
    return str(config["configurable"]["checkpoint_id"])


def settle(graph: CompiledStateGraph, config: dict[str, Any]) -> None:
    """Answer every question and continue past every breakpoint until the thread has nothing left to run."""
    for _ in range(100):
        state = graph.get_state(config)
        if not state.next:
            return
        if state.interrupts:
            graph.invoke(Command(resume={i.id: answer(i.value) for i in state.interrupts}), config)
        else:
            graph.invoke(None, config)
    raise AssertionError(f"thread {config} did not settle")


def event_rows(path: Path, thread_id: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(
            "SELECT * FROM events WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) ORDER BY seq",
            (thread_id,),
        ).fetchall()


@contextmanager
def database() -> Iterator[tuple[Path, SqliteSaver]]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "log.sqlite"
        saver = SqliteSaver(path)
        try:
            yield path, saver
        finally:
            saver.close()


def apply_travel_op(
    graph: CompiledStateGraph,
    spec: TravelGraphSpec,
    threads: list[str],
    op: tuple[str, int, int, int],
    *,
    keep: list[str],
) -> None:
    """Do one ``travel_ops`` item to a family of threads: fork one, or edit, replay or extend one.

    Threads in ``keep`` are only ever forked from, never changed; a fork's id is added to ``threads``.
    """
    kind, which, point, node = op
    changeable = [t for t in threads if t not in keep]
    if kind == "fork" or not changeable:
        source = threads[which % len(threads)]
        history = list(graph.get_state_history(thread(source)))
        config = thread(source) if point == 0 else history[point % len(history)].config
        threads.append(graph.fork(config)["configurable"]["thread_id"])
        return
    target = changeable[which % len(changeable)]
    history = list(graph.get_state_history(thread(target)))
    past = history[point % len(history)].config
    if kind == "update":
        choices = [*spec.nodes, END]
        as_node = choices[node % len(choices)]
        graph.update_state(past, None if as_node == END else {"log": ["edit"]}, as_node=as_node)
    elif kind == "replay":
        graph.invoke(None, past)
    else:
        graph.invoke({"log": ["more"]}, thread(target))
    settle(graph, thread(target))


@given(spec=travel_graph_specs(), inputs=travel_inputs)
def test_every_checkpoint_read_back_is_the_state_seen_live_when_it_was_made(
    spec: TravelGraphSpec, inputs: list[str]
) -> None:
    recorder = Recorder()
    with database() as (_, saver):
        graph = build(spec, saver, recorder)
        settled = {}
        for value in inputs:
            graph.invoke({"log": [value]}, thread("t"))
            settle(graph, thread("t"))
            live = graph.get_state(thread("t"))
            settled[checkpoint_id(live.config)] = live

        snapshots = list(graph.get_state_history(thread("t")))
        starts = [s for s in reversed(snapshots) if s.next == ("__start__",)]
        assert [t.result for s in starts for t in s.tasks] == [{"log": [value]} for value in inputs]
        for snapshot in snapshots:
            at = checkpoint_id(snapshot.config)
            assert graph.get_state(snapshot.config) == snapshot
            if at in settled:
                assert snapshot == settled[at]
                continue
            if snapshot.next == ("__start__",):
                continue
            assert snapshot.values == recorder.seen[at]
            for task in snapshot.tasks:
                assert task.result == recorder.results.get((at, task.name))
                asked = recorder.asked.get((at, task.name))
                assert [i.value for i in task.interrupts] == ([asked] if asked else [])
        assert set(recorder.seen) <= {checkpoint_id(s.config) for s in snapshots}


@given(spec=travel_graph_specs(), inputs=travel_inputs, pick=st.integers(min_value=0), at_head=st.booleans())
def test_a_fork_continued_with_the_same_inputs_ends_where_the_original_did(
    spec: TravelGraphSpec, inputs: list[str], pick: int, at_head: bool
) -> None:
    with database() as (_, saver):
        graph = build(spec, saver, Recorder())
        last_of_run = []
        for value in inputs:
            graph.invoke({"log": [value]}, thread("original"))
            settle(graph, thread("original"))
            last_of_run.append(checkpoint_id(graph.get_state(thread("original")).config))
        final = graph.get_state(thread("original"))
        snapshots = list(graph.get_state_history(thread("original")))

        if at_head:
            fork = graph.fork(thread("original"), new_thread_id="fork")
            remaining: list[str] = []
        else:
            chosen = snapshots[pick % len(snapshots)]
            fork = graph.fork(chosen.config, new_thread_id="fork")
            run = next(i for i, last in enumerate(last_of_run) if checkpoint_id(chosen.config) <= last)
            remaining = inputs[run + 1 :]
        assert fork["configurable"]["thread_id"] == "fork"
        settle(graph, thread("fork"))
        for value in remaining:
            graph.invoke({"log": [value]}, thread("fork"))
            settle(graph, thread("fork"))

        assert graph.get_state(thread("fork")).values == final.values
        assert list(graph.get_state_history(thread("original"))) == snapshots


@given(spec=travel_graph_specs(), inputs=travel_inputs, ops=travel_ops)
def test_forks_updates_and_replays_leave_the_parent_and_every_written_event_unchanged(
    spec: TravelGraphSpec, inputs: list[str], ops: list[tuple[str, int, int, int]]
) -> None:
    with database() as (path, saver):
        graph = build(spec, saver, Recorder())
        for value in inputs:
            graph.invoke({"log": [value]}, thread("root"))
            settle(graph, thread("root"))
        root_rows = event_rows(path, "root")
        root_history = list(graph.get_state_history(thread("root")))
        threads = ["root"]
        written = {"root": root_rows}

        for op in ops:
            apply_travel_op(graph, spec, threads, op, keep=threads[:1])
            for thread_id, rows in written.items():
                now = event_rows(path, thread_id)
                assert now[: len(rows)] == rows, f"events of {thread_id!r} changed"
            written = {thread_id: event_rows(path, thread_id) for thread_id in threads}

        assert event_rows(path, "root") == root_rows
        assert list(graph.get_state_history(thread("root"))) == root_history
        for thread_id in threads:
            assert saver.store.verify(thread_id).ok
