"""Time travel on long threads: what forking and reading a thread costs as the thread grows.

    python tests/benchmarks/bench_time_travel.py                  # threads of 1,000 and 100,000 events
    python tests/benchmarks/bench_time_travel.py --events 1000 10000 --reps 3
    python tests/benchmarks/bench_time_travel.py --full-history-max 2000   # cap the full-history walk

Each thread is one run of a two-node loop graph (``a`` counts, ``b`` loops back),
about 2 events per superstep: the task's result and the checkpoint closing the
step, with a snapshot every 100 steps (``SqliteSaver``'s default). Every
measurement opens the database afresh, so no folded state is cached in memory;
the table gives the median and the best of ``--reps`` repetitions:

- fork: ``graph.fork(config)`` at the head (copies no events);
- get_state head / middle: the live head, and the checkpoint halfway through the thread
  (rebuilt from the nearest snapshot, so its cost depends on where the middle falls
  between two snapshots, at most 100 steps of folding, not on the thread's length);
- history limit=10: ``list(get_state_history(config, limit=10))``;
- full history / ckpt: walking the whole history, divided by the number of checkpoints.

Fork and the limit=10 listing must not grow with the thread: the closing lines
print their ratio between the longest and the shortest thread.

A second table reads a copy of each thread with every snapshot deleted, the worst
case (each read folds from the first event): the time and the peak Python memory
(``tracemalloc``, which slows the read it traces; SQLite's page cache is not
counted) of ``get_state`` at the head and of streaming the whole history, each
snapshot dropped before the next. Neither peak may grow with the thread: a read
never holds all of a thread's events at once.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs
from typing_extensions import TypedDict

from engine import END, START, CompiledStateGraph, SqliteSaver, StateGraph
from engine.events import CHECKPOINT
from eventstore import decode_event

THREAD = "long"
TIMED = ("fork", "get_state head", "get_state middle", "history limit=10")


@attrs.frozen
class Timing:
    median: float
    best: float


class Counter(TypedDict):
    n: int


def loop_graph(saver: SqliteSaver, rounds: int) -> CompiledStateGraph:
    builder = StateGraph(Counter)
    builder.add_node("a", lambda state: {"n": state["n"] + 1})
    builder.add_node("b", lambda state: {})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda state: "a" if state["n"] < rounds else END)
    return builder.compile(checkpointer=saver)


def rounds_for(events: int) -> int:
    """Loop rounds giving about ``events`` events: 3 to start, then 4 a round (2 steps of 2 events)."""
    return max(1, (events - 3) // 4)


def build(path: Path, events: int) -> tuple[int, float]:
    """Make the thread; return its event count and the seconds it took."""
    rounds = rounds_for(events)
    saver = SqliteSaver(path)
    graph = loop_graph(saver, rounds)
    started = time.perf_counter()
    graph.invoke({"n": 0}, {"configurable": {"thread_id": THREAD}, "recursion_limit": 4 * rounds + 10})
    took = time.perf_counter() - started
    count = saver.store.head(THREAD)
    saver.close()
    with closing(sqlite3.connect(path)) as conn:  # start every measurement from an empty write-ahead log
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return count, took


def middle_checkpoint(path: Path) -> dict[str, Any]:
    """The config of the first checkpoint at or after the thread's middle event."""
    saver = SqliteSaver(path)
    try:
        middle = saver.store.head(THREAD) // 2
        record = next(saver.store.read(THREAD, from_seq=middle, types=[CHECKPOINT]))
        checkpoint_id = decode_event(record).id
    finally:
        saver.close()
    return {"configurable": {"thread_id": THREAD, "checkpoint_id": checkpoint_id}}


def timed(path: Path, rounds: int, reps: int, call: Callable[[CompiledStateGraph], object]) -> Timing:
    """``call`` timed ``reps`` times, each on a freshly opened database (after one warm-up run)."""
    samples = []
    for _ in range(reps + 1):
        saver = SqliteSaver(path)
        graph = loop_graph(saver, rounds)
        started = time.perf_counter()
        call(graph)
        samples.append(time.perf_counter() - started)
        saver.close()
    return Timing(median=statistics.median(samples[1:]), best=min(samples[1:]))


def full_history(path: Path, rounds: int, cap: int | None) -> tuple[float, int]:
    """Seconds per checkpoint walking the history newest first (at most ``cap`` checkpoints)."""
    saver = SqliteSaver(path)
    graph = loop_graph(saver, rounds)
    started = time.perf_counter()
    count = 0
    for _ in graph.get_state_history({"configurable": {"thread_id": THREAD}}, limit=cap):
        count += 1
    took = time.perf_counter() - started
    saver.close()
    return took / max(count, 1), count


