"""Forking a thread: a new thread that starts from a checkpoint of another, copying no events.

A fork records its parent (thread, event) and reads the parent's prefix; it is an
ordinary thread in every API, and nothing done on it touches its parent. Raw rows
of the ``events`` table are read through a separate connection, so "copies
nothing" and "unaffected" are checked past our own store code.
"""

from __future__ import annotations

import itertools
import operator
import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from engine import (
    END,
    START,
    CheckpointNotFound,
    Command,
    CompiledStateGraph,
    ForkPoint,
    SqliteSaver,
    StateGraph,
    StateSnapshot,
    interrupt,
)
from engine.events import CHECKPOINT
from eventstore import ConcurrencyError, SqliteEventStore, ThreadNotFound
from tests.engine.history_helpers import checkpoint_id, event_rows, history

# ---------------------------------------------------------------------------------------------
# graphs and helpers
# ---------------------------------------------------------------------------------------------


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


class Counter(TypedDict):
    n: int


def chain(
    saver: SqliteSaver, names: str = "abc", *, ask: str = "b", calls: list[str] | None = None
) -> CompiledStateGraph:
    """START -> a -> b -> c -> END; nodes named in ``ask`` interrupt once and log the answer."""
    ran = calls if calls is not None else []

    def node(name: str) -> Callable[[Log], dict[str, Any]]:
        def run(state: Log) -> dict[str, Any]:
            ran.append(name)
            if name in ask:
                return {"log": [f"{name}:{interrupt(f'{name}?')}"]}
            return {"log": [name]}

        return run

    builder = StateGraph(Log)
    for name in names:
        builder.add_node(name, node(name))
    builder.add_edge(START, names[0])
    for first, second in itertools.pairwise(names):
        builder.add_edge(first, second)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=saver)


def loop_graph(saver: SqliteSaver, rounds: int) -> CompiledStateGraph:
    """Two nodes in a loop for ``rounds`` rounds: about 4 events per round (2 steps of 2 events)."""
    builder = StateGraph(Counter)
    builder.add_node("a", lambda state: {"n": state["n"] + 1})
    builder.add_node("b", lambda state: {})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda state: "a" if state["n"] < rounds else END)
    return builder.compile(checkpointer=saver)


