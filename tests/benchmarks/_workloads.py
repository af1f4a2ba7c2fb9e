"""The workloads, each written once against an ``Engine`` (only the imported names differ).

Every function runs one repetition on one engine in a fresh directory and
returns its measurements as ``{metric key: value}``; times are in seconds.
"""

from __future__ import annotations

import gc
import itertools
import math
import operator
import random
import shutil
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

from _engines import Engine, file_bytes, remove_db


@dataclass(frozen=True)
class Sizes:
    linear_threads: int = 200
    linear_nodes: int = 10
    long_steps: int = 2000
    short_steps: int = 20
    window: int = 100
    back: int = 1000
    continue_steps: int = 10
    big_steps: int = 1000
    item_bytes: int = 200
    interrupt_threads: int = 300
    fanout_tasks: int = 50
    fanout_threads: int = 50


QUICK = Sizes(
    linear_threads=40,
    long_steps=500,
    back=250,
    big_steps=300,
    interrupt_threads=60,
    fanout_threads=10,
)

Metrics = dict[str, float]


def cfg(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, **extra}, "recursion_limit": 100_000}


@contextmanager
def saver_at(e: Engine, path: Path) -> Iterator[Any]:
    saver = e.open_saver(path)
    try:
        yield saver
    finally:
        e.close_saver(saver)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def quiet() -> None:
    """Start a measurement from a collected heap so one engine's garbage is not charged to the next."""
    gc.collect()


# -- 1. linear ---------------------------------------------------------------------


class LinearState(TypedDict):
    n: int
    tag: str


def linear_graph(e: Engine, nodes: int) -> Any:
    builder = e.StateGraph(LinearState)
    names = [f"n{i}" for i in range(nodes)]
    for name in names:
        builder.add_node(name, lambda state: {"n": state["n"] + 1})
    builder.add_edge(e.START, names[0])
    for a, b in itertools.pairwise(names):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], e.END)
    return builder


def linear(e: Engine, work: Path, sizes: Sizes) -> Metrics:
    """200 threads through a 10-node chain; one superstep per node."""
    path = work / "linear.db"
    remove_db(path)
    with saver_at(e, path) as saver:
        graph = linear_graph(e, sizes.linear_nodes).compile(checkpointer=saver)
        graph.invoke({"n": 0, "tag": "warm"}, cfg("warmup"), **e.options)
        quiet()
        start = time.perf_counter()
        for t in range(sizes.linear_threads):
            out = graph.invoke({"n": 0, "tag": "small"}, cfg(f"t{t}"), **e.options)
        elapsed = time.perf_counter() - start
    assert out["n"] == sizes.linear_nodes, out
    steps = sizes.linear_threads * sizes.linear_nodes
    return {"linear.step_time": elapsed / steps}


# -- 7. the limit: plain sqlite3 appends of what one superstep writes ----------------


def superstep_transactions(path: Path, thread_id: str) -> list[list[tuple[Any, ...]]]:
    """The rows ledgergraph appended for one thread, grouped by transaction (one ``recorded_at`` each)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT seq, type, schema_version, payload, hash, recorded_at FROM events "
            "WHERE thread_key = (SELECT key FROM event_threads WHERE thread_id = ?) ORDER BY seq",
            (thread_id,),
        ).fetchall()
    finally:
        conn.close()
    groups: list[list[tuple[Any, ...]]] = []
    for row in rows:
        if groups and groups[-1][-1][5] == row[5]:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def plain_sqlite(
    work: Path, sizes: Sizes, transactions: list[list[tuple[Any, ...]]], *, synchronous: str = "NORMAL"
) -> Metrics:
    """Append exactly the rows of the linear workload, one transaction per original append, in WAL mode."""
    path = work / "plain.db"
    remove_db(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute(
        "CREATE TABLE log (thread_key INTEGER NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL, "
        "schema_version INTEGER NOT NULL, payload TEXT NOT NULL, hash BLOB NOT NULL, recorded_at INTEGER NOT NULL, "
        "PRIMARY KEY (thread_key, seq))"
    )
    insert = "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?)"
    quiet()
    start = time.perf_counter()
    for thread_key in range(1, sizes.linear_threads + 1):
        for group in transactions:
            conn.execute("BEGIN")
            conn.executemany(insert, [(thread_key, *row) for row in group])
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    steps = sizes.linear_threads * sizes.linear_nodes
    return {"limit.step_time": elapsed / steps, "limit.txn_per_thread": float(len(transactions))}


# -- 2 and 5. the long thread and time travel on it ----------------------------------


class LoopState(TypedDict):
    i: int
    limit: int


def loop_graph(e: Engine) -> Any:
    builder = e.StateGraph(LoopState)
    builder.add_node("a", lambda state: {"i": state["i"] + 1})
    builder.add_node("b", lambda state: {"i": state["i"] + 1})
    builder.add_edge(e.START, "a")
    builder.add_edge("a", "b")
    builder.add_conditional_edges("b", lambda state: "a" if state["i"] < state["limit"] else e.END, ["a", e.END])
    return builder


def _run_loop(e: Engine, graph: Any, thread_id: str, steps: int) -> list[float]:
    """Run the loop for ``steps`` supersteps; the time each step's update arrived."""
    stamps = [time.perf_counter()]
    for _ in graph.stream({"i": 0, "limit": steps}, cfg(thread_id), stream_mode="updates", **e.options):
        stamps.append(time.perf_counter())
    assert len(stamps) == steps + 1, (len(stamps), steps)
    return stamps


