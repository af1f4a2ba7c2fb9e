"""Hostile databases: whatever a payload row holds, reading it never runs code and fails only cleanly.

An attacker with write access to the file drops the append-only triggers and
rewrites event rows (random bytes, broken or wrongly shaped JSON, tagged objects
naming ``os.system``, ``subprocess.Popen`` and friends, odd type names and schema
versions), optionally recomputing the hash chain. Decoding an event then gives
the event or ``CorruptLogError`` (``SerializationError`` for a type name that is
not registered); so does reading state with ``get_state`` and
``get_state_history``. Nothing the payload names is ever imported or called:
``os.system``, ``subprocess.Popen``, ``pickle.loads`` and ``__import__`` are
watched, and a canary file the crafted calls would create must not appear.
Snapshot rows (a cache beside the log) get the same treatment, and metadata
filter keys crafted for SQL injection are refused.
"""

from __future__ import annotations

import builtins
import importlib
import marshal
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.events
from engine import SqliteSaver
from engine.frames import FORMAT
from eventstore import (
    GENESIS,
    CorruptLogError,
    EventRecord,
    SerializationError,
    SqliteEventStore,
    chain_hash,
    decode_event,
)
from tests.rawsql import rewritten_copy, type_code, type_name
from tests.reliability import _workflow
from tests.strategies import DANGEROUS_NAMES, RowMutation, crafted_objects, hostile_json, row_mutations

CANARY = Path(tempfile.gettempdir()) / f"ledgergraph-canary-{os.getpid()}"
"""The file every crafted call (``touch CANARY``) would create."""

CLEAN = (CorruptLogError, SerializationError)
THREADS = ("done", "waiting", "fork")
MUTABLE_THREADS = ("done", "waiting")
"""Threads whose rows are rewritten (the fork reads part of ``done`` as its own prefix)."""
FORBIDDEN_MODULES = {"os", "posix", "subprocess", "pickle", "marshal", "shutil", "ctypes", "pty", "socket", "builtins"}
"""Modules a crafted payload names; reading a log must never import them (nor import them by name)."""

hostile_settings = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- a real database, and copies of it an attacker has rewritten ----------------------------------


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three engine threads: one finished, one waiting on interrupts, one forked mid-way and finished."""
    path = tmp_path_factory.mktemp("hostile") / "base.db"
    with SqliteSaver(path, snapshot_every=2) as saver:
        graph = _workflow.build(saver)
        _workflow.drive(graph, "done")
        graph.invoke(_workflow.INPUT, _workflow.config_of("waiting"))
        middle = [s for s in graph.get_state_history(_workflow.config_of("done")) if s.next == ("review",)][-1]
        graph.fork(middle.config, "fork")
        _workflow.drive(graph, "fork")
    with SqliteEventStore(path) as store:
        assert all(store.verify(t).ok for t in THREADS)
        assert store.latest_snapshot("done") is not None
    return path


def _as_bytes(payload: Any) -> bytes:
    return payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else bytes(payload)


def _stored(payload: bytes) -> str | bytes:
    """UTF-8 payloads go in as text, anything else as a blob (SQLite stores either in the column)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload


def rechain(conn: sqlite3.Connection, thread_id: str, from_seq: int) -> None:
    """Recompute ``thread_id``'s hash chain from ``from_seq`` on, as the store would have written it."""
    rows = conn.execute(
        "SELECT seq, type, schema_version, payload, recorded_at FROM events "
        "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq >= ? "
        "ORDER BY seq",
        (thread_id, from_seq),
    ).fetchall()
    before = conn.execute(
        "SELECT hash FROM events WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
        (thread_id, from_seq - 1),
    ).fetchone()
    previous = before[0].hex() if before else GENESIS
    for seq, type_, version, payload, recorded_at_us in rows:
        digest = chain_hash(
            previous=previous,
            thread_id=thread_id,
            seq=seq,
            type=type_name(conn, type_),
            schema_version=version,
            recorded_at_us=recorded_at_us,
            payload=_as_bytes(payload),
        )
        conn.execute(
            "UPDATE events SET hash = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (bytes.fromhex(digest), thread_id, seq),
        )
        previous = digest


