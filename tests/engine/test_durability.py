"""``durability``: when a run's steps reach the log, and that it never changes what the log says.

``"sync"`` (our default) stores each step before the next one runs; ``"async"``
stores it on the saver's writer thread while the next step runs; ``"exit"``
stores the whole run in one transaction when it ends. Whichever is chosen, the
call returns only once everything is stored, and the log holds every step
(LangGraph's ``"exit"`` keeps only the last checkpoint; ours keeps them all).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import END, START, Command, CompiledStateGraph, InvalidUpdateError, SqliteSaver, StateGraph, interrupt
from engine.compiled import DURABILITY
from eventstore import ConcurrencyError, NewEvent, SqliteEventStore, faults
from tests.engine import chains
from tests.engine.chains import State
from tests.engine.test_persistence import Transactions, event_types, traced
from tests.strategies import GraphSpec, build_engine_graph, engine_answer, engine_inputs, graph_specs

CONFIG = {"configurable": {"thread_id": "t"}}


def chain(*names: str, ran: list[str] | None = None, fail: str | None = None) -> StateGraph:
    """``START -> names...``; each node appends its name to ``log`` (and to ``ran``, when given)."""

    def node(name: str) -> Callable[[State], dict[str, Any]]:
        def run(state: State) -> dict[str, Any]:
            if ran is not None:
                ran.append(name)
            if name == fail:
                raise RuntimeError(f"{name} failed")
            return {"log": [name]}

        return run

    return chains.chain(*names, node=node)


def comparable(graph: CompiledStateGraph) -> list[tuple[Any, ...]]:
    """A thread's history without what differs between two runs of it (ids and times)."""
    return [
        (
            s.values,
            s.next,
            (s.metadata or {}).get("source"),
            (s.metadata or {}).get("step"),
            [(t.name, t.path, t.result, [i.value for i in t.interrupts], t.error) for t in s.tasks],
            s.parent_config is None,
        )
        for s in graph.get_state_history(CONFIG)
    ]


def run_answering(graph: CompiledStateGraph, start: Any, durability: str) -> None:
    graph.invoke(start, CONFIG, durability=durability)
    while pending := graph.get_state(CONFIG).interrupts:
        graph.invoke(Command(resume={i.id: engine_answer(i.value) for i in pending}), CONFIG, durability=durability)


@given(spec=graph_specs(asking=True), inputs=st.lists(engine_inputs, min_size=1, max_size=2))
def test_every_durability_stores_the_same_history_and_snapshots(spec: GraphSpec, inputs: list[dict[str, Any]]) -> None:
    histories = {}
    with tempfile.TemporaryDirectory() as directory:
        for durability in DURABILITY:
            with SqliteSaver(Path(directory) / f"{durability}.db") as saver:
                graph = build_engine_graph(spec).compile(checkpointer=saver)
                for start in inputs:
                    run_answering(graph, start, durability)
                histories[durability] = (comparable(graph), saver.store.snapshot_seqs("t"))
                assert saver.store.verify("t").ok
            with SqliteSaver(Path(directory) / f"{durability}.db") as reopened:
                reread = build_engine_graph(spec).compile(checkpointer=reopened)
                assert comparable(reread) == histories[durability][0]
    assert histories["async"] == histories["sync"]
    assert histories["exit"] == histories["sync"]


@pytest.mark.parametrize("durability", ["async", "exit"])
def test_a_call_returns_only_once_its_steps_are_stored(tmp_path: Path, durability: str) -> None:
    with SqliteSaver(tmp_path / "d.db") as saver:
        graph = chain("a", "b", "c").compile(checkpointer=saver)
        out = graph.invoke({"log": []}, CONFIG, durability=durability)
        with SqliteSaver(tmp_path / "d.db") as other:
            seen = chain("a", "b", "c").compile(checkpointer=other).get_state(CONFIG)
    assert out == seen.values == {"log": ["a", "b", "c"]}
    assert seen.next == ()