def long_thread(e: Engine, work: Path, sizes: Sizes) -> tuple[Metrics, Path]:
    """One thread, ``long_steps`` supersteps of a 2-node loop; then resume it (and a short one) from a fresh open."""
    path = work / "long.db"
    remove_db(path)
    w = sizes.window
    with saver_at(e, path) as saver:
        graph = loop_graph(e).compile(checkpointer=saver)
        _run_loop(e, graph, "short", sizes.short_steps)
        quiet()
        stamps = _run_loop(e, graph, "long", sizes.long_steps)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    first, last = gaps[:w], gaps[-w:]
    metrics = {
        "long.first": statistics.median(first),
        "long.last": statistics.median(last),
        "long.drift": statistics.median(last) / statistics.median(first),
        "long.drift_mean": statistics.fmean(last) / statistics.fmean(first),
    }
    # One resume takes a millisecond or two: each is the median of READS, every one on a fresh copy
    # of the file, alternating which thread is resumed first on it.
    resumed: dict[str, list[float]] = {"long": [], "short": []}
    steps_of = {"long": sizes.long_steps, "short": sizes.short_steps}
    copy = work / "resume.db"
    file_bytes(path)  # fold the WAL into the file so one copy holds everything
    for k in range(READS):
        remove_db(copy)
        shutil.copyfile(path, copy)
        for name in ("long", "short") if k % 2 == 0 else ("short", "long"):
            with saver_at(e, copy) as saver:
                graph = loop_graph(e).compile(checkpointer=saver)
                quiet()
                elapsed, out = timed(graph.invoke, {"limit": steps_of[name] + 2}, cfg(name), **e.options)
                assert out["i"] == steps_of[name] + 2, out
            resumed[name].append(elapsed)
    for name, times in resumed.items():
        metrics[f"resume.{name}"] = statistics.median(times)
    metrics["resume.ratio"] = metrics["resume.long"] / metrics["resume.short"]
    return metrics, path


def checkpoints_by_step(graph: Any, thread_id: str) -> dict[int, dict[str, Any]]:
    """Each loop checkpoint's config by step (``source == "loop"``), read once, untimed."""
    found: dict[int, dict[str, Any]] = {}
    for snap in graph.get_state_history(cfg(thread_id)):
        if snap.metadata.get("source") == "loop":
            found.setdefault(snap.metadata["step"], snap.config)
    return found


READS = 5
"""A single ``get_state`` is a fraction of a millisecond: each repetition takes the median of this many."""

SPREAD = 10
"""``get_state`` "at any checkpoint": this many checkpoints spread over the 100 steps from the one ``back``."""


