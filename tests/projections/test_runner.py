"""The projection runner: positions, incremental catch-up, one transaction per batch, rebuilds, versions."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import attrs
import orjson
import pytest

import engine.events as ev
from engine import Command, InMemorySaver
from eventstore import NewEvent, SqliteEventStore, encode_event
from projections import (
    BUILTIN_NAMES,
    POSITIONS,
    Projection,
    ProjectionRunner,
    UnknownProjection,
    builtin_projections,
)
from tests.projections.recorder import Recorder, seen_positions
from tests.projections.workflow import all_tables, compiled, config, open_graph, rows


def log_positions(store: SqliteEventStore) -> list[int]:
    return [record.position for record in store.read_all()]


@pytest.fixture
def log(tmp_path: Path):
    """A log file with a few finished, waiting and failed requests."""
    saver, graph = open_graph(tmp_path / "log.db")
    graph.invoke({"amount": 10}, config("small", "ann"))
    graph.invoke({"amount": 500}, config("big", "ann"))
    with contextlib.suppress(RuntimeError):
        graph.invoke({"amount": 20}, config("broken", "bo", outage=True))
    yield saver, graph
    saver.close()


def test_catch_up_applies_every_event_once_in_log_order_and_stores_the_position(log) -> None:
    saver, _ = log
    with ProjectionRunner(saver.store, [Recorder()]) as runner:
        positions = runner.catch_up()
        assert seen_positions(runner.db) == log_positions(saver.store)
        assert positions == {"recorder": log_positions(saver.store)[-1]}
        assert runner.positions()["recorder"].position == positions["recorder"]


def test_a_second_catch_up_applies_only_what_the_log_gained(log) -> None:
    saver, graph = log
    with ProjectionRunner(saver.store, [Recorder()]) as runner:
        runner.catch_up()
        before = len(seen_positions(runner.db))
        graph.invoke(Command(resume="yes"), config("big", "bo"))
        runner.catch_up()
        assert seen_positions(runner.db) == log_positions(saver.store)
        assert len(seen_positions(runner.db)) > before


def test_limit_caps_how_many_events_one_call_applies(log) -> None:
    saver, _ = log
    everything = log_positions(saver.store)
    with ProjectionRunner(saver.store, [Recorder()], batch_size=2) as runner:
        assert runner.catch_up(limit=3) == {"recorder": everything[2]}
        assert seen_positions(runner.db) == everything[:3]
        runner.catch_up(limit=0)
        assert seen_positions(runner.db) == everything[:3]
        runner.catch_up()
        assert seen_positions(runner.db) == everything


def test_the_position_survives_closing_and_reopening_the_database(log, tmp_path: Path) -> None:
    saver, _ = log
    everything = log_positions(saver.store)
    with ProjectionRunner(saver.store, [Recorder()]) as runner:
        runner.catch_up(limit=5)
    with ProjectionRunner(saver.store, [Recorder()]) as runner:
        runner.catch_up()
        assert seen_positions(runner.db) == everything


def test_a_failing_apply_leaves_the_tables_and_the_position_as_they_were(log) -> None:
    saver, _ = log
    everything = log_positions(saver.store)
    failing = Recorder(fail_at=everything[6])
    with ProjectionRunner(saver.store, [failing], batch_size=4) as runner:
        with pytest.raises(RuntimeError, match="refusing"):
            runner.catch_up()
        assert seen_positions(runner.db) == everything[:4]  # the first batch committed, the second did not
        assert runner.positions()["recorder"].position == everything[3]
        failing.fail_at = None
        runner.catch_up()
        assert seen_positions(runner.db) == everything


def test_rebuild_drops_the_tables_and_replays_the_whole_log(log) -> None:
    saver, _ = log
    with ProjectionRunner(saver.store) as runner:
        runner.catch_up()
        before = all_tables(runner)
        runner.db.execute("DELETE FROM threads")
        runner.db.execute(
            "INSERT INTO node_stats (node, runs, failures, interrupts, total_ms) VALUES ('x', 1, 0, 0, 1)"
        )
        assert runner.rebuild() == dict.fromkeys(BUILTIN_NAMES, log_positions(saver.store)[-1])
        assert all_tables(runner) == before


def test_rebuild_of_one_projection_leaves_the_others_alone(log) -> None:
    saver, _ = log
    with ProjectionRunner(saver.store) as runner:
        runner.catch_up()
        runner.db.execute("DELETE FROM interrupt_inbox")
        runner.db.execute("DELETE FROM threads WHERE thread_id = 'small'")
        runner.rebuild("interrupt_inbox")
        assert [r["thread_id"] for r in rows(runner.db, "interrupt_inbox")] == ["big"]
        assert "small" not in [r["thread_id"] for r in rows(runner.db, "threads")]


def test_a_projection_whose_version_changed_is_rebuilt_automatically(log) -> None:
    saver, _ = log
    with ProjectionRunner(saver.store, [Recorder(version=1)]) as runner:
        runner.catch_up()
        runner.db.execute("DELETE FROM seen")
        runner.catch_up()
        assert seen_positions(runner.db) == []  # same version: nothing to redo
    with ProjectionRunner(saver.store, [Recorder(version=2)]) as runner:
        runner.catch_up()
        assert seen_positions(runner.db) == log_positions(saver.store)
        assert runner.positions()["recorder"].version == 2


def test_a_projection_whose_table_was_dropped_by_hand_is_rebuilt(log) -> None:
    saver, _ = log
    with ProjectionRunner(saver.store) as runner:
        runner.catch_up()
        before = all_tables(runner)
        runner.db.execute("DROP TABLE node_durations")
        runner.catch_up()
        assert all_tables(runner) == before


def test_projections_live_in_the_log_file_by_default(log, tmp_path: Path) -> None:
    saver, _ = log
    with ProjectionRunner(saver.store) as runner:
        runner.catch_up()
    tables = {r[0] for r in sqlite3.connect(tmp_path / "log.db").execute("SELECT name FROM sqlite_master")}
    assert {POSITIONS, "threads", "interrupt_inbox", "audit_trail", "node_stats"} <= tables


def test_projections_can_live_in_a_separate_file_leaving_the_log_file_untouched(log, tmp_path: Path) -> None:
    saver, _ = log
    with ProjectionRunner(saver.store, db=tmp_path / "read-models.db") as runner:
        runner.catch_up()
        assert len(rows(runner.db, "threads")) == 3
    log_tables = {r[0] for r in sqlite3.connect(tmp_path / "log.db").execute("SELECT name FROM sqlite_master")}
    assert "threads" not in log_tables and POSITIONS not in log_tables
    model_tables = {
        r[0] for r in sqlite3.connect(tmp_path / "read-models.db").execute("SELECT name FROM sqlite_master")
    }
    assert {POSITIONS, "threads", "audit_trail"} <= model_tables


def test_an_in_memory_log_keeps_its_projections_in_memory() -> None:
    saver = InMemorySaver()
    graph = compiled(saver)
    graph.invoke({"amount": 1}, config("t"))
    with ProjectionRunner(saver.store) as runner:
        assert runner.path == ":memory:"
        runner.catch_up()
        assert [r["status"] for r in rows(runner.db, "threads")] == ["done"]


def test_forks_are_reported_once_each_with_their_inherited_events(log) -> None:
    saver, graph = log
    with ProjectionRunner(saver.store, [Recorder()]) as runner:
        runner.catch_up()
        graph.fork(config("small"), "small-copy")
        head = saver.store.head("small")
        runner.catch_up()
        runner.catch_up()
        assert rows(runner.db, "forks_seen") == [{"thread_id": "small-copy", "inherited": head}]


def test_events_of_other_applications_advance_the_position_without_touching_the_built_ins(log) -> None:
    saver, _ = log
    saver.store.append("elsewhere", [NewEvent(type="bank.Deposited", payload=b'{"amount": 5}')], expected_seq=0)
    with ProjectionRunner(saver.store, [*builtin_projections(), Recorder()]) as runner:
        runner.catch_up()
        assert seen_positions(runner.db)[-1] == log_positions(saver.store)[-1]
        assert "elsewhere" not in [r["thread_id"] for r in rows(runner.db, "threads")]
        assert set(runner.positions()) == {*BUILTIN_NAMES, "recorder"}


def test_values_of_classes_this_process_never_saw_are_folded_as_plain_data(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "log.db")
    fields = {
        "checkpoint_seq": 1,
        "task": ev.TaskRef(id="task-1", name="review", path=("__pregel_pull", "review")),
        "interrupt_id": "a" * 32,
        "index": 0,
        "value": {"claim": "placeholder"},
        "value_hash": "h",
        "started_at": "2026-01-01T00:00:00+00:00",
        "duration_ms": 1.0,
    }
    raised = ev.InterruptRaised(**{k: v for k, v in fields.items() if k in attrs.fields_dict(ev.InterruptRaised)})
    checkpoint = ev.CheckpointCommitted(
        id="000000000001-aaaaaaaaaaaa", step=0, source="loop", parent_seq=None, next=("review",)
    )
    payload = orjson.loads(encode_event(raised).payload)
    payload["value"]["claim"] = {"__lg__": "obj", "type": "someone.else.Claim", "fields": {"amount": 12}}
    store.append(
        "t",
        [encode_event(checkpoint), NewEvent(type="InterruptRaised", payload=orjson.dumps(payload))],
        expected_seq=0,
    )
    with ProjectionRunner(store) as runner:
        runner.catch_up()
        (waiting,) = rows(runner.db, "interrupt_inbox")
    assert orjson.loads(waiting["value"]) == {"claim": {"__type__": "someone.else.Claim", "amount": 12}}
    store.close()


def test_an_unknown_projection_name_is_a_clear_error(log) -> None:
    saver, _ = log
    with ProjectionRunner(saver.store) as runner, pytest.raises(UnknownProjection, match="no projection named 'nope'"):
        runner.rebuild("nope")


def test_projection_names_must_be_unique(log) -> None:
    saver, _ = log
    with pytest.raises(ValueError, match="unique"):
        ProjectionRunner(saver.store, [Recorder(), Recorder()])


def test_the_built_ins_are_projections() -> None:
    assert [p.name for p in builtin_projections()] == list(BUILTIN_NAMES)
    assert all(isinstance(p, Projection) for p in builtin_projections())
    assert isinstance(Recorder(), Projection)
