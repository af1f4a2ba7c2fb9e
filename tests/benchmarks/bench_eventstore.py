"""Append throughput and size of the SQLite event store, next to plain sqlite3 doing the same writes.

    python tests/benchmarks/bench_eventstore.py                  # 2000 supersteps, 3 rounds
    python tests/benchmarks/bench_eventstore.py --supersteps 500 --rounds 1

A superstep is one append of ~5 events (task writes, an interrupt now and then,
and a step-committed marker) with realistic 150-300-byte JSON payloads, on a
file with WAL and synchronous=NORMAL. The baseline writes rows of the same size
into a table of the same columns and indexes with ``executemany``, one
transaction per superstep, with the same pragmas: the ratio is what the store's
own work (head check, hash chain, payload check, records) costs on top.
Bytes/event is the database file plus its WAL after a checkpoint, over events.
Rounds alternate store and baseline; the figures are medians over rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout without installing

from eventstore import NewEvent, SqliteEventStore
from eventstore.sqlite_connection import Synchronous

Superstep = list[NewEvent]

_RAW_SCHEMA = """
CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    thread_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    payload TEXT NOT NULL,
    hash TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE UNIQUE INDEX events_by_thread ON events (thread_id, seq);
"""


def workload(supersteps: int, seed: int = 7) -> list[Superstep]:
    """Supersteps of four task writes and a step marker; every tenth step one task asks a human instead."""
    rng = random.Random(seed)
    nodes = ["retrieve", "grade", "draft", "review", "route", "summarize"]
    steps: list[Superstep] = []
    for step in range(supersteps):
        batch: Superstep = []
        task_ids = [hashlib.sha1(f"{step}/{task}".encode()).hexdigest()[:16] for task in range(4)]
        for task, task_id in enumerate(task_ids):
            node = rng.choice(nodes)
            if step % 10 == 0 and task == 0:
                payload: dict[str, object] = {
                    "task_id": task_id,
                    "node": node,
                    "index": 0,
                    "interrupt_id": hashlib.sha1(task_id.encode()).hexdigest()[:32],
                    "value": {"question": "Approve the draft before it is sent?", "draft_id": rng.randrange(10**6)},
                }
                batch.append(NewEvent(type="InterruptRaised", payload=orjson.dumps(payload)))
                continue
            payload = {
                "task_id": task_id,
                "node": node,
                "path": ["__pregel_pull", node],
                "writes": [
                    ["messages", [{"role": "assistant", "content": " ".join(rng.choices(nodes, k=rng.randint(2, 9)))}]],
                    ["score", round(rng.random(), 4)],
                ],
            }
            batch.append(NewEvent(type="TaskWritten", payload=orjson.dumps(payload)))
        marker = {
            "step": step,
            "tasks": task_ids,
            "next": rng.sample(nodes, 2),
            "source": "loop",
            "ms": rng.randint(1, 900),
        }
        batch.append(NewEvent(type="StepCommitted", payload=orjson.dumps(marker)))
        steps.append(batch)
    return steps


def run_store(path: Path, steps: list[Superstep], synchronous: Synchronous) -> float:
    """Seconds to append every superstep through ``SqliteEventStore``, one append each."""
    with SqliteEventStore(path, synchronous=synchronous) as store:
        head = 0
        started = time.perf_counter()
        for batch in steps:
            head = store.append("bench", batch, expected_seq=head)[-1].seq
        elapsed = time.perf_counter() - started
        checkpoint(path)
    return elapsed


def run_raw(path: Path, steps: list[Superstep], synchronous: Synchronous) -> float:
    """Seconds to write the same rows with plain sqlite3: ``executemany``, one transaction per superstep."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.executescript(_RAW_SCHEMA)
        fake_hash = "f" * 64
        recorded_at = "2026-11-21T10:00:00.000000+00:00"
        seq = 0
        started = time.perf_counter()
        for batch in steps:
            rows = []
            for event in batch:
                seq += 1
                rows.append(
                    ("bench", seq, event.type, event.schema_version, event.payload.decode(), fake_hash, recorded_at)
                )
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO events (thread_id, seq, type, schema_version, payload, hash, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        checkpoint(path)
    finally:
        conn.close()
    return elapsed


def checkpoint(path: Path) -> None:
    """Move the WAL into the database file, as a reader measuring size would see it settled."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def on_disk(path: Path) -> int:
    """The database file plus its WAL, if any is left."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


Runner = Callable[[Path, list[Superstep], Synchronous], float]


def measure(
    run: Runner, workdir: Path, name: str, steps: list[Superstep], synchronous: Synchronous
) -> tuple[float, int]:
    """One timed run on a fresh file: (seconds, bytes on disk)."""
    path = workdir / f"{name}.db"
    for leftover in workdir.glob(f"{name}.db*"):
        leftover.unlink()
    seconds = run(path, steps, synchronous)
    size = on_disk(path)
    return seconds, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--supersteps", type=int, default=2000, help="appends per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported (default 3)")
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL", help="for both sides")
    args = parser.parse_args(argv)

    synchronous: Synchronous = "FULL" if args.synchronous == "FULL" else "NORMAL"
    steps = workload(args.supersteps)
    events = sum(len(batch) for batch in steps)
    payload_bytes = sum(len(e.payload) for batch in steps for e in batch)
    results: dict[str, list[tuple[float, int]]] = {"ledgergraph": [], "raw sqlite3": []}
    with tempfile.TemporaryDirectory(prefix="bench-eventstore-") as tmp:
        workdir = Path(tmp)
        for _ in range(args.rounds):
            results["ledgergraph"].append(measure(run_store, workdir, "store", steps, synchronous))
            results["raw sqlite3"].append(measure(run_raw, workdir, "raw", steps, synchronous))

    print(
        f"{args.supersteps} supersteps x ~{events / len(steps):.1f} events = {events} events; "
        f"payloads {payload_bytes / events:.0f} B/event on average "
        f"({min(len(e.payload) for b in steps for e in b)}-{max(len(e.payload) for b in steps for e in b)} B); "
        f"WAL, synchronous={synchronous}; median of {args.rounds} round(s); "
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    print(f"{'':14}{'events/s':>12}{'supersteps/s':>14}{'bytes/event':>13}")
    figures: dict[str, tuple[float, float]] = {}
    for name, samples in results.items():
        seconds = statistics.median(s for s, _ in samples)
        size = statistics.median(b for _, b in samples)
        figures[name] = (events / seconds, size / events)
        print(f"{name:14}{events / seconds:>12,.0f}{len(steps) / seconds:>14,.0f}{size / events:>13,.0f}")
    ours, raw = figures["ledgergraph"], figures["raw sqlite3"]
    print(f"{'ratio':14}{ours[0] / raw[0]:>12.2f}{ours[0] / raw[0]:>14.2f}{ours[1] / raw[1]:>13.2f}")
    print("(ratio = ledgergraph / raw sqlite3: below 1 for speed means slower; above 1 for bytes means bigger)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
