"""Crashes: a real process killed with SIGKILL at every fault point, and at random moments, loses nothing.

Each crash runs ``tests/reliability/_driver.py`` on its own database file until it
dies, then runs it again without a fault to finish the thread. After recovery:

- the final state equals the uninterrupted run's, and so does the log, event for event;
- every event the killed process had committed is still there, unchanged;
- no task has two ``TaskCompleted`` events, and no node whose result was committed ran again;
- the hash chain verifies.

The default run exercises the first hits of every point and its last; the ``slow``
variants (``pytest -m slow`` or ``LEDGERGRAPH_SLOW=1``) every hit and many chains of
random kills.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

import engine.events  # registers the engine's event types with the codec
from eventstore import SqliteEventStore, decode_event
from tests.reliability._driver import FAULT_POINTS

ROOT = Path(__file__).resolve().parents[2]
THREAD = "review-1"
WORKERS = max(2, min(4, (os.cpu_count() or 1) + 1))
KILLED = -signal.SIGKILL
TIMEOUT = 60.0
RANDOM_DELAY = "0.002"
"""Seconds each node sleeps in random-kill runs, so a random moment often falls inside a step."""


@attrs.frozen
class ChildRun:
    """What a driver process said before it ended (or was killed)."""

    returncode: int
    committed: tuple[int, ...]
    ran: tuple[tuple[str, str], ...]
    hits: dict[str, int]
    values: dict[str, Any] | None
    seconds: float
    """From the moment the log was open (``start``) to the end."""
    stderr: str


def run_driver(
    db: Path,
    *,
    fault: str | None = None,
    kill_after: float | None = None,
    count_hits: bool = False,
    delay: str | None = None,
    durability: str = "sync",
) -> ChildRun:
    """Run the driver once: armed at ``fault``, killed ``kill_after`` seconds after it opened the log, or neither."""
    env = {k: v for k, v in os.environ.items() if k not in ("LEDGERGRAPH_FAULT", "LEDGERGRAPH_TEST_NODE_DELAY")}
    if fault is not None:
        env["LEDGERGRAPH_FAULT"] = fault
    if delay is not None:
        env["LEDGERGRAPH_TEST_NODE_DELAY"] = delay
    args = [sys.executable, "-m", "tests.reliability._driver", str(db), THREAD]
    if count_hits:
        args.append("--count-hits")
    args.append(f"--durability={durability}")
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert proc.stdout is not None
        watchdog = threading.Timer(TIMEOUT, proc.kill)  # a hung child fails the test instead of hanging it
        watchdog.start()
        try:
            first = proc.stdout.readline()
            if first.strip() == "start":
                started = time.perf_counter()
            timer: threading.Timer | None = None
            if kill_after is not None and first.strip() == "start":
                timer = threading.Timer(kill_after, proc.kill)
                timer.start()
            lines = [first, *proc.stdout.read().splitlines()]
            proc.wait()
            if timer is not None:
                timer.cancel()
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        errors.seek(0)
        err = errors.read()
    return _parse(lines, proc.returncode, time.perf_counter() - started, err)


def _parse(lines: Iterable[str], returncode: int, seconds: float, stderr: str) -> ChildRun:
    committed: list[int] = []
    ran: list[tuple[str, str]] = []
    hits: dict[str, int] = {}
    values = None
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        if word == "committed":
            committed.extend(int(seq) for seq in rest.split())
        elif word == "ran":
            checkpoint, _, entry = rest.partition(" ")
            ran.append((checkpoint, entry))
        elif word == "hits":
            hits = orjson.loads(rest)
        elif word == "done":
            values = orjson.loads(rest)
    return ChildRun(
        returncode=returncode,
        committed=tuple(committed),
        ran=tuple(ran),
        hits=hits,
        values=values,
        seconds=seconds,
        stderr=stderr[-2000:],
    )


# -- reading the log back -------------------------------------------------------------------


def rows(db: Path) -> list[tuple[int, str, str]]:
    """(seq, type, hash) of every event of the thread; empty before its first commit."""
    if not db.exists():
        return []
    with SqliteEventStore(db) as store:
        if store.head(THREAD) == 0:
            return []
        return [(r.seq, r.type, r.hash) for r in store.read(THREAD)]


def _normal(event: Any) -> tuple[Any, ...]:
    """An event without what legitimately differs between runs (times, random checkpoint ids)."""
    if isinstance(event, engine.events.CheckpointCommitted):
        return ("Checkpoint", event.step, event.source, event.parent_seq, event.applied, event.next)
    if isinstance(event, engine.events.TaskCompleted):
        writes = tuple((w.key, orjson.dumps(w.value)) for w in event.writes)
        return ("TaskCompleted", event.checkpoint_seq, event.node, event.path, writes)
    if isinstance(event, engine.events.InterruptRaised):
        return ("InterruptRaised", event.checkpoint_seq, event.task.name, event.task.path, event.index, event.value)
    if isinstance(event, engine.events.ResumeRecorded):
        return ("ResumeRecorded", event.checkpoint_seq, tuple((a.index, a.value) for a in event.answers))
    return (type(event).__name__,)


@attrs.frozen
class LogFacts:
    normalized: tuple[tuple[Any, ...], ...]
    completed: tuple[tuple[str, str], ...]
    """(checkpoint id, log entry written) of every node task that completed, in log order."""
    duplicate_tasks: tuple[tuple[int, str], ...]
    verified: bool
    broken: Any


def facts(db: Path) -> LogFacts:
    with SqliteEventStore(db) as store:
        records = list(store.read(THREAD))
        events = [decode_event(r) for r in records]
        checkpoint_ids = {
            r.seq: e.id
            for r, e in zip(records, events, strict=True)
            if isinstance(e, engine.events.CheckpointCommitted)
        }
        per_task = Counter((e.checkpoint_seq, e.path) for e in events if isinstance(e, engine.events.TaskCompleted))
        completed = tuple(
            (checkpoint_ids[e.checkpoint_seq], w.value[0])
            for e in events
            if isinstance(e, engine.events.TaskCompleted) and e.node != "__start__"
            for w in e.writes
            if w.key == "log"
        )
        report = store.verify(THREAD)
    return LogFacts(
        normalized=tuple(_normal(e) for e in events),
        completed=completed,
        duplicate_tasks=tuple(key for key, n in per_task.items() if n > 1),
        verified=report.ok and report.events_checked == len(records),
        broken=report.broken,
    )


# -- the reference run and the checks ---------------------------------------------------------


@attrs.frozen
class Reference:
    hits: dict[str, int]
    values: dict[str, Any]
    facts: LogFacts
    seconds: float


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """One uninterrupted run, counting how often each fault point is passed."""
    db = tmp_path_factory.mktemp("reference") / "log.db"
    timed = run_driver(db, delay=RANDOM_DELAY)
    db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    run = run_driver(db, count_hits=True)
    assert run.returncode == 0, run.stderr
    assert run.values is not None
    return Reference(hits=run.hits, values=run.values, facts=facts(db), seconds=timed.seconds)


def check_recovery(
    reference: Reference,
    db: Path,
    crashes: list[tuple[ChildRun, list[tuple[int, str, str]]]],
    durability: str = "sync",
) -> None:
    """A thread killed (``crashes``: each killed run and the log right after it) and then finished."""
    final = run_driver(db, durability=durability)
    assert final.returncode == 0, f"the recovery run failed:\n{final.stderr}"
    assert final.values == reference.values, "recovery did not reach the uninterrupted run's state"
    found = facts(db)
    assert found.verified, f"the hash chain does not verify after recovery: {found.broken}"
    assert found.duplicate_tasks == (), f"tasks completed twice: {found.duplicate_tasks}"
    assert found.normalized == reference.facts.normalized, "the recovered log differs from the uninterrupted one"
    final_rows = rows(db)
    reruns: list[tuple[str, str]] = []
    runs = [run for run, _ in crashes] + [final]
    for i, (crashed, after) in enumerate(crashes):
        assert set(crashed.committed) <= {seq for seq, _, _ in after}, "an append the process saw commit is missing"
        assert final_rows[: len(after)] == after, "an event committed before the crash changed or disappeared"
        committed_before = set(completed_within(db, len(after)))
        reruns.extend(ran for later in runs[i + 1 :] for ran in later.ran if ran in committed_before)
    assert reruns == [], f"nodes whose results were committed ran again: {reruns}"


def completed_within(db: Path, upto: int) -> list[tuple[str, str]]:
    """The (checkpoint id, entry) of node tasks completed within the first ``upto`` events."""
    with SqliteEventStore(db) as store:
        records = list(store.read(THREAD, to_seq=upto)) if upto else []
    events = [decode_event(r) for r in records]
    ids = {
        r.seq: e.id for r, e in zip(records, events, strict=True) if isinstance(e, engine.events.CheckpointCommitted)
    }
    return [
        (ids[e.checkpoint_seq], w.value[0])
        for e in events
        if isinstance(e, engine.events.TaskCompleted) and e.node != "__start__"
        for w in e.writes
        if w.key == "log"
    ]


def crash_at(reference: Reference, db: Path, point: str, nth: int, durability: str = "sync") -> None:
    crashed = run_driver(db, fault=f"{point}@{nth}", durability=durability)
    assert crashed.returncode == KILLED, f"{point}@{nth}: the process was not killed there:\n{crashed.stderr}"
    check_recovery(reference, db, [(crashed, rows(db))], durability)


def crash_randomly(reference: Reference, db: Path, rng: random.Random, max_kills: int, durability: str = "sync") -> int:
    """Kill runs at random moments until one finishes (or ``max_kills``); return how many were killed."""
    crashes: list[tuple[ChildRun, list[tuple[int, str, str]]]] = []
    for _ in range(max_kills):
        run = run_driver(
            db, kill_after=rng.uniform(0, reference.seconds * 0.6), delay=RANDOM_DELAY, durability=durability
        )
        if run.returncode != KILLED:
            assert run.returncode == 0, run.stderr
            break
        crashes.append((run, rows(db)))
    if crashes:
        check_recovery(reference, db, crashes, durability)
    return len(crashes)


def run_all(jobs: list[tuple[str, Any]]) -> list[Any]:
    """Run independent crash jobs a few at a time; report every failure, not just the first."""
    failures: list[str] = []
    results: list[Any] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [(name, pool.submit(job)) for name, job in jobs]
        for name, future in futures:
            try:
                results.append(future.result())
            except AssertionError as exc:
                failures.append(f"{name}: {str(exc).splitlines()[0]}")
    assert not failures, f"{len(failures)} of {len(jobs)} crash runs failed:\n" + "\n".join(failures)
    return results


def point_hits(reference: Reference, every: bool) -> list[tuple[str, int]]:
    """(point, n) pairs to crash at: every hit, or the first three and the last of each point."""
    chosen = []
    for point in FAULT_POINTS:
        total = reference.hits[point]
        hits = range(1, total + 1) if every else sorted({1, 2, 3, total} & set(range(1, total + 1)))
        chosen.extend((point, n) for n in hits)
    return chosen


# -- tests --------------------------------------------------------------------------------------


def test_an_uninterrupted_run_passes_every_fault_point_several_times(reference: Reference) -> None:
    assert set(reference.hits) == set(FAULT_POINTS)
    assert all(reference.hits[point] >= 3 for point in FAULT_POINTS), reference.hits
    assert reference.facts.verified
    assert reference.values["log"][-1] == f"finish:{reference.values['total']}"


def _crash_every_point(reference: Reference, tmp_path: Path, every: bool) -> int:
    chosen = point_hits(reference, every)
    run_all(
        [
            (f"{point}@{n}", lambda point=point, n=n: crash_at(reference, tmp_path / f"{point}-{n}.db", point, n))
            for point, n in chosen
        ]
    )
    print(f"\ncrash suite: {len(chosen)} (fault point, hit) crash points exercised, each recovered")
    return len(chosen)


def test_a_kill_at_a_fault_point_then_a_rerun_reach_the_uninterrupted_state(
    reference: Reference, tmp_path: Path
) -> None:
    exercised = _crash_every_point(reference, tmp_path, every=False)
    assert exercised >= 3 * len(FAULT_POINTS)


def _crash_at_random(reference: Reference, tmp_path: Path, chains: int, max_kills: int, seed: int) -> int:
    rng = random.Random(seed)
    seeds = [rng.randrange(2**32) for _ in range(chains)]
    kills = run_all(
        [
            (
                f"random chain {i} (seed {s})",
                lambda i=i, s=s: crash_randomly(reference, tmp_path / f"random-{i}.db", random.Random(s), max_kills),
            )
            for i, s in enumerate(seeds)
        ]
    )
    print(f"\ncrash suite: {sum(kills)} kills at random moments in {chains} chains, each recovered")
    return sum(kills)


def test_kills_at_random_moments_then_a_rerun_reach_the_uninterrupted_state(
    reference: Reference, tmp_path: Path
) -> None:
    kills = _crash_at_random(reference, tmp_path, chains=4, max_kills=3, seed=20240607)
    assert kills >= 4


@pytest.mark.slow
def test_a_kill_at_every_hit_of_every_fault_point_then_a_rerun_reach_the_uninterrupted_state(
    reference: Reference, tmp_path: Path
) -> None:
    exercised = _crash_every_point(reference, tmp_path, every=True)
    assert exercised == sum(reference.hits.values())


@pytest.mark.slow
def test_many_chains_of_random_kills_reach_the_uninterrupted_state(reference: Reference, tmp_path: Path) -> None:
    seed = int(os.environ.get("LEDGERGRAPH_CRASH_SEED", str(random.randrange(2**32))))
    print(f"\nrandom kill seed: {seed} (set LEDGERGRAPH_CRASH_SEED to repeat)")
    kills = _crash_at_random(reference, tmp_path, chains=60, max_kills=8, seed=seed)
    assert kills >= 60


@pytest.mark.parametrize("durability", ["async", "exit"])
def test_kills_of_runs_with_async_or_exit_durability_then_a_rerun_reach_the_uninterrupted_state(
    reference: Reference, tmp_path: Path, durability: str
) -> None:
    """A step stored beside the next one, or a run stored at its end, recovers like a synchronous one."""
    # Both append less often than "sync" (steps grouped while the writer is busy, or one append per call),
    # so the sync run's hit counts say nothing of theirs; every call appends at least once.
    chosen = [(point, n) for point in FAULT_POINTS for n in (1, 2)]
    run_all(
        [
            (
                f"{durability} {point}@{n}",
                lambda point=point, n=n: crash_at(reference, tmp_path / f"{point}-{n}.db", point, n, durability),
            )
            for point, n in chosen
        ]
    )
    kills = run_all(
        [
            (
                f"{durability} random chain {i}",
                lambda i=i: crash_randomly(
                    reference, tmp_path / f"random-{i}.db", random.Random(20261121 + i), 3, durability
                ),
            )
            for i in range(3)
        ]
    )
    assert sum(kills) >= 1
