"""The ``node_stats`` projection: per node, how often it ran, failed and interrupted, and how long it took.

Every attempt counts as a run: one that completed, one that raised, and one
that stopped in ``interrupt()``. Durations are kept one per attempt in
``node_durations`` so that the 95th percentile (nearest rank) is exact and a
rebuild gives the same number as catching up. The hidden ``__start__`` task
that writes a run's input is not a node and is left out.
"""

from __future__ import annotations

import sqlite_utils

import engine.events as ev
from projections.facts import Fact, LoggedEvent

TABLE = "node_stats"
SAMPLES = "node_durations"
_START = "__start__"


class NodeStatsProjection:
    """Per node: runs, failures, interrupts, total and p95 duration (milliseconds)."""

    name = "node_stats"
    version = 1
    tables = (TABLE, SAMPLES)

    def __init__(self) -> None:
        self._dirty: set[str] = set()

    def create(self, db: sqlite_utils.Database) -> None:
        db[TABLE].create(  # type: ignore[union-attr]
            {
                "node": str,
                "runs": int,
                "failures": int,
                "interrupts": int,
                "total_ms": float,
                "p95_ms": float,
                "last_error": str,
            },
            pk="node",
            not_null={"runs", "failures", "interrupts", "total_ms"},
        )
        db[SAMPLES].create(  # type: ignore[union-attr]
            {"position": int, "node": str, "duration_ms": float}, pk="position", not_null={"node", "duration_ms"}
        )
        db[SAMPLES].create_index(["node", "duration_ms"])  # type: ignore[union-attr]

    def apply(self, db: sqlite_utils.Database, fact: Fact) -> None:
        if not isinstance(fact, LoggedEvent):
            return  # a fork re-runs nothing
        event = fact.event
        if isinstance(event, ev.TaskCompleted):
            node = event.node
        elif isinstance(event, (ev.TaskFailed, ev.InterruptRaised)):
            node = event.task.name
        else:
            return
        if node == _START:
            return
        failed = isinstance(event, ev.TaskFailed)
        error = f"{event.error_type}: {event.error_message}" if isinstance(event, ev.TaskFailed) else None
        db.execute(
            f"INSERT OR IGNORE INTO {TABLE} (node, runs, failures, interrupts, total_ms) VALUES (?, 0, 0, 0, 0.0)",
            [node],
        )
        db.execute(
            f"UPDATE {TABLE} SET runs = runs + 1, failures = failures + ?, interrupts = interrupts + ?, "
            "total_ms = total_ms + ?, last_error = coalesce(?, last_error) WHERE node = ?",
            [int(failed), int(isinstance(event, ev.InterruptRaised)), float(event.duration_ms), error, node],
        )
        db.execute(
            f"INSERT INTO {SAMPLES} (position, node, duration_ms) VALUES (?, ?, ?)",
            [fact.position, node, float(event.duration_ms)],
        )
        self._dirty.add(node)

    def flush(self, db: sqlite_utils.Database) -> None:
        """Recompute the p95 of the nodes that ran in this batch, from every sample they have."""
        for node in sorted(self._dirty):
            (count,) = db.execute(f"SELECT count(*) FROM {SAMPLES} WHERE node = ?", [node]).fetchone()
            if not count:
                continue
            rank = (95 * count + 99) // 100  # nearest rank: ceil(0.95 * n)
            (p95,) = db.execute(
                f"SELECT duration_ms FROM {SAMPLES} WHERE node = ? ORDER BY duration_ms LIMIT 1 OFFSET ?",
                [node, rank - 1],
            ).fetchone()
            db.execute(f"UPDATE {TABLE} SET p95_ms = ? WHERE node = ?", [p95, node])
        self._dirty.clear()