@pytest.mark.parametrize("durability", ["async", "exit"])
def test_an_interrupt_is_stored_when_the_call_returns(tmp_path: Path, durability: str) -> None:
    def ask(state: State) -> dict[str, Any]:
        return {"log": [interrupt("ok?")]}

    builder = StateGraph(State)
    builder.add_node("first", lambda state: {"log": ["first"]})
    builder.add_node("ask", ask)
    builder.add_edge(START, "first")
    builder.add_edge("first", "ask")
    builder.add_edge("ask", END)
    with SqliteSaver(tmp_path / "i.db") as saver:
        builder.compile(checkpointer=saver).invoke({"log": []}, CONFIG, durability=durability)
        with SqliteSaver(tmp_path / "i.db") as other:
            graph = builder.compile(checkpointer=other)
            assert [i.value for i in graph.get_state(CONFIG).interrupts] == ["ok?"]
            assert graph.invoke(Command(resume="yes"), CONFIG, durability=durability) == {"log": ["first", "yes"]}


@pytest.mark.parametrize("durability", DURABILITY)
@pytest.mark.parametrize("breakpoint", ["interrupt_before", "interrupt_after"])
def test_a_run_that_stops_at_a_breakpoint_is_stored_when_the_call_returns(
    tmp_path: Path, durability: str, breakpoint: str
) -> None:
    with SqliteSaver(tmp_path / "b.db") as saver:
        graph = chain("a", "b", "c").compile(checkpointer=saver, **{breakpoint: ["b"]})
        out = graph.invoke({"log": []}, CONFIG, durability=durability)
        with SqliteSaver(tmp_path / "b.db") as other:
            seen = chain("a", "b", "c").compile(checkpointer=other).get_state(CONFIG)
        assert out == seen.values
        assert seen.next == (("b",) if breakpoint == "interrupt_before" else ("c",))
        assert graph.invoke(None, CONFIG, durability=durability) == {"log": ["a", "b", "c"]}


def test_with_exit_durability_a_run_is_appended_in_one_transaction_and_keeps_every_checkpoint(
    tmp_path: Path,
) -> None:
    tracer = Transactions()
    saver = traced(tmp_path / "x.db", tracer)
    graph = chain("a", "b", "c").compile(checkpointer=saver)
    tracer.clear()

    graph.invoke({"log": []}, CONFIG, durability="exit")

    appends = [event_types(g, tmp_path / "x.db") for g in tracer.appends()]
    assert appends == [["Checkpoint", "TaskCompleted", "Checkpoint", *["TaskCompleted", "Checkpoint"] * 3]]
    assert [(s.metadata or {})["step"] for s in graph.get_state_history(CONFIG)] == [3, 2, 1, 0, -1]
    assert saver.store.latest_snapshot("t") is not None  # the run's last checkpoint, for the next read
    saver.close()


def test_with_exit_durability_a_failing_node_ends_the_run_with_the_steps_before_it_stored(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "f.db") as saver:
        graph = chain("a", "b", "c", fail="b").compile(checkpointer=saver)
        with pytest.raises(RuntimeError, match="b failed"):
            graph.invoke({"log": []}, CONFIG, durability="exit")
        state = graph.get_state(CONFIG)
    assert state.values == {"log": ["a"]}
    assert state.next == ("b",)
    assert next(t.error for t in state.tasks if t.name == "b") is not None


@pytest.mark.parametrize("durability", DURABILITY)
def test_a_rejected_step_leaves_the_steps_before_it_stored_in_every_durability(tmp_path: Path, durability: str) -> None:
    def node(name: str) -> Callable[[State], dict[str, Any]]:
        return lambda state: {"no_such_key": 1} if name == "b" else {"log": [name]}

    with SqliteSaver(tmp_path / "r.db") as saver:
        graph = chains.chain("a", "b", "c", node=node).compile(checkpointer=saver)
        with pytest.raises(InvalidUpdateError, match="no_such_key"):
            graph.invoke({"log": []}, CONFIG, durability=durability)
        state = graph.get_state(CONFIG)
    assert state.values == {"log": ["a"]}
    assert state.next == ("b",)


def test_with_exit_durability_a_stream_closed_early_stores_the_steps_it_yielded(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "s.db") as saver:
        graph = chain("a", "b", "c").compile(checkpointer=saver)
        stream = graph.stream({"log": []}, CONFIG, durability="exit")
        assert next(stream) == {"a": {"log": ["a"]}}
        stream.close()
        state = graph.get_state(CONFIG)
        assert state.values == {"log": ["a"]}
        assert state.next == ("b",)
        assert graph.invoke(None, CONFIG) == {"log": ["a", "b", "c"]}