def time_travel(e: Engine, work: Path, sizes: Sizes, long_db: Path) -> Metrics:
    """Reads and a branch on a copy of the long thread, each from a freshly opened database."""
    path = work / "travel.db"
    metrics: Metrics = {}
    back: dict[str, Any] = {}

    def fresh() -> None:
        remove_db(path)
        file_bytes(long_db)  # fold the WAL into the file so one copy holds everything
        shutil.copyfile(long_db, path)

    fresh()
    with saver_at(e, path) as saver:
        graph = loop_graph(e).compile(checkpointer=saver)
        steps = checkpoints_by_step(graph, "long")
        head_step = max(steps)
        # the checkpoint ``back`` steps before the head that was written after node b (next: a)
        target = next(s for s in range(head_step - sizes.back, 0, -1) if graph.get_state(steps[s]).next == ("a",))
        back = steps[target]
        past_i = graph.get_state(back).values["i"]
        spread = [steps[target + round(k * 99 / (SPREAD - 1))] for k in range(SPREAD)]

    def measure(key: str, fn: Any, times: int = 1) -> Any:
        """The median of ``times`` runs of ``fn``, each on a fresh copy opened anew."""
        elapsed = []
        for _ in range(times):
            fresh()
            with saver_at(e, path) as saver:
                graph = loop_graph(e).compile(checkpointer=saver)
                quiet()
                took, result = timed(fn, graph)
            elapsed.append(took)
        metrics[key] = statistics.median(elapsed)
        return result

    measure("travel.head", lambda g: g.get_state(cfg("long")), times=READS)
    opened = []
    for _ in range(READS):  # the same read with the opening in the time: work moved into opening shows here
        fresh()
        quiet()
        start = time.perf_counter()
        saver = e.open_saver(path)
        loop_graph(e).compile(checkpointer=saver).get_state(cfg("long"))
        opened.append(time.perf_counter() - start)
        e.close_saver(saver)
    metrics["travel.open_head"] = statistics.median(opened)
    measure("travel.back", lambda g: g.get_state(back), times=READS)
    reads = []
    for config in spread:  # reads only: one copy, a freshly opened saver for each
        with saver_at(e, path) as saver:
            graph = loop_graph(e).compile(checkpointer=saver)
            quiet()
            reads.append(timed(graph.get_state, config)[0])
    metrics["travel.spread_mean"] = statistics.fmean(reads)
    metrics["travel.spread_max"] = max(reads)
    history = measure("travel.history", lambda g: list(g.get_state_history(cfg("long"))))
    metrics["travel.history_per"] = metrics["travel.history"] / len(history)
    metrics["travel.history_n"] = float(len(history))
    measure("travel.history10", lambda g: list(g.get_state_history(cfg("long"), limit=10)))

    def branch(g: Any) -> Any:
        new = g.update_state(back, {"limit": past_i + sizes.continue_steps}, as_node="b")
        return g.invoke(None, new, **e.options)

    out = measure("travel.branch", branch)
    assert out["i"] == past_i + sizes.continue_steps, (out, past_i)
    return metrics


# -- 3. big state ------------------------------------------------------------------


class BigState(TypedDict):
    items: Annotated[list[str], operator.add]
    limit: int


def big_graph(e: Engine, item: str) -> Any:
    builder = e.StateGraph(BigState)
    builder.add_node("grow", lambda state: {"items": [item]})
    builder.add_edge(e.START, "grow")
    builder.add_conditional_edges(
        "grow", lambda state: "grow" if len(state["items"]) < state["limit"] else e.END, ["grow", e.END]
    )
    return builder


def big_state(e: Engine, work: Path, sizes: Sizes) -> Metrics:
    """A list channel growing by one item per superstep; stored size at half and full length."""
    path = work / "big.db"
    remove_db(path)
    item = "x" * sizes.item_bytes
    half = sizes.big_steps // 2
    with saver_at(e, path) as saver:
        graph = big_graph(e, item).compile(checkpointer=saver)
        empty_file, empty_payload = file_bytes(path), e.payload_bytes(path)
        quiet()
        first, _ = timed(graph.invoke, {"items": [], "limit": half}, cfg("big"), **e.options)
        half_file, half_payload = file_bytes(path), e.payload_bytes(path)
        second, out = timed(graph.invoke, {"limit": sizes.big_steps}, cfg("big"), **e.options)
        elapsed = first + second
        full_file, full_payload = file_bytes(path), e.payload_bytes(path)
    assert len(out["items"]) == sizes.big_steps
    n = sizes.big_steps
    return {
        "big.file_per_step_random": random_items_file_per_step(e, work, sizes),
        "big.file_per_step": (full_file - empty_file) / n,
        "big.payload_per_step": (full_payload - empty_payload) / n,
        "big.file_growth": math.log2((full_file - empty_file) / (half_file - empty_file)),
        "big.payload_growth": math.log2((full_payload - empty_payload) / (half_payload - empty_payload)),
        "big.step_time": elapsed / n,
    }