def without_snapshots(path: Path, rounds: int) -> dict[str, float]:
    """Seconds and peak traced bytes of a head read and a streamed history, on a copy with no snapshots."""
    bare = path.with_name(f"{path.stem}-no-snapshots.sqlite")
    shutil.copyfile(path, bare)
    saver = SqliteSaver(bare)
    saver.store.delete_snapshots()
    saver.close()
    head = {"configurable": {"thread_id": THREAD}}
    figures: dict[str, float] = {}
    for name, read in (
        ("head", lambda g: g.get_state(head)),
        ("history", lambda g: sum(1 for _ in g.get_state_history(head))),
    ):
        graph = loop_graph(SqliteSaver(bare), rounds)
        started = time.perf_counter()
        read(graph)
        figures[f"{name} s"] = time.perf_counter() - started
        graph = loop_graph(SqliteSaver(bare), rounds)
        tracemalloc.start()
        read(graph)
        figures[f"{name} peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    bare.unlink()
    return figures


def measure(path: Path, events: int, reps: int, cap: int | None) -> dict[str, Any]:
    count, build_seconds = build(path, events)
    rounds = rounds_for(events)
    head = {"configurable": {"thread_id": THREAD}}
    middle = middle_checkpoint(path)
    per_checkpoint, walked = full_history(path, rounds, cap)
    return {
        "events": count,
        "build s": build_seconds,
        "fork": timed(path, rounds, reps, lambda g: g.fork(head)),
        "get_state head": timed(path, rounds, reps, lambda g: g.get_state(head)),
        "get_state middle": timed(path, rounds, reps, lambda g: g.get_state(middle)),
        "history limit=10": timed(path, rounds, reps, lambda g: list(g.get_state_history(head, limit=10))),
        "full history / ckpt": per_checkpoint,
        "checkpoints walked": walked,
        "no snapshots": without_snapshots(path, rounds),
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def print_grid(columns: list[str], cells: list[list[str]], footer: str) -> None:
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)))
    print(footer)


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = ["events", "build s", *(f"{c} ms" for c in TIMED), "full history ms/ckpt", "checkpoints walked"]
    cells = [
        [
            f"{row['events']:,}",
            f"{row['build s']:.1f}",
            *(f"{ms(row[c].median)} ({ms(row[c].best)})" for c in TIMED),
            ms(row["full history / ckpt"]),
            f"{row['checkpoints walked']:,}",
        ]
        for row in rows
    ]
    print_grid(columns, cells, "timings: median (best) of the repetitions, each on a freshly opened database")
    print()
    bare = [row["no snapshots"] for row in rows]
    print_grid(
        ["events", "get_state head ms", "peak KiB", "full history streamed s", "peak KiB"],
        [
            [
                f"{row['events']:,}",
                ms(figures["head s"]),
                f"{figures['head peak'] / 1024:,.0f}",
                f"{figures['history s']:.2f}",
                f"{figures['history peak'] / 1024:,.0f}",
            ]
            for row, figures in zip(rows, bare, strict=True)
        ],
        "with every snapshot deleted: one read each (timed untraced, then traced for its peak Python memory)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000, 100_000], help="thread lengths to build")
    parser.add_argument("--reps", type=int, default=7, help="repetitions per measurement")
    parser.add_argument(
        "--full-history-max", type=int, default=None, help="walk at most this many checkpoints of the full history"
    )
    parser.add_argument("--workdir", type=Path, help="where the databases go (default: a temporary directory)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        for leftover in workdir.glob("*.sqlite*"):
            if leftover.name.startswith(("time-travel-", "warm-up.")):
                leftover.unlink()
        print("warming up on a thread of ~400 events ...", file=sys.stderr, flush=True)
        measure(workdir / "warm-up.sqlite", 400, 2, None)  # first-use costs (code paths, caches) land here
        rows = []
        for events in sorted(args.events):
            path = workdir / f"time-travel-{events}.sqlite"
            print(f"building and measuring a thread of ~{events:,} events ...", file=sys.stderr, flush=True)
            rows.append(measure(path, events, args.reps, args.full_history_max))
    print()
    print_table(rows)
    if len(rows) > 1:
        short, long = rows[0], rows[-1]
        label = f"{long['events']:,} / {short['events']:,} events"
        print()
        for key in TIMED:
            median = long[key].median / short[key].median
            best = long[key].best / short[key].best
            print(f"ratio {label}, {key}: {median:.2f}x (median), {best:.2f}x (best)")
        per_checkpoint = long["full history / ckpt"] / short["full history / ckpt"]
        print(f"ratio {label}, full history per checkpoint: {per_checkpoint:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
