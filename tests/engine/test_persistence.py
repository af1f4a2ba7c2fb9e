"""Persistence: a thread lives in its SQLite log, and any process can pick it up from there.

COMPAT.md 6.9 (a new connection and a newly compiled graph resume exactly where
the old one stopped, with the same interrupt ids), 6.8 (``SqliteSaver`` takes a
path, a connection or ``from_conn_string``), and DESIGN.md: one superstep is
one transaction, and state is never stored as the source of truth.
"""

from __future__ import annotations

import importlib.util
import json
import operator
import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, TypedDict

import pytest

from engine import Command, InMemorySaver, ResumeError, SqliteSaver, StateGraph, interrupt
from eventstore import ConcurrencyError, SqliteEventStore, faults

FLOW = textwrap.dedent(
    '''
    """A document review: three parts reviewed in parallel (Send), an audit beside them, then a sign-off."""

    from __future__ import annotations

    import json
    import operator
    import sys
    from typing import Annotated, Any, TypedDict

    from engine import START, Command, Send, SqliteSaver, StateGraph, interrupt

    PARTS = ("intro", "body", "end")


    class State(TypedDict, total=False):
        log: Annotated[list[str], operator.add]
        answers: Annotated[list[Any], operator.add]
        verdict: str


    def prepare(state: State) -> State:
        return {"log": ["prepare"]}


    def review(packet: dict[str, str]) -> State:
        answer = interrupt(f"review {packet['part']}")
        return {"log": [f"review {packet['part']}"], "answers": [[packet["part"], answer]]}


    def audit(state: State) -> State:
        return {"log": [f"audit of {len(state['log'])} entries"]}


    def decide(state: State) -> State:
        first = interrupt({"question": "sign off?", "answers": state["answers"]})
        second = interrupt("really?")
        return {"log": ["decide"], "verdict": f"{first} / {second}"}


    def build(saver: Any) -> Any:
        graph = StateGraph(State)
        graph.add_node("prepare", prepare)
        graph.add_node("review", review)
        graph.add_node("audit", audit)
        graph.add_node("decide", decide)
        graph.add_edge(START, "prepare")
        graph.add_conditional_edges("prepare", lambda s: [*(Send("review", {"part": p}) for p in PARTS), "audit"])
        graph.add_edge(["review", "audit"], "decide")
        return graph.compile(checkpointer=saver)


    def key(question: Any) -> str:
        return json.dumps(question, sort_keys=True)


    def answer(question: Any) -> str:
        return "yes to " + key(question)


    def pending(app: Any, config: dict[str, Any]) -> dict[str, str]:
        return {key(i.value): i.id for i in app.get_state(config).interrupts}


    def report(result: dict[str, Any]) -> dict[str, Any]:
        values = {k: v for k, v in result.items() if k != "__interrupt__"}
        return {"values": values, "interrupts": {key(i.value): i.id for i in result.get("__interrupt__", ())}}


    def start(app: Any, config: dict[str, Any]) -> dict[str, Any]:
        return report(app.invoke({"log": ["in"]}, config))


    def resume(app: Any, config: dict[str, Any], which: list[str] | None) -> dict[str, Any]:
        """Answer the pending interrupts whose question keys are in ``which`` (all if None)."""
        waiting = app.get_state(config).interrupts
        chosen = {i.id: answer(i.value) for i in waiting if which is None or key(i.value) in which}
        return {"pending": pending(app, config), **report(app.invoke(Command(resume=chosen), config))}


    def history(app: Any, config: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "config": s.config,
                "parent_config": s.parent_config,
                "values": s.values,
                "next": list(s.next),
                "metadata": s.metadata,
                "tasks": [[t.id, t.name, [[x.value, x.id] for x in t.interrupts], t.result] for t in s.tasks],
            }
            for s in app.get_state_history(config)
        ]


    def main() -> None:
        command, path, thread = sys.argv[1:4]
        config = {"configurable": {"thread_id": thread}}
        with SqliteSaver.from_conn_string(path) as saver:
            app = build(saver)
            if command == "start":
                out: Any = start(app, config)
            elif command == "resume":
                out = resume(app, config, json.loads(sys.argv[4]))
            elif command == "state":
                state = app.get_state(config)
                out = {"values": state.values, "next": list(state.next), "interrupts": pending(app, config)}
            elif command == "history":
                if sys.argv[4:] == ["--drop-snapshots"]:
                    saver.store.delete_snapshots()
                out = {"history": history(app, config), "head": app.get_state(config).values}
            else:
                raise SystemExit(f"unknown command {command!r}")
        print(json.dumps(out))


    if __name__ == "__main__":
        main()
    '''
)

