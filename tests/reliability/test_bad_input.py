"""Bad input: every public entry point rejects malformed input with an error naming the problem, writing nothing.

One matrix over ``invoke``, ``stream``, ``get_state``, ``get_state_history``,
``update_state``, ``fork``, ``lineage``, ``Command`` inputs, the ``SqliteSaver``
constructor and ``StateGraph`` building. Each case checks the error's type and
that its message names the problem, then that the log is exactly as it was
(every event, every thread, every hash chain) and that the same graph and saver
still work. Strings with NUL bytes round-trip; strings with lone surrogates
round-trip or are rejected clearly, never silently changed. Huge values
round-trip; values nested too deeply are rejected.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

import attrs
import pytest

from engine import (
    END,
    START,
    CheckpointNotFound,
    Command,
    CompiledStateGraph,
    EmptyInputError,
    InvalidUpdateError,
    ResumeError,
    Send,
    SqliteSaver,
    StateGraph,
    interrupt,
)
from eventstore import ConcurrencyError, SchemaError, SerializationError, SqliteEventStore, StorageError, ThreadNotFound


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    mode: str
    x: Any


def _deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


def _cycle() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


def act(state: State) -> Any:
    """Does what ``state["mode"]`` says: behave, ask, or return something malformed."""
    mode = state.get("mode")
    if mode == "ask":
        return {"log": [f"act:{interrupt('approve?')}"]}
    if mode == "two_asks":
        return Command(update={"log": ["act"]}, goto=[Send("asker", 1), Send("asker", 2)])
    if mode == "goto_unknown":
        return Command(goto="nope")
    if mode == "send_unknown":
        return Command(goto=Send("nope", 1))
    if mode == "returns_int":
        return 42
    if mode == "returns_list_of_ints":
        return [1, 2]
    if mode == "returns_resume":
        return Command(resume="yes")
    if mode == "unknown_key":
        return {"bogus": 1}
    if mode == "unencodable":
        return {"x": object()}
    if mode == "too_deep":
        return {"x": _deep(300)}
    if mode == "cycle":
        return {"x": _cycle()}
    if mode == "asks_unencodable":
        interrupt(object())
    return {"log": ["act"]}


def asker(arg: int) -> State:
    return {"log": [f"asker{arg}:{interrupt(f'q{arg}')}"]}


def route(state: State) -> str:
    return "nope" if state.get("mode") == "route_unknown" else END


def build(saver: Any) -> CompiledStateGraph:
    graph = StateGraph(State)
    graph.add_node("prep", lambda state: {"log": ["prep"]})
    graph.add_node("act", act)
    graph.add_node("asker", asker)
    graph.add_edge(START, "prep")
    graph.add_edge("prep", "act")
    graph.add_conditional_edges("act", route)
    return graph.compile(checkpointer=saver, interrupt_before=["act"])


def cfg(thread_id: str, **configurable: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, **configurable}}


@attrs.define
class Env:
    """A saver on a real file, the graph, and threads in known situations."""

    path: Path
    saver: SqliteSaver
    graph: CompiledStateGraph

    def paused(self, mode: str) -> dict[str, Any]:
        """A thread stopped before ``act``, which will misbehave as ``mode`` says."""
        config = cfg(f"paused-{mode}")
        self.graph.invoke({"mode": mode}, config)
        return config

    def waiting(self) -> dict[str, Any]:
        """A thread waiting in one ``interrupt()``."""
        config = self.paused("ask")
        self.graph.invoke(None, config)
        return config

    def two_pending(self) -> dict[str, Any]:
        """A thread waiting on two interrupts at once."""
        config = self.paused("two_asks")
        self.graph.invoke(None, config)
        return config

    def one_of_two_answered(self) -> tuple[dict[str, Any], str]:
        """A thread still waiting on one of two interrupts, and the id of the one answered."""
        config = self.two_pending()
        first, _ = self.graph.get_state(config).interrupts
        self.graph.invoke(Command(resume={first.id: "one"}), config)
        return config, first.id

    def another_threads_interrupt(self) -> tuple[dict[str, Any], str]:
        """A waiting thread, and the id of an interrupt pending on another thread."""
        config = self.waiting()
        return config, self.graph.get_state(self.two_pending()).interrupts[0].id

    def another_threads_checkpoint(self) -> str:
        """The id of a checkpoint of a thread other than ``paused-fine`` (which exists)."""
        self.paused("fine")
        return str(self.graph.get_state(self.waiting()).config["configurable"]["checkpoint_id"])

    def done(self) -> dict[str, Any]:
        config = self.paused("fine")
        self.graph.invoke(None, config)
        return config


@pytest.fixture
def env(tmp_path: Path) -> Any:
    path = tmp_path / "log.db"
    saver = SqliteSaver(path)
    graph = build(saver)
    yield Env(path=path, saver=saver, graph=graph)
    saver.close()


def log_state(path: Path) -> tuple[Any, ...]:
    """Everything the log holds, read through a connection of its own."""
    with SqliteEventStore(path) as store:
        events = tuple((r.thread_id, r.seq, r.position, r.type, r.hash) for r in store.read_all())
        threads = tuple((t.thread_id, t.parent_thread_id, t.parent_seq, t.head_seq) for t in store.list_threads())
        broken = tuple(t.thread_id for t in store.list_threads() if not store.verify(t.thread_id).ok)
    return events, threads, broken


def still_works(env: Env) -> None:
    config = cfg("afterwards")
    env.graph.invoke({"mode": "fine"}, config)
    assert env.graph.invoke(None, config)["log"][-2:] == ["prep", "act"]


# -- the matrix -----------------------------------------------------------------------------------


@attrs.frozen
class Case:
    id: str
    call: Callable[[Env, Any], Any]
    error: type[BaseException] | tuple[type[BaseException], ...]
    names: str
    """A regular expression the error message must match: the problem, named."""
    setup: Callable[[Env], Any] = lambda env: cfg("fresh")


NODE_MISBEHAVIOUR = [
    ("goto_unknown", InvalidUpdateError, r"unknown node 'nope'"),
    ("send_unknown", InvalidUpdateError, r"unknown node 'nope'"),
    ("route_unknown", InvalidUpdateError, r"unknown node 'nope'"),
    ("returns_int", InvalidUpdateError, r"node 'act' return value must be a dict.*int"),
    ("returns_list_of_ints", InvalidUpdateError, r"node 'act' return value must be a dict"),
    ("returns_resume", InvalidUpdateError, r"cannot return Command\(resume"),
    ("unknown_key", InvalidUpdateError, r"unknown state key.*'bogus'"),
    ("unencodable", SerializationError, r"node 'act'.*builtins\.object.*state\['x'\]"),
    ("too_deep", SerializationError, r"node 'act'.*nested more than 200 levels"),
    ("cycle", SerializationError, r"node 'act'.*nested"),
    ("asks_unencodable", SerializationError, r"builtins\.object.*interrupt value in node 'act'"),
]


def _node_cases() -> list[Case]:
    cases = []
    for mode, error, names in NODE_MISBEHAVIOUR:
        cases.append(
            Case(
                f"invoke: node {mode}",
                lambda env, config: env.graph.invoke(None, config),
                error,
                names,
                lambda env, mode=mode: env.paused(mode),
            )
        )
        cases.append(
            Case(
                f"stream: node {mode}",
                lambda env, config: list(env.graph.stream(None, config, stream_mode=["updates", "values"])),
                error,
                names,
                lambda env, mode=mode: env.paused(mode),
            )
        )
    return cases


CASES: list[Case] = [
    *_node_cases(),
    # invoke / stream: input and config
    Case("invoke: input with unknown key", lambda e, c: e.graph.invoke({"bogus": 1}, c), InvalidUpdateError, "bogus"),
    Case("invoke: input not a dict", lambda e, c: e.graph.invoke(42, c), InvalidUpdateError, r"graph input.*int"),
    Case(
        "invoke: unencodable input",
        lambda e, c: e.graph.invoke({"x": object()}, c),
        SerializationError,
        r"builtins\.object",
    ),
    Case(
        "invoke: input nested too deeply",
        lambda e, c: e.graph.invoke({"x": _deep(1000)}, c),
        SerializationError,
        "nested more than 200 levels",
    ),
    Case(
        "invoke: input on a waiting thread that cannot be encoded",
        lambda e, c: e.graph.invoke({"x": object()}, c),
        SerializationError,
        r"builtins\.object",
        lambda e: e.waiting(),
    ),
    Case(
        "invoke: config is a string", lambda e, c: e.graph.invoke({}, "paused-fine"), (TypeError, ValueError), "config"
    ),
    Case("invoke: config without thread_id", lambda e, c: e.graph.invoke({}, {}), ValueError, "thread_id"),
    Case(
        "invoke: configurable not a dict",
        lambda e, c: e.graph.invoke({}, {"configurable": ["thread_id"]}),
        TypeError,
        "configurable",
    ),
    Case(
        "invoke: recursion_limit 0",
        lambda e, c: e.graph.invoke({}, {**c, "recursion_limit": 0}),
        ValueError,
        "recursion_limit",
    ),
    Case(
        "invoke: recursion_limit not an int",
        lambda e, c: e.graph.invoke({}, {**c, "recursion_limit": "10"}),
        ValueError,
        "recursion_limit",
    ),
    Case(
        "invoke: unknown checkpoint_id",
        lambda e, c: e.graph.invoke(
            None, cfg(c["configurable"]["thread_id"], checkpoint_id="000000000002-abcdefabcdef")
        ),
        CheckpointNotFound,
        "000000000002-abcdefabcdef",
        lambda e: e.done(),
    ),
    Case(
        "invoke: checkpoint_id of another thread",
        lambda e, c: e.graph.invoke(None, cfg("paused-fine", checkpoint_id=c)),
        CheckpointNotFound,
        "paused-fine",
        Env.another_threads_checkpoint,
    ),
    Case(
        "stream: unknown stream_mode",
        lambda e, c: list(e.graph.stream({}, c, stream_mode="debug-everything")),
        ValueError,
        "stream_mode",
    ),
    # Command inputs
    Case(
        "Command: resume with nothing pending",
        lambda e, c: e.graph.invoke(Command(resume="yes"), c),
        ResumeError,
        "no pending interrupt",
        lambda e: e.done(),
    ),
    Case(
        "Command: resume on a thread that never started",
        lambda e, c: e.graph.invoke(Command(resume="yes"), c),
        ResumeError,
        "has not started",
    ),
    Case(
        "Command: resume map with an id that is not pending",
        lambda e, c: e.graph.invoke(Command(resume={"0" * 32: "yes"}), c),
        ResumeError,
        r"'0{32}'.*not pending",
        lambda e: e.waiting(),
    ),
    Case(
        "Command: resume map naming an interrupt already answered",
        lambda e, c: e.graph.invoke(Command(resume={c[1]: "again"}), c[0]),
        ResumeError,
        "not pending",
        Env.one_of_two_answered,
    ),
    Case(
        "Command: resume map naming another thread's interrupt",
        lambda e, c: e.graph.invoke(Command(resume={c[1]: "yes"}), c[0]),
        ResumeError,
        "not pending",
        Env.another_threads_interrupt,
    ),
    Case(
        "Command: one value for several pending interrupts",
        lambda e, c: e.graph.invoke(Command(resume="both?"), c),
        ResumeError,
        "multiple pending interrupts",
        Env.two_pending,
    ),
    Case(
        "Command: empty resume map",
        lambda e, c: e.graph.invoke(Command(resume={}), c),
        ResumeError,
        "empty resume map",
        lambda e: e.waiting(),
    ),
    Case(
        "Command: resume value that cannot be encoded",
        lambda e, c: e.graph.invoke(Command(resume=object()), c),
        SerializationError,
        r"builtins\.object",
        lambda e: e.waiting(),
    ),
    Case("Command: empty", lambda e, c: e.graph.invoke(Command(), c), EmptyInputError, "empty Command"),
    Case(
        "Command: graph=PARENT",
        lambda e, c: e.graph.invoke(Command(graph=Command.PARENT, update={"log": []}), c),
        InvalidUpdateError,
        "parent",
        lambda e: e.done(),
    ),
    Case(
        "Command: update with unknown key",
        lambda e, c: e.graph.invoke(Command(update={"bogus": 1}), c),
        InvalidUpdateError,
        "bogus",
        lambda e: e.done(),
    ),
    Case(
        "Command: update not a dict",
        lambda e, c: e.graph.invoke(Command(update="log"), c),
        InvalidUpdateError,
        r"Command\.update.*str",
        lambda e: e.done(),
    ),
    Case(
        "Command: goto unknown node",
        lambda e, c: e.graph.invoke(Command(goto="nope"), c),
        InvalidUpdateError,
        "unknown node 'nope'",
        lambda e: e.done(),
    ),
    Case(
        "Command: goto Send to unknown node",
        lambda e, c: e.graph.invoke(Command(goto=Send("nope", {})), c),
        InvalidUpdateError,
        "unknown node 'nope'",
        lambda e: e.done(),
    ),
    Case(
        "Command: update that cannot be encoded",
        lambda e, c: e.graph.invoke(Command(update={"x": object()}), c),
        SerializationError,
        r"builtins\.object",
        lambda e: e.done(),
    ),
    # get_state and get_state_history
    Case(
        "get_state: unknown checkpoint_id",
        lambda e, c: e.graph.get_state(cfg("paused-fine", checkpoint_id="nope")),
        CheckpointNotFound,
        "'nope'",
        lambda e: e.done(),
    ),
    Case("get_state: config without thread_id", lambda e, c: e.graph.get_state({}), ValueError, "thread_id"),
    Case(
        "get_state: config is a list",
        lambda e, c: e.graph.get_state(["thread_id", "x"]),  # type: ignore[arg-type]
        (TypeError, ValueError),
        "config",
    ),
    Case(
        "get_state_history: filter key crafted for SQL injection",
        lambda e, c: list(e.graph.get_state_history(c, filter={"source' OR '1'='1": 1})),
        ValueError,
        "filter key",
        lambda e: e.done(),
    ),
    Case(
        "get_state_history: filter not a dict",
        lambda e, c: list(e.graph.get_state_history(c, filter=[("source", "loop")])),  # type: ignore[arg-type]
        TypeError,
        "filter",
        lambda e: e.done(),
    ),
    Case(
        "get_state_history: before an unknown checkpoint",
        lambda e, c: list(e.graph.get_state_history(c, before=cfg("paused-fine", checkpoint_id="nope"))),
        CheckpointNotFound,
        "'nope'",
        lambda e: e.done(),
    ),
    Case(
        "get_state_history: limit not an int",
        lambda e, c: list(e.graph.get_state_history(c, limit="3")),  # type: ignore[arg-type]
        (TypeError, ValueError),
        "limit",
        lambda e: e.done(),
    ),
    # update_state
    Case(
        "update_state: unknown key",
        lambda e, c: e.graph.update_state(c, {"bogus": 1}),
        InvalidUpdateError,
        "bogus",
        lambda e: e.done(),
    ),
    Case(
        "update_state: unknown as_node",
        lambda e, c: e.graph.update_state(c, {"log": ["x"]}, as_node="nope"),
        InvalidUpdateError,
        "as_node 'nope'",
        lambda e: e.done(),
    ),
    Case(
        "update_state: values not a dict",
        lambda e, c: e.graph.update_state(c, ["log", "x"]),
        InvalidUpdateError,
        "update_state values must be a dict.*list",
        lambda e: e.done(),
    ),
    Case(
        "update_state: value that cannot be encoded",
        lambda e, c: e.graph.update_state(c, {"x": object()}),
        SerializationError,
        r"builtins\.object",
        lambda e: e.done(),
    ),
    Case(
        "update_state: value nested too deeply",
        lambda e, c: e.graph.update_state(c, {"x": _deep(500)}),
        SerializationError,
        "nested more than 200 levels",
        lambda e: e.done(),
    ),
    Case(
        "update_state: unknown checkpoint_id",
        lambda e, c: e.graph.update_state(cfg("paused-fine", checkpoint_id="000000000001-000000000000"), {"log": []}),
        CheckpointNotFound,
        "000000000001-000000000000",
        lambda e: e.done(),
    ),
    # fork and lineage
    Case("fork: unknown thread", lambda e, c: e.graph.fork(cfg("nobody")), ThreadNotFound, "'nobody'"),
    Case(
        "fork: onto an existing thread",
        lambda e, c: e.graph.fork(c, "paused-ask"),
        ConcurrencyError,
        "'paused-ask' already exists",
        lambda e: (e.waiting(), e.done())[1],
    ),
    Case(
        "fork: empty new thread id",
        lambda e, c: e.graph.fork(c, ""),
        ValueError,
        "new_thread_id",
        lambda e: e.done(),
    ),
    Case(
        "fork: unknown checkpoint_id",
        lambda e, c: e.graph.fork(cfg("paused-fine", checkpoint_id="zzz"), "copy"),
        CheckpointNotFound,
        "'zzz'",
        lambda e: e.done(),
    ),
    Case("lineage: unknown thread", lambda e, c: e.graph.lineage(cfg("nobody")), ThreadNotFound, "'nobody'"),
    # the SqliteSaver constructor, on the same file
    Case(
        "SqliteSaver: snapshot_every 0",
        lambda e, c: SqliteSaver(e.path, snapshot_every=0),
        ValueError,
        "snapshot_every",
        lambda e: e.done(),
    ),
    Case(
        "SqliteSaver: snapshot_every not an int",
        lambda e, c: SqliteSaver(e.path, snapshot_every="10"),  # type: ignore[arg-type]
        (TypeError, ValueError),
        "snapshot_every",
        lambda e: e.done(),
    ),
    Case(
        "SqliteSaver: negative cache_size",
        lambda e, c: SqliteSaver(e.path, cache_size=-1),
        ValueError,
        "cache_size",
        lambda e: e.done(),
    ),
    Case(
        "SqliteSaver: unknown synchronous mode",
        lambda e, c: SqliteSaver(e.path, synchronous="OFF"),  # type: ignore[arg-type]
        ValueError,
        "synchronous",
        lambda e: e.done(),
    ),
    Case(
        "SqliteSaver: a connection argument that is none of path, connection or store",
        lambda e, c: SqliteSaver(42),  # type: ignore[arg-type]
        TypeError,
        "int",
        lambda e: e.done(),
    ),
    Case(
        "SqliteSaver: a directory for a path",
        lambda e, c: SqliteSaver(e.path.parent),
        StorageError,
        "cannot open",
        lambda e: e.done(),
    ),
    # StateGraph building
    Case("StateGraph: schema not a type", lambda e, c: StateGraph(42), TypeError, "state schema"),
    Case(
        "StateGraph: duplicate node",
        lambda e, c: StateGraph(State).add_node("a", act).add_node("a", act),
        ValueError,
        "'a' is already present",
    ),
    Case(
        "StateGraph: reserved node name",
        lambda e, c: StateGraph(State).add_node(START, act),
        ValueError,
        "reserved",
    ),
    Case(
        "StateGraph: node name with a reserved character",
        lambda e, c: StateGraph(State).add_node("a:b", act),
        ValueError,
        "must not contain",
    ),
    Case(
        "StateGraph: node that is not callable",
        lambda e, c: StateGraph(State).add_node("a", 42),  # type: ignore[arg-type]
        ValueError,
        "callable",
    ),
    Case(
        "StateGraph: edge to an unknown node",
        lambda e, c: StateGraph(State).add_node("a", act).add_edge(START, "a").add_edge("a", "nope").compile(),
        ValueError,
        "unknown node 'nope'",
    ),
    Case(
        "StateGraph: path_map naming an unknown node",
        lambda e, c: (
            StateGraph(State)
            .add_node("a", act)
            .add_edge(START, "a")
            .add_conditional_edges("a", route, {"x": "nope"})
            .compile()
        ),
        ValueError,
        "unknown node 'nope'",
    ),
    Case(
        "StateGraph: no entry point",
        lambda e, c: StateGraph(State).add_node("a", act).compile(),
        ValueError,
        "entrypoint",
    ),
    Case(
        "StateGraph: breakpoint at an unknown node",
        lambda e, c: StateGraph(State).add_node("a", act).add_edge(START, "a").compile(interrupt_before=["nope"]),
        ValueError,
        "unknown node 'nope'",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_input_gets_an_error_naming_the_problem_and_leaves_the_log_unchanged(env: Env, case: Case) -> None:
    arg = case.setup(env)
    before = log_state(env.path)
    assert before[2] == (), "the setup broke a hash chain"

    with pytest.raises(case.error, match=case.names):
        case.call(env, arg)

    assert log_state(env.path) == before
    still_works(env)


def test_the_matrix_covers_every_public_entry_point() -> None:
    covered = {case.id.split(":")[0] for case in CASES}
    assert covered == {
        "invoke",
        "stream",
        "Command",
        "get_state",
        "get_state_history",
        "update_state",
        "fork",
        "lineage",
        "SqliteSaver",
        "StateGraph",
    }


def test_a_file_that_is_not_a_ledgergraph_log_is_refused_and_left_byte_for_byte_as_it_was(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database " * 1000)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.close()
    for path, error, names in (
        (garbage, SchemaError, "not a SQLite database"),
        (other, SchemaError, "not a ledgergraph"),
    ):
        content = path.read_bytes()
        with pytest.raises(error, match=names):
            SqliteSaver(path)
        assert path.read_bytes() == content
        assert not Path(f"{path}-wal").exists()


# -- NUL bytes, lone surrogates and huge values -------------------------------------------------------


def reopened(env: Env) -> CompiledStateGraph:
    """The graph on a fresh saver: what is read back comes from the file, not from a cache."""
    return build(SqliteSaver(env.path))


NUL_STRINGS = ["\x00", "a\x00b", "\x00\x00\x00end", "tab\tnul\x00newline\n"]


@pytest.mark.parametrize("text", NUL_STRINGS, ids=repr)
def test_strings_with_nul_bytes_round_trip_through_state_questions_answers_and_thread_ids(env: Env, text: str) -> None:
    config = cfg(f"thread{text}")
    metadata = {"metadata": {f"key{text}": f"value{text}"}}
    env.graph.invoke({"mode": "ask", "x": {text: [text, (text,)]}}, {**config, **metadata})
    env.graph.invoke(None, config)
    env.graph.invoke(Command(resume=text), config)

    state = reopened(env).get_state(config)
    assert state.values["x"] == {text: [text, (text,)]}
    assert state.values["log"] == ["prep", f"act:{text}"]
    assert state.config["configurable"]["thread_id"] == f"thread{text}"
    history = list(reopened(env).get_state_history(config))
    tagged = [snapshot.metadata[f"key{text}"] for snapshot in history if f"key{text}" in snapshot.metadata]
    assert tagged and set(tagged) == {f"value{text}"}, "the run metadata did not come back"
    assert reopened(env).get_state(cfg("thread")).values == {}, "a NUL byte cut the thread id short"


SURROGATES = ["\ud800", "a\udfffb", "\udc00\ud800", "pair\ud83d\ude00split"]


@pytest.mark.parametrize("text", SURROGATES, ids=repr)
def test_strings_with_lone_surrogates_in_values_round_trip_exactly(env: Env, text: str) -> None:
    config = cfg("surrogates")
    env.graph.invoke({"mode": "ask", "x": {text: [text, {text}]}}, {**config, "metadata": {text: text}})
    env.graph.invoke(None, config)
    env.graph.invoke(Command(resume={text: text}), config)

    state = reopened(env).get_state(config)
    assert state.values["x"] == {text: [text, {text}]}
    assert state.values["log"] == ["prep", f"act:{ {text: text} }"]
    tagged = [s.metadata[text] for s in reopened(env).get_state_history(config) if text in s.metadata]
    assert tagged and set(tagged) == {text}, "the run metadata did not come back"
    assert log_state(env.path)[2] == ()


def _node_named(env: Env, name: str) -> None:
    graph = StateGraph(State)
    graph.add_node(name, lambda state: {"log": ["ran"]})
    graph.add_edge(START, name)
    graph.compile(checkpointer=env.saver).invoke({"log": []}, cfg("named"))
    history = graph.compile(checkpointer=SqliteSaver(env.path)).get_state_history(cfg("named"))
    assert name in {task.name for snapshot in history for task in snapshot.tasks}


def _thread_named(env: Env, name: str) -> None:
    env.graph.invoke({"mode": "fine"}, cfg(name))
    assert reopened(env).get_state(cfg(name)).config["configurable"]["thread_id"] == name


def _fork_named(env: Env, name: str) -> None:
    done = env.done()
    env.graph.fork(done, name)
    assert reopened(env).get_state(cfg(name)).values == env.graph.get_state(done).values


SURROGATE_PLACES: dict[str, Callable[[Env, str], None]] = {
    "node name": _node_named,
    "thread id": _thread_named,
    "fork thread id": _fork_named,
}


@pytest.mark.parametrize("place", list(SURROGATE_PLACES))
def test_lone_surrogates_in_names_and_ids_round_trip_or_are_rejected_clearly(env: Env, place: str) -> None:
    name = "name\ud800"
    before = log_state(env.path)
    try:
        SURROGATE_PLACES[place](env, name)
    except AssertionError:
        raise
    except Exception as exc:
        assert "surrogate" in str(exc) or "UTF-8" in str(exc), f"unclear rejection: {type(exc).__name__}: {exc}"
        after = log_state(env.path)
        assert after[0][: len(before[0])] == before[0], "an event changed"
        assert after[2] == ()
        assert not any(name in thread for thread, *_ in after[1]), "a thread with the surrogate name was half made"
        return
    with SqliteEventStore(env.path) as store:
        assert all(store.verify(t.thread_id).ok for t in store.list_threads())


def test_huge_values_round_trip(env: Env) -> None:
    huge = {
        "text": "x" * 5_000_000,
        "ints": list(range(100_000)),
        "big": 7**20_000,
        "keys": {f"k{i}": i for i in range(10_000)},
        "nested": _deep(150),
    }
    config = cfg("huge")
    env.graph.invoke({"mode": "fine", "x": huge}, config)
    env.graph.invoke(None, config)

    assert reopened(env).get_state(config).values["x"] == huge
    assert log_state(env.path)[2] == ()
