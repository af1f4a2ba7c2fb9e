"""Two OS processes writing one SQLite file: on one thread every append lands or conflicts cleanly;
on different threads both simply succeed."""

from __future__ import annotations

import multiprocessing
import random
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from eventstore import ConcurrencyError, NewEvent, SqliteEventStore
from tests.processes import drain

ATTEMPTS = 150
"""Appends per process: with two processes, a few hundred appends in total."""

SpawnContext = Any  # multiprocessing.context.SpawnContext, which typeshed does not name publicly


def write(path: str, thread_id: str, writer: str, attempts: int, start: Any, results: Any) -> None:
    """Child process: append one event at a time at the head it last saw; report what landed."""
    landed: list[int] = []
    conflicts = 0
    with SqliteEventStore(path) as store:
        start.wait()
        seen = store.head(thread_id)
        for i in range(attempts):
            event = NewEvent(type="Wrote", payload=orjson.dumps({"writer": writer, "i": i, "pad": "x" * 100}))
            time.sleep(random.random() / 1000)  # a superstep's work, during which the other process may append
            try:
                (record,) = store.append(thread_id, [event], expected_seq=seen)
                landed.append(record.seq)
                seen = record.seq
            except ConcurrencyError:
                conflicts += 1
                seen = store.head(thread_id)
    results.put((writer, landed, conflicts))


@pytest.fixture
def spawn() -> SpawnContext:
    return multiprocessing.get_context("spawn")


def run_writers(spawn: SpawnContext, path: Path, jobs: list[tuple[str, str]]) -> list[tuple[str, list[int], int]]:
    """Start one process per (thread id, writer name), release them together, collect their reports."""
    start = spawn.Barrier(len(jobs))
    results = spawn.Queue()
    processes = [
        spawn.Process(target=write, args=(str(path), thread_id, writer, ATTEMPTS, start, results))
        for thread_id, writer in jobs
    ]
    for p in processes:
        p.start()
    reports: list[tuple[str, list[int], int]] = drain(processes, results, timeout=60)
    return reports


def test_two_processes_appending_to_one_thread_each_land_or_conflict(spawn: SpawnContext, tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with SqliteEventStore(path) as store:
        store.append("shared", [NewEvent(type="Created", payload=b"{}")], expected_seq=0)

    reports = run_writers(spawn, path, [("shared", "A"), ("shared", "B")])

    with SqliteEventStore(path) as store:
        records = list(store.read("shared"))
        landed = {writer: seqs for writer, seqs, _ in reports}
        assert all(len(seqs) + conflicts == ATTEMPTS for _, seqs, conflicts in reports)
        all_landed = landed["A"] + landed["B"]
        assert sorted(all_landed) == list(range(2, len(records) + 1)), "a seq was stored twice or lost"
        assert [r.seq for r in records] == list(range(1, len(records) + 1))
        by_seq = {r.seq: orjson.loads(r.payload)["writer"] for r in records[1:]}
        assert all(by_seq[seq] == writer for writer, seqs in landed.items() for seq in seqs)
        assert store.verify("shared").ok


def test_two_processes_appending_to_different_threads_both_succeed(spawn: SpawnContext, tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    SqliteEventStore(path).close()

    reports = run_writers(spawn, path, [("left", "A"), ("right", "B")])

    assert sorted((writer, seqs, conflicts) for writer, seqs, conflicts in reports) == [
        ("A", list(range(1, ATTEMPTS + 1)), 0),
        ("B", list(range(1, ATTEMPTS + 1)), 0),
    ]
    with SqliteEventStore(path) as store:
        for thread_id in ("left", "right"):
            assert store.head(thread_id) == ATTEMPTS
            assert store.verify(thread_id).ok
        positions = [r.position for r in store.read_all()]
        assert positions == sorted(set(positions))
        assert len(positions) == 2 * ATTEMPTS
