"""Several processes on one database file: a thread has one writer at a time; threads never block each other.

Two processes driving the same thread at once: one proceeds, the other gets a
``ConcurrencyError`` that names the thread, and the log never mixes their
events. Eight processes on eight threads of one file all finish, with no
"database is locked" reaching the caller. Throughput is printed (run with ``-s``).
"""

from __future__ import annotations

import multiprocessing
import operator
import random
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

import engine.events
from engine import END, START, CompiledStateGraph, SqliteSaver, StateGraph
from eventstore import ConcurrencyError, SqliteEventStore, decode_event
from tests.processes import drain

SpawnContext = Any  # multiprocessing.context.SpawnContext, which typeshed does not name publicly
STEPS = 4
"""Nodes in the chain each run executes."""


class ChainState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]
    last: str


def build_chain(saver: SqliteSaver, *, barrier: Any = None, jitter: float = 0.0) -> CompiledStateGraph:
    """``step0 -> ... -> step3``; each writes ``writer:stepN`` (the writer comes from the run's metadata).

    With ``barrier``, ``step0`` waits there, so two processes are sure to have read
    the same head before either appends.
    """

    def make(i: int) -> Any:
        def node(state: ChainState, config: dict[str, Any]) -> ChainState:
            if i == 0 and barrier is not None:
                barrier.wait(timeout=30)
            if jitter:
                time.sleep(random.random() * jitter)
            writer = config["metadata"]["writer"]
            return {"log": [f"{writer}:step{i}"], "total": i, "last": writer}

        return node

    graph = StateGraph(ChainState)
    for i in range(STEPS):
        graph.add_node(f"step{i}", make(i))
    graph.add_edge(START, "step0")
    for i in range(1, STEPS):
        graph.add_edge(f"step{i - 1}", f"step{i}")
    graph.add_edge(f"step{STEPS - 1}", END)
    return graph.compile(checkpointer=saver)


def config(thread_id: str, writer: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}, "metadata": {"writer": writer}}


# -- child processes --------------------------------------------------------------------------


def race_once(path: str, thread_id: str, writer: str, barrier: Any, results: Any) -> None:
    """Continue a paused thread; report whether this process's run landed or conflicted."""
    try:
        with SqliteSaver(path) as saver:
            graph = build_chain(saver, barrier=barrier)
            try:
                graph.invoke(None, config(thread_id, writer))
                results.put((writer, "ok", ""))
            except ConcurrencyError as exc:
                results.put((writer, "conflict", str(exc)))
    except BaseException as exc:
        results.put((writer, "error", f"{type(exc).__qualname__}: {exc}"))


def run_many(path: str, thread_id: str, writer: str, runs: int, jitter: float, start: Any, results: Any) -> None:
    """Start ``runs`` runs on one thread; count runs that finished, that conflicted, and anything else."""
    done = conflicts = steps = 0
    errors: list[str] = []
    try:
        with SqliteSaver(path) as saver:
            graph = build_chain(saver, jitter=jitter)
            start.wait(timeout=60)
            began = time.perf_counter()
            for i in range(runs):
                try:
                    graph.invoke({"log": [f"{writer}:input{i}"]}, config(thread_id, writer))
                    done += 1
                    steps += STEPS + 1
                except ConcurrencyError:
                    conflicts += 1
                except Exception as exc:
                    errors.append(f"{type(exc).__qualname__}: {exc}")
            seconds = time.perf_counter() - began
    except BaseException as exc:
        errors.append(f"{type(exc).__qualname__}: {exc}")
        seconds = 0.0
    results.put((writer, done, conflicts, errors, steps, seconds))


def collect(processes: list[Any], results: Any, timeout: float = 120) -> list[Any]:
    """Start the processes and gather one report from each."""
    for p in processes:
        p.start()
    return drain(processes, results, timeout)


@pytest.fixture
def spawn() -> SpawnContext:
    return multiprocessing.get_context("spawn")


# -- reading the log ----------------------------------------------------------------------------


def events_of(path: Path, thread_id: str) -> list[tuple[int, Any]]:
    with SqliteEventStore(path) as store:
        return [(r.seq, decode_event(r)) for r in store.read(thread_id)]


def writer_of_checkpoints(events: list[tuple[int, Any]]) -> dict[int, str]:
    return {
        seq: event.metadata.get("writer")
        for seq, event in events
        if isinstance(event, engine.events.CheckpointCommitted)
    }


def interleaved(events: list[tuple[int, Any]]) -> list[str]:
    """Task results recorded against a checkpoint another process's run wrote (runs here never continue others')."""
    owners = writer_of_checkpoints(events)
    found = []
    for seq, event in events:
        if isinstance(event, engine.events.TaskCompleted) and event.node != "__start__":
            (entry,) = next(w.value for w in event.writes if w.key == "log")
            if entry.split(":")[0] != owners[event.checkpoint_seq]:
                found.append(f"event {seq}: {entry} on a checkpoint of {owners[event.checkpoint_seq]}")
    return found