def test_with_async_durability_a_lost_race_surfaces_and_nothing_after_it_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    ran: list[str] = []
    other = SqliteEventStore(path)
    appends = 0

    def another_writer_goes_first() -> None:
        nonlocal appends
        appends += 1
        if appends == 2:  # our second append: another writer takes its place in the thread first
            other.append(
                "t", [NewEvent(type="Marker", payload=b'{"note": "another writer"}')], expected_seq=other.head("t")
            )

    with SqliteSaver(path) as saver:
        graph = chain("a", "b", "c", "d", ran=ran).compile(checkpointer=saver)
        with faults.armed("engine.before_append", another_writer_goes_first), pytest.raises(ConcurrencyError):
            graph.invoke({"log": []}, CONFIG, durability="async")
        stored = [record.type for record in saver.store.read("t")]
    other.close()
    # Later steps may have run while the failed append was in flight (as in LangGraph), but none is stored:
    # the log is whole steps of ours (input, then a checkpoint closing each), then the other writer's event.
    ours = ["Checkpoint", "TaskCompleted", "Checkpoint", *["TaskCompleted", "Checkpoint"] * 4]
    assert stored[-1] == "Marker"
    assert stored[:-1] == ours[: len(stored) - 1] and stored[-2] == "Checkpoint"
    assert ran == ["a", "b", "c", "d"][: len(ran)]


class StepAHeld:
    """A chain ``a -> b -> c`` whose first append is held until node ``until`` has run.

    Arm ``hold`` at ``engine.before_append``. A synchronous run makes its first
    append (the input) before any node runs, so it times out; an asynchronous one
    hands its first steps (the input and ``a``) to the writer and runs on, so only
    a run that stores steps beside the next ones finishes. ``appends`` counts the
    appends made.
    """

    def __init__(self, until: str) -> None:
        self.until = until
        self.ran = threading.Event()
        self.appends = 0

    def hold(self) -> None:
        self.appends += 1
        if self.appends == 1:
            assert self.ran.wait(timeout=10), f"node {self.until} did not run while step a was being stored"

    def graph(self) -> StateGraph:
        def node(name: str) -> Callable[[State], dict[str, Any]]:
            def run(state: State) -> dict[str, Any]:
                if name == self.until:
                    self.ran.set()
                return {"log": [name]}

            return run

        return chains.chain("a", "b", "c", node=node)


def test_with_async_durability_the_next_step_runs_while_the_last_one_is_being_stored(tmp_path: Path) -> None:
    held = StepAHeld(until="b")
    with SqliteSaver(tmp_path / "o.db") as saver:
        graph = held.graph().compile(checkpointer=saver)
        with faults.armed("engine.before_append", held.hold):
            out = graph.invoke({"log": []}, CONFIG, durability="async")
        assert out == graph.get_state(CONFIG).values == {"log": ["a", "b", "c"]}


def test_with_async_durability_steps_grouped_into_one_append_keep_every_snapshot(tmp_path: Path) -> None:
    held = StepAHeld(until="c")
    with SqliteSaver(tmp_path / "sync.db", snapshot_every=1) as saver:
        held.graph().compile(checkpointer=saver).invoke({"log": []}, CONFIG)
        expected = saver.store.snapshot_seqs("t")
    with SqliteSaver(tmp_path / "async.db", snapshot_every=1) as saver:
        graph = held.graph().compile(checkpointer=saver)
        with faults.armed("engine.before_append", held.hold):
            graph.invoke({"log": []}, CONFIG, durability="async")
        grouped = saver.store.snapshot_seqs("t")
    assert held.appends < 4  # steps b and c went in one append
    assert grouped == expected and len(expected) >= 3


def test_an_unknown_durability_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "u.db") as saver:
        graph = chain("a").compile(checkpointer=saver)
        with pytest.raises(ValueError, match=r"durability must be one of \('sync', 'async', 'exit'\), not 'later'"):
            graph.invoke({"log": []}, CONFIG, durability="later")
        assert saver.store.head("t") == 0