ALL = None
"""Answer every pending interrupt."""


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    script = tmp_path / "review_flow.py"
    script.write_text(FLOW)
    return script


def load(script: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"review_flow_{abs(hash(script))}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # get_type_hints resolves the state schema's annotations through it
    spec.loader.exec_module(module)
    return module


def in_new_process(script: Path, *args: str) -> Any:
    """Run the flow script in a fresh interpreter and return what it printed (JSON)."""
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=120, cwd=script.parent
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def key(question: Any) -> str:
    return json.dumps(question, sort_keys=True)


def roundtrip(value: Any) -> Any:
    """What a value looks like after the child process printed it as JSON."""
    return json.loads(json.dumps(value))


REVIEW_ROUNDS: list[list[str] | None] = [[key("review intro"), key("review end")], ALL, ALL, ALL]
"""Two reviews answered, then the third, then both sign-off questions, one process each."""


def run_in_one_process(module: ModuleType, saver: SqliteSaver) -> list[dict[str, Any]]:
    app = module.build(saver)
    cfg = {"configurable": {"thread_id": "doc"}}
    outputs = [module.start(app, cfg)]
    for which in REVIEW_ROUNDS:
        outputs.append(module.resume(app, cfg, which))
    return outputs


# -- a new process picks up the thread ---------------------------------------------------------------


def test_a_new_process_resumes_exactly_where_the_old_one_stopped(flow: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "review.db")

    outputs = [in_new_process(flow, "start", db, "doc")]
    seen_ids = dict(outputs[0]["interrupts"])
    for which in REVIEW_ROUNDS:
        state = in_new_process(flow, "state", db, "doc")
        assert state["interrupts"] == outputs[-1]["interrupts"]
        output = in_new_process(flow, "resume", db, "doc", json.dumps(which))
        assert output["pending"] == outputs[-1]["interrupts"]
        for question, iid in output["interrupts"].items():
            assert seen_ids.setdefault(question, iid) == iid
        outputs.append(output)

    with InMemorySaver() as saver:
        expected = roundtrip(run_in_one_process(load(flow), saver))

    assert [sorted(o["interrupts"]) for o in outputs] == [sorted(o["interrupts"]) for o in expected]
    assert [o["values"] for o in outputs] == [o["values"] for o in expected]
    assert outputs[-1]["interrupts"] == {}
    assert outputs[-1]["values"]["verdict"].startswith("yes to")
    assert sorted(part for part, _ in outputs[-1]["values"]["answers"]) == ["body", "end", "intro"]


def test_pending_interrupt_ids_are_identical_in_a_new_process(flow: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "review.db")
    module = load(flow)
    cfg = {"configurable": {"thread_id": "doc"}}
    with SqliteSaver.from_conn_string(db) as saver:
        app = module.build(saver)
        started = module.start(app, cfg)
        live_tasks = {t.id: [i.id for i in t.interrupts] for t in app.get_state(cfg).tasks}

    state = in_new_process(flow, "state", db, "doc")
    history = in_new_process(flow, "history", db, "doc")["history"]

    assert len(started["interrupts"]) == 3
    assert state["interrupts"] == started["interrupts"]
    assert state["next"] == ["review", "review", "review"]
    assert {task_id: [i for _, i in interrupts] for task_id, _, interrupts, _ in history[0]["tasks"]} == live_tasks


def test_a_thread_resumed_in_another_process_can_be_finished_in_this_one(flow: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "review.db")
    module = load(flow)
    cfg = {"configurable": {"thread_id": "doc"}}
    in_new_process(flow, "start", db, "doc")
    in_new_process(flow, "resume", db, "doc", json.dumps(ALL))

    with SqliteSaver.from_conn_string(db) as saver:
        app = module.build(saver)
        first = module.resume(app, cfg, ALL)
        final = module.resume(app, cfg, ALL)

    assert list(first["pending"]) == [key({"question": "sign off?", "answers": final["values"]["answers"]})]
    assert final["interrupts"] == {}
    assert final["values"]["log"][-1] == "decide"


# -- every way to open a saver -------------------------------------------------------------------------

SaverFactory = Callable[[Path], AbstractContextManager[SqliteSaver]]


@contextmanager
def _path_str(path: Path) -> Iterator[SqliteSaver]:
    saver = SqliteSaver(str(path))
    try:
        yield saver
    finally:
        saver.close()


@contextmanager
def _pathlib(path: Path) -> Iterator[SqliteSaver]:
    saver = SqliteSaver(path)
    try:
        yield saver
    finally:
        saver.close()


@contextmanager
def _connection(path: Path) -> Iterator[SqliteSaver]:
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


@contextmanager
def _conn_string(path: Path) -> Iterator[SqliteSaver]:
    with SqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


FILE_SAVERS: dict[str, SaverFactory] = {
    "path-str": _path_str,
    "pathlib": _pathlib,
    "connection": _connection,
    "from_conn_string": _conn_string,
}


@pytest.mark.parametrize("opener", list(FILE_SAVERS.values()), ids=list(FILE_SAVERS))
def test_every_way_of_opening_a_file_saver_persists_and_resumes_a_thread(
    opener: SaverFactory, flow: Path, tmp_path: Path
) -> None:
    module = load(flow)
    db = tmp_path / "review.db"
    cfg = {"configurable": {"thread_id": "doc"}}
    with InMemorySaver() as memory:
        expected = run_in_one_process(module, memory)

    with opener(db) as saver:
        app = module.build(saver)
        outputs = [module.start(app, cfg)]
    for which in REVIEW_ROUNDS:
        with opener(db) as saver:
            app = module.build(saver)
            assert module.pending(app, cfg) == outputs[-1]["interrupts"]
            outputs.append(module.resume(app, cfg, which))

    assert [o["values"] for o in outputs] == [o["values"] for o in expected]
    assert [sorted(o["interrupts"]) for o in outputs] == [sorted(o["interrupts"]) for o in expected]


def test_in_memory_saver_runs_the_same_flow_as_a_file_saver(flow: Path, tmp_path: Path) -> None:
    module = load(flow)
    with InMemorySaver() as memory:
        in_memory = run_in_one_process(module, memory)
    with SqliteSaver.from_conn_string(str(tmp_path / "review.db")) as saver:
        on_file = run_in_one_process(module, saver)

    assert [o["values"] for o in in_memory] == [o["values"] for o in on_file]
    assert [sorted(o["interrupts"]) for o in in_memory] == [sorted(o["interrupts"]) for o in on_file]


def test_in_memory_savers_do_not_share_threads(flow: Path) -> None:
    module = load(flow)
    cfg = {"configurable": {"thread_id": "doc"}}
    with InMemorySaver() as first, InMemorySaver() as second:
        module.start(module.build(first), cfg)

        assert module.build(second).get_state(cfg).values == {}
        assert module.build(first).get_state(cfg).next == ("review", "review", "review")


def test_a_connection_saver_can_be_shared_by_threads(flow: Path, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    module = load(flow)
    conn = sqlite3.connect(str(tmp_path / "review.db"), check_same_thread=False)
    try:
        app = module.build(SqliteSaver(conn))

        def run(thread: str) -> dict[str, Any]:
            return module.start(app, {"configurable": {"thread_id": thread}})

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(run, [f"doc-{i}" for i in range(8)]))
    finally:
        conn.close()

    assert all(len(r["interrupts"]) == 3 for r in results)
    assert len({iid for r in results for iid in r["interrupts"].values()}) == 24


# -- one transaction per superstep ---------------------------------------------------------------------


class Transactions:
    """Groups the SQL statements a store's tracer sees into transactions.

    A transaction is ``BEGIN IMMEDIATE`` .. ``COMMIT``, or one statement outside
    them (SQLite commits a lone statement on its own).
    """

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self._open: list[str] | None = None

    def __call__(self, statement: str) -> None:
        text = statement.strip()
        if text.upper().startswith("BEGIN"):
            self._open = []
            self.groups.append(self._open)
        elif text.upper() in ("COMMIT", "ROLLBACK"):
            self._open = None
        elif self._open is not None:
            self._open.append(text)
        else:
            self.groups.append([text])

    def clear(self) -> None:
        self.groups.clear()

    def appends(self) -> list[list[str]]:
        """The event inserts of each transaction that appended events.

        Snapshots are a derived cache beside the log and may be written in a
        transaction of their own; those are not supersteps.
        """
        return [[s for s in g if s.startswith("INSERT INTO events")] for g in self.groups if _appends(g)]


def _appends(group: list[str]) -> bool:
    return any(s.startswith("INSERT INTO events") for s in group)


_ROW_START = re.compile(
    r"(?:VALUES |\), )\((?:\(SELECT key FROM event_threads WHERE thread_id = '((?:[^']|'')*)'\)|\d+), (\d+), (\d+), "
)
"""Where a row of a (multi-row) ``INSERT INTO events`` begins, as the tracer prints it: thread (its id, or the
key a store that knows it gives), seq, type code.

The payloads of these tests are JSON, which quotes with ``"``, so the pattern cannot match inside one.
"""


def event_types(statements: list[str], path: Path) -> list[str]:
    """The event type of each row the ``INSERT INTO events`` statements add, in order."""
    with sqlite3.connect(path) as conn:
        names = dict(conn.execute("SELECT code, name FROM event_types").fetchall())
    return [names[int(m.group(3))] for statement in statements for m in _ROW_START.finditer(statement)]


def traced(path: Path, tracer: Transactions) -> SqliteSaver:
    return SqliteSaver(SqliteEventStore(str(path), tracer=tracer))


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


def _graph(nodes: dict[str, Callable[[Log], Log]], edges: list[tuple[Any, str]]) -> StateGraph:
    graph = StateGraph(Log)
    for name, fn in nodes.items():
        graph.add_node(name, fn)
    for source, target in edges:
        graph.add_edge(source, target)
    return graph


def _writes(name: str) -> Callable[[Log], Log]:
    return lambda state: {"log": [name]}


def test_a_run_on_a_new_thread_looks_it_up_once_and_reads_no_events_before_appending(tmp_path: Path) -> None:
    statements: list[str] = []
    saver = SqliteSaver(SqliteEventStore(str(tmp_path / "new.db"), tracer=statements.append))
    app = _graph({"a": _writes("a")}, [("__start__", "a")]).compile(checkpointer=saver)
    statements.clear()

    assert app.invoke({"log": []}, {"configurable": {"thread_id": "fresh"}}) == {"log": ["a"]}

    before_first_write = statements[: next(i for i, s in enumerate(statements) if s.startswith("BEGIN"))]
    assert [s.split(" WHERE")[0] for s in before_first_write] == [
        "SELECT parent_thread_id, parent_seq, created_at, key FROM event_threads"
    ]
    # the append makes the thread's row without looking it up again, and names it by the key it got
    assert sum(s.startswith("SELECT parent_thread_id") for s in statements) == 1
    inserts = [s for s in statements if s.startswith("INSERT INTO events")]
    assert inserts and not any("SELECT key" in s for s in inserts)
    saver.close()


def test_a_thread_started_by_another_writer_after_the_check_is_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    app = _graph({"a": _writes("a")}, [("__start__", "a")]).compile(checkpointer=SqliteSaver(path))
    other = _graph({"a": _writes("b")}, [("__start__", "a")]).compile(checkpointer=SqliteSaver(path))
    cfg = {"configurable": {"thread_id": "t"}}
    started = False

    def start_it_meanwhile() -> None:
        nonlocal started
        if not started:
            started = True
            other.invoke({"log": []}, cfg)

    with faults.armed("engine.before_append", start_it_meanwhile), pytest.raises(ConcurrencyError):
        app.invoke({"log": []}, cfg)
    assert app.get_state(cfg).values == {"log": ["b"]}


def test_each_superstep_is_appended_in_exactly_one_transaction(tmp_path: Path) -> None:
    tracer = Transactions()
    graph = _graph(
        {n: _writes(n) for n in ("a", "b1", "b2", "b3", "c")},
        [("__start__", "a"), ("a", "b1"), ("a", "b2"), ("a", "b3"), (["b1", "b2", "b3"], "c")],
    )
    saver = traced(tmp_path / "tx.db", tracer)
    app = graph.compile(checkpointer=saver)
    tracer.clear()

    app.invoke({"log": []}, {"configurable": {"thread_id": "t"}})

    appends = [event_types(g, tmp_path / "tx.db") for g in tracer.appends()]
    assert appends == [
        ["Checkpoint", "TaskCompleted", "Checkpoint"],
        ["TaskCompleted", "Checkpoint"],
        ["TaskCompleted", "TaskCompleted", "TaskCompleted", "Checkpoint"],
        ["TaskCompleted", "Checkpoint"],
    ]
    history = list(app.get_state_history({"configurable": {"thread_id": "t"}}))
    assert len(appends) == len([s for s in history if (s.metadata or {})["source"] == "loop"]) == 4
    for other in (g for g in tracer.groups if not _appends(g)):
        assert all(s.startswith(("SELECT", "INSERT OR REPLACE INTO snapshots")) for s in other), other
    saver.close()


def test_an_interrupt_is_committed_together_with_the_finished_siblings_writes(tmp_path: Path) -> None:
    tracer = Transactions()
    graph = _graph(
        {"also": _writes("also"), "ask": lambda state: {"log": [interrupt("ok?")]}, "done": _writes("done")},
        [("__start__", "also"), ("__start__", "ask"), ("__start__", "done")],
    )
    saver = traced(tmp_path / "tx.db", tracer)
    app = graph.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": "t"}}
    tracer.clear()

    app.invoke({"log": []}, cfg)
    interrupted = [event_types(g, tmp_path / "tx.db") for g in tracer.appends()]
    tracer.clear()
    app.invoke(None, cfg)
    asked_again = [event_types(g, tmp_path / "tx.db") for g in tracer.appends()]
    tracer.clear()
    app.invoke(Command(resume="yes"), cfg)
    resumed = [event_types(g, tmp_path / "tx.db") for g in tracer.appends()]

    assert interrupted == [
        ["Checkpoint", "TaskCompleted", "Checkpoint"],
        ["TaskCompleted", "InterruptRaised", "TaskCompleted"],
    ]
    assert asked_again == [["InterruptRaised"]]
    assert resumed == [["ResumeRecorded", "TaskCompleted", "Checkpoint"]]
    assert app.get_state(cfg).values["log"] == ["also", "yes", "done"]
    saver.close()


def test_a_rejected_resume_opens_no_write_transaction(tmp_path: Path) -> None:
    tracer = Transactions()
    graph = _graph(
        {"a": lambda state: {"log": [interrupt("a?")]}, "b": lambda state: {"log": [interrupt("b?")]}},
        [("__start__", "a"), ("__start__", "b")],
    )
    saver = traced(tmp_path / "tx.db", tracer)
    app = graph.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": "t"}}
    app.invoke({"log": []}, cfg)
    tracer.clear()

    with pytest.raises(ResumeError):
        app.invoke(Command(resume="which one?"), cfg)

    assert tracer.appends() == []
    saver.close()


# -- no stored state is trusted ---------------------------------------------------------------------------


@pytest.mark.parametrize("snapshots", ["kept", "dropped"])
def test_a_fresh_process_folding_the_log_from_scratch_gets_the_live_result(
    snapshots: str, flow: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "review.db")
    module = load(flow)
    cfg = {"configurable": {"thread_id": "doc"}}
    with SqliteSaver(db, snapshot_every=1) as saver:
        app = module.build(saver)
        live_values = [
            roundtrip({k: v for k, v in c.items() if k != "__interrupt__"})
            for c in app.stream({"log": ["in"]}, cfg, stream_mode="values")
        ]
        for which in REVIEW_ROUNDS:
            chosen = {
                i.id: module.answer(i.value)
                for i in app.get_state(cfg).interrupts
                if which is None or key(i.value) in which
            }
            for chunk in app.stream(Command(resume=chosen), cfg, stream_mode="values"):
                live_values.append(roundtrip({k: v for k, v in chunk.items() if k != "__interrupt__"}))
        live_history = roundtrip(module.history(app, cfg))
        live_head = roundtrip(app.get_state(cfg).values)

    args = ["--drop-snapshots"] if snapshots == "dropped" else []
    folded = in_new_process(flow, "history", db, "doc", *args)

    assert folded["history"] == live_history
    assert folded["head"] == live_head
    loop_values = [s["values"] for s in reversed(folded["history"]) if s["metadata"]["source"] == "loop"]
    assert all(values in live_values for values in loop_values)
    assert loop_values[-1] == live_values[-1] == live_head