# -- tests --------------------------------------------------------------------------------------


def test_two_processes_continuing_one_thread_at_once_one_proceeds_and_the_other_gets_a_concurrency_error(
    spawn: SpawnContext, tmp_path: Path
) -> None:
    path = tmp_path / "race.db"
    with SqliteSaver(path) as saver:
        build_chain(saver).invoke({"log": ["input"]}, config("shared", "setup"), interrupt_before=["step0"])
    with SqliteEventStore(path) as store:
        paused_at = store.head("shared")
        before = [(r.seq, r.hash) for r in store.read("shared")]

    barrier = spawn.Barrier(2)
    results = spawn.Queue()
    processes = [spawn.Process(target=race_once, args=(str(path), "shared", w, barrier, results)) for w in "AB"]
    reports = {writer: (outcome, message) for writer, outcome, message in collect(processes, results)}

    outcomes = sorted(outcome for outcome, _ in reports.values())
    assert outcomes == ["conflict", "ok"], reports
    (winner,) = [w for w, (outcome, _) in reports.items() if outcome == "ok"]
    (message,) = [m for outcome, m in reports.values() if outcome == "conflict"]
    assert "'shared'" in message and f"not {paused_at}" in message, message
    events = events_of(path, "shared")
    with SqliteEventStore(path) as store:
        assert [(r.seq, r.hash) for r in store.read("shared")][: len(before)] == before
        assert store.verify("shared").ok
    entries = [
        entry
        for seq, event in events
        if seq > paused_at and isinstance(event, engine.events.TaskCompleted)
        for w in event.writes
        if w.key == "log"
        for entry in w.value
    ]
    assert entries == [f"{winner}:step{i}" for i in range(STEPS)], "the loser's results reached the log"
    with SqliteSaver(path) as saver:
        state = build_chain(saver).get_state(config("shared", "reader"))
    assert state.next == ()
    assert state.values["log"] == ["input", *entries]


def test_two_processes_starting_runs_on_one_thread_land_whole_steps_or_conflict_and_never_interleave(
    spawn: SpawnContext, tmp_path: Path
) -> None:
    path = tmp_path / "shared.db"
    SqliteEventStore(path).close()
    start = spawn.Barrier(2)
    results = spawn.Queue()
    runs = 12
    processes = [
        spawn.Process(target=run_many, args=(str(path), "shared", w, runs, 0.004, start, results)) for w in "AB"
    ]
    reports = collect(processes, results)

    for writer, done, conflicts, errors, _, _ in reports:
        assert errors == [], f"{writer} saw errors other than ConcurrencyError: {errors}"
        assert done + conflicts == runs
    assert sum(done for _, done, *_ in reports) >= 1
    with SqliteEventStore(path) as store:
        report = store.verify("shared")
        assert report.ok, report.broken
    events = events_of(path, "shared")
    assert interleaved(events) == []
    print(f"\ntwo writers on one thread: {[(w, d, c) for w, d, c, *_ in reports]} (writer, runs landed, conflicts)")


def test_eight_processes_on_eight_threads_of_one_file_all_finish(spawn: SpawnContext, tmp_path: Path) -> None:
    path = tmp_path / "eight.db"
    SqliteEventStore(path).close()
    writers = [f"w{i}" for i in range(8)]
    runs = 10
    start = spawn.Barrier(len(writers) + 1)
    results = spawn.Queue()
    processes = [
        spawn.Process(target=run_many, args=(str(path), f"thread-{w}", w, runs, 0.0, start, results)) for w in writers
    ]
    for p in processes:
        p.start()
    start.wait(timeout=60)
    began = time.perf_counter()
    reports = drain(processes, results)
    wall = time.perf_counter() - began

    for writer, done, conflicts, errors, _, _ in reports:
        assert errors == [], f"{writer}: {errors}"
        assert (done, conflicts) == (runs, 0)
    steps = 0
    with SqliteEventStore(path) as store:
        for w in writers:
            assert store.verify(f"thread-{w}").ok
            steps += sum(1 for r in store.read(f"thread-{w}", types=["Checkpoint"]))
    with SqliteSaver(path) as saver:
        graph = build_chain(saver)
        for w in writers:
            log = graph.get_state(config(f"thread-{w}", "reader")).values["log"]
            assert log == [e for i in range(runs) for e in (f"{w}:input{i}", *(f"{w}:step{s}" for s in range(STEPS)))]
    print(
        f"\neight processes x {runs} runs: {steps} checkpoints in {wall:.2f} s = {steps / wall:.0f} steps/s "
        f"across the file ({steps / wall / len(writers):.0f} per process)"
    )