def thread(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def thread_of(config: dict[str, Any]) -> str:
    return str(config["configurable"]["thread_id"])


def rows_per_thread(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        return dict(conn.execute("SELECT thread_id, count(*) FROM event_log GROUP BY thread_id").fetchall())


def same_checkpoints(fork: list[StateSnapshot], parent: list[StateSnapshot]) -> bool:
    """Two histories list the same checkpoints with the same contents (their configs name different threads)."""

    def key(s: StateSnapshot) -> tuple[Any, ...]:
        parent_id = checkpoint_id(s.parent_config) if s.parent_config else None
        return (checkpoint_id(s), parent_id, s.values, s.next, s.metadata, s.tasks, s.interrupts, s.created_at)

    return [key(s) for s in fork] == [key(s) for s in parent]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "log.sqlite"


@pytest.fixture
def saver(db: Path) -> SqliteSaver:
    return SqliteSaver(db)


@pytest.fixture
def finished(saver: SqliteSaver) -> CompiledStateGraph:
    """Thread "p": a -> b (asks, answered "yes") -> c, run to the end."""
    graph = chain(saver)
    graph.invoke({"log": []}, thread("p"))
    graph.invoke(Command(resume="yes"), thread("p"))
    return graph


# ---------------------------------------------------------------------------------------------
# forking
# ---------------------------------------------------------------------------------------------


def test_a_fork_of_the_head_starts_a_thread_with_the_parents_state(finished: CompiledStateGraph) -> None:
    parent = finished.get_state(thread("p"))

    config = finished.fork(thread("p"), new_thread_id="f")

    assert config == {"configurable": {"thread_id": "f", "checkpoint_ns": "", "checkpoint_id": checkpoint_id(parent)}}
    fork = finished.get_state(thread("f"))
    assert fork.values == parent.values == {"log": ["a", "b:yes", "c"]}
    assert fork.next == ()
    assert fork.config == config
    assert finished.get_state(config) == fork


def test_a_fork_without_a_thread_id_gets_a_new_one(finished: CompiledStateGraph) -> None:
    first = finished.fork(thread("p"))
    second = finished.fork(thread("p"))

    assert thread_of(first) not in ("p", thread_of(second))
    assert finished.get_state(thread(thread_of(first))).values == finished.get_state(thread("p")).values


def test_a_fork_at_a_past_checkpoint_starts_from_that_checkpoint(finished: CompiledStateGraph) -> None:
    parent = history(finished, thread("p"))
    before_b = next(s for s in parent if s.next == ("b",))

    config = finished.fork(before_b.config, new_thread_id="f")

    assert checkpoint_id(config) == checkpoint_id(before_b)
    fork = finished.get_state(thread("f"))
    assert fork.values == before_b.values == {"log": ["a"]}
    assert fork.next == ("b",)
    assert fork.interrupts == ()  # the parent's later question and answer are not part of the fork
    fork_history = history(finished, thread("f"))
    assert checkpoint_id(fork_history[0]) == checkpoint_id(before_b)
    assert [t.result for t in fork_history[0].tasks] == [None]  # b has not run on the fork
    assert same_checkpoints(fork_history[1:], parent[parent.index(before_b) + 1 :])


def test_a_fork_copies_no_events(db: Path, finished: CompiledStateGraph) -> None:
    before = rows_per_thread(db)
    parent_rows = before["p"]

    finished.fork(thread("p"), new_thread_id="at-head")
    finished.fork(history(finished, thread("p"))[-1].config, new_thread_id="at-start")
    finished.fork(thread("at-head"), new_thread_id="fork-of-fork")

    assert rows_per_thread(db) == {"p": parent_rows}
    finished.invoke({"log": ["more"]}, thread("at-start"))
    counts = rows_per_thread(db)
    assert counts["p"] == parent_rows
    assert 0 < counts["at-start"] < parent_rows  # only what ran on the fork


def test_forks_of_forks_read_their_whole_ancestry(db: Path, finished: CompiledStateGraph) -> None:
    before_b = next(s for s in history(finished, thread("p")) if s.next == ("b",))
    finished.fork(before_b.config, new_thread_id="child")
    finished.invoke(None, thread("child"))
    finished.invoke(Command(resume="child says no"), thread("child"))
    child_history = history(finished, thread("child"))
    inherited = next(s for s in child_history if s.next == ("a",))  # from the grandparent's prefix
    own = next(s for s in child_history if s.next == ("c",))  # written by the child

    finished.fork(own.config, new_thread_id="grandchild-own")
    finished.fork(inherited.config, new_thread_id="grandchild-inherited")
    finished.fork(thread("child"), new_thread_id="grandchild-head")

    assert finished.get_state(thread("grandchild-own")).values == {"log": ["a", "b:child says no"]}
    assert finished.get_state(thread("grandchild-inherited")).values == {"log": []}
    assert finished.get_state(thread("grandchild-head")).values == {"log": ["a", "b:child says no", "c"]}
    assert same_checkpoints(history(finished, thread("grandchild-head")), child_history)
    assert finished.invoke(None, thread("grandchild-own")) == {"log": ["a", "b:child says no", "c"]}
    assert set(rows_per_thread(db)) == {"p", "child", "grandchild-own"}


def test_the_history_of_a_fork_shows_the_checkpoints_it_inherited(finished: CompiledStateGraph) -> None:
    parent = history(finished, thread("p"))
    finished.fork(thread("p"), new_thread_id="f")
    assert same_checkpoints(history(finished, thread("f")), parent)
    assert all(thread_of(s.config) == "f" for s in history(finished, thread("f")))

    finished.invoke({"log": ["more"]}, thread("f"))

    fork = history(finished, thread("f"))
    assert same_checkpoints(fork[-len(parent) :], parent)
    assert len(fork) > len(parent)
    assert [checkpoint_id(s) for s in fork] == sorted((checkpoint_id(s) for s in fork), reverse=True)
    first_own = fork[-len(parent) - 1]
    assert first_own.parent_config == {
        **parent[0].config,
        "configurable": {**parent[0].config["configurable"], "thread_id": "f"},
    }
    assert finished.get_state(fork[-1].config).values == parent[-1].values  # inherited ids read on the fork
    assert history(finished, thread("f"), filter={"source": "input"}, limit=1)[0].values == {"log": ["a", "b:yes", "c"]}


def test_a_fork_of_a_thread_waiting_for_an_answer_can_be_resumed(db: Path, saver: SqliteSaver) -> None:
    graph = chain(saver)
    question = graph.invoke({"log": []}, thread("p"))["__interrupt__"]
    parent_rows = event_rows(db, "p")

    graph.fork(thread("p"), new_thread_id="f")
    assert graph.get_state(thread("f")).interrupts == question

    assert graph.invoke(Command(resume={question[0].id: "on the fork"}), thread("f")) == {
        "log": ["a", "b:on the fork", "c"]
    }
    assert graph.invoke("on the parent", thread("p")) == {"log": ["a", "b:on the parent", "c"]}
    assert event_rows(db, "p")[: len(parent_rows)] == parent_rows


def test_update_state_replay_and_further_forks_work_on_a_fork(finished: CompiledStateGraph) -> None:
    finished.fork(thread("p"), new_thread_id="f")
    before_c = next(s for s in history(finished, thread("f")) if s.next == ("c",))  # inherited checkpoint

    finished.update_state(before_c.config, {"log": ["edited"]}, as_node="b")
    assert finished.invoke(None, thread("f")) == {"log": ["a", "b:yes", "edited", "c"]}

    before_b = next(s for s in history(finished, thread("f")) if s.next == ("b",))
    replayed = finished.invoke(None, before_b.config)
    assert [i.value for i in replayed["__interrupt__"]] == ["b?"]
    assert finished.invoke(Command(resume="again"), thread("f")) == {"log": ["a", "b:again", "c"]}

    finished.fork(thread("f"), new_thread_id="ff")
    assert finished.get_state(thread("ff")).values == {"log": ["a", "b:again", "c"]}
    assert same_checkpoints(history(finished, thread("ff")), history(finished, thread("f")))


def test_nothing_done_on_a_fork_changes_the_parent(db: Path, finished: CompiledStateGraph, saver: SqliteSaver) -> None:
    parent_rows = event_rows(db, "p")
    parent_history = history(finished, thread("p"))
    before_b = next(s for s in parent_history if s.next == ("b",))

    finished.fork(before_b.config, new_thread_id="f")
    finished.invoke(None, thread("f"))
    finished.invoke(Command(resume="no"), thread("f"))
    finished.update_state(thread("f"), {"log": ["x"]}, as_node="c")
    finished.invoke(None, history(finished, thread("f"))[-2].config)
    finished.fork(thread("f"), new_thread_id="ff")
    finished.invoke({"log": ["more"]}, thread("ff"))

    assert event_rows(db, "p") == parent_rows
    assert history(finished, thread("p")) == parent_history
    for thread_id in ("p", "f", "ff"):
        assert saver.store.verify(thread_id).ok


def test_the_parent_continuing_does_not_change_the_fork(finished: CompiledStateGraph) -> None:
    finished.fork(thread("p"), new_thread_id="f")
    fork_history = history(finished, thread("f"))

    finished.invoke({"log": ["parent goes on"]}, thread("p"))
    before_b = next(s for s in history(finished, thread("p")) if s.next == ("b",))
    finished.update_state(before_b.config, {"log": ["parent edit"]}, as_node="b")

    assert history(finished, thread("f")) == fork_history
    assert finished.get_state(thread("f")).values == {"log": ["a", "b:yes", "c"]}


def test_two_forks_from_one_point_have_distinct_new_checkpoint_ids(finished: CompiledStateGraph) -> None:
    finished.fork(thread("p"), new_thread_id="one")
    finished.fork(thread("p"), new_thread_id="two")
    finished.invoke({"log": ["x"]}, thread("one"))
    finished.invoke({"log": ["x"]}, thread("two"))
    one = finished.get_state(thread("one"))
    two = finished.get_state(thread("two"))

    assert one.values == two.values
    assert checkpoint_id(one) != checkpoint_id(two)
    with pytest.raises(CheckpointNotFound):
        finished.get_state({"configurable": {"thread_id": "two", "checkpoint_id": checkpoint_id(one)}})


def test_forking_what_does_not_exist_is_an_error(finished: CompiledStateGraph, db: Path) -> None:
    before = rows_per_thread(db)
    with pytest.raises(ThreadNotFound):
        finished.fork(thread("nobody"))
    with pytest.raises(CheckpointNotFound):
        finished.fork({"configurable": {"thread_id": "p", "checkpoint_id": "000000000999-aaaaaaaaaaaa"}})
    finished.fork(thread("p"), new_thread_id="taken")
    with pytest.raises(ConcurrencyError):
        finished.fork(thread("p"), new_thread_id="taken")
    with pytest.raises(ConcurrencyError):
        finished.fork(thread("p"), new_thread_id="p")
    assert rows_per_thread(db) == before


# ---------------------------------------------------------------------------------------------
# lineage
# ---------------------------------------------------------------------------------------------


def test_the_lineage_of_a_thread_never_forked_is_itself(finished: CompiledStateGraph) -> None:
    assert finished.lineage(thread("p")) == [
        ForkPoint(thread_id="p", parent_thread_id=None, parent_checkpoint_id=None, parent_seq=None)
    ]


def test_the_lineage_of_a_fork_names_each_ancestor_and_the_checkpoint_it_was_forked_from(
    finished: CompiledStateGraph, saver: SqliteSaver
) -> None:
    before_b = next(s for s in history(finished, thread("p")) if s.next == ("b",))
    before_b_seq = next(
        r.seq for r in saver.store.read("p", types=[CHECKPOINT]) if checkpoint_id(before_b) in r.payload.decode()
    )
    finished.fork(before_b.config, new_thread_id="child")
    finished.invoke(None, thread("child"))
    child_head = finished.get_state(thread("child"))  # waiting in b
    finished.fork(thread("child"), new_thread_id="grandchild")

    lineage = finished.lineage(thread("grandchild"))

    assert [p.thread_id for p in lineage] == ["grandchild", "child", "p"]
    assert [p.parent_thread_id for p in lineage] == ["child", "p", None]
    assert [p.parent_checkpoint_id for p in lineage] == [checkpoint_id(child_head), checkpoint_id(before_b), None]
    # the events forked from: the checkpoint itself, or the whole head (with the question asked after it)
    assert [p.parent_seq for p in lineage] == [saver.store.head("child"), before_b_seq, None]
    assert finished.lineage(child_head.config) == lineage[1:]


def test_every_checkpoint_of_a_fork_knows_its_parent_checkpoint(finished: CompiledStateGraph) -> None:
    finished.fork(thread("p"), new_thread_id="f")
    finished.invoke({"log": ["more"]}, thread("f"))

    snapshots = history(finished, thread("f"))
    ids = {checkpoint_id(s) for s in snapshots}
    roots = [s for s in snapshots if s.parent_config is None]
    assert len(roots) == 1
    assert all(checkpoint_id(s.parent_config) in ids for s in snapshots if s.parent_config is not None)


# ---------------------------------------------------------------------------------------------
# long threads: reads that must not grow with the thread
# ---------------------------------------------------------------------------------------------

_RANGE = re.compile(r"\bseq BETWEEN (\d+) AND (\d+)\b.*\bLIMIT (\d+)\b", re.S)
_POINT = re.compile(r"\bmax\(seq\)|\bseq = \d+\b")


def rows_read_at_most(statements: list[str], whole_thread: int) -> int:
    """An upper bound on the event rows the statements can have returned (an unbounded read counts all)."""
    total = 0
    for sql in statements:
        if "FROM events" not in sql:
            continue
        bounded = _RANGE.search(sql)
        if bounded:
            low, high, limit = (int(g) for g in bounded.groups())
            total += min(limit, high - low + 1)
        elif _POINT.search(sql):
            total += 1
        else:
            total += whole_thread
    return total


def measured(path: Path, rounds: int, call: Callable[[CompiledStateGraph], object]) -> int:
    """Rows read by ``call`` on a freshly opened database (nothing cached in memory)."""
    statements: list[str] = []
    graph = loop_graph(SqliteSaver(SqliteEventStore(path, tracer=statements.append), snapshot_every=20), rounds)
    statements.clear()
    call(graph)
    return rows_read_at_most(statements, whole_thread=10**9)


@pytest.fixture(scope="module")
def long_threads(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, int]]:
    """Two loop threads on their own files, ~800 and ~8,000 events: rounds -> (path, events)."""
    made = {}
    for rounds in (200, 2000):
        path = tmp_path_factory.mktemp("long") / "log.sqlite"
        saver = SqliteSaver(path, snapshot_every=20)
        loop_graph(saver, rounds).invoke({"n": 0}, {**thread("long"), "recursion_limit": 10 * rounds})
        made[rounds] = (path, saver.store.head("long"))
        saver.close()
    return made


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda g: list(g.get_state_history(thread("long"), limit=10)), id="history-limit-10"),
        pytest.param(lambda g: g.get_state(thread("long")), id="get-state-at-head"),
        pytest.param(lambda g: g.fork(thread("long")), id="fork-at-head"),
    ],
)
def test_reads_at_the_head_of_a_long_thread_do_not_read_the_whole_thread(
    long_threads: dict[int, tuple[Path, int]], call: Callable[[CompiledStateGraph], object]
) -> None:
    (short_path, short_events), (long_path, long_events) = long_threads[200], long_threads[2000]
    assert long_events > 8000

    short = measured(short_path, 200, call)
    long = measured(long_path, 2000, call)

    assert long <= short, f"{long} rows read on a thread of {long_events} events, {short} on {short_events}"
    assert long < long_events / 20


def test_the_newest_ten_of_a_long_thread_are_its_last_ten_checkpoints(
    long_threads: dict[int, tuple[Path, int]],
) -> None:
    path, events = long_threads[2000]
    graph = loop_graph(SqliteSaver(path, snapshot_every=20), 2000)

    newest = history(graph, thread("long"), limit=10)

    steps = [(s.metadata or {})["step"] for s in newest]
    assert steps == list(range(steps[0], steps[0] - 10, -1))
    assert newest[0] == graph.get_state(thread("long"))
    assert newest[0].values == {"n": 2000}
    assert checkpoint_id(newest[0]).startswith(f"{events:012d}")
