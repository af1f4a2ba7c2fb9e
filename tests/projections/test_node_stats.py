"""``node_stats``: per node, runs, failures, interrupts, total and p95 duration, exact to the log."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

import engine.events as ev
from engine import Command
from eventstore import decode_event
from projections import Ledger, queries
from tests.projections.workflow import Outage, config, open_graph


@pytest.fixture
def busy_log(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    saver, graph = open_graph(path)
    for i in range(12):
        graph.invoke({"amount": 150 + i if i % 4 == 0 else i}, config(f"t{i}"))
    for i in range(0, 12, 4):
        graph.invoke(Command(resume="yes"), config(f"t{i}"))
    with pytest.raises(Outage):
        graph.invoke({"amount": 3}, config("down", outage=True))
    graph.invoke(None, config("down"))
    saver.close()
    return path


def test_runs_failures_and_interrupts_are_counted_per_node(busy_log: Path) -> None:
    with Ledger(busy_log) as ledger:
        stats = {row["node"]: row for row in queries.node_stats(ledger)}
    assert set(stats) == {"intake", "score", "lookup", "decide", "archive"}  # never the hidden __start__
    assert (stats["intake"]["runs"], stats["intake"]["failures"], stats["intake"]["interrupts"]) == (13, 0, 0)
    assert (stats["lookup"]["runs"], stats["lookup"]["failures"]) == (14, 1)
    assert stats["lookup"]["last_error"] == "Outage: lookup service unavailable"
    assert (stats["decide"]["runs"], stats["decide"]["interrupts"]) == (16, 3)


def test_total_and_p95_durations_are_exact_to_the_recorded_durations(busy_log: Path) -> None:
    with Ledger(busy_log) as ledger:
        durations: dict[str, list[float]] = defaultdict(list)
        for record in ledger.store.read_all():
            event = decode_event(record)
            if isinstance(event, ev.TaskCompleted):
                durations[event.node].append(event.duration_ms)
            elif isinstance(event, (ev.TaskFailed, ev.InterruptRaised)):
                durations[event.task.name].append(event.duration_ms)
        stats = {row["node"]: row for row in queries.node_stats(ledger)}
    for node, samples in durations.items():
        if node == "__start__":
            continue
        total = 0.0
        for sample in samples:
            total += sample
        ranked = sorted(samples)
        assert stats[node]["total_ms"] == total
        assert stats[node]["p95_ms"] == ranked[-(-95 * len(ranked) // 100) - 1]  # nearest rank: ceil(0.95 n)