def random_items_file_per_step(e: Engine, work: Path, sizes: Sizes) -> float:
    """The big-state run again with items that do not compress: file bytes per step.

    ``"x" * 200`` compresses to almost nothing, and ledgergraph compresses
    snapshots, so this row shows what a state of real-looking data costs. The items
    are the same for every engine (a fixed seed), one new item per step.
    """
    path = work / "big-random.db"
    remove_db(path)
    rng = random.Random(20261121)
    items = [rng.randbytes(sizes.item_bytes // 2).hex() for _ in range(sizes.big_steps)]
    builder = e.StateGraph(BigState)
    builder.add_node("grow", lambda state: {"items": [items[len(state["items"])]]})
    builder.add_edge(e.START, "grow")
    builder.add_conditional_edges(
        "grow", lambda state: "grow" if len(state["items"]) < state["limit"] else e.END, ["grow", e.END]
    )
    with saver_at(e, path) as saver:
        graph = builder.compile(checkpointer=saver)
        empty = file_bytes(path)
        out = graph.invoke({"items": [], "limit": sizes.big_steps}, cfg("big-random"), **e.options)
        full = file_bytes(path)
    assert out["items"] == items
    return (full - empty) / sizes.big_steps


# -- 4. interrupt round trip -----------------------------------------------------------


class AskState(TypedDict, total=False):
    question: str
    answer: str
    done: bool


def ask_graph(e: Engine) -> Any:
    def ask(state: AskState) -> dict[str, Any]:
        return {"answer": e.interrupt({"question": state["question"]})}

    builder = e.StateGraph(AskState)
    builder.add_node("ask", ask)
    builder.add_node("finish", lambda state: {"done": True})
    builder.add_edge(e.START, "ask")
    builder.add_edge("ask", "finish")
    builder.add_edge("finish", e.END)
    return builder


def interrupt_round_trip(e: Engine, work: Path, sizes: Sizes) -> Metrics:
    """Invoke to the interrupt, resume to the end: one latency per thread."""
    path = work / "ask.db"
    remove_db(path)
    latencies: list[float] = []
    with saver_at(e, path) as saver:
        graph = ask_graph(e).compile(checkpointer=saver)
        quiet()
        for t in range(sizes.interrupt_threads):
            config = cfg(f"t{t}")
            start = time.perf_counter()
            first = graph.invoke({"question": "ship it?"}, config, **e.options)
            out = graph.invoke(e.Command(resume="yes"), config, **e.options)
            latencies.append(time.perf_counter() - start)
            assert "__interrupt__" in first and out["done"] is True, (first, out)
    latencies.sort()
    return {
        "interrupt.p50": statistics.median(latencies),
        "interrupt.p99": latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)],
    }


# -- 6. fan-out ------------------------------------------------------------------------


class FanState(TypedDict):
    width: int
    results: Annotated[list[int], operator.add]


def fan_graph(e: Engine) -> Any:
    builder = e.StateGraph(FanState)
    builder.add_node("work", lambda arg: {"results": [arg["x"] * 2]})
    builder.add_conditional_edges(e.START, lambda state: [e.Send("work", {"x": k}) for k in range(state["width"])])
    builder.add_edge("work", e.END)
    return builder


def fan_out(e: Engine, work: Path, sizes: Sizes) -> Metrics:
    """One superstep of ``fanout_tasks`` Sends per thread."""
    path = work / "fan.db"
    remove_db(path)
    with saver_at(e, path) as saver:
        graph = fan_graph(e).compile(checkpointer=saver)
        graph.invoke({"width": sizes.fanout_tasks, "results": []}, cfg("warmup"), **e.options)
        quiet()
        start = time.perf_counter()
        for t in range(sizes.fanout_threads):
            out = graph.invoke({"width": sizes.fanout_tasks, "results": []}, cfg(f"t{t}"), **e.options)
        elapsed = time.perf_counter() - start
    assert sorted(out["results"]) == [2 * k for k in range(sizes.fanout_tasks)], out
    return {"fanout.task_time": elapsed / (sizes.fanout_threads * sizes.fanout_tasks)}