def _paths(tree: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, (*here, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _paths(value, (*here, i))


def graft(payload: bytes, value: Any, at: int) -> bytes:
    """The payload with its ``at``-th JSON node (modulo their number) replaced by ``value``.

    A payload an earlier mutation already made unreadable is left as it is.
    """
    try:
        tree = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload
    paths = list(_paths(tree))
    path = paths[at % len(paths)]
    if not path:
        return orjson.dumps(value)
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return orjson.dumps(tree)


def apply(conn: sqlite3.Connection, thread_id: str, mutation: RowMutation) -> None:
    rows = conn.execute(
        "SELECT seq, payload FROM events "
        "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) ORDER BY seq",
        (thread_id,),
    ).fetchall()
    seq, payload = rows[mutation.row % len(rows)]
    new = mutation.payload if mutation.payload is not None else graft(_as_bytes(payload), mutation.graft, mutation.at)
    conn.execute(
        "UPDATE events SET payload = ? "
        "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
        (_stored(new), thread_id, seq),
    )
    if mutation.type is not None:
        code = type_code(conn, mutation.type)
        conn.execute(
            "UPDATE events SET type = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (code, thread_id, seq),
        )
    if mutation.schema_version is not None:
        conn.execute(
            "UPDATE events SET schema_version = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (mutation.schema_version, thread_id, seq),
        )
    if mutation.rechain:
        rechain(conn, thread_id, seq)


# -- watching for code being reached --------------------------------------------------------------


@contextmanager
def tripwires() -> Iterator[list[str]]:
    """Record any call of code a payload could name, and any import of a dangerous module."""
    reached: list[str] = []
    real_import = builtins.__import__
    real_import_module = importlib.import_module

    def watch(name: str) -> Callable[..., Any]:
        def tripped(*args: Any, **kwargs: Any) -> Any:
            reached.append(f"{name}{args!r:.80}")
            raise PermissionError(f"{name} was reached from a payload")

        return tripped

    def watched_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in FORBIDDEN_MODULES:
            reached.append(f"import {name}")
        return real_import(name, *args, **kwargs)

    def watched_import_module(name: str, package: str | None = None) -> Any:
        if name.split(".")[0] in FORBIDDEN_MODULES:
            reached.append(f"importlib.import_module {name}")
        return real_import_module(name, package)

    targets = [
        (os, "system"),
        (os, "popen"),
        (os, "execv"),
        (os, "execve"),
        (os, "spawnv"),
        (subprocess, "Popen"),
        (pickle, "loads"),
        (marshal, "loads"),
        (shutil, "rmtree"),
    ]
    saved = [(module, name, getattr(module, name)) for module, name in targets]
    modules_before = set(sys.modules)
    for module, name in targets:
        setattr(module, name, watch(f"{module.__name__}.{name}"))
    builtins.__import__ = watched_import
    importlib.import_module = watched_import_module
    try:
        yield reached
    finally:
        builtins.__import__ = real_import
        importlib.import_module = real_import_module
        for module, name, original in saved:
            setattr(module, name, original)
    reached.extend(f"new module {m}" for m in set(sys.modules) - modules_before if m.split(".")[0] in FORBIDDEN_MODULES)


def outcome(action: Callable[[], Any]) -> str:
    """'ok' or the clean error's name; any other exception propagates (and fails the test)."""
    try:
        action()
    except CLEAN as exc:
        return type(exc).__name__
    return "ok"


def decode_everything(path: Path) -> list[str]:
    """Read and decode every event of every thread one by one, and verify every chain (which must never raise)."""
    results = []
    with SqliteEventStore(path) as store:
        for thread_id in THREADS:
            records: list[EventRecord] = []
            results.append(outcome(lambda t=thread_id, into=records: into.extend(store.read(t))))
            for record in records:
                results.append(outcome(lambda record=record: decode_event(record)))
            store.verify(thread_id)
    return results


def read_state(path: Path) -> list[str]:
    """Read every thread's state and history through a fresh saver and graph."""
    results = []
    with SqliteSaver(path) as saver:
        graph = _workflow.build(saver)
        for thread_id in THREADS:
            config = _workflow.config_of(thread_id)
            results.append(outcome(lambda config=config: graph.get_state(config)))
            results.append(outcome(lambda config=config: list(graph.get_state_history(config))))
    return results


def assert_nothing_ran(reached: list[str]) -> None:
    assert reached == [], f"a payload reached code: {reached}"
    assert not CANARY.exists(), "a crafted payload ran a command"


# -- tests --------------------------------------------------------------------------------------------

thread_choice = st.sampled_from(MUTABLE_THREADS)
mutations = row_mutations(str(CANARY), list(engine.events.EVENT_TYPES))


@hostile_settings
@given(thread_id=thread_choice, mutation=mutations)
def test_decoding_a_rewritten_payload_row_gives_the_event_or_a_corrupt_log_error(
    base_db: Path, thread_id: str, mutation: RowMutation
) -> None:
    with rewritten_copy(base_db, lambda conn: apply(conn, thread_id, mutation)) as path, tripwires() as reached:
        decode_everything(path)
    assert_nothing_ran(reached)


@hostile_settings
@given(changes=st.lists(st.tuples(thread_choice, mutations), min_size=1, max_size=3))
def test_reading_state_from_rewritten_rows_gives_a_state_or_a_corrupt_log_error(
    base_db: Path, changes: list[tuple[str, RowMutation]]
) -> None:
    def rewrite(conn: sqlite3.Connection) -> None:
        for thread_id, mutation in changes:
            apply(conn, thread_id, mutation)

    with rewritten_copy(base_db, rewrite) as path, tripwires() as reached:
        read_state(path)
    assert_nothing_ran(reached)


SHAPES = {
    "obj": lambda name: {"__lg__": "obj", "type": name, "fields": {"command": f"touch {CANARY}"}},
    "custom": lambda name: {"__lg__": "custom", "type": name, "v": ["touch", str(CANARY)]},
    "enum": lambda name: {"__lg__": "enum", "type": name, "v": f"touch {CANARY}"},
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("name", DANGEROUS_NAMES)
def test_a_tagged_object_naming_code_is_refused_by_name_and_the_code_never_runs(
    base_db: Path, name: str, shape: str
) -> None:
    crafted = SHAPES[shape](name)

    def rewrite(conn: sqlite3.Connection) -> None:
        seq, payload = conn.execute(
            "SELECT seq, payload FROM events "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') "
            "AND type = ? AND seq > 2 ORDER BY seq LIMIT 1",
            (type_code(conn, "TaskCompleted"),),
        ).fetchone()
        data = orjson.loads(payload)
        data["writes"][0][1] = [crafted]  # a write is a [key, value] pair
        conn.execute(
            "UPDATE events SET payload = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = 'done') AND seq = ?",
            (orjson.dumps(data).decode(), seq),
        )
        rechain(conn, "done", seq)
        conn.execute("DELETE FROM snapshots")  # a cache: without it, reading state must fold the crafted event

    with rewritten_copy(base_db, rewrite) as path, tripwires() as reached:
        with SqliteEventStore(path) as store:
            assert store.verify("done").ok, "the attacker recomputed the chain"
            record = next(r for r in store.read("done", types=["TaskCompleted"]) if r.seq > 2)
            with pytest.raises(SerializationError, match="not registered"):
                decode_event(record)
        with SqliteSaver(path) as saver:
            graph = _workflow.build(saver)
            with pytest.raises(CLEAN):
                graph.get_state(_workflow.config_of("done"))
            with pytest.raises(CLEAN):
                list(graph.get_state_history(_workflow.config_of("done")))
    assert_nothing_ran(reached)


def test_the_tripwires_catch_a_payload_that_reaches_code() -> None:
    with tripwires() as reached:
        with suppress(PermissionError):
            os.system(f"touch {CANARY}")
        __import__("subprocess")
    assert any(r.startswith("os.system") for r in reached) and "import subprocess" in reached
    assert not CANARY.exists()


frame_fields = st.fixed_dictionaries(
    {},
    optional={
        "step": hostile_json(str(CANARY)),
        "values": hostile_json(str(CANARY)),
        "pull": hostile_json(str(CANARY)) | st.lists(st.sampled_from(["work", "nope", "__start__", ""]), max_size=3),
        "push": hostile_json(str(CANARY)) | st.lists(st.tuples(st.sampled_from(["work", "nope"]), hostile_json("x"))),
        "joins": hostile_json(str(CANARY)),
        "has_input": hostile_json(str(CANARY)),
        "start_input": crafted_objects(str(CANARY)),
    },
)


@hostile_settings
@given(fields=frame_fields, keep=st.booleans(), whole=st.none() | hostile_json(str(CANARY)))
def test_a_rewritten_snapshot_row_gives_a_state_or_a_corrupt_log_error_and_runs_nothing(
    base_db: Path, fields: dict[str, Any], keep: bool, whole: Any
) -> None:
    """Snapshots are a cache with no hash chain: any row, even one that looks like ours, reads cleanly."""

    def rewrite(conn: sqlite3.Connection) -> None:
        for thread_key, seq, payload in conn.execute("SELECT thread_key, seq, payload FROM snapshots").fetchall():
            if whole is not None:
                new = orjson.dumps(whole)
            else:
                frame = orjson.loads(payload) if keep else {"format": FORMAT, "graph": orjson.loads(payload)["graph"]}
                new = orjson.dumps({**frame, **fields})
            conn.execute(
                "UPDATE snapshots SET payload = ? WHERE thread_key = ? AND seq = ?", (new.decode(), thread_key, seq)
            )

    with rewritten_copy(base_db, rewrite) as path, tripwires() as reached:
        read_state(path)
    assert_nothing_ran(reached)


INJECTIONS = [
    "source' OR '1'='1",
    "step; DROP TABLE events; --",
    'x") OR 1=1 --',
    "json_extract(metadata, '$.x')",
    "source--",
    "a b",
    "",
    "$.source",
    "\x00source",
]


@pytest.mark.parametrize("key", INJECTIONS, ids=repr)
def test_metadata_filter_keys_crafted_for_sql_injection_are_refused(base_db: Path, key: str) -> None:
    with SqliteSaver(base_db) as saver:
        graph = _workflow.build(saver)
        with pytest.raises(ValueError, match="filter key"):
            list(graph.get_state_history(_workflow.config_of("done"), filter={key: "loop"}))


def test_injection_text_in_filter_values_thread_ids_and_checkpoint_ids_is_only_data(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with SqliteSaver(path) as saver:
        graph = _workflow.build(saver)
        _workflow.drive(graph, "t")
        with SqliteEventStore(path) as store:
            before = [(r.thread_id, r.seq, r.hash) for r in store.read_all()]
        for text in INJECTIONS[:4]:
            assert list(graph.get_state_history(_workflow.config_of("t"), filter={"source": text})) == []
            assert graph.get_state(_workflow.config_of(text)).values == {}
            with pytest.raises(LookupError):
                graph.get_state({"configurable": {"thread_id": "t", "checkpoint_id": text}})
        evil = "x'); DELETE FROM events; --"
        values = _workflow.drive(graph, evil)
        assert graph.get_state(_workflow.config_of(evil)).values == values
    with SqliteEventStore(path) as store:
        after = [(r.thread_id, r.seq, r.hash) for r in store.read_all()]
        assert after[: len(before)] == before
        assert {r[0] for r in after[len(before) :]} == {evil}
        assert store.verify(evil).ok and store.verify("t").ok


# -- rows that decode but do not fit together: what the fuzzing above finds, spelled out ----------------------


def edit_event(
    thread_id: str, seq: int, edit: Callable[[dict[str, Any]], None]
) -> Callable[[sqlite3.Connection], None]:
    """Change one event's payload, recompute the chain after it, and drop the snapshots (so reads fold it)."""

    def rewrite(conn: sqlite3.Connection) -> None:
        (payload,) = conn.execute(
            "SELECT payload FROM events "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (thread_id, seq),
        ).fetchone()
        data = orjson.loads(payload)
        edit(data)
        conn.execute(
            "UPDATE events SET payload = ? "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) AND seq = ?",
            (orjson.dumps(data).decode(), thread_id, seq),
        )
        rechain(conn, thread_id, seq)
        conn.execute("DELETE FROM snapshots")

    return rewrite


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return edit


# In thread "done": 3 and 5 are checkpoints; 4 is prepare's TaskCompleted, writing log, total and last.
INCONSISTENT = {
    "a checkpoint folds an event that does not exist": edit_event("done", 5, _set(("applied",), [999])),
    "a checkpoint folds an event that is not a write": edit_event("done", 5, _set(("applied",), [3])),
    "a checkpoint's parent is not a checkpoint": edit_event("done", 5, _set(("parent_seq",), 4)),
    "a stored write names a key the state does not have": edit_event("done", 4, _set(("writes", 0, 0), "bogus")),
    "a stored write the reducer cannot apply": edit_event("done", 4, _set(("writes", 1, 1), None)),
}


@pytest.mark.parametrize("case", list(INCONSISTENT))
def test_events_that_decode_but_do_not_fit_together_read_as_a_corrupt_log(base_db: Path, case: str) -> None:
    with rewritten_copy(base_db, INCONSISTENT[case]) as path, SqliteSaver(path) as saver:
        with SqliteEventStore(path) as store:
            assert store.verify("done").ok, "the attacker recomputed the chain"
        graph = _workflow.build(saver)
        with pytest.raises(CorruptLogError):
            graph.get_state(_workflow.config_of("done"))
        with pytest.raises(CorruptLogError):
            list(graph.get_state_history(_workflow.config_of("done")))


BAD_FRAMES = {
    "joins is not an object": {"joins": None},
    "values is not an object": {"values": None},
    "values is a list": {"values": [1, 2]},
    "pull is not a list": {"pull": 5},
    "push holds no pairs": {"push": ["x"]},
    "step is text": {"step": "x"},
    "has_input is a list": {"has_input": []},
}


@pytest.mark.parametrize("case", list(BAD_FRAMES))
def test_a_snapshot_row_of_the_wrong_shape_is_ignored_or_reads_as_a_corrupt_log(base_db: Path, case: str) -> None:
    def rewrite(conn: sqlite3.Connection) -> None:
        for thread_key, seq, payload in conn.execute("SELECT thread_key, seq, payload FROM snapshots").fetchall():
            frame = {**orjson.loads(payload), **BAD_FRAMES[case]}
            conn.execute(
                "UPDATE snapshots SET payload = ? WHERE thread_key = ? AND seq = ?",
                (orjson.dumps(frame).decode(), thread_key, seq),
            )

    with SqliteSaver(base_db) as saver:
        graph = _workflow.build(saver)
        clean = [graph.get_state(_workflow.config_of(t)).values for t in THREADS]
    with rewritten_copy(base_db, rewrite) as path, SqliteSaver(path) as saver:
        graph = _workflow.build(saver)
        try:
            found = [graph.get_state(_workflow.config_of(t)).values for t in THREADS]
        except CorruptLogError:
            return
        assert found == clean, "a malformed snapshot changed the state read"
